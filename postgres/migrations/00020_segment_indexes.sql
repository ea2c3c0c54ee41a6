-- +goose Up
-- Segment previews (issue 14): "did EVENT [within D]" asks events by the
-- name as nurture.EventKey folds it (case, spaces, '_', '-', '.' and tabs
-- ignored), which postgres/segment.go computes as
-- lower(translate(name, E' _-.\t', '')). This index holds exactly that
-- expression for track events, then the time, with the contact: the
-- contacts who did an event in a window are one range of it, read without
-- the table (an index-only scan once vacuumed), and PostgreSQL hashes them
-- against the contacts (a semi-join for did, an anti-join for not did).
-- Without it every preview that names an event scanned all the events.
--
-- Cost: one more index entry for each track event ingested (see
-- docs/benchmarks.md, "Segment preview"). On an installation that already
-- holds millions of events, build it first without blocking ingestion:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS events_track_key_idx ON events
--     (lower(translate(name, E' _-.\t', '')), occurred_at) INCLUDE (contact_id)
--     WHERE type = 'track';
-- and this migration finds it there.
CREATE INDEX IF NOT EXISTS events_track_key_idx ON events (lower(translate(name, E' _-.\t', '')), occurred_at)
    INCLUDE (contact_id) WHERE type = 'track';

-- +goose Down
DROP INDEX events_track_key_idx;
