//! Who is calling: bearer tokens from the province's identity provider,
//! verified against its published keys, become an [`Actor`] that each
//! service's policy decides on.
//!
//! - [`TokenVerifier`] checks a token (keys from OpenID Connect discovery,
//!   `iss`, the service's own `aud`, `exp`, `nbf`) and maps its claims, as
//!   the `auth.claims` settings name them, to an actor.
//! - [`Authenticated`] wraps a gRPC service so that every call is verified
//!   before it reaches a handler; a refusal is `UNAUTHENTICATED` and a log
//!   line naming the reason, never the token.
//! - [`ServiceCredentials`] gives a service its own tokens for calling
//!   another (client credentials).
//! - [`LocalIssuer`] is the local suite's and the tests' issuer.

mod client;
mod issuer;
mod keys;
mod oidc;
mod settings;
mod verifier;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::{Request, Status};

pub use blangkon_domain::{Actor, Role, Standing, WorkUnit};
pub use client::{CredentialsError, ServiceCredentials};
pub use issuer::{LocalIssuer, TokenRequest};
pub use oidc::{Discovered, Http, OAuthError, TokenAnswer, discover};
pub use settings::{AuthSettings, ClaimMapping, ClientSettings, audience_of};
pub use verifier::TokenVerifier;

/// Why a call's token was refused. The messages say what is wrong with
/// the token, never what it or its claims hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing bearer token in the `authorization` metadata")]
    Missing,
    #[error("the `authorization` metadata is not `Bearer <token>`")]
    Malformed,
    #[error("the token is not a signed JWT")]
    Unreadable,
    #[error("the token is unsigned (`alg: none`)")]
    Unsigned,
    #[error(
        "the token carries its own key (`jwk`, `jku`, `x5u` or `x5c`); keys come from the issuer only"
    )]
    KeyInHeader,
    #[error("the token's key is not one the issuer publishes")]
    UnknownKey,
    #[error("the token's algorithm is not the one its key is for")]
    AlgorithmMismatch,
    /// The reason is logged where the fetch failed; callers are not told
    /// where the provider is.
    #[error("the identity provider's keys are unavailable; retry later")]
    KeysUnavailable,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token is not an access token (an ID, refresh or logout token)")]
    NotAnAccessToken,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (`nbf`)")]
    NotYetValid,
    #[error("the token lacks the `{0}` claim")]
    MissingClaim(&'static str),
    #[error("the token is from another issuer")]
    WrongIssuer,
    #[error("the token is not meant for this service (`aud`)")]
    WrongAudience,
    #[error("the token names no Blangkon role")]
    NoRole,
    #[error("the token names more than one Blangkon role")]
    AmbiguousRole,
    #[error("the token's role is not a Blangkon role")]
    UnknownRole,
    #[error("token role `{role}` needs the `{claim}` claim")]
    MissingBinding { role: Role, claim: &'static str },
    /// The claim's value is not what it must be; the value is not repeated.
    #[error("the token's `{claim}` claim is not {expected}")]
    BadBinding {
        claim: &'static str,
        expected: &'static str,
    },
    #[error("authentication is misconfigured: {0}")]
    Setup(String),
}

impl From<AuthError> for Status {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::KeysUnavailable | AuthError::Setup(_) => Status::unavailable(e.to_string()),
            e => Status::unauthenticated(e.to_string()),
        }
    }
}

impl TokenVerifier {
    /// The caller a request's `authorization` metadata names; `None` when
    /// it sends none.
    pub async fn caller(&self, headers: &http::HeaderMap) -> Result<Option<Actor>, AuthError> {
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Ok(None);
        };
        let value = value.to_str().map_err(|_| AuthError::Malformed)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthError::Malformed)?;
        self.verify(token.trim()).await.map(Some)
    }
}

/// A gRPC service whose calls are authenticated first: the caller's
/// [`Actor`] goes into the request's extensions, where [`actor`] finds it.
/// The verification is asynchronous (a token may name a key the service
/// must fetch first), which a tonic interceptor cannot be.
#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    verifier: Arc<TokenVerifier>,
    /// The methods a call without a token may reach, as [`Actor::public`]
    /// (whose policy then decides); one that sends a token must send a
    /// good one.
    public: PublicMethods,
    /// Whether a call's [`crate::time::REPLAY_AT_HEADER`] sets the clock
    /// of its domain facts (the local suite only).
    replay_clock: bool,
}

/// Which methods of a service take calls without a token.
#[derive(Debug, Clone, Copy)]
enum PublicMethods {
    None,
    All,
    /// These methods of this service (its fully qualified name).
    Only {
        service: &'static str,
        methods: &'static [&'static str],
    },
}

impl PublicMethods {
    /// Whether a call of `path` (`/<package.Service>/<Method>`) without a
    /// token may go on.
    fn admit(self, path: &str) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Only { service, methods } => path
                .strip_prefix('/')
                .and_then(|p| p.split_once('/'))
                .is_some_and(|(s, method)| s == service && methods.contains(&method)),
        }
    }
}

impl<S> Authenticated<S> {
    /// Every call must carry a good token.
    pub fn new(inner: S, verifier: Arc<TokenVerifier>) -> Self {
        Self {
            inner,
            verifier,
            public: PublicMethods::None,
            replay_clock: false,
        }
    }

    /// Calls without a token pass as [`Actor::public`]; a bad token is
    /// still `UNAUTHENTICATED`, so a client learns its token is wrong.
    pub fn open(inner: S, verifier: Arc<TokenVerifier>) -> Self {
        Self {
            inner,
            verifier,
            public: PublicMethods::All,
            replay_clock: false,
        }
    }

    /// Calls of `methods` of `service` (its fully qualified name, and the
    /// methods as it defines them, such as `SearchProducts`) without a
    /// token pass as [`Actor::public`]; every other call needs a good
    /// token.
    pub fn public_methods(
        inner: S,
        verifier: Arc<TokenVerifier>,
        service: &'static str,
        methods: &'static [&'static str],
    ) -> Self {
        Self {
            inner,
            verifier,
            public: PublicMethods::Only { service, methods },
            replay_clock: false,
        }
    }

    /// Lets a call's [`crate::time::REPLAY_AT_HEADER`] set the clock of the
    /// domain facts it records ([`crate::time::occurred_now`]): the local
    /// suite's replays only.
    pub fn replaying(mut self, on: bool) -> Self {
        self.replay_clock = on;
        self
    }
}

impl<S: NamedService> NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> tower::Service<http::Request<Body>> for Authenticated<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // The clone that was made ready is the one that serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let public = self.public;
        let replay_clock = self.replay_clock;
        Box::pin(async move {
            match verifier.caller(request.headers()).await {
                Ok(Some(actor)) => {
                    request.extensions_mut().insert(actor);
                }
                Ok(None) if public.admit(request.uri().path()) => {
                    request.extensions_mut().insert(Actor::public());
                }
                refused => {
                    let reason = refused.err().unwrap_or(AuthError::Missing);
                    tracing::info!(
                        target: "blangkon::auth",
                        path = request.uri().path(),
                        %reason,
                        "refused a call's token"
                    );
                    return Ok(Status::from(reason).into_http());
                }
            }
            if !replay_clock {
                return inner.call(request).await;
            }
            match crate::time::replay_at_of(request.headers()) {
                Ok(None) => inner.call(request).await,
                Ok(Some(at)) => crate::time::replayed_at(at, inner.call(request)).await,
                Err(reason) => Ok(Status::invalid_argument(format!(
                    "{}: {reason}",
                    crate::time::REPLAY_AT_HEADER
                ))
                .into_http()),
            }
        })
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

#[cfg(test)]
mod tests;
