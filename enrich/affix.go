package enrich

import "strings"

// affix is a lexicon keyword written with a * at one end or both: it
// matches the words that end with it (*versicherung), start with it
// (vertrieb*) or hold it (*software*), as German compounds do.
type affix struct{ prefix, suffix, infix string }

// parseAffix reads a keyword with a * at one end or both.
func parseAffix(w string) affix {
	switch {
	case strings.HasPrefix(w, "*") && strings.HasSuffix(w, "*"):
		return affix{infix: strings.Trim(w, "*")}
	case strings.HasPrefix(w, "*"):
		return affix{suffix: w[1:]}
	default:
		return affix{prefix: strings.TrimSuffix(w, "*")}
	}
}

// in reports whether word has the affix.
func (a affix) in(word string) bool {
	switch {
	case a.infix != "":
		return strings.Contains(word, a.infix)
	case a.suffix != "":
		return strings.HasSuffix(word, a.suffix)
	default:
		return strings.HasPrefix(word, a.prefix)
	}
}

// len is the length of the affix's letters.
func (a affix) len() int { return len(a.infix) + len(a.suffix) + len(a.prefix) }
