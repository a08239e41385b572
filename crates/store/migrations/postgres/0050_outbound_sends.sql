-- Fenced outbound sends (docs/decisions.md, "Exactly-once sends"): one row per
-- provider action of a scheduled response or a campaign step, keyed by the
-- action's token. It holds the exact payload (a step's text is composed once
-- and stored before the first attempt; every retry and every reconciliation
-- use this copy) and the current attempt: its number, owner, start, deadline
-- and state. Statements that finish an attempt are fenced by its number.
-- `provider_ref` attributes a provider message or invitation to at most one
-- send of an account. Timestamps are integer milliseconds.

CREATE TABLE outbound_sends (
    token                    TEXT PRIMARY KEY,
    linkedin_account_id      TEXT NOT NULL,
    work_kind                TEXT NOT NULL,
    ref_id                   TEXT NOT NULL,
    action                   TEXT NOT NULL,
    recipient_provider_id    TEXT NOT NULL,
    provider_chat_id         TEXT,
    subject                  TEXT,
    body                     TEXT,
    state                    TEXT NOT NULL,
    attempt                  BIGINT NOT NULL,
    owner                    TEXT,
    started_at               BIGINT,
    deadline                 BIGINT,
    settle_at                BIGINT,
    provider_ref             TEXT,
    last_error               TEXT,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    UNIQUE (linkedin_account_id, provider_ref)
);
