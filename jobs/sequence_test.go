package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/jobs"
)

// advancing is a sequence engine that answers each advance with err.
type advancing struct {
	err error
	got []int64
}

func (a *advancing) Advance(_ context.Context, id int64) error {
	a.got = append(a.got, id)
	return a.err
}

func (a *advancing) AdvanceBatch(_ context.Context, ids []int64) error {
	a.got = append(a.got, ids...)
	return a.err
}

// TestAdvanceTaskIDIsTheStep: the task id names the enrollment, the step
// and the visit, so the same step queued twice is one task and the next
// step (or a loop's next visit) is another.
func TestAdvanceTaskIDIsTheStep(t *testing.T) {
	t.Parallel()
	e := &nurture.Enrollment{ID: 7, Step: "day-1", Visit: 1}
	task, err := jobs.NewAdvanceTask(e)
	require.NoError(t, err)
	require.Equal(t, jobs.TypeSequenceAdvance, task.Type())
	require.JSONEq(t, `{"enrollment_id":7}`, string(task.Payload()))
	require.Equal(t, "seq:7:day-1:1", jobs.AdvanceTaskID(e.ID, e.Step, e.Visit))
	require.NotEqual(t, jobs.AdvanceTaskID(7, "day-1", 1), jobs.AdvanceTaskID(7, "day-1", 2))
	require.NotEqual(t, jobs.AdvanceTaskID(7, "day-1", 1), jobs.AdvanceTaskID(7, "setup-tips", 1))
}

func TestAdvanceHandlerTellsAsynqWhatAnErrorMeans(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		err         error
		wantErr     bool
		wantNoRetry bool
	}{
		{name: "advanced", err: nil},
		{name: "no such enrollment", err: fmt.Errorf("load: %w", nurture.ErrNotFound), wantErr: true, wantNoRetry: true},
		{name: "database away", err: errors.New("connection refused"), wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			uc := &advancing{err: tt.err}
			task, err := jobs.NewAdvanceTask(&nurture.Enrollment{ID: 3, Step: "s", Visit: 1})
			require.NoError(t, err)
			err = jobs.NewAdvanceHandler(uc).ProcessTask(context.Background(), task)
			require.Equal(t, []int64{3}, uc.got)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, tt.wantNoRetry, errors.Is(err, asynq.SkipRetry))
		})
	}
}

// TestAdvanceBatchTaskIsOneTaskPerBatch: the batch task carries the
// enrollments' ids, the same enrollments at the same revisions make the
// same task id, and a revision moved on makes another; the handler hands
// the whole batch to the engine.
func TestAdvanceBatchTaskIsOneTaskPerBatch(t *testing.T) {
	t.Parallel()
	es := []nurture.Enrollment{{ID: 3, Revision: 1}, {ID: 5, Revision: 4}}
	task, err := jobs.NewAdvanceBatchTask(es)
	require.NoError(t, err)
	require.Equal(t, jobs.TypeSequenceAdvanceBatch, task.Type())
	require.JSONEq(t, `{"enrollment_ids":[3,5]}`, string(task.Payload()))
	require.Equal(t, jobs.AdvanceBatchTaskID(es), jobs.AdvanceBatchTaskID([]nurture.Enrollment{{ID: 3, Revision: 1}, {ID: 5, Revision: 4}}))
	require.NotEqual(t, jobs.AdvanceBatchTaskID(es), jobs.AdvanceBatchTaskID([]nurture.Enrollment{{ID: 3, Revision: 2}, {ID: 5, Revision: 4}}))

	uc := &advancing{}
	require.NoError(t, jobs.NewAdvanceHandler(uc).ProcessTask(context.Background(), task))
	require.Equal(t, []int64{3, 5}, uc.got)
}
