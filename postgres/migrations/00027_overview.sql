-- +goose Up
-- The console's overview (/admin/overview, issue 17) shows sends, bounces,
-- complaints, unsubscribes and human hits over the last 24 hours, 7 or 30
-- days, by hour or by day.
--
-- Counting them from the raw rows is a range scan on each table's time
-- column, grouped by hour (postgres/console_overview.go); measured with a
-- million contacts and two million sends in 30 days, that took 4 s for 30
-- days. So an hour's counts are kept here once it is old enough not to
-- change (activity_hours): a view reads at most the last few hours from the
-- raw rows, and the rest from here, 24 to 720 rows. Counts only, no one's
-- data; an erasure leaves them as they are.
CREATE TABLE activity_hours (
    hour          timestamptz PRIMARY KEY,
    sent          bigint NOT NULL,
    delivered     bigint NOT NULL,
    hard_bounces  bigint NOT NULL,
    soft_bounces  bigint NOT NULL,
    complaints    bigint NOT NULL,
    unsubscribes  bigint NOT NULL,
    human_opens   bigint NOT NULL,
    human_clicks  bigint NOT NULL,
    computed_at   timestamptz NOT NULL
);

-- The range scans need an index on each time column; email_events has its
-- own on `at` already (00023). These three did not:
--   * messages.sent_at: only (contact_id, sent_at) for the frequency cap,
--     which a range over all contacts cannot use. Partial, since unsent
--     rows never need it. It costs the claims none of their HOT updates
--     (issue 16): a claim and a renewal change neither sent_at nor anything
--     else this index holds, and the send outcome that sets sent_at already
--     updates messages_contact_sent_idx. One more entry per email sent,
--     always on the index's last page (a rising time).
--   * bounces.received_at and consent_records.at: small tables next to
--     messages (one row per bounce, complaint or consent change); an entry
--     each. Bounces count by when we received them: the time a provider
--     gives may be hours old, in an hour already kept.
-- On an installation that already holds millions of messages, build them
-- first without blocking sends, and this migration finds them there:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_sent_at_idx ON messages (sent_at) WHERE sent_at IS NOT NULL;
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS bounces_received_idx ON bounces (received_at);
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS consent_records_at_idx ON consent_records (at);
CREATE INDEX IF NOT EXISTS messages_sent_at_idx ON messages (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS bounces_received_idx ON bounces (received_at);
CREATE INDEX IF NOT EXISTS consent_records_at_idx ON consent_records (at);

-- +goose Down
DROP INDEX IF EXISTS consent_records_at_idx;
DROP INDEX IF EXISTS bounces_received_idx;
DROP INDEX IF EXISTS messages_sent_at_idx;
DROP TABLE activity_hours;
