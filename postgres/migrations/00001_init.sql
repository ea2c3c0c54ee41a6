-- +goose Up
CREATE TABLE contacts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id text UNIQUE,
    email       text,
    first_name  text NOT NULL DEFAULT '',
    last_name   text NOT NULL DEFAULT '',
    company     text NOT NULL DEFAULT '',
    industry    text NOT NULL DEFAULT '',
    title       text NOT NULL DEFAULT '',
    role        text NOT NULL DEFAULT '',
    department  text NOT NULL DEFAULT '',
    team_size   text NOT NULL DEFAULT '',
    region      text NOT NULL DEFAULT '',
    country     text NOT NULL DEFAULT '',
    time_zone   text NOT NULL DEFAULT '',
    locale      text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT '',
    attributes  jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    erased_at   timestamptz
);
-- One contact per address, whatever the case of its domain or local part.
CREATE UNIQUE INDEX contacts_email_key ON contacts (lower(email));

CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id   bigint REFERENCES contacts (id) ON DELETE CASCADE,
    anonymous_id text,
    message_id   text NOT NULL UNIQUE,
    type         text NOT NULL CHECK (type IN ('identify', 'track', 'page', 'alias')),
    name         text NOT NULL DEFAULT '',
    properties   jsonb NOT NULL DEFAULT '{}',
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_contact_idx ON events (contact_id, occurred_at);

CREATE TABLE messages (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key   text NOT NULL UNIQUE,
    contact_id   bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    template     text NOT NULL,
    queue        text NOT NULL DEFAULT 'default',
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'sending', 'sent', 'deferred', 'bounced', 'skipped', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    send_at      timestamptz NOT NULL,
    enqueued_at  timestamptz,
    locked_until timestamptz,
    sent_at      timestamptz,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- The reconciler's scan: work that is due and not finished.
CREATE INDEX messages_due_idx ON messages (send_at) WHERE status IN ('queued', 'deferred', 'sending');
CREATE INDEX messages_contact_idx ON messages (contact_id);

CREATE TABLE message_status_history (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    status     text NOT NULL,
    detail     text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_status_history_message_idx ON message_status_history (message_id, id);

-- Suppressions are keyed by a hash of the lower-cased address so that an
-- erased person stays suppressed without us keeping their address.
CREATE TABLE suppressions (
    email_hash bytea PRIMARY KEY,
    email      text,
    reason     text NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'unsubscribe', 'erasure', 'manual')),
    detail     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE suppressions;
DROP TABLE message_status_history;
DROP TABLE messages;
DROP TABLE events;
DROP TABLE contacts;
