package api_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api"
)

// simStart is when the simulations of the tests start.
var simStart = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// TestParseHypotheticalEvents: the events file of a simulation, as JSON lines
// or one array, each event at a time or after a duration from the start.
func TestParseHypotheticalEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		want      []api.HypotheticalEvent
	}{
		{"json lines", "{\"event\": \"setup_completed\", \"after\": \"2d\"}\n\n# a comment\n" +
			`{"event": "activated", "at": "2026-03-03T09:30:00+01:00", "properties": {"plan": "pro", "seats": 4}}` + "\r\n",
			[]api.HypotheticalEvent{
				{Event: "activated", At: time.Date(2026, 3, 3, 8, 30, 0, 0, time.UTC), Properties: map[string]any{"plan": "pro", "seats": 4.0}},
				{Event: "setup_completed", At: simStart.Add(48 * time.Hour)},
			}},
		{"array", "\ufeff[\n  {\"event\": \"demo_booked\", \"after\": \"1d12h\", \"properties\": null},\n  {\"event\": \"x\", \"after\": \"90m\"}\n]\n",
			[]api.HypotheticalEvent{{Event: "x", At: simStart.Add(90 * time.Minute)}, {Event: "demo_booked", At: simStart.Add(36 * time.Hour)}}},
		{"empty", "\n# nothing planned\n", nil},
		{"empty array", "[]", nil},
		{"at the start", `{"event": "x", "at": "2026-03-02T12:00:00Z"}`, []api.HypotheticalEvent{{Event: "x", At: simStart}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := api.ParseHypotheticalEvents([]byte(tc.src), simStart)
			require.NoError(t, err)
			require.Len(t, got, len(tc.want))
			for i := range got {
				require.True(t, tc.want[i].At.Equal(got[i].At), "event %d at %s, want %s", i, got[i].At, tc.want[i].At)
				got[i].At = tc.want[i].At
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// TestParseHypotheticalEventsMistakes: a mistake names its line and field, and
// says what is wrong.
func TestParseHypotheticalEventsMistakes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src, field, message string
	}{
		{"no event", `{"after": "2d"}`, "line 1: event", "is required"},
		{"blank event", `{"event": "  ", "after": "2d"}`, "line 1: event", "is required"},
		{"event not text", `{"event": 3, "after": "2d"}`, "line 1: event", "is not a string"},
		{"long event", `{"event": "` + strings.Repeat("x", 201) + `", "after": "2d"}`, "line 1: event", "longer than 200 bytes"},
		{"no time", "\n\n" + `{"event": "x"}`, "line 3: after", "is required, or at"},
		{"both times", `{"event": "x", "after": "2d", "at": "2026-03-03T00:00:00Z"}`, "line 1: after", "cannot be given with at"},
		{"bad duration", `{"event": "x", "after": "2 days"}`, "line 1: after", `"2 days" is not a duration`},
		{"negative duration", `{"event": "x", "after": "-1d"}`, "line 1: after", "is not a duration"},
		{"bad time", `{"event": "x", "at": "tomorrow"}`, "line 1: at", `"tomorrow" is not an RFC 3339 time`},
		{"time before the start", `{"event": "x", "at": "2026-03-01T00:00:00Z"}`, "line 1: at", "is before the simulation starts (2026-03-02T12:00:00Z)"},
		{"unknown key", `{"event": "x", "after": "1d", "when": "now"}`, "line 1: when", "is not a key of an event: want event, at, after, properties"},
		{"properties not an object", `{"event": "x", "after": "1d", "properties": [1]}`, "line 1: properties", "is not an object"},
		{"not an object", `"x"`, "line 1", "is not an object"},
		{"null", `null`, "line 1", "is not an object"},
		{"broken json", "{\"event\": \"x\", \"after\": \"1d\"}\n{\"event\": \"y\",", "line 2", "is not valid JSON"},
		{"array: element", "[\n  {\"event\": \"x\", \"after\": \"1d\"},\n\n  {\"event\": \"y\", \"after\": \"soon\"}\n]", "line 4 (element 1): after", `"soon" is not a duration`},
		{"array: on one line", "\n[{\"event\": \"x\", \"after\": \"1d\"}, {\"event\": \"\", \"after\": \"1d\"}]", "line 2 (element 1): event", "is required"},
		{"array: not closed", "[\n{\"event\": \"x\", \"after\": \"1d\"}\n", "line 3", "is not valid JSON"},
		{"array: trailing", "[{\"event\": \"x\", \"after\": \"1d\"}]\n{}", "line 2", "has more after the array"},
		{"array: broken element", "[\n{\"event\": \"x\" \"after\": \"1d\"}]", "line 2 (element 0)", "is not valid JSON"},
		{"too many", strings.Repeat(`{"event": "x", "after": "1d"}`+"\n", api.MaxHypotheticalEvents+1), "line 1001", "past the 1000 events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := api.ParseHypotheticalEvents([]byte(tc.src), simStart)
			var e *nurture.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, nurture.CodeInvalid, e.Code)
			require.Equal(t, tc.field, e.Field, "error: %v", err)
			require.Contains(t, e.Message, tc.message)
		})
	}
}

// TestParseHypotheticalEventList: in a request body, a mistake names the field
// and the element.
func TestParseHypotheticalEventList(t *testing.T) {
	t.Parallel()
	items := []json.RawMessage{json.RawMessage(`{"event": "x", "after": "1d"}`), json.RawMessage(`{"event": "y", "at": "soon"}`)}
	_, err := api.ParseHypotheticalEventList("events", items, simStart)
	var e *nurture.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "events[1].at", e.Field)
	got, err := api.ParseHypotheticalEventList("events", items[:1], simStart)
	require.NoError(t, err)
	require.Equal(t, []api.HypotheticalEvent{{Event: "x", At: simStart.Add(24 * time.Hour)}}, got)
}

// FuzzParseHypotheticalEvents: whatever the file, the parser answers events
// sorted by time, none before the start, each named; or a mistake that
// names its line. What it accepts, written back as JSON lines, reads the
// same.
func FuzzParseHypotheticalEvents(f *testing.F) {
	for _, s := range []string{
		`{"event": "setup_completed", "after": "2d"}`,
		"{\"event\": \"a\", \"at\": \"2026-03-03T09:30:00+01:00\", \"properties\": {\"plan\": \"pro\"}}\n# c\n{\"event\": \"b\", \"after\": \"1h\"}",
		"[\n{\"event\": \"x\", \"after\": \"1d\"},\n{\"event\": \"y\", \"after\": \"90m\"}\n]",
		"\ufeff[]", "[", "[1,", "{}", "null", "# only\n", `{"event":"x","after":"1d","when":1}`, "[{\"event\":\"x\",\"after\":\"1d\"}] x",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := api.ParseHypotheticalEvents(data, simStart)
		if err != nil {
			var e *nurture.Error
			if !errors.As(err, &e) || e.Code != nurture.CodeInvalid || !strings.HasPrefix(e.Field, "line ") {
				t.Fatalf("mistake without a line: %#v", err)
			}
			return
		}
		var again strings.Builder
		for i, e := range got {
			if e.At.Before(simStart) || strings.TrimSpace(e.Event) == "" {
				t.Fatalf("event %d: %+v", i, e)
			}
			if i > 0 && e.At.Before(got[i-1].At) {
				t.Fatalf("events out of order: %+v", got)
			}
			line, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			again.Write(line)
			again.WriteByte('\n')
		}
		back, err := api.ParseHypotheticalEvents([]byte(again.String()), simStart)
		if err != nil {
			t.Fatalf("written back, %q does not read: %v", again.String(), err)
		}
		if len(back) != len(got) {
			t.Fatalf("written back, %d events became %d", len(got), len(back))
		}
		for i := range back {
			if back[i].Event != got[i].Event || !back[i].At.Equal(got[i].At) {
				t.Fatalf("written back, %+v became %+v", got[i], back[i])
			}
		}
	})
}
