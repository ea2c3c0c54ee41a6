package enrich_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/enrich"
)

// industryCases are texts as company sites write them: the page title,
// the meta or OpenGraph description, and JSON-LD keywords.
var industryCases = []struct {
	name  string
	texts []string
	want  string
}{
	// English
	{"saas", []string{"Acme — The CRM for small teams", "Acme is a cloud-based CRM software that helps sales teams close more deals. Start your free trial.", "crm, saas, sales software"}, "Software"},
	{"devtools", []string{"Buildkite | Fast, secure CI/CD", "Open source developer tools and an API to automate your pipelines."}, "Software"},
	{"msp", []string{"NorthGrid IT — Managed IT services for SMBs", "We are a managed service provider offering IT support, cybersecurity and hosting across the Midlands."}, "IT Services"},
	{"manufacturer", []string{"Precision Parts Ltd", "UK manufacturer of precision CNC machining and injection moulding components for industrial equipment since 1974."}, "Manufacturing"},
	{"shop", []string{"Willow & Co — Home decor online store", "Shop our collection of furniture and gifts. Free shipping on orders over £50. Shop now!"}, "Retail & E-commerce"},
	{"bank", []string{"Monzo Bank", "Banking made easy: a bank account, savings and loans in one app."}, "Financial Services"},
	{"insurer", []string{"Shield Mutual — Home and car insurance", "An insurance company you can trust: get a quote, manage your policy and make claims online."}, "Insurance"},
	{"hospital", []string{"St Mary's Clinic", "Our clinic offers patients world-class medical care, from diagnostics to therapy, with experienced physicians and nurses."}, "Healthcare"},
	{"edtech", []string{"LearnLoop — online courses for schools", "An e-learning platform for teachers and students: curriculum-aligned lessons and tutoring."}, "Education"},
	{"freight", []string{"Rapid Freight", "Freight forwarding, warehousing and last mile delivery across Europe. Track your parcel."}, "Logistics & Transportation"},
	{"builder", []string{"Hartley Construction", "General contractor for residential and commercial construction: roofing, plumbing and HVAC."}, "Construction"},
	{"realty", []string{"Brick & Key Realty", "Real estate agents helping you find homes for sale and apartments for rent. Property management for landlords."}, "Real Estate"},
	{"agency", []string{"Spark — Digital marketing agency", "A creative agency for performance marketing, SEO, PPC and social media marketing campaigns."}, "Marketing & Advertising"},
	{"publisher", []string{"The Northern Review", "An independent publisher of books, a magazine and a weekly podcast on culture and journalism."}, "Media & Publishing"},
	{"hotel", []string{"The Harbour Hotel & Spa", "A boutique hotel by the sea: rooms, restaurant and spa. Book now for your holidays."}, "Hospitality & Travel"},
	{"energy", []string{"Sunvolt Energy", "Solar and wind power for homes and businesses: renewable energy, heat pumps and EV charging."}, "Energy & Utilities"},
	{"telco", []string{"FibreNet", "Full fibre broadband and 5G mobile network: the internet service provider for rural Britain."}, "Telecommunications"},
	{"council", []string{"Oxford City Council", "Official website of Oxford City Council: council tax, bins, planning permits and public services for residents."}, "Government & Public Sector"},
	{"charity", []string{"Hope for Children — registered charity", "A nonprofit working with volunteers to support families. Donate now."}, "Non-profit"},
	{"lawfirm", []string{"Baker & Finch LLP", "A law firm of solicitors and barristers: litigation, intellectual property and legal advice for businesses."}, "Legal"},
	{"consulting", []string{"Meridian Partners", "A management consulting firm: strategy consulting, change management and advisory services."}, "Consulting"},
	{"farm", []string{"Greenfield Farms", "A family farm growing crops and raising cattle; organic seeds and fertilizer for farmers."}, "Agriculture"},
	{"dealer", []string{"City Motors", "Car dealership for new and used cars, electric vehicles, car repair and auto parts."}, "Automotive"},
	{"brewery", []string{"Hop Hill Brewery", "Craft beer brewed in Bristol: our brewery, taproom and beers delivered to your door."}, "Food & Beverage"},
	// French
	{"fr-logiciel", []string{"Facturo — logiciel de facturation", "Facturo est un logiciel SaaS de facturation et de comptabilité pour les indépendants. Essai gratuit."}, "Software"},
	{"fr-esn", []string{"Groupe Infocité", "ESN spécialisée dans l'infogérance, la cybersécurité et l'hébergement : vos services informatiques clés en main."}, "IT Services"},
	{"fr-usine", []string{"Mécanique Dubois", "Fabricant de pièces mécaniques : usinage, décolletage et chaudronnerie dans notre usine de Lyon."}, "Manufacturing"},
	{"fr-assurance", []string{"Mutuelle Générale de l'Ouest", "Assurance santé, assurance habitation et prévoyance : votre mutuelle et ses garanties."}, "Insurance"},
	{"fr-immobilier", []string{"Agence Immobilière du Centre", "Achat, vente et gestion locative : votre agence immobilière à Tours. Appartements et maisons."}, "Real Estate"},
	{"fr-avocats", []string{"Cabinet Martin & Associés", "Cabinet d'avocats en droit des affaires, propriété intellectuelle et conseil juridique."}, "Legal"},
	{"fr-hotel", []string{"Hôtel Le Refuge", "Hôtel de charme dans les Alpes : chambres, restaurant et spa. Réservez votre séjour de vacances."}, "Hospitality & Travel"},
	{"fr-btp", []string{"Bâti Ouest", "Entreprise de BTP : gros œuvre, maçonnerie, charpente et travaux publics sur vos chantiers."}, "Construction"},
	{"fr-association", []string{"Les Restos du Partage", "Association loi 1901 : nos bénévoles aident les familles. Faire un don."}, "Non-profit"},
	{"fr-boulangerie", []string{"Maison Lefèvre", "Boulangerie et pâtisserie artisanale : pain, viennoiseries et chocolat."}, "Food & Beverage"},
	// German
	{"de-software", []string{"Personio", "Die HR-Software für kleine und mittelständische Unternehmen: Personalverwaltung in der Cloud. Jetzt kostenlos testen."}, "Software"},
	{"de-maschinenbau", []string{"Müller Maschinenbau GmbH", "Hersteller von Sondermaschinen: Anlagenbau, Fertigung und Zerspanung aus einer Hand."}, "Manufacturing"},
	{"de-versicherung", []string{"Allbund Versicherung AG", "Krankenversicherung, Lebensversicherung und Haftpflicht: Ihr Versicherer seit 1920."}, "Insurance"},
	{"de-spedition", []string{"Schneider Spedition", "Ihre Spedition für Transporte, Lagerlogistik und Kurierdienst in ganz Europa."}, "Logistics & Transportation"},
	{"de-kanzlei", []string{"Kanzlei Weber", "Rechtsanwälte für Arbeitsrecht und Vertragsrecht: Ihre Anwaltskanzlei in München."}, "Legal"},
	{"de-klinik", []string{"Klinikum Nord", "Krankenhaus der Maximalversorgung: Medizin und Pflege für unsere Patienten."}, "Healthcare"},
	{"de-stadtwerke", []string{"Stadtwerke Musterstadt", "Strom, Erdgas und Wasser: Ihr Energieversorger vor Ort mit Ökostrom und Wärmepumpen."}, "Energy & Utilities"},
	{"de-autohaus", []string{"Autohaus Becker", "Ihr Autohaus für Neuwagen und Gebrauchtwagen: Kfz-Werkstatt, Reifen und Elektrofahrzeuge."}, "Automotive"},
	{"de-beratung", []string{"Berger & Partner", "Unternehmensberatung für Strategieberatung und Transformation im Mittelstand."}, "Consulting"},
	{"de-schule", []string{"Sprachschule Berlin", "Deutschkurse und Weiterbildung: unsere Lehrer begleiten Schüler und Studierende."}, "Education"},
	// Spanish
	{"es-tienda", []string{"Moda Luna — tienda online", "Tienda online de ropa y zapatos: envío gratis en pedidos de más de 50 €."}, "Retail & E-commerce"},
	{"es-banco", []string{"Banco Horizonte", "Banca online: cuentas, préstamos, hipotecas y pagos desde tu móvil."}, "Financial Services"},
	{"es-seguros", []string{"Seguros Atlántico", "Aseguradora de seguros de hogar, salud y vida. Gestiona tus siniestros online."}, "Insurance"},
	{"es-constructora", []string{"Constructora Ibérica", "Empresa de construcción: obra civil, reformas y obras para particulares."}, "Construction"},
	{"es-viajes", []string{"Viajes Sol", "Agencia de viajes: vacaciones, cruceros y alojamiento en los mejores destinos."}, "Hospitality & Travel"},
	{"es-bodega", []string{"Bodegas Rioja Alta", "Bodega familiar: vinos de Rioja elaborados en nuestros viñedos."}, "Food & Beverage"},
	{"es-ayuntamiento", []string{"Ayuntamiento de Valencia", "Web oficial del Ayuntamiento: trámites para ciudadanos y vecinos."}, "Government & Public Sector"},
	{"es-ong", []string{"Fundación Manos Unidas", "ONG sin ánimo de lucro: voluntariado y donaciones para proyectos humanitarios."}, "Non-profit"},
	{"es-agricultura", []string{"AgroCampo", "Agricultura y ganadería: semillas, fertilizantes y tractores para agricultores."}, "Agriculture"},
	{"es-telecom", []string{"Conecta Telecom", "Operador de telecomunicaciones: fibra óptica, telefonía móvil y 5G."}, "Telecommunications"},
	// Well-known sites, as their home pages describe themselves.
	{"stripe", []string{"Stripe | Financial Infrastructure for the Internet", "Stripe powers online and in-person payment processing and financial solutions for businesses of all sizes."}, "Financial Services"},
	{"shopify", []string{"Shopify: the all-in-one commerce platform", "Start, run, and grow your business with Shopify. Sell online, in person and everywhere in between."}, "Retail & E-commerce"},
	{"hubspot", []string{"HubSpot", "HubSpot offers a full platform of marketing, sales, customer service, and CRM software"}, "Software"},
	{"doctolib", []string{"Doctolib", "Prenez rendez-vous en ligne chez un médecin, un dentiste ou un autre professionnel de santé."}, "Healthcare"},
	{"zalando", []string{"Zalando", "Schuhe & Mode online kaufen | Kostenloser Versand"}, "Retail & E-commerce"},
	{"telefonica", []string{"Telefónica", "Telefónica es una de las mayores compañías de telecomunicaciones del mundo."}, "Telecommunications"},
	{"michelin", []string{"Michelin", "Michelin, fabricant de pneus pour voitures, motos, vélos et camions."}, "Automotive"},
	// Nothing clear enough
	{"no-industry-words", []string{"Acme GmbH", "Wir sind ein mittelständisches Unternehmen mit Sitz in Stuttgart."}, ""},
	{"empty", nil, ""},
	{"blank", []string{"", "   "}, ""},
	{"generic", []string{"Acme Inc.", "Welcome to our website. We help our clients succeed with innovative solutions."}, ""},
	{"tie", []string{"Software and insurance"}, ""},
	{"one-weak", []string{"Our platform"}, ""},
}

func TestClassifyIndustry(t *testing.T) {
	t.Parallel()
	for _, tt := range industryCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, confidence := enrich.ClassifyIndustry(tt.texts...)
			require.Equal(t, tt.want, got, "texts: %q", tt.texts)
			if got == "" {
				require.Zero(t, confidence)
				return
			}
			require.Contains(t, enrich.Industries, got)
			require.Greater(t, confidence, 0.0)
			require.LessOrEqual(t, confidence, 1.0)
		})
	}
}

// TestClassifyIndustryConfidence: more evidence for one industry gives
// more confidence, and a rival industry's evidence takes some away.
func TestClassifyIndustryConfidence(t *testing.T) {
	t.Parallel()
	_, thin := enrich.ClassifyIndustry("Acme insurance")
	_, thick := enrich.ClassifyIndustry("Acme insurance", "An insurer for home and car: policies, claims and cover from our insurance brokers. Insurtech.")
	_, mixed := enrich.ClassifyIndustry("Acme insurance", "An insurer for home and car: policies, claims and cover from our insurance brokers. Insurtech.", "We build our own software and SaaS.")
	require.Greater(t, thin, 0.0)
	require.Greater(t, thick, thin)
	require.Less(t, mixed, thick)
	require.LessOrEqual(t, thick, 1.0)
}

func TestClassifyIndustryIgnoresCaseAndAccents(t *testing.T) {
	t.Parallel()
	a, ca := enrich.ClassifyIndustry("Hôtel de charme : chambres, restaurant et séjours")
	b, cb := enrich.ClassifyIndustry("HOTEL DE CHARME : CHAMBRES, RESTAURANT ET SEJOURS")
	require.Equal(t, "Hospitality & Travel", a)
	require.Equal(t, a, b)
	require.InDelta(t, ca, cb, 0)
}

// TestClassifyIndustryWholeWords: a keyword inside another word does not
// count ("bank" in "Banksy", "cars" in "Oscars").
func TestClassifyIndustryWholeWords(t *testing.T) {
	t.Parallel()
	got, _ := enrich.ClassifyIndustry("Banksy exhibition", "The Oscars of street art, postcards and scarfs")
	require.Empty(t, got)
}

func TestClassifyIndustryReadsAtMostMaxIndustryText(t *testing.T) {
	t.Parallel()
	filler := strings.Repeat("lorem ipsum ", enrich.MaxIndustryText/12+1)
	got, _ := enrich.ClassifyIndustry(filler, "insurance insurer assurance Versicherung seguros")
	require.Empty(t, got, "text past the limit is not read")
	got, _ = enrich.ClassifyIndustry("insurance insurer assurance Versicherung seguros", filler)
	require.Equal(t, "Insurance", got)
}

func TestIndustriesIsTheDocumentedList(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{
		"Software", "IT Services", "Manufacturing", "Retail & E-commerce", "Financial Services", "Insurance",
		"Healthcare", "Education", "Logistics & Transportation", "Construction", "Real Estate",
		"Marketing & Advertising", "Media & Publishing", "Hospitality & Travel", "Energy & Utilities",
		"Telecommunications", "Government & Public Sector", "Non-profit", "Legal", "Consulting",
		"Agriculture", "Automotive", "Food & Beverage",
	}, enrich.Industries)
}

func FuzzClassifyIndustry(f *testing.F) {
	for _, tt := range industryCases {
		f.Add(strings.Join(tt.texts, "\x00"))
	}
	f.Add("\xff\xfe insurance \u0130stanbul ß")
	f.Fuzz(func(t *testing.T, joined string) {
		texts := strings.Split(joined, "\x00")
		got, confidence := enrich.ClassifyIndustry(texts...)
		if confidence < 0 || confidence > 1 {
			t.Fatalf("confidence %v out of [0,1]", confidence)
		}
		if (got == "") != (confidence == 0) {
			t.Fatalf("ClassifyIndustry = %q, %v: an industry comes with a confidence, none with 0", got, confidence)
		}
		if got != "" && !contains(enrich.Industries, got) {
			t.Fatalf("ClassifyIndustry = %q: not one of Industries", got)
		}
		if g2, c2 := enrich.ClassifyIndustry(texts...); g2 != got || c2 != confidence {
			t.Fatalf("not deterministic: %q %v then %q %v", got, confidence, g2, c2)
		}
	})
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// TestIndustriesAreDocumented keeps docs/classifiers.md's table equal to
// Industries: one row each, in order.
func TestIndustriesAreDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/classifiers.md")
	require.NoError(t, err)
	var rows []string
	for line := range strings.SplitSeq(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) == 4 && contains(enrich.Industries, strings.TrimSpace(cells[1])) {
			rows = append(rows, strings.TrimSpace(cells[1]))
		}
	}
	require.Equal(t, enrich.Industries, rows)
}
