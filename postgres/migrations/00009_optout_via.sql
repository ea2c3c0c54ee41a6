-- +goose Up
-- How each opt-out was made, shown by GET /v1/contacts/{id}. Every opt-out
-- so far came through an email's own link (one-click or the preference
-- page), so that is the default; a writer with another way (an admin
-- change, an import) names its own.
ALTER TABLE topic_optouts ADD COLUMN via text NOT NULL DEFAULT 'email_link';

-- +goose Down
ALTER TABLE topic_optouts DROP COLUMN via;
