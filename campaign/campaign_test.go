package campaign_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/campaign"
)

func TestTransition(t *testing.T) {
	t.Parallel()
	statuses := []campaign.Status{campaign.Draft, campaign.Scheduled, campaign.Sending, campaign.Paused, campaign.Sent, campaign.Cancelled}
	actions := []campaign.Action{campaign.ActionSchedule, campaign.ActionPause, campaign.ActionResume, campaign.ActionCancel}
	allowed := map[campaign.Status]map[campaign.Action]campaign.Status{
		campaign.Draft:     {campaign.ActionSchedule: campaign.Scheduled, campaign.ActionCancel: campaign.Cancelled},
		campaign.Scheduled: {campaign.ActionPause: campaign.Paused, campaign.ActionCancel: campaign.Cancelled},
		campaign.Sending:   {campaign.ActionPause: campaign.Paused, campaign.ActionCancel: campaign.Cancelled},
		campaign.Paused:    {campaign.ActionResume: campaign.Scheduled, campaign.ActionCancel: campaign.Cancelled},
	}
	for _, from := range statuses {
		for _, a := range actions {
			to, err := campaign.Transition(from, a)
			want, ok := allowed[from][a]
			if !ok {
				require.Equal(t, nurture.CodeConflict, nurture.ErrorCodeOf(err), "%s %s", from, a)
				require.Equal(t, from, to)
				continue
			}
			require.NoError(t, err, "%s %s", from, a)
			require.Equal(t, want, to, "%s %s", from, a)
		}
	}
	require.True(t, campaign.Editable(campaign.Scheduled))
	require.False(t, campaign.Editable(campaign.Sending))
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// A 10:00 local-time campaign on 8 December reaches Tokyo, Paris and New
// York at their own 10:00; contacts without a zone get the fallback's;
// the audience freezes when 10:00 first comes on Earth.
func TestLocalTimeAcrossZones(t *testing.T) {
	t.Parallel()
	lt, err := campaign.ParseLocalTime("2026-12-08", "10:00", zone(t, "Europe/London"))
	require.NoError(t, err)
	s := campaign.Schedule{Local: lt}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.Validate(now))
	require.Equal(t, time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC), s.Start().UTC(), "10:00 at UTC+14")
	require.Equal(t, time.Date(2026, 12, 8, 22, 0, 0, 0, time.UTC), s.End().UTC(), "10:00 at UTC-12")
	for _, tc := range []struct {
		contact nurture.Contact
		want    time.Time
	}{
		{nurture.Contact{TimeZone: "Asia/Tokyo"}, time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)},
		{nurture.Contact{Country: "FR"}, time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)},
		{nurture.Contact{TimeZone: "America/New_York", Country: "FR"}, time.Date(2026, 12, 8, 15, 0, 0, 0, time.UTC)},
		{nurture.Contact{}, time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)},
		{nurture.Contact{TimeZone: "Mars/Olympus_Mons"}, time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)},
	} {
		due, bucket := s.SendAtFor(&tc.contact, nil, now)
		require.Equal(t, tc.want, due.UTC(), "%+v", tc.contact)
		require.Equal(t, tc.want, bucket)
	}
	// Started late: the zones whose 10:00 has passed get theirs at once,
	// in their own bucket still.
	late := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	due, bucket := s.SendAtFor(&nurture.Contact{TimeZone: "Asia/Tokyo"}, nil, late)
	require.Equal(t, late, due)
	require.Equal(t, time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC), bucket)
}

// 02:30 does not exist in New York on 8 March 2026: it is read as 03:30.
func TestLocalTimeInADaylightSavingGap(t *testing.T) {
	t.Parallel()
	lt, err := campaign.ParseLocalTime("2026-03-08", "02:30", nil)
	require.NoError(t, err)
	got := lt.In(zone(t, "America/New_York"))
	require.Equal(t, time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), got.UTC())
	require.Equal(t, 3, got.Hour())
}

func TestScheduleValidate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	local := func(date, clock string) campaign.Schedule {
		lt, err := campaign.ParseLocalTime(date, clock, nil)
		require.NoError(t, err)
		return campaign.Schedule{Local: lt}
	}
	for _, tc := range []struct {
		name  string
		s     campaign.Schedule
		field string // "" when valid
	}{
		{"a moment ahead", campaign.Schedule{At: now.Add(time.Hour)}, ""},
		{"now, give or take the request's time", campaign.Schedule{At: now.Add(-30 * time.Second)}, ""},
		{"no moment", campaign.Schedule{}, "sendAt"},
		{"a moment past", campaign.Schedule{At: now.Add(-time.Hour)}, "sendAt"},
		{"next year and more", campaign.Schedule{At: now.AddDate(1, 0, 1)}, "sendAt"},
		{"a local time still ahead somewhere", local("2026-12-06", "09:00"), ""},
		{"a local time past everywhere", local("2026-12-05", "09:00"), "localDate"},
	} {
		err := tc.s.Validate(now)
		if tc.field == "" {
			require.NoError(t, err, tc.name)
			continue
		}
		var de *nurture.Error
		require.ErrorAs(t, err, &de, tc.name)
		require.Equal(t, tc.field, de.Field, tc.name)
	}
	_, err := campaign.ParseLocalTime("8/12/2026", "10:00", nil)
	require.Equal(t, "localDate", fieldOf(t, err))
	_, err = campaign.ParseLocalTime("2026-12-08", "25:00", nil)
	require.Equal(t, "localTime", fieldOf(t, err))
}

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var de *nurture.Error
	require.ErrorAs(t, err, &de)
	return de.Field
}

// No minute of a throttled fan-out gets more than PerMinute emails, and
// no pass (one a second) more than a second's share of them.
func TestThrottleAllowance(t *testing.T) {
	t.Parallel()
	for _, perMinute := range []int{1, 7, 600, 1000} {
		th := campaign.Throttle{PerMinute: perMinute}
		var perPass []int
		for range 300 {
			var lastMinute int64
			for _, n := range perPass[max(0, len(perPass)-59):] {
				lastMinute += int64(n)
			}
			perPass = append(perPass, th.Allowance(lastMinute, 5000))
		}
		for i := range perPass {
			sum := 0
			for _, n := range perPass[i:min(i+60, len(perPass))] {
				sum += n
			}
			require.LessOrEqual(t, sum, perMinute, "%d a minute, the minute from second %d", perMinute, i)
			require.LessOrEqual(t, perPass[i], (perMinute+59)/60)
		}
		require.Positive(t, perPass[0], "the first pass sends")
	}
	require.Equal(t, 5000, campaign.Throttle{}.Allowance(1e6, 5000), "no throttle: a pass's batch")
}

func TestABTestValidate(t *testing.T) {
	t.Parallel()
	two := []campaign.Variant{{Name: "a", Subject: "Hello"}, {Name: "b", Subject: "Hi"}}
	for _, tc := range []struct {
		name  string
		ab    campaign.ABTest
		field string
	}{
		{"a subject test", campaign.ABTest{Variants: two, TestShare: 0.2, Metric: campaign.MetricClicks, Wait: 4 * time.Hour}, ""},
		{"everyone split, no wait", campaign.ABTest{Variants: two, TestShare: 1, Metric: campaign.MetricOpens}, ""},
		{"one variant", campaign.ABTest{Variants: two[:1], TestShare: 0.2, Metric: campaign.MetricClicks, Wait: time.Hour}, "ab.variants"},
		{"a variant changing nothing", campaign.ABTest{Variants: []campaign.Variant{two[0], {Name: "b"}}, TestShare: 0.2, Metric: campaign.MetricClicks, Wait: time.Hour}, "ab.variants[1]"},
		{"two names alike", campaign.ABTest{Variants: []campaign.Variant{two[0], {Name: "a", Template: "x"}}, TestShare: 0.2, Metric: campaign.MetricClicks, Wait: time.Hour}, "ab.variants[1].name"},
		{"no share", campaign.ABTest{Variants: two, Metric: campaign.MetricClicks, Wait: time.Hour}, "ab.testShare"},
		{"an unknown metric", campaign.ABTest{Variants: two, TestShare: 0.2, Metric: "revenue", Wait: time.Hour}, "ab.metric"},
		{"no wait", campaign.ABTest{Variants: two, TestShare: 0.2, Metric: campaign.MetricClicks}, "ab.wait"},
	} {
		err := tc.ab.Validate()
		if tc.field == "" {
			require.NoError(t, err, tc.name)
			continue
		}
		require.Equal(t, tc.field, fieldOf(t, err), tc.name)
	}
}

// The test share is the share asked for, split evenly between variants,
// and a contact's part never changes.
func TestABTestAssign(t *testing.T) {
	t.Parallel()
	ab := campaign.ABTest{Variants: []campaign.Variant{{Name: "a", Subject: "A"}, {Name: "b", Subject: "B"}, {Name: "c", Subject: "C"}},
		TestShare: 0.3, Metric: campaign.MetricClicks, Wait: time.Hour}
	counts := map[int]int{}
	const n = 90000
	for id := int64(1); id <= n; id++ {
		v := ab.Assign(42, id)
		require.Equal(t, v, ab.Assign(42, id), "stable")
		counts[v]++
	}
	require.InDelta(t, 0.7*n, counts[-1], 0.01*n, "the rest of the audience")
	for v := range 3 {
		require.InDelta(t, 0.1*n, counts[v], 0.01*n, "variant %d", v)
	}
	// The variant does not follow the id's low bits (the parity of a
	// plain FNV hash's input would decide it).
	split := campaign.ABTest{Variants: ab.Variants[:2], TestShare: 1, Metric: campaign.MetricClicks}
	for _, step := range []int64{2, 4, 8} {
		byVariant := map[int]int{}
		for id := step; id <= 2000*step; id += step {
			byVariant[split.Assign(42, id)]++
		}
		require.InDelta(t, 1000, byVariant[0], 100, "ids multiple of %d", step)
		require.InDelta(t, 1000, byVariant[1], 100, "ids multiple of %d", step)
	}
	other := 0
	for id := int64(1); id <= 1000; id++ {
		if ab.Assign(43, id) != ab.Assign(42, id) {
			other++
		}
	}
	require.Greater(t, other, 100, "another campaign draws anew")
}

// The winner is the variant more people clicked: scanner clicks and
// machine opens count for nothing; a tie goes to the first.
func TestPickWinner(t *testing.T) {
	t.Parallel()
	a := campaign.VariantResult{Sent: 1000, HumanClicks: 40, HumanOpens: 300}
	b := campaign.VariantResult{Sent: 1000, HumanClicks: 35, ScanClicks: 900, HumanOpens: 350, MachineOpens: 600}
	require.Equal(t, 0, campaign.PickWinner([]campaign.VariantResult{a, b}, campaign.MetricClicks))
	require.Equal(t, 1, campaign.PickWinner([]campaign.VariantResult{a, b}, campaign.MetricOpens))
	require.Equal(t, 0, campaign.PickWinner([]campaign.VariantResult{a, a}, campaign.MetricClicks), "a tie")
	c := campaign.VariantResult{Sent: 500, HumanClicks: 25}
	require.Equal(t, 2, campaign.PickWinner([]campaign.VariantResult{a, b, c}, campaign.MetricClicks), "a rate, not a count")
	require.Equal(t, 0, campaign.PickWinner([]campaign.VariantResult{{}, {}}, campaign.MetricClicks), "nothing sent yet")
}
