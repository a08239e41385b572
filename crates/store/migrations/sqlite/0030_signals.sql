-- Signals (spec 2.6): signal scans, the prospects each scan evaluates, and the
-- scored activity items of each completed evaluation.
--
-- A scan copies its specification (`specification_snapshot`, JSON) and its
-- prospect list (`signal_scan_prospects`) when it is created, so later edits
-- of the specification or the audience do not change a running scan. One
-- evaluation per (scan, prospect) is written in the transaction that stores
-- its items and marks the prospect done, so a scan resumed after a crash
-- never stores an item twice.

CREATE TABLE signal_scans (
    id                      TEXT PRIMARY KEY,
    group_id                TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    specification_id        TEXT NOT NULL,
    specification_snapshot  TEXT NOT NULL,
    audience_id             TEXT NOT NULL,
    linkedin_account_id     TEXT NOT NULL,
    name                    TEXT NOT NULL,
    status                  TEXT NOT NULL,
    narrowed                INTEGER NOT NULL,
    total_count             INTEGER NOT NULL DEFAULT 0,
    processed_count         INTEGER NOT NULL DEFAULT 0,
    evaluated_count         INTEGER NOT NULL DEFAULT 0,
    skipped_count           INTEGER NOT NULL DEFAULT 0,
    matched_count           INTEGER NOT NULL DEFAULT 0,
    signal_count            INTEGER NOT NULL DEFAULT 0,
    error_code              TEXT,
    error_message           TEXT,
    idempotency_key         TEXT,
    request_hash            TEXT,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);
CREATE INDEX signal_scans_group ON signal_scans (group_id, created_at, id);
CREATE INDEX signal_scans_specification ON signal_scans (group_id, specification_id, status);
CREATE UNIQUE INDEX signal_scans_idempotency ON signal_scans (group_id, idempotency_key);

-- The prospects of a scan; `state` is pending, evaluated or skipped.
CREATE TABLE signal_scan_prospects (
    scan_id      TEXT NOT NULL REFERENCES signal_scans (id) ON DELETE CASCADE,
    prospect_id  TEXT NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    state        TEXT NOT NULL,
    PRIMARY KEY (scan_id, prospect_id)
);
CREATE INDEX signal_scan_prospects_pending ON signal_scan_prospects (scan_id, state, position, prospect_id);

-- One completed evaluation of one prospect by one scan.
CREATE TABLE signal_evaluations (
    scan_id           TEXT NOT NULL REFERENCES signal_scans (id) ON DELETE CASCADE,
    prospect_id       TEXT NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
    group_id          TEXT NOT NULL,
    specification_id  TEXT NOT NULL,
    item_count        INTEGER NOT NULL,
    evaluated_at      INTEGER NOT NULL,
    PRIMARY KEY (scan_id, prospect_id)
);
CREATE INDEX signal_evaluations_prospect ON signal_evaluations (group_id, prospect_id, evaluated_at, scan_id);

-- The scored items of an evaluation (spec S5 item fields).
CREATE TABLE signal_items (
    scan_id         TEXT NOT NULL,
    prospect_id     TEXT NOT NULL,
    source          TEXT NOT NULL,
    item_id         TEXT NOT NULL,
    score           INTEGER NOT NULL,
    reasoning       TEXT NOT NULL,
    summary         TEXT NOT NULL,
    title           TEXT,
    posted_at       INTEGER,
    post_link       TEXT,
    total_likes     INTEGER,
    total_comments  INTEGER,
    reply_summary   TEXT,
    commented_at    INTEGER,
    comment_link    TEXT,
    job_url         TEXT,
    company_name    TEXT,
    PRIMARY KEY (scan_id, prospect_id, source, item_id),
    FOREIGN KEY (scan_id, prospect_id) REFERENCES signal_evaluations (scan_id, prospect_id) ON DELETE CASCADE
);
