//! A service's own identity for calls to other services: tokens obtained
//! with the OAuth 2.0 client-credentials grant (RFC 6749 §4.4), one per
//! callee audience (RFC 8707 resource indicators), cached and renewed
//! before they expire. The service holds a client secret, never a key that
//! could sign a token.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::oidc::{self, Http, TokenAnswer};
use super::settings::{AuthSettings, ClientSettings};

/// Why a service token could not be had; names no secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot obtain a token for {audience}: {reason}")]
pub struct CredentialsError {
    pub audience: String,
    pub reason: String,
}

#[derive(Deserialize)]
struct Granted {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

struct Cached {
    token: String,
    renew_at: Instant,
    expires_at: Instant,
}

/// Tokens of one client, per audience.
pub struct ServiceCredentials {
    http: Http,
    issuer: String,
    client: ClientSettings,
    token_url: tokio::sync::OnceCell<String>,
    cached: tokio::sync::Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for ServiceCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceCredentials")
            .field("client", &self.client.id)
            .finish()
    }
}

/// A token is renewed once this share of its life has passed, so a call
/// never leaves with a token about to expire.
const RENEW_AFTER: f64 = 0.8;
/// A held token is not used this close to its expiry.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);
/// The life assumed of a token whose answer does not say.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

impl ServiceCredentials {
    /// The client of `settings.client` at `settings.issuer`'s provider.
    pub fn new(settings: &AuthSettings) -> Result<Self, String> {
        if !settings.client.is_configured() {
            return Err("auth.client.id and auth.client.secret are not set".into());
        }
        Ok(Self {
            http: Http::new(&settings.ca_file)?,
            issuer: settings.issuer.clone(),
            client: settings.client.clone(),
            token_url: tokio::sync::OnceCell::new(),
            cached: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// A token the service with `audience` accepts from this client.
    pub async fn token_for(&self, audience: &str) -> Result<String, CredentialsError> {
        let failed = |reason: String| CredentialsError {
            audience: audience.to_string(),
            reason,
        };
        // One renewal at a time: callers waiting here get the new token.
        let mut cached = self.cached.lock().await;
        if let Some(held) = cached.get(audience)
            && Instant::now() < held.renew_at
        {
            return Ok(held.token.clone());
        }
        let granted = match self.grant(audience).await {
            Ok(granted) => granted,
            // A token that has not expired yet still serves while the
            // provider cannot renew it.
            Err(reason) => match cached.get(audience) {
                Some(held) if Instant::now() + EXPIRY_MARGIN < held.expires_at => {
                    tracing::warn!(%audience, %reason, "cannot renew a service token; using the one held");
                    return Ok(held.token.clone());
                }
                _ => return Err(failed(reason)),
            },
        };
        let lifetime = granted
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_LIFETIME);
        let now = Instant::now();
        cached.insert(
            audience.to_string(),
            Cached {
                token: granted.access_token.clone(),
                renew_at: now + lifetime.mul_f64(RENEW_AFTER),
                expires_at: now + lifetime,
            },
        );
        Ok(granted.access_token)
    }

    /// A new token for `audience` from the provider.
    async fn grant(&self, audience: &str) -> Result<Granted, String> {
        let url = self.token_url().await?;
        let answer = self
            .http
            .post_form::<Granted>(
                &url,
                Some((&self.client.id, self.client.secret.expose())),
                &[("grant_type", "client_credentials"), ("resource", audience)],
            )
            .await?;
        match answer {
            TokenAnswer::Granted(granted) => Ok(granted),
            TokenAnswer::Refused(error) => Err(format!(
                "the identity provider refused client `{}`: {}{}",
                self.client.id,
                error.error,
                error
                    .error_description
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )),
        }
    }

    async fn token_url(&self) -> Result<String, String> {
        self.token_url
            .get_or_try_init(|| async {
                if !self.client.token_url.is_empty() {
                    return Ok(self.client.token_url.clone());
                }
                oidc::discover(&self.http, &self.issuer)
                    .await?
                    .token_endpoint
                    .ok_or_else(|| format!("the issuer {} names no token endpoint", self.issuer))
            })
            .await
            .cloned()
    }
}
