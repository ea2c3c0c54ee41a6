-- +goose Up
-- The console (/admin, issue 17). A session is what signing in with an
-- admin API key gives: the browser holds a random token in a cookie, and
-- the database only its SHA-256, the key it was opened with and when it
-- ends. Revoking the key ends its sessions (the look-up joins api_keys).
CREATE TABLE console_sessions (
    token_hash  bytea PRIMARY KEY,
    api_key_id  bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- What was done through the console, by which key (its name is copied, so
-- the line still reads after the key is gone). The target is an id
-- ("campaign:12", "contact:7") or a hash, never an address or a name.
CREATE TABLE admin_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    api_key_id  bigint,
    key_name    text NOT NULL,
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    detail      text NOT NULL DEFAULT ''
);
CREATE INDEX admin_audit_at_idx ON admin_audit (at DESC);

-- +goose Down
DROP TABLE admin_audit;
DROP TABLE console_sessions;
