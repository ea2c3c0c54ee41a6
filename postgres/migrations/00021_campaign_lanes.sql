-- +goose Up
-- A campaign's audience freezes in lanes (issue 14: a million contacts in
-- well under a minute): lane i of n takes the contacts whose id is i
-- modulo n, with a checkpoint of its own, so that n transactions write
-- message rows at once (one statement each, holding the campaign's row
-- only FOR SHARE: a pause or a cancel still waits for them). The number
-- of lanes is fixed when the campaign starts (its rows here); the
-- campaign's audience is the sum of its lanes'.
CREATE TABLE campaign_lanes (
    campaign_id    bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    lane           smallint NOT NULL CHECK (lane >= 0),
    frozen_through bigint NOT NULL DEFAULT 0,  -- the lane's checkpoint: the last contact id done
    frozen         boolean NOT NULL DEFAULT false,
    audience       bigint NOT NULL DEFAULT 0,  -- contacts the lane froze
    PRIMARY KEY (campaign_id, lane)
);

-- Campaigns that started before lanes: one lane each, where they were.
INSERT INTO campaign_lanes (campaign_id, lane, frozen_through, frozen, audience)
SELECT id, 0, frozen_through, frozen, audience FROM campaigns WHERE started_at IS NOT NULL;

ALTER TABLE campaigns DROP COLUMN audience, DROP COLUMN frozen_through;

-- +goose Down
ALTER TABLE campaigns ADD COLUMN audience bigint NOT NULL DEFAULT 0,
    ADD COLUMN frozen_through bigint NOT NULL DEFAULT 0;
UPDATE campaigns c SET audience = l.audience, frozen_through = l.through
FROM (SELECT campaign_id, sum(audience) AS audience, CASE WHEN bool_and(frozen) THEN max(frozen_through) ELSE min(frozen_through) END AS through
      FROM campaign_lanes GROUP BY campaign_id) l WHERE l.campaign_id = c.id;
DROP TABLE campaign_lanes;
