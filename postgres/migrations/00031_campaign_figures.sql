-- +goose Up
-- A campaign's figures as last counted (issue 17): the console shows a big
-- campaign's statistics from here, counted again in the background, since
-- counting a 1,000,000-recipient campaign's messages and hits takes
-- seconds. Counts only, no one's data.
CREATE TABLE campaign_figures (
    campaign_id bigint PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    figures     jsonb NOT NULL,
    counted_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE campaign_figures;
