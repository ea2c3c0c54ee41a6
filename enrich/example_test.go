package enrich_test

import (
	"fmt"
	"net/netip"

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
