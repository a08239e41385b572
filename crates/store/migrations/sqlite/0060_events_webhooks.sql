-- The event log and outbound webhooks (docs/decisions.md, "Events and webhooks").
-- `events` holds facts appended in the same transaction as the change they
-- describe (`data` is JSON text). An event is fanned out, in that same
-- transaction, to one `webhook_deliveries` row per subscribed enabled endpoint
-- plus a `webhook_delivery` work item; every try is a `webhook_attempts` row,
-- written before the request goes out and finished after it. Deleting an
-- event (retention) takes its deliveries and attempts with it. Timestamps are
-- integer milliseconds; booleans 0/1.

CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    group_id    TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    event_type  TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX events_group_created ON events (group_id, created_at, id);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE webhook_endpoints (
    id                          TEXT PRIMARY KEY,
    group_id                    TEXT NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    url                         TEXT NOT NULL,
    description                 TEXT,
    event_types                 TEXT,
    enabled                     INTEGER NOT NULL,
    disabled_reason             TEXT,
    secret                      TEXT NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  INTEGER,
    failing_since               INTEGER,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_group ON webhook_endpoints (group_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    group_id         TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER,
    manual           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, status);

CREATE TABLE webhook_attempts (
    id               TEXT PRIMARY KEY,
    group_id         TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    owner            TEXT NOT NULL,
    status           TEXT NOT NULL,
    response_status  INTEGER,
    response_body    TEXT,
    error            TEXT,
    latency_ms       INTEGER,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    UNIQUE (delivery_id, attempt)
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, started_at, id);

-- Keys that held every scope before these were added keep holding every scope.
UPDATE api_keys SET scopes = scopes || ',events:read,webhooks:read,webhooks:write'
WHERE scopes = 'audiences:read,audiences:write,prospects:read,prospecting:read,prospecting:write,messages:read,messages:write,campaigns:read,campaigns:write,campaigns:execute,signals:read,signals:write,templates:read,templates:write';
