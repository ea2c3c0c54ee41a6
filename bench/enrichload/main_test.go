package main

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/enrich"
	"github.com/nurture-email/nurture/internal/testkit"
)

// Every generated company, researched by the real site and DNS sources
// against the bench's servers, comes out as generated: its industry (the
// classifier reads its pages as intended), team size, country, mail
// provider and SaaS tools; each site is asked robots.txt, / and its about
// page once, and DNS nothing but the companies' names.
func TestGeneratedCompaniesAreResearchedAsIntended(t *testing.T) {
	t.Parallel()
	companies := makeCompanies(maxDomains)
	site := newSites(companies)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: site, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	zone, err := startZone(companies)
	require.NoError(t, err)
	t.Cleanup(zone.close)

	resolver := enrich.NewResolver(zone.addr())
	fetcher := enrich.NewFetcher(enrich.FetchConfig{Resolver: resolver, Limiter: enrich.Unlimited{},
		AllowLoopback: netip.MustParsePrefix("127.0.0.0/8"),
		WrapDial:      enrich.LoopbackOnly(func(a string) { t.Errorf("the guard refused %s", a) })})
	siteSource := enrich.NewSite(fetcher)
	siteSource.URLFor = func(d string) string { return "http://" + d + ":" + port + "/" }
	researcher := enrich.NewResearcher(nil, siteSource, enrich.NewDNS(resolver, nil))

	profiles := make([]enrich.Profile, len(companies))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, c := range companies {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			profiles[i] = researcher.Research(t.Context(), "ada@"+c.domain, "")
		})
	}
	wg.Wait()

	industries := map[string]int{}
	for i, c := range companies {
		p := profiles[i]
		require.Equal(t, enrich.StatusOK, p.Status, "%s: %s", c.domain, p.Reason)
		values := map[enrich.Field][]string{}
		for _, f := range p.Fields {
			values[f.Field] = append(values[f.Field], f.Value)
		}
		require.Equal(t, []string{c.spec.industry}, values[enrich.FieldIndustry], c.domain)
		require.Equal(t, []string{c.name}, values[enrich.FieldName], c.domain)
		require.Equal(t, []string{enrich.ParseTeamSize(employeesText(c.employees))}, values[enrich.FieldSize], c.domain)
		require.NotEmpty(t, values[enrich.FieldSize][0], c.domain)
		require.Equal(t, []string{c.place.country}, values[enrich.FieldCountry], c.domain)
		require.Equal(t, []string{c.mail.provider}, values[enrich.FieldMailHost], c.domain)
		require.Equal(t, c.expectedTools(), values[enrich.FieldSaaS], c.domain)
		industries[c.spec.industry]++
	}
	require.Len(t, industries, len(industryNames()), "every industry of the bench is used")

	s := site.counts()
	require.Equal(t, 1, s.maxPerPath, "no path of a site fetched twice: %v", s.repeated)
	require.Empty(t, s.unexpected)
	require.Equal(t, len(companies)*len(sitePaths), s.total)
	require.Zero(t, s.unknown)
	require.Empty(t, zone.counts().foreign)
}

func industryNames() map[string]bool {
	out := map[string]bool{}
	for _, s := range industries {
		out[s.industry] = true
	}
	return out
}

// A small run through ingestion, the poller, the worker and the Enricher
// with the Redis pacer: 50 sign-ups from 5 companies are each enriched
// once, ok, and each company's site and DNS researched once.
func TestRunEnrichesEveryContactOnceAndEachDomainOnce(t *testing.T) {
	t.Parallel()
	res, err := bench(t.Context(), config{
		contacts: 50, domains: 5, concurrency: 4, batch: 20, perSecond: 1, timeout: 60 * time.Second,
		pool: testkit.DB(t), redisURL: testkit.RedisURL(t), seed: 1,
	})
	require.NoError(t, err)
	require.Empty(t, res.problems)
	require.Equal(t, 50, res.enriched)
	require.Equal(t, map[string]int{"ok": 50}, res.statuses)
	require.Equal(t, 5, res.researches)
	require.Equal(t, 5*len(sitePaths), res.sites.total)
	require.Equal(t, 1, res.sites.maxPerPath)
	require.Equal(t, 5, res.industryOK)
	require.Equal(t, 5, res.mailOK)
	require.Empty(t, res.refused)
	require.Empty(t, res.dns.foreign)
	require.Len(t, res.latency, 50)
}
