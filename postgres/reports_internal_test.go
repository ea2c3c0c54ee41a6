package postgres

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
)

func TestReplicaLag(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name     string
		caughtUp bool
		age      *float64
		want     time.Duration
	}{
		{"caught up, last transaction long ago (an idle primary)", true, f(3600), 0},
		{"caught up, nothing replayed since start", true, nil, 0},
		{"behind, last transaction 2.5 s old", false, f(2.5), 2500 * time.Millisecond},
		{"behind, nothing replayed since start: unknown, without bound", false, nil, time.Duration(1<<63 - 1)},
		{"behind, replica clock behind the primary's", false, f(-1), 0},
		{"behind, absurdly old", false, f(1e300), time.Duration(1<<63 - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, replicaLag(tt.caughtUp, tt.age))
		})
	}
}

func TestReplicaFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		err         error
		retry, down bool
	}{
		{"connection refused", fmt.Errorf("query: %w", errors.New("dial tcp 127.0.0.1:5433: connect: connection refused")), true, true},
		{"connection lost mid-query", io.ErrUnexpectedEOF, true, true},
		{"server shutting down", &pgconn.PgError{Code: "57P01"}, true, true},
		{"connection exception", &pgconn.PgError{Code: "08006"}, true, true},
		{"cancelled for a conflict with recovery", fmt.Errorf("count: %w", &pgconn.PgError{Code: "40001"}), true, false},
		{"a query the primary would refuse too", &pgconn.PgError{Code: "42P01"}, false, false},
		{"a domain error", &nurture.Error{Code: nurture.CodeInvalid, Message: "bad"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			retry, down := replicaFailure(tt.err)
			require.Equal(t, tt.retry, retry, "retry")
			require.Equal(t, tt.down, down, "down")
		})
	}
}
