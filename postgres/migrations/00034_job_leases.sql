-- +goose Up
-- One row per periodic job (the reconciler, the pollers, retention, the
-- overview counts): which process holds it and until when, by the
-- database's clock, so that with several worker processes each job runs
-- in one of them at a time (issue 18). Taken, renewed and released by
-- single statements, with no session state: it works through a pooler in
-- transaction mode. runs and last_run_at count the passes run, whoever
-- ran them; takeovers counts the changes of holder.
CREATE TABLE job_leases (
    job          text PRIMARY KEY,
    holder       text,
    held_until   timestamptz NOT NULL,
    taken_at     timestamptz NOT NULL,
    takeovers    bigint NOT NULL DEFAULT 0,
    runs         bigint NOT NULL DEFAULT 0,
    last_run_at  timestamptz
);

-- +goose Down
DROP TABLE job_leases;
