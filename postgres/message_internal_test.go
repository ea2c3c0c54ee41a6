package postgres

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestWithDerivedChanges(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	line := func(status nurture.MessageStatus, s int) nurture.StatusChange {
		return nurture.StatusChange{Status: status, At: at(s)}
	}
	for _, tc := range []struct {
		name   string
		stored []nurture.StatusChange
		sent   time.Time
		want   []nurture.StatusChange
	}{
		{"waiting: its creation only", nil, time.Time{},
			[]nurture.StatusChange{line("queued", 0)}},
		{"sent at once: creation and send from the row", nil, at(5),
			[]nurture.StatusChange{line("queued", 0), line("sent", 5)}},
		{"deferred, then sent", []nurture.StatusChange{line("deferred", 3)}, at(9),
			[]nurture.StatusChange{line("queued", 0), line("deferred", 3), line("sent", 9)}},
		{"bounced after its send: the send keeps its place", []nurture.StatusChange{line("bounced", 60)}, at(5),
			[]nurture.StatusChange{line("queued", 0), line("sent", 5), line("bounced", 60)}},
		{"stored before the change: nothing twice",
			[]nurture.StatusChange{line("queued", 0), line("sending", 1), line("sent", 5)}, at(5),
			[]nurture.StatusChange{line("queued", 0), line("sending", 1), line("sent", 5)}},
		{"skipped: its line only", []nurture.StatusChange{line("skipped", 2)}, time.Time{},
			[]nurture.StatusChange{line("queued", 0), line("skipped", 2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, withDerivedChanges(tc.stored, t0, tc.sent))
		})
	}
}
