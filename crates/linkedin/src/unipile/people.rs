//! Profiles, follows, reactions, invitations and relations (contract §4.2–§4.5, §4.9, §4.10).

use super::UnipileLinkedIn;
use super::errors::Ctx;
use super::http::Query;
use super::mapping::{self, is_member_id, profile_identifier};
use super::wire::*;
use crate::error::{LinkedInError, LinkedInResult};
use crate::types::*;
use serde_json::json;

/// Page size for sent invitations (route max 100).
pub(crate) const INVITATION_PAGE: u32 = 100;
/// Page size for relations: Unipile flags deep relation polling, so stay at its default.
const RELATION_PAGE: u32 = 100;
/// Posts read to pick "the most recent one".
const RECENT_POSTS: u32 = 5;
/// Pending-invitation pages read to tell a pending invitation from a withdrawn one.
const INVITED_RECENTLY_PAGES: usize = 2;
/// LinkedIn's cap on an invitation note (OAS `maxLength`).
const NOTE_MAX_CHARS: usize = 300;
/// The cap on a free (non-Premium) seat's invitation note (Unipile's provider limits pages).
const FREE_NOTE_MAX_CHARS: usize = 200;
/// How long the seat's tier, read from `GET /users/me`, is trusted.
const SEAT_TIER_TTL_MS: i64 = 24 * 60 * 60 * 1000;

impl UnipileLinkedIn {
    /// `GET /users/me?account_id`.
    pub(crate) async fn get_own_profile(&self) -> LinkedInResult<OwnProfile> {
        let wire: OwnProfileWire = self.http.get(&["users", "me"], vec![self.http.account()], Ctx::Account).await?;
        let profile = mapping::own_profile(wire);
        *self.free_seat.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some((!profile.is_premium, self.now()));
        Ok(profile)
    }

    /// Whether this is a free seat (its notes stop at [`FREE_NOTE_MAX_CHARS`]), read from
    /// `GET /users/me` at most once a day; `None` when that cannot be read (LinkedIn decides).
    async fn is_free_seat(&self) -> LinkedInResult<Option<bool>> {
        let known = *self.free_seat.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((free, at)) = known
            && self.now().as_millis().saturating_sub(at.as_millis()) < SEAT_TIER_TTL_MS
        {
            return Ok(Some(free));
        }
        match self.get_own_profile().await {
            Ok(profile) => Ok(Some(!profile.is_premium)),
            Err(error) if error.is_retryable() || error.stops_account() => Err(error),
            Err(error) => {
                tracing::debug!(%error, "seat tier unknown; LinkedIn will judge the note's length");
                Ok(None)
            }
        }
    }

    /// `GET /users/{identifier}?account_id&linkedin_sections=experience[&notify=true]`.
    ///
    /// `notify=true` is what makes LinkedIn show the visit (SDK 1.9.3 forgets to send it; we do not).
    pub(crate) async fn get_profile(&self, identifier: &str, notify: bool) -> LinkedInResult<Person> {
        let wire = self.fetch_profile(identifier, true, notify).await?;
        Ok(mapping::profile_person(wire))
    }

    pub(crate) async fn fetch_profile(
        &self,
        identifier: &str,
        with_experience: bool,
        notify: bool,
    ) -> LinkedInResult<UserProfileWire> {
        let identifier = profile_identifier(identifier);
        if identifier.is_empty() {
            return Err(LinkedInError::InvalidInput("profile identifier is empty".into()));
        }
        let mut query: Query = vec![self.http.account()];
        if with_experience {
            query.push(("linkedin_sections", "experience".into()));
        }
        if notify {
            query.push(("notify", "true".into()));
        }
        let wire: UserProfileWire = self.http.get(&["users", &identifier], query, Ctx::Person).await?;
        // Every profile read also resolves the person: later actions need no second fetch.
        self.remember_member(&identifier, &wire.provider_id);
        if let Some(slug) = wire.public_identifier.as_deref().map(str::trim) {
            self.remember_member(slug, &wire.provider_id);
        }
        Ok(wire)
    }

    /// The classic member id (`ACoAA…`) for a member id, Sales Navigator id, slug or profile URL.
    /// Invitations, classic messages, follows and post listings only take that form (contract §4.4, §7).
    /// A resolution is remembered for [`super::MEMBER_CACHE_TTL_MS`], so each person costs at
    /// most one profile fetch per period however many actions follow.
    pub(crate) async fn resolve_member(&self, id: &str) -> LinkedInResult<String> {
        let id = id.trim();
        if is_member_id(id) {
            return Ok(id.to_owned());
        }
        let identifier = profile_identifier(id);
        if is_member_id(&identifier) {
            return Ok(identifier);
        }
        if let Some(member) = self.cached_member(&identifier) {
            return Ok(member);
        }
        Ok(self.fetch_profile(id, false, false).await?.provider_id)
    }

    /// Follow through the raw proxy route: LinkedIn's Voyager following-state patch (contract §4.10).
    pub(crate) async fn do_follow(&self, provider_id: &str) -> LinkedInResult<()> {
        let member = self.resolve_member(provider_id).await?;
        let body = json!({
            "account_id": self.http.account_id,
            "method": "POST",
            "request_url": format!(
                "https://www.linkedin.com/voyager/api/feed/dash/followingStates/urn:li:fsd_followingState:urn:li:fsd_profile:{member}"
            ),
            "body": { "patch": { "$set": { "following": true } } },
            "encoding": false,
        });
        let _: Ignored = self.http.post_json(&["linkedin"], Vec::new(), &body, Ctx::Person).await?;
        Ok(())
    }

    /// Likes the newest own post among the member's last few; `None` without one.
    pub(crate) async fn do_react(&self, provider_id: &str) -> LinkedInResult<Option<String>> {
        let member = self.resolve_member(provider_id).await?;
        let query = vec![self.http.account(), ("limit", RECENT_POSTS.to_string())];
        let page: ListEnvelope = self.http.get(&["users", &member, "posts"], query, Ctx::Person).await?;
        let posts: Vec<PostWire> = decode_items(page.items, "post");
        let newest = posts
            .into_iter()
            .filter(|p| !p.is_repost && p.social_id.is_some())
            .filter(|p| p.permissions.as_ref().and_then(|perm| perm.can_react) != Some(false))
            .enumerate()
            // Newest by date; Unipile lists newest first, so the index breaks ties and missing dates.
            .max_by_key(|(index, post)| {
                let at = post.parsed_datetime.as_deref().and_then(sonarly_domain::Timestamp::parse_rfc3339);
                (at.map(|t| t.as_millis()), std::cmp::Reverse(*index))
            })
            .map(|(_, post)| post);
        let Some(post) = newest else {
            return Ok(None);
        };
        let social_id = post.social_id.unwrap_or_default();
        // Already liked (by us earlier, or by hand): done, and no second reaction call.
        if post.user_reacted.is_some() {
            return Ok(Some(social_id));
        }
        let body = json!({ "account_id": self.http.account_id, "post_id": social_id, "reaction_type": "like" });
        let _: Ignored = self.http.post_json(&["posts", "reaction"], Vec::new(), &body, Ctx::Other).await?;
        Ok(Some(social_id))
    }

    /// `POST /users/invite` with the resolved member id and the optional note.
    pub(crate) async fn do_invite(&self, provider_id: &str, note: Option<&str>) -> LinkedInResult<Invitation> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if let Some(note) = note {
            let chars = note.chars().count();
            if chars > NOTE_MAX_CHARS {
                return Err(LinkedInError::InvalidInput(format!(
                    "invitation note has {chars} characters; LinkedIn accepts {NOTE_MAX_CHARS}"
                )));
            }
            // A free seat's notes stop at 200 (Unipile's limits pages); LinkedIn would refuse
            // with 400 `too_many_characters` after the invitation was attempted.
            if chars > FREE_NOTE_MAX_CHARS && self.is_free_seat().await? == Some(true) {
                return Err(LinkedInError::InvalidInput(format!(
                    "invitation note has {chars} characters; a free LinkedIn account accepts \
                     {FREE_NOTE_MAX_CHARS} (Premium and Sales Navigator {NOTE_MAX_CHARS})"
                )));
            }
        }
        let member = self.resolve_member(provider_id).await?;
        let mut body = json!({ "account_id": self.http.account_id, "provider_id": member });
        if let Some(note) = note {
            body["message"] = json!(note);
        }
        let sent: InvitationSentWire =
            match self.http.post_json(&["users", "invite"], Vec::new(), &body, Ctx::Invite).await {
                Ok(sent) => sent,
                Err(LinkedInError::AlreadyDone(what)) if what.contains("already_invited_recently") => {
                    return Err(self.invited_recently(&member, what).await);
                }
                Err(other) => return Err(other),
            };
        let Some(invitation_id) = sent.invitation_id else {
            // It was sent, but we cannot name it; a retry answers `already_invited_recently` (AlreadyDone)
            // and reconcile finds it in the sent list, so nothing is sent twice.
            return Err(LinkedInError::Transient(
                "Unipile accepted the invitation without an invitation_id; reconcile before retrying".into(),
            ));
        };
        Ok(Invitation {
            invitation_id,
            recipient_provider_id: member,
            note: note.map(str::to_owned),
            sent_at: self.now(),
        })
    }

    /// LinkedIn answers `already_invited_recently` both while an invitation to the person
    /// is pending and for a while after one was withdrawn (third-party evidence,
    /// unipile-review M4). Only the first is done: the pending sent invitations say which.
    /// When they do not list one, the profile decides (one read, on this rare path only):
    /// an invitation shown pending, or a connection already made, is done too.
    async fn invited_recently(&self, member: &str, what: String) -> LinkedInError {
        let mut cursor: Option<String> = None;
        for _ in 0..INVITED_RECENTLY_PAGES {
            let page = match self.list_sent_invitations(cursor.as_deref(), INVITATION_PAGE).await {
                Ok(page) => page,
                Err(error) => return error,
            };
            if page.items.iter().any(|i| i.recipient_provider_id == member) {
                return LinkedInError::AlreadyDone(format!("{what} (an invitation to them is pending)"));
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        match self.fetch_profile(member, false, false).await {
            Ok(profile) if invited_or_connected(&profile) => {
                LinkedInError::AlreadyDone(format!("{what} (pending or already connected)"))
            }
            Ok(_) => LinkedInError::NotReachable(
                "LinkedIn refuses a new invitation to this person for now (an earlier invitation was withdrawn)".into(),
            ),
            Err(error) => error,
        }
    }

    /// `DELETE /users/invite/sent/{invitation_id}?account_id` → 200 `{"object":"InvitationCanceled"}`
    /// (OAS; SDK `users.cancelInvitationSent`). An invitation that is already gone (404:
    /// accepted, declined or withdrawn meanwhile) is what we wanted: success.
    pub(crate) async fn do_withdraw(&self, invitation_id: &str) -> LinkedInResult<()> {
        let invitation_id = invitation_id.trim();
        if invitation_id.is_empty() {
            return Err(LinkedInError::InvalidInput("invitation id is empty".into()));
        }
        let route = ["users", "invite", "sent", invitation_id];
        match self.http.delete::<Ignored>(&route, vec![self.http.account()], Ctx::Other).await {
            Ok(_) => Ok(()),
            Err(LinkedInError::NotFound(what)) | Err(LinkedInError::AlreadyDone(what)) => {
                tracing::debug!(invitation_id, %what, "invitation already gone: nothing to withdraw");
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    /// `GET /users/invite/sent?account_id&limit&cursor` (pending invitations only).
    pub(crate) async fn list_sent_invitations(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> LinkedInResult<ProviderPage<Invitation>> {
        let query = paged(vec![self.http.account(), ("limit", limit.to_string())], cursor);
        let page: ListEnvelope = self.http.get(&["users", "invite", "sent"], query, Ctx::Account).await?;
        let now = self.now();
        let wires: Vec<InvitationWire> = decode_items(page.items, "sent invitation");
        let items = wires.into_iter().filter_map(|w| mapping::invitation(w, now)).collect();
        Ok(ProviderPage { items, cursor: page.cursor, total: None })
    }

    /// `GET /users/relations?account_id&limit&cursor`, newest first.
    pub(crate) async fn list_relations(&self, cursor: Option<&str>) -> LinkedInResult<ProviderPage<Relation>> {
        let query = paged(vec![self.http.account(), ("limit", RELATION_PAGE.to_string())], cursor);
        let page: ListEnvelope = self.http.get(&["users", "relations"], query, Ctx::Account).await?;
        let wires: Vec<RelationWire> = decode_items(page.items, "relation");
        Ok(ProviderPage { items: wires.into_iter().map(mapping::relation).collect(), cursor: page.cursor, total: None })
    }

    /// Unipile has no email finder (contract §8 "find email"): the only source is the
    /// profile's `contact_info.emails`, which LinkedIn fills when it shows the address
    /// (typically to first-degree connections). Read without `notify`, so it is no visit.
    pub(crate) async fn email_from_profile(&self, provider_id: &str) -> LinkedInResult<Option<String>> {
        let wire = self.fetch_profile(provider_id, false, false).await?;
        Ok(wire
            .contact_info
            .map(|c| c.emails)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.trim().to_owned())
            .find(|e| e.contains('@')))
    }
}

/// The profile shows an invitation we sent that is still pending, or a connection already made.
pub(crate) fn invited_or_connected(profile: &UserProfileWire) -> bool {
    let pending_sent = profile.invitation.as_ref().is_some_and(|i| {
        i.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("SENT"))
            && i.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("PENDING"))
    });
    pending_sent || profile.is_relationship || mapping::degree(profile.network_distance.as_ref()) == Some(1)
}

/// Adds `cursor` when there is one (an empty cursor means "first page").
pub(crate) fn paged(mut query: Query, cursor: Option<&str>) -> Query {
    if let Some(cursor) = cursor.map(str::trim).filter(|c| !c.is_empty()) {
        query.push(("cursor", cursor.to_owned()));
    }
    query
}
