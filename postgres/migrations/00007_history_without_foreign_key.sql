-- +goose Up
-- Every delivery attempt writes two rows here (claimed, then its outcome),
-- and at thousands of emails a second the foreign key's check of each row
-- against messages cost as much as the insert itself. Messages are never
-- deleted on their own; erasing a contact must delete its messages'
-- history explicitly, as it does its email_events.
ALTER TABLE message_status_history DROP CONSTRAINT message_status_history_message_id_fkey;

-- +goose Down
DELETE FROM message_status_history h WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = h.message_id);
ALTER TABLE message_status_history ADD CONSTRAINT message_status_history_message_id_fkey
    FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE;
