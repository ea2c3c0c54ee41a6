package nurture

import "time"

// ActivityBucket is what happened to the mail in one span of time (an
// hour or a day of the console's overview). Each figure is counted where
// it happened, so that the buckets of a period add up to its totals.
type ActivityBucket struct {
	// Start is when the span begins; it lasts until the next bucket's.
	Start time.Time
	// Sent counts the messages the relay accepted in the span (their
	// sent_at), bounced since or not.
	Sent int64
	// Delivered counts those of Sent for which no bounce has been
	// reported since: the relay took them and nothing came back. It is
	// what we know, not a receipt from the recipient's server.
	Delivered int64
	// HardBounces, SoftBounces and Complaints count what providers
	// reported in the span, by when the report reached us.
	HardBounces, SoftBounces, Complaints int64
	// Unsubscribes counts the times a person opted out of one topic or
	// more themselves (one-click or the preference page).
	Unsubscribes int64
	// HumanOpens and HumanClicks count the times a person opened an email
	// or clicked a link in one (machine opens, image prefetching and link
	// scanners left out).
	HumanOpens, HumanClicks int64
}

// Bounces is the hard and soft bounces of the bucket together.
func (b ActivityBucket) Bounces() int64 { return b.HardBounces + b.SoftBounces }

// Add adds o's figures to b's (its Start stays b's).
func (b *ActivityBucket) Add(o ActivityBucket) {
	b.Sent += o.Sent
	b.Delivered += o.Delivered
	b.HardBounces += o.HardBounces
	b.SoftBounces += o.SoftBounces
	b.Complaints += o.Complaints
	b.Unsubscribes += o.Unsubscribes
	b.HumanOpens += o.HumanOpens
	b.HumanClicks += o.HumanClicks
}
