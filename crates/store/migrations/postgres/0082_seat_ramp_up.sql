-- A new or little-used LinkedIn account warms up: for this many weeks after it is connected its
-- caps and budgets are a growing fraction of the configured ones (0: full caps at once).
ALTER TABLE linkedin_accounts ADD COLUMN ramp_up_weeks BIGINT NOT NULL DEFAULT 0;
