//! Bearer-token authentication for every gRPC service.
//!
//! Tokens are HS256 JWTs whose claims name a role of DESIGN.md and what that
//! role is bound to (a regency, a vendor, a work unit). The interceptor
//! verifies the token and puts the [`Actor`] into the request extensions;
//! each service's policy decides what the actor may do.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::{Request, Status};

use crate::settings::{Secret, SettingsError, require};
pub use blangkon_domain::{Actor, Role, Standing, WorkUnit};
use blangkon_domain::{RegencyCode, VendorId};
use schemars::JsonSchema;

/// The JWT claims Blangkon reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the caller is (an account or service name); recorded as the actor.
    pub sub: String,
    pub role: Role,
    /// Regency code the caller is bound to (regency_admin, buyer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regency: Option<String>,
    /// Vendor the caller acts for (vendor, once registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    /// Work unit (satuan kerja) the caller buys for (buyer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    pub iat: u64,
    pub exp: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing bearer token in the `authorization` metadata")]
    Missing,
    #[error("the `authorization` metadata is not `Bearer <token>`")]
    Malformed,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("token role `{role}` needs the `{claim}` claim")]
    MissingBinding { role: Role, claim: &'static str },
    /// The claim's value is not what it must be; the value is not repeated.
    #[error("the token's `{claim}` claim is not {expected}")]
    BadBinding {
        claim: &'static str,
        expected: &'static str,
    },
}

impl From<AuthError> for Status {
    fn from(e: AuthError) -> Self {
        Status::unauthenticated(e.to_string())
    }
}

/// Checks tokens against the configured secrets.
pub struct TokenVerifier {
    keys: Vec<DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl TokenVerifier {
    pub fn new(settings: &AuthSettings) -> Self {
        let mut keys = vec![DecodingKey::from_secret(
            settings.jwt_secret.expose().as_bytes(),
        )];
        if !settings.previous_secret.is_empty() {
            keys.push(DecodingKey::from_secret(
                settings.previous_secret.expose().as_bytes(),
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "sub"]);
        if !settings.issuers.is_empty() {
            validation.set_issuer(&settings.issuers);
        }
        Self { keys, validation }
    }

    pub fn verify(&self, token: &str) -> Result<Actor, AuthError> {
        let mut last = AuthError::Invalid("no key configured".into());
        for key in &self.keys {
            match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
                Ok(data) => return actor_from(data.claims),
                Err(e) => last = AuthError::Invalid(e.to_string()),
            }
        }
        Err(last)
    }

    /// Reads the `authorization` metadata of a request.
    pub fn authenticate<T>(&self, request: &Request<T>) -> Result<Actor, AuthError> {
        let value = request
            .metadata()
            .get("authorization")
            .ok_or(AuthError::Missing)?;
        let value = value.to_str().map_err(|_| AuthError::Malformed)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthError::Malformed)?;
        self.verify(token.trim())
    }
}

/// The actor a token's claims name: its role and what the role is bound
/// to, each binding parsed into its domain value.
fn actor_from(claims: Claims) -> Result<Actor, AuthError> {
    let role = claims.role;
    let required = |value: Option<String>, claim| {
        value
            .filter(|v| !v.trim().is_empty())
            .ok_or(AuthError::MissingBinding { role, claim })
    };
    let regency = |value: Option<String>| {
        RegencyCode::parse(&required(value, "regency")?).map_err(|_| AuthError::BadBinding {
            claim: "regency",
            expected: "a regency code like 33.74",
        })
    };
    let standing = match role {
        Role::ProvinceAdmin => Standing::ProvinceAdmin,
        Role::RegencyAdmin => Standing::RegencyAdmin(regency(claims.regency)?),
        // Blank is not yet bound, as an identity provider may send it
        // before the vendor is registered.
        Role::Vendor => Standing::Vendor(match claims.vendor_id.filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(id) => Some(VendorId::parse(&id).map_err(|_| AuthError::BadBinding {
                claim: "vendor_id",
                expected: "a vendor id (UUID)",
            })?),
        }),
        Role::Buyer => Standing::Buyer(WorkUnit {
            regency: regency(claims.regency)?,
            // As the claim has it: orders keep the name they were placed
            // under, and must still match it.
            name: required(claims.work_unit, "work_unit")?,
        }),
        Role::Analyst => Standing::Analyst,
        Role::Service => Standing::Service,
    };
    Ok(Actor::new(claims.sub, standing))
}

/// Signs tokens: used by `blangkon token`, the dev suite and tests. Production
/// tokens come from the province's identity provider with the same secret.
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: Option<String>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// What a token is for; [`TokenIssuer::issue`] adds the times.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub subject: String,
    pub regency: Option<String>,
    pub vendor_id: Option<String>,
    pub work_unit: Option<String>,
}

impl TokenIssuer {
    pub fn new(secret: &str, issuer: Option<String>) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.as_bytes()),
            issuer,
        }
    }

    pub fn issue(
        &self,
        role: Role,
        request: TokenRequest,
        valid_for: Duration,
    ) -> Result<String, AuthError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: request.subject,
            role,
            regency: request.regency,
            vendor_id: request.vendor_id,
            work_unit: request.work_unit,
            iss: self.issuer.clone(),
            iat: now,
            exp: now + valid_for.as_secs(),
        };
        // Refuse to mint a token the verifier would refuse.
        actor_from(claims.clone())?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }
}

/// A tonic interceptor that authenticates every call and hands the
/// [`Actor`] to the handler through the request extensions.
pub fn interceptor(
    verifier: Arc<TokenVerifier>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |mut request: Request<()>| {
        let actor = verifier.authenticate(&request)?;
        request.extensions_mut().insert(actor);
        Ok(request)
    }
}

/// An interceptor for open-data services, whose reads need no token: a
/// call without `authorization` passes with no actor; a call that sends
/// one must send a valid one (a bad token is `UNAUTHENTICATED`, not ignored,
/// so a client learns its token is wrong).
pub fn open_interceptor(
    verifier: Arc<TokenVerifier>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |mut request: Request<()>| {
        if request.metadata().get("authorization").is_some() {
            let actor = verifier.authenticate(&request)?;
            request.extensions_mut().insert(actor);
        }
        Ok(request)
    }
}

/// The actor the interceptor attached; `UNAUTHENTICATED` if the service
/// was wired without it (a bug that must not turn into open access).
pub fn actor<T>(request: &Request<T>) -> Result<Actor, Status> {
    request
        .extensions()
        .get::<Actor>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no authenticated caller"))
}

/// The body of a gRPC method: the caller's [`Actor`] and the request's
/// message go to `$self.$method(&who, message)`, whose result becomes the
/// response or, through the service's one error mapping, its status. An
/// `impl` of a tonic service trait is then one line per method.
#[macro_export]
macro_rules! handle {
    ($self:ident, $request:ident, $method:ident) => {{
        let who = $crate::auth::actor(&$request)?;
        $self
            .$method(&who, $request.into_inner())
            .await
            .map(::tonic::Response::new)
            .map_err(::tonic::Status::from)
    }};
}

/// `authorization` metadata value for a token.
pub fn bearer(
    token: &str,
) -> Result<tonic::metadata::MetadataValue<tonic::metadata::Ascii>, Status> {
    format!("Bearer {token}")
        .parse()
        .map_err(|_| Status::invalid_argument("token is not valid ASCII"))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC secret (HS256) that signs bearer tokens. Required, at least 32
    /// bytes. Rotate by moving the old one to `previous_secret`.
    pub jwt_secret: Secret,
    /// A secret that is still accepted while tokens signed with it expire.
    pub previous_secret: Secret,
    /// Accepted `iss` values; empty accepts any issuer. In the environment:
    /// a comma-separated list.
    // An empty list vanishes from the merged defaults, so it needs its own.
    #[serde(default)]
    pub issuers: Vec<String>,
}

impl AuthSettings {
    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        require(
            self.jwt_secret.expose().len() >= 32,
            section,
            "jwt_secret",
            "must be set to a secret of at least 32 bytes",
        )?;
        require(
            self.previous_secret.is_empty() || self.previous_secret.expose().len() >= 32,
            section,
            "previous_secret",
            "must be empty or at least 32 bytes",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn settings() -> AuthSettings {
        AuthSettings {
            jwt_secret: SECRET.into(),
            ..AuthSettings::default()
        }
    }

    fn admin_of(regency: &str) -> TokenRequest {
        TokenRequest {
            subject: "admin@semarang".into(),
            regency: Some(regency.into()),
            ..TokenRequest::default()
        }
    }

    #[test]
    fn a_token_round_trips_into_its_actor() {
        let token = TokenIssuer::new(SECRET, None)
            .issue(
                Role::RegencyAdmin,
                admin_of("33.74"),
                Duration::from_secs(60),
            )
            .unwrap();
        let actor = TokenVerifier::new(&settings()).verify(&token).unwrap();
        assert_eq!(actor.subject, "admin@semarang");
        assert_eq!(
            actor.standing,
            Standing::RegencyAdmin(RegencyCode::parse("33.74").unwrap())
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let token = TokenIssuer::new("another-secret-another-secret-xx", None)
            .issue(
                Role::ProvinceAdmin,
                TokenRequest::default(),
                Duration::from_secs(60),
            )
            .unwrap();
        let err = TokenVerifier::new(&settings()).verify(&token).unwrap_err();
        assert!(matches!(err, AuthError::Invalid(_)));
    }

    #[test]
    fn the_previous_secret_is_still_accepted_during_rotation() {
        let old = "old-secret-old-secret-old-secret";
        let token = TokenIssuer::new(old, None)
            .issue(
                Role::Analyst,
                TokenRequest::default(),
                Duration::from_secs(60),
            )
            .unwrap();
        let rotated = AuthSettings {
            previous_secret: old.into(),
            ..settings()
        };
        assert!(TokenVerifier::new(&rotated).verify(&token).is_ok());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            iat: now - 3600,
            exp: now - 600,
            ..claims_of(Role::Analyst)
        };
        assert!(
            TokenVerifier::new(&settings())
                .verify(&signed(&claims))
                .is_err()
        );
    }

    fn signed(claims: &Claims) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    fn claims_of(role: Role) -> Claims {
        let now = jsonwebtoken::get_current_timestamp();
        Claims {
            sub: "someone".into(),
            role,
            regency: None,
            vendor_id: None,
            work_unit: None,
            iss: None,
            iat: now,
            exp: now + 60,
        }
    }

    #[test]
    fn a_buyer_is_a_work_unit_of_a_regency() {
        let verifier = TokenVerifier::new(&settings());
        let buyer = Claims {
            regency: Some("33.74".into()),
            work_unit: Some("Dinas Pendidikan".into()),
            ..claims_of(Role::Buyer)
        };
        let actor = verifier.verify(&signed(&buyer)).unwrap();
        assert_eq!(
            actor.standing,
            Standing::Buyer(WorkUnit {
                regency: RegencyCode::parse("33.74").unwrap(),
                name: "Dinas Pendidikan".into(),
            })
        );
        let blank_unit = Claims {
            work_unit: Some("  ".into()),
            ..buyer.clone()
        };
        assert_eq!(
            verifier.verify(&signed(&blank_unit)),
            Err(AuthError::MissingBinding {
                role: Role::Buyer,
                claim: "work_unit"
            })
        );
        let no_regency = Claims {
            regency: None,
            ..buyer
        };
        assert_eq!(
            verifier.verify(&signed(&no_regency)),
            Err(AuthError::MissingBinding {
                role: Role::Buyer,
                claim: "regency"
            })
        );
    }

    #[test]
    fn a_binding_that_is_not_its_kind_of_value_is_refused_without_repeating_it() {
        let verifier = TokenVerifier::new(&settings());
        let admin = Claims {
            regency: Some("Semarang".into()),
            ..claims_of(Role::RegencyAdmin)
        };
        let err = verifier.verify(&signed(&admin)).unwrap_err();
        assert!(matches!(
            err,
            AuthError::BadBinding {
                claim: "regency",
                ..
            }
        ));
        assert!(!err.to_string().contains("Semarang"), "{err}");
        let vendor = Claims {
            vendor_id: Some("vendor-42".into()),
            ..claims_of(Role::Vendor)
        };
        let err = verifier.verify(&signed(&vendor)).unwrap_err();
        assert!(matches!(
            err,
            AuthError::BadBinding {
                claim: "vendor_id",
                ..
            }
        ));
        assert!(!err.to_string().contains("vendor-42"), "{err}");
        for unbound in [None, Some(""), Some(" ")] {
            let claims = Claims {
                vendor_id: unbound.map(String::from),
                ..claims_of(Role::Vendor)
            };
            assert_eq!(
                verifier.verify(&signed(&claims)).unwrap().standing,
                Standing::Vendor(None)
            );
        }
    }

    #[test]
    fn a_regency_admin_token_without_a_regency_cannot_be_minted() {
        let err = TokenIssuer::new(SECRET, None)
            .issue(
                Role::RegencyAdmin,
                TokenRequest::default(),
                Duration::from_secs(60),
            )
            .unwrap_err();
        assert!(matches!(
            err,
            AuthError::MissingBinding {
                claim: "regency",
                ..
            }
        ));
    }

    #[test]
    fn a_wrong_issuer_is_refused_when_issuers_are_configured() {
        let token = TokenIssuer::new(SECRET, Some("elsewhere".into()))
            .issue(
                Role::Analyst,
                TokenRequest::default(),
                Duration::from_secs(60),
            )
            .unwrap();
        let strict = AuthSettings {
            issuers: vec!["https://sso.jatengprov.go.id".into()],
            ..settings()
        };
        assert!(TokenVerifier::new(&strict).verify(&token).is_err());
    }

    #[test]
    fn metadata_without_the_bearer_scheme_is_malformed() {
        let verifier = TokenVerifier::new(&settings());
        let mut request = Request::new(());
        request
            .metadata_mut()
            .insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(verifier.authenticate(&request), Err(AuthError::Malformed));
        assert_eq!(
            verifier.authenticate(&Request::new(())),
            Err(AuthError::Missing)
        );
    }
}
