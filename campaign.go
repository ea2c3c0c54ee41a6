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

	Audience      int64 // contacts frozen so far
	FrozenThrough int64 // the freeze's checkpoint: the last contact id done
	Frozen        bool

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

// AudienceMember is a contact of a campaign's frozen audience: when its
// email is due and its time-zone bucket.
type AudienceMember struct {
	ContactID int64
	DueAt     time.Time
	Bucket    time.Time
}

// CampaignStats are a campaign's figures as they stand.
type CampaignStats struct {
	Audience   int64            // contacts frozen
	Dispatched int64            // with their message
	Dropped    int64            // not sent: the campaign ended or was cancelled first
	ByStatus   map[string]int64 // messages by status (queued, sending, sent, skipped, bounced...)
	Skipped    map[string]int64 // skipped messages by reason
	// People's opens and clicks (unique contacts), and the others'.
	HumanOpens   int64
	MachineOpens int64
	HumanClicks  int64
	ScanClicks   int64
	Buckets      []BucketStats
}

// BucketStats are the figures of one time-zone bucket.
type BucketStats struct {
	Bucket     time.Time
	Audience   int64
	Dispatched int64
	Sent       int64
}
