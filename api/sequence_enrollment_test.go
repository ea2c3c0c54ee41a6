package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/postgres"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

type enrollment struct {
	ID        int64     `json:"id"`
	ContactID int64     `json:"contactId"`
	Sequence  string    `json:"sequence"`
	Version   string    `json:"version"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason"`
	Step      string    `json:"step"`
	StartedAt time.Time `json:"startedAt"`
}

// enrollBundle is a bundle whose API enrolls through a real sequence
// engine on the built-in sequences and counts their figures, and the
// engine, to advance enrollments as the worker would.
func enrollBundle(t *testing.T) (*bundle, *sequence.Engine, *sequence.Set) {
	t.Helper()
	tmpl, err := templates.Default()
	require.NoError(t, err)
	set, err := sequence.Load(templates.Sequences(), tmpl)
	require.NoError(t, err)
	var engine *sequence.Engine
	b := setup(t, func(c *api.Config) {
		store := c.Keys.(*postgres.DB)
		engine = sequence.NewEngine(sequence.EngineConfig{Store: store, Enqueuer: discardEnqueuer{}, Sequences: set, Clock: c.Clock})
		c.Sequences = &api.Sequences{Set: set, Stats: store, Enrollments: &api.EngineEnrollments{Engine: engine, Store: store, Clock: c.Clock}}
	})
	return b, engine, set
}

func decodeEnrollment(t *testing.T, res response, status int) enrollment {
	t.Helper()
	require.Equal(t, status, res.status, "body: %s", res.body)
	var e enrollment
	require.NoError(t, json.Unmarshal(res.body, &e))
	return e
}

// TestEnrollByHand: an admin enrolls a contact by hand; the entry rules
// hold (a second enrollment is a 409 saying why); the engine then walks
// the enrollment as any other; DELETE exits it, as manual, and no email of
// it comes after.
func TestEnrollByHand(t *testing.T) {
	t.Parallel()
	b, engine, set := enrollBundle(t)
	ctx := context.Background()
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u-1", "traits": obj{"email": "one@example.com"}}))
	onboarding, _ := set.Get("onboarding")

	e := decodeEnrollment(t, b.do(t, request{path: "/v1/sequences/onboarding/enrollments", body: obj{"contact": "one@example.com"}, key: b.admin}), http.StatusCreated)
	require.Equal(t, "onboarding", e.Sequence)
	require.Equal(t, onboarding.Version, e.Version)
	require.Equal(t, "active", e.Status)
	require.True(t, e.StartedAt.Equal(received), "started %s", e.StartedAt)

	res := b.do(t, request{path: "/v1/sequences/onboarding/enrollments", body: obj{"contact": "u-1"}, key: b.admin})
	conflict := requireError(t, res, http.StatusConflict, "contact")
	require.Contains(t, conflict.Error.Message, "entry rules of onboarding refuse this contact")

	// The engine advances it as the worker would: the welcome.
	require.NoError(t, engine.Advance(ctx, e.ID))
	require.Equal(t, 1, b.counts(t).Messages)

	for _, path := range []string{fmt.Sprintf("/v1/contacts/%d/enrollments", e.ContactID), "/v1/contacts/user:u-1/enrollments"} {
		res = b.do(t, request{method: http.MethodGet, path: path, key: b.admin})
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		var list struct {
			ContactID   int64        `json:"contactId"`
			Enrollments []enrollment `json:"enrollments"`
		}
		require.NoError(t, json.Unmarshal(res.body, &list))
		require.Equal(t, e.ContactID, list.ContactID)
		require.Len(t, list.Enrollments, 1)
		require.Equal(t, "day-1", list.Enrollments[0].Step)
	}

	exited := decodeEnrollment(t, b.do(t, request{method: http.MethodDelete, path: fmt.Sprintf("/v1/sequences/onboarding/enrollments/%d", e.ID), key: b.admin}), http.StatusOK)
	require.Equal(t, "exited", exited.Status)
	require.Equal(t, "manual", exited.Reason)
	var kind, detail string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT kind, detail FROM enrollment_history WHERE enrollment_id = $1 ORDER BY id DESC LIMIT 1`, e.ID).Scan(&kind, &detail))
	require.Equal(t, []string{"exited", "manual"}, []string{kind, detail})

	// A day later the wait is over: nothing more is sent.
	b.clock.Advance(25 * time.Hour)
	require.NoError(t, engine.Advance(ctx, e.ID))
	require.Equal(t, 1, b.counts(t).Messages)

	res = b.do(t, request{method: http.MethodDelete, path: fmt.Sprintf("/v1/sequences/onboarding/enrollments/%d", e.ID), key: b.admin})
	ended := requireError(t, res, http.StatusConflict, "")
	require.Contains(t, ended.Error.Message, "has ended already: exited (manual)")
	// Once per contact: exited is ended, and still refuses a new one.
	requireError(t, b.do(t, request{path: "/v1/sequences/onboarding/enrollments", body: obj{"contact": e.ContactID}, key: b.admin}), http.StatusConflict, "contact")
}

// TestEnrollmentMistakes: bad input is a 400 naming the field, what does
// not exist a 404; the endpoints want an admin key.
func TestEnrollmentMistakes(t *testing.T) {
	t.Parallel()
	b, _, _ := enrollBundle(t)
	requireSuccess(t, b.post(t, "/v1/identify", obj{"userId": "u-1", "traits": obj{"email": "one@example.com"}}))
	e := decodeEnrollment(t, b.do(t, request{path: "/v1/sequences/onboarding/enrollments", body: obj{"contact": "u-1"}, key: b.admin}), http.StatusCreated)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		key    string
		status int
		field  string
	}{
		{"no contact", "", "/v1/sequences/onboarding/enrollments", obj{}, "", 400, "contact"},
		{"unknown key", "", "/v1/sequences/onboarding/enrollments", obj{"contact": "u-1", "step": "x"}, "", 400, "step"},
		{"contact not text", "", "/v1/sequences/onboarding/enrollments", obj{"contact": []string{}}, "", 400, "contact"},
		{"unknown contact", "", "/v1/sequences/onboarding/enrollments", obj{"contact": "u-2"}, "", 404, "contact"},
		{"unknown sequence", "", "/v1/sequences/nope/enrollments", obj{"contact": "u-1"}, "", 404, ""},
		{"not json", "", "/v1/sequences/onboarding/enrollments", "[", "", 400, ""},
		{"bad enrollment id", http.MethodDelete, "/v1/sequences/onboarding/enrollments/x", nil, "", 400, "enrollment"},
		{"unknown enrollment", http.MethodDelete, "/v1/sequences/onboarding/enrollments/999999", nil, "", 404, ""},
		{"another sequence's", http.MethodDelete, fmt.Sprintf("/v1/sequences/feature-lessons/enrollments/%d", e.ID), nil, "", 404, ""},
		{"unknown contact's list", http.MethodGet, "/v1/contacts/user:nobody/enrollments", nil, "", 404, ""},
		{"bad contact id", http.MethodGet, "/v1/contacts/-1/enrollments", nil, "", 400, "id"},
		{"ingest key", "", "/v1/sequences/onboarding/enrollments", obj{"contact": "u-1"}, b.ingest, 403, ""},
		{"ingest key, list", http.MethodGet, "/v1/contacts/user:u-1/enrollments", nil, b.ingest, 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			if key == "" {
				key = b.admin
			}
			requireError(t, b.do(t, request{method: tc.method, path: tc.path, body: tc.body, key: key}), tc.status, tc.field)
		})
	}
	// Still the one enrollment, active.
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM enrollments WHERE status = $1`, nurture.EnrollmentActive).Scan(&n))
	require.Equal(t, 1, n)
}
