-- +goose Up
-- Fenced claims (delivery package): every delivery attempt holds its rows
-- under a claim id of its own, with a lease (locked_until, by the database's
-- clock) that it renews while it works. Outcomes are recorded only for rows
-- still held under the same claim, so an attempt whose lease lapsed and was
-- taken over can write nothing.
--
-- cancel_requested marks a row in a worker's hands that an unsubscribe or an
-- erasure cancelled: the holder looks for the mark every second and skips
-- the email if it has not gone yet. Neither column is indexed: renewing a
-- lease can then be a HOT update.
ALTER TABLE messages ADD COLUMN claim_id bigint,
    ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE messages DROP COLUMN claim_id, DROP COLUMN cancel_requested;
