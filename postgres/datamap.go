package postgres

// The map of personal data: for every table of the schema, how its rows
// belong to a contact, or why it holds none. Export (export.go) and
// erasure (erase.go) both read it, and TestDataMapCoversEveryTable fails
// when a table of the catalog is missing from it, so that a new table
// cannot be added without saying how it is exported and erased. A
// partitioned table (events, email_events: partition.go) is one entry:
// its statements reach every partition.
//
// The predicates of the rows take two arguments: $1 the contact's id, $2
// the SHA-256 (nurture.EmailHash) of every address the contact has had
// (the tables keyed by an address's hash: suppressions and bounces).

// personalTable is a table that holds rows of a contact.
type personalTable struct {
	name string
	// rows is the SQL condition that picks the contact's rows.
	rows string
	// section is the key of the export document that lists them.
	section string
	// order sorts them in the export.
	order string
	// internal are bookkeeping columns left out of the export (claims,
	// leases, queue marks): they say nothing about the person.
	internal []string
}

// contactMessages and contactEnrollments are the ids of the contact's
// messages and enrollments, for the tables that reach the contact through
// them (no foreign keys there, by design: see migrations 00007 and 00014).
const (
	contactMessages    = `(SELECT id FROM messages WHERE contact_id = $1)`
	contactEnrollments = `(SELECT id FROM enrollments WHERE contact_id = $1)`
)

// personalTables lists the tables with a contact's rows, in the order
// erasure deletes them: the tables found through messages and enrollments
// before those, the contact's row last.
var personalTables = []personalTable{
	{name: "message_status_history", rows: `message_id IN ` + contactMessages, section: "messageStatuses", order: "id"},
	{name: "email_events", rows: `contact_id = $1`, section: "hits", order: "id"},
	{name: "message_reasons", rows: `message_id IN ` + contactMessages, section: "messageReasons", order: "message_id"},
	{name: "campaign_audience", rows: `contact_id = $1`, section: "campaigns", order: "campaign_id"},
	{name: "enrollment_history", rows: `enrollment_id IN ` + contactEnrollments, section: "enrollmentHistory", order: "id"},
	{name: "enrollment_wakes", rows: `contact_id = $1 OR enrollment_id IN ` + contactEnrollments, section: "enrollmentWakes", order: "enrollment_id, key"},
	{name: "sequence_signals", rows: `contact_id = $1`, section: "sequenceSignals", order: "id", internal: []string{"locked_until"}},
	{name: "enrollments", rows: `contact_id = $1`, section: "enrollments", order: "id", internal: []string{"enqueued_revision", "enqueued_at"}},
	{name: "messages", rows: `contact_id = $1`, section: "messages", order: "id",
		internal: []string{"claim_id", "locked_until", "cancel_requested", "enqueued_at", "queue", "pending", "lapse_seen_at"}},
	// An anonymous visitor's events are given to the contact when the id
	// is linked; one still unlinked (a race with the link) is theirs too.
	{name: "events", rows: `contact_id = $1 OR (contact_id IS NULL AND anonymous_id IN (SELECT anonymous_id FROM anonymous_ids WHERE contact_id = $1))`,
		section: "events", order: "occurred_at, id"},
	{name: "anonymous_ids", rows: `contact_id = $1`, section: "anonymousIds", order: "linked_at, anonymous_id"},
	{name: "contact_email_changes", rows: `contact_id = $1`, section: "emailChanges", order: "id"},
	{name: "engagement", rows: `contact_id = $1`, section: "engagement", order: "contact_id"},
	{name: "engagement_actions", rows: `contact_id = $1`, section: "engagementActions", order: "action"},
	{name: "topic_optouts", rows: `contact_id = $1`, section: "optOuts", order: "topic"},
	{name: "topic_optins", rows: `contact_id = $1`, section: "optIns", order: "topic"},
	{name: "consent_records", rows: `contact_id = $1`, section: "consentRecords", order: "at, id"},
	{name: "contact_enrichment", rows: `contact_id = $1`, section: "enrichment", order: "contact_id", internal: []string{"queued_at"}},
	{name: "export_requests", rows: `contact_id = $1`, section: "exportRequests", order: "contact_id"},
	{name: "suppressions", rows: `email_hash = ANY($2)`, section: "suppressions", order: "created_at", internal: []string{"email_hash"}},
	{name: "bounces", rows: `email_hash = ANY($2)`, section: "bounces", order: "at, id", internal: []string{"email_hash", "event_key"}},
	{name: "soft_bounces", rows: `email_hash = ANY($2)`, section: "softBounces", order: "last_at", internal: []string{"email_hash"}},
	{name: "contacts", rows: `id = $1`, section: "contact", order: "id"},
}

// impersonalTables are the tables that hold no row of a person, with the
// reason.
var impersonalTables = map[string]string{
	"api_keys":          "the operator's keys: a name, a hash and scopes",
	"installation":      "the installation's own key and counters",
	"sequence_versions": "the text of sequence files",
	"segments":          "saved conditions, written by the operator",
	"campaigns":         "the operator's campaigns; who is in one is campaign_audience",
	"campaign_lanes":    "a campaign's fan-out progress: checkpoints and counts by contact id modulo n, no one's data",
	"campaign_figures":  "a campaign's statistics as last counted for the console: counts, no one's data",
	"companies":         "accounts, shared by their people (a contact links to one by companies.id); not a person's",
	"domain_research":   "what public sources say about a domain, shared by everyone of that domain",
	"erased_addresses":  "only an HMAC of each erased address, under a key the database never holds",
	"erasure_audit":     "what erasure did, when and at whose request: numbers, no personal data",
	"goose_db_version":  "the migrations applied",
	"goose_lock":        "the lock of a migration run through pgbouncer (NURTURE_DATABASE_POOLER)",
	"console_sessions":  "the console's sign-ins: a token's hash and the operator's key",
	"admin_audit":       "what operators did in the console, by key name; targets are ids or hashes, never an address",
	"activity_hours":    "the console overview's counts per hour: numbers, no one's data",
	"job_leases":        "which process runs each periodic job, and how often it ran",
	"region_rehomes":    "how far the catch-up pass of each declaration of the regions got: numbers, no one's data",
	"event_keys":        "the messageIds of the calls received, for idempotence (ids an SDK drew at random), with when: no contact, no content",
}
