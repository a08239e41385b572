-- Connected LinkedIn accounts and the sandbox's action journal.

CREATE TABLE linkedin_accounts (
    id                      TEXT PRIMARY KEY,
    group_id                TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    provider                TEXT NOT NULL,
    display_name            TEXT NOT NULL,
    account_type            TEXT NOT NULL,
    status                  TEXT NOT NULL,
    timezone                TEXT NOT NULL,
    working_start_minute    INTEGER NOT NULL,
    working_end_minute      INTEGER NOT NULL,
    daily_messages          INTEGER NOT NULL,
    daily_inmails           INTEGER NOT NULL,
    daily_invitations       INTEGER NOT NULL,
    daily_profile_visits    INTEGER NOT NULL,
    daily_engagements       INTEGER NOT NULL,
    weekly_invitations      INTEGER NOT NULL,
    min_spacing_secs        INTEGER NOT NULL,
    max_spacing_secs        INTEGER NOT NULL,
    provider_settings       TEXT NOT NULL,
    webhook_secret_hash     TEXT,
    rate_limited_until      INTEGER,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);
CREATE INDEX linkedin_accounts_group_created ON linkedin_accounts (group_id, created_at, id);

CREATE TABLE sandbox_actions (
    seq                     INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id              TEXT NOT NULL,
    token                   TEXT NOT NULL,
    kind                    TEXT NOT NULL,
    recipient_provider_id   TEXT NOT NULL,
    chat_id                 TEXT,
    body                    TEXT,
    subject                 TEXT,
    result_id               TEXT NOT NULL,
    at                      INTEGER NOT NULL,
    UNIQUE (account_id, token)
);
