package nurture_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

var at = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func TestMergeNewerWinsFieldByField(t *testing.T) {
	t.Parallel()
	c := &nurture.Contact{}
	changed, _ := c.Merge(&nurture.Contact{Company: "NewCo", Email: "a@example.com"}, at.Add(time.Hour))
	require.True(t, changed)

	changed, old := c.Merge(&nurture.Contact{Company: "OldCo", Title: "CTO", Email: "b@example.com"}, at)
	require.True(t, changed, "the empty title is filled")
	require.Empty(t, old, "an older address does not replace a newer one")
	require.Equal(t, "NewCo", c.Company)
	require.Equal(t, "CTO", c.Title)
	require.Equal(t, "a@example.com", c.Email)

	changed, old = c.Merge(&nurture.Contact{Email: "c@example.com"}, at.Add(2*time.Hour))
	require.True(t, changed)
	require.Equal(t, "a@example.com", old)

	changed, _ = c.Merge(&nurture.Contact{Company: "NewCo"}, at.Add(3*time.Hour))
	require.True(t, changed, "a repeated value's newer time is kept")
	changed, _ = c.Merge(&nurture.Contact{Company: "NewCo"}, at.Add(3*time.Hour))
	require.False(t, changed, "the same call again is no change")
	changed, _ = c.Merge(&nurture.Contact{Company: "OlderCo"}, at.Add(150*time.Minute))
	require.False(t, changed, "older than the repeat: refused")
	require.Equal(t, "NewCo", c.Company)
}

func TestPlanIngest(t *testing.T) {
	t.Parallel()
	known := &nurture.Contact{ID: 1, ExternalID: "u1", Email: "u1@example.com"}
	emailOnly := &nurture.Contact{ID: 2, Email: "lead@example.com"}
	state := func() *nurture.IngestState {
		k, e := *known, *emailOnly
		return nurture.NewIngestState([]*nurture.Contact{&k, &e}, map[string]int64{"anon-known": 1},
			map[string][]nurture.Event{"anon-new": {{Type: nurture.EventPage, OccurredAt: at}}})
	}
	tests := []struct {
		name        string
		calls       []nurture.Call
		wantCreated int
		wantOwner   []int64 // per call: the contact id its event belongs to; -1 new contact, 0 anonymous
		wantWarn    string
		wantLinks   int
	}{
		{name: "known user", calls: []nurture.Call{{Type: nurture.EventTrack, UserID: "u1", Name: "x"}}, wantOwner: []int64{1}},
		{name: "new user", calls: []nurture.Call{{Type: nurture.EventTrack, UserID: "u9", Name: "x"}}, wantCreated: 1, wantOwner: []int64{-1}},
		{name: "anonymous stays anonymous", calls: []nurture.Call{{Type: nurture.EventPage, AnonymousID: "anon-x"}}, wantOwner: []int64{0}},
		{name: "linked anonymous id", calls: []nurture.Call{{Type: nurture.EventPage, AnonymousID: "anon-known"}}, wantOwner: []int64{1}},
		{name: "identify links earlier anonymous calls of the batch", calls: []nurture.Call{
			{Type: nurture.EventPage, AnonymousID: "anon-new"},
			{Type: nurture.EventIdentify, UserID: "u1", AnonymousID: "anon-new", Profile: &nurture.Contact{}},
		}, wantOwner: []int64{1, 1}, wantLinks: 1},
		{name: "user id adopts a lead known by email", calls: []nurture.Call{
			{Type: nurture.EventIdentify, UserID: "u2", Profile: &nurture.Contact{Email: "LEAD@example.com"}},
		}, wantOwner: []int64{2}},
		{name: "another user's address is refused", calls: []nurture.Call{
			{Type: nurture.EventIdentify, UserID: "u3", Profile: &nurture.Contact{Email: "u1@example.com"}},
		}, wantCreated: 1, wantOwner: []int64{-1}, wantWarn: "traits.email"},
		{name: "alias of two users merges nothing", calls: []nurture.Call{
			{Type: nurture.EventIdentify, UserID: "u4", Profile: &nurture.Contact{}},
			{Type: nurture.EventAlias, PreviousID: "u4", UserID: "u1"},
		}, wantCreated: 1, wantOwner: []int64{-1, 1}, wantWarn: "previousId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for i := range tt.calls {
				tt.calls[i].MessageID = "m" + string(rune('0'+i))
				tt.calls[i].Timestamp = at
			}
			p := nurture.PlanIngest(state(), tt.calls)
			require.Len(t, p.Created, tt.wantCreated)
			require.Len(t, p.Links, tt.wantLinks)
			for i, want := range tt.wantOwner {
				got := p.Events[i].Contact
				switch want {
				case 0:
					require.Nil(t, got, "call %d", i)
				case -1:
					require.NotNil(t, got, "call %d", i)
					require.Zero(t, got.ID, "call %d belongs to a new contact", i)
				default:
					require.NotNil(t, got, "call %d", i)
					require.Equal(t, want, got.ID, "call %d", i)
				}
			}
			if tt.wantWarn == "" {
				require.Empty(t, p.Warnings)
			} else {
				require.Len(t, p.Warnings, 1)
				require.Equal(t, tt.wantWarn, p.Warnings[0].Field)
			}
		})
	}
}
