-- +goose Up
-- A/B tests and quiet hours of campaigns (issue 14). A/B tests: the test (ab: the variants, the test
-- share, the metric, the wait), each audience member's part (variant: an
-- index into ab.variants, or -1 for the rest, who get the winner), and the
-- decision with the counts it was made on.
ALTER TABLE campaigns ADD COLUMN ab jsonb;
ALTER TABLE campaigns ADD COLUMN winner smallint;
ALTER TABLE campaigns ADD COLUMN decided_at timestamptz;
ALTER TABLE campaigns ADD COLUMN decision jsonb;
ALTER TABLE campaign_audience ADD COLUMN variant smallint NOT NULL DEFAULT -1;
-- Quiet hours: the window, in each contact's local time, its email may
-- go out in (nurture.ParseSendWindow's text; 'any': every moment).
ALTER TABLE campaigns ADD COLUMN send_window text NOT NULL DEFAULT 'any';

-- +goose Down
ALTER TABLE campaigns DROP COLUMN send_window;
ALTER TABLE campaign_audience DROP COLUMN variant;
ALTER TABLE campaigns DROP COLUMN decision;
ALTER TABLE campaigns DROP COLUMN decided_at;
ALTER TABLE campaigns DROP COLUMN winner;
ALTER TABLE campaigns DROP COLUMN ab;
