-- +goose Up
-- Saved segments (issue 14): a named condition tree, evaluated over every
-- contact when it is previewed or a campaign starts. filter is the tree
-- as the client sent it (the JSON map form of the condition language);
-- condition its canonical text form, for people and logs.
CREATE TABLE segments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    filter      jsonb NOT NULL,
    condition   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX segments_name_idx ON segments (lower(name));

-- +goose Down
DROP TABLE segments;
