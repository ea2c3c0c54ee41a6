-- +goose Up
-- What makes this installation's data its own. message_id_key signs the
-- Message-ID of each email (nurture.<id>.<tag>@domain, see
-- nurture.MessageIDs): message ids restart at 1 in every database, and a
-- bounce of another installation's mail, or of mail sent before this
-- database was reset, must not mark our message of the same id. It is made
-- here, at random, once: a new database gets a new key, whatever
-- NURTURE_SECRET is. gen_random_uuid() draws from the server's strong
-- random source; two of them give 244 random bits.
--
-- Mail sent before this migration carries the untagged nurture.<id>@domain;
-- legacy_message_ids_below says which ids may have been sent so, so that
-- their bounces are still recognised.
CREATE TABLE installation (
    singleton                 boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    message_id_key            bytea NOT NULL CHECK (length(message_id_key) >= 16),
    legacy_message_ids_below  bigint NOT NULL,
    created_at                timestamptz NOT NULL DEFAULT now()
);
INSERT INTO installation (message_id_key, legacy_message_ids_below)
SELECT uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()),
       coalesce((SELECT max(id) FROM messages), 0) + 1;

-- +goose Down
DROP TABLE installation;
