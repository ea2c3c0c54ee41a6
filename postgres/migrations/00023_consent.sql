-- +goose Up
-- Data rights (issue 15, part B): corrections, consent records, retention.

-- The fields and attributes the person told us themselves (a correction
-- through PATCH /v1/contacts/{id}), keyed as trait_times, with when. An
-- identify call (the product's word) and enrichment leave them alone.
ALTER TABLE contacts ADD COLUMN told jsonb NOT NULL DEFAULT '{}';

-- Every consent given or withdrawn, per topic: the history that the
-- current state (topic_optouts, topic_optins) came from. A record without
-- a topic concerns the whole address (a bounce that suppressed it).
CREATE TABLE consent_records (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    topic      text CHECK (topic IN ('onboarding', 'education', 'product', 'marketing', 'transactional')),
    granted    boolean NOT NULL,
    source     text NOT NULL CHECK (source IN ('api', 'import', 'preference_page', 'one_click',
                                               'double_opt_in', 'bounce', 'complaint')),
    ip         text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_records_contact_idx ON consent_records (contact_id, id);

-- Explicit opt-ins, the counterpart of topic_optouts: a topic that
-- requires an opt-in (NURTURE_REQUIRE_MARKETING_CONSENT) is sent only to
-- the contacts with a row here. A contact has at most one of the two per
-- topic.
CREATE TABLE topic_optins (
    contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    topic      text NOT NULL CHECK (topic IN ('onboarding', 'education', 'product', 'marketing')),
    created_at timestamptz NOT NULL DEFAULT now(),
    via        text NOT NULL,
    PRIMARY KEY (contact_id, topic)
);

-- Retention: the periodic job deletes raw events and hits older than the
-- retention in small batches, found through these indexes (without them
-- each batch would read the whole table). Cost: one more index entry per
-- event and per hit, on a rising time, so always on the index's last page.
-- On an installation that already holds millions of rows, build them first
-- without blocking writes:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS events_occurred_idx ON events (occurred_at);
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS email_events_at_idx ON email_events (at);
-- and this migration finds them there.
CREATE INDEX IF NOT EXISTS events_occurred_idx ON events (occurred_at);
CREATE INDEX IF NOT EXISTS email_events_at_idx ON email_events (at);

-- +goose Down
DROP INDEX IF EXISTS email_events_at_idx;
DROP INDEX IF EXISTS events_occurred_idx;
DROP TABLE topic_optins;
DROP TABLE consent_records;
ALTER TABLE contacts DROP COLUMN told;
