// Package enrich researches a company from public sources: its web site
// (title, meta description, OpenGraph, JSON-LD, links to its social
// profiles), its DNS (mail provider from MX, SaaS tools from SPF includes),
// and, when an operator configures one, a paid HTTP JSON provider. Every
// value it finds carries its provenance: where it was read, how, and when.
//
// It owns the SSRF-safe fetcher every outbound request goes through: a name
// is resolved, every address checked (no loopback, private, link-local,
// CGNAT, multicast, unspecified, mapped or NAT64 forms of them, no cloud
// metadata), only then dialled, with the same checks on each redirect,
// robots.txt honoured, a per-domain rate limit, small timeouts and a read
// cap. A source that fails says so in its Result (status unavailable and a
// reason); it never panics and never fails the caller.
//
// It also holds the pure rules that turn what was found, and what a person
// told us, into fields: the industry from a site's text (ClassifyIndustry),
// the department and seniority from a job title (ClassifyTitle), the work
// domain of an address (WorkDomain: free-mail and disposable ones refused),
// the country (CountryOfAddress, CountryOfTLD) and the team size range
// (ParseTeamSize). docs/classifiers.md documents their tables.
//
// It must not store anything, enqueue anything or know about HTTP servers,
// SQL or Redis: the job that calls it (jobs/, later) decides what to keep.
// It may import only the domain (the root package) and third-party
// libraries.
package enrich
