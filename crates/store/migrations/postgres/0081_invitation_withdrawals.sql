-- Stale-invitation withdrawal: per seat, the age past which a pending invitation is withdrawn
-- (0: never) and the most withdrawals a day (charged in the action ledger as `withdrawal`);
-- and one row per invitation the engine withdrew or gave up on, so none is withdrawn twice
-- nor retried forever. `state`: `pending` (a try failed and will be retried), `withdrawn`,
-- or `failed` (given up). Timestamps are integer milliseconds.
ALTER TABLE linkedin_accounts ADD COLUMN daily_withdrawals BIGINT NOT NULL DEFAULT 20;
ALTER TABLE linkedin_accounts ADD COLUMN withdraw_invitations_after_days BIGINT NOT NULL DEFAULT 21;

CREATE TABLE invitation_withdrawals (
    linkedin_account_id      TEXT NOT NULL,
    send_token               TEXT NOT NULL,
    invitation_id            TEXT NOT NULL,
    work_kind                TEXT NOT NULL,
    ref_id                   TEXT NOT NULL,
    state                    TEXT NOT NULL,
    attempts                 BIGINT NOT NULL,
    reason                   TEXT,
    withdrawn_at             BIGINT,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    PRIMARY KEY (linkedin_account_id, send_token)
);
CREATE INDEX invitation_withdrawals_ref ON invitation_withdrawals (ref_id);
CREATE INDEX outbound_sends_invitations ON outbound_sends (linkedin_account_id, action, state, started_at);
