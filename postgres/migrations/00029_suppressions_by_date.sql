-- +goose Up
-- The console's suppression list (issue 17) pages through suppressions
-- newest first, by (created_at, email_hash): this index lets each page read
-- its 50 rows without sorting the whole list.
CREATE INDEX suppressions_created_idx ON suppressions (created_at DESC, email_hash DESC);

-- +goose Down
DROP INDEX suppressions_created_idx;
