// Package config reads Nurture's settings from NURTURE_* environment
// variables and their command-line flag twins, and validates them before
// anything starts. Every setting is declared once, in the table below, so
// help texts, the docker-compose check and the README cannot drift apart.
//
// It knows nothing of the packages that use the settings.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/redisconn"
)

// Config holds every setting. The zero value is not useful: build one with
// Load, which applies the defaults.
type Config struct {
	DatabaseURL string
	// DatabasePooler is what stands between the engine and PostgreSQL:
	// "none", or "pgbouncer" in transaction pooling mode.
	DatabasePooler string
	// DatabaseReplicaURL is a streaming replica that read-only reports
	// (segment previews, statistics, the console's counts) read from while
	// it lags at most DatabaseReplicaMaxLag; empty: everything on the
	// primary.
	DatabaseReplicaURL    string
	DatabaseReplicaMaxLag time.Duration
	RedisURL              string
	SMTPURL               string
	SMTPPool              int
	SMTPHELO              string
	PublicURL             string
	Listen                string
	// MetricsListen is where /metrics is also served without a key
	// (a private address for Prometheus); empty: nowhere.
	MetricsListen   string
	Secret          string
	From            string
	ProductName     string
	ProductURL      string
	PostalAddress   string
	Dev             bool
	LogFormat       string
	LogLevel        string
	Concurrency     int
	TrustedProxies  []string
	ShutdownTimeout time.Duration
	HealthURL       string
	SecretPrevious  string
	SecretFile      string
	SMTPRate        float64
	FrequencyCap    int
	UnsubMailto     string
	DKIMDomain      string
	DKIMSelector    string
	DKIMKeyFile     string
	TemplatesDir    string
	SequencesDir    string
	DefaultTimezone string
	// SendWindow is the send window of sequences whose files set none:
	// the days allowed (by time.Weekday; none set means every day) and the
	// minutes after midnight it opens and closes (0 and 0: any time).
	SendWindowDays  [7]bool
	SendWindowFrom  int
	SendWindowTo    int
	SoftBounceLimit int
	IngestRate      float64
	IngestBurst     int
	APIURL          string
	// APIKey is an admin key the campaigns command calls the API with.
	APIKey    string
	SESTopics []string
	// EnrichContactURL goes into the User-Agent of research requests, so
	// a site owner can reach the operator.
	EnrichContactURL string
	// Enrich switches research from public sources on; off, contacts are
	// still linked to their work domain's company and titles read.
	Enrich            bool
	EnrichTTL         time.Duration
	EnrichConcurrency int
	CampaignLanes     int
	// EnrichDNS is the DNS server research resolves with (host:port);
	// empty: the system's resolver.
	EnrichDNS string
	// The HTTP JSON provider: URL template ({domain}, {email}), the header
	// carrying the key, the key, and the mapping of answer paths to fields.
	EnrichProviderURL    string
	EnrichProviderHeader string
	EnrichProviderKey    string
	EnrichProviderFields map[string]string
	// RequireMarketingConsent sends the marketing topic only to contacts
	// who opted in to it explicitly.
	RequireMarketingConsent bool
	// EventRetention and HitRetention are how long raw events and opens
	// and clicks are kept before the retention job deletes them.
	EventRetention time.Duration
	HitRetention   time.Duration

	// ErasureKey keys the hash erasure keeps of an erased address (read
	// from ErasureKeyFile when that is set); ErasureKeyGenerated is true
	// when --dev made one up for the run.
	ErasureKey          string
	ErasureKeyFile      string
	ErasureKeyGenerated bool

	// SecretGenerated is true when --dev made up a secret because none was set.
	SecretGenerated bool

	// Regions are the declared regions (NURTURE_REGIONS), in order; empty:
	// an installation without regions. DefaultRegion is one of them (the
	// first unless NURTURE_DEFAULT_REGION says otherwise).
	Regions       []string
	DefaultRegion string
	// WorkerRegions are the regions whose queues this worker serves and
	// whose relays it builds (NURTURE_WORKER_REGIONS; default: all).
	WorkerRegions []string
	// RegionRelays are the relay and DKIM settings of each region in
	// WorkerRegions, read from NURTURE_SMTP_URL_<REGION> and its kin, each
	// falling back to the global setting where allowed.
	RegionRelays map[string]RegionRelay
}

// RegionRelay is one region's relay and DKIM key.
type RegionRelay struct {
	SMTPURL      string
	DKIMDomain   string
	DKIMSelector string
	DKIMKeyFile  string
}

// Setting is one configuration value: its flag, its environment variable,
// its default and how to store it in a Config.
type Setting struct {
	Flag    string
	Env     string
	Default string
	Usage   string
	Bool    bool // a switch: --flag alone means true
	set     func(c *Config, v string) error
}

// flagValue records a flag's text; for switches it lets --flag stand alone.
type flagValue struct {
	text   string
	isBool bool
}

func (f *flagValue) String() string     { return f.text }
func (f *flagValue) Set(v string) error { f.text = v; return nil }
func (f *flagValue) IsBoolFlag() bool   { return f.isBool }

// Settings lists every setting the binary reads, in help order.
var Settings = []Setting{
	{Flag: "database-url", Env: "NURTURE_DATABASE_URL", Default: "postgres://postgres@127.0.0.1:5432/nurture?sslmode=disable",
		Usage: "PostgreSQL connection URL", set: setDatabaseURL},
	{Flag: "database-pooler", Env: "NURTURE_DATABASE_POOLER", Default: "none",
		Usage: "what NURTURE_DATABASE_URL leads to: none (PostgreSQL, or a pooler in session mode) or pgbouncer (transaction pooling: statements unnamed, no session state, migrations locked by a row)",
		set:   oneOf("none", "pgbouncer")(func(c *Config, v string) { c.DatabasePooler = v })},
	{Flag: "database-replica-url", Env: "NURTURE_DATABASE_REPLICA_URL", Default: "",
		Usage: "a streaming replica of the database for read-only reports: segment previews and audience counts, campaign and sequence statistics, the console's overview and counts (empty: everything on the primary); they may be up to NURTURE_DATABASE_REPLICA_MAX_LAG old, and fall back to the primary when the replica lags more or cannot be reached", set: setReplicaURL},
	{Flag: "database-replica-max-lag", Env: "NURTURE_DATABASE_REPLICA_MAX_LAG", Default: "30s",
		Usage: "how far behind the primary the replica may be for reports to read from it (checked every 5 s; at least 1s)", set: setReplicaMaxLag},
	{Flag: "redis-url", Env: "NURTURE_REDIS_URL", Default: "redis://127.0.0.1:6379/0",
		Usage: "Redis for the task queues and rate limits: redis://[:pass@]host:port/db, rediss://..., or redis-sentinel://[:pass@]host1:26379,host2:26379/mastername/db (rediss-sentinel://... over TLS)", set: setRedisURL},
	{Flag: "smtp-url", Env: "NURTURE_SMTP_URL", Default: "smtp://127.0.0.1:1025",
		Usage: "SMTP relay: smtp://[user:pass@]host:port[?tls=none|opportunistic|starttls] or smtps://...", set: setSMTPURL},
	{Flag: "smtp-pool", Env: "NURTURE_SMTP_POOL", Default: "4",
		Usage: "persistent SMTP connections per worker process", set: positiveInt("smtp-pool", func(c *Config, n int) { c.SMTPPool = n })},
	{Flag: "smtp-helo", Env: "NURTURE_SMTP_HELO", Default: "",
		Usage: "name the worker gives the relay in EHLO (empty: the host name if it is fully qualified, else the domain of NURTURE_FROM)", set: setHELO},
	{Flag: "public-url", Env: "NURTURE_PUBLIC_URL", Default: "http://localhost:8080",
		Usage: "base URL of every link in an email (tracking, unsubscribe)", set: setPublicURL},
	{Flag: "listen", Env: "NURTURE_LISTEN", Default: ":8080",
		Usage: "address the HTTP API listens on", set: setListen},
	{Flag: "metrics-listen", Env: "NURTURE_METRICS_LISTEN", Default: "",
		Usage: "address, such as 127.0.0.1:9090, where the process also serves /metrics without an API key, for Prometheus on a private network (empty: only the API's /metrics, with an admin key; the worker serves none)", set: setMetricsListen},
	{Flag: "secret", Env: "NURTURE_SECRET", Default: "",
		Usage: "key that signs recipient links: a random value of at least 32 characters and 128 bits, such as `nurture secret` prints (required unless --dev or NURTURE_SECRET_FILE)", set: func(c *Config, v string) error { c.Secret = v; return nil }},
	{Flag: "secret-file", Env: "NURTURE_SECRET_FILE", Default: "",
		Usage: "file that holds the secret instead of NURTURE_SECRET (a Docker or Kubernetes secret); `nurture secret` creates it when it does not exist", set: func(c *Config, v string) error { c.SecretFile = v; return nil }},
	{Flag: "erasure-key", Env: "NURTURE_ERASURE_KEY", Default: "",
		Usage: "key of the hash erasure keeps of an erased address, so that its return is held until a new opt-in: a random value like NURTURE_SECRET, and another one (required unless --dev or NURTURE_ERASURE_KEY_FILE; never change it, or erased addresses are no longer recognised)", set: func(c *Config, v string) error { c.ErasureKey = v; return nil }},
	{Flag: "erasure-key-file", Env: "NURTURE_ERASURE_KEY_FILE", Default: "",
		Usage: "file that holds the erasure key instead of NURTURE_ERASURE_KEY (`NURTURE_SECRET_FILE=FILE nurture secret` writes one)", set: func(c *Config, v string) error { c.ErasureKeyFile = v; return nil }},
	{Flag: "secret-previous", Env: "NURTURE_SECRET_PREVIOUS", Default: "",
		Usage: "the secret before the last rotation: links signed with it keep working", set: func(c *Config, v string) error { c.SecretPrevious = v; return nil }},
	{Flag: "smtp-rate", Env: "NURTURE_SMTP_RATE", Default: "100",
		Usage: "messages per second to the relay, shared by every worker; halved for a while when the relay answers 421 or 454", set: setPositiveFloat(func(c *Config, f float64) { c.SMTPRate = f })},
	{Flag: "frequency-cap", Env: "NURTURE_FREQUENCY_CAP", Default: "3",
		Usage: "emails other than transactional ones a contact may get in 24 hours (0: no cap)", set: nonNegativeInt(func(c *Config, n int) { c.FrequencyCap = n })},
	{Flag: "unsubscribe-mailto", Env: "NURTURE_UNSUBSCRIBE_MAILTO", Default: "",
		Usage: "an inbox that processes unsubscribe requests by email, for the mailto: part of List-Unsubscribe (left out when empty)", set: func(c *Config, v string) error {
			if v == "" {
				c.UnsubMailto = ""
				return nil
			}
			a, err := mail.ParseAddress(v)
			if err != nil || a.Name != "" {
				return errors.New("want a plain address such as unsubscribe@acme.com")
			}
			c.UnsubMailto = a.Address
			return nil
		}},
	{Flag: "dkim-domain", Env: "NURTURE_DKIM_DOMAIN", Default: "",
		Usage: "domain that signs outgoing email with DKIM (d=); signing is on when this and the key file are set (one without the other is an error)", set: func(c *Config, v string) error { c.DKIMDomain = v; return nil }},
	{Flag: "dkim-selector", Env: "NURTURE_DKIM_SELECTOR", Default: "nurture",
		Usage: "DKIM selector (s=): the public key is published at <selector>._domainkey.<domain>", set: func(c *Config, v string) error { c.DKIMSelector = v; return nil }},
	{Flag: "dkim-key-file", Env: "NURTURE_DKIM_KEY_FILE", Default: "",
		Usage: "PEM file with the DKIM private key (RSA 2048 or Ed25519)", set: func(c *Config, v string) error { c.DKIMKeyFile = v; return nil }},
	{Flag: "declared-regions", Env: "NURTURE_REGIONS", Default: "",
		Usage: "comma-separated regions, lower case (eu,us,in): each has its own relay (NURTURE_SMTP_URL_<REGION>), optional DKIM key and task queues, and a contact's email leaves only through its region's relay (empty: no regions, one relay)", set: setRegions},
	{Flag: "default-region", Env: "NURTURE_DEFAULT_REGION", Default: "",
		Usage: "region of contacts whose region and country traits name no declared region; its relay may be NURTURE_SMTP_URL (empty: the first of NURTURE_REGIONS)", set: setDefaultRegion},
	{Flag: "regions", Env: "NURTURE_WORKER_REGIONS", Default: "",
		Usage: "regions whose email this worker sends: it serves only their queues and builds only their relays (empty: every region of NURTURE_REGIONS)", set: setWorkerRegions},
	{Flag: "templates-dir", Env: "NURTURE_TEMPLATES_DIR", Default: "",
		Usage: "directory of email templates that replaces the built-in ones (empty: built-in)", set: func(c *Config, v string) error { c.TemplatesDir = v; return nil }},
	{Flag: "sequences-dir", Env: "NURTURE_SEQUENCES_DIR", Default: "",
		Usage: "directory of sequence files (*.yaml) that replaces the built-in ones (empty: built-in)", set: func(c *Config, v string) error { c.SequencesDir = v; return nil }},
	{Flag: "default-timezone", Env: "NURTURE_DEFAULT_TIMEZONE", Default: "UTC",
		Usage: "time zone of contacts with neither a timezone trait nor a known country, for sequences' send windows (an IANA name such as Europe/Paris)", set: setTimezone},
	{Flag: "send-window", Env: "NURTURE_SEND_WINDOW", Default: "any",
		Usage: "send window of the sequences that set none, in the contact's time zone: any, or DAYS HH:MM-HH:MM such as weekdays 09:00-17:00 or mon,wed,fri 10:00-16:00", set: setSendWindow},
	{Flag: "soft-bounce-limit", Env: "NURTURE_SOFT_BOUNCE_LIMIT", Default: "3",
		Usage: "soft bounces after which an address is suppressed", set: positiveInt("soft-bounce-limit", func(c *Config, n int) { c.SoftBounceLimit = n })},
	{Flag: "ses-topics", Env: "NURTURE_SES_TOPICS", Default: "",
		Usage: "comma-separated ARNs of the Amazon SNS topics /v1/webhooks/ses accepts (and confirms subscriptions of); empty: it refuses every message", set: setSESTopics},
	{Flag: "from", Env: "NURTURE_FROM", Default: "Nurture <hello@nurture.localhost>",
		Usage: "From address of outgoing email", set: setFrom},
	{Flag: "product-name", Env: "NURTURE_PRODUCT_NAME", Default: "Acme Cloud",
		Usage: "name of the product the emails speak for", set: func(c *Config, v string) error { c.ProductName = v; return nil }},
	{Flag: "product-url", Env: "NURTURE_PRODUCT_URL", Default: "https://app.example.com",
		Usage: "where the emails' calls to action lead (the product's app)", set: setHTTPURL(func(c *Config, v string) { c.ProductURL = v })},
	{Flag: "postal-address", Env: "NURTURE_POSTAL_ADDRESS", Default: "Acme Inc., 1 Example Street, Springfield",
		Usage: "sender's postal address for the email footer (required by CAN-SPAM)", set: func(c *Config, v string) error { c.PostalAddress = v; return nil }},
	{Flag: "dev", Env: "NURTURE_DEV", Default: "false", Bool: true,
		Usage: "development mode: make up a secret for the run when none is set, and accept a weak one", set: setBool(func(c *Config, b bool) { c.Dev = b })},
	{Flag: "log-format", Env: "NURTURE_LOG_FORMAT", Default: "",
		Usage: "log format: json (one slog JSON object a line, for a log pipeline) or text; empty: json, or text with --dev", set: oneOf("", "text", "json")(func(c *Config, v string) { c.LogFormat = v })},
	{Flag: "log-level", Env: "NURTURE_LOG_LEVEL", Default: "info",
		Usage: "log level: debug, info, warn or error", set: oneOf("debug", "info", "warn", "error")(func(c *Config, v string) { c.LogLevel = v })},
	{Flag: "concurrency", Env: "NURTURE_CONCURRENCY", Default: "10",
		Usage: "tasks a worker process runs at once (with regions: on each region's queues, and on the plain ones)", set: positiveInt("concurrency", func(c *Config, n int) { c.Concurrency = n })},
	{Flag: "trusted-proxies", Env: "NURTURE_TRUSTED_PROXIES", Default: "",
		Usage: "comma-separated addresses or CIDRs of proxies whose X-Forwarded-For is believed (none by default)", set: setTrustedProxies},
	{Flag: "ingest-rate", Env: "NURTURE_INGEST_RATE", Default: "500",
		Usage: "requests per second each API key may make (a token bucket shared by every API process)", set: setPositiveFloat(func(c *Config, f float64) { c.IngestRate = f })},
	{Flag: "ingest-burst", Env: "NURTURE_INGEST_BURST", Default: "1000",
		Usage: "requests an API key may make at once above its rate", set: positiveInt("ingest-burst", func(c *Config, n int) { c.IngestBurst = n })},
	{Flag: "shutdown-timeout", Env: "NURTURE_SHUTDOWN_TIMEOUT", Default: "20s",
		Usage: "how long a stop waits for requests and tasks in flight", set: setDuration(func(c *Config, d time.Duration) { c.ShutdownTimeout = d })},
	{Flag: "url", Env: "NURTURE_HEALTH_URL", Default: "http://127.0.0.1:8080/healthz",
		Usage: "URL the healthcheck command probes", set: setHTTPURL(func(c *Config, v string) { c.HealthURL = v })},
	{Flag: "api-url", Env: "NURTURE_API_URL", Default: "http://127.0.0.1:8080",
		Usage: "base URL of the Nurture API the demo command reports sign-ups to", set: setHTTPURL(func(c *Config, v string) { c.APIURL = strings.TrimRight(v, "/") })},
	{Flag: "api-key", Env: "NURTURE_API_KEY", Default: "",
		Usage: "a key of scope admin that the campaigns command calls the API (NURTURE_API_URL) with", set: func(c *Config, v string) error { c.APIKey = v; return nil }},
	{Flag: "enrich-contact-url", Env: "NURTURE_ENRICH_CONTACT_URL", Default: "",
		Usage: "a page about your research bot or a way to reach you, named in the User-Agent of every research request (empty: the User-Agent names Nurture only)", set: func(c *Config, v string) error {
			if v == "" {
				c.EnrichContactURL = ""
				return nil
			}
			return setHTTPURL(func(c *Config, v string) { c.EnrichContactURL = v })(c, v)
		}},
	{Flag: "enrich", Env: "NURTURE_ENRICH", Default: "false", Bool: true,
		Usage: "research the company of each new sign-up with a work address from public sources: its web site (home and about page, robots.txt honoured), its DNS (MX, SPF) and the provider when one is set (off: nothing is fetched; contacts are still linked to their email domain's company and their job titles read). With --dev, research reaches only 127.0.0.0/8 and needs NURTURE_ENRICH_DNS",
		set:   setBool(func(c *Config, b bool) { c.Enrich = b })},
	{Flag: "enrich-ttl", Env: "NURTURE_ENRICH_TTL", Default: "30d",
		Usage: "how long a domain's research serves its sign-ups before it is done again, and how long a sign-up whose research found nothing waits to be tried again (such as 30d or 12h)", set: setTTL},
	{Flag: "campaign-lanes", Env: "NURTURE_CAMPAIGN_LANES", Default: "2",
		Usage: "lanes a campaign's audience freezes in at once when it starts (contact id modulo n, each its own transactions): about the cores PostgreSQL can give a fan-out", set: positiveInt("campaign-lanes", func(c *Config, n int) { c.CampaignLanes = n })},
	{Flag: "enrich-concurrency", Env: "NURTURE_ENRICH_CONCURRENCY", Default: "4",
		Usage: "research tasks a worker process runs at once, beside its NURTURE_CONCURRENCY email tasks (research waits on other people's sites)", set: positiveInt("enrich-concurrency", func(c *Config, n int) { c.EnrichConcurrency = n })},
	{Flag: "enrich-dns", Env: "NURTURE_ENRICH_DNS", Default: "",
		Usage: "DNS server research resolves names with, host:port (empty: the system's resolver)", set: setEnrichDNS},
	{Flag: "enrich-provider-url", Env: "NURTURE_ENRICH_PROVIDER_URL", Default: "",
		Usage: "an HTTP JSON enrichment API asked about each domain, with {domain} and {email} in the URL, such as https://api.example.com/v2/companies/find?domain={domain} (empty: no provider)",
		set: func(c *Config, v string) error {
			if v == "" {
				c.EnrichProviderURL = ""
				return nil
			}
			return setHTTPURL(func(c *Config, v string) { c.EnrichProviderURL = v })(c, v)
		}},
	{Flag: "enrich-provider-header", Env: "NURTURE_ENRICH_PROVIDER_HEADER", Default: "Authorization",
		Usage: "the header that carries the provider's key", set: func(c *Config, v string) error { c.EnrichProviderHeader = v; return nil }},
	{Flag: "enrich-provider-key", Env: "NURTURE_ENRICH_PROVIDER_KEY", Default: "",
		Usage: "the provider's key, sent as the header's whole value (such as \"Bearer sk_...\"); never logged", set: func(c *Config, v string) error { c.EnrichProviderKey = v; return nil }},
	{Flag: "enrich-provider-fields", Env: "NURTURE_ENRICH_PROVIDER_FIELDS", Default: "",
		Usage: "which paths of the provider's JSON answer fill which fields: comma-separated PATH=FIELD, such as company.name=name,company.category.industry=industry,metrics.employees=employees (fields: name, industry, size, employees, country, description, linkedin, twitter, ...)",
		set:   setProviderFields},
	{Flag: "require-marketing-consent", Env: "NURTURE_REQUIRE_MARKETING_CONSENT", Default: "false", Bool: true,
		Usage: "send marketing email only to contacts who opted in to it (POST /v1/contacts/{id}/consents, the preference page, or a confirmation email); the others' marketing messages are skipped when about to leave, with the reason",
		set:   setBool(func(c *Config, b bool) { c.RequireMarketingConsent = b })},
	{Flag: "event-retention", Env: "NURTURE_EVENT_RETENTION", Default: "395d",
		Usage: "how long raw events (identify, track, page calls) and their messageIds are kept; events are partitioned by month and a month is dropped once wholly older, so an event lives up to a month longer; the engagement summaries they added to stay (such as 395d or 12h)",
		set:   setRetention(func(c *Config, d time.Duration) { c.EventRetention = d })},
	{Flag: "hit-retention", Env: "NURTURE_HIT_RETENTION", Default: "395d",
		Usage: "how long opens and clicks are kept; they are partitioned by month and a month is dropped once wholly older (up to a month longer), each contact's last open and click kept in its engagement summary first (such as 395d or 12h)",
		set:   setRetention(func(c *Config, d time.Duration) { c.HitRetention = d })},
}

// Command is a subcommand of the binary and the settings it reads.
type Command struct {
	Name     string
	Summary  string
	Settings []string // flag names
}

var (
	common = []string{"log-format", "log-level"}
	apiSet = []string{"database-url", "database-pooler", "database-replica-url", "database-replica-max-lag", "redis-url", "public-url", "listen", "metrics-listen", "secret", "secret-file", "secret-previous", "erasure-key", "erasure-key-file", "product-name", "product-url", "postal-address", "dev", "trusted-proxies",
		"ingest-rate", "ingest-burst", "soft-bounce-limit", "ses-topics", "templates-dir", "sequences-dir",
		"default-timezone", "send-window", "frequency-cap", "shutdown-timeout", "require-marketing-consent", "declared-regions", "default-region"}
	wrkSet = []string{"database-url", "database-pooler", "redis-url", "metrics-listen", "smtp-url", "smtp-pool", "smtp-helo", "smtp-rate", "public-url", "secret", "secret-file", "secret-previous",
		"from", "product-name", "product-url", "postal-address", "frequency-cap", "unsubscribe-mailto",
		"dkim-domain", "dkim-selector", "dkim-key-file", "templates-dir", "sequences-dir", "default-timezone", "send-window",
		"dev", "concurrency", "shutdown-timeout", "enrich", "enrich-ttl", "enrich-concurrency", "enrich-dns", "enrich-contact-url",
		"enrich-provider-url", "enrich-provider-header", "enrich-provider-key", "enrich-provider-fields",
		"require-marketing-consent", "event-retention", "hit-retention", "campaign-lanes", "declared-regions", "default-region", "regions"}
)

// Commands lists the subcommands, in help order.
var Commands = []Command{
	{Name: "api", Summary: "serve the HTTP API (ingestion, admin, recipient links)", Settings: join(apiSet, common)},
	{Name: "worker", Summary: "run the task worker: delivery, and the reconciler that finds due work", Settings: join(wrkSet, common)},
	{Name: "all", Summary: "migrate, then run the API and the worker in one process", Settings: join(apiSet, wrkSet, common)},
	{Name: "migrate", Summary: "apply database migrations and exit", Settings: join([]string{"database-url", "database-pooler"}, common)},
	{Name: "healthcheck", Summary: "probe a running API's /healthz (for container health checks)", Settings: []string{"url"}},
	{Name: "apikey", Summary: "manage API keys: apikey create --name NAME --scopes ingest,admin,webhooks | apikey list | apikey revoke --id ID", Settings: join([]string{"database-url", "database-pooler"}, common)},
	{Name: "templates", Summary: "templates check: render every template for sample contacts | templates preview NAME --contact ID|--email E [--html|--text]",
		Settings: join([]string{"database-url", "database-pooler", "templates-dir", "sequences-dir", "public-url", "product-name", "product-url", "postal-address"}, common)},
	{Name: "sequences", Summary: "sequences validate [DIR]: check the sequence files (built-in, NURTURE_SEQUENCES_DIR or DIR) against the templates in use | " +
		"sequences simulate ID --contact C [--events FILE] [--until 30d] [--json]: the emails a contact would get, on a virtual clock, writing nothing",
		Settings: join([]string{"templates-dir", "sequences-dir", "database-url", "database-pooler", "default-timezone", "send-window", "frequency-cap"}, common)},
	{Name: "secret", Summary: "print a new random secret for NURTURE_SECRET; with NURTURE_SECRET_FILE, write it to that file unless the file already holds one", Settings: []string{"secret-file"}},
	{Name: "demo", Summary: "report a few sample sign-ups to a running API, so welcome emails go out", Settings: join([]string{"api-url", "database-url", "database-pooler"}, common)},
	{Name: "campaigns", Summary: "campaigns create --file F.yaml [--schedule] | list [--json] | show --id N [--json] | schedule|pause|resume|cancel --id N: manage campaigns through a running API (an admin key in NURTURE_API_KEY)",
		Settings: join([]string{"api-url", "api-key"}, common)},
	{Name: "enrich", Summary: "enrich --email E [--title T] [--json]: research the company of a work address now and print each field found with its source (a preview: nothing is stored)",
		Settings: join([]string{"enrich-contact-url", "enrich-dns", "enrich-provider-url", "enrich-provider-header", "enrich-provider-key", "enrich-provider-fields"}, common)},
	{Name: "version", Summary: "print the version and exit"},
}

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// LookupCommand returns the subcommand called name.
func LookupCommand(name string) (Command, bool) {
	for _, c := range Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// lookupSetting returns the setting with the given flag name.
func lookupSetting(flagName string) Setting {
	for _, s := range Settings {
		if s.Flag == flagName {
			return s
		}
	}
	panic("config: unknown setting " + flagName)
}

// EnvNames returns the environment variables that cmd reads, sorted.
func (cmd Command) EnvNames() []string {
	var names []string
	for _, f := range cmd.Settings {
		names = append(names, lookupSetting(f).Env)
	}
	sort.Strings(names)
	return names
}

// Load parses args (the arguments after the subcommand's name) and the
// environment for cmd's settings. Flags win over environment variables,
// which win over defaults. The error names the variable and what is wrong,
// in one line.
func Load(cmd Command, args []string, getenv func(string) string, usageOut io.Writer) (*Config, error) {
	return LoadWith(cmd, args, getenv, usageOut, nil)
}

// LoadWith is Load for a command with flags of its own beyond the settings
// (such as apikey create --name): extra declares them on the flag set.
func LoadWith(cmd Command, args []string, getenv func(string) string, usageOut io.Writer, extra func(*flag.FlagSet)) (*Config, error) {
	fs := flag.NewFlagSet("nurture "+cmd.Name, flag.ContinueOnError)
	fs.SetOutput(usageOut)
	if extra != nil {
		extra(fs)
	}
	values := make(map[string]*flagValue, len(cmd.Settings))
	for _, name := range cmd.Settings {
		s := lookupSetting(name)
		values[name] = &flagValue{isBool: s.Bool}
		fs.Var(values[name], s.Flag, s.Usage)
	}
	fs.Usage = func() { PrintUsage(usageOut, cmd) }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("nurture %s: unexpected argument %q", cmd.Name, fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	c := &Config{}
	origins := make(map[string]string, len(cmd.Settings))
	for _, name := range cmd.Settings {
		s := lookupSetting(name)
		v, origin := s.Default, "default of "+s.Env
		if ev := getenv(s.Env); ev != "" {
			v, origin = ev, s.Env
		}
		if given[name] {
			v, origin = values[name].text, "--"+s.Flag
		}
		origins[name] = origin
		if err := s.set(c, strings.TrimSpace(v)); err != nil {
			return nil, fmt.Errorf("invalid %s: %w", origin, err)
		}
	}
	if slices.Contains(cmd.Settings, "secret") {
		if err := c.checkSecret(origins); err != nil {
			return nil, err
		}
	}
	if slices.Contains(cmd.Settings, "erasure-key") {
		if err := c.checkErasureKey(origins); err != nil {
			return nil, err
		}
	}
	if slices.Contains(cmd.Settings, "dkim-domain") {
		if err := c.checkDKIM(); err != nil {
			return nil, err
		}
	}
	if slices.Contains(cmd.Settings, "enrich") {
		if err := c.checkEnrich(origins); err != nil {
			return nil, err
		}
	}
	if slices.Contains(cmd.Settings, "declared-regions") {
		if err := c.checkRegions(origins, getenv, slices.Contains(cmd.Settings, "smtp-url")); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkEnrich keeps research in development mode on this machine: with
// --dev, every request research makes goes to 127.0.0.0/8 only, and so
// must its DNS, or a sign-up such as ada@example.com would send a query
// out.
func (c *Config) checkEnrich(origins map[string]string) error {
	if !c.Dev || !c.Enrich {
		return nil
	}
	dns := strings.TrimPrefix(origins["enrich-dns"], "default of ")
	if c.EnrichDNS == "" {
		return fmt.Errorf("research in development mode (%s with %s) reaches only 127.0.0.0/8: set %s to a DNS server there that answers for your test domains",
			origins["enrich"], origins["dev"], dns)
	}
	host, _, _ := net.SplitHostPort(c.EnrichDNS)
	if ip, err := netip.ParseAddr(host); err != nil || !netip.MustParsePrefix("127.0.0.0/8").Contains(ip.Unmap()) {
		return fmt.Errorf("invalid %s %q: research in development mode (%s) reaches only 127.0.0.0/8, and so must its DNS server",
			dns, c.EnrichDNS, origins["dev"])
	}
	return nil
}

// parseDays reads a positive duration in days ("30d", at most ten years)
// or as Go writes them ("12h").
func parseDays(v string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration such as 30d or 12h", v)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 3650 {
			return 0, bad
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

// setRetention reads a retention, in days or as Go writes durations; less
// than an hour is refused as a likely mistake (it would delete what the
// sequences are about to read).
func setRetention(store func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDays(v)
		if err != nil {
			return err
		}
		if d < time.Hour {
			return fmt.Errorf("%q is shorter than an hour: events and hits would be deleted as they arrive", v)
		}
		store(c, d)
		return nil
	}
}

// setTTL reads a duration in days ("30d") or as Go writes them ("12h").
func setTTL(c *Config, v string) error {
	d, err := parseDays(v)
	if err != nil {
		return err
	}
	if d < time.Minute {
		return fmt.Errorf("%q is shorter than a minute: every sign-up would research its domain again", v)
	}
	c.EnrichTTL = d
	return nil
}

// setEnrichDNS wants host:port with a literal address (a name would need a
// resolver of its own).
func setEnrichDNS(c *Config, v string) error {
	if v == "" {
		c.EnrichDNS = ""
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		host, port = v, "53"
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("%q: want an IP address and port such as 127.0.0.1:53", v)
	}
	if err := checkPort(port); err != nil {
		return err
	}
	c.EnrichDNS = net.JoinHostPort(host, port)
	return nil
}

// setProviderFields reads PATH=FIELD pairs; the field names are checked
// by the provider when the worker starts.
func setProviderFields(c *Config, v string) error {
	c.EnrichProviderFields = nil
	if v == "" {
		return nil
	}
	m := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		path, field, ok := strings.Cut(strings.TrimSpace(pair), "=")
		path, field = strings.TrimSpace(path), strings.TrimSpace(field)
		if !ok || path == "" || field == "" {
			return fmt.Errorf("%q: want comma-separated PATH=FIELD pairs such as company.industry=industry", pair)
		}
		if _, dup := m[path]; dup {
			return fmt.Errorf("path %q is mapped twice", path)
		}
		m[path] = field
	}
	c.EnrichProviderFields = m
	return nil
}

// checkDKIM wants the DKIM domain and key file together or not at all:
// one alone is a half-made configuration, which would otherwise stop the
// worker at its first key read (a domain alone) or send unsigned mail
// without a word (a key file alone).
func (c *Config) checkDKIM() error {
	const both = "DKIM signing needs both NURTURE_DKIM_DOMAIN (--dkim-domain) and NURTURE_DKIM_KEY_FILE (--dkim-key-file)"
	switch {
	case c.DKIMDomain != "" && c.DKIMKeyFile == "":
		return errors.New(both + ": the domain is set, the key file is not")
	case c.DKIMDomain == "" && c.DKIMKeyFile != "":
		return errors.New(both + ": the key file is set, the domain is not")
	}
	return nil
}

// PrintUsage writes the help of cmd: its flags with their variables and defaults.
func PrintUsage(w io.Writer, cmd Command) {
	fmt.Fprintf(w, "Usage: nurture %s [flags]\n\n%s.\n", cmd.Name, cmd.Summary)
	if len(cmd.Settings) == 0 {
		return
	}
	fmt.Fprintf(w, "\nFlags (each can also be set by the environment variable shown):\n")
	for _, name := range cmd.Settings {
		s := lookupSetting(name)
		def := ""
		if s.Default != "" {
			def = fmt.Sprintf(" (default %q)", s.Default)
		}
		fmt.Fprintf(w, "  --%s, $%s\n      %s%s\n", s.Flag, s.Env, s.Usage, def)
	}
}

func setDatabaseURL(c *Config, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Hostname() == "" {
		return errors.New("want a URL like postgres://user@host:5432/dbname")
	}
	if err := checkPort(u.Port()); err != nil {
		return err
	}
	c.DatabaseURL = v
	return nil
}

// setReplicaURL reads the replica's URL as the primary's is read; empty
// is no replica.
func setReplicaURL(c *Config, v string) error {
	if v == "" {
		c.DatabaseReplicaURL = ""
		return nil
	}
	var probe Config
	if err := setDatabaseURL(&probe, v); err != nil {
		return err
	}
	c.DatabaseReplicaURL = v
	return nil
}

// setReplicaMaxLag reads the replica's lag bound: a second or more, since
// the lag is measured every few seconds, and at most a day.
func setReplicaMaxLag(c *Config, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return fmt.Errorf("%q is not a duration between 1s and 24h such as 30s", v)
	}
	c.DatabaseReplicaMaxLag = d
	return nil
}

func setRedisURL(c *Config, v string) error {
	if _, err := redisconn.Parse(v); err != nil {
		return err
	}
	c.RedisURL = v
	return nil
}

func setSMTPURL(c *Config, v string) error {
	if err := checkSMTPURL(v); err != nil {
		return err
	}
	c.SMTPURL = v
	return nil
}

// checkSMTPURL says what is wrong with a relay's URL, or nil.
func checkSMTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return errors.New("want a URL like smtp://user:pass@host:587?tls=starttls or smtps://host:465")
	}
	if err := checkPort(u.Port()); err != nil {
		return err
	}
	if t := u.Query().Get("tls"); t != "" && !slices.Contains([]string{"none", "opportunistic", "starttls"}, t) {
		return fmt.Errorf("tls=%q: want none, opportunistic or starttls", t)
	}
	return nil
}

// setHELO accepts a host name: labels of letters, digits and inner
// hyphens (underscores too, as some internal names have them), separated
// by dots; empty chooses one at start.
func setHELO(c *Config, v string) error {
	c.SMTPHELO = ""
	if v == "" {
		return nil
	}
	if len(v) > 253 {
		return errors.New("longer than 253 characters")
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not a host name such as mail.acme.com", v)
		}
		for _, r := range label {
			if !isLabelChar(r) {
				return fmt.Errorf("%q is not a host name such as mail.acme.com", v)
			}
		}
	}
	c.SMTPHELO = v
	return nil
}

func setPublicURL(c *Config, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want an http(s) base URL like https://links.example.com")
	}
	c.PublicURL = strings.TrimRight(v, "/")
	return nil
}

func setHTTPURL(store func(*Config, string)) func(*Config, string) error {
	return func(c *Config, v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want an http(s) URL")
		}
		store(c, v)
		return nil
	}
}

func setListen(c *Config, v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil || port == "" {
		return errors.New("want host:port or :port, such as :8080")
	}
	// Port 0 asks the system for a free port (handy in tests).
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	c.Listen = v
	return nil
}

// setMetricsListen accepts empty (off) or an address as NURTURE_LISTEN's.
func setMetricsListen(c *Config, v string) error {
	if v == "" {
		c.MetricsListen = ""
		return nil
	}
	listen := c.Listen
	if err := setListen(c, v); err != nil {
		return err
	}
	c.MetricsListen, c.Listen = v, listen
	return nil
}

// checkPort accepts an empty port (the scheme's default) or 1 to 65535.
func checkPort(port string) error {
	if port == "" {
		return nil
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

func setFrom(c *Config, v string) error {
	a, err := mail.ParseAddress(v)
	if err != nil {
		return errors.New(`want an address like "Acme <hello@acme.com>"`)
	}
	c.From = a.String()
	return nil
}

func setTrustedProxies(c *Config, v string) error {
	c.TrustedProxies = nil
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return fmt.Errorf("%q is neither an IP address nor a CIDR", p)
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	return nil
}

// snsTopicARN is an Amazon SNS topic's ARN: partition, region, 12-digit
// account and topic name (letters, digits, - and _, a .fifo suffix for
// FIFO topics).
var snsTopicARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:sns:[a-z]+(-[a-z]+)+-[0-9]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

func setSESTopics(c *Config, v string) error {
	c.SESTopics = nil
	for _, arn := range strings.Split(v, ",") {
		arn = strings.TrimSpace(arn)
		if arn == "" {
			continue
		}
		if !snsTopicARN.MatchString(arn) {
			return fmt.Errorf("%q is not an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:ses-bounces", arn)
		}
		if !slices.Contains(c.SESTopics, arn) {
			c.SESTopics = append(c.SESTopics, arn)
		}
	}
	return nil
}

func positiveInt(name string, store func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a whole number of at least 1", v)
		}
		store(c, n)
		return nil
	}
}

func setPositiveFloat(store func(*Config, float64)) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f != f || f > 1e9 {
			return fmt.Errorf("%q is not a number greater than 0", v)
		}
		store(c, f)
		return nil
	}
}

func nonNegativeInt(store func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a whole number of at least 0", v)
		}
		store(c, n)
		return nil
	}
}

func setBool(store func(*Config, bool)) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		store(c, b)
		return nil
	}
}

func setDuration(store func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration such as 20s", v)
		}
		store(c, d)
		return nil
	}
}

func oneOf(allowed ...string) func(store func(*Config, string)) func(*Config, string) error {
	return func(store func(*Config, string)) func(*Config, string) error {
		return func(c *Config, v string) error {
			if !slices.Contains(allowed, v) {
				return fmt.Errorf("%q: want one of %s", v, strings.Join(allowed, ", "))
			}
			store(c, v)
			return nil
		}
	}
}

// Environ adapts os.Getenv for Load.
func Environ(name string) string { return os.Getenv(name) }

// isLabelChar reports whether r may be in a host name's label.
func isLabelChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_'
}

func setTimezone(c *Config, v string) error {
	if _, err := time.LoadLocation(v); err != nil || v == "" || v == "Local" {
		return fmt.Errorf("%q is not a time zone name such as UTC or Europe/Paris", v)
	}
	c.DefaultTimezone = v
	return nil
}

// setSendWindow reads "any" or "DAYS HH:MM-HH:MM" (nurture.ParseSendWindow).
func setSendWindow(c *Config, v string) error {
	w, err := nurture.ParseSendWindow(v)
	if err != nil {
		return err
	}
	c.SendWindowDays, c.SendWindowFrom, c.SendWindowTo = w.Days, w.From, w.To
	return nil
}
