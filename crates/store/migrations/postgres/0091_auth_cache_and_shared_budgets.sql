-- Each instance caches authenticated keys (docs/decisions.md, "Key cache"). Revoking a key
-- bumps this one-row epoch in the same transaction; every instance reads it at most every
-- 5 seconds and drops its cached keys when it moved.
CREATE TABLE auth_epoch (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    epoch  BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, epoch) VALUES (1, 0);

-- A key's request budget shared by every instance on this database (docs/decisions.md,
-- "Rate limits across instances"): the GCRA theoretical arrival time in microseconds, for
-- the limit it was measured with. Instances lease slices of it, never one request at a time.
CREATE TABLE rate_budgets (
    key_id            TEXT PRIMARY KEY,
    limit_per_minute  BIGINT NOT NULL,
    tat_micros        BIGINT NOT NULL
);
