package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/delivery"
	"github.com/nurture-email/nurture/jobs"
)

// answering is a delivery use case that answers each call with err and
// records what it was asked.
type answering struct {
	err error
	got []delivery.Request
}

func (a *answering) Deliver(_ context.Context, req delivery.Request) error {
	a.got = append(a.got, req)
	return a.err
}

func TestSendHandlerTellsAsynqWhatAnErrorMeans(t *testing.T) {
	t.Parallel()
	throttled := &delivery.ThrottledError{Delay: 7 * time.Second}
	tests := []struct {
		name        string
		err         error
		wantErr     bool
		wantNoRetry bool          // asynq.SkipRetry
		wantFailure bool          // counts against the retries
		wantDelay   time.Duration // 0: the back-off's own
	}{
		{name: "delivered", err: nil},
		{name: "nothing worth a retry", err: &delivery.FinalError{Err: errors.New("550 no such user")}, wantErr: true, wantNoRetry: true, wantFailure: true},
		{name: "no such message", err: fmt.Errorf("load: %w", nurture.ErrNotFound), wantErr: true, wantNoRetry: true, wantFailure: true},
		{name: "worker stopping", err: delivery.ErrInterrupted, wantErr: true, wantDelay: time.Second},
		{name: "relay rate", err: throttled, wantErr: true, wantDelay: 7 * time.Second},
		{name: "deferred", err: errors.New("451 try later"), wantErr: true, wantFailure: true},
		{name: "held elsewhere", err: fmt.Errorf("message 3: %w", delivery.ErrHeld), wantErr: true, wantDelay: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			uc := &answering{err: tt.err}
			task, err := jobs.NewSendBatchTask("camp:1", 0, []int64{4, 5}, "")
			require.NoError(t, err)
			err = jobs.NewSendHandler(uc).ProcessTask(context.Background(), task)
			require.Equal(t, []delivery.Request{{IDs: []int64{4, 5}}}, uc.got)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, tt.wantNoRetry, errors.Is(err, asynq.SkipRetry))
			require.Equal(t, tt.wantFailure, jobs.IsFailure(err))
			if tt.wantDelay != 0 {
				require.Equal(t, tt.wantDelay, jobs.RetryDelay(3, err, task))
			}
		})
	}
}

func TestSendHandlerRefusesABadPayloadForGood(t *testing.T) {
	t.Parallel()
	uc := &answering{}
	err := jobs.NewSendHandler(uc).ProcessTask(context.Background(), asynq.NewTask(jobs.TypeEmailSend, []byte("{not json")))
	require.ErrorIs(t, err, asynq.SkipRetry)
	require.Empty(t, uc.got)

	payload, _ := json.Marshal(jobs.SendPayload{MessageID: 9})
	require.NoError(t, jobs.NewSendHandler(uc).ProcessTask(context.Background(), asynq.NewTask(jobs.TypeEmailSend, payload)))
	require.Equal(t, []int64{9}, uc.got[0].IDs)
}
