-- +goose Up
-- Erasure (issue 15). An erased contact's rows are deleted, in every table
-- postgres/datamap.go names; what is kept is only a keyed hash of the
-- address (HMAC-SHA256 with NURTURE_ERASURE_KEY, which lives outside the
-- database: a dump alone cannot test guesses against it), so that a later
-- sign-up or import of the same address is held until a new opt-in. When
-- the address was suppressed (a hard bounce, a complaint), the reason is
-- kept too, so that it is suppressed again if it comes back.
CREATE TABLE erased_addresses (
    address_hmac bytea PRIMARY KEY,
    suppression  text,
    erased_at    timestamptz NOT NULL DEFAULT now()
);

-- What erasure did, with no personal data: the contact's number (which
-- names no one once its rows are gone), who asked (an API key's id, or
-- the person through the preference page), when, and how many rows of
-- each table went.
CREATE TABLE erasure_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id  bigint NOT NULL,
    action      text NOT NULL CHECK (action IN ('erase')),
    actor       text NOT NULL CHECK (actor IN ('api_key', 'person')),
    api_key_id  bigint,
    rows        jsonb NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL DEFAULT now()
);

-- A contact whose address was erased before and came back (a sign-up, an
-- import, an address changed to it): no email but transactional ones until
-- a new opt-in clears it (DB.ReleaseHold).
ALTER TABLE contacts ADD COLUMN held_at timestamptz;

-- When the person last asked the preference page for a copy of their
-- data: one a contact an hour.
CREATE TABLE export_requests (
    contact_id   bigint PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    requested_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE export_requests;
ALTER TABLE contacts DROP COLUMN held_at;
DROP TABLE erasure_audit;
DROP TABLE erased_addresses;
