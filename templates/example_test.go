package templates_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/templates"
)

// The worker renders the welcome email for a new sign-up: the subject and
// the greeting fall back gracefully when the first name is unknown.
func ExampleSet_Render() {
	set, err := templates.Default()
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range []nurture.Contact{
		{Email: "ada@example.com", FirstName: "Ada", Company: "Analytical Engines"},
		{Email: "someone@example.com"},
	} {
		r, err := set.Render("welcome", templates.Data{
			Contact: c,
			Product: nurture.Product{Name: "Acme Cloud", URL: "https://app.acme.test/"},
		})
		if err != nil {
			log.Fatal(err)
		}
		greeting, _, _ := strings.Cut(strings.SplitN(r.Text, "\n\n", 3)[1], "\n")
		fmt.Printf("%s | %s | %s\n", r.Topic, r.Subject, greeting)
	}
	// Output:
	// onboarding | Welcome to Acme Cloud, Ada | Hi Ada,
	// onboarding | Welcome to Acme Cloud | Hi there,
}

func ExampleHTMLToText() {
	text, err := templates.HTMLToText(`<h1>Hi Ada,</h1>
<p>Your trial ends <b>Friday</b>. <a href="https://app.acme.test/billing">Choose a plan</a></p>
<ul><li>Keep your projects</li><li>Invite your team</li></ul>`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(text)
	// Output:
	// Hi Ada,
	//
	// Your trial ends Friday. Choose a plan (https://app.acme.test/billing)
	//
	// - Keep your projects
	// - Invite your team
}

// The sender tracks an email by handing Render a Tracking: the renderer asks
// for a tracked URL for each link it may track, in document order, and adds
// the open pixel. The recipient's own links are never tracked.
func ExampleTracking() {
	set, err := templates.Default()
	if err != nil {
		log.Fatal(err)
	}
	r, err := set.Render("welcome", templates.Data{
		Contact: nurture.Contact{Email: "ada@example.com", FirstName: "Ada"},
		Product: nurture.Product{Name: "Acme Cloud", URL: "https://app.acme.test/"},
		Links:   templates.Links{Unsubscribe: "https://links.acme.test/u/TOKEN"},
		Track: &templates.Tracking{
			Click: func(index int, target string) string {
				fmt.Println("track", index, target)
				return fmt.Sprintf("https://links.acme.test/c/TOKEN%d", index) // signed by the caller
			},
			OpenPixel: "https://links.acme.test/o/TOKEN",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for line := range strings.SplitSeq(r.Text, "\n") {
		if strings.Contains(line, "https://") {
			fmt.Println(line)
		}
	}
	fmt.Println(strings.Count(r.HTML, `<img src="https://links.acme.test/o/TOKEN" width="1" height="1" alt=""`), "pixel")
	// Output:
	// track 0 https://app.acme.test/
	// Get started (https://links.acme.test/c/TOKEN0)
	// Unsubscribe (https://links.acme.test/u/TOKEN)
	// 1 pixel
}
