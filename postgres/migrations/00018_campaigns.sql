-- +goose Up
-- Campaigns (issue 14): one-off emails to a segment. PostgreSQL holds the
-- whole state of a campaign's fan-out: its audience, frozen when the
-- campaign starts (campaign_audience, written page by page with the
-- checkpoint frozen_through), and which of them have their message yet
-- (message_id); a campaign poller in each worker moves it on.
CREATE TABLE campaigns (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                text NOT NULL,
    template            text NOT NULL,
    topic               text NOT NULL,
    subject             text NOT NULL DEFAULT '',
    segment_id          bigint,     -- the saved segment the filter was copied from, if any
    filter              jsonb NOT NULL,
    status              text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled')),
    send_at             timestamptz, -- a moment; or a local time:
    local_date          date,
    local_minute        integer CHECK (local_minute BETWEEN 0 AND 1439),
    fallback_zone       text NOT NULL DEFAULT 'UTC',
    starts_at           timestamptz, -- when the audience freezes (the first zone's local time)
    throttle_per_minute integer NOT NULL DEFAULT 0 CHECK (throttle_per_minute >= 0),
    ends_at             timestamptz, -- unsent emails are dropped after it
    audience            bigint NOT NULL DEFAULT 0,  -- contacts frozen so far
    frozen_through      bigint NOT NULL DEFAULT 0,  -- the freeze's checkpoint: the last contact id done
    frozen              boolean NOT NULL DEFAULT false,
    started_at          timestamptz,
    finished_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((send_at IS NULL) <> (local_date IS NULL)),
    CHECK ((local_date IS NULL) = (local_minute IS NULL))
);
CREATE INDEX campaigns_active_idx ON campaigns (starts_at) WHERE status IN ('scheduled', 'sending');

-- One row per contact of a campaign's frozen audience: when its email is
-- due (its zone's local time, or the moment), its time-zone bucket, and
-- its message once dispatched (or dropped, when the campaign ended first).
CREATE TABLE campaign_audience (
    campaign_id   bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id    bigint NOT NULL,
    due_at        timestamptz NOT NULL,
    bucket        timestamptz NOT NULL,
    message_id    bigint,
    dispatched_at timestamptz,
    dropped       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (campaign_id, contact_id)
);
CREATE INDEX campaign_audience_due_idx ON campaign_audience (campaign_id, due_at, contact_id)
    WHERE message_id IS NULL AND NOT dropped;
CREATE INDEX campaign_audience_dispatched_idx ON campaign_audience (campaign_id, dispatched_at)
    WHERE dispatched_at IS NOT NULL;

ALTER TABLE messages ADD COLUMN campaign_id bigint;
CREATE INDEX messages_campaign_idx ON messages (campaign_id, status) WHERE campaign_id IS NOT NULL;

-- +goose Down
DROP INDEX messages_campaign_idx;
ALTER TABLE messages DROP COLUMN campaign_id;
DROP TABLE campaign_audience;
DROP TABLE campaigns;
