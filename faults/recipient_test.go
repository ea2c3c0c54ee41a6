package faults

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

// Scenarios 7 and 8: what recipients do (open, click, unsubscribe) while
// PostgreSQL goes away, against a `nurture api` process.

// hitQueue is the binary's in-memory queue of opens and clicks (api.Config
// HitQueue's default): the binary has no setting for it, so scenario 7
// fills it for real.
const hitQueue = 100_000

// recipientClient makes requests as mail clients do: no redirect followed,
// many connections.
func recipientClient() *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// fire sends the requests of urls with workers goroutines, GET or (with a
// form) POST, and counts the answers by status; status 0 is a transport
// error. after, when set, runs once when fraction of them are done.
func fire(urls []string, form url.Values, workers int, fraction float64, after func()) map[int]int {
	client := recipientClient()
	var next, done atomic.Int64
	var once sync.Once
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	var afterDone sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(urls)) {
					return
				}
				status := request(client, urls[i], form)
				mu.Lock()
				counts[status]++
				mu.Unlock()
				if after != nil && float64(done.Add(1)) >= fraction*float64(len(urls)) {
					once.Do(func() { afterDone.Add(1); go func() { defer afterDone.Done(); after() }() })
				}
			}
		}()
	}
	wg.Wait()
	afterDone.Wait()
	return counts
}

func request(client *http.Client, u string, form url.Values) int {
	var resp *http.Response
	var err error
	if form == nil {
		resp, err = client.Get(u)
	} else {
		resp, err = client.PostForm(u, form)
	}
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// metrics reads the api's /metrics with an admin key.
func (e *env) metrics(key string) (map[string]int64, error) {
	req, _ := http.NewRequest(http.MethodGet, e.apiURL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		// Prometheus writes large counts as floats (1e+06).
		if f, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = int64(f)
		}
	}
	return out, sc.Err()
}

// drained waits until the api has written or dropped every hit: nothing
// queued, and the stored count and the counters unchanged for two looks a
// second apart (the batch being committed is not counted as queued). It
// returns the metrics then.
func (e *env) drained(key string, limit time.Duration) map[string]int64 {
	deadline := time.Now().Add(limit)
	var last map[string]int64
	lastStored, steady := -1, 0
	for {
		m, err := e.metrics(key)
		var stored int
		if err == nil {
			err = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM email_events`).Scan(&stored)
		}
		if err == nil && m["nurture_hits_queued"] == 0 && stored == lastStored &&
			m["nurture_hits_recorded_total"] == last["nurture_hits_recorded_total"] && m["nurture_hits_dropped_total"] == last["nurture_hits_dropped_total"] {
			if steady++; steady == 2 {
				return m
			}
		} else {
			steady = 0
		}
		last, lastStored = m, stored
		require.False(e.t, time.Now().After(deadline), "hits still being written after %s: %v %v", limit, m, err)
		time.Sleep(time.Second)
	}
}

func (e *env) storedHits() int {
	var n int
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM email_events`).Scan(&n), "count email_events")
	return n
}

func signer(e *env) *nurture.Signer {
	s, err := nurture.NewSigner(secret)
	require.NoError(e.t, err)
	return s
}

// hitsAcrossRestart opens and clicks every email once while PostgreSQL
// restarts: every hit answered must be stored.
func hitsAcrossRestart(e *env, _ string) *Row {
	msgs := e.fill(e.s.emails, nil)
	key := e.adminKey()
	e.startAPI()
	sg := signer(e)
	now := time.Now()
	var urls []string
	for _, m := range msgs {
		urls = append(urls,
			e.apiURL+"/o/"+sg.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: m.id, ContactID: m.contactID, IssuedAt: now}),
			e.apiURL+"/c/"+sg.Sign(nurture.Token{Purpose: nurture.PurposeClick, MessageID: m.id, ContactID: m.contactID, URL: "https://app.acme.example/start", IssuedAt: now}))
	}
	began := time.Now()
	var restartErr error
	counts := fire(urls, nil, 32, 0.3, func() { restartErr = e.s.pg.restartFast() })
	require.NoError(e.t, restartErr)
	m := e.drained(key, 2*time.Minute)
	answered := counts[http.StatusOK] + counts[http.StatusFound]
	stored := e.storedHits()
	row := &Row{Emails: num(len(msgs)), Finish: seconds(time.Since(began))}
	row.note("%s requests: %s answered, %s stored, %s recorded and %s dropped by /metrics, %s failed",
		num(len(urls)), num(answered), num(stored), num(int(m["nurture_hits_recorded_total"])),
		num(int(m["nurture_hits_dropped_total"])), num(len(urls)-answered))
	if answered != stored {
		row.fail("answered %d, stored %d", answered, stored)
	}
	return row
}

// hitsQueueFull sends more opens than the api can queue while PostgreSQL
// is stopped: what it dropped must be what it answered and did not store.
func hitsQueueFull(e *env, _ string) *Row {
	msgs := e.fill(100, nil)
	key := e.adminKey()
	e.startAPI()
	sg := signer(e)
	now := time.Now()
	n := hitQueue + hitQueue/20
	urls := make([]string, n)
	for i := range urls {
		m := msgs[i%len(msgs)]
		urls[i] = e.apiURL + "/o/" + sg.Sign(nurture.Token{Purpose: nurture.PurposeOpen, MessageID: m.id, ContactID: m.contactID, IssuedAt: now})
	}
	require.NoError(e.t, e.s.pg.stop())
	began := time.Now()
	counts := fire(urls, nil, 32, 0, nil)
	sent := time.Since(began)
	require.NoError(e.t, e.s.pg.start())
	m := e.drained(key, 5*time.Minute)
	answered := counts[http.StatusOK]
	stored := e.storedHits()
	dropped := int(m["nurture_hits_dropped_total"])
	row := &Row{Finish: seconds(time.Since(began))}
	row.note("%s opens in %s while PostgreSQL was stopped (queue %s): %s answered, %s stored, %s dropped in /metrics",
		num(n), sent.Round(time.Second), num(hitQueue), num(answered), num(stored), num(dropped))
	if dropped != answered-stored {
		row.fail("dropped %d, answered - stored = %d", dropped, answered-stored)
	}
	if dropped == 0 {
		row.fail("the queue never filled: nothing was dropped")
	}
	return row
}

var oneClick = url.Values{"List-Unsubscribe": {"One-Click"}}

func (e *env) unsubscribeURL(sg *nurture.Signer, m message) string {
	return e.apiURL + "/u/" + sg.Sign(nurture.Token{Purpose: nurture.PurposeUnsubscribe, MessageID: m.id, ContactID: m.contactID, IssuedAt: time.Now()})
}

// effects checks that each contact's unsubscribe had one effect: opted out
// of the email's topic (onboarding) and nothing else, its queued message
// cancelled once (or sent before). It returns the failures.
func (e *env) effects(msgs []message) []string {
	ctx := context.Background()
	var bad []string
	for _, m := range msgs {
		var topics []string
		require.NoError(e.t, e.pool.QueryRow(ctx, `SELECT coalesce(array_agg(topic ORDER BY topic), '{}') FROM topic_optouts WHERE contact_id = $1`, m.contactID).Scan(&topics))
		var status string
		var skips int
		require.NoError(e.t, e.pool.QueryRow(ctx, `SELECT status, (SELECT count(*) FROM message_status_history h WHERE h.message_id = m.id AND h.status = 'skipped')
			FROM messages m WHERE id = $1`, m.id).Scan(&status, &skips))
		switch {
		case len(topics) != 1 || topics[0] != string(nurture.TopicOnboarding):
			bad = append(bad, fmt.Sprintf("contact %d opted out of %v", m.contactID, topics))
		case status == "skipped" && skips != 1:
			bad = append(bad, fmt.Sprintf("message %d skipped %d times", m.id, skips))
		case status != "skipped" && status != "sent":
			bad = append(bad, fmt.Sprintf("message %d is %s after the unsubscribe", m.id, status))
		}
	}
	return bad
}

// unsubscribeReplay sends each one-click unsubscribe 10 times while
// PostgreSQL restarts: each must have had one effect.
func unsubscribeReplay(e *env, _ string) *Row {
	n := max(10, min(1000, e.s.emails/10))
	msgs := e.fill(n, nil)
	e.startAPI()
	sg := signer(e)
	var urls []string
	for range 10 {
		for _, m := range msgs {
			urls = append(urls, e.unsubscribeURL(sg, m))
		}
	}
	began := time.Now()
	var restartErr error
	counts := fire(urls, oneClick, 16, 0.3, func() { restartErr = e.s.pg.restartFast() })
	require.NoError(e.t, restartErr)
	row := &Row{Emails: num(n), Finish: seconds(time.Since(began))}
	row.note("%s requests: %s answered 200, %s failed during the restart", num(len(urls)), num(counts[http.StatusOK]), num(len(urls)-counts[http.StatusOK]))
	for status, c := range counts {
		if status != http.StatusOK && status != 0 && status < 500 {
			row.fail("%d answered %d", c, status)
		}
	}
	bad := e.effects(msgs)
	if len(bad) > 0 {
		row.fail("%d contacts without exactly one effect (first: %s)", len(bad), bad[0])
	}
	return row
}

// unsubscribeRace unsubscribes 1 % of the recipients of a batch send while
// it runs: none may be sent anything after the answer.
func unsubscribeRace(e *env, path string) *Row {
	row := &Row{}
	msgs := e.fill(e.s.emails, nil)
	e.startAPI()
	e.startWorker()
	start := e.enqueue(path, msgs)
	sg := signer(e)
	pick := e.rng.Perm(len(msgs))[:max(10, len(msgs)/100)]
	chosen := map[int64]bool{}
	var targets []message
	for _, i := range pick {
		chosen[msgs[i].id] = true
		targets = append(targets, msgs[i])
	}
	e.strike(row, "unsubscribes", 0.05, 0.2)
	answered := make([]time.Time, len(targets))
	failed := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	client := recipientClient()
	sem := make(chan struct{}, 8)
	for i, m := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if status := request(client, e.unsubscribeURL(sg, m), oneClick); status == http.StatusOK {
				answered[i] = time.Now()
			} else {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	tl, _ := e.end(msgs, start, func(m message) bool { return chosen[m.id] })
	out := sendRow("", path, "", tl)
	out.Notes = row.Notes
	checkLost(out, tl)
	checkDuplicates(out, tl)
	late, before, cancelled := 0, 0, 0
	for i, m := range targets {
		copies := tl.copies[m.id]
		after := false
		for _, c := range copies {
			after = after || (!answered[i].IsZero() && c.At.After(answered[i]))
		}
		switch {
		case len(copies) == 0:
			cancelled++
		case after:
			late++
		default:
			before++
		}
	}
	out.note("%d unsubscribed: %d sent before the answer, %d cancelled, %d sent after it", len(targets), before, cancelled, late)
	if late > 0 {
		out.fail("%d emails sent after the unsubscribe's answer", late)
	}
	if failed > 0 {
		out.fail("%d unsubscribes not answered 200", failed)
	}
	if bad := e.effects(targets); len(bad) > 0 {
		out.fail("%d contacts without exactly one effect (first: %s)", len(bad), bad[0])
	}
	return out
}
