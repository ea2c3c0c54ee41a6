package nurture

import (
	"strconv"
	"time"
)

// Campaign is a one-off email to a segment, as the store keeps it (package
// campaign holds its decisions). Its audience is Filter, copied from the
// saved segment named (SegmentID) or given as is; its emails are due at
// SendAt, or at LocalDate's LocalMinute in each contact's own time zone
// (FallbackZone for those whose profile says none).
type Campaign struct {
	ID        int64
	Name      string
	Template  string
	Topic     Topic // the template's
	Subject   string
	SegmentID int64
	Filter    any
	Condition Condition
	Status    string

	SendAt       time.Time
	LocalDate    time.Time // a date (its time of day is midnight, UTC); zero for a moment
	LocalMinute  int       // minutes after midnight
	FallbackZone string
	StartsAt     time.Time // when the audience freezes: SendAt, or the local time where it comes first

	ThrottlePerMinute int
	EndsAt            time.Time
	// SendWindow is the campaign's quiet hours, as ParseSendWindow reads
	// it ("weekdays 09:00-20:00"; "any" or "": every moment), in each
	// contact's local time.
	SendWindow string

	// AB is the campaign's A/B test, nil when it has none; Winner the
	// index of the variant the rest of the audience gets (-1 until
	// decided), decided at DecidedAt on the counts of Decision.
	AB        *CampaignAB
	Winner    int
	DecidedAt time.Time
	Decision  []VariantResult

	Audience int64 // contacts frozen so far (in every lane)
	Frozen   bool  // the whole audience is frozen

	StartedAt  time.Time
	FinishedAt time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// CampaignDedupeKey is the key of a campaign's email to a contact: one
// per contact, however often the fan-out runs.
func CampaignDedupeKey(campaignID, contactID int64) string {
	return "camp:" + strconv.FormatInt(campaignID, 10) + ":" + strconv.FormatInt(contactID, 10)
}

// CampaignLane is one lane of a campaign's freeze: lane Lane of n takes
// the contacts whose id is Lane modulo n, page by page, each page after
// its checkpoint Through (the last contact id it looked at). Lanes freeze
// at once, each in its own transactions.
type CampaignLane struct {
	Lane     int
	Through  int64
	Frozen   bool
	Audience int64
}

// AudienceMember is a contact of a campaign's frozen audience: when its
// email is due, its time-zone bucket, and its part of an A/B test (a
// variant's index, or -1: the rest, or no test).
type AudienceMember struct {
	ContactID int64
	DueAt     time.Time
	Bucket    time.Time
	Variant   int
}

// CampaignAB is a campaign's A/B test as the store keeps it (package
// campaign decides with it).
type CampaignAB struct {
	Variants  []CampaignVariant `json:"variants"`
	TestShare float64           `json:"testShare"`
	Metric    string            `json:"metric"`
	Wait      time.Duration     `json:"wait"`
}

// CampaignVariant is one version of a campaign's email; an empty field is
// the campaign's.
type CampaignVariant struct {
	Name     string `json:"name"`
	Subject  string `json:"subject,omitempty"`
	Template string `json:"template,omitempty"`
}

// VariantResult is what one variant's emails did, as an A/B decision
// counts them: people's opens and clicks (unique contacts), with the
// machines' and scanners' shown beside them and never counted.
type VariantResult struct {
	Variant      int   `json:"variant"`
	Audience     int64 `json:"audience"`
	Sent         int64 `json:"sent"`
	HumanOpens   int64 `json:"humanOpens"`
	HumanClicks  int64 `json:"humanClicks"`
	MachineOpens int64 `json:"machineOpens"`
	ScanClicks   int64 `json:"scannerClicks"`
}

// CampaignStats are a campaign's figures as they stand.
type CampaignStats struct {
	Audience   int64            // contacts frozen
	Dispatched int64            // with their message
	Dropped    int64            // not sent: the campaign ended or was cancelled first
	ByStatus   map[string]int64 // messages by status (queued, sending, sent, skipped, bounced...)
	Skipped    map[string]int64 // skipped messages by reason
	Bounced    map[string]int64 // bounced messages: hard, soft, complaint
	// People's opens and clicks (unique contacts), and the others'.
	HumanOpens   int64
	MachineOpens int64
	HumanClicks  int64
	ScanClicks   int64
	// Links are the people's clicks per link (unique contacts), the most
	// clicked first.
	Links []LinkStats
	// Unsubscribed counts the recipients who opted out of the campaign's
	// topic after its email was sent to them.
	Unsubscribed int64
	Buckets      []BucketStats
	// CountedAt is when the figures were counted, when they were kept
	// for later (a big campaign's, for the console); zero when counted
	// just now.
	CountedAt time.Time
}

// LinkStats is one link's clicks.
type LinkStats struct {
	URL         string
	HumanClicks int64
}

// BucketStats are the figures of one time-zone bucket.
type BucketStats struct {
	Bucket     time.Time
	Audience   int64
	Dispatched int64
	Sent       int64
}
