package nurture_test

import (
	"fmt"
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
			p, err := nurture.PlanIngest(state(), tt.calls)
			require.NoError(t, err)
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

// attrs returns a profile with n custom attributes named prefix0...
func attrs(prefix string, n int) *nurture.Contact {
	c := &nurture.Contact{Attributes: map[string]any{}}
	for i := range n {
		c.Attributes[fmt.Sprintf("%s%d", prefix, i)] = i
	}
	return c
}

// A contact holds at most MaxAttributes custom attributes: an identify
// that would pass the limit is an error naming the call; one that changes
// only attributes the contact has is not; history an anonymous id brings
// along fills the contact up to the limit, with a warning for the rest.
func TestPlanIngestCapsCustomAttributes(t *testing.T) {
	t.Parallel()
	full := func() *nurture.IngestState {
		c := attrs("k", nurture.MaxAttributes-10)
		c.ID, c.ExternalID = 1, "u1"
		s := nurture.NewIngestState([]*nurture.Contact{c}, nil, map[string][]nurture.Event{
			"anon-1": {{Type: nurture.EventIdentify, OccurredAt: at, Properties: map[string]any{"h1": 1, "h2": 2}},
				{Type: nurture.EventIdentify, OccurredAt: at, Properties: func() map[string]any {
					m := map[string]any{}
					for i := range 20 {
						m[fmt.Sprintf("h%02d", i+10)] = i
					}
					return m
				}()}},
		})
		// Here every stored trait is a custom one.
		s.ReadTraits = func(traits map[string]any) (*nurture.Contact, error) {
			return &nurture.Contact{Attributes: traits}, nil
		}
		return s
	}
	identify := func(id string, profile *nurture.Contact) nurture.Call {
		return nurture.Call{Type: nurture.EventIdentify, MessageID: id, UserID: "u1", Profile: profile, Timestamp: at}
	}

	_, err := nurture.PlanIngest(full(), []nurture.Call{identify("ok", attrs("new", 10)), identify("over", attrs("more", 1))})
	var callErr *nurture.CallError
	require.ErrorAs(t, err, &callErr)
	require.Equal(t, "over", callErr.MessageID)
	require.Equal(t, "traits", callErr.Err.Field)
	require.Equal(t, nurture.CodeInvalid, nurture.ErrorCodeOf(err))

	p, err := nurture.PlanIngest(full(), []nurture.Call{identify("same", attrs("k", nurture.MaxAttributes-10))})
	require.NoError(t, err, "changing what the contact has")
	require.Len(t, p.Updated, 1)

	link := identify("link", &nurture.Contact{})
	link.AnonymousID = "anon-1"
	p, err = nurture.PlanIngest(full(), []nurture.Call{link})
	require.NoError(t, err)
	c := p.Updated[0]
	require.Len(t, c.Attributes, nurture.MaxAttributes)
	require.Contains(t, c.Attributes, "h1", "the first history fits whole")
	require.Len(t, p.Warnings, 1)
	require.Equal(t, nurture.Warning{MessageID: "link", Field: "traits",
		Message: "12 custom attributes of earlier anonymous calls were not kept: a contact may have at most 500"}, p.Warnings[0])

	// Without a reader of their spelling, stored traits fill nothing.
	s := full()
	s.ReadTraits = nil
	p, err = nurture.PlanIngest(s, []nurture.Call{link})
	require.NoError(t, err)
	require.Empty(t, p.Warnings)
	require.NotContains(t, s.ByExternalID["u1"].Attributes, "h1")
}
