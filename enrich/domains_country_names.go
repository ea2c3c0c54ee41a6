package enrich

import "strings"

// countryNames maps country names, folded (lower case, no accents,
// punctuation as spaces), in English, French, German, Spanish and the
// country's own language, and the common ISO 3166-1 alpha-3 codes, to
// alpha-2 codes. It covers the countries most sign-ups come from, not all
// of ISO 3166: an unknown name gives "" rather than a guess.
const countryNames = `
US: united states, united states of america, usa, us, u s a, america, etats unis, etats unis d amerique, vereinigte staaten, vereinigte staaten von amerika, estados unidos, estados unidos de america
GB: united kingdom, uk, u k, great britain, britain, england, scotland, wales, northern ireland, gbr, royaume uni, grande bretagne, angleterre, ecosse, vereinigtes konigreich, grossbritannien, england, reino unido, gran bretana, inglaterra
IE: ireland, irl, irlande, irland, irlanda, eire
FR: france, fra, frankreich, francia, republique francaise
DE: germany, deu, allemagne, deutschland, alemania, bundesrepublik deutschland
AT: austria, aut, autriche, osterreich, oesterreich
CH: switzerland, che, suisse, schweiz, suiza, svizzera
BE: belgium, bel, belgique, belgien, belgica, belgie
NL: netherlands, the netherlands, holland, nld, pays bas, niederlande, paises bajos, nederland
LU: luxembourg, lux, luxemburg, luxemburgo
ES: spain, esp, espagne, spanien, espana
PT: portugal, prt
IT: italy, ita, italie, italien, italia
DK: denmark, dnk, danemark, danemark, dinamarca, danmark
SE: sweden, swe, suede, schweden, suecia, sverige
NO: norway, nor, norvege, norwegen, noruega, norge
FI: finland, fin, finlande, finnland, finlandia, suomi
IS: iceland, isl, islande, island, islandia
PL: poland, pol, pologne, polen, polonia, polska
CZ: czech republic, czechia, cze, republique tcheque, tchequie, tschechien, tschechische republik, republica checa, chequia, cesko
SK: slovakia, svk, slovaquie, slowakei, eslovaquia, slovensko
HU: hungary, hun, hongrie, ungarn, hungria, magyarorszag
RO: romania, rou, roumanie, rumanien, rumania
BG: bulgaria, bgr, bulgarie, bulgarien
GR: greece, grc, grece, griechenland, grecia
HR: croatia, hrv, croatie, kroatien, croacia, hrvatska
SI: slovenia, svn, slovenie, slowenien, eslovenia, slovenija
RS: serbia, srb, serbie, serbien
EE: estonia, est, estonie, estland, eesti
LV: latvia, lva, lettonie, lettland, letonia, latvija
LT: lithuania, ltu, lituanie, litauen, lituania, lietuva
UA: ukraine, ukr, ucrania
TR: turkey, turkiye, tur, turquie, turkei, turquia
CY: cyprus, cyp, chypre, zypern, chipre
MT: malta, mlt, malte
IL: israel, isr
AE: united arab emirates, uae, are, emirats arabes unis, vereinigte arabische emirate, emiratos arabes unidos
SA: saudi arabia, sau, arabie saoudite, saudi arabien, arabia saudita
EG: egypt, egy, egypte, agypten, egipto
MA: morocco, mar, maroc, marokko, marruecos
TN: tunisia, tun, tunisie, tunesien, tunez
DZ: algeria, dza, algerie, algerien, argelia
ZA: south africa, zaf, afrique du sud, sudafrika, sudafrica
NG: nigeria, nga
KE: kenya, ken, kenia
SN: senegal, sen
CI: ivory coast, cote d ivoire, civ, elfenbeinkuste, costa de marfil
CA: canada, can, kanada
MX: mexico, mex, mexique, mexiko
BR: brazil, bra, bresil, brasilien, brasil
AR: argentina, arg, argentine, argentinien
CL: chile, chl, chili
CO: colombia, col, colombie, kolumbien
PE: peru, per, perou
UY: uruguay, ury
VE: venezuela, ven
EC: ecuador, ecu, equateur
CR: costa rica, cri
IN: india, ind, inde, indien
CN: china, chn, chine, people s republic of china
JP: japan, jpn, japon
KR: south korea, korea, republic of korea, kor, coree du sud, sudkorea, corea del sur
TW: taiwan, twn
HK: hong kong, hkg
SG: singapore, sgp, singapour, singapur
MY: malaysia, mys, malaisie, malasia
ID: indonesia, idn, indonesie, indonesien
TH: thailand, tha, thailande, tailandia
VN: vietnam, viet nam, vnm
PH: philippines, phl, philippinen, filipinas
PK: pakistan, pak, pakistan
BD: bangladesh, bgd, bangladesch
AU: australia, aus, australie, australien
NZ: new zealand, nzl, nouvelle zelande, neuseeland, nueva zelanda
RU: russia, russian federation, rus, russie, russland, rusia
`

var countryNameCodes = func() map[string]string {
	m := map[string]string{}
	for line := range strings.SplitSeq(countryNames, "\n") {
		code, names, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for name := range strings.SplitSeq(names, ",") {
			if name = strings.TrimSpace(name); name != "" {
				m[name] = strings.TrimSpace(code)
			}
		}
	}
	return m
}()

// CountryOfAddress reads a country as a site writes it in JSON-LD's
// address.addressCountry or in a provider's answer: an ISO 3166-1 alpha-2
// code in any case ("fr", "DE"; "UK" as GB), a common alpha-3 code
// ("DEU"), or a name in English, French, German, Spanish or the country's
// own language ("Deutschland", "Royaume-Uni", "España"). It returns the
// alpha-2 code, upper case, or "" when it cannot tell.
func CountryOfAddress(s string) string {
	if len(s) > 100 {
		return ""
	}
	name := strings.Join(words(foldText(s)), " ")
	if len(name) == 2 && isoCountrySet[name] {
		return strings.ToUpper(name)
	}
	return countryNameCodes[name]
}
