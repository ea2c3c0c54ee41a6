package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/api"
	"github.com/nurture-email/nurture/sequence"
	"github.com/nurture-email/nurture/templates"
)

// testSequences are the built-in sequences and those of
// testdata/sequences (every form a file may take), checked against the
// built-in templates.
func testSequences(t testing.TB) (seqSet, *templates.Set) {
	t.Helper()
	tmpl, err := templates.Default()
	require.NoError(t, err)
	builtIn, err := sequence.Load(templates.Sequences(), tmpl)
	require.NoError(t, err)
	ours, err := sequence.Load(os.DirFS("testdata/sequences"), tmpl)
	require.NoError(t, err)
	all := append(builtIn.All(), ours.All()...)
	slices.SortFunc(all, func(a, b *sequence.Sequence) int { return strings.Compare(a.ID, b.ID) })
	return all, tmpl
}

// seqSet is sequences sorted by id, as api.SequenceSet.
type seqSet []*sequence.Sequence

func (s seqSet) All() []*sequence.Sequence { return s }

func (s seqSet) Get(id string) (*sequence.Sequence, bool) {
	i := slices.IndexFunc(s, func(x *sequence.Sequence) bool { return x.ID == id })
	if i < 0 {
		return nil, false
	}
	return s[i], true
}

// withSequences serves the sequence endpoints on set.
func withSequences(set api.SequenceSet) func(*api.Config) {
	return func(c *api.Config) { c.Sequences = &api.Sequences{Set: set} }
}

type sequenceSummary struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Topic   string `json:"topic"`
	Version string `json:"version"`
	Trigger string `json:"trigger"`
	Steps   int    `json:"steps"`
	File    string `json:"file"`
}

// TestListSequences: GET /v1/sequences lists every sequence in use, by
// id, with its version, what enrolls a contact and how many steps it has.
func TestListSequences(t *testing.T) {
	t.Parallel()
	set, _ := testSequences(t)
	b := setup(t, withSequences(set))
	res := b.do(t, request{method: http.MethodGet, path: "/v1/sequences", key: b.admin})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var got struct {
		Sequences []sequenceSummary `json:"sequences"`
	}
	require.NoError(t, json.Unmarshal(res.body, &got))
	var ids []string
	for _, s := range got.Sequences {
		ids = append(ids, s.ID)
	}
	require.Equal(t, []string{"by-condition", "everything", "feature-lessons", "onboarding"}, ids)

	onboarding, _ := set.Get("onboarding")
	require.Equal(t, sequenceSummary{ID: "onboarding", Name: "Onboarding for new sign-ups", Topic: "onboarding",
		Version: onboarding.Version, Trigger: "event signed_up", Steps: len(onboarding.Steps), File: "onboarding.yaml"}, got.Sequences[3])
	require.Len(t, onboarding.Version, 12)
	require.Equal(t, `event signed_up where (plan in ["trial", "free"] and seats > 3 and seats <= 50)`, got.Sequences[1].Trigger)
	require.Equal(t, `condition traits.plan == "trial"`, got.Sequences[0].Trigger)
}

// TestGetSequence: GET /v1/sequences/{id} answers the definition in the
// form of a sequence file, which loads as the same sequence: the same
// version, for every form a file may take.
func TestGetSequence(t *testing.T) {
	t.Parallel()
	set, tmpl := testSequences(t)
	b := setup(t, withSequences(set))
	for _, want := range set.All() {
		t.Run(want.ID, func(t *testing.T) {
			t.Parallel()
			res := b.do(t, request{method: http.MethodGet, path: "/v1/sequences/" + want.ID, key: b.admin})
			require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
			var got struct {
				sequenceSummary
				Definition json.RawMessage `json:"definition"`
			}
			require.NoError(t, json.Unmarshal(res.body, &got))
			require.Equal(t, want.Version, got.Version)
			require.Equal(t, want.File, got.File)
			require.Equal(t, len(want.Steps), got.Steps)

			again, err := sequence.Parse("definition.json", got.Definition, tmpl)
			require.NoError(t, err, "definition: %s", got.Definition)
			require.Equal(t, want.Version, again.Version, "definition: %s", got.Definition)
			require.Equal(t, want.Steps, again.Steps)
		})
	}
}

// TestGetSequenceDefinitionReads: the definition reads as the file does:
// conditions as text, durations as 1d12h, windows as days and hours.
func TestGetSequenceDefinitionReads(t *testing.T) {
	t.Parallel()
	set, _ := testSequences(t)
	b := setup(t, withSequences(set))
	res := b.do(t, request{method: http.MethodGet, path: "/v1/sequences/everything", key: b.admin})
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	var got struct {
		Definition map[string]any `json:"definition"`
	}
	require.NoError(t, json.Unmarshal(res.body, &got))
	d := got.Definition
	require.Equal(t, map[string]any{"again_after": "90d"}, d["entry"])
	require.Equal(t, map[string]any{"days": []any{"mon", "tue", "wed", "thu", "fri", "sat"}, "from": "08:30", "to": "24:00"}, d["send_window"])
	require.Equal(t, map[string]any{"events": []any{"demo_booked", map[string]any{"event": "plan_changed", "where": map[string]any{"plan": map[string]any{"eq": "enterprise"}}}},
		"if": `traits.plan == "enterprise"`}, d["exit"])
	steps := d["steps"].([]any)
	require.Equal(t, map[string]any{"id": "day-1", "wait": "1d12h"}, steps[1])
	require.Equal(t, map[string]any{"id": "setup-done", "branch": map[string]any{
		"if": `did setup_completed where step == "last" at least 2 times within 7d`, "then": "lesson"}}, steps[2])
	require.Equal(t, map[string]any{"id": "nudge", "send": "onboarding-tips", "next": "window"}, steps[5])
	require.Equal(t, map[string]any{"id": "quiet", "exit": nil}, steps[len(steps)-1])
}

// TestSequenceNotFound: an unknown id is a 404 naming it; the endpoints
// want an admin key, and are not served without the concern.
func TestSequenceNotFound(t *testing.T) {
	t.Parallel()
	set, _ := testSequences(t)
	b := setup(t, withSequences(set))
	res := b.do(t, request{method: http.MethodGet, path: "/v1/sequences/onboardin", key: b.admin})
	e := requireError(t, res, http.StatusNotFound, "")
	require.Contains(t, e.Error.Message, `"onboardin"`)
	res = b.do(t, request{method: http.MethodGet, path: "/v1/sequences/" + strings.Repeat("x", 5000), key: b.admin})
	e = requireError(t, res, http.StatusNotFound, "")
	require.Less(t, len(e.Error.Message), 200)

	for _, tc := range []struct {
		name   string
		key    string
		status int
	}{
		{"no key", "", http.StatusUnauthorized},
		{"ingest key", b.ingest, http.StatusForbidden},
	} {
		res := b.do(t, request{method: http.MethodGet, path: "/v1/sequences", key: tc.key})
		require.Equal(t, tc.status, res.status, "%s: %s", tc.name, res.body)
	}

	without := setup(t)
	res = without.do(t, request{method: http.MethodGet, path: "/v1/sequences", key: without.admin})
	requireError(t, res, http.StatusNotFound, "")

	_, err := api.New(api.Config{Sequences: &api.Sequences{}, Keys: b.store})
	require.ErrorContains(t, err, "Sequences.Set")
	_, err = api.New(api.Config{Sequences: &api.Sequences{Set: set}})
	require.ErrorContains(t, err, "Keys")
}
