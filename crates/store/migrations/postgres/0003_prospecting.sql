-- Plans and credits, prospects, audience membership and folders, prospecting
-- jobs, quota usage, and the durable work queue shared by every worker.

ALTER TABLE account_groups ADD COLUMN plan TEXT NOT NULL DEFAULT 'tester';
ALTER TABLE account_groups ADD COLUMN credits BIGINT NOT NULL DEFAULT 0;

CREATE TABLE audience_folders (
    id              TEXT PRIMARY KEY,
    group_id        TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    audience_type   TEXT NOT NULL,
    is_pinned       BIGINT NOT NULL DEFAULT 0,
    position        BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX audience_folders_group ON audience_folders (group_id, position, id);

CREATE TABLE prospects (
    id                          TEXT PRIMARY KEY,
    group_id                    TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    provider_id                 TEXT NOT NULL,
    member_id                   TEXT,
    person_id                   TEXT NOT NULL,
    public_identifier           TEXT,
    linkedin_url                TEXT,
    first_name                  TEXT,
    last_name                   TEXT,
    name                        TEXT NOT NULL,
    headline                    TEXT,
    about                       TEXT,
    photo_url                   TEXT,
    title                       TEXT,
    location                    TEXT,
    company_name                TEXT,
    company_linkedin_identifier TEXT,
    company_linkedin_url        TEXT,
    company_industry            TEXT,
    company_website             TEXT,
    email                       TEXT,
    connection_degree           BIGINT,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    UNIQUE (group_id, provider_id)
);
CREATE INDEX prospects_member ON prospects (group_id, member_id);

CREATE TABLE audience_prospects (
    audience_id  TEXT NOT NULL REFERENCES audiences (id) ON DELETE CASCADE,
    prospect_id  TEXT NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
    added_at     BIGINT NOT NULL,
    PRIMARY KEY (audience_id, prospect_id)
);
CREATE INDEX audience_prospects_order ON audience_prospects (audience_id, added_at, prospect_id);
CREATE INDEX audience_prospects_prospect ON audience_prospects (prospect_id);

CREATE TABLE prospecting_jobs (
    id                   TEXT PRIMARY KEY,
    group_id             TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    source_type          TEXT NOT NULL,
    source               TEXT NOT NULL,
    list_type            TEXT NOT NULL,
    max_results          BIGINT NOT NULL,
    search_emails        BIGINT NOT NULL,
    status               TEXT NOT NULL,
    audience_id          TEXT NOT NULL,
    linkedin_account_id  TEXT NOT NULL,
    import_status        TEXT NOT NULL,
    import_done          BIGINT NOT NULL DEFAULT 0,
    import_target        BIGINT NOT NULL,
    enrichment_status    TEXT NOT NULL,
    enrichment_done      BIGINT NOT NULL DEFAULT 0,
    provider_cursor      TEXT,
    pages_fetched        BIGINT NOT NULL DEFAULT 0,
    credits_charged      BIGINT NOT NULL DEFAULT 0,
    error_code           TEXT,
    error_message        TEXT,
    idempotency_key      TEXT,
    request_hash         TEXT,
    cancel_requested     BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX prospecting_jobs_group ON prospecting_jobs (group_id, created_at, id);
CREATE UNIQUE INDEX prospecting_jobs_idempotency ON prospecting_jobs (group_id, idempotency_key);

CREATE TABLE job_prospects (
    job_id       TEXT NOT NULL REFERENCES prospecting_jobs (id) ON DELETE CASCADE,
    prospect_id  TEXT NOT NULL,
    position     BIGINT NOT NULL,
    enriched     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, prospect_id)
);
CREATE INDEX job_prospects_enrichment ON job_prospects (job_id, enriched, position);

CREATE TABLE quota_usage (
    group_id      TEXT NOT NULL,
    list_type     TEXT NOT NULL,
    period_start  BIGINT NOT NULL,
    used          BIGINT NOT NULL,
    PRIMARY KEY (group_id, list_type, period_start)
);

CREATE TABLE work_items (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    ref_id       TEXT NOT NULL,
    group_id     TEXT NOT NULL,
    run_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    UNIQUE (kind, ref_id)
);
CREATE INDEX work_items_due ON work_items (kind, run_at);
