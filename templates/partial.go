package templates

import (
	"fmt"
	"hash/maphash"
	htmltemplate "html/template"
	"slices"
	"strings"
	"sync"

	"github.com/nurture-email/nurture"
)

// partial is the template function {{partial NAME K1 V1 K2 V2...}}: the
// block NAME executed with the dict of the pairs (or with the one DATA of
// {{partial NAME DATA}}), as {{template NAME (dict K1 V1...)}} would in the
// text of the body, and remembered. When the values are plain (text,
// numbers, booleans, a Product), the same call in the next email returns
// the same HTML without executing anything, not even building the dict:
// the stories and buttons of a campaign, built from literals and the
// product's URLs, are executed once, not once per recipient. Other data is
// executed each time.
//
// Its HTML is placed as it is, so partial is for the text of the body, not
// for attribute values.
type partials struct {
	html *htmltemplate.Template // the email's templates
	mu   sync.RWMutex
	m    map[uint64]partialResult // by partialHash
}

type partialResult struct {
	name string
	args []any
	html htmltemplate.HTML
}

// maxPartials bounds what an email remembers, in case the data of a call
// changes with each recipient.
const maxPartials = 256

func (p *partials) call(name string, args ...any) (htmltemplate.HTML, error) {
	h, ok := partialHash(name, args)
	if ok {
		p.mu.RLock()
		r, found := p.m[h]
		p.mu.RUnlock()
		if found && r.name == name && slices.Equal(r.args, args) {
			return r.html, nil
		}
	}
	var data any
	switch len(args) {
	case 0:
	case 1:
		data = args[0]
	default:
		d, err := dict(args...)
		if err != nil {
			return "", fmt.Errorf("partial %q: %w", name, err)
		}
		data = d
	}
	var b strings.Builder
	if err := p.html.ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	out := htmltemplate.HTML(b.String())
	if ok {
		p.mu.Lock()
		if _, taken := p.m[h]; !taken && len(p.m) < maxPartials {
			if p.m == nil {
				p.m = map[uint64]partialResult{}
			}
			p.m[h] = partialResult{name: name, args: slices.Clone(args), html: out}
		}
		p.mu.Unlock()
	}
	return out, nil
}

// noPartial stands for partial while the templates are parsed, before each
// email binds its own.
func noPartial(name string, args ...any) (htmltemplate.HTML, error) {
	return "", fmt.Errorf("partial %q called outside an email", name)
}

var partialSeed = maphash.MakeSeed()

// partialHash hashes a call, or reports false when an argument is not a
// plain value (text, typed HTML or URL, booleans, numbers, a Product):
// those are the ones that compare with ==, and whose equality means the
// same output.
func partialHash(name string, args []any) (uint64, bool) {
	h := maphash.String(partialSeed, name)
	for _, v := range args {
		switch v.(type) {
		case nil, string, htmltemplate.HTML, htmltemplate.URL, bool, int, int64, float64, nurture.Product:
		default:
			return 0, false
		}
		h = h*0x100000001b3 ^ maphash.Comparable(partialSeed, v)
	}
	return h, true
}
