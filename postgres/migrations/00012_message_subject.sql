-- +goose Up
-- A message may carry a subject of its own (a sequence step's subject
-- override, a text template like the templates' subjects) that replaces
-- its template's; '' means the template's own.
ALTER TABLE messages ADD COLUMN subject text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE messages DROP COLUMN subject;
