//! Verifying a bearer token and reading its caller: the key from the
//! issuer's key set (its algorithm from the key), `iss`, `aud`, `exp` and
//! `sub` required, `nbf` honoured, a bounded clock skew; then the claims
//! the configured mapping names become an [`Actor`].
//!
//! A token verified once is remembered (by its SHA-256, never as text)
//! until it expires, for at most [`VERIFIED_FOR`]: a buyer's token serves
//! an hour of calls, and its Ed25519 signature cost each call more CPU
//! than the rest of the check. The key a remembered token names is still
//! looked up every time and must be the very key it was verified with, so
//! a key the issuer withdraws or replaces (even under the same id)
//! refuses its tokens as soon as the key set is fetched again.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::AuthError;
use super::keys::{KeyError, Keys};
use super::oidc::Http;
use super::settings::{AuthSettings, ClaimMapping};
use blangkon_domain::{Actor, RegencyCode, Role, Standing, VendorId, WorkUnit};

/// Most tokens remembered as verified: the callers of an hour.
const VERIFIED_TOKENS: usize = 10_000;
/// Longest a token is remembered as verified, whatever its expiry.
pub const VERIFIED_FOR: Duration = Duration::from_secs(300);

/// A token verified before: what it named and until when it holds.
#[derive(Clone)]
struct Verified {
    actor: Actor,
    /// The key its signature was checked with, held so that its address
    /// stays its own.
    key: std::sync::Arc<jsonwebtoken::DecodingKey>,
    /// Its `exp` (Unix seconds).
    expires: u64,
    at: Instant,
}

/// Checks tokens against the identity provider's keys.
pub struct TokenVerifier {
    issuer: String,
    audience: String,
    skew: u64,
    claims: ClaimMapping,
    keys: Keys,
    /// By the token's SHA-256.
    verified: Mutex<lru::LruCache<[u8; 32], Verified>>,
    /// Signatures checked (tokens not remembered).
    signatures: AtomicU64,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl TokenVerifier {
    /// A verifier for `settings` (already validated).
    pub fn new(settings: &AuthSettings) -> Result<Self, AuthError> {
        let http = Http::new(&settings.ca_file).map_err(AuthError::Setup)?;
        Ok(Self::with_http(settings, http))
    }

    /// Starts fetching the issuer's keys (needs a Tokio runtime).
    pub fn prefetch(&self) {
        self.keys.prefetch();
    }

    pub fn with_http(settings: &AuthSettings, http: Http) -> Self {
        Self {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            skew: settings.clock_skew_secs,
            claims: settings.claims.clone(),
            keys: Keys::new(settings, http),
            verified: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(VERIFIED_TOKENS).unwrap_or(NonZeroUsize::MIN),
            )),
            signatures: AtomicU64::new(0),
        }
    }

    /// Signatures checked so far: tokens not answered from memory.
    pub fn signatures_checked(&self) -> u64 {
        self.signatures.load(Ordering::Relaxed)
    }

    fn verified(&self) -> std::sync::MutexGuard<'_, lru::LruCache<[u8; 32], Verified>> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The actor of a token verified before, if it still holds.
    fn remembered(
        &self,
        digest: &[u8; 32],
        key: &std::sync::Arc<jsonwebtoken::DecodingKey>,
    ) -> Option<Result<Actor, AuthError>> {
        let mut verified = self.verified();
        let entry = verified.get(digest)?.clone();
        if entry.at.elapsed() > VERIFIED_FOR || !std::sync::Arc::ptr_eq(&entry.key, key) {
            verified.pop(digest);
            return None;
        }
        // As the full check reads `exp`: past it by more than the skew.
        if entry.expires.saturating_add(self.skew) < jsonwebtoken::get_current_timestamp() {
            verified.pop(digest);
            return Some(Err(AuthError::Expired));
        }
        Some(Ok(entry.actor))
    }

    /// The caller `token` names, if the token is good.
    pub async fn verify(&self, token: &str) -> Result<Actor, AuthError> {
        let header = Header::read(token)?;
        let key = self
            .keys
            .key_for(header.kid.as_deref())
            .await
            .map_err(|e| match e {
                KeyError::Unknown => AuthError::UnknownKey,
                KeyError::Ambiguous => AuthError::UnknownKey,
                KeyError::Unavailable(_) => AuthError::KeysUnavailable,
            })?;
        // The key decides the algorithm; a token naming another one is
        // refused before its signature is looked at.
        if header.alg.parse::<jsonwebtoken::Algorithm>().ok() != Some(key.algorithm) {
            return Err(AuthError::AlgorithmMismatch);
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(known) = self.remembered(&digest, &key.key) {
            return known;
        }
        self.signatures.fetch_add(1, Ordering::Relaxed);
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = self.skew;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let data = decode::<Value>(token, &key.key, &validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => AuthError::NotYetValid,
            ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
            ErrorKind::InvalidAudience => AuthError::WrongAudience,
            ErrorKind::MissingRequiredClaim(claim) => {
                AuthError::MissingClaim(match claim.as_str() {
                    "exp" => "exp",
                    "iss" => "iss",
                    "aud" => "aud",
                    _ => "sub",
                })
            }
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidAlgorithm => AuthError::AlgorithmMismatch,
            _ => AuthError::Unreadable,
        })?;
        // Keycloak marks its tokens in the payload: an ID or refresh token
        // from the same realm and client must not pass for an access token.
        if let Some(typ) = data.claims.get("typ").and_then(Value::as_str)
            && !typ.eq_ignore_ascii_case("bearer")
        {
            return Err(AuthError::NotAnAccessToken);
        }
        let actor = actor_of(&data.claims, &self.claims)?;
        if let Some(expires) = data.claims.get("exp").and_then(Value::as_u64) {
            self.verified().put(
                digest,
                Verified {
                    actor: actor.clone(),
                    key: key.key.clone(),
                    expires,
                    at: Instant::now(),
                },
            );
        }
        Ok(actor)
    }
}

/// The token's header as sent, read before any key is chosen: what the
/// verifier refuses outright is decided here.
struct Header {
    alg: String,
    kid: Option<String>,
}

impl Header {
    fn read(token: &str) -> Result<Self, AuthError> {
        use base64::Engine;
        let segment = token.split('.').next().ok_or(AuthError::Unreadable)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment.trim_end_matches('='))
            .map_err(|_| AuthError::Unreadable)?;
        let header: serde_json::Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|_| AuthError::Unreadable)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(AuthError::Unreadable)?;
        if alg.eq_ignore_ascii_case("none") {
            return Err(AuthError::Unsigned);
        }
        // A key that travels with the token proves nothing about who made
        // it: keys come from the issuer only.
        for field in ["jwk", "jku", "x5u", "x5c"] {
            if header.contains_key(field) {
                return Err(AuthError::KeyInHeader);
            }
        }
        // Extensions that must be understood are not understood here.
        if header.contains_key("crit") {
            return Err(AuthError::Unreadable);
        }
        // An access token says so (RFC 9068: `at+jwt`) or says nothing
        // more than JWT; other types (logout, DPoP proofs ...) are not
        // credentials for a call.
        if let Some(typ) = header.get("typ") {
            let typ = typ.as_str().unwrap_or_default().to_ascii_lowercase();
            if !matches!(typ.as_str(), "jwt" | "at+jwt" | "application/at+jwt") {
                return Err(AuthError::NotAnAccessToken);
            }
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(AuthError::Unreadable),
        };
        Ok(Self {
            alg: alg.to_string(),
            kid,
        })
    }
}

/// The claim at `path` (names joined by `.` into nested objects).
fn lookup<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(claims, |value, name| value.get(name))
}

/// A claim that holds one string: a string, or an array of exactly one
/// (identity providers send user attributes either way). Blank is none.
fn single_string(claims: &Value, path: &str) -> Option<String> {
    let value = match lookup(claims, path)? {
        Value::String(s) => s.clone(),
        Value::Array(items) => match items.as_slice() {
            [Value::String(s)] => s.clone(),
            _ => return None,
        },
        _ => return None,
    };
    Some(value).filter(|v| !v.trim().is_empty())
}

/// The role the mapping's claim names: a string, or the one Blangkon role
/// among an array of the provider's roles.
fn role_of(claims: &Value, mapping: &ClaimMapping) -> Result<Role, AuthError> {
    let ours = |name: &str| -> Option<Result<Role, AuthError>> {
        let name = name.strip_prefix(mapping.role_prefix.as_str())?;
        Some(name.parse().map_err(|_| AuthError::UnknownRole))
    };
    match lookup(claims, &mapping.role) {
        Some(Value::String(name)) => ours(name).unwrap_or(Err(AuthError::NoRole)),
        Some(Value::Array(names)) => {
            // Among many roles of the provider, names that are not
            // Blangkon's are some other application's.
            let mut roles = names
                .iter()
                .filter_map(Value::as_str)
                .filter_map(ours)
                .filter_map(Result::ok);
            match (roles.next(), roles.next()) {
                (Some(role), None) => Ok(role),
                (None, _) => Err(AuthError::NoRole),
                (Some(_), Some(_)) => Err(AuthError::AmbiguousRole),
            }
        }
        _ => Err(AuthError::NoRole),
    }
}

/// The actor a token's claims name: its role and what the role is bound
/// to, each binding parsed into its domain value.
pub(super) fn actor_of(claims: &Value, mapping: &ClaimMapping) -> Result<Actor, AuthError> {
    let subject = single_string(claims, &mapping.subject).ok_or(AuthError::MissingClaim("sub"))?;
    let role = role_of(claims, mapping)?;
    let required = |path: &str, claim: &'static str| {
        single_string(claims, path).ok_or(AuthError::MissingBinding { role, claim })
    };
    let regency = || {
        RegencyCode::parse(&required(&mapping.regency, "regency")?).map_err(|_| {
            AuthError::BadBinding {
                claim: "regency",
                expected: "a regency code like 33.74",
            }
        })
    };
    let standing = match role {
        Role::ProvinceAdmin => Standing::ProvinceAdmin,
        Role::RegencyAdmin => Standing::RegencyAdmin(regency()?),
        // Absent or blank is not yet bound, as an identity provider sends
        // it before the vendor is registered.
        Role::Vendor => Standing::Vendor(match single_string(claims, &mapping.vendor) {
            None => None,
            Some(id) => Some(VendorId::parse(&id).map_err(|_| AuthError::BadBinding {
                claim: "vendor_id",
                expected: "a vendor id (UUID)",
            })?),
        }),
        Role::Buyer => Standing::Buyer(WorkUnit {
            regency: regency()?,
            // As the claim has it: orders keep the name they were placed
            // under, and must still match it.
            name: required(&mapping.work_unit, "work_unit")?,
        }),
        Role::Analyst => Standing::Analyst,
        Role::Service => Standing::Service,
    };
    Ok(Actor::new(subject, standing))
}
