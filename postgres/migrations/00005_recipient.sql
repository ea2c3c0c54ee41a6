-- +goose Up
-- Opens and clicks, with their class: a person, or a machine (mail privacy
-- proxies, image proxies) or a bot (link scanners), which figures and
-- branches that mean "a person engaged" leave out.
--
-- No foreign keys, on purpose: this is the hottest insert of all, and the
-- per-row checks of a foreign key cost more than the insert itself. The
-- writer joins messages and contacts instead (a hit for an erased or unknown
-- contact records nothing), and erasure deletes a contact's rows here
-- explicitly.
CREATE TABLE email_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  bigint NOT NULL,
    contact_id  bigint NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('open', 'click')),
    class       text NOT NULL CHECK (class IN ('human', 'machine', 'bot')),
    reason      text NOT NULL DEFAULT '',
    link_index  integer,
    url         text,
    ip          text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL
);
CREATE INDEX email_events_message_idx ON email_events (message_id, at);
CREATE INDEX email_events_contact_idx ON email_events (contact_id, at);

-- +goose Down
DROP TABLE email_events;
