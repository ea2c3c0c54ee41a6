-- +goose Up
-- Companies are the accounts of a B2B product, created and updated by
-- Segment's group call; a contact belongs to the company of its latest one.
CREATE TABLE companies (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id    text UNIQUE,
    domain      text UNIQUE,
    name        text NOT NULL DEFAULT '',
    industry    text NOT NULL DEFAULT '',
    team_size   text NOT NULL DEFAULT '',
    country     text NOT NULL DEFAULT '',
    traits      jsonb NOT NULL DEFAULT '{}',
    trait_times jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE contacts ADD COLUMN company_id bigint REFERENCES companies (id) ON DELETE SET NULL;
CREATE INDEX contacts_company_idx ON contacts (company_id) WHERE company_id IS NOT NULL;

-- Group calls are stored as events, their groupId as the name, so that a
-- replayed messageId does nothing, as for other calls, and an anonymous
-- visitor's group call links them once they are known. The wider check
-- is added NOT VALID: every stored row passed the narrower one, so there is
-- nothing to scan, and new rows are checked all the same.
ALTER TABLE events DROP CONSTRAINT events_type_check;
ALTER TABLE events ADD CONSTRAINT events_type_check
    CHECK (type IN ('identify', 'track', 'page', 'alias', 'group')) NOT VALID;

-- +goose Down
DELETE FROM events WHERE type = 'group';
ALTER TABLE events DROP CONSTRAINT events_type_check;
ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN ('identify', 'track', 'page', 'alias'));
DROP INDEX contacts_company_idx;
ALTER TABLE contacts DROP COLUMN company_id;
DROP TABLE companies;
