package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/testkit"
)

// simulateEnv is a database with one contact, Ada, a marketer in Paris,
// and the settings that reach it.
func simulateEnv(t *testing.T) (*pgxpool.Pool, func(string) string) {
	t.Helper()
	pool := testkit.DB(t)
	_, err := pool.Exec(context.Background(), `INSERT INTO contacts (external_id, email, role, time_zone) VALUES ('u-ada', 'ada@example.com', 'Marketing', 'Europe/Paris')`)
	require.NoError(t, err)
	env := map[string]string{"NURTURE_DATABASE_URL": testkit.DatabaseURLFor(t, pool), "NURTURE_DATABASE_POOLER": string(testkit.Pooler()), "NURTURE_FREQUENCY_CAP": "3"}
	return pool, func(k string) string { return env[k] }
}

// rows counts the rows of the tables a simulation could write to.
func rows(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"contacts", "events", "messages", "enrollments", "enrollment_history", "message_reasons", "sequence_signals", "sequence_versions"} {
		var n int
		require.NoError(t, pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
		out[table] = n
	}
	return out
}

// TestSequencesSimulate: the command prints the emails the contact would
// get, at their local times, with why; events of a file change the
// branches; nothing is written. The simulation starts now: what it
// checks does not depend on the day or the hour.
func TestSequencesSimulate(t *testing.T) {
	t.Parallel()
	pool, getenv := simulateEnv(t)
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	require.NoError(t, os.WriteFile(events, []byte("# Ada finishes setting up on the first evening\n{\"event\": \"setup_completed\", \"after\": \"10h\"}\n"), 0o600))
	before := rows(t, pool)

	for _, tc := range []struct {
		name string
		args []string
		want []string // in this order
		not  []string
	}{
		{"as things stand", []string{"--contact", "u-ada"},
			[]string{"onboarding, version ", "for contact 1 (u-ada, ada@example.com)", "time zone Europe/Paris (timezone trait)", "a new enrollment",
				"send  welcome (step welcome)", "send  onboarding-tips (step setup-tips)", "why: setup-done: did setup_completed is false",
				"send  feature-reports (step lesson-reports, topic education)", `traits.role is "Marketing") → lesson-reports`,
				"send  check-in (step check-in)", "4 emails; completed", "Nothing was written or sent."}, []string{"demo-offer"}},
		{"with events", []string{"--contact", "ada@example.com", "--events", events, "--until", "15d"},
			[]string{"send  welcome", "event setup_completed (assumed)", "send  feature-reports", "send  check-in", "3 emails; completed"}, []string{"onboarding-tips"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), append([]string{"sequences", "simulate", "onboarding"}, tc.args...), getenv, &out, &errOut)
			require.Equal(t, 0, code, errOut.String())
			text := out.String()
			at := 0
			for _, w := range tc.want {
				i := strings.Index(text[at:], w)
				require.GreaterOrEqual(t, i, 0, "%q not found after byte %d of:\n%s", w, at, text)
				at += i
			}
			for _, w := range tc.not {
				require.NotContains(t, text, w)
			}
			// Local times are Paris's (the simulation starts now, in
			// winter or in summer).
			require.True(t, strings.Contains(text, " CET ") || strings.Contains(text, " CEST "), text)
		})
	}

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"sequences", "simulate", "onboarding", "--contact", "1", "--until", "1d", "--json"}, getenv, &out, &errOut), errOut.String())
	var tl struct {
		Sequence string `json:"sequence"`
		Emails   int    `json:"emails"`
		Timeline []struct {
			Kind     string `json:"kind"`
			Template string `json:"template"`
		} `json:"timeline"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &tl), out.String())
	require.Equal(t, "onboarding", tl.Sequence)
	require.Equal(t, "welcome", tl.Timeline[0].Template)

	require.Equal(t, before, rows(t, pool), "a simulation wrote to the database")
}

// TestSequencesSimulateMistakes: bad input says what is wrong, naming the
// line and field of the events file.
func TestSequencesSimulateMistakes(t *testing.T) {
	t.Parallel()
	_, getenv := simulateEnv(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("{\"event\": \"a\", \"after\": \"1d\"}\n{\"event\": \"b\", \"after\": \"next week\"}\n"), 0o600))
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no contact", []string{"onboarding"}, 2, "name the sequence and the contact"},
		{"no sequence", []string{"--contact", "u-ada"}, 2, "name the sequence and the contact"},
		{"bad until", []string{"onboarding", "--contact", "u-ada", "--until", "forever"}, 2, `--until: "forever" is not a duration`},
		{"events file", []string{"onboarding", "--contact", "u-ada", "--events", bad}, 2, bad + `: line 2: after: "next week" is not a duration`},
		{"no events file", []string{"onboarding", "--contact", "u-ada", "--events", filepath.Join(dir, "nope")}, 2, "--events: open"},
		{"unknown sequence", []string{"onboardin", "--contact", "u-ada"}, 1, `no sequence "onboardin" (there are: feature-lessons, onboarding)`},
		{"unknown contact", []string{"onboarding", "--contact", "bob@example.com"}, 1, "contact: no contact has this email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errOut bytes.Buffer
			code := run(context.Background(), append([]string{"sequences", "simulate"}, tc.args...), getenv, &bytes.Buffer{}, &errOut)
			require.Equal(t, tc.code, code, errOut.String())
			require.Contains(t, errOut.String(), tc.says)
		})
	}
}
