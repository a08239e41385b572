//! Outbound webhooks, the parts without IO: signing secrets, the Standard
//! Webhooks signature, the retry schedule, and which addresses a delivery may
//! reach.
//!
//! **Signature** (Standard Webhooks): `webhook-signature` is `v1,` + base64 of
//! HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the
//! bytes the secret's base64 (after `whsec_`) decodes to. During a rotation's
//! overlap window both secrets sign, space-separated, newest first, so a
//! receiver holding either verifies.
//!
//! **Addresses**: a delivery refuses loopback, private, link-local, shared
//! (CGNAT) and unique-local addresses unless the operator allows private
//! networks; cloud metadata addresses, unspecified, multicast, broadcast and
//! reserved addresses are refused always (no receiver can live there).

use crate::GroupId;
use crate::Timestamp;
use crate::events::EventType;
use crate::state::wire_enum;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The prefix of every signing secret (as svix and Standard Webhooks write them).
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret (192 bits).
pub const SECRET_BYTES: usize = 24;
/// Delays before each attempt of a delivery: at once, then 5 s, 5 min, 30 min,
/// 2 h, 5 h, 10 h and 10 h (each but the first ±20 % jitter); after the last
/// failure the delivery is given up.
pub const RETRY_SCHEDULE_MS: [i64; 8] = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
/// Largest relative jitter applied to a retry delay.
pub const RETRY_JITTER: f64 = 0.2;
/// An endpoint failing without a success for this long is disabled.
pub const DISABLE_AFTER_MS: i64 = 5 * 24 * 3_600_000;
/// Default overlap of a rotation: the previous secret signs this long too.
pub const DEFAULT_ROTATION_OVERLAP_SECS: i64 = 24 * 3_600;
/// Longest overlap a rotation may ask for.
pub const MAX_ROTATION_OVERLAP_SECS: i64 = 7 * 24 * 3_600;
/// Longest endpoint URL accepted.
pub const URL_MAX_CHARS: usize = 2_048;
/// Longest endpoint description.
pub const DESCRIPTION_MAX_CHARS: usize = 500;
/// Response body bytes kept with an attempt.
pub const ATTEMPT_BODY_KEEP_BYTES: usize = 1_024;

/// A new signing secret: `whsec_` + base64 of 24 random bytes.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a `whsec_…` secret; `None` when it is not one.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX)?;
    STANDARD.decode(encoded).ok().filter(|k| !k.is_empty())
}

/// One `v1,<base64>` signature of `{id}.{timestamp}.{body}` under `key`.
pub fn sign(key: &[u8], id: &str, timestamp_secs: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per secret, space-separated.
/// Secrets that are not `whsec_…` are skipped (none are stored that way).
pub fn signature_header(secrets: &[&str], id: &str, timestamp_secs: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|s| secret_key(s))
        .map(|key| sign(&key, id, timestamp_secs, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The delay before attempt number `next_attempt` (1-based) with `jitter` in
/// [-1, 1] scaling ±[`RETRY_JITTER`]; `None` once the schedule is exhausted.
pub fn retry_delay_ms(next_attempt: i64, jitter: f64) -> Option<i64> {
    let index = usize::try_from(next_attempt.checked_sub(1)?).ok()?;
    let base = *RETRY_SCHEDULE_MS.get(index)?;
    let factor = 1.0 + RETRY_JITTER * jitter.clamp(-1.0, 1.0);
    Some((base as f64 * factor).round() as i64)
}

/// Which destinations the operator allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UrlPolicy {
    /// `http://` endpoints (`--webhooks-allow-http`); otherwise HTTPS only.
    pub allow_http: bool,
    /// Loopback, private, link-local and unique-local addresses (`--webhooks-allow-private`).
    pub allow_private: bool,
}

impl UrlPolicy {
    /// Everything a self-hosted test network needs (local receivers over plain HTTP).
    pub const PERMISSIVE: Self = Self { allow_http: true, allow_private: true };

    /// Why `ip` may not be reached under this policy, or `None` when it may.
    pub fn refusal(self, ip: IpAddr) -> Option<&'static str> {
        match classify(ip) {
            AddressClass::Public => None,
            AddressClass::Private(_) if self.allow_private => None,
            AddressClass::Private(why) | AddressClass::Never(why) => Some(why),
        }
    }

    /// Checks a URL scheme (`http`/`https`) against the policy.
    pub fn scheme_refusal(self, scheme: &str) -> Option<&'static str> {
        match scheme {
            "https" => None,
            "http" if self.allow_http => None,
            "http" => Some("plain http is not allowed on this server; use https"),
            _ => Some("must be an http or https URL"),
        }
    }
}

/// How an address is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddressClass {
    Public,
    /// Reachable only when private networks are allowed.
    Private(&'static str),
    /// Never reachable.
    Never(&'static str),
}

fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            classify_v6(v6)
        }
    }
}

const METADATA: &str = "a cloud metadata address";

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, d] = ip.octets();
    use AddressClass::{Never, Private, Public};
    match (a, b, c, d) {
        (169, 254, 169, 254) | (100, 100, 100, 200) | (192, 0, 0, 192) => Never(METADATA),
        (0, ..) => Never("an unspecified address"),
        (127, ..) => Private("a loopback address"),
        (10, ..) | (192, 168, ..) => Private("a private address"),
        (172, b, ..) if (16..=31).contains(&b) => Private("a private address"),
        (169, 254, ..) => Private("a link-local address"),
        (100, b, ..) if (64..=127).contains(&b) => Private("a shared (CGNAT) address"),
        (192, 0, 0, _) | (198, 18..=19, ..) => Private("a reserved address"),
        (192, 0, 2, _) | (198, 51, 100, _) | (203, 0, 113, _) => Never("a documentation address"),
        (224..=239, ..) => Never("a multicast address"),
        (240..=255, ..) => Never("a reserved or broadcast address"),
        _ => Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::{Never, Private, Public};
    let segments = ip.segments();
    if ip.is_unspecified() {
        return Never("an unspecified address");
    }
    if ip.is_loopback() {
        return Private("a loopback address");
    }
    if segments[0] == 0xfd00 && segments[1] == 0x0ec2 && ip.segments()[2..7] == [0; 5] && segments[7] == 0x254 {
        return Never(METADATA);
    }
    match segments[0] {
        s if s & 0xffc0 == 0xfe80 => Private("a link-local address"),
        s if s & 0xfe00 == 0xfc00 => Private("a unique-local address"),
        s if s & 0xff00 == 0xff00 => Never("a multicast address"),
        0x2001 if segments[1] == 0x0db8 => Never("a documentation address"),
        // IPv4-compatible, NAT64 and 6to4 forms embed an IPv4 address we would reach.
        0 if segments[1..6] == [0; 5] => classify_v4(embedded_v4(segments[6], segments[7])),
        0x64 if segments[1] == 0xff9b => classify_v4(embedded_v4(segments[6], segments[7])),
        0x2002 => classify_v4(embedded_v4(segments[1], segments[2])),
        _ => Public,
    }
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

wire_enum! {
    /// Why the server disabled an endpoint.
    pub enum DisabledReason ("endpoint disabled reason") {
        /// Deliveries kept failing for the whole grace period.
        Failing = "failing",
    }
}

/// A webhook endpoint of an account group. The secrets are here because the
/// worker signs with them; `Debug` never prints them and no view returns them
/// after creation.
#[derive(Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub id: String,
    pub group_id: GroupId,
    pub url: String,
    pub description: Option<String>,
    /// `None`: every event type.
    pub event_types: Option<Vec<EventType>>,
    pub enabled: bool,
    /// Why the server disabled it; `None` when a user did, or when enabled.
    pub disabled_reason: Option<DisabledReason>,
    pub secret: String,
    /// The secret before the last rotation; it signs too until `previous_secret_expires_at`.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<Timestamp>,
    /// The first failure since the last success; `None` while healthy.
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("id", &self.id)
            .field("group_id", &self.group_id)
            .field("url", &self.url)
            .field("event_types", &self.event_types)
            .field("enabled", &self.enabled)
            .field("disabled_reason", &self.disabled_reason)
            .field("secret", &"[redacted]")
            .field("failing_since", &self.failing_since)
            .finish_non_exhaustive()
    }
}

impl WebhookEndpoint {
    /// True when events of `event_type` go to this endpoint.
    pub fn subscribes_to(&self, event_type: EventType) -> bool {
        event_type != EventType::WebhookTest
            && self.event_types.as_ref().is_none_or(|types| types.contains(&event_type))
    }

    /// The secrets that sign at `now`: the current one, then the previous one inside its overlap.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_expires_at)
            && now < until
        {
            secrets.push(previous);
        }
        secrets
    }
}

/// Stores an endpoint's type list: `None` for all, else the sorted comma-separated names.
pub fn event_types_to_storage(types: Option<&[EventType]>) -> Option<String> {
    types.map(|t| t.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(","))
}

/// Reads a stored type list; names this build does not know are dropped.
pub fn event_types_from_storage(text: Option<&str>) -> Option<Vec<EventType>> {
    text.map(|t| t.split(',').filter_map(EventType::parse).collect())
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or in one).
    Pending,
    Succeeded,
    /// Every scheduled attempt failed, or the endpoint was disabled or deleted.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [Self::Pending, Self::Succeeded, Self::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStatus {
    /// Recorded before the request went out; not finished yet (or its worker died).
    InFlight,
    /// A 2xx answer.
    Succeeded,
    /// Any other answer, a network error, a refusal or an interrupted attempt.
    Failed,
}

impl AttemptStatus {
    pub const ALL: [AttemptStatus; 3] = [Self::InFlight, Self::Succeeded, Self::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InFlight => "in_flight",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One recorded attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub id: String,
    pub endpoint_id: String,
    pub delivery_id: String,
    pub event_id: String,
    /// 1-based number within its delivery.
    pub attempt: i64,
    pub status: AttemptStatus,
    pub response_status: Option<i64>,
    /// The first [`ATTEMPT_BODY_KEEP_BYTES`] of the answer, lossily decoded.
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub latency_ms: Option<i64>,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// What an attempt found out, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub succeeded: bool,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub latency_ms: i64,
}

/// Keeps the first [`ATTEMPT_BODY_KEEP_BYTES`] of a body, cut at a character boundary.
pub fn truncate_body(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(ATTEMPT_BODY_KEEP_BYTES)]).into_owned();
    text.trim_end_matches('\u{FFFD}').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn secrets_are_prefixed_base64_of_24_bytes_and_distinct() {
        let a = generate_secret();
        assert!(a.starts_with("whsec_"));
        assert_eq!(secret_key(&a).unwrap().len(), SECRET_BYTES);
        assert_ne!(a, generate_secret());
        assert!(secret_key("sk_live_x").is_none());
        assert!(secret_key("whsec_!!!").is_none());
    }

    #[test]
    fn signs_like_the_standard_webhooks_reference_example() {
        // The example of the Standard Webhooks specification's reference libraries.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn both_secrets_sign_during_an_overlap_and_bad_ones_are_skipped() {
        let (new, old) = (generate_secret(), generate_secret());
        let header = signature_header(&[&new, &old, "nonsense"], "evt_1", 10, "{}");
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], sign(&secret_key(&new).unwrap(), "evt_1", 10, "{}"));
        assert_eq!(parts[1], sign(&secret_key(&old).unwrap(), "evt_1", 10, "{}"));
    }

    #[test]
    fn the_retry_schedule_has_eight_attempts_with_bounded_jitter() {
        assert_eq!(retry_delay_ms(1, 0.7), Some(0));
        assert_eq!(retry_delay_ms(2, 0.0), Some(5_000));
        assert_eq!(retry_delay_ms(2, 1.0), Some(6_000));
        assert_eq!(retry_delay_ms(3, -1.0), Some(240_000));
        assert_eq!(retry_delay_ms(8, 0.0), Some(36_000_000));
        assert_eq!(retry_delay_ms(9, 0.0), None);
        assert_eq!(retry_delay_ms(0, 0.0), None);
    }

    #[test]
    fn private_addresses_are_refused_unless_allowed_and_metadata_always() {
        let strict = UrlPolicy::default();
        for private in
            ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.1.1", "::1", "fe80::1", "fd12::1"]
        {
            assert!(strict.refusal(ip(private)).is_some(), "{private}");
            assert!(UrlPolicy::PERMISSIVE.refusal(ip(private)).is_none(), "{private}");
        }
        for never in ["169.254.169.254", "0.0.0.0", "224.0.0.1", "255.255.255.255", "fd00:ec2::254", "::"] {
            assert!(UrlPolicy::PERMISSIVE.refusal(ip(never)).is_some(), "{never}");
        }
        // Mapped and embedded IPv4 forms are judged by the address inside.
        assert!(strict.refusal(ip("::ffff:127.0.0.1")).is_some());
        assert!(strict.refusal(ip("::ffff:169.254.169.254")).is_some());
        assert!(strict.refusal(ip("64:ff9b::a00:1")).is_some());
        assert!(strict.refusal(ip("2002:a00:1::")).is_some());
        for public in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(strict.refusal(ip(public)).is_none(), "{public}");
        }
    }

    #[test]
    fn bodies_are_cut_to_the_kept_length_at_a_character_boundary() {
        assert_eq!(truncate_body(b"ok"), "ok");
        let long = "é".repeat(ATTEMPT_BODY_KEEP_BYTES);
        let kept = truncate_body(long.as_bytes());
        assert!(kept.len() <= ATTEMPT_BODY_KEEP_BYTES && kept.chars().all(|c| c == 'é'));
    }

    #[test]
    fn https_is_required_unless_http_is_allowed() {
        assert!(UrlPolicy::default().scheme_refusal("https").is_none());
        assert!(UrlPolicy::default().scheme_refusal("http").is_some());
        assert!(UrlPolicy::PERMISSIVE.scheme_refusal("http").is_none());
        assert!(UrlPolicy::PERMISSIVE.scheme_refusal("ftp").is_some());
    }
}
