-- +goose Up
-- email_events is the hottest insert of all, and each of its indexes is
-- maintained on every open and click: the index by message cost about a
-- tenth of the writer's statement. Every reader knows the contact (a
-- message's timeline finds its hits through the message's contact; the
-- engagement summaries and erasure go by contact), so the contact's index
-- serves them all.
DROP INDEX email_events_message_idx;

-- +goose Down
CREATE INDEX email_events_message_idx ON email_events (message_id, at);
