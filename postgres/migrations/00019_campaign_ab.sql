-- +goose Up
-- A/B tests of campaigns (issue 14): the test (ab: the variants, the test
-- share, the metric, the wait), each audience member's part (variant: an
-- index into ab.variants, or -1 for the rest, who get the winner), and the
-- decision with the counts it was made on.
ALTER TABLE campaigns ADD COLUMN ab jsonb;
ALTER TABLE campaigns ADD COLUMN winner smallint;
ALTER TABLE campaigns ADD COLUMN decided_at timestamptz;
ALTER TABLE campaigns ADD COLUMN decision jsonb;
ALTER TABLE campaign_audience ADD COLUMN variant smallint NOT NULL DEFAULT -1;

-- +goose Down
ALTER TABLE campaign_audience DROP COLUMN variant;
ALTER TABLE campaigns DROP COLUMN decision;
ALTER TABLE campaigns DROP COLUMN decided_at;
ALTER TABLE campaigns DROP COLUMN winner;
ALTER TABLE campaigns DROP COLUMN ab;
