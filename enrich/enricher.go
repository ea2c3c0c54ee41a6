package enrich

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	nurture "github.com/nurture-email/nurture"
)

// RefusedResearchOff is the reason of a contact's skipped enrichment while
// research is switched off (NURTURE_ENRICH): its company was still linked
// by its work domain and its title read, since neither needs a request.
const RefusedResearchOff = "research_off"

// RefusedErased is the reason of an erased contact's closed request.
const RefusedErased = "erased"

// Defaults of an EnricherConfig.
const (
	DefaultTTL       = 30 * 24 * time.Hour
	DefaultLease     = 2 * time.Minute
	DefaultBusyRetry = 5 * time.Second
)

// Store is what an Enricher needs of the store.
type Store interface {
	// EnrichmentTarget reads a contact's enrichment request, address,
	// title and company; not found when no request exists.
	EnrichmentTarget(ctx context.Context, contactID int64) (*nurture.EnrichmentTarget, error)
	// CompanyForDomain returns the company of a work domain (creating it
	// when none has it) and links the contact to it if it has no company.
	CompanyForDomain(ctx context.Context, contactID int64, domain string) (int64, error)
	// ClaimDomainResearch returns the domain's research younger than ttl
	// (claimed false), or holds the domain for lease (claimed true), or
	// says that another job holds it (nil, false).
	ClaimDomainResearch(ctx context.Context, domain string, now time.Time, ttl, lease time.Duration) (*nurture.DomainResearch, bool, error)
	// SaveDomainResearch stores a research and lets its domain go.
	SaveDomainResearch(ctx context.Context, r *nurture.DomainResearch) error
	// RecordEnrichment records a job's outcome unless a newer request
	// came; it reports whether it did.
	RecordEnrichment(ctx context.Context, o *nurture.EnrichmentOutcome) (bool, error)
	// DeferEnrichment makes the request due again at a later time.
	DeferEnrichment(ctx context.Context, contactID, revision int64, at time.Time) error
}

// EnricherConfig configures an Enricher. Only Store is required.
type EnricherConfig struct {
	Store Store
	// Sources are asked, in this order of preference, about each work
	// domain. None means research is off: contacts are still linked to
	// their domain's company and their titles read, and nothing leaves
	// the machine.
	Sources []Source
	// TTL is how long a domain's research serves its contacts, and how
	// long a contact whose research found nothing waits to be tried
	// again. Default 30 days.
	TTL time.Duration
	// Lease is how long a job may hold a domain it researches (a job that
	// dies lets it go when the lease ends). Default 2 minutes.
	Lease time.Duration
	// BusyRetry is how soon a contact whose domain another job is
	// researching is tried again. Default 5 s.
	BusyRetry time.Duration
	Clock     nurture.Clock // default: the wall clock
	Logger    *slog.Logger  // default: slog.Default()
}

// Enricher is the lead:enrich use case: for one contact, link its company
// by work domain, research the domain once per TTL whoever asks, derive
// the company's and the contact's fields with their provenance, and record
// them without overwriting what the person or the product said.
type Enricher struct {
	cfg EnricherConfig
}

// NewEnricher returns an Enricher with cfg's zero values defaulted.
func NewEnricher(cfg EnricherConfig) *Enricher {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.BusyRetry <= 0 {
		cfg.BusyRetry = DefaultBusyRetry
	}
	if cfg.Clock == nil {
		cfg.Clock = nurture.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Enricher{cfg: cfg}
}

// ResearchOn reports whether the Enricher asks any source.
func (e *Enricher) ResearchOn() bool { return len(e.cfg.Sources) > 0 }

// Enrich runs the enrichment a contact awaits, and returns what it
// recorded: nil when there was nothing to do (no request due, the contact
// gone, a newer request came while it ran) or when the contact's
// domain is being researched by another job (the contact is due again
// after BusyRetry). A source that fails is no error: the outcome says
// unavailable and why, and the contact is tried again after the TTL. An
// error means the store could not be read or written; trying again is
// safe.
func (e *Enricher) Enrich(ctx context.Context, contactID int64) (*nurture.EnrichmentOutcome, error) {
	st := e.cfg.Store
	t, err := st.EnrichmentTarget(ctx, contactID)
	if nurture.ErrorCodeOf(err) == nurture.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if t.DueAt.IsZero() {
		return nil, nil
	}
	now := e.cfg.Clock.Now()
	if t.Erased {
		return e.record(ctx, &nurture.EnrichmentOutcome{ContactID: t.ContactID, Revision: t.Revision, At: now,
			Status: nurture.EnrichmentSkipped, Reason: RefusedErased})
	}
	o := &nurture.EnrichmentOutcome{ContactID: t.ContactID, Revision: t.Revision, At: now,
		ContactFields: enrichedFields(DeriveTitle(t.Title, now))}
	domain, refused := WorkDomain(t.Email)
	if refused != "" {
		o.Status, o.Reason = nurture.EnrichmentSkipped, refused
		return e.record(ctx, o)
	}
	o.Domain = domain
	if o.CompanyID, err = st.CompanyForDomain(ctx, t.ContactID, domain); err != nil {
		return nil, err
	}
	if !e.ResearchOn() {
		o.Status, o.Reason = nurture.EnrichmentSkipped, RefusedResearchOff
		return e.record(ctx, o)
	}
	research, err := e.research(ctx, domain, t.Email, now)
	if err != nil {
		return nil, err
	}
	if research == nil {
		// Another job is researching the domain: its result will serve.
		return nil, st.DeferEnrichment(ctx, t.ContactID, t.Revision, now.Add(e.cfg.BusyRetry))
	}
	o.Status, o.Reason = research.Status, research.Reason
	o.CompanyFields = research.Fields
	if o.CompanyFields == nil {
		o.CompanyFields = []nurture.EnrichedField{}
	}
	if research.Status == nurture.EnrichmentUnavailable || research.Status == nurture.EnrichmentPartial {
		o.RetryAt = research.ResearchedAt.Add(e.cfg.TTL)
	}
	return e.record(ctx, o)
}

func (e *Enricher) record(ctx context.Context, o *nurture.EnrichmentOutcome) (*nurture.EnrichmentOutcome, error) {
	ok, err := e.cfg.Store.RecordEnrichment(ctx, o)
	if err != nil || !ok {
		return nil, err
	}
	return o, nil
}

// research returns the domain's research: the stored one while younger
// than the TTL, else a new one when this job may hold the domain, else
// nil (another job holds it).
func (e *Enricher) research(ctx context.Context, domain, email string, now time.Time) (*nurture.DomainResearch, error) {
	st := e.cfg.Store
	cached, claimed, err := st.ClaimDomainResearch(ctx, domain, now, e.cfg.TTL, e.cfg.Lease)
	if err != nil || !claimed {
		return cached, err
	}
	// The lease bounds the research too, so that the domain is never
	// held by a job that is past its lease.
	rctx, cancel := context.WithTimeout(ctx, e.cfg.Lease)
	defer cancel()
	q := Query{Domain: domain}
	if full, err := QueryFromEmail(email); err == nil {
		q.Email = full.Email
	}
	results := ResearchAll(rctx, q, e.cfg.Sources...)
	if ctx.Err() != nil {
		// Stopping: what the sources said may be the stop, not the
		// site. The lease lets the domain go; the task is retried.
		return nil, fmt.Errorf("research %s: %w", domain, ctx.Err())
	}
	status, reason, reports := Summarise(results)
	r := &nurture.DomainResearch{
		Domain:       domain,
		Status:       nurture.EnrichmentStatus(status),
		Reason:       reason,
		Fields:       enrichedFields(DeriveCompany(domain, results, now)),
		ResearchedAt: now,
	}
	for _, s := range reports {
		r.Sources = append(r.Sources, nurture.SourceStatus{Source: s.Source, Status: nurture.EnrichmentStatus(s.Status),
			Reason: s.Reason, Findings: s.Findings, At: s.At})
	}
	if err := st.SaveDomainResearch(ctx, r); err != nil {
		return nil, err
	}
	e.cfg.Logger.Info("researched a domain", "domain", domain, "status", status, "fields", len(r.Fields), "reason", reason)
	return r, nil
}

// enrichedFields turns findings into the domain's enriched fields.
func enrichedFields(fs []Finding) []nurture.EnrichedField {
	out := make([]nurture.EnrichedField, 0, len(fs))
	for _, f := range fs {
		out = append(out, nurture.EnrichedField{Field: string(f.Field), Value: f.Value, Source: f.Source,
			Method: f.Method, Confidence: f.Confidence, At: f.At})
	}
	return out
}
