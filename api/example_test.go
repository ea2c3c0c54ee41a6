package api_test

import (
	"fmt"

	"github.com/nurture-email/nurture/api"
)

// Traits as a product sends them with Segment's identify call become a
// typed profile; what Nurture does not know is kept as attributes.
func ExampleContactFromTraits() {
	c, err := api.ContactFromTraits(map[string]any{
		"email": "Ada@Example.COM", "firstName": "Ada", "company": map[string]any{"name": "Acme"},
		"team_size": "11-50", "plan": "trial",
	})
	fmt.Println(c.Email, c.FirstName, c.Company, c.TeamSize, c.Attributes["plan"], err)

	_, err = api.ContactFromTraits(map[string]any{"timezone": "Mars/Olympus"})
	fmt.Println(err)
	// Output:
	// Ada@example.com Ada Acme 11-50 trial <nil>
	// traits.timezone: "Mars/Olympus" is not an IANA time zone such as Europe/Paris
}
