package enrich

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	nurture "github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/internal/testkit"
	"github.com/nurture-email/nurture/postgres"
)

// The lead:enrich use case against the real store, a local site and a
// local DNS server, behind the loopback guard.

type enrichBundle struct {
	db       *postgres.DB
	clock    *testkit.Clock
	enricher *Enricher
	requests *atomic.Int32 // requests the site served
	cfg      EnricherConfig
}

// setupEnricher serves acme-robotics.de's pages (JSON-LD home and about
// page) on loopback, with DNS for it, and returns an Enricher over a fresh store. research
// false gives an Enricher with research off.
func setupEnricher(t *testing.T, research bool) *enrichBundle {
	t.Helper()
	var requests atomic.Int32
	srv := serveAcme(t, &requests)
	b := setupFetch(t, netip.MustParsePrefix("127.0.0.0/8"),
		"acme-robotics.de. 60 IN A 127.0.0.1",
		"acme-robotics.de. 60 IN MX 1 aspmx.l.google.com.",
	)
	clock := testkit.NewClock(testTime)
	site := NewSite(b.f)
	site.clock = clock
	p := port(srv)
	site.URLFor = func(d string) string { return "http://" + d + ":" + p + "/" }
	cfg := EnricherConfig{Store: postgres.New(testkit.DB(t)), Clock: clock}
	if research {
		cfg.Sources = []Source{site, NewDNS(b.cfg.Resolver, clock)}
	}
	return &enrichBundle{db: cfg.Store.(*postgres.DB), clock: clock, enricher: NewEnricher(cfg), requests: &requests, cfg: cfg}
}

func (b *enrichBundle) contact(t *testing.T, c nurture.Contact) *nurture.Contact {
	t.Helper()
	got, created, err := b.db.UpsertContact(t.Context(), &c)
	require.NoError(t, err)
	require.True(t, created)
	return got
}

func (b *enrichBundle) enrich(t *testing.T, id int64) *nurture.EnrichmentOutcome {
	t.Helper()
	o, err := b.enricher.Enrich(t.Context(), id)
	require.NoError(t, err)
	return o
}

func enrichedValues(fs []nurture.EnrichedField) map[string]string {
	out := map[string]string{}
	for _, f := range fs {
		if _, ok := out[f.Field]; !ok {
			out[f.Field] = f.Value
		}
	}
	return out
}

// A new contact is due at once; its research fills its company (linked by
// the work domain) and its department and seniority, each with where it
// came from; a second contact of the same company costs no request.
func TestEnrichResearchesADomainOnceForAllItsContacts(t *testing.T) {
	t.Parallel()
	b := setupEnricher(t, true)
	ctx := t.Context()
	ada := b.contact(t, nurture.Contact{Email: "ada@acme-robotics.de", Title: "Leiter Vertrieb"})
	due, err := b.db.DueEnrichments(ctx, time.Now().Add(time.Minute), time.Now(), 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "a new contact with an address awaits enrichment")
	require.Equal(t, ada.ID, due[0].ContactID)

	o := b.enrich(t, ada.ID)
	require.NotNil(t, o)
	require.Equal(t, nurture.EnrichmentOK, o.Status, o.Reason)
	require.Equal(t, "acme-robotics.de", o.Domain)
	served := b.requests.Load()
	require.Positive(t, served)

	got, err := b.db.Contact(ctx, ada.ID)
	require.NoError(t, err)
	require.Equal(t, "Sales", got.Department)
	require.Equal(t, "Director", got.Seniority)
	require.NotZero(t, got.CompanyID, "linked by the work domain")
	co, err := b.db.Company(ctx, got.CompanyID)
	require.NoError(t, err)
	require.Equal(t, "acme-robotics.de", co.Domain)
	require.Equal(t, "Acme Robotics", co.Name)
	require.Equal(t, "Manufacturing", co.Industry)
	require.Equal(t, "51-200", co.TeamSize)
	require.Equal(t, "DE", co.Country)
	require.Equal(t, "Google Workspace", enrichedValues(co.Enriched)["mail_provider"])
	for _, f := range co.Enriched {
		require.NotEmpty(t, f.Source, "every field names its source: %+v", f)
		require.NotEmpty(t, f.Method, "every field names its method: %+v", f)
		require.False(t, f.At.IsZero(), "every field is dated: %+v", f)
	}
	e, err := b.db.Enrichment(ctx, ada.ID)
	require.NoError(t, err)
	require.True(t, e.DueAt.IsZero(), "nothing awaits any more")
	require.Equal(t, map[string]string{"department": "Sales", "seniority": "Director"}, enrichedValues(e.Fields))

	bob := b.contact(t, nurture.Contact{Email: "bob@acme-robotics.de"})
	o = b.enrich(t, bob.ID)
	require.Equal(t, nurture.EnrichmentOK, o.Status)
	require.Equal(t, served, b.requests.Load(), "the domain's research is cached")
	got, err = b.db.Contact(ctx, bob.ID)
	require.NoError(t, err)
	require.Equal(t, co.ID, got.CompanyID)

	require.Nil(t, b.enrich(t, bob.ID), "a request already done is not done again")
}

// What the person or the product said is never overwritten: a group
// call's industry and a department given as a trait stay, while the
// fields they did not give are filled.
func TestEnrichNeverOverwritesWhatWasTold(t *testing.T) {
	t.Parallel()
	b := setupEnricher(t, true)
	ctx := t.Context()
	at := time.Now()
	_, err := b.db.Ingest(ctx, []nurture.Call{
		{Type: nurture.EventIdentify, MessageID: "m1", UserID: "u1", Timestamp: at, Properties: map[string]any{},
			Profile: &nurture.Contact{Email: "ada@acme-robotics.de", Title: "CTO", Department: "Robotics R&D"}},
		{Type: nurture.EventGroup, MessageID: "m2", UserID: "u1", GroupID: "acct-1", Name: "acct-1", Timestamp: at, Properties: map[string]any{},
			Company: &nurture.Company{Industry: "Robotics", Domain: "acme-robotics.de"}},
	}, func(map[string]any) (*nurture.Contact, error) { return &nurture.Contact{}, nil }, at)
	require.NoError(t, err)
	ada, err := b.db.ContactByExternalID(ctx, "u1")
	require.NoError(t, err)

	o := b.enrich(t, ada.ID)
	require.Equal(t, nurture.EnrichmentOK, o.Status, o.Reason)
	got, err := b.db.Contact(ctx, ada.ID)
	require.NoError(t, err)
	require.Equal(t, "Robotics R&D", got.Department, "told by the product")
	require.Equal(t, "C-level", got.Seniority, "derived from the title")
	co, err := b.db.Company(ctx, got.CompanyID)
	require.NoError(t, err)
	require.Equal(t, "acct-1", co.GroupID)
	require.Equal(t, "Robotics", co.Industry, "told by the group call")
	require.Equal(t, "Manufacturing", enrichedValues(co.Enriched)["industry"], "what research found is kept beside it")
	require.Equal(t, "Acme Robotics", co.Name, "not told: filled")
}

// Addresses that name no employer are skipped with a reason and no
// request; a site that cannot be read makes the job succeed as
// unavailable, due again after the TTL.
func TestEnrichSkipsAndFailsQuietly(t *testing.T) {
	t.Parallel()
	b := setupEnricher(t, true)
	ctx := t.Context()
	carol := b.contact(t, nurture.Contact{Email: "carol@gmail.com", Title: "Product Manager"})
	o := b.enrich(t, carol.ID)
	require.Equal(t, nurture.EnrichmentSkipped, o.Status)
	require.Equal(t, RefusedFreeMail, o.Reason)
	require.Zero(t, b.requests.Load())
	got, err := b.db.Contact(ctx, carol.ID)
	require.NoError(t, err)
	require.Zero(t, got.CompanyID, "free mail names no company")
	require.Equal(t, "Product", got.Department, "the title is still read")

	eve := b.contact(t, nurture.Contact{Email: "eve@nowhere.de"})
	o = b.enrich(t, eve.ID)
	require.Equal(t, nurture.EnrichmentUnavailable, o.Status)
	require.Contains(t, o.Reason, "site: ")
	require.Equal(t, b.clock.Now().Add(DefaultTTL), o.RetryAt)
	due, err := b.db.DueEnrichments(ctx, b.clock.Now().Add(DefaultTTL-time.Hour), b.clock.Now(), 10)
	require.NoError(t, err)
	require.Empty(t, due, "not before the TTL")
	b.clock.Advance(DefaultTTL)
	due, err = b.db.DueEnrichments(ctx, b.clock.Now(), b.clock.Now(), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	o = b.enrich(t, eve.ID)
	require.Equal(t, nurture.EnrichmentUnavailable, o.Status, "researched again, not served from the cache")
}

// While another job holds a domain, a contact of it waits a few seconds
// instead of fetching the same pages; a request that came while a job
// ran (a new title) leaves the job's work unrecorded and the contact due.
func TestEnrichWaitsForTheDomainsResearchAndYieldsToNewerRequests(t *testing.T) {
	t.Parallel()
	b := setupEnricher(t, true)
	ctx := t.Context()
	ada := b.contact(t, nurture.Contact{Email: "ada@acme-robotics.de"})
	_, claimed, err := b.db.ClaimDomainResearch(ctx, "acme-robotics.de", b.clock.Now(), DefaultTTL, time.Minute)
	require.NoError(t, err)
	require.True(t, claimed)
	require.Nil(t, b.enrich(t, ada.ID))
	require.Zero(t, b.requests.Load())
	e, err := b.db.Enrichment(ctx, ada.ID)
	require.NoError(t, err)
	require.Equal(t, b.clock.Now().Add(DefaultBusyRetry), e.DueAt.UTC())

	// A source that changes the contact's title while the job runs.
	bob := b.contact(t, nurture.Contact{Email: "bob@initech.de", Title: "Engineer"})
	hook := sourceFunc(func(ctx context.Context, q Query) Result {
		_, err := b.db.Pool().Exec(ctx, `UPDATE contacts SET title = 'VP Sales' WHERE id = $1`, bob.ID)
		require.NoError(t, err)
		return Result{Source: "hook", Domain: q.Domain, Status: StatusOK, At: testTime}
	})
	cfg := b.cfg
	cfg.Sources = []Source{hook}
	require.Nil(t, mustEnrich(t, NewEnricher(cfg), bob.ID), "stale work is not recorded")
	got, err := b.db.Contact(ctx, bob.ID)
	require.NoError(t, err)
	require.Empty(t, got.Department, "nothing of the stale title was written")
	o := mustEnrich(t, NewEnricher(cfg), bob.ID)
	require.NotNil(t, o, "the newer request runs next")
	got, err = b.db.Contact(ctx, bob.ID)
	require.NoError(t, err)
	require.Equal(t, "Sales", got.Department)
	require.Equal(t, "VP", got.Seniority)
}

// With research off, nothing is fetched: the company is still linked by
// the work domain and the title read, and the reason says research is off.
func TestEnrichWithResearchOff(t *testing.T) {
	t.Parallel()
	b := setupEnricher(t, false)
	ctx := t.Context()
	ada := b.contact(t, nurture.Contact{Email: "ada@acme-robotics.de", Title: "Head of Growth"})
	o := b.enrich(t, ada.ID)
	require.Equal(t, nurture.EnrichmentSkipped, o.Status)
	require.Equal(t, RefusedResearchOff, o.Reason)
	require.Zero(t, b.requests.Load())
	got, err := b.db.Contact(ctx, ada.ID)
	require.NoError(t, err)
	require.NotZero(t, got.CompanyID)
	require.Equal(t, "Marketing", got.Department)
	co, err := b.db.Company(ctx, got.CompanyID)
	require.NoError(t, err)
	require.Equal(t, "acme-robotics.de", co.Domain)
	require.Empty(t, co.Enriched)
}

func mustEnrich(t *testing.T, e *Enricher, id int64) *nurture.EnrichmentOutcome {
	t.Helper()
	o, err := e.Enrich(t.Context(), id)
	require.NoError(t, err)
	return o
}

type sourceFunc func(ctx context.Context, q Query) Result

func (sourceFunc) Name() string                                   { return "hook" }
func (f sourceFunc) Research(ctx context.Context, q Query) Result { return f(ctx, q) }
