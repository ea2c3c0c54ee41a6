package faults

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture/internal/smtpsink"
)

// tally is what became of a scenario's emails, from the sink's journal and
// the database.
type tally struct {
	emails        int // messages created
	expected      int // should have been delivered
	deliveredOnce int // delivered exactly once
	// dupInside are extra copies whose previous copy's reply the sink
	// knows was lost (RFC 1047's window: a duplicate nobody can avoid).
	dupInside int
	dupOther  int // every other extra copy
	lost      int // should have been delivered, never was
	bounced   int // tagged f550: recorded bounced and suppressed, never delivered
	// wrong counts rows whose final status disagrees with the sink: sent
	// but never accepted, accepted but not recorded sent, f550 not bounced
	// or not suppressed.
	wrong    int
	notFinal int // rows still not final at the end
	finish   time.Duration
	// copies is every accepted copy, by message id; arrived its time.
	copies map[int64][]smtpsink.Entry
	// lastAccepted is when the sink accepted its last message.
	lastAccepted time.Time
}

// exemption lets some messages go unsent: unsubscribed recipients (scenario
// 8) may get their message before the unsubscribe's answer, or never.
type exemption func(m message) bool

// waitFinal waits until every message row is final or the deadline passes;
// it returns when the last one became final. Errors (PostgreSQL may be
// down) only make it look again.
func (e *env) waitFinal(deadline time.Time) (time.Time, bool) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var open int
		err := e.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status NOT IN ('sent', 'bounced', 'skipped', 'failed')`).Scan(&open)
		cancel()
		if err == nil && open == 0 {
			return time.Now(), true
		}
		if time.Now().After(deadline) {
			return time.Now(), false
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// count reads the journal and the rows, once the worker is stopped.
func (e *env) count(msgs []message, exempt exemption) tally {
	e.t.Helper()
	ctx := context.Background()
	_ = e.sink.Close() // waits for connections, closes the journal
	entries, err := smtpsink.ReadJournalFile(e.journal)
	require.NoError(e.t, err, "read the journal")
	tl := tally{emails: len(msgs), copies: map[int64][]smtpsink.Entry{}}
	for _, en := range entries {
		id, ok := messageIDOf(en.MessageID)
		if !ok {
			continue
		}
		tl.copies[id] = append(tl.copies[id], en)
		if en.At.After(tl.lastAccepted) {
			tl.lastAccepted = en.At
		}
	}
	status := map[int64]string{}
	rows, _ := e.pool.Query(ctx, `SELECT id, status FROM messages`)
	var id int64
	var st string
	_, err = pgx.ForEachRow(rows, []any{&id, &st}, func() error { status[id] = st; return nil })
	require.NoError(e.t, err, "read messages")
	suppressed := map[string]bool{}
	rows, _ = e.pool.Query(ctx, `SELECT email FROM suppressions`)
	var email string
	_, err = pgx.ForEachRow(rows, []any{&email}, func() error { suppressed[strings.ToLower(email)] = true; return nil })
	require.NoError(e.t, err, "read suppressions")
	for _, m := range msgs {
		copies := tl.copies[m.id]
		inside, other := duplicates(copies)
		tl.dupInside += inside
		tl.dupOther += other
		switch s := status[m.id]; {
		case s != "sent" && s != "bounced" && s != "skipped" && s != "failed":
			tl.notFinal++
		case s == "sent" && len(copies) == 0:
			tl.wrong++
		case s != "sent" && len(copies) > 0 && m.tag != smtpsink.Tag550:
			tl.wrong++
		}
		if m.tag == smtpsink.Tag550 {
			if status[m.id] == "bounced" && suppressed[strings.ToLower(m.email)] && len(copies) == 0 {
				tl.bounced++
			} else {
				tl.wrong++
			}
			continue
		}
		if exempt != nil && exempt(m) {
			continue
		}
		tl.expected++
		switch len(copies) {
		case 0:
			tl.lost++
		case 1:
			tl.deliveredOnce++
		}
	}
	return tl
}

// duplicates sorts a message's copies in the order the sink accepted them
// and counts the extra ones: inside RFC 1047's window when the copy before
// had its reply lost, other otherwise.
func duplicates(copies []smtpsink.Entry) (inside, other int) {
	sort.Slice(copies, func(i, j int) bool { return copies[i].Seq < copies[j].Seq })
	for i := 1; i < len(copies); i++ {
		if copies[i-1].Lost != "" {
			inside++
		} else {
			other++
		}
	}
	return inside, other
}

// messageIDOf reads the message id out of a Message-ID the engine wrote:
// nurture.<id>@<domain>.
func messageIDOf(header string) (int64, bool) {
	rest, ok := strings.CutPrefix(header, "nurture.")
	if !ok {
		return 0, false
	}
	n, _, _ := strings.Cut(rest, "@")
	n, _, _ = strings.Cut(n, ".") // nurture.<id>.<installation tag>@domain
	id, err := strconv.ParseInt(n, 10, 64)
	return id, err == nil
}

// longestPause is the longest time after since during which the sink
// accepted nothing while mail was still to come: from since to the first
// acceptance after it, and between consecutive acceptances up to the last.
func longestPause(tl tally, since time.Time) time.Duration {
	var times []time.Time
	for _, cs := range tl.copies {
		for _, c := range cs {
			if c.At.After(since) {
				times = append(times, c.At)
			}
		}
	}
	if len(times) == 0 {
		return 0
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	longest := times[0].Sub(since)
	for i := 1; i < len(times); i++ {
		longest = max(longest, times[i].Sub(times[i-1]))
	}
	return longest
}
