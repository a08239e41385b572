-- Connected LinkedIn accounts and the sandbox's action journal.

CREATE TABLE linkedin_accounts (
    id                      TEXT PRIMARY KEY,
    group_id                TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    provider                TEXT NOT NULL,
    display_name            TEXT NOT NULL,
    account_type            TEXT NOT NULL,
    status                  TEXT NOT NULL,
    timezone                TEXT NOT NULL,
    working_start_minute    BIGINT NOT NULL,
    working_end_minute      BIGINT NOT NULL,
    daily_messages          BIGINT NOT NULL,
    daily_inmails           BIGINT NOT NULL,
    daily_invitations       BIGINT NOT NULL,
    daily_profile_visits    BIGINT NOT NULL,
    daily_engagements       BIGINT NOT NULL,
    weekly_invitations      BIGINT NOT NULL,
    min_spacing_secs        BIGINT NOT NULL,
    max_spacing_secs        BIGINT NOT NULL,
    provider_settings       TEXT NOT NULL,
    webhook_secret_hash     TEXT,
    rate_limited_until      BIGINT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);
CREATE INDEX linkedin_accounts_group_created ON linkedin_accounts (group_id, created_at, id);

CREATE TABLE sandbox_actions (
    seq                     BIGSERIAL PRIMARY KEY,
    account_id              TEXT NOT NULL,
    token                   TEXT NOT NULL,
    kind                    TEXT NOT NULL,
    recipient_provider_id   TEXT NOT NULL,
    chat_id                 TEXT,
    body                    TEXT,
    subject                 TEXT,
    result_id               TEXT NOT NULL,
    at                      BIGINT NOT NULL,
    UNIQUE (account_id, token)
);
