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

// A card number in what a product sends never survives: it is masked to
// its last four digits before anything stores it.
func ExampleScrubCards() {
	masked, _ := nurture.ScrubCards(map[string]any{"card": "4242 4242 4242 4242"})
	fmt.Println(masked)
	// Output:
	// map[card:**** 4242]
}
