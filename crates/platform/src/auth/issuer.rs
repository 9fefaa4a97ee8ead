//! A small OpenID issuer for the local suite and the tests: one Ed25519
//! signing key, its discovery document and key set served over HTTP, and a
//! token endpoint granting the services' client credentials. The services
//! verify its tokens exactly as they verify the province's provider's —
//! discovery, key set, `iss`, `aud` — so the local suite runs the
//! production code path. It is not an identity provider for people: it
//! signs what its owner asks (`blangkon dev` prints a token per role).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::settings::{ClaimMapping, ClientSettings};
use super::{AuthError, verifier};
use blangkon_domain::Role;

/// How long a client-credentials token lives.
const SERVICE_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// What a token is for; [`LocalIssuer::issue`] adds the issuer, audiences
/// and times.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub subject: String,
    pub regency: Option<String>,
    pub vendor_id: Option<String>,
    pub work_unit: Option<String>,
}

struct Client {
    id: String,
    secret: String,
    role: Role,
    audiences: Vec<String>,
}

/// The issuer's key as kept on disk: a private JWK (RFC 8037) and the
/// issuer it signs for.
#[derive(Serialize, Deserialize)]
struct Stored {
    issuer: String,
    kid: String,
    kty: String,
    crv: String,
    x: String,
    d: String,
}

/// Signs tokens for the local suite and serves what verifiers need.
pub struct LocalIssuer {
    issuer: String,
    kid: String,
    seed: [u8; 32],
    public: [u8; 32],
    encoding: EncodingKey,
    clients: RwLock<Vec<Client>>,
}

impl std::fmt::Debug for LocalIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIssuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish()
    }
}

/// The PKCS#8 wrapping of an Ed25519 private key (RFC 8410 §7): this fixed
/// prefix, then the 32-byte seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl LocalIssuer {
    /// An issuer named `issuer` (its URL) with a new key.
    pub fn generate(issuer: impl Into<String>) -> Self {
        Self::from_seed(issuer.into(), rand::random())
    }

    fn from_seed(issuer: String, seed: [u8; 32]) -> Self {
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        Self {
            issuer,
            // Names the key by its public half, so a new key is a new kid.
            kid: URL_SAFE_NO_PAD.encode(&public[..12]),
            seed,
            public,
            encoding: EncodingKey::from_ed_der(&der),
            clients: RwLock::new(Vec::new()),
        }
    }

    /// The issuer kept at `path`, now named `issuer`; a new one, written
    /// there readable by its owner only, if there is none.
    pub fn load_or_create(path: &Path, issuer: &str) -> Result<Self, String> {
        let made = if path.exists() {
            let mut loaded = Self::load(path)?;
            if loaded.issuer == issuer {
                return Ok(loaded);
            }
            loaded.issuer = issuer.to_string();
            std::fs::remove_file(path).map_err(|e| format!("replacing {}: {e}", path.display()))?;
            loaded
        } else {
            Self::generate(issuer)
        };
        made.save(path)?;
        Ok(made)
    }

    /// The issuer kept at `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading the signing key {}: {e}", path.display()))?;
        let stored: Stored = serde_json::from_str(&text)
            .map_err(|_| format!("{} is not a Blangkon signing key", path.display()))?;
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(&stored.d)
            .ok()
            .and_then(|d| d.try_into().ok())
            .ok_or_else(|| format!("{} holds no Ed25519 key", path.display()))?;
        Ok(Self::from_seed(stored.issuer, seed))
    }

    /// Writes the key to a new file that only its owner may read: created
    /// with that mode, never readable by others for a moment.
    fn save(&self, path: &Path) -> Result<(), String> {
        let stored = Stored {
            issuer: self.issuer.clone(),
            kid: self.kid.clone(),
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(self.public),
            d: URL_SAFE_NO_PAD.encode(self.seed),
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(path)
            .map_err(|e| format!("creating {}: {e}", path.display()))?;
        let text = serde_json::to_vec_pretty(&stored).map_err(|e| e.to_string())?;
        file.write_all(&text)
            .map_err(|e| format!("writing {}: {e}", path.display()))
    }

    /// The `iss` of its tokens, and where its discovery document is.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key set verifiers fetch.
    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "use": "sig",
            "alg": "EdDSA",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(self.public),
        }]})
    }

    /// A token for `role`, accepted by the services whose audiences are
    /// given, valid for `valid_for`. Refuses what a verifier would refuse.
    pub fn issue(
        &self,
        role: Role,
        request: &TokenRequest,
        audiences: &[String],
        valid_for: Duration,
    ) -> Result<String, AuthError> {
        let now = jsonwebtoken::get_current_timestamp();
        let mut claims = json!({
            "iss": self.issuer,
            "sub": request.subject,
            "aud": audiences,
            "role": role.as_str(),
            "iat": now,
            "nbf": now,
            "exp": now + valid_for.as_secs(),
        });
        for (name, value) in [
            ("regency", &request.regency),
            ("vendor_id", &request.vendor_id),
            ("work_unit", &request.work_unit),
        ] {
            if let Some(value) = value {
                claims[name] = json!(value);
            }
        }
        verifier::actor_of(&claims, &ClaimMapping::default())?;
        self.sign(&claims)
    }

    pub(super) fn sign(&self, claims: &Value) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| AuthError::Setup(format!("signing a token: {e}")))
    }

    /// Registers a client that may ask for `role` tokens for `audiences`
    /// with the client-credentials grant; answers its settings. Each
    /// registration has a secret of its own, and earlier ones stay good
    /// (tests sharing an issuer start the same service many times).
    pub fn register_client(&self, id: &str, role: Role, audiences: &[String]) -> ClientSettings {
        use rand::distr::{Alphanumeric, SampleString};
        let secret = Alphanumeric.sample_string(&mut rand::rng(), 40);
        let mut clients = self.clients.write().unwrap_or_else(|p| p.into_inner());
        clients.push(Client {
            id: id.to_string(),
            secret: secret.clone(),
            role,
            audiences: audiences.to_vec(),
        });
        ClientSettings {
            id: id.to_string(),
            secret: secret.into(),
            token_url: self.endpoint("token"),
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}/{path}", self.issuer.trim_end_matches('/'))
    }

    /// Discovery, the key set and the token endpoint.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(self)
    }

    /// A new issuer served on a free loopback port by a thread of its own
    /// until the process ends: for tests and benchmarks, whose runtimes
    /// may end before the issuer may.
    pub fn serve_on_loopback() -> std::io::Result<Arc<Self>> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let issuer = Arc::new(Self::generate(format!("http://{}", listener.local_addr()?)));
        let served = issuer.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("local-issuer".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let served = match TcpListener::from_std(listener) {
                        Ok(listener) => served.serve(listener, CancellationToken::new()).await,
                        Err(e) => Err(e),
                    };
                    if let Err(e) = served {
                        tracing::error!(error = %e, "the local issuer stopped");
                    }
                });
            })?;
        Ok(issuer)
    }

    /// Serves [`LocalIssuer::router`] on `listener` until `shutdown`.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
    }
}

async fn discovery(State(issuer): State<Arc<LocalIssuer>>) -> Json<Value> {
    Json(json!({
        "issuer": issuer.issuer,
        "jwks_uri": issuer.endpoint("jwks"),
        "token_endpoint": issuer.endpoint("token"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "response_types_supported": [],
        "subject_types_supported": ["public"],
    }))
}

async fn jwks(State(issuer): State<Arc<LocalIssuer>>) -> Json<Value> {
    Json(issuer.jwks())
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The client's id and secret: HTTP Basic (form-encoded parts, RFC 6749
/// §2.3.1) or the form's `client_id` and `client_secret`.
fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("v={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((unescape(id)?, unescape(secret)?));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

/// Compares secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

async fn token(
    State(issuer): State<Arc<LocalIssuer>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is granted here",
        );
    }
    let Some((id, secret)) = client_credentials(&headers, &form) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "no client credentials",
        );
    };
    let granted = {
        let clients = issuer.clients.read().unwrap_or_else(|p| p.into_inner());
        clients
            .iter()
            .find(|c| c.id == id && same_secret(&c.secret, &secret))
            .map(|c| (c.role, c.audiences.clone()))
    };
    let Some((role, audiences)) = granted else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    };
    // RFC 8707: a token for the one resource asked for, if the client may
    // call it; else for every audience the client may call.
    let audiences = match form.get("resource") {
        None => audiences,
        Some(resource) if audiences.contains(resource) => vec![resource.clone()],
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "this client may not call that resource",
            );
        }
    };
    let request = TokenRequest {
        subject: id,
        ..TokenRequest::default()
    };
    match issuer.issue(role, &request, &audiences, SERVICE_TOKEN_LIFETIME) {
        Ok(token) => Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": SERVICE_TOKEN_LIFETIME.as_secs(),
        }))
        .into_response(),
        Err(e) => oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &e.to_string(),
        ),
    }
}
