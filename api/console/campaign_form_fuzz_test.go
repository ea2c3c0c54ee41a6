package console

import (
	"errors"
	"testing"
	"time"

	"github.com/nurture-email/nurture"
)

// The schedule fields come from a form as typed: whatever they hold, they
// are read without a panic, and a refusal is a domain error filed under
// one of the schedule's fields; an accepted schedule is a moment or a
// local time, never both, and starts no later than it ends.
func FuzzCampaignSchedule(f *testing.F) {
	f.Add("local", "", "2026-03-05", "09:00", "Europe/Paris")
	f.Add("moment", "2026-03-05T09:00", "", "", "")
	f.Add("local", "", "2026-02-30", "25:61", "../../etc/passwd")
	f.Add("moment", "2026-13-05T09:00", "", "", "Local")
	f.Add("", "", "", "", "")
	f.Add("local", "", "9999-12-31", "23:59", "Pacific/Kiritimati")
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	fields := map[string]bool{"when": true, "sendAt": true, "localDate": true, "localTime": true, "fallbackZone": true}
	f.Fuzz(func(t *testing.T, when, sendAt, date, clock, zone string) {
		c := &nurture.Campaign{FallbackZone: "UTC"}
		form := campaignForm{When: when, SendAt: sendAt, LocalDate: date, LocalTime: clock, FallbackZone: zone}
		err := applyCampaignSchedule(form, c)
		if err == nil {
			err = checkCampaignSchedule(c, now)
			if c.SendAt.IsZero() == c.LocalDate.IsZero() {
				t.Fatalf("%+v: a moment and a local time, or neither: %+v", form, c)
			}
		}
		if err == nil {
			return
		}
		var de *nurture.Error
		if !errors.As(err, &de) || !fields[de.Field] {
			t.Fatalf("%+v: %v is not about a schedule field", form, err)
		}
		errs := fieldErrors{}
		errs.add(err)
		if _, ok := errs[de.Field]; !ok {
			t.Fatalf("%+v: %v is not shown beside its field: %v", form, err, errs)
		}
	})
}

// A condition is typed by hand: a refusal of any text shows beside the
// condition field.
func FuzzCampaignCondition(f *testing.F) {
	for _, s := range []string{`traits.plan == "pro"`, `traits.plan = "pro"`, `clicked step day3`, `(`, `not not`, `subscribed to`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if _, err := nurture.ParseSegmentFilter(text); err != nil {
			errs := fieldErrors{}
			errs.add(err)
			if len(errs) != 1 || errs["condition"] == "" {
				t.Fatalf("%q: %v is shown as %v, not beside the condition", text, err, errs)
			}
		}
	})
}
