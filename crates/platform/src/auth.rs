//! Bearer-token authentication for every gRPC service.
//!
//! Tokens are HS256 JWTs whose claims name a role of DESIGN.md and what that
//! role is bound to (a regency, a vendor, a work unit). The interceptor
//! verifies the token and puts the [`Principal`] into the request
//! extensions; handlers decide what the principal may do.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::{Request, Status};

use crate::settings::AuthSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Provincial staff: acts on every regency and vendor.
    ProvinceAdmin,
    /// Staff of one regency or city (`regency` claim).
    RegencyAdmin,
    /// A vendor's own account (`vendor_id` claim once registered).
    Vendor,
    /// A government work unit buying (`work_unit` and `regency` claims).
    Buyer,
    /// Reads reports and streams.
    Analyst,
    /// Another Blangkon service.
    Service,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::ProvinceAdmin,
        Role::RegencyAdmin,
        Role::Vendor,
        Role::Buyer,
        Role::Analyst,
        Role::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ProvinceAdmin => "province_admin",
            Role::RegencyAdmin => "regency_admin",
            Role::Vendor => "vendor",
            Role::Buyer => "buyer",
            Role::Analyst => "analyst",
            Role::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// An authenticated caller, as handlers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    pub regency: Option<String>,
    pub vendor_id: Option<String>,
    pub work_unit: Option<String>,
}

impl Principal {
    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }

    /// A regency admin bound to `regency_code`.
    pub fn administers_regency(&self, regency_code: &str) -> bool {
        self.role == Role::RegencyAdmin && self.regency.as_deref() == Some(regency_code)
    }
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

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let mut last = AuthError::Invalid("no key configured".into());
        for key in &self.keys {
            match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
                Ok(data) => return principal_from(data.claims),
                Err(e) => last = AuthError::Invalid(e.to_string()),
            }
        }
        Err(last)
    }

    /// Reads the `authorization` metadata of a request.
    pub fn authenticate<T>(&self, request: &Request<T>) -> Result<Principal, AuthError> {
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

fn principal_from(claims: Claims) -> Result<Principal, AuthError> {
    let needs = |present: bool, claim| {
        if present {
            Ok(())
        } else {
            Err(AuthError::MissingBinding {
                role: claims.role,
                claim,
            })
        }
    };
    match claims.role {
        Role::RegencyAdmin => needs(claims.regency.is_some(), "regency")?,
        Role::Buyer => {
            needs(claims.regency.is_some(), "regency")?;
            needs(claims.work_unit.is_some(), "work_unit")?;
        }
        _ => {}
    }
    Ok(Principal {
        subject: claims.sub,
        role: claims.role,
        regency: claims.regency,
        vendor_id: claims.vendor_id,
        work_unit: claims.work_unit,
    })
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
        principal_from(claims.clone())?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }
}

/// A tonic interceptor that authenticates every call and hands the
/// [`Principal`] to the handler through the request extensions.
pub fn interceptor(
    verifier: Arc<TokenVerifier>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |mut request: Request<()>| {
        let principal = verifier.authenticate(&request)?;
        request.extensions_mut().insert(principal);
        Ok(request)
    }
}

/// An interceptor for open-data services, whose reads need no token: a
/// call without `authorization` passes with no principal; a call that sends
/// one must send a valid one (a bad token is `UNAUTHENTICATED`, not ignored,
/// so a client learns its token is wrong).
pub fn open_interceptor(
    verifier: Arc<TokenVerifier>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |mut request: Request<()>| {
        if request.metadata().get("authorization").is_some() {
            let principal = verifier.authenticate(&request)?;
            request.extensions_mut().insert(principal);
        }
        Ok(request)
    }
}

/// The principal the interceptor attached; `UNAUTHENTICATED` if the service
/// was wired without it (a bug that must not turn into open access).
pub fn principal<T>(request: &Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no authenticated principal"))
}

/// The body of a gRPC method: the caller's [`Principal`] and the request's
/// message go to `$self.$method(&who, message)`, whose `ApiResult` becomes
/// the response or its status. An `impl` of a tonic service trait is then
/// one line per method.
#[macro_export]
macro_rules! handle {
    ($self:ident, $request:ident, $method:ident) => {{
        let who = $crate::auth::principal(&$request)?;
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
    fn a_token_round_trips_into_its_principal() {
        let token = TokenIssuer::new(SECRET, None)
            .issue(
                Role::RegencyAdmin,
                admin_of("33.74"),
                Duration::from_secs(60),
            )
            .unwrap();
        let principal = TokenVerifier::new(&settings()).verify(&token).unwrap();
        assert_eq!(principal.role, Role::RegencyAdmin);
        assert!(principal.administers_regency("33.74"));
        assert!(!principal.administers_regency("33.01"));
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
            sub: "x".into(),
            role: Role::Analyst,
            regency: None,
            vendor_id: None,
            work_unit: None,
            iss: None,
            iat: now - 3600,
            exp: now - 600,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert!(TokenVerifier::new(&settings()).verify(&token).is_err());
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
