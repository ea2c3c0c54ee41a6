package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/postgres"
)

// withSimulator serves the sequence endpoints on set, with simulations on
// the bundle's store (the one that holds the keys).
func withSimulator(set api.SequenceSet, sim *api.Simulator) func(*api.Config) {
	return func(c *api.Config) {
		sim.Store = c.Keys.(*postgres.DB)
		c.Sequences = &api.Sequences{Set: set, Simulator: sim}
	}
}

// timeline is the answer of POST /v1/sequences/{id}/simulate.
type timeline struct {
	Sequence string `json:"sequence"`
	Version  string `json:"version"`
	Contact  struct {
		ID     int64  `json:"id"`
		UserID string `json:"userId"`
		Email  string `json:"email"`
	} `json:"contact"`
	Zone     string    `json:"zone"`
	ZoneFrom string    `json:"zoneFrom"`
	Start    time.Time `json:"start"`
	Until    time.Time `json:"until"`
	Entry    string    `json:"entry"`
	Timeline []struct {
		At       time.Time `json:"at"`
		Local    string    `json:"local"`
		Kind     string    `json:"kind"`
		Step     string    `json:"step"`
		Template string    `json:"template"`
		Reason   string    `json:"reason"`
		Why      []string  `json:"why"`
		Event    string    `json:"event"`
	} `json:"timeline"`
	Emails  int    `json:"emails"`
	Outcome string `json:"outcome"`
}

// sends returns the templates the timeline sends, in order.
func (tl timeline) sends() []string {
	var out []string
	for _, e := range tl.Timeline {
		if e.Kind == "send" {
			out = append(out, e.Template)
		}
	}
	return out
}

// rowCounts counts the rows of every table a simulation could write to if
// it wrote anything.
func (b *bundle) rowCounts(t testing.TB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"contacts", "events", "messages", "enrollments", "enrollment_history", "enrollment_wakes",
		"message_reasons", "sequence_signals", "sequence_versions", "email_events", "topic_optouts"} {
		var n int
		require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n), table)
		out[table] = n
	}
	return out
}

// TestSimulateSequence: a simulation walks the onboarding of a real
// contact on a virtual clock: the emails in order, at their local times
// inside the send window, the branches following the contact's traits and
// the events it assumes; nothing is written.
func TestSimulateSequence(t *testing.T) {
	t.Parallel()
	set, _ := testSequences(t)
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	b := setup(t, withSimulator(set, &api.Simulator{DefaultZone: time.UTC}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u-ada", "traits": obj{"email": "ada@example.com",
		"role": "Engineering Manager", "teamSize": "51-200"}, "context": obj{"timezone": "Europe/Paris"}}))
	requireSuccess(t, b.post(t, "/v1/track", obj{"userId": "u-ada", "event": "signed_up"}))

	for _, tc := range []struct {
		name    string
		body    obj
		sends   []string
		outcome string
	}{
		{"as things stand", obj{"contact": "u-ada"},
			[]string{"welcome", "onboarding-tips", "feature-integrations", "demo-offer", "check-in"}, "completed"},
		{"setup done on day 1", obj{"contact": "ada@example.com", "events": []obj{{"event": "setup_completed", "after": "20h"}}},
			[]string{"welcome", "feature-integrations", "demo-offer", "check-in"}, "completed"},
		{"a demo booked on day 4", obj{"contact": "user:u-ada", "events": []obj{{"event": "Demo Booked", "after": "4d"}}},
			[]string{"welcome", "onboarding-tips", "feature-integrations"}, "exit: "},
		{"activated on day 2", obj{"contact": "u-ada", "events": []obj{{"event": "activated", "at": ts(received.Add(50 * time.Hour))}}},
			[]string{"welcome", "onboarding-tips"}, "converted: "},
		{"for two days", obj{"contact": "u-ada", "until": "2d"}, []string{"welcome", "onboarding-tips"}, "still active"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.rowCounts(t)
			res := b.do(t, request{path: "/v1/sequences/onboarding/simulate", body: tc.body, key: b.admin})
			require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
			var tl timeline
			require.NoError(t, json.Unmarshal(res.body, &tl))
			require.Equal(t, tc.sends, tl.sends(), "body: %s", res.body)
			require.Equal(t, len(tc.sends), tl.Emails)
			require.True(t, strings.HasPrefix(tl.Outcome, tc.outcome), "outcome %q", tl.Outcome)
			require.Equal(t, before, b.rowCounts(t), "a simulation wrote to the database")

			require.Equal(t, "onboarding", tl.Sequence)
			require.Equal(t, "u-ada", tl.Contact.UserID)
			require.Equal(t, "Europe/Paris", tl.Zone)
			require.Equal(t, "timezone trait", tl.ZoneFrom)
			require.Equal(t, "a new enrollment", tl.Entry)
			require.True(t, tl.Start.Equal(received))
			for _, e := range tl.Timeline {
				require.Equal(t, e.At.In(paris).Format("Mon 2006-01-02 15:04 MST"), e.Local)
				if e.Kind != "send" || e.Template == "welcome" {
					continue
				}
				// Every email but the welcome waits for a weekday, 9:00 to 17:00 in Paris.
				local := e.At.In(paris)
				require.True(t, local.Weekday() != time.Saturday && local.Weekday() != time.Sunday && local.Hour() >= 9 && local.Hour() < 17,
					"%s sent at %s", e.Template, e.Local)
			}
		})
	}
}

// TestSimulateSequenceWhy: each email of a timeline says why it was sent:
// the branches taken and the values that decided them.
func TestSimulateSequenceWhy(t *testing.T) {
	t.Parallel()
	set, _ := testSequences(t)
	b := setup(t, withSimulator(set, &api.Simulator{}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u-1", "traits": obj{"email": "one@example.com", "role": "Marketing"}}))
	res := b.do(t, request{path: "/v1/sequences/onboarding/simulate", body: obj{"contact": "u-1", "until": "4d"}, key: b.admin})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var tl timeline
	require.NoError(t, json.Unmarshal(res.body, &tl))
	require.Equal(t, []string{"welcome", "onboarding-tips", "feature-reports"}, tl.sends())
	require.Equal(t, "UTC", tl.Zone)
	var why string
	for _, e := range tl.Timeline {
		if e.Template == "feature-reports" {
			why = strings.Join(e.Why, "\n")
		}
	}
	require.Contains(t, why, "numbers-people")
	require.Contains(t, why, "Marketing")
}

// TestSimulateSequenceMistakes: bad input is a 400 naming the field, an
// unknown contact or sequence a 404; nothing is written.
func TestSimulateSequenceMistakes(t *testing.T) {
	t.Parallel()
	set, _ := testSequences(t)
	b := setup(t, withSimulator(set, &api.Simulator{}))
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u-1", "traits": obj{"email": "one@example.com"}}))
	before := b.rowCounts(t)
	for _, tc := range []struct {
		name   string
		path   string
		body   any
		status int
		field  string
		says   string
	}{
		{"no contact", "", obj{"until": "2d"}, 400, "contact", "is required"},
		{"contact not text", "", obj{"contact": true}, 400, "contact", "is not a string"},
		{"contact blank", "", obj{"contact": " "}, 400, "contact", "is required"},
		{"bad address", "", obj{"contact": "a@@b"}, 400, "contact", "is not an email address"},
		{"unknown contact", "", obj{"contact": "nobody@example.com"}, 404, "contact", "no contact has this email"},
		{"unknown id", "", obj{"contact": 99999}, 404, "contact", "no contact has this id"},
		{"bad until", "", obj{"contact": "u-1", "until": "a month"}, 400, "until", "is not a duration"},
		{"until too long", "", obj{"contact": "u-1", "until": "400d"}, 400, "until", "at most 366 days"},
		{"unknown key", "", obj{"contact": "u-1", "event": []obj{}}, 400, "event", "is not a key of a simulation"},
		{"events not a list", "", obj{"contact": "u-1", "events": obj{}}, 400, "events", "is not a list"},
		{"bad event", "", obj{"contact": "u-1", "events": []obj{{"event": "x", "after": "1d"}, {"event": "y", "at": "2020-01-01T00:00:00Z"}}},
			400, "events[1].at", "is before the simulation starts"},
		{"not json", "", "contact=u-1", 400, "", "is not a JSON object"},
		{"unknown sequence", "/v1/sequences/nope/simulate", obj{"contact": "u-1"}, 404, "", `"nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/v1/sequences/onboarding/simulate"
			}
			res := b.do(t, request{path: path, body: tc.body, key: b.admin})
			e := requireError(t, res, tc.status, tc.field)
			require.Contains(t, e.Error.Message, tc.says)
		})
	}
	require.Equal(t, before, b.rowCounts(t))

	// Without a simulator the endpoint is not served.
	plain := setup(t, withSequences(set))
	res := plain.do(t, request{path: "/v1/sequences/onboarding/simulate", body: obj{"contact": "u-1"}, key: plain.admin})
	require.Equal(t, http.StatusNotFound, res.status)
}
