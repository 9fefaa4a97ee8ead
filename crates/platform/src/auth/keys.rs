//! The identity provider's signing keys: fetched from its JSON Web Key Set
//! (found by OpenID Connect discovery, or configured), cached, fetched
//! again when they grow old or a token names a key not held — at most once
//! per `keys_refresh_min_secs`, so tokens with made-up key ids cannot make
//! a service call the provider on every request.
//!
//! Each key carries the one algorithm it verifies, taken from the key
//! (its `alg`, or its type and curve), never from a token: a token whose
//! header names another algorithm is refused, which is what stops an
//! HS256 token "signed" with the public key. Symmetric keys in a key set
//! are ignored; HS256 is only the operator's opt-in shared secret.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::oidc::{self, Http};
use super::settings::AuthSettings;

/// A key and the algorithm it verifies.
#[derive(Clone)]
pub struct VerifyingKey {
    pub kid: Option<String>,
    pub algorithm: Algorithm,
    pub key: Arc<DecodingKey>,
}

/// Why no key could be had for a token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("no key of the issuer has this token's key id")]
    Unknown,
    #[error("the token names no key id and the issuer has more than one key")]
    Ambiguous,
    #[error("the issuer's keys cannot be fetched: {0}")]
    Unavailable(String),
}

enum Source {
    /// OpenID Connect discovery of the issuer, then its `jwks_uri`.
    Discovery {
        issuer: String,
    },
    Url(String),
    File(PathBuf),
    /// The operator's opt-in HS256 secret.
    Shared(Arc<DecodingKey>),
}

struct Fetched {
    keys: Vec<VerifyingKey>,
    /// When they were fetched; `None` before the first fetch.
    at: Option<Instant>,
}

/// The one fetch of the key set that may be under way, and when the last
/// one ended.
#[derive(Default)]
struct Fetching {
    in_flight: Option<Shared<BoxFuture<'static, ()>>>,
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

/// The keys a service verifies tokens with. Fetches run on a task of
/// their own, one at a time: a call that is cancelled while it waits for
/// one (a client's deadline) cancels its wait, never the fetch.
#[derive(Clone)]
pub struct Keys {
    inner: Arc<Inner>,
}

struct Inner {
    source: Source,
    http: Http,
    cached: RwLock<Arc<Fetched>>,
    fetching: Mutex<Fetching>,
    min_refresh: Duration,
    max_age: Duration,
    max_stale: Duration,
}

/// How long a token naming a key not held waits for the key set.
const UNKNOWN_KEY_WAIT: Duration = Duration::from_secs(5);

impl Keys {
    pub fn new(settings: &AuthSettings, http: Http) -> Self {
        let source = if settings.is_hs256() {
            Source::Shared(Arc::new(DecodingKey::from_secret(
                settings.hs256_secret.expose().as_bytes(),
            )))
        } else if !settings.jwks_url.is_empty() {
            Source::Url(settings.jwks_url.clone())
        } else if !settings.jwks_file.is_empty() {
            Source::File(PathBuf::from(&settings.jwks_file))
        } else {
            Source::Discovery {
                issuer: settings.issuer.clone(),
            }
        };
        Self {
            inner: Arc::new(Inner {
                source,
                http,
                cached: RwLock::new(Arc::new(Fetched {
                    keys: Vec::new(),
                    at: None,
                })),
                fetching: Mutex::new(Fetching::default()),
                min_refresh: Duration::from_secs(settings.keys_refresh_min_secs),
                max_age: Duration::from_secs(settings.keys_max_age_secs),
                max_stale: Duration::from_secs(settings.keys_max_stale_secs),
            }),
        }
    }

    /// Starts fetching the key set, so the first call finds it held. Needs
    /// a Tokio runtime.
    pub fn prefetch(&self) {
        if !matches!(self.inner.source, Source::Shared(_)) {
            self.refresh();
        }
    }

    /// The key for a token whose header names `kid`.
    pub async fn key_for(&self, kid: Option<&str>) -> Result<VerifyingKey, KeyError> {
        if let Source::Shared(key) = &self.inner.source {
            return Ok(VerifyingKey {
                kid: None,
                algorithm: Algorithm::HS256,
                key: key.clone(),
            });
        }
        let held = self.current();
        let age = held.at.map(|at| at.elapsed());
        // Keys fetched too long ago are not trusted any more: a provider
        // kept out of reach must not keep a withdrawn key good for ever.
        let usable = age.is_some_and(|age| age <= self.inner.max_stale);
        if usable && let Some(found) = pick(&held.keys, kid) {
            // Old keys are still served while newer ones are fetched.
            if age.is_some_and(|age| age >= self.inner.max_age) {
                self.refresh();
            }
            return found;
        }
        // A key not held (or none held): wait, bounded, for a fetch.
        if let Some(fetch) = self.refresh() {
            let _ = tokio::time::timeout(UNKNOWN_KEY_WAIT, fetch).await;
        }
        let held = self.current();
        let usable = held
            .at
            .is_some_and(|at| at.elapsed() <= self.inner.max_stale);
        match pick(&held.keys, kid) {
            Some(found) if usable => found,
            _ if !usable => Err(KeyError::Unavailable(
                self.inner
                    .lock_fetching()
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "not fetched yet".into()),
            )),
            _ => Err(KeyError::Unknown),
        }
    }

    fn current(&self) -> Arc<Fetched> {
        self.inner
            .cached
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The fetch under way, or a new one unless the last began less than
    /// `keys_refresh_min_secs` ago; `None` when none may start now.
    fn refresh(&self) -> Option<Shared<BoxFuture<'static, ()>>> {
        let mut fetching = self.inner.lock_fetching();
        if let Some(in_flight) = &fetching.in_flight {
            return Some(in_flight.clone());
        }
        if fetching
            .last_attempt
            .is_some_and(|at| at.elapsed() < self.inner.min_refresh)
        {
            return None;
        }
        fetching.last_attempt = Some(Instant::now());
        let inner = self.inner.clone();
        let task = tokio::spawn(async move {
            let fetched = inner.fetch().await;
            let mut fetching = inner.lock_fetching();
            match fetched {
                Ok(keys) => {
                    tracing::info!(keys = keys.len(), "fetched the identity provider's keys");
                    *inner.cached.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Fetched {
                        keys,
                        at: Some(Instant::now()),
                    });
                    fetching.last_error = None;
                }
                // Keys already held stay good (up to keys_max_stale_secs)
                // while the provider is away: an outage must not log every
                // caller out.
                Err(reason) => {
                    tracing::warn!(%reason, "cannot fetch the identity provider's keys");
                    fetching.last_error = Some(reason);
                }
            }
            fetching.in_flight = None;
        });
        let done: BoxFuture<'static, ()> = Box::pin(async move {
            let _ = task.await;
        });
        let shared = done.shared();
        fetching.in_flight = Some(shared.clone());
        Some(shared)
    }
}

impl Inner {
    fn lock_fetching(&self) -> std::sync::MutexGuard<'_, Fetching> {
        self.fetching.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn fetch(&self) -> Result<Vec<VerifyingKey>, String> {
        let set: KeySet = match &self.source {
            Source::Discovery { issuer } => {
                let discovered = oidc::discover(&self.http, issuer).await?;
                self.http.get_json(&discovered.jwks_uri).await?
            }
            Source::Url(url) => self.http.get_json(url).await?,
            Source::File(path) => {
                let text = tokio::fs::read_to_string(path)
                    .await
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                serde_json::from_str(&text)
                    .map_err(|e| format!("{} is not a JWK set: {e}", path.display()))?
            }
            Source::Shared(_) => return Ok(Vec::new()),
        };
        Ok(usable(&set))
    }
}

/// A JSON Web Key Set read key by key, so that one key of a kind this
/// service does not know (an encryption key, a new algorithm) does not
/// hide the others.
#[derive(serde::Deserialize)]
struct KeySet {
    keys: Vec<serde_json::Value>,
}

/// The keys of `set` that verify signatures with an algorithm this
/// service accepts; the others are skipped with a note.
fn usable(set: &KeySet) -> Vec<VerifyingKey> {
    set.keys
        .iter()
        .filter_map(|value| {
            let verified = serde_json::from_value::<Jwk>(value.clone())
                .map_err(|_| "not a key this service reads")
                .and_then(|jwk| verifying_key(&jwk));
            match verified {
                Ok(key) => Some(key),
                Err(why) => {
                    tracing::debug!(kid = ?value.get("kid"), why, "skipping a key");
                    None
                }
            }
        })
        .collect()
}

fn verifying_key(jwk: &Jwk) -> Result<VerifyingKey, &'static str> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err("an encryption key");
    }
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return Err("an unsupported curve"),
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => Algorithm::EdDSA,
            _ => return Err("an unsupported curve"),
        },
        AlgorithmParameters::OctetKey(_) => return Err("a symmetric key"),
        _ => return Err("an unsupported key type"),
    };
    // A key's own `alg` wins, within its family (an RSA key may be for
    // RS512 or PS256, never for HS256 or ES256).
    let algorithm = match jwk.common.key_algorithm {
        None => by_type,
        Some(named) => {
            let named = match named {
                KeyAlgorithm::RS256 => Algorithm::RS256,
                KeyAlgorithm::RS384 => Algorithm::RS384,
                KeyAlgorithm::RS512 => Algorithm::RS512,
                KeyAlgorithm::PS256 => Algorithm::PS256,
                KeyAlgorithm::PS384 => Algorithm::PS384,
                KeyAlgorithm::PS512 => Algorithm::PS512,
                KeyAlgorithm::ES256 => Algorithm::ES256,
                KeyAlgorithm::ES384 => Algorithm::ES384,
                KeyAlgorithm::EdDSA => Algorithm::EdDSA,
                _ => return Err("an algorithm this service does not accept"),
            };
            let same_family = match by_type {
                Algorithm::RS256 => matches!(
                    named,
                    Algorithm::RS256
                        | Algorithm::RS384
                        | Algorithm::RS512
                        | Algorithm::PS256
                        | Algorithm::PS384
                        | Algorithm::PS512
                ),
                other => named == other,
            };
            if !same_family {
                return Err("an `alg` that does not fit the key");
            }
            named
        }
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "a malformed key")?;
    Ok(VerifyingKey {
        kid: jwk.common.key_id.clone(),
        algorithm,
        key: Arc::new(key),
    })
}

/// The key `kid` names; without a `kid`, the only key there is.
fn pick(keys: &[VerifyingKey], kid: Option<&str>) -> Option<Result<VerifyingKey, KeyError>> {
    match kid {
        Some(kid) => keys
            .iter()
            .find(|k| k.kid.as_deref() == Some(kid))
            .cloned()
            .map(Ok),
        None => match keys {
            [] => None,
            [only] => Some(Ok(only.clone())),
            _ => Some(Err(KeyError::Ambiguous)),
        },
    }
}
