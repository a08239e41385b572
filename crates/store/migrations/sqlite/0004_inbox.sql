-- The unified inbox (conversations and messages of every connected account),
-- its sync state, scheduled responses, and the outbound scheduler's ledger.

CREATE TABLE conversations (
    id                       TEXT PRIMARY KEY,
    group_id                 TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    linkedin_account_id      TEXT NOT NULL REFERENCES linkedin_accounts (id) ON DELETE CASCADE,
    provider_chat_id         TEXT NOT NULL,
    name                     TEXT,
    participant_provider_id  TEXT,
    prospect_id              TEXT,
    is_inmail                INTEGER NOT NULL DEFAULT 0,
    unread_count             INTEGER NOT NULL DEFAULT 0,
    last_message_at          INTEGER,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    UNIQUE (linkedin_account_id, provider_chat_id)
);
CREATE INDEX conversations_participant ON conversations (group_id, participant_provider_id);
CREATE INDEX conversations_prospect ON conversations (group_id, prospect_id);

CREATE TABLE messages (
    id                       TEXT PRIMARY KEY,
    group_id                 TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    linkedin_account_id      TEXT NOT NULL REFERENCES linkedin_accounts (id) ON DELETE CASCADE,
    conversation_id          TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    provider_message_id      TEXT NOT NULL,
    sender_provider_id       TEXT NOT NULL,
    is_sender                INTEGER NOT NULL,
    body                     TEXT NOT NULL,
    sent_at                  INTEGER NOT NULL,
    parent_message_id        TEXT,
    attachments              TEXT NOT NULL,
    prospect_id              TEXT,
    created_at               INTEGER NOT NULL,
    UNIQUE (linkedin_account_id, provider_message_id)
);
CREATE INDEX messages_group_sent ON messages (group_id, sent_at, id);
CREATE INDEX messages_conversation_sent ON messages (conversation_id, sent_at, id);

CREATE TABLE inbox_sync_state (
    linkedin_account_id      TEXT PRIMARY KEY REFERENCES linkedin_accounts (id) ON DELETE CASCADE,
    backfilled               INTEGER NOT NULL DEFAULT 0,
    last_activity_at         INTEGER,
    last_synced_at           INTEGER,
    last_relation_at         INTEGER
);

CREATE TABLE scheduled_responses (
    id                       TEXT PRIMARY KEY,
    group_id                 TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    prospect_id              TEXT NOT NULL,
    linkedin_account_id      TEXT NOT NULL,
    channel                  TEXT NOT NULL,
    body                     TEXT NOT NULL,
    subject                  TEXT,
    conversation_id          TEXT,
    recipient_provider_id    TEXT NOT NULL,
    provider_chat_id         TEXT,
    status                   TEXT NOT NULL,
    scheduled_at             INTEGER NOT NULL,
    deferred                 INTEGER NOT NULL DEFAULT 0,
    sent_at                  INTEGER,
    message_id               TEXT,
    failure_code             TEXT,
    failure_message          TEXT,
    idempotency_key          TEXT,
    request_hash             TEXT,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);
CREATE INDEX scheduled_responses_group ON scheduled_responses (group_id, created_at, id);
CREATE UNIQUE INDEX scheduled_responses_idempotency ON scheduled_responses (group_id, idempotency_key);

CREATE TABLE outbound_actions (
    id                       TEXT PRIMARY KEY,
    linkedin_account_id      TEXT NOT NULL,
    kind                     TEXT NOT NULL,
    ref_id                   TEXT NOT NULL,
    performed_at             INTEGER NOT NULL,
    UNIQUE (kind, ref_id)
);
CREATE INDEX outbound_actions_account ON outbound_actions (linkedin_account_id, kind, performed_at);

CREATE TABLE account_send_state (
    linkedin_account_id      TEXT PRIMARY KEY,
    next_slot_at             INTEGER NOT NULL
);
