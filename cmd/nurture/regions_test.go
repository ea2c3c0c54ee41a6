package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/smtptest"
)

// twoSteps is a sequence of two emails a few seconds apart, started by
// trial_started: long enough for a contact to move region between them.
const twoSteps = `id: trial
name: Trial
topic: onboarding
trigger:
  event: trial_started
entry: once
steps:
  - id: first
    send:
      template: welcome
      send_window: any
  - id: pause
    wait: 4s
  - id: second
    send:
      template: welcome
      send_window: any
`

// regionEngine is an engine with two regions, eu (the default, through
// the engine's relay) and us (a relay of its own), and the two-step
// sequence.
func regionEngine(t *testing.T) (e *engine, eu, us *smtptest.Server) {
	t.Helper()
	e = setup(t)
	us = smtptest.Start(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "trial.yaml"), []byte(twoSteps), 0o644))
	e.env["NURTURE_SEQUENCES_DIR"] = dir
	e.env["NURTURE_REGIONS"] = "eu,us"
	e.env["NURTURE_SMTP_URL_EU"] = e.smtp.URL()
	e.env["NURTURE_SMTP_URL_US"] = us.URL()
	return e, e.smtp, us
}

// recipients lists the recipients of the relay's messages, sorted.
func recipients(s *smtptest.Server) []string {
	var out []string
	for _, m := range s.Messages() {
		out = append(out, m.To...)
	}
	slices.Sort(out)
	return out
}

// Contacts in two regions: each region's relay gets its own contacts'
// email and nobody else's; a contact who moves from eu to us between the
// two steps of a sequence gets the first from eu's relay and the second
// from us's.
func TestRegionsSendThroughTheirOwnRelays(t *testing.T) {
	t.Parallel()
	e, eu, us := regionEngine(t)
	e.start("all")
	e.waitReady()

	for _, c := range []struct {
		id    string
		trait map[string]any
	}{
		{"u-eu", map[string]any{"email": "eva@example.com", "region": "Europe"}},
		{"u-us", map[string]any{"email": "sam@example.com", "country": "US"}},
		{"u-mover", map[string]any{"email": "max@example.com", "country": "FR"}},
	} {
		e.mustPost("/v1/identify", map[string]any{"userId": c.id, "traits": c.trait})
		e.mustPost("/v1/track", map[string]any{"userId": c.id, "event": "trial_started", "messageId": "trial-" + c.id})
	}
	eu.WaitForMessages(t, 2, 20*time.Second)
	us.WaitForMessages(t, 1, 20*time.Second)
	require.Equal(t, []string{"eva@example.com", "max@example.com"}, recipients(eu))
	require.Equal(t, []string{"sam@example.com"}, recipients(us))

	// The mover tells the product they live in the US now.
	e.mustPost("/v1/identify", map[string]any{"userId": "u-mover", "traits": map[string]any{"country": "US"}})

	eu.WaitForMessages(t, 3, 30*time.Second)
	us.WaitForMessages(t, 3, 30*time.Second)
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE status <> 'sent'`).Scan(&pending))
		return pending == 0
	}, 30*time.Second, 50*time.Millisecond)
	require.Equal(t, []string{"eva@example.com", "eva@example.com", "max@example.com"}, recipients(eu))
	require.Equal(t, []string{"max@example.com", "sam@example.com", "sam@example.com"}, recipients(us))

	rows, err := e.pool.Query(context.Background(), `SELECT c.external_id, m.region FROM messages m JOIN contacts c ON c.id = m.contact_id ORDER BY m.id`)
	require.NoError(t, err)
	defer rows.Close()
	stamps := map[string][]string{}
	for rows.Next() {
		var id, region string
		require.NoError(t, rows.Scan(&id, &region))
		stamps[id] = append(stamps[id], region)
	}
	require.Equal(t, map[string][]string{"u-eu": {"eu", "eu"}, "u-us": {"us", "us"}, "u-mover": {"eu", "us"}}, stamps)
}

// A worker started with --regions eu sends eu's email only and leaves
// us's queued; a worker of us sends it later, through us's relay.
func TestWorkerOfOneRegionLeavesOtherRegionsMailAlone(t *testing.T) {
	t.Parallel()
	e, eu, us := regionEngine(t)
	e.start("api")
	e.waitReady()
	e.env["NURTURE_WORKER_REGIONS"] = "eu"
	e.start("worker")

	e.mustPost("/v1/identify", map[string]any{"userId": "u-eu", "traits": map[string]any{"email": "eva@example.com", "country": "DE"}})
	e.mustPost("/v1/identify", map[string]any{"userId": "u-us", "traits": map[string]any{"email": "sam@example.com", "country": "US"}})
	e.mustPost("/v1/track", map[string]any{"userId": "u-us", "event": "trial_started", "messageId": "trial-us"})
	e.mustPost("/v1/track", map[string]any{"userId": "u-eu", "event": "trial_started", "messageId": "trial-eu"})
	eu.WaitForMessages(t, 2, 30*time.Second) // both of eu's steps, after us's first was created
	require.Equal(t, []string{"eva@example.com", "eva@example.com"}, recipients(eu))
	require.Empty(t, us.Messages())
	for _, status := range e.messages("u-us") {
		require.Equal(t, "queued", status, "us's email waits for a worker of us")
	}

	e.env["NURTURE_WORKER_REGIONS"] = "us"
	e.start("worker")
	us.WaitForMessages(t, 2, 30*time.Second)
	require.Equal(t, []string{"sam@example.com", "sam@example.com"}, recipients(us))
	require.Equal(t, []string{"eva@example.com", "eva@example.com"}, recipients(eu), "eu's relay never saw us's email")
}

// A region whose relay hangs after the data (a reply it may wait ten
// minutes for) does not stop the others: its tasks hold at most a worker's
// ceiling of slots, so us's email goes out while eu's waits; once eu's
// relay answers again, its email follows, each once.
func TestARegionWhoseRelayHangsLeavesTheOthersSending(t *testing.T) {
	t.Parallel()
	e, eu, us := regionEngine(t)
	e.env["NURTURE_CONCURRENCY"] = "4" // a ceiling of 3 for a region's sends
	var holds []*smtptest.Hold
	for range 40 {
		holds = append(holds, eu.Hold(smtptest.StageData))
	}
	e.start("all")
	e.waitReady()

	// startTrial signs a contact of region up and starts its trial; it
	// returns its address twice, once for each step.
	startTrial := func(region, country string, i int) []string {
		email, id := fmt.Sprintf("%s%d@example.com", region, i), fmt.Sprintf("u-%s%d", region, i)
		e.mustPost("/v1/identify", map[string]any{"userId": id, "traits": map[string]any{"email": email, "country": country}})
		e.mustPost("/v1/track", map[string]any{"userId": id, "event": "trial_started", "messageId": "trial-" + id})
		return []string{email, email}
	}
	var euWant, usWant []string
	for i := range 8 {
		euWant = append(euWant, startTrial("eu", "DE", i)...)
		time.Sleep(400 * time.Millisecond) // longer than a pass of the sequence poller: a send task each
	}
	select {
	case <-holds[2].Reached(): // three of eu's sends hang
	case <-time.After(30 * time.Second):
		t.Fatal("eu's relay never saw three deliveries")
	}
	for i := range 3 {
		usWant = append(usWant, startTrial("us", "US", i)...)
	}
	us.WaitForMessages(t, 6, 60*time.Second) // both steps: the sequences advance too
	slices.Sort(usWant)
	require.Equal(t, usWant, recipients(us))
	require.Empty(t, eu.Messages(), "eu's relay has answered nothing yet")

	for _, h := range holds {
		h.Release()
	}
	eu.WaitForMessages(t, 16, 60*time.Second)
	slices.Sort(euWant)
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE status <> 'sent'`).Scan(&pending))
		return pending == 0
	}, 30*time.Second, 50*time.Millisecond)
	require.Equal(t, euWant, recipients(eu), "each of eu's emails once")
	require.Equal(t, usWant, recipients(us))
}
