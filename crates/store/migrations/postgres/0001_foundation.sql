-- Foundation: account groups, API keys, idempotency records, audiences, settings.
-- Timestamps are integer milliseconds since the Unix epoch (UTC); ids are text.

CREATE TABLE account_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX account_groups_created ON account_groups (created_at, id);

CREATE TABLE api_keys (
    id                     TEXT PRIMARY KEY,
    name                   TEXT NOT NULL,
    display_prefix         TEXT NOT NULL,
    key_hash               TEXT NOT NULL UNIQUE,
    scopes                 TEXT NOT NULL,
    rate_limit_per_minute  BIGINT NOT NULL,
    revoked_at             BIGINT,
    last_used_at           BIGINT,
    created_at             BIGINT NOT NULL
);

CREATE TABLE api_key_groups (
    key_id    TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    group_id  TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, group_id)
);

CREATE TABLE idempotency_records (
    scope_id        TEXT NOT NULL,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response_status BIGINT,
    response_body   TEXT,
    locked_until    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (scope_id, method, path, idem_key)
);
CREATE INDEX idempotency_records_created ON idempotency_records (created_at);

CREATE TABLE audiences (
    id              TEXT PRIMARY KEY,
    group_id        TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    audience_type   TEXT NOT NULL,
    description     TEXT,
    folder_id       TEXT,
    prospect_count  BIGINT NOT NULL DEFAULT 0,
    filling_job_id  TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX audiences_group_created ON audiences (group_id, created_at, id);

CREATE TABLE server_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
