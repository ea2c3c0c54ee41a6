-- +goose Up
-- A lapsed claim is taken over only when it lapses a second time (the
-- fault suite's network cut, 2026-12-06). The first attempt to find a
-- claim lapsed records when (lapse_seen_at) and gives its holder one more
-- lease, from the moment the database could be reached again: a holder
-- that was only cut off, not dead, records what it sent or renews its
-- claim in that time, and nobody sends those emails a second time. A
-- renewal or an outcome clears it. No index holds it, so claims stay HOT
-- updates (migration 00025); adding a nullable column rewrites nothing.
ALTER TABLE messages ADD COLUMN lapse_seen_at timestamptz;

-- +goose Down
ALTER TABLE messages DROP COLUMN lapse_seen_at;
