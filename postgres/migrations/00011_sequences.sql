-- +goose Up
-- Sequences (issue 12): enrollments, their history, the versions they were
-- written in, the index that lets an event wake the enrollments waiting on
-- it, why each message was sent, and the outbox through which ingestion
-- tells the engine about events that may start or wake an enrollment.
--
-- Erasure: every table here that names a contact reaches it through a
-- foreign key with ON DELETE CASCADE (directly, or through enrollments or
-- messages), so deleting the contact row deletes all of it.

-- The text of every version of every sequence the engine has run, so that
-- an enrollment keeps the version it entered with after its file changes
-- (sequence.CanMove says when it may move to a newer one).
CREATE TABLE sequence_versions (
    sequence_id text NOT NULL,
    version     text NOT NULL,
    file        text NOT NULL DEFAULT '',
    source      text NOT NULL,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sequence_id, version)
);

-- One contact's walk through one sequence. state is sequence.State as
-- JSON; step and visit repeat the step it stands on and how many times it
-- entered it (the task id of its sequence:advance task). revision counts
-- the changes, so that two advances of the same enrollment cannot both
-- apply; enqueued_revision is the revision a task was queued for, so that
-- the poller queues each due revision once (and again after a grace, in
-- case the task was lost with Redis's data).
CREATE TABLE enrollments (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id        bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    sequence_id       text NOT NULL,
    version           text NOT NULL,
    topic             text NOT NULL,
    status            text NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'completed', 'converted', 'exited', 'failed')),
    reason            text NOT NULL DEFAULT '',
    step              text NOT NULL DEFAULT '',
    visit             integer NOT NULL DEFAULT 0,
    state             jsonb NOT NULL,
    next_run          timestamptz,
    revision          bigint NOT NULL DEFAULT 0,
    enqueued_revision bigint,
    enqueued_at       timestamptz,
    started_at        timestamptz NOT NULL,
    ended_at          timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
-- The poller's scan: active enrollments by when they are due.
CREATE INDEX enrollments_due_idx ON enrollments (next_run) WHERE status = 'active';
-- Entry rules: at most one active enrollment per contact and sequence; the
-- earlier ones are found by the second index.
CREATE UNIQUE INDEX enrollments_active_key ON enrollments (contact_id, sequence_id) WHERE status = 'active';
CREATE INDEX enrollments_contact_idx ON enrollments (contact_id, sequence_id, started_at);

-- Every step an enrollment took (sequence.Record), oldest first.
CREATE TABLE enrollment_history (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrollment_id bigint NOT NULL REFERENCES enrollments (id) ON DELETE CASCADE,
    step          text NOT NULL DEFAULT '',
    kind          text NOT NULL,
    detail        text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL
);
CREATE INDEX enrollment_history_enrollment_idx ON enrollment_history (enrollment_id, id);

-- What may wake an active enrollment before its next_run: the key of an
-- event of its contact ('event:<EventKey>'), a change of their traits
-- ('traits'), an open or click ('hits'). Rewritten at every decision.
CREATE TABLE enrollment_wakes (
    contact_id    bigint NOT NULL,
    key           text NOT NULL,
    enrollment_id bigint NOT NULL REFERENCES enrollments (id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, key, enrollment_id)
);
CREATE INDEX enrollment_wakes_enrollment_idx ON enrollment_wakes (enrollment_id);

-- Why a message was sent: the sequence, its version, the step, and the
-- branch decisions, condition values and waits that led there.
CREATE TABLE message_reasons (
    message_id    bigint PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    enrollment_id bigint REFERENCES enrollments (id) ON DELETE SET NULL,
    sequence_id   text NOT NULL,
    version       text NOT NULL,
    step          text NOT NULL,
    reasons       jsonb NOT NULL DEFAULT '[]'
);

-- The outbox between ingestion and the engine: a row per stored event
-- that may start a sequence or wake an enrollment, written in the
-- ingestion's own transaction, so that none is lost between the two. A
-- poller turns them into enrollments and wakes, then deletes them; a lease
-- lets several pollers share the work.
CREATE TABLE sequence_signals (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id   bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('event', 'traits', 'topic', 'hits')),
    name         text NOT NULL DEFAULT '',
    properties   jsonb NOT NULL DEFAULT '{}',
    at           timestamptz NOT NULL,
    locked_until timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE sequence_signals;
DROP TABLE message_reasons;
DROP TABLE enrollment_wakes;
DROP TABLE enrollment_history;
DROP TABLE enrollments;
DROP TABLE sequence_versions;
