-- +goose Up
CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    prefix       text NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- When each profile field was last set, by the time of the call that set
-- it: a late-arriving older call does not overwrite a newer value.
ALTER TABLE contacts
    ADD COLUMN trait_times jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN last_ip     text NOT NULL DEFAULT '',
    ADD COLUMN user_agent  text NOT NULL DEFAULT '';

-- Anonymous visitors whose history belongs to a contact.
CREATE TABLE anonymous_ids (
    anonymous_id text PRIMARY KEY,
    contact_id   bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    linked_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX anonymous_ids_contact_idx ON anonymous_ids (contact_id);

CREATE TABLE contact_email_changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    old_email  text NOT NULL,
    new_email  text NOT NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX contact_email_changes_contact_idx ON contact_email_changes (contact_id);

ALTER TABLE events
    ADD COLUMN raw json NOT NULL DEFAULT '{}';
CREATE INDEX events_anonymous_idx ON events (anonymous_id) WHERE contact_id IS NULL;

-- What a contact did, kept current as events arrive (human engagement only).
CREATE TABLE engagement (
    contact_id    bigint PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    first_seen_at timestamptz,
    last_seen_at  timestamptz,
    page_views    bigint NOT NULL DEFAULT 0,
    last_open_at  timestamptz,
    last_click_at timestamptz
);

-- How often a contact did each action (track events by name). A row per
-- action keeps the hot update a plain addition.
CREATE TABLE engagement_actions (
    contact_id bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    action     text NOT NULL,
    count      bigint NOT NULL,
    PRIMARY KEY (contact_id, action)
);

-- +goose Down
DROP TABLE engagement_actions;
DROP TABLE engagement;
DROP INDEX events_anonymous_idx;
ALTER TABLE events DROP COLUMN raw;
DROP TABLE contact_email_changes;
DROP TABLE anonymous_ids;
ALTER TABLE contacts DROP COLUMN trait_times, DROP COLUMN last_ip, DROP COLUMN user_agent;
DROP TABLE api_keys;
