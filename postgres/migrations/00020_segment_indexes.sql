-- +goose Up
-- Segment previews (issue 14): "did EVENT [within D]" asks events by the
-- name as nurture.EventKey folds it (case, spaces, '_', '-', '.' and tabs
-- ignored), which postgres/segment.go computes as
-- lower(translate(name, E' _-.\t', '')). This index holds exactly that
-- expression for track events, then the time, with the contact: the
-- contacts who did an event in a window are one range of it, and
-- PostgreSQL hashes them against the contacts (a semi-join for did, an
-- anti-join for not did). name is included only so that the planner
-- reads the range without the table (an index-only scan: it wants every
-- column the expression is computed from, and reading 226,000 events out
-- of the table took 2 s where the index alone takes 60 ms). Without the
-- index, every preview that names an event read all the events.
--
-- The statistics object gives the planner the frequency of each name: a
-- partial index's own statistics are not used for estimates, and with the
-- default guess (0.5%) it probed the events of each contact instead of
-- hashing the window's contacts once.
--
-- Cost: one more index entry for each track event ingested (see
-- docs/benchmarks.md, "Segment preview"). On an installation that already
-- holds millions of events, build it first without blocking ingestion
-- (45 s for 20,000,000 events here):
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS events_track_key_idx ON events
--     (lower(translate(name, E' _-.\t', '')), occurred_at) INCLUDE (contact_id, name)
--     WHERE type = 'track';
-- and this migration finds it there.
CREATE INDEX IF NOT EXISTS events_track_key_idx ON events (lower(translate(name, E' _-.\t', '')), occurred_at)
    INCLUDE (contact_id, name) WHERE type = 'track';
CREATE STATISTICS IF NOT EXISTS events_track_key_stats ON (lower(translate(name, E' _-.\t', ''))) FROM events;

-- +goose Down
DROP STATISTICS IF EXISTS events_track_key_stats;
DROP INDEX IF EXISTS events_track_key_idx;
