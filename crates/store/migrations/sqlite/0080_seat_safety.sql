-- Seat safety: daily budgets for the provider reads a seat makes (profile fetches, search pages,
-- relation and inbox reads, activity reads), charged in the action ledger beside sends; the time
-- the seat's status last changed (a recovering seat acts at half budget for a day); and pauses of
-- one kind of action or read for one seat (a LinkedIn limit refusal pauses that kind, not the seat).
ALTER TABLE linkedin_accounts ADD COLUMN daily_profile_fetches INTEGER NOT NULL DEFAULT 90;
ALTER TABLE linkedin_accounts ADD COLUMN daily_search_pages INTEGER NOT NULL DEFAULT 40;
ALTER TABLE linkedin_accounts ADD COLUMN daily_relation_reads INTEGER NOT NULL DEFAULT 40;
ALTER TABLE linkedin_accounts ADD COLUMN daily_inbox_reads INTEGER NOT NULL DEFAULT 3000;
ALTER TABLE linkedin_accounts ADD COLUMN daily_activity_reads INTEGER NOT NULL DEFAULT 60;
ALTER TABLE linkedin_accounts ADD COLUMN status_changed_at INTEGER NOT NULL DEFAULT 0;

CREATE TABLE account_pauses (
    linkedin_account_id      TEXT NOT NULL,
    kind                     TEXT NOT NULL,
    until                    INTEGER NOT NULL,
    reason                   TEXT NOT NULL,
    created_at               INTEGER NOT NULL,
    PRIMARY KEY (linkedin_account_id, kind)
);

-- Webhooks first, polling as a slow reconciliation: when the provider last pushed an event for
-- the seat (its webhooks are healthy while recent), and when the next relation sweep is due.
ALTER TABLE linkedin_accounts ADD COLUMN last_webhook_at INTEGER;
ALTER TABLE inbox_sync_state ADD COLUMN next_relation_sweep_at INTEGER;
