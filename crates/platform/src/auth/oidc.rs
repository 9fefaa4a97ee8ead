//! Talking to the identity provider over HTTP: its OpenID Connect discovery
//! document, its key set and its token endpoint. Errors name the URL and
//! what went wrong, never a credential.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// How long one request to the provider may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP client for the identity provider.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
}

/// What discovery tells about a provider (OpenID Connect Discovery 1.0 and
/// RFC 8414); only what Blangkon uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovered {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
}

/// An OAuth 2.0 error answer (RFC 6749 §5.2).
#[derive(Debug, Clone, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// A token endpoint's answer: a token or an OAuth error.
#[derive(Debug)]
pub enum TokenAnswer<T> {
    Granted(T),
    Refused(OAuthError),
}

impl Http {
    /// A client trusting the public web's certificate authorities and,
    /// when `ca_file` names one, the PEM certificates in it.
    pub fn new(ca_file: &str) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            // A redirect could carry a form with a refresh token or a
            // device code elsewhere (or to plain http): none is followed.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("blangkon/", env!("CARGO_PKG_VERSION")));
        if !ca_file.is_empty() {
            let pem = std::fs::read(ca_file).map_err(|e| format!("reading {ca_file}: {e}"))?;
            for certificate in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("{ca_file} holds no PEM certificates: {e}"))?
            {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Self { client })
    }

    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let answer = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", without_url(&e)))?;
        let status = answer.status();
        if !status.is_success() {
            return Err(format!("GET {url}: HTTP {status}"));
        }
        answer
            .json()
            .await
            .map_err(|e| format!("GET {url}: not the JSON expected: {}", without_url(&e)))
    }

    /// Posts a form to a token-like endpoint, authenticating as `client`
    /// (HTTP Basic, RFC 6749 §2.3.1) when given.
    pub async fn post_form<T: DeserializeOwned>(
        &self,
        url: &str,
        client: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> Result<TokenAnswer<T>, String> {
        let mut request = self.client.post(url).form(form);
        if let Some((id, secret)) = client {
            request = request.basic_auth(form_encode(id), Some(form_encode(secret)));
        }
        let answer = request
            .send()
            .await
            .map_err(|e| format!("POST {url}: {}", without_url(&e)))?;
        let status = answer.status();
        let body = answer
            .bytes()
            .await
            .map_err(|e| format!("POST {url}: {}", without_url(&e)))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map(TokenAnswer::Granted)
                .map_err(|e| format!("POST {url}: not the JSON expected: {e}"));
        }
        match serde_json::from_slice::<OAuthError>(&body) {
            Ok(error) => Ok(TokenAnswer::Refused(error)),
            Err(_) => Err(format!("POST {url}: HTTP {status}")),
        }
    }
}

impl Http {
    /// Revokes `token` (RFC 7009): any 2xx answer is success (the body is
    /// empty), an OAuth error answer is the refusal.
    pub async fn revoke(&self, url: &str, form: &[(&str, &str)]) -> Result<(), String> {
        let answer = self
            .client
            .post(url)
            .form(form)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {}", without_url(&e)))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let body = answer.bytes().await.unwrap_or_default();
        match serde_json::from_slice::<OAuthError>(&body) {
            Ok(error) => Err(format!("the provider refused: {}", error.error)),
            Err(_) => Err(format!("POST {url}: HTTP {status}")),
        }
    }
}

/// The discovery document of `issuer`, checked to be that issuer's (OpenID
/// Connect Discovery §4.3: the `issuer` it names must be the one asked).
pub async fn discover(http: &Http, issuer: &str) -> Result<Discovered, String> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let discovered: Discovered = http.get_json(&url).await?;
    if discovered.issuer != issuer {
        return Err(format!(
            "{url} describes the issuer `{}`, not `{issuer}`",
            discovered.issuer
        ));
    }
    Ok(discovered)
}

/// Client ids and secrets are form-encoded before HTTP Basic (RFC 6749
/// §2.3.1), so that a `:` in them cannot split them wrongly.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A reqwest error's reason without the URL it repeats (the caller names
/// the URL once).
fn without_url(error: &reqwest::Error) -> String {
    let mut reason = error.to_string();
    if let Some(url) = error.url() {
        reason = reason.replace(&format!(" for url ({url})"), "");
    }
    if let Some(source) = std::error::Error::source(error) {
        reason = format!("{reason}: {source}");
    }
    reason
}
