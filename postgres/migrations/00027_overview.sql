-- +goose Up
-- The console's overview (/admin/overview, issue 17) counts sends,
-- bounces, complaints, unsubscribes and human hits over the last 24 hours,
-- 7 or 30 days, by hour or by day. Each count is one range scan on the
-- time column of its table, grouped by bucket (postgres/console_overview.go);
-- email_events has its index on `at` already (00023). These three did not:
--   * messages.sent_at: only (contact_id, sent_at) for the frequency cap,
--     which a range over all contacts cannot use. Partial, since most
--     unsent rows never need it. It does not cost the claims their HOT
--     updates (issue 16): a claim and a renewal change neither sent_at nor
--     anything else this index holds, and the send outcome that sets
--     sent_at already updates messages_contact_sent_idx. One more entry
--     per email sent, always on the index's last page (a rising time).
--   * bounces.at and consent_records.at: small tables next to messages
--     (one row per bounce, complaint or consent change); an entry each.
-- On an installation that already holds millions of messages, build them
-- first without blocking sends, and this migration finds them there:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_sent_at_idx ON messages (sent_at) WHERE sent_at IS NOT NULL;
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS bounces_at_idx ON bounces (at);
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS consent_records_at_idx ON consent_records (at);
CREATE INDEX IF NOT EXISTS messages_sent_at_idx ON messages (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS bounces_at_idx ON bounces (at);
CREATE INDEX IF NOT EXISTS consent_records_at_idx ON consent_records (at);

-- +goose Down
DROP INDEX IF EXISTS consent_records_at_idx;
DROP INDEX IF EXISTS bounces_at_idx;
DROP INDEX IF EXISTS messages_sent_at_idx;
