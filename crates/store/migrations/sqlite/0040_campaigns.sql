-- Campaigns (spec 2.5): drafts created from a starter template (a fixed,
-- versioned workflow defined in code), their content slots (each linking a
-- writing style of the same group), the selected leads, and one workflow
-- instance per lead once started. Each live instance has one `campaign_step`
-- row in work_items. Timestamps are integer milliseconds; booleans 0/1.

CREATE TABLE campaigns (
    id                               TEXT PRIMARY KEY,
    group_id                         TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    name                             TEXT NOT NULL,
    description                      TEXT,
    starter_template_id              TEXT NOT NULL,
    workflow_version                 INTEGER NOT NULL,
    audience_id                      TEXT NOT NULL,
    status                           TEXT NOT NULL,
    include_conversation_history     INTEGER NOT NULL,
    auto_cancel_on_message_received  INTEGER NOT NULL,
    outreach_language                TEXT NOT NULL,
    linkedin_account_id              TEXT,
    selected_lead_count              INTEGER NOT NULL,
    created_at                       INTEGER NOT NULL,
    updated_at                       INTEGER NOT NULL,
    started_at                       INTEGER,
    stopped_at                       INTEGER,
    UNIQUE (group_id, id)
);
CREATE INDEX campaigns_group_created ON campaigns (group_id, created_at, id);

CREATE TABLE campaign_content_slots (
    id                TEXT PRIMARY KEY,
    group_id          TEXT NOT NULL,
    campaign_id       TEXT NOT NULL,
    position          INTEGER NOT NULL,
    channel           TEXT NOT NULL,
    channel_position  INTEGER NOT NULL,
    label             TEXT NOT NULL,
    template_id       TEXT,
    UNIQUE (campaign_id, position),
    FOREIGN KEY (group_id, campaign_id) REFERENCES campaigns (group_id, id) ON DELETE CASCADE,
    FOREIGN KEY (group_id, template_id) REFERENCES writing_styles (group_id, id)
);
CREATE INDEX campaign_content_slots_template ON campaign_content_slots (group_id, template_id);

CREATE TABLE campaign_leads (
    campaign_id  TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    prospect_id  TEXT NOT NULL,
    position     INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, prospect_id)
);
CREATE INDEX campaign_leads_position ON campaign_leads (campaign_id, position);

CREATE TABLE campaign_instances (
    id                   TEXT PRIMARY KEY,
    group_id             TEXT NOT NULL,
    campaign_id          TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    prospect_id          TEXT NOT NULL,
    linkedin_account_id  TEXT NOT NULL,
    step_index           INTEGER NOT NULL,
    state                TEXT NOT NULL,
    stop_reason          TEXT,
    latest_step          TEXT,
    pending_approval     INTEGER NOT NULL DEFAULT 0,
    pending_subject      TEXT,
    pending_body         TEXT,
    approved             INTEGER NOT NULL DEFAULT 0,
    step_started_at      INTEGER NOT NULL,
    next_run_at          INTEGER NOT NULL,
    started_at           INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    UNIQUE (campaign_id, prospect_id)
);
CREATE INDEX campaign_instances_state ON campaign_instances (campaign_id, state);
CREATE INDEX campaign_instances_prospect ON campaign_instances (group_id, prospect_id, state);
