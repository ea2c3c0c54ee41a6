package enrich_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/nurture-email/nurture/enrich"
)

// What research starts from: a sign-up's address, reduced to a domain it
// may look up, or a reason to record instead.
func ExampleQueryFromEmail() {
	for _, email := range []string{"ada@Bücher.de", "bob@localhost", "not an address"} {
		q, err := enrich.QueryFromEmail(email)
		if err != nil {
			fmt.Println("skipped:", err)
			continue
		}
		fmt.Println("research", q.Domain)
	}
	// Output:
	// research xn--bcher-kva.de
	// skipped: cannot research: "localhost" has no dot: not a public domain
	// skipped: cannot research: "not an address" is not a plain email address
}

// The address rule the fetcher applies to every address a name resolves
// to, before it dials.
func ExampleCheckAddr() {
	for _, a := range []string{"93.184.215.14", "10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "fd00:ec2::254"} {
		err := enrich.CheckAddr(netip.MustParseAddr(a), netip.Prefix{})
		fmt.Println(a, err == nil)
	}
	// Output:
	// 93.184.215.14 true
	// 10.0.0.1 false
	// 169.254.169.254 false
	// ::ffff:127.0.0.1 false
	// fd00:ec2::254 false
}

// staticSource stands for the site: what it "found" about acme-robotics.de.
type staticSource struct{}

func (staticSource) Name() string { return "site" }
func (staticSource) Research(_ context.Context, q enrich.Query) enrich.Result {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	prov := enrich.Provenance{Source: "https://" + q.Domain + "/", Method: enrich.MethodJSONLD, At: at}
	return enrich.Result{Source: "site", Domain: q.Domain, Status: enrich.StatusOK, At: at, Findings: []enrich.Finding{
		{Field: enrich.FieldName, Value: "Acme Robotics", Provenance: prov},
		{Field: enrich.FieldEmployees, Value: "120", Provenance: prov},
	}}
}

// The research of one sign-up: the work domain of the address, every
// source on it, then the fields derived from what they found and from the
// title the person gave, each with where it came from and by which rule.
func ExampleResearcher_Research() {
	r := enrich.NewResearcher(nil, staticSource{})
	p := r.Research(context.Background(), "ada@mail.acme-robotics.de", "Leiterin Vertrieb")
	fmt.Println(p.Domain, p.Status)
	for _, f := range p.Fields {
		fmt.Printf("%s=%s (%s)\n", f.Field, f.Value, f.Method)
	}
	p = r.Research(context.Background(), "ada@gmail.com", "")
	fmt.Println(p.Status, p.Reason)
	// Output:
	// acme-robotics.de ok
	// name=Acme Robotics (json-ld)
	// size=51-200 (team-size)
	// country=DE (tld)
	// department=Sales (classifier:title)
	// seniority=Director (classifier:title)
	// skipped free_mail
}
