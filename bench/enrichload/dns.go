package main

import (
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// zone answers DNS for the bench's companies and nothing else: A
// 127.0.0.1 for each domain and its www. name, MX and TXT (SPF and a site
// verification) records for each domain, no AAAA. Any other name is
// NXDOMAIN and counted as foreign: research must ask about nothing else.
type zone struct {
	byDomain map[string]*company
	srv      *dns.Server

	mu        sync.Mutex
	perDomain map[string]int // queries per company domain (www. included)
	byType    map[string]int // queries per record type
	foreign   map[string]int // queries for names that are no company's
}

// startZone serves the companies' records over UDP on a free loopback
// port, and returns the server; its address is zone.addr().
func startZone(cs []*company) (*zone, error) {
	z := &zone{byDomain: map[string]*company{}, perDomain: map[string]int{}, byType: map[string]int{}, foreign: map[string]int{}}
	for _, c := range cs {
		z.byDomain[c.domain] = c
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dns server: %w", err)
	}
	z.srv = &dns.Server{PacketConn: pc, Handler: z}
	started := make(chan struct{})
	z.srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = z.srv.ActivateAndServe() }()
	<-started
	return z, nil
}

func (z *zone) addr() string { return z.srv.PacketConn.LocalAddr().String() }

func (z *zone) close() { _ = z.srv.Shutdown() }

// ServeDNS answers one query.
func (z *zone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	for _, q := range req.Question {
		name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
		apex := strings.TrimPrefix(name, "www.")
		c := z.byDomain[apex]
		z.mu.Lock()
		z.byType[dns.TypeToString[q.Qtype]]++
		if c == nil {
			z.foreign[name]++
		} else {
			z.perDomain[apex]++
		}
		z.mu.Unlock()
		if c == nil {
			m.Rcode = dns.RcodeNameError
			continue
		}
		for _, rr := range c.records(name == apex) {
			if rr.Header().Rrtype == q.Qtype {
				rr.Header().Name = q.Name
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	_ = w.WriteMsg(m)
}

// records are the company's records: for the apex, A, MX and TXT; for
// www., A only.
func (c *company) records(apex bool) []dns.RR {
	fqdn := c.domain + "."
	lines := []string{fqdn + " 300 IN A 127.0.0.1"}
	if apex {
		for _, mx := range c.mail.mx {
			if strings.Contains(mx, "%s") {
				mx = fmt.Sprintf(mx, strings.ReplaceAll(c.domain, ".", "-"))
			}
			lines = append(lines, fqdn+" 300 IN MX "+mx)
		}
		lines = append(lines, fmt.Sprintf("%s 300 IN TXT %q", fqdn, c.spf()),
			fmt.Sprintf("%s 300 IN TXT %q", fqdn, fmt.Sprintf("google-site-verification=bench%04d", c.index)))
	}
	out := make([]dns.RR, 0, len(lines))
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			panic(fmt.Sprintf("record %q: %v", l, err)) // the generator's bug
		}
		out = append(out, rr)
	}
	return out
}

// dnsCounts is what the zone was asked.
type dnsCounts struct {
	total     int
	perDomain map[string]int
	byType    map[string]int
	foreign   map[string]int
}

func (z *zone) counts() dnsCounts {
	z.mu.Lock()
	defer z.mu.Unlock()
	out := dnsCounts{perDomain: map[string]int{}, byType: map[string]int{}, foreign: map[string]int{}}
	for k, v := range z.perDomain {
		out.perDomain[k] = v
		out.total += v
	}
	for k, v := range z.byType {
		out.byType[k] = v
	}
	for k, v := range z.foreign {
		out.foreign[k] = v
		out.total += v
	}
	return out
}
