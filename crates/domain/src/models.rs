//! Resource models as the store returns them. Wire shapes live in the API crate.

use crate::GroupId;
use crate::Timestamp;
use crate::scope::ScopeSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountGroup {
    pub id: GroupId,
    pub name: String,
    pub created_at: Timestamp,
}

/// An API key as stored: never the plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub display_prefix: String,
    pub key_hash: String,
    pub scopes: ScopeSet,
    pub group_ids: Vec<GroupId>,
    pub rate_limit_per_minute: u32,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl ApiKey {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    pub fn can_access_group(&self, group_id: &str) -> bool {
        self.group_ids.iter().any(|g| g == group_id)
    }
}

/// Default request budget of a key, per minute.
pub const DEFAULT_KEY_RATE_LIMIT_PER_MINUTE: u32 = 600;

/// How an audience was made: created directly (`on_demand`, `monitoring`) or
/// filled by a prospecting job (the job's source type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience {
    pub id: String,
    pub group_id: GroupId,
    pub name: String,
    pub audience_type: crate::folder::AudienceType,
    pub description: Option<String>,
    pub folder_id: Option<String>,
    pub prospect_count: i64,
    /// The active prospecting job still filling this audience, if any. While
    /// set, the audience is hidden from lists and answers AUDIENCE_NOT_READY.
    pub filling_job_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Audience {
    pub fn is_ready(&self) -> bool {
        self.filling_job_id.is_none()
    }
}
