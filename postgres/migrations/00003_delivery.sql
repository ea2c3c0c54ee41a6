-- +goose Up
-- The topic a message turned out to have once rendered: frequency caps and
-- statistics count by it.
ALTER TABLE messages ADD COLUMN topic text NOT NULL DEFAULT '';
CREATE INDEX messages_contact_sent_idx ON messages (contact_id, sent_at) WHERE status = 'sent';

-- Topics a contact no longer wants (the preference page, one-click unsubscribe).
CREATE TABLE topic_optouts (
    contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    topic      text NOT NULL CHECK (topic IN ('onboarding', 'education', 'product', 'marketing')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contact_id, topic)
);

-- +goose Down
DROP TABLE topic_optouts;
DROP INDEX messages_contact_sent_idx;
ALTER TABLE messages DROP COLUMN topic;
