-- +goose Up
-- Claims and renewals as HOT updates (issue 16). A claim (queued to
-- sending) and a lease renewal change only columns that no index holds, so
-- that PostgreSQL can write the new row version on the same page without
-- touching any index: before this, each claim added an entry to every one
-- of the table's six indexes for each of its rows, as its outcome did
-- again, because `status` was in three of them.
--   * `pending` says the message is not final; it changes only when the
--     outcome is final. The reconciler's index of due work reads it
--     instead of `status`.
--   * The frequency cap's index holds the messages sent (sent_at is set
--     only by a send), the campaigns' only the campaign.
--   * Pages are half full, so that a batch's claims fit beside the rows
--     they replace; the space is reused from one attempt to the next.
-- The generated column rewrites the table (an exclusive lock for as long
-- as that takes): on an installation with many millions of messages, run
-- this migration in a quiet hour.
ALTER TABLE messages SET (fillfactor = 50);
ALTER TABLE messages ADD COLUMN pending boolean NOT NULL
    GENERATED ALWAYS AS (status IN ('queued', 'deferred', 'sending')) STORED;
DROP INDEX messages_due_idx;
CREATE INDEX messages_due_idx ON messages (send_at) WHERE pending;
DROP INDEX messages_contact_sent_idx;
CREATE INDEX messages_contact_sent_idx ON messages (contact_id, sent_at) WHERE sent_at IS NOT NULL;
DROP INDEX messages_campaign_idx;
CREATE INDEX messages_campaign_idx ON messages (campaign_id) WHERE campaign_id IS NOT NULL;

-- +goose Down
DROP INDEX messages_campaign_idx;
CREATE INDEX messages_campaign_idx ON messages (campaign_id, status) WHERE campaign_id IS NOT NULL;
DROP INDEX messages_contact_sent_idx;
CREATE INDEX messages_contact_sent_idx ON messages (contact_id, sent_at) WHERE status = 'sent';
DROP INDEX messages_due_idx;
CREATE INDEX messages_due_idx ON messages (send_at) WHERE status IN ('queued', 'deferred', 'sending');
ALTER TABLE messages DROP COLUMN pending;
ALTER TABLE messages RESET (fillfactor);
