//! Provider secrets sealed at rest (a Unipile API key in a seat's settings).
//!
//! A sealed secret is text: `enc:v1:<key-id>:<base64(nonce || ciphertext)>`, where the
//! cipher is XChaCha20-Poly1305 with a random 24-byte nonce per seal, `enc:v1:<key-id>` is
//! authenticated with it, and `key-id` is the first 8 hex digits of a SHA-256 fingerprint of
//! the key, so the [`Keyring`] knows which key opens it: the server's key
//! (`SONARLY_SECRET_KEY`) or the one it replaced (`SONARLY_SECRET_KEY_PREVIOUS`), while a
//! rotation is under way. Text without the `enc:` prefix is a secret stored before sealing
//! existed and opens as itself. No message here ever holds a secret or a key.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::fmt;

/// The environment variable holding the server's secret key.
pub const SECRET_KEY_ENV: &str = "SONARLY_SECRET_KEY";
/// The environment variable holding the key being rotated out (opens, never seals).
pub const PREVIOUS_SECRET_KEY_ENV: &str = "SONARLY_SECRET_KEY_PREVIOUS";

const PREFIX: &str = "enc:";
const VERSION: &str = "v1";
const NONCE_LEN: usize = 24;
/// Poly1305's tag, appended to the ciphertext.
const TAG_LEN: usize = 16;

/// One 32-byte key and its fingerprint. Its `Debug` shows the fingerprint only.
#[derive(Clone)]
pub struct SecretKey {
    key: [u8; 32],
    id: String,
}

impl SecretKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        let digest = Sha256::new().chain_update(b"sonarly secret key id v1\0").chain_update(key).finalize();
        Self { key, id: hex::encode(&digest[..4]) }
    }

    /// The key as the operator gives it: 32 bytes in base64 (what `openssl rand -base64 32`
    /// prints) or as 64 hex digits. `setting` names where it came from, for the error.
    pub fn parse(text: &str, setting: &str) -> Result<Self, SecretError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).ok()
        } else {
            STANDARD.decode(text).or_else(|_| STANDARD_NO_PAD.decode(text)).ok()
        };
        let Some(bytes) = bytes else {
            return Err(SecretError::BadKey {
                setting: setting.to_owned(),
                reason: "is neither base64 nor hex".into(),
            });
        };
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| SecretError::BadKey {
            setting: setting.to_owned(),
            reason: format!("holds {} bytes, not 32", bytes.len()),
        })?;
        Ok(Self::from_bytes(key))
    }

    /// The key's short fingerprint, as written in what it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.key.into())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Why a secret could not be sealed or opened, or a key not read. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// Sealing needs a key and the server has none.
    NoKey,
    /// A sealed secret and no key that could open it: `current` and `previous` are the ids
    /// of the keys the server has.
    UnknownKey { key_id: String, current: Option<String>, previous: Option<String> },
    /// The right key by its id, but the text does not open: it was altered.
    Tampered { key_id: String },
    /// `enc:` text that is not a sealed secret of a version we know.
    Malformed,
    /// A key setting that is not 32 bytes of base64 or hex.
    BadKey { setting: String, reason: String },
    /// A previous key without a current one.
    PreviousWithoutCurrent,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoKey => write!(f, "{SECRET_KEY_ENV} is not set, so secrets cannot be stored encrypted"),
            Self::UnknownKey { key_id, current: None, .. } => {
                write!(f, "the secret is sealed with key {key_id} but {SECRET_KEY_ENV} is not set")
            }
            Self::UnknownKey { key_id, current: Some(current), previous } => {
                let previous = previous.as_deref().map_or_else(|| "unset".to_owned(), |p| format!("key {p}"));
                write!(
                    f,
                    "the secret is sealed with key {key_id}, which is neither {SECRET_KEY_ENV} (key {current}) \
                     nor {PREVIOUS_SECRET_KEY_ENV} ({previous})"
                )
            }
            Self::Tampered { key_id } => {
                write!(f, "the secret sealed with key {key_id} does not open: it was altered")
            }
            Self::Malformed => write!(f, "the sealed secret is malformed (expected enc:v1:<key-id>:<base64>)"),
            Self::BadKey { setting, reason } => {
                write!(
                    f,
                    "{setting} must be 32 bytes in base64 (openssl rand -base64 32) or 64 hex digits; it {reason}"
                )
            }
            Self::PreviousWithoutCurrent => {
                write!(
                    f,
                    "{PREVIOUS_SECRET_KEY_ENV} is set without {SECRET_KEY_ENV}: set the new key as {SECRET_KEY_ENV}"
                )
            }
        }
    }
}

impl std::error::Error for SecretError {}

/// The keys a server seals and opens secrets with: the current one (seals and opens) and,
/// during a rotation, the previous one (opens only). With none, only unsealed (legacy)
/// secrets open and nothing can be sealed.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    current: Option<SecretKey>,
    previous: Option<SecretKey>,
}

impl Keyring {
    /// No key: plaintext secrets open as themselves; sealing is refused.
    pub fn none() -> Self {
        Self::default()
    }

    pub fn new(current: SecretKey, previous: Option<SecretKey>) -> Self {
        Self { current: Some(current), previous }
    }

    /// The keyring from the two settings' values (`SONARLY_SECRET_KEY`,
    /// `SONARLY_SECRET_KEY_PREVIOUS`); blank means unset.
    pub fn from_settings(current: Option<&str>, previous: Option<&str>) -> Result<Self, SecretError> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        let current = given(current).map(|v| SecretKey::parse(v, SECRET_KEY_ENV)).transpose()?;
        let previous = given(previous).map(|v| SecretKey::parse(v, PREVIOUS_SECRET_KEY_ENV)).transpose()?;
        if current.is_none() && previous.is_some() {
            return Err(SecretError::PreviousWithoutCurrent);
        }
        Ok(Self { current, previous })
    }

    /// Whether the keyring has a key to seal with.
    pub fn can_seal(&self) -> bool {
        self.current.is_some()
    }

    /// The current key's id, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.current.as_ref().map(SecretKey::id)
    }

    /// Whether `stored` is a sealed secret (rather than a legacy plaintext one).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// Whether `stored` should be sealed again with the current key: it is plaintext, or
    /// sealed with another key.
    pub fn needs_reseal(&self, stored: &str) -> bool {
        match (split(stored), self.key_id()) {
            (Some(Ok((key_id, _))), Some(current)) => key_id != current,
            _ => true,
        }
    }

    /// Seals `secret` with the current key, under a fresh random nonce.
    pub fn seal(&self, secret: &str) -> Result<String, SecretError> {
        let key = self.current.as_ref().ok_or(SecretError::NoKey)?;
        let header = format!("{PREFIX}{VERSION}:{}", key.id);
        let mut nonce = [0u8; NONCE_LEN];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
        let sealed = key
            .cipher()
            .encrypt(&XNonce::from(nonce), Payload { msg: secret.as_bytes(), aad: header.as_bytes() })
            .map_err(|_| SecretError::Malformed)?;
        let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&sealed);
        Ok(format!("{header}:{}", STANDARD.encode(body)))
    }

    /// The secret in `stored`: opened with the key its id names (current or previous), or
    /// `stored` itself when it was never sealed.
    pub fn open(&self, stored: &str) -> Result<String, SecretError> {
        let Some(parts) = split(stored) else { return Ok(stored.to_owned()) };
        let (key_id, body) = parts?;
        let bytes = STANDARD.decode(body).map_err(|_| SecretError::Malformed)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(SecretError::Malformed);
        }
        let key = [&self.current, &self.previous].into_iter().flatten().find(|k| k.id == key_id).ok_or_else(|| {
            SecretError::UnknownKey {
                key_id: key_id.to_owned(),
                current: self.key_id().map(str::to_owned),
                previous: self.previous.as_ref().map(|k| k.id.clone()),
            }
        })?;
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretError::Malformed)?;
        let header = format!("{PREFIX}{VERSION}:{key_id}");
        let opened = key
            .cipher()
            .decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad: header.as_bytes() })
            .map_err(|_| SecretError::Tampered { key_id: key_id.to_owned() })?;
        String::from_utf8(opened).map_err(|_| SecretError::Tampered { key_id: key_id.to_owned() })
    }
}

/// `None` for plaintext; the key id and base64 body of a sealed secret.
fn split(stored: &str) -> Option<Result<(&str, &str), SecretError>> {
    let rest = stored.strip_prefix(PREFIX)?;
    let parsed = rest
        .strip_prefix(VERSION)
        .and_then(|r| r.strip_prefix(':'))
        .and_then(|r| r.split_once(':'))
        .filter(|(id, body)| !id.is_empty() && !body.is_empty());
    Some(parsed.ok_or(SecretError::Malformed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_bytes([byte; 32])
    }

    #[test]
    fn a_sealed_secret_opens_to_itself_and_shows_nothing_of_it() {
        let ring = Keyring::new(key(1), None);
        let sealed = ring.seal("unipile-api-key-123").unwrap();
        assert!(sealed.starts_with(&format!("enc:v1:{}:", key(1).id())), "{sealed}");
        assert!(!sealed.contains("unipile-api-key"));
        assert_eq!(ring.open(&sealed).unwrap(), "unipile-api-key-123");
        assert_ne!(ring.seal("unipile-api-key-123").unwrap(), sealed, "a fresh nonce per seal");
        assert!(!ring.needs_reseal(&sealed));
    }

    #[test]
    fn a_secret_sealed_with_another_key_is_refused_naming_the_settings() {
        let sealed = Keyring::new(key(1), None).seal("s3cret").unwrap();
        let err = Keyring::new(key(2), None).open(&sealed).unwrap_err();
        assert!(matches!(err, SecretError::UnknownKey { .. }));
        let text = err.to_string();
        assert!(text.contains("SONARLY_SECRET_KEY") && text.contains("SONARLY_SECRET_KEY_PREVIOUS"), "{text}");
        assert!(text.contains(key(1).id()) && !text.contains("s3cret"), "{text}");
        let none = Keyring::none().open(&sealed).unwrap_err().to_string();
        assert!(none.contains("SONARLY_SECRET_KEY is not set"), "{none}");
    }

    #[test]
    fn the_previous_key_opens_what_it_sealed_and_such_secrets_need_resealing() {
        let sealed = Keyring::new(key(1), None).seal("s3cret").unwrap();
        let rotating = Keyring::new(key(2), Some(key(1)));
        assert_eq!(rotating.open(&sealed).unwrap(), "s3cret");
        assert!(rotating.needs_reseal(&sealed));
        let resealed = rotating.seal(&rotating.open(&sealed).unwrap()).unwrap();
        assert!(!rotating.needs_reseal(&resealed));
        assert_eq!(Keyring::new(key(2), None).open(&resealed).unwrap(), "s3cret");
    }

    #[test]
    fn a_plaintext_legacy_secret_opens_as_itself_with_or_without_a_key() {
        assert_eq!(Keyring::none().open("plain-key").unwrap(), "plain-key");
        let ring = Keyring::new(key(1), None);
        assert_eq!(ring.open("plain-key").unwrap(), "plain-key");
        assert!(ring.needs_reseal("plain-key"));
        assert!(!Keyring::is_sealed("plain-key"));
    }

    #[test]
    fn a_tampered_sealed_secret_is_refused() {
        let ring = Keyring::new(key(1), None);
        let sealed = ring.seal("s3cret").unwrap();
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut bytes = STANDARD.decode(body).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let flipped = format!("{head}:{}", STANDARD.encode(&bytes));
        assert_eq!(ring.open(&flipped).unwrap_err(), SecretError::Tampered { key_id: key(1).id().to_owned() });
        bytes[last] ^= 1;
        bytes[NONCE_LEN] ^= 0x80;
        let flipped = format!("{head}:{}", STANDARD.encode(&bytes));
        assert!(matches!(ring.open(&flipped), Err(SecretError::Tampered { .. })));
        assert_eq!(ring.open("enc:v1:abc:!!").unwrap_err(), SecretError::Malformed);
        assert_eq!(ring.open("enc:v9:abc:AAAA").unwrap_err(), SecretError::Malformed);
        let short = format!("enc:v1:{}:{}", key(1).id(), STANDARD.encode([0u8; 20]));
        assert_eq!(ring.open(&short).unwrap_err(), SecretError::Malformed);
    }

    #[test]
    fn sealing_without_a_key_is_refused_naming_the_setting() {
        let err = Keyring::none().seal("s3cret").unwrap_err();
        assert_eq!(err, SecretError::NoKey);
        assert!(err.to_string().contains("SONARLY_SECRET_KEY is not set"));
    }

    #[test]
    fn keys_are_read_from_base64_or_hex_and_a_bad_one_is_named_but_not_echoed() {
        let b64 = STANDARD.encode([7u8; 32]);
        let hex = hex::encode([7u8; 32]);
        let from_b64 = Keyring::from_settings(Some(&b64), None).unwrap();
        let from_hex = Keyring::from_settings(Some(&format!(" {hex}\n")), Some("")).unwrap();
        assert_eq!(from_b64.key_id(), from_hex.key_id());
        assert_eq!(from_b64.key_id().map(str::len), Some(8));
        assert!(!Keyring::from_settings(None, Some("  ")).unwrap().can_seal());
        let short = STANDARD.encode([7u8; 16]);
        let err = Keyring::from_settings(Some(&short), None).unwrap_err().to_string();
        assert!(err.starts_with("SONARLY_SECRET_KEY must be 32 bytes") && err.contains("16 bytes"), "{err}");
        assert!(!err.contains(&short));
        let err = Keyring::from_settings(Some(&b64), Some("not a key!")).unwrap_err().to_string();
        assert!(err.starts_with("SONARLY_SECRET_KEY_PREVIOUS must be"), "{err}");
        assert_eq!(Keyring::from_settings(None, Some(&b64)).unwrap_err(), SecretError::PreviousWithoutCurrent);
        assert!(!format!("{from_b64:?}").contains(&b64));
    }
}
