-- +goose Up
-- Events and hits partitioned by month (issue 18): retention drops a whole
-- month's partition instead of deleting its rows in batches, and a query
-- over a time window reads only the months it covers.
--
-- Layout (docs/scaling.md, "Partitions"): events by occurred_at and
-- email_events by at, one partition per calendar month in UTC, named
-- <table>_pYYYYMM, and a DEFAULT partition (<table>_default) for any row
-- outside the months made: a backfill of a month without a partition, a
-- client clock years ahead. An insert never fails for want of a
-- partition. The retention job (worker/retention.go) makes the next months
-- ahead of time and drops the months wholly past the retention; rows of
-- the default partition past it are deleted in batches, as before.
--
-- A partitioned table's unique keys must hold the partition key, so
-- events.message_id can no longer be unique on its own: the messageIds of
-- the calls received move to event_keys, one row each, kept for the
-- events' retention by the time the call was received. Ingestion stays
-- idempotent across months: a call replayed a month later (or with another
-- timestamp) finds its key there and stores nothing.
--
-- Ids are kept (the rows are copied with their ids; the identities go on
-- after the largest). Primary keys become (id, time). The foreign key of
-- events to contacts is kept (a partitioned table may refer to others);
-- no table refers to events or email_events.
--
-- Cost: the rows are copied once, and the indexes built after. On an
-- installation with tens of millions of events, plan the downtime or run
-- it in a quiet hour (ingestion waits for it: it holds both tables).

ALTER TABLE events RENAME TO events_unpartitioned;
ALTER TABLE events_unpartitioned ALTER COLUMN id DROP IDENTITY;
ALTER TABLE email_events RENAME TO email_events_unpartitioned;
ALTER TABLE email_events_unpartitioned ALTER COLUMN id DROP IDENTITY;
DROP STATISTICS IF EXISTS events_track_key_stats;

CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    contact_id   bigint,
    anonymous_id text,
    message_id   text NOT NULL,
    type         text NOT NULL,
    name         text NOT NULL DEFAULT '',
    properties   jsonb NOT NULL DEFAULT '{}',
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    raw          json NOT NULL DEFAULT '{}'
) PARTITION BY RANGE (occurred_at);

CREATE TABLE email_events (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    message_id  bigint NOT NULL,
    contact_id  bigint NOT NULL,
    kind        text NOT NULL,
    class       text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    link_index  integer,
    url         text,
    ip          text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL
) PARTITION BY RANGE (at);

CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE TABLE email_events_default PARTITION OF email_events DEFAULT;

-- A partition for each month that holds rows, of the last three years
-- (older rows go to the default partition, and retention deletes them),
-- and for this month and the next three (rows further ahead go to the
-- default partition too).
-- +goose StatementBegin
DO $$
DECLARE
    t record;
    m timestamp; -- a month's first moment, UTC
BEGIN
    FOR t IN SELECT * FROM (VALUES ('events', 'events_unpartitioned', 'occurred_at'),
                                   ('email_events', 'email_events_unpartitioned', 'at')) AS v(parent, old, col)
    LOOP
        FOR m IN EXECUTE format(
            'SELECT DISTINCT date_trunc(''month'', %1$I AT TIME ZONE ''UTC'') FROM %2$I
             WHERE %1$I >= now() - interval ''36 months''
               AND %1$I AT TIME ZONE ''UTC'' < date_trunc(''month'', now() AT TIME ZONE ''UTC'') + interval ''4 months''
             UNION SELECT generate_series(date_trunc(''month'', now() AT TIME ZONE ''UTC''),
                                          date_trunc(''month'', now() AT TIME ZONE ''UTC'') + interval ''3 months'', interval ''1 month'')
             ORDER BY 1', t.col, t.old)
        LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                t.parent || '_p' || to_char(m, 'YYYYMM'), t.parent,
                m AT TIME ZONE 'UTC', (m + interval '1 month') AT TIME ZONE 'UTC');
        END LOOP;
    END LOOP;
END
$$;
-- +goose StatementEnd

INSERT INTO events OVERRIDING SYSTEM VALUE SELECT * FROM events_unpartitioned;
INSERT INTO email_events OVERRIDING SYSTEM VALUE SELECT * FROM email_events_unpartitioned;
SELECT setval(pg_get_serial_sequence('events', 'id'), coalesce(max(id), 0) + 1, false) FROM events;
SELECT setval(pg_get_serial_sequence('email_events', 'id'), coalesce(max(id), 0) + 1, false) FROM email_events;

-- The messageIds of the calls received: ingestion's idempotence. Pruned by
-- received_at (a BRIN index: the time rises with the table, and the index
-- costs next to nothing per insert).
CREATE TABLE event_keys (
    message_id  text PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO event_keys (message_id, received_at) SELECT message_id, received_at FROM events_unpartitioned;
CREATE INDEX event_keys_received_idx ON event_keys USING brin (received_at);

DROP TABLE events_unpartitioned;
DROP TABLE email_events_unpartitioned;

-- The same indexes and constraints as before, now on every partition.
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id, occurred_at);
ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN ('identify', 'track', 'page', 'alias', 'group'));
ALTER TABLE events ADD CONSTRAINT events_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE CASCADE;
CREATE INDEX events_contact_idx ON events (contact_id, occurred_at);
CREATE INDEX events_anonymous_idx ON events (anonymous_id) WHERE contact_id IS NULL;
CREATE INDEX events_occurred_idx ON events (occurred_at);
CREATE INDEX events_track_key_idx ON events (lower(translate(name, E' _-.\t', '')), occurred_at)
    INCLUDE (contact_id, name) WHERE type = 'track';
CREATE STATISTICS events_track_key_stats ON (lower(translate(name, E' _-.\t', ''))) FROM events;

ALTER TABLE email_events ADD CONSTRAINT email_events_pkey PRIMARY KEY (id, at);
ALTER TABLE email_events ADD CONSTRAINT email_events_kind_check CHECK (kind IN ('open', 'click'));
ALTER TABLE email_events ADD CONSTRAINT email_events_class_check CHECK (class IN ('human', 'machine', 'bot'));
CREATE INDEX email_events_contact_idx ON email_events (contact_id, at);
CREATE INDEX email_events_at_idx ON email_events (at);

-- Autovacuum analyses partitions, never a partitioned table: the planner's
-- statistics of the whole (a join's estimate, the name's frequency of
-- events_track_key_stats) come from an explicit ANALYZE, which the
-- retention job repeats on each pass.
ANALYZE events, email_events;

-- +goose Down
ALTER TABLE events RENAME TO events_partitioned;
ALTER TABLE events_partitioned ALTER COLUMN id DROP IDENTITY;
ALTER TABLE email_events RENAME TO email_events_partitioned;
ALTER TABLE email_events_partitioned ALTER COLUMN id DROP IDENTITY;
DROP STATISTICS IF EXISTS events_track_key_stats;
ALTER TABLE events_partitioned DROP CONSTRAINT events_pkey;
ALTER TABLE events_partitioned DROP CONSTRAINT events_type_check;
ALTER TABLE events_partitioned DROP CONSTRAINT events_contact_id_fkey;
DROP INDEX events_contact_idx, events_anonymous_idx, events_occurred_idx, events_track_key_idx;
ALTER TABLE email_events_partitioned DROP CONSTRAINT email_events_pkey;
ALTER TABLE email_events_partitioned DROP CONSTRAINT email_events_kind_check;
ALTER TABLE email_events_partitioned DROP CONSTRAINT email_events_class_check;
DROP INDEX email_events_contact_idx, email_events_at_idx;

CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id   bigint REFERENCES contacts (id) ON DELETE CASCADE,
    anonymous_id text,
    message_id   text NOT NULL UNIQUE,
    type         text NOT NULL CONSTRAINT events_type_check CHECK (type IN ('identify', 'track', 'page', 'alias', 'group')),
    name         text NOT NULL DEFAULT '',
    properties   jsonb NOT NULL DEFAULT '{}',
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    raw          json NOT NULL DEFAULT '{}'
);
CREATE TABLE email_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  bigint NOT NULL,
    contact_id  bigint NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('open', 'click')),
    class       text NOT NULL CHECK (class IN ('human', 'machine', 'bot')),
    reason      text NOT NULL DEFAULT '',
    link_index  integer,
    url         text,
    ip          text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL
);
INSERT INTO events OVERRIDING SYSTEM VALUE SELECT * FROM events_partitioned;
INSERT INTO email_events OVERRIDING SYSTEM VALUE SELECT * FROM email_events_partitioned;
SELECT setval(pg_get_serial_sequence('events', 'id'), coalesce(max(id), 0) + 1, false) FROM events;
SELECT setval(pg_get_serial_sequence('email_events', 'id'), coalesce(max(id), 0) + 1, false) FROM email_events;
DROP TABLE events_partitioned;
DROP TABLE email_events_partitioned;
DROP TABLE event_keys;
CREATE INDEX events_contact_idx ON events (contact_id, occurred_at);
CREATE INDEX events_anonymous_idx ON events (anonymous_id) WHERE contact_id IS NULL;
CREATE INDEX events_occurred_idx ON events (occurred_at);
CREATE INDEX events_track_key_idx ON events (lower(translate(name, E' _-.\t', '')), occurred_at)
    INCLUDE (contact_id, name) WHERE type = 'track';
CREATE STATISTICS events_track_key_stats ON (lower(translate(name, E' _-.\t', ''))) FROM events;
CREATE INDEX email_events_contact_idx ON email_events (contact_id, at);
CREATE INDEX email_events_at_idx ON email_events (at);
