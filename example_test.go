package nurture_test

import (
	"fmt"
	"strings"

	"github.com/nurture-email/nurture"
)

// A recipient link carries a signed token: the capability to do one thing
// for one message and contact. Rotating the secret keeps old links working
// while the previous secret is still given.
func ExampleSigner() {
	old, _ := nurture.NewSigner(strings.Repeat("a", 32))
	token := old.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: 42, ContactID: 7, URL: "https://acme.example/docs"})

	rotated, _ := nurture.NewSigner(strings.Repeat("b", 32), strings.Repeat("a", 32))
	t, err := rotated.Verify(token)
	fmt.Println(t.MessageID, t.ContactID, t.URL, err)

	_, err = rotated.Verify(token[:len(token)-1] + "x")
	fmt.Println(err)
	// Output:
	// 42 7 https://acme.example/docs <nil>
	// not found
}

// Traits as a product sends them become a typed profile; what Nurture does
// not know is kept as attributes, and a card number never survives.
func ExampleContactFromTraits() {
	c, err := nurture.ContactFromTraits(map[string]any{
		"email": "Ada@Example.COM", "firstName": "Ada", "company": map[string]any{"name": "Acme"},
		"team_size": "11-50", "plan": "trial",
	})
	fmt.Println(c.Email, c.FirstName, c.Company, c.TeamSize, c.Attributes["plan"], err)

	_, err = nurture.ContactFromTraits(map[string]any{"timezone": "Mars/Olympus"})
	fmt.Println(err)

	masked, _ := nurture.ScrubCards(map[string]any{"card": "4242 4242 4242 4242"})
	fmt.Println(masked)
	// Output:
	// Ada@example.com Ada Acme 11-50 trial <nil>
	// traits.timezone: "Mars/Olympus" is not an IANA time zone such as Europe/Paris
	// map[card:**** 4242]
}
