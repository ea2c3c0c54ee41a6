-- +goose Up
-- The sequence poller's due query (issue 12's speed targets): the old
-- index on next_run for every active enrollment made the poller walk all
-- of them, queued or not, to find the few not yet queued (a parallel
-- sequential scan and a sort of 100,000 rows every 250 ms). The due
-- enrollments not yet queued at their revision, and those queued so long
-- ago that the task may be lost, now each have a partial index that holds
-- only them.

-- An active enrollment always has a next run: it is set when it enrolls
-- and at every decision, and only cleared when it ends. Saying so lets the
-- due query drop its "OR next_run IS NULL".
UPDATE enrollments SET next_run = coalesce(updated_at, now()) WHERE status = 'active' AND next_run IS NULL;
ALTER TABLE enrollments ADD CONSTRAINT enrollments_active_next_run
    CHECK (status <> 'active' OR next_run IS NOT NULL);

-- Due and never queued, or changed since it was queued (a decision, a wake).
CREATE INDEX enrollments_unqueued_idx ON enrollments (next_run)
    WHERE status = 'active' AND enqueued_revision IS DISTINCT FROM revision;
-- Queued at its revision and not advanced since: queued again once stale.
CREATE INDEX enrollments_queued_idx ON enrollments (enqueued_at)
    WHERE status = 'active' AND enqueued_revision = revision;

-- They replace the index on next_run of every active enrollment, which
-- nothing else reads: one index fewer to write at every decision.
DROP INDEX enrollments_due_idx;

-- +goose Down
CREATE INDEX enrollments_due_idx ON enrollments (next_run) WHERE status = 'active';
DROP INDEX enrollments_queued_idx;
DROP INDEX enrollments_unqueued_idx;
ALTER TABLE enrollments DROP CONSTRAINT enrollments_active_next_run;
