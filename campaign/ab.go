package campaign

import (
	"fmt"
	"time"

	"github.com/nurture-email/nurture"
)

// Metric is what decides an A/B test.
type Metric string

// The metrics of an A/B test: the share of a variant's recipients who
// clicked, or opened, as people (machine opens and scanner clicks never
// count).
const (
	MetricClicks Metric = "clicks"
	MetricOpens  Metric = "opens"
)

// Variant is one version of a campaign's email: another subject, another
// template, or both (empty: the campaign's).
type Variant = nurture.CampaignVariant

// ABTest sends each variant to a part of a test share of the audience,
// waits, and sends the rest of the audience the variant that did best.
type ABTest struct {
	Variants  []Variant
	TestShare float64 // of the audience, in (0, 1]: 1 is a split test of everyone, no winner sent
	Metric    Metric
	Wait      time.Duration // from the test's sends to the decision
}

// Validate checks a test: two to four variants with distinct names, each
// changing something, a share in (0, 1], a known metric, and a wait of at
// least a minute unless everyone is in the test.
func (ab *ABTest) Validate() error {
	if n := len(ab.Variants); n < 2 || n > 4 {
		return nurture.FieldError("ab.variants", "has %d variants; want 2 to 4", n)
	}
	seen := map[string]bool{}
	for i, v := range ab.Variants {
		field := fmt.Sprintf("ab.variants[%d]", i)
		if v.Name == "" {
			return nurture.FieldError(field+".name", "is required")
		}
		if seen[v.Name] {
			return nurture.FieldError(field+".name", "%q names two variants", v.Name)
		}
		seen[v.Name] = true
		if v.Subject == "" && v.Template == "" {
			return nurture.FieldError(field, "changes nothing: give a subject, a template or both")
		}
	}
	switch {
	case !(ab.TestShare > 0 && ab.TestShare <= 1):
		return nurture.FieldError("ab.testShare", "is %v; want a share of the audience above 0 and at most 1", ab.TestShare)
	case ab.Metric != MetricClicks && ab.Metric != MetricOpens:
		return nurture.FieldError("ab.metric", "is %q; want clicks or opens", ab.Metric)
	case ab.TestShare < 1 && ab.Wait < time.Minute:
		return nurture.FieldError("ab.wait", "is %s; want at least 1m before the winner is chosen", ab.Wait)
	}
	return nil
}

// Assign tells which part of the test a contact is in: a variant (its
// index) when the contact is in the test share, else -1 (the contact gets
// the winner). It is a pure function of the campaign, the contact and the
// test, so a fan-out that resumes after a crash assigns the same way.
func (ab *ABTest) Assign(campaignID, contactID int64) int {
	x := mix(uint64(campaignID)*0x9e3779b97f4a7c15 ^ uint64(contactID))
	// The top bits choose the share, the bottom ones the variant: two
	// independent draws of one well-mixed word.
	if float64(x>>11)/float64(1<<53) >= ab.TestShare {
		return -1
	}
	return int(x % uint64(len(ab.Variants)))
}

// mix is SplitMix64's finalizer: every bit of the result depends on every
// bit of x. (A plain FNV hash is not enough here: its lowest bit is the
// parity of its input's, so the variant would follow the contact id's.)
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// VariantResult is what a variant's test sends did, as the decision
// counts it.
type VariantResult = nurture.VariantResult

// Rate is the share of a variant's recipients who did what the metric
// counts: people only.
func Rate(r VariantResult, m Metric) float64 {
	if r.Sent == 0 {
		return 0
	}
	n := r.HumanClicks
	if m == MetricOpens {
		n = r.HumanOpens
	}
	return float64(n) / float64(r.Sent)
}

// PickWinner returns the variant with the highest rate of the metric; a
// tie goes to the variant listed first (the control, by convention).
// Machine opens and scanner clicks are not in the rates.
func PickWinner(results []VariantResult, m Metric) int {
	best := 0
	for i := 1; i < len(results); i++ {
		if Rate(results[i], m) > Rate(results[best], m) {
			best = i
		}
	}
	return best
}

// ABTestOf reads a campaign's test (nil when it has none).
func ABTestOf(c *nurture.Campaign) *ABTest {
	if c.AB == nil {
		return nil
	}
	return &ABTest{Variants: c.AB.Variants, TestShare: c.AB.TestShare, Metric: Metric(c.AB.Metric), Wait: c.AB.Wait}
}

// Spec is the test as a campaign keeps it.
func (ab *ABTest) Spec() *nurture.CampaignAB {
	return &nurture.CampaignAB{Variants: ab.Variants, TestShare: ab.TestShare, Metric: string(ab.Metric), Wait: ab.Wait}
}

// Splits reports whether the test keeps a rest of the audience for the
// winner (a share below 1).
func (ab *ABTest) Splits() bool { return ab != nil && ab.TestShare < 1 }

// DecideAt is when the winner is chosen: the wait after the campaign
// starts (for a local-time campaign, after its first zone's time).
func (ab *ABTest) DecideAt(s Schedule) time.Time { return s.Start().Add(ab.Wait) }
