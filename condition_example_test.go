package nurture_test

import (
	"fmt"
	"time"

	"github.com/nurture-email/nurture"
)

// A condition is written as text (or as a YAML map), asked of one contact's
// facts, and explained: the values it looked at are what a message records
// as the reason it was sent.
func ExampleParseCondition() {
	c, err := nurture.ParseCondition(`company.size >= 20 and not did demo_booked and clicked step welcome`)
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2027, 3, 9, 12, 0, 0, 0, time.UTC)
	f := &nurture.Facts{
		Now:      now,
		Contact:  &nurture.Contact{TeamSize: "51-200"},
		Sequence: "onboarding",
		Emails: []nurture.EmailFacts{{Sequence: "onboarding", Step: "welcome", Hits: []nurture.EmailHit{
			{Kind: nurture.HitClick, Class: nurture.ClassBot, At: now.Add(-time.Hour)}, // a link scanner
		}}},
	}
	fmt.Println(f.Explain(c))

	_, err = nurture.ParseCondition(`traits.plan = "trial"`)
	fmt.Println(err)
	// Output:
	// false [company.size is 51 did demo_booked: 0 times clicked step welcome: 0 human clicks (1 by machines or scanners left out)]
	// a single = does not compare: write == (at character 13)
}
