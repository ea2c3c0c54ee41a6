package enrich

import (
	"strings"
)

// Industries is the fixed list of industries ClassifyIndustry chooses
// from, in the order that breaks ties. A company gets one of these or
// nothing; templates and sequence conditions may compare against these
// exact spellings ("company.industry == 'Manufacturing'").
//
//	Industry                    What it covers (a few of its keywords)
//	Software                    software publishers and SaaS (logiciel, Softwarehersteller)
//	IT Services                 managed services, integrators, hosting (ESN, Systemhaus)
//	Manufacturing               factories and industrial makers (usine, Hersteller, fábrica)
//	Retail & E-commerce         shops on and off line (boutique en ligne, Einzelhandel, tienda)
//	Financial Services          banks, payments, investment (banque, Vermögensverwaltung)
//	Insurance                   insurers and brokers (assurance, Versicherung, seguros)
//	Healthcare                  care, pharma, medical devices (santé, Klinik, salud)
//	Education                   schools, universities, e-learning (école, Hochschule)
//	Logistics & Transportation  freight, warehousing, carriers (fret, Spedition, transporte)
//	Construction                builders and trades (BTP, Bauunternehmen, constructora)
//	Real Estate                 agents, developers, property managers (immobilier, Immobilien)
//	Marketing & Advertising     agencies and ad tech (agence de communication, Werbeagentur)
//	Media & Publishing          publishers, press, broadcasters (édition, Verlag, revista)
//	Hospitality & Travel        hotels, restaurants, tourism (hôtellerie, Reisen, viajes)
//	Energy & Utilities          power, renewables, oil and gas (énergie, Stadtwerke)
//	Telecommunications          operators, ISPs, fibre (opérateur, Mobilfunk, telefonía)
//	Government & Public Sector  public administrations (mairie, Gemeinde, ayuntamiento)
//	Non-profit                  charities, NGOs, foundations (association, Verein, ONG)
//	Legal                       law firms, notaries, IP (cabinet d'avocats, Kanzlei, bufete)
//	Consulting                  management and strategy advisers (cabinet de conseil, Beratung)
//	Agriculture                 farming and agri-business (agricole, Landwirtschaft, granja)
//	Automotive                  vehicles, dealers, parts (concessionnaire, Autohaus, coches)
//	Food & Beverage             food and drink makers (agroalimentaire, Brauerei, bodega)
//
// The keywords themselves are industryLexicon, in industry_lexicon.go;
// docs/classifiers.md holds this table for readers of the docs (a test
// keeps the two equal).
var Industries = func() []string {
	out := make([]string, len(industryLex.names))
	copy(out, industryLex.names)
	return out
}()

// The weights of a keyword: a strong one names the industry on its own
// ("insurance", "Brauerei"), a weak one only leans towards it ("policy",
// "claims": words that other industries use too).
const (
	industryStrong = 3
	industryWeak   = 1
)

// industryMinScore and industryMinConfidence are the bars below which
// ClassifyIndustry says nothing: one strong keyword alone is enough,
// provided no other industry scores as much.
const (
	industryMinScore      = industryStrong
	industryMinConfidence = 0.25
	// industryFullScore is the score at which the evidence counts as
	// complete: three strong keywords, or two and three weak ones.
	industryFullScore = 9
)

// MaxIndustryText is how much text ClassifyIndustry reads, in bytes: a
// site's title, description and keywords fit many times over, and a
// hostile page costs no more than this.
const MaxIndustryText = 20000

// ClassifyIndustry guesses a company's industry from texts about it (its
// site's title, meta description, OpenGraph description, JSON-LD
// description and keywords, as plain strings), in English, French, German
// or Spanish. It returns one of Industries and a confidence in [0, 1], or
// "" and 0 when nothing is clear enough.
//
// It is a keyword classifier, deterministic and explainable: the texts
// are folded (case, accents), split into words, and every keyword of
// industryLexicon found as whole words counts once, strong ones 3 and
// weak ones 1 (a German compound such as "Lebensversicherung" is found by
// the keyword's affix form, "*versicherung"). The industry with the
// highest score wins, ties going to the earlier one in Industries. The
// confidence is the winner's share of the two best scores times how much
// evidence there is (score / 9, at most 1): "Acme, insurance broker" is
// Insurance with a low confidence, a page naming insurance, policies and
// claims several ways a high one. Below a score of 3 or a confidence of
// 0.25 (say, a tie) it returns "".
func ClassifyIndustry(texts ...string) (string, float64) {
	var b strings.Builder
	for _, t := range texts {
		if b.Len()+len(t) > MaxIndustryText {
			t = t[:max(0, MaxIndustryText-b.Len())]
		}
		b.WriteString(t)
		b.WriteString(" . ")
	}
	ws := words(foldText(b.String()))
	scores := industryLex.score(ws)

	best, second := -1, 0
	for i, s := range scores {
		switch {
		case best < 0 || s > scores[best]:
			if best >= 0 {
				second = scores[best]
			}
			best = i
		case s > second:
			second = s
		}
	}
	top := scores[best]
	if top < industryMinScore {
		return "", 0
	}
	share := float64(top) / float64(top+second)
	confidence := share * min(1, float64(top)/industryFullScore)
	if confidence < industryMinConfidence {
		return "", 0
	}
	// Two decimals: the confidence is shown and stored, and a value such
	// as 0.3333333 pretends to a precision a keyword count does not have.
	return industryLex.names[best], float64(int(confidence*100+0.5)) / 100
}

// industryTerm is one keyword of one industry.
type industryTerm struct {
	id       int // distinct keywords count once however often they appear
	industry int
	weight   int
	words    []string
}

type industryAffix struct {
	affix
	id               int
	industry, weight int
}

// industryIndex is industryLexicon parsed.
type industryIndex struct {
	names   []string
	phrases map[string][]industryTerm // by first word
	affixes []industryAffix
	terms   int
}

var industryLex = parseIndustryLexicon(industryLexicon)

func parseIndustryLexicon(text string) industryIndex {
	lex := industryIndex{phrases: map[string][]industryTerm{}}
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "== "):
			lex.names = append(lex.names, strings.TrimPrefix(line, "== "))
			continue
		}
		kind, list, ok := strings.Cut(line, ":")
		weight := map[string]int{"strong": industryStrong, "weak": industryWeak}[kind]
		if !ok || weight == 0 || len(lex.names) == 0 {
			panic("enrich: bad industry lexicon line: " + line)
		}
		ind := len(lex.names) - 1
		for kw := range strings.SplitSeq(list, ",") {
			ws := strings.Fields(kw)
			if len(ws) == 0 {
				continue
			}
			id := lex.terms
			lex.terms++
			if len(ws) == 1 && strings.Contains(ws[0], "*") {
				lex.affixes = append(lex.affixes, industryAffix{affix: parseAffix(ws[0]), id: id, industry: ind, weight: weight})
				continue
			}
			lex.phrases[ws[0]] = append(lex.phrases[ws[0]], industryTerm{id: id, industry: ind, weight: weight, words: ws})
		}
	}
	return lex
}

// score returns each industry's score over the words of a text.
func (l industryIndex) score(ws []string) []int {
	scores := make([]int, len(l.names))
	seen := make([]bool, l.terms)
	count := func(id, industry, weight int) {
		if !seen[id] {
			seen[id] = true
			scores[industry] += weight
		}
	}
	distinct := map[string]bool{}
	for i, w := range ws {
		for _, t := range l.phrases[w] {
			if seen[t.id] || len(t.words) > len(ws)-i {
				continue
			}
			match := true
			for k := 1; k < len(t.words); k++ {
				if ws[i+k] != t.words[k] {
					match = false
					break
				}
			}
			if match {
				count(t.id, t.industry, t.weight)
			}
		}
		if distinct[w] {
			continue
		}
		distinct[w] = true
		for _, a := range l.affixes {
			if seen[a.id] {
				continue
			}
			// An affix finds compounds only: the word itself is a
			// keyword of its own when it counts.
			if len(w) > a.len() && a.in(w) {
				count(a.id, a.industry, a.weight)
			}
		}
	}
	return scores
}
