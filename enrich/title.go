package enrich

import (
	"regexp"
	"sort"
	"strings"
)

// Department is the function a person works in, read from their job title.
type Department string

// The departments ClassifyTitle knows. Executive is the general
// management of the company (CEO, founder, Geschäftsführer, PDG): it is
// given only when the title names no function, so "Founder & CTO" is
// Engineering and "Co-founder & CEO" is Executive.
const (
	DepartmentSales       Department = "Sales"
	DepartmentMarketing   Department = "Marketing"
	DepartmentEngineering Department = "Engineering"
	DepartmentProduct     Department = "Product"
	DepartmentSupport     Department = "Support"
	DepartmentFinance     Department = "Finance"
	DepartmentHR          Department = "HR"
	DepartmentOperations  Department = "Operations"
	DepartmentLegal       Department = "Legal"
	DepartmentIT          Department = "IT"
	DepartmentExecutive   Department = "Executive"
)

// Seniority is a person's level, read from their job title.
type Seniority string

// The levels ClassifyTitle knows, highest first.
const (
	SeniorityCLevel     Seniority = "C-level"
	SeniorityVP         Seniority = "VP"
	SeniorityDirector   Seniority = "Director"
	SeniorityManager    Seniority = "Manager"
	SeniorityIndividual Seniority = "Individual contributor"
)

var seniorityRank = map[Seniority]int{
	SeniorityIndividual: 1, SeniorityManager: 2, SeniorityDirector: 3, SeniorityVP: 4, SeniorityCLevel: 5,
}

// MaxTitleLength is the longest title ClassifyTitle reads; the rest is
// ignored (Contact.Title holds at most 200 characters).
const MaxTitleLength = 300

// ClassifyTitle reads a job title as a person typed it, in English,
// French, German or Spanish, and returns their department and seniority,
// either of them "" when the title does not say. It is deterministic and
// ignores case, accents, punctuation and gendered endings
// ("Directrice commerciale", "Leiterin Vertrieb", "Jefa de ventas").
//
// The rules, where titles are ambiguous, were decided as follows:
//   - the highest level named wins ("Co-founder & CEO", "Sr. Director":
//     C-level, Director), except that an assistant, intern, trainee or
//     apprentice is an individual contributor whoever they assist
//     ("Assistant to the CEO", "Praktikant Marketing");
//   - "Head of X", Leiter/Leiterin (and -leiter compounds: Vertriebsleiter,
//     Abteilungsleiter), directeur/directrice, director/directora, "Chief
//     of Staff" and "chief X" without "officer" are Director;
//   - "Lead", "Team Lead", Teamleiter, Projektleiter, jefe/jefa, gerente,
//     responsable, chef (de projet), supervisor and every other "manager"
//     are Manager, but for the titles that name accounts rather than
//     people: Account Manager, Key Account Manager, Customer Success
//     Manager and Community Manager are individual contributors;
//   - "chief ... officer" and the C-abbreviations (CEO, CTO, CFO, CMO, CRO,
//     COO, CIO, CISO, CPO, CHRO, CDO, CCO, CLO) are C-level, as are
//     founders, owners, presidents, Managing Director, General Manager,
//     Executive Director, Geschäftsführer, Vorstand, PDG, DG, gérant,
//     consejero delegado and director general; CPO is Product (not
//     People), CCO Sales (commercial), CDO Engineering (data);
//   - VP, SVP, EVP and "Vice President" in the four languages are VP;
//     an AVP (assistant vice president) is Director; General Counsel is
//     Legal and VP;
//   - the French abbreviations DRH, DAF and DSI are the Director of HR,
//     Finance and IT, RRH and RAF their managers, RSSI a Director of IT;
//   - Senior, Sr., Junior, Jr., Principal, Staff, Associate change no
//     level: a "Senior Software Engineer" is an individual contributor;
//   - a title with a function and no level is an individual contributor
//     ("Software Engineer", "Comptable"), and a title with neither
//     ("Ninja", "") gives "", "".
//
// The department is the first function the title names ("VP Sales &
// Marketing" is Sales; a project role's Operations only when nothing else
// is named: "Chef de projet informatique" is IT), with the longer phrase winning where phrases
// overlap ("Sales Engineer" and "Ingénieur commercial" are Sales,
// "Product Marketing Manager" is Marketing, "Desktop Support" is IT).
func ClassifyTitle(title string) (Department, Seniority) {
	if len(title) > MaxTitleLength {
		title = title[:MaxTitleLength]
	}
	t := foldText(title)
	// Dotted abbreviations are one word: "V.P." is "vp", "C.E.O." "ceo".
	t = dottedLetter.ReplaceAllString(t, "$1")
	ws := words(t)

	var hits []titleTerm
	for i := 0; i < len(ws); {
		if j := chiefOfficer(ws[i:]); j > 0 {
			// The words between "chief" and "officer" still name the
			// department: Chief Revenue Officer is Sales.
			hits = append(hits, titleTerm{level: SeniorityCLevel})
			hits = append(hits, matchTitleWords(ws[i+1:i+j])...)
			i += j + 1
			continue
		}
		if n, term, ok := titleLex.phrase(ws[i:]); ok {
			hits = append(hits, term)
			i += n
			continue
		}
		hits = append(hits, titleLex.word(ws[i])...)
		i++
	}
	return decideTitle(hits)
}

var dottedLetter = regexp.MustCompile(`\b([a-z])\.`)

// chiefOfficer returns the index of "officer" when ws starts "chief X
// officer" with one to four words X, else 0.
func chiefOfficer(ws []string) int {
	if len(ws) < 3 || ws[0] != "chief" {
		return 0
	}
	for j := 2; j < len(ws) && j <= 5; j++ {
		if ws[j] == "officer" {
			return j
		}
	}
	return 0
}

// matchTitleWords matches a run of words with the lexicon alone (the
// inside of "chief ... officer").
func matchTitleWords(ws []string) []titleTerm {
	var hits []titleTerm
	for i := 0; i < len(ws); {
		if n, term, ok := titleLex.phrase(ws[i:]); ok {
			hits = append(hits, term)
			i += n
			continue
		}
		hits = append(hits, titleLex.word(ws[i])...)
		i++
	}
	return hits
}

// decideTitle applies the rules of ClassifyTitle to the terms found, in
// the order they appear.
func decideTitle(hits []titleTerm) (Department, Seniority) {
	var dept, soft Department
	executive, capped := false, false
	level := Seniority("")
	for _, h := range hits {
		switch {
		case h.dept == DepartmentExecutive:
			executive = true
		case h.dept != "" && h.soft:
			if soft == "" {
				soft = h.dept
			}
		case h.dept != "" && dept == "":
			dept = h.dept
		}
		if h.capped {
			capped = true
		}
		if seniorityRank[h.level] > seniorityRank[level] {
			level = h.level
		}
	}
	if dept == "" {
		dept = soft
	}
	if dept == "" && executive {
		dept = DepartmentExecutive
	}
	if capped || (level == "" && dept != "") {
		level = SeniorityIndividual
	}
	return dept, level
}

// titleTerm is what one word or phrase of a title says.
type titleTerm struct {
	dept   Department
	level  Seniority
	capped bool // an assistant or intern: an individual contributor, whoever else the title names
	soft   bool // a role found in every department (project manager): its department yields to any other
}

// titleLexicon is the table ClassifyTitle reads titles with, one word or
// phrase a line, written folded (lower case, no accents, punctuation as
// spaces): "phrase = DEPT LEVEL [cap] [soft]" with "-" for none. "cap"
// makes the whole title an individual contributor's (assistants, interns);
// "soft" marks a role found in every department (project manager, chef de
// projet, Projektleiter), whose department counts only when the title
// names no other ("Chef de projet informatique" is IT).
//
//	DEPT:  S Sales, M Marketing, E Engineering, P Product, U Support,
//	       F Finance, H HR, O Operations, L Legal, I IT, X Executive
//	LEVEL: C C-level, V VP, D Director, M Manager, I Individual contributor
//
// A single word may carry "*" at either end or both: "*leiter" matches
// every word ending in leiter (German compounds: Vertriebsleiter); the
// first matching affix line gives the level, and the first one with a
// department the department, so more specific affixes come first. A
// whole word or phrase line wins over affixes.
const titleLexicon = `
# Executive and C-level
ceo = X C
founder = X C
cofounder = X C
co founder = X C
founding partner = X C
fondateur = X C
fondatrice = X C
cofondateur = X C
cofondatrice = X C
co fondateur = X C
co fondatrice = X C
fundador = X C
fundadora = X C
cofundador = X C
cofundadora = X C
co fundador = X C
co fundadora = X C
socio fundador = X C
socia fundadora = X C
*grunder = X C
*grunderin = X C
*gruender = X C
*gruenderin = X C
*begrunder = X C
owner = X C
co owner = X C
business owner = X C
proprietaire = X C
inhaber = X C
inhaberin = X C
propietario = X C
propietaria = X C
dueno = X C
duena = X C
president = X C
presidente = X C
presidenta = X C
pdg = X C
dg = X C
directeur general = X C
directrice generale = X C
directeur generale = X C
director general = X C
directora general = X C
director ejecutivo = X C
directora ejecutiva = X C
consejero delegado = X C
consejera delegada = X C
gerente general = X C
general manager = X C
managing director = X C
country manager = X D
executive director = X C
managing partner = X C
gerant = X C
gerante = X C
geschaftsfuhr* = X C
geschaeftsfuehr* = X C
vorstand* = X C
chairman = X C
chairwoman = X C
chairperson = X C
cxo = - C
cto = E C
cfo = F C
cmo = M C
coo = O C
cro = S C
cio = I C
ciso = I C
cso = - C
cpo = P C
chro = H C
cdo = E C
cco = S C
clo = L C
executive = X I
chief of staff = X D
chief = - D
senior partner = - D
equity partner = - D
associe = - D
associee = - D
socio = - D
socia = - D
prokurist = - D
prokuristin = - D
entrepreneur = X C
entrepreneuse = X C
emprendedor = X C
emprendedora = X C
board member = X -

# VP
vp = - V
svp = - V
evp = - V
avp = - D
vice president = - V
vice presidente = - V
vice presidenta = - V
vicepresident = - V
vicepresidente = - V
vicepresidenta = - V
vizeprasident* = - V
assistant vice president = - D
dga = X V
directeur general adjoint = X V
directrice generale adjointe = X V
general counsel = L V

# Director
director = - D
directora = - D
directeur = - D
directrice = - D
direktor = - D
direktorin = - D
dir = - D
head = - D
leiter = - D
leiterin = - D
drh = H D
daf = F D
dsi = I D
rssi = I D
dircom = M D
treasurer = F D
teamleiter* = - M
gruppenleiter* = - M
schichtleiter* = - M
projektleiter* = O M soft
*leiter = - D
*leiterin = - D
*leitung = - D

# Manager
manager = - M
managerin = - M
manageuse = - M
mgr = - M
*manager = - M
*managerin = - M
lead = - M
team lead = - M
team leader = - M
tech lead = E M
technical lead = E M
leader = - M
lider = - M
supervisor = - M
supervisora = - M
superviseur = - M
superviseuse = - M
foreman = O M
jefe = - M
jefa = - M
gerente = - M
encargado = - M
encargada = - M
responsable = - M
chef = - M
chef de projet = O M soft
cheffe de projet = O M soft
chef de produit = P M
cheffe de produit = P M
rrh = H M
raf = F M
office manager = O M
project manager = O M soft
program manager = O M soft
programme manager = O M soft
plant manager = O M
account manager = S I
key account manager = S I
key account managerin = S I
account managerin = S I
customer success manager = U I
community manager = M I
partner manager = S M

# Individual contributors and markers that change no level
senior = - -
sr = - -
junior = - I
jr = - I
principal = - I
staff = - I
associate = - I
specialist = - I
specialiste = - I
especialista = - I
analyst = - I
analyste = - I
analista = - I
consultant = - I
consultante = - I
consultor = - I
consultora = - I
*berater = - I
*beraterin = - I
advisor = - I
adviser = - I
conseiller = - I
conseillere = - I
asesor = - I
asesora = - I
coordinator = - I
coordinateur = - I
coordinatrice = - I
coordinador = - I
coordinadora = - I
representative = - I
rep = - I
representante = - I
officer = - I
clerk = - I
agent = - I
technician = - I
technicien = - I
technicienne = - I
tecnico = - I
tecnica = - I
charge = - I
chargee = - I
mitarbeiter = - I
mitarbeiterin = - I
*mitarbeiter = - I
*mitarbeiterin = - I
sachbearbeiter* = - I
*referent = - I
*referentin = - I
empleado = - I
empleada = - I
ejecutivo = - I
ejecutiva = - I
intern = - I cap
internship = - I cap
trainee = - I cap
apprentice = - I cap
stagiaire = - I cap
alternant = - I cap
alternante = - I cap
apprenti = - I cap
apprentie = - I cap
praktikant* = - I cap
werkstudent* = - I cap
auszubildend* = - I cap
azubi = - I cap
becario = - I cap
becaria = - I cap
practicante = - I cap
pasante = - I cap
assistant = - I cap
assistante = - I cap
assistent = - I cap
assistentin = - I cap
assistenz = - I cap
asistente = - I cap
auxiliar = - I cap
assistant director = - M
assistant manager = - M
executive assistant = O I cap
personal assistant = O I cap
administrative assistant = O I cap
office assistant = O I cap
assistante de direction = O I cap
assistant de direction = O I cap
assistenz der geschaftsfuhrung = O I cap
asistente de direccion = O I cap

# Sales
sales = S -
sale = S -
selling = S -
account executive = S I
ae = S I
account director = S D
account = S -
accounts = S -
business development = S -
biz dev = S -
bizdev = S -
bd = S -
sdr = S I
bdr = S I
sales development = S -
inside sales = S -
field sales = S -
presales = S -
pre sales = S -
sales engineer = S I
solutions engineer = S I
solution engineer = S I
solutions consultant = S I
solution consultant = S I
sales operations = O -
revenue operations = O -
revops = O -
revenue = S -
commercial = S -
commerciale = S -
commerciaux = S -
technico commercial = S I
technico commerciale = S I
ingenieur commercial = S I
ingenieure commerciale = S I
ingenieur d affaires = S I
ingenieure d affaires = S I
ingenieur avant vente = S I
ingenieure avant vente = S I
avant vente = S -
affaires = S -
vente = S -
ventes = S -
vendeur = S I
vendeuse = S I
*vertrieb* = S -
*verkauf* = S -
aussendienst* = S -
innendienst* = S -
geschaftsentwicklung = S -
ventas = S -
vendedor = S I
vendedora = S I
comercial = S -
comerciales = S -
desarrollo de negocio = S -
desarrollo de negocios = S -
ejecutivo de cuentas = S I
ejecutiva de cuentas = S I
channel = S -
partnerships = S -
partnership = S -
alliances = S -
key account = S -

# Marketing
marketing = M -
*marketing* = M -
growth = M -
brand = M -
branding = M -
marque = M -
marca = M -
content = M -
contenu = M -
contenido = M -
seo = M -
sem = M -
ppc = M -
demand generation = M -
demand gen = M -
lead generation = M -
lifecycle = M -
crm = M -
communications = M -
communication = M -
comms = M -
pr = M -
public relations = M -
relations presse = M -
*kommunikation = M -
kommunikation = M -
offentlichkeitsarbeit = M -
presse* = M -
comunicacion = M -
comunicaciones = M -
mercadotecnia = M -
mercadeo = M -
publicidad = M -
social media = M -
redes sociales = M -
reseaux sociaux = M -
events = M -
evenementiel = M -
eventos = M -
copywriter = M I
redacteur = M I
redactrice = M I
creative = M -
art director = M D
graphic designer = M I
graphiste = M I
product marketing = M -
digital marketing = M -
werbung = M -
publicite = M -

# Engineering
engineer = E I
engineers = E -
engineering = E -
eng = E -
developer = E I
developpeur = E I
developpeuse = E I
desarrollador = E I
desarrolladora = E I
entwickler = E I
entwicklerin = E I
*entwickler = E I
*entwicklerin = E I
entwicklung = E -
*entwicklung = E -
personalentwicklung = H -
programmer = E I
programmeur = E I
programmeuse = E I
programador = E I
programadora = E I
software = E -
*software* = E -
logiciel = E -
logiciels = E -
ingenieur = E I
ingenieure = E I
ingenieurin = E I
ingeniero = E I
ingeniera = E I
ingenierie = E -
ingenieria = E -
dev = E -
devops = E -
sre = E I
site reliability = E -
architect = E I
architecte = E I
arquitecto = E I
arquitecta = E I
*architekt = E I
*architektin = E I
data = E -
data scientist = E I
donnees = E -
datos = E -
machine learning = E -
ml = E -
ai = E -
ia = E -
ki = E -
qa = E -
quality assurance = E -
tester = E I
test = E -
frontend = E -
front end = E -
backend = E -
back end = E -
fullstack = E -
full stack = E -
ios = E -
android = E -
mobile = E -
firmware = E -
embedded = E -
hardware = E -
technology = E -
technologies = E -
technique = E -
technical = E -
tech = E -
technologie = E -
tecnologia = E -
technik = E -
r d = E -
rd = E -
research and development = E -
recherche et developpement = E -
investigacion y desarrollo = E -
desarrollo = E -
scrum master = E I
cto = E C

# Product
product = P -
products = P -
produit = P -
produits = P -
producto = P -
productos = P -
produktion* = O -
produkt* = P -
product owner = P I
po = P I
ux = P -
ui = P -
design = P -
designer = P I
user research = P -
user researcher = P I

# Support
support = U -
customer support = U -
customer service = U -
customer success = U -
customer care = U -
customer experience = U -
customer = U -
cx = U -
technical support = U -
tech support = U -
onboarding = U -
service client = U -
relation client = U -
relations clients = U -
conseiller clientele = U I
conseillere clientele = U I
kunden* = U -
soporte = U -
atencion al cliente = U -
servicio al cliente = U -
exito del cliente = U -
help desk = I -
helpdesk = I -
service desk = I -
desktop support = I -
it support = I -

# Finance
finance = F -
finances = F -
financial = F -
financier = F -
financiere = F -
finanz* = F -
finanzas = F -
financiero = F -
financiera = F -
accounting = F -
accountant = F I
comptable = F I
comptabilite = F -
buchhalt* = F -
contador = F I
contadora = F I
contable = F I
contabilidad = F -
controller = F I
controllerin = F I
controlling = F -
comptroller = F -
controleur de gestion = F I
controleuse de gestion = F I
treasury = F -
tresorerie = F -
tesoreria = F -
fp a = F -
audit = F -
auditor = F I
auditeur = F I
auditrice = F I
tax = F -
fiscal = F -
fiscalite = F -
steuer* = F -
payroll = F -
bookkeeper = F I
billing = F -
investor relations = F -
kaufmannisch* = F -
kaufmaennisch* = F -
administratif et financier = F -

# HR
hr = H -
human resources = H -
people = H -
people operations = H -
people ops = H -
talent = H -
talent acquisition = H -
recruiter = H I
recruiting = H -
recruitment = H -
hrbp = H I
l d = H -
learning and development = H -
compensation = H -
benefits = H -
rh = H -
ressources humaines = H -
recrutement = H -
recruteur = H I
recruteuse = H I
paie = H -
personal = H -
personal* = H -
personaler = H I
recruiterin = H I
recursos humanos = H -
rrhh = H -
talento = H -
reclutamiento = H -
reclutador = H I
reclutadora = H I
seleccion = H -

# Operations
operations = O -
operation = O -
operational = O -
operating = O -
ops = O -
business operations = O -
operationnel = O -
operationnelle = O -
operations manager = O M
exploitation = O -
operaciones = O -
logistics = O -
logistique = O -
logistik* = O -
logistica = O -
supply chain = O -
chaine d approvisionnement = O -
cadena de suministro = O -
procurement = O -
purchasing = O -
buyer = O I
achats = O -
achat = O -
acheteur = O I
acheteuse = O I
einkauf* = O -
compras = O -
comprador = O I
compradora = O I
facilities = O -
production = O -
produccion = O -
manufacturing = O -
fabrication = O -
fertigung = O -
quality = O -
qualite = O -
qualitat* = O -
calidad = O -
warehouse = O -
entrepot = O -
lager* = O -
almacen = O -
betrieb = O -
betriebsleit* = O -
project = O - soft
projects = O - soft
projet = O - soft
projets = O - soft
projekt* = O - soft
proyecto = O - soft
proyectos = O - soft
administration = O -
administratif = O -
administrative = O -
administrativo = O -
administrativa = O -
verwaltung = O -
administracion = O -

# Legal
legal = L -
lawyer = L I
attorney = L I
counsel = L I
paralegal = L I
compliance = L -
privacy = L -
data protection = L -
data protection officer = L I
dpo = L I
contracts = L -
juriste = L I
juridique = L -
avocat = L I
avocate = L I
conformite = L -
rechtsanwalt* = L I
rechtsabteilung = L -
recht = L -
rechts* = L -
jurist = L I
juristin = L I
syndikus* = L I
justiziar* = L I
datenschutz* = L -
abogado = L I
abogada = L I
juridico = L -
juridica = L -
asesor juridico = L I
asesora juridica = L I
cumplimiento = L -

# IT
it = I -
information technology = I -
information systems = I -
information security = I -
information = I -
systemes d information = I -
informatique = I -
informaticien = I I
informaticienne = I I
*informatik* = I -
informatiker = I I
informatica = I -
informatico = I I
sistemas = I -
tecnologias de la informacion = I -
ti = I -
edv = I -
sysadmin = I I
system administrator = I I
systems administrator = I I
administrateur systeme = I I
administrateur systemes = I I
administrateur reseau = I I
systemadministrator* = I I
network = I -
networks = I -
reseau = I -
reseaux = I -
netzwerk* = I -
redes = I -
security = I -
cybersecurity = I -
cyber = I -
infosec = I -
securite = I -
sicherheit = I -
*sicherheit = I -
seguridad = I -
ciberseguridad = I -
infrastructure = I -
infrastruktur = I -
infraestructura = I -
dba = I I
database administrator = I I
`

// titleLex is titleLexicon parsed.
var titleLex = parseTitleLexicon(titleLexicon)

type titleAffix struct {
	affix
	term titleTerm
}

type titleLexiconIndex struct {
	words   map[string]titleTerm
	phrases map[string][]titlePhrase // by first word, longest first
	affixes []titleAffix
}

type titlePhrase struct {
	words []string
	term  titleTerm
}

func parseTitleLexicon(text string) titleLexiconIndex {
	depts := map[string]Department{
		"S": DepartmentSales, "M": DepartmentMarketing, "E": DepartmentEngineering, "P": DepartmentProduct,
		"U": DepartmentSupport, "F": DepartmentFinance, "H": DepartmentHR, "O": DepartmentOperations,
		"L": DepartmentLegal, "I": DepartmentIT, "X": DepartmentExecutive, "-": "",
	}
	levels := map[string]Seniority{
		"C": SeniorityCLevel, "V": SeniorityVP, "D": SeniorityDirector, "M": SeniorityManager,
		"I": SeniorityIndividual, "-": "",
	}
	lex := titleLexiconIndex{words: map[string]titleTerm{}, phrases: map[string][]titlePhrase{}}
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lhs, rhs, ok := strings.Cut(line, "=")
		f := strings.Fields(rhs)
		if !ok || len(f) < 2 {
			panic("enrich: bad title lexicon line: " + line)
		}
		dept, okd := depts[f[0]]
		level, okl := levels[f[1]]
		if !okd || !okl {
			panic("enrich: bad title lexicon line: " + line)
		}
		term := titleTerm{dept: dept, level: level}
		for _, flag := range f[2:] {
			switch flag {
			case "cap":
				term.capped = true
			case "soft":
				term.soft = true
			default:
				panic("enrich: bad title lexicon flag: " + line)
			}
		}
		ws := strings.Fields(lhs)
		switch {
		case len(ws) == 1 && strings.Contains(ws[0], "*"):
			lex.affixes = append(lex.affixes, titleAffix{affix: parseAffix(ws[0]), term: term})
		case len(ws) == 1:
			lex.words[ws[0]] = term
		default:
			lex.phrases[ws[0]] = append(lex.phrases[ws[0]], titlePhrase{words: ws, term: term})
		}
	}
	for _, ps := range lex.phrases {
		sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].words) > len(ps[j].words) })
	}
	return lex
}

// phrase returns the longest phrase of two words or more that ws starts
// with, and its length.
func (l titleLexiconIndex) phrase(ws []string) (int, titleTerm, bool) {
	for _, p := range l.phrases[ws[0]] {
		if len(p.words) > len(ws) {
			continue
		}
		match := true
		for k, w := range p.words {
			if ws[k] != w {
				match = false
				break
			}
		}
		if match {
			return len(p.words), p.term, true
		}
	}
	return 0, titleTerm{}, false
}

// word returns what one word says: its own line, else the first affix
// giving a level and the first giving a department (a German compound
// such as Vertriebsleiterin says both).
func (l titleLexiconIndex) word(w string) []titleTerm {
	if t, ok := l.words[w]; ok {
		return []titleTerm{t}
	}
	var level, dept *titleTerm
	for i := range l.affixes {
		a := &l.affixes[i]
		if !a.in(w) {
			continue
		}
		if level == nil && (a.term.level != "" || a.term.capped) {
			level = &a.term
		}
		if dept == nil && a.term.dept != "" {
			dept = &a.term
		}
	}
	var out []titleTerm
	if dept != nil {
		out = append(out, titleTerm{dept: dept.dept, soft: dept.soft})
	}
	if level != nil {
		out = append(out, titleTerm{level: level.level, capped: level.capped})
	}
	return out
}
