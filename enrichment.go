package nurture

import "time"

// EnrichedField is one value lead enrichment found or derived, with its
// provenance: the URL or DNS record (or the job title as given) it came
// from, the method that read it, and when. The store keeps them as JSON;
// the names below are stable.
type EnrichedField struct {
	Field  string `json:"field"`
	Value  string `json:"value"`
	Source string `json:"source"`
	Method string `json:"method"`
	// Confidence is a classifier's (the industry's, in [0, 1]); zero for
	// a value read as written.
	Confidence float64   `json:"confidence,omitempty"`
	At         time.Time `json:"at"`
}

// EnrichmentStatus says how a contact's enrichment went.
type EnrichmentStatus string

// The statuses of an enrichment, as the store keeps them.
const (
	EnrichmentPending     EnrichmentStatus = "pending"     // requested, not done yet
	EnrichmentOK          EnrichmentStatus = "ok"          // every source answered
	EnrichmentPartial     EnrichmentStatus = "partial"     // some sources answered
	EnrichmentUnavailable EnrichmentStatus = "unavailable" // no source answered: tried again after the TTL
	EnrichmentSkipped     EnrichmentStatus = "skipped"     // nothing to research (free mail, research off...): Reason says why
)

// Enrichment is a contact's enrichment as the store keeps it: whether it
// is due, how the last one went, and the contact's derived fields
// (department, seniority) with their provenance. The company's fields are
// the company's (Company.Enriched).
type Enrichment struct {
	ContactID int64
	// Revision counts the requests: a job records its work only when no
	// request came after the one it was queued for.
	Revision    int64
	DueAt       time.Time // zero: nothing awaits
	RequestedAt time.Time
	Status      EnrichmentStatus
	Reason      string
	Domain      string // the work domain researched, if any
	Fields      []EnrichedField
	EnrichedAt  time.Time // zero: never done
}

// EnrichmentTarget is what a lead:enrich job reads of its contact.
type EnrichmentTarget struct {
	Enrichment
	Email     string
	Title     string
	CompanyID int64 // 0: none
	Erased    bool
}

// DomainResearch is the research of one domain, shared by every contact
// of that domain until it is older than the TTL.
type DomainResearch struct {
	Domain       string
	Status       EnrichmentStatus
	Reason       string
	Fields       []EnrichedField // the company's derived fields
	Sources      []SourceStatus
	ResearchedAt time.Time
}

// SourceStatus is how one source of a research went.
type SourceStatus struct {
	Source   string           `json:"source"`
	Status   EnrichmentStatus `json:"status"`
	Reason   string           `json:"reason,omitempty"`
	Findings int              `json:"findings"`
	At       time.Time        `json:"at"`
}

// EnrichmentOutcome is what one lead:enrich job records, in one
// transaction: the contact's fields, the company's (when a domain was
// researched), how it went, and when to try again (zero: never by
// itself). It applies only at Revision: a request that came meanwhile
// leaves it unrecorded and the contact due.
type EnrichmentOutcome struct {
	ContactID int64
	Revision  int64
	Status    EnrichmentStatus
	Reason    string
	Domain    string
	// ContactFields are the derived fields of the contact: department and
	// seniority fill the typed fields the person did not set themselves.
	ContactFields []EnrichedField
	// CompanyID is the company the domain's fields go to (0: none); they
	// fill its typed fields (name, industry, team_size, country) where no
	// group call set them, and all of them are kept as its Enriched.
	CompanyID     int64
	CompanyFields []EnrichedField
	At            time.Time
	RetryAt       time.Time
}
