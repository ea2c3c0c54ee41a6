-- +goose Up
-- Regions (issue 18): a contact's region, resolved in Go from its region
-- and country traits (nurture.Regions.Resolve) whenever they are written,
-- and the region each message is stamped with when it is created, which
-- chooses its task queue (eu.default) and the only relay that may send it.
-- '' is an installation without regions. Neither column is indexed: a
-- claim stays a HOT update, and a move finds a contact's pending messages
-- by messages_contact_idx.
ALTER TABLE contacts ADD COLUMN home_region text NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN region text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE messages DROP COLUMN region;
ALTER TABLE contacts DROP COLUMN home_region;
