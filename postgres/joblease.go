package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-email/nurture"
)

// TakeJobLease takes the lease of job for holder for ttl from now, by the
// database's clock, or renews it when holder has it already; it is taken
// only when it is free: never taken, released, or lapsed. In the same
// statement, when the job's last pass (by any holder) began period ago or
// more, a pass is counted and PassDue says to run it: a process that
// takes over runs at the job's period, not at once. One statement and no
// session state, so it works through a pooler in transaction mode. A
// lease held by another process comes back with Held false.
func (db *DB) TakeJobLease(ctx context.Context, job, holder string, ttl, period time.Duration) (nurture.JobLease, error) {
	l := nurture.JobLease{Job: job, Holder: holder}
	err := db.pool.QueryRow(ctx, `
		INSERT INTO job_leases AS l (job, holder, held_until, taken_at, takeovers, runs, last_run_at)
		VALUES ($1, $2, now() + $3 * interval '1 microsecond', now(), 1, 1, now())
		ON CONFLICT (job) DO UPDATE SET
			holder = $2,
			held_until = now() + $3 * interval '1 microsecond',
			taken_at = CASE WHEN l.holder = $2 AND l.held_until >= now() THEN l.taken_at ELSE now() END,
			takeovers = l.takeovers + CASE WHEN l.holder = $2 AND l.held_until >= now() THEN 0 ELSE 1 END,
			runs = l.runs + CASE WHEN l.last_run_at IS NULL OR l.last_run_at <= now() - $4 * interval '1 microsecond' THEN 1 ELSE 0 END,
			last_run_at = CASE WHEN l.last_run_at IS NULL OR l.last_run_at <= now() - $4 * interval '1 microsecond'
				THEN now() ELSE l.last_run_at END
		WHERE l.holder = $2 OR l.holder IS NULL OR l.held_until < now()
		RETURNING held_until, taken_at = now(), last_run_at = now(), runs`,
		job, holder, ttl.Microseconds(), period.Microseconds()).Scan(&l.HeldUntil, &l.TookOver, &l.PassDue, &l.Runs)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("take lease of %s: %w", job, err)
	}
	l.Held = true
	return l, nil
}

// RenewJobLease extends holder's lease of job to ttl from now, by the
// database's clock, during a long pass; it counts no pass. False means
// holder no longer holds it (it lapsed and another process took it).
func (db *DB) RenewJobLease(ctx context.Context, job, holder string, ttl time.Duration) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE job_leases SET held_until = now() + $3 * interval '1 microsecond'
		WHERE job = $1 AND holder = $2 AND held_until >= now()`, job, holder, ttl.Microseconds())
	if err != nil {
		return false, fmt.Errorf("renew lease of %s: %w", job, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseJobLease gives holder's lease of job up, so that another process
// takes it at its next try instead of waiting for it to lapse. A lease
// holder no longer has is left alone.
func (db *DB) ReleaseJobLease(ctx context.Context, job, holder string) error {
	_, err := db.pool.Exec(ctx, `UPDATE job_leases SET holder = NULL, held_until = now()
		WHERE job = $1 AND holder = $2`, job, holder)
	if err != nil {
		return fmt.Errorf("release lease of %s: %w", job, err)
	}
	return nil
}

// JobLeases returns every job's lease as the table has it, for tests and
// operators: Holder is "" for a released lease, Held says it is live.
func (db *DB) JobLeases(ctx context.Context) ([]nurture.JobLease, error) {
	rows, err := db.pool.Query(ctx, `SELECT job, coalesce(holder, ''), holder IS NOT NULL AND held_until >= now(), held_until, runs
		FROM job_leases ORDER BY job`)
	if err != nil {
		return nil, fmt.Errorf("read job leases: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (nurture.JobLease, error) {
		var l nurture.JobLease
		err := row.Scan(&l.Job, &l.Holder, &l.Held, &l.HeldUntil, &l.Runs)
		return l, err
	})
}
