package testkit

import (
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// StartDNS runs a DNS server on 127.0.0.1 for the test, answering from
// records written in zone-file syntax ("acme.test. 60 IN A 127.0.0.2"),
// and returns its address. A name it has no record of gets NXDOMAIN; a
// known name without the asked type an empty answer. Research tests point
// their resolver at it, so that no lookup leaves the machine.
func StartDNS(t testing.TB, records ...string) string {
	t.Helper()
	byName := map[string][]dns.RR{}
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("testkit: DNS record %q: %v", r, err)
		}
		name := strings.ToLower(rr.Header().Name)
		byName[name] = append(byName[name], rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit: DNS server: %v", err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		for _, q := range req.Question {
			rrs, ok := byName[strings.ToLower(q.Name)]
			if !ok {
				m.Rcode = dns.RcodeNameError
				continue
			}
			for _, rr := range rrs {
				if rr.Header().Rrtype == q.Qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}
