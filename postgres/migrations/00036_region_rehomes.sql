-- +goose Up
-- The catch-up pass that resolves every contact's region again runs once
-- per declaration of the regions (nurture.Regions.Fingerprint), not at
-- every worker start: one row per fingerprint is its cursor. Each page's
-- transaction locks the row first, so workers starting together share the
-- pages, and one stopped midway leaves the cursor for the next.
CREATE TABLE region_rehomes (
    fingerprint  text PRIMARY KEY,
    after_id     bigint NOT NULL DEFAULT 0,
    contacts     bigint NOT NULL DEFAULT 0,
    moved        bigint NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

-- +goose Down
DROP TABLE region_rehomes;
