//! Audience folders and the audience kinds they hold.

use crate::GroupId;
use crate::Timestamp;
use crate::prospecting::SourceType;
use crate::state::wire_enum;

wire_enum! {
    /// The kinds of audience a client creates directly, and the kind of
    /// audiences a folder holds.
    pub enum AudienceKind ("audience kind") {
        OnDemand = "on_demand",
        Monitoring = "monitoring",
    }
}

wire_enum! {
    /// How an audience was made: created directly (`on_demand`, `monitoring`)
    /// or filled by a prospecting job (the job's source type).
    pub enum AudienceType ("audience type") {
        OnDemand = "on_demand",
        Monitoring = "monitoring",
        LinkedInSearch = "linkedin_search",
        SalesNavigator = "sales_navigator",
        PostCommenters = "post_commenters",
        UrlUpload = "url_upload",
    }
}

impl AudienceType {
    /// The kind an audience counts as for folders: `monitoring` audiences are
    /// `monitoring`; created-once and imported audiences are `on_demand`.
    pub const fn folder_kind(self) -> AudienceKind {
        match self {
            Self::Monitoring => AudienceKind::Monitoring,
            _ => AudienceKind::OnDemand,
        }
    }
}

impl From<AudienceKind> for AudienceType {
    fn from(kind: AudienceKind) -> Self {
        match kind {
            AudienceKind::OnDemand => Self::OnDemand,
            AudienceKind::Monitoring => Self::Monitoring,
        }
    }
}

impl From<SourceType> for AudienceType {
    fn from(source: SourceType) -> Self {
        match source {
            SourceType::LinkedInSearch => Self::LinkedInSearch,
            SourceType::SalesNavigator => Self::SalesNavigator,
            SourceType::PostCommenters => Self::PostCommenters,
            SourceType::UrlUpload => Self::UrlUpload,
        }
    }
}

/// A folder groups audiences of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceFolder {
    pub id: String,
    pub group_id: GroupId,
    pub name: String,
    pub audience_type: AudienceKind,
    pub is_pinned: bool,
    pub position: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_type_is_an_on_demand_audience_type() {
        for source in SourceType::ALL {
            let t = AudienceType::from(source);
            assert_eq!(t.as_str(), source.as_str());
            assert_eq!(t.folder_kind(), AudienceKind::OnDemand);
        }
        for kind in AudienceKind::ALL {
            assert_eq!(AudienceType::from(kind).folder_kind(), kind);
        }
    }
}
