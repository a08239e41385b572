//! Audience folders and the audience kinds they hold.

use crate::Timestamp;

/// A folder groups audiences of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceFolder {
    pub id: String,
    pub group_id: String,
    pub name: String,
    /// `on_demand` or `monitoring`.
    pub audience_type: String,
    pub is_pinned: bool,
    pub position: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub const ON_DEMAND: &str = "on_demand";
pub const MONITORING: &str = "monitoring";

/// The kind an audience counts as for folders: `monitoring` audiences are
/// `monitoring`; created-once and imported audiences are `on_demand`.
pub fn folder_kind(audience_type: &str) -> &'static str {
    if audience_type == MONITORING { MONITORING } else { ON_DEMAND }
}

pub fn is_audience_kind(text: &str) -> bool {
    text == ON_DEMAND || text == MONITORING
}
