-- +goose Up
-- Every bounce and complaint a provider reported. Like suppressions, keyed
-- by a hash of the address and never holding the address itself (the
-- domain takes it out of the reason), so erasing a person leaves nothing
-- here to erase. event_key makes a provider's retry of the same event a
-- no-op: its own event id, or a digest of the bounce when it gives none.
CREATE TABLE bounces (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email_hash  bytea NOT NULL,
    type        text NOT NULL CHECK (type IN ('hard', 'soft', 'complaint')),
    reason      text NOT NULL DEFAULT '',
    provider    text NOT NULL,
    event_key   text NOT NULL,
    message_id  text NOT NULL DEFAULT '', -- the Message-ID header of the mail, as reported
    at          timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, event_key, email_hash)
);
CREATE INDEX bounces_email_idx ON bounces (email_hash, at);

-- Soft bounces so far per address: the address is suppressed when the
-- count reaches the configured limit.
CREATE TABLE soft_bounces (
    email_hash bytea PRIMARY KEY,
    count      integer NOT NULL,
    last_at    timestamptz NOT NULL
);

-- +goose Down
DROP TABLE soft_bounces;
DROP TABLE bounces;
