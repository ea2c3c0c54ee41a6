package templates

import (
	"fmt"
	"hash/maphash"
	htmltemplate "html/template"
	"maps"
	"strings"
	"sync"
)

// partial is the template function {{partial NAME DATA}}: the block NAME
// executed with DATA, as {{template NAME DATA}} would in the text of the
// body, and remembered. When DATA is a dict of plain values (text, numbers,
// booleans, a Product), the same call in the next email returns the same
// HTML without executing anything: the stories and buttons of a campaign,
// built from literals and the product's URLs, are executed once, not once
// per recipient. Other data is executed each time.
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
	data map[string]any // nil for a call with nil data
	html htmltemplate.HTML
}

// maxPartials bounds what an email remembers, in case the data of a call
// changes with each recipient.
const maxPartials = 256

func (p *partials) call(name string, data any) (htmltemplate.HTML, error) {
	h, ok := partialHash(name, data)
	if ok {
		p.mu.RLock()
		r, found := p.m[h]
		p.mu.RUnlock()
		if found && r.name == name && sameData(r.data, data) {
			return r.html, nil
		}
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
			r := partialResult{name: name, html: out}
			if data != nil {
				r.data = maps.Clone(data.(map[string]any))
			}
			p.m[h] = r
		}
		p.mu.Unlock()
	}
	return out, nil
}

// noPartial stands for partial while the templates are parsed, before each
// email binds its own.
func noPartial(name string, data any) (htmltemplate.HTML, error) {
	return "", fmt.Errorf("partial %q called outside an email", name)
}

var partialSeed = maphash.MakeSeed()

// partialHash hashes a call, or reports false when its data is not nil or
// a dict of plain values (text, typed HTML or URL, booleans, numbers, a
// Product), which are the ones compared by sameData.
func partialHash(name string, data any) (uint64, bool) {
	h := maphash.String(partialSeed, name)
	if data == nil {
		return h, true
	}
	m, ok := data.(map[string]any)
	if !ok {
		return 0, false
	}
	for k, v := range m {
		switch v.(type) {
		case nil, string, htmltemplate.HTML, htmltemplate.URL, bool, int, int64, float64, Product:
		default:
			return 0, false
		}
		h += (maphash.String(partialSeed, k) + 1) * (maphash.Comparable(partialSeed, v) | 1) // the order of a map does not count
	}
	return h, true
}

// sameData reports whether a call's data is the one remembered.
func sameData(kept map[string]any, data any) bool {
	if data == nil {
		return kept == nil
	}
	m := data.(map[string]any)
	if kept == nil || len(kept) != len(m) {
		return false
	}
	for k, v := range m {
		if w, ok := kept[k]; !ok || w != v {
			return false
		}
	}
	return true
}
