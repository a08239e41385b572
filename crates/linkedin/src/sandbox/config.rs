//! The sandbox's knobs. Stored as JSON in the connected account's settings.

use super::EnforcementConfig;
use crate::types::AccountType;
use serde::{Deserialize, Serialize};

const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SandboxConfig {
    /// Seed of the simulated network: accounts with the same world seed see the same people.
    pub world_seed: u64,
    /// Seed of this account's luck: its connections, acceptances, replies, faults.
    pub account_seed: u64,
    pub account_type: AccountType,
    /// When the account was connected (ms); older conversations predate it.
    pub connected_at_ms: i64,
    /// Share of invitations accepted, and how long acceptance takes.
    pub acceptance_rate: f64,
    pub acceptance_delay_ms: (i64, i64),
    /// Share of delivered messages that get a reply, and how long it takes.
    pub reply_rate: f64,
    pub reply_delay_ms: (i64, i64),
    /// Share of calls that fail with a transient upstream error.
    pub fault_rate: f64,
    /// Outbound actions per minute before LinkedIn answers "too many requests" (0 = never).
    pub burst_per_minute: u32,
    /// InMail credits available.
    pub inmail_credits: u32,
    pub invitations_per_day: u32,
    pub invitations_per_week: u32,
    pub messages_per_day: u32,
    pub inmails_per_day: u32,
    pub visits_per_day: u32,
    pub other_actions_per_day: u32,
    /// Pending invitations withdrawn per day before LinkedIn refuses (`LimitReached(DailyActions)`).
    /// LinkedIn publishes no number; third-party tools stay well under 50. Default 50.
    pub withdrawals_per_day: u32,
    /// Share of people whose email enrichment finds an address.
    pub email_find_rate: f64,
    /// How LinkedIn refuses and restricts a seat that calls too much (see [`EnforcementConfig`]).
    pub enforcement: EnforcementConfig,
    /// Scripted outages, `[startMs, endMs)`: every call answers `AccountDisconnected("ERROR …")`
    /// and the seat's health is `Disconnected("ERROR")` (Unipile's `ERROR` status). Default none.
    pub outages: Vec<(i64, i64)>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            world_seed: 42,
            account_seed: 1,
            account_type: AccountType::Classic,
            connected_at_ms: 1_767_225_600_000, // 2026-01-01
            acceptance_rate: 0.35,
            acceptance_delay_ms: (HOUR_MS, 72 * HOUR_MS),
            reply_rate: 0.3,
            reply_delay_ms: (10 * 60_000, 48 * HOUR_MS),
            fault_rate: 0.0,
            burst_per_minute: 0,
            inmail_credits: 25,
            invitations_per_day: 100,
            invitations_per_week: 200,
            messages_per_day: 250,
            inmails_per_day: 50,
            visits_per_day: 100,
            other_actions_per_day: 100,
            withdrawals_per_day: 50,
            email_find_rate: 0.6,
            enforcement: EnforcementConfig::default(),
            outages: Vec::new(),
        }
    }
}

impl SandboxConfig {
    /// Checks the knobs; `Err` names the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("acceptanceRate", self.acceptance_rate),
            ("replyRate", self.reply_rate),
            ("faultRate", self.fault_rate),
            ("emailFindRate", self.email_find_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        for (name, (min, max)) in
            [("acceptanceDelayMs", self.acceptance_delay_ms), ("replyDelayMs", self.reply_delay_ms)]
        {
            if min < 0 || max < min {
                return Err(format!("{name} must be [min, max] with 0 <= min <= max"));
            }
        }
        if self.enforcement.overdrive_factor.is_nan() || self.enforcement.overdrive_factor < 1.0 {
            return Err("enforcement.overdriveFactor must be at least 1".into());
        }
        if self.outages.iter().any(|&(start, end)| end < start) {
            return Err("outages must be [startMs, endMs] with startMs <= endMs".into());
        }
        Ok(())
    }
}
