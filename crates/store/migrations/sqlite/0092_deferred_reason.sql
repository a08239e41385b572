-- Why a queued reply waits (docs/decisions.md, "Additions for the console"): the safety rule that
-- last moved its scheduled time (working_hours, daily_cap, weekly_cap, spacing, rate_limited,
-- seat_paused); NULL while none did.
ALTER TABLE scheduled_responses ADD COLUMN deferred_reason TEXT;
