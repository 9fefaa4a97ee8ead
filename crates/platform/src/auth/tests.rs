use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::verifier::actor_of;
use super::*;
use blangkon_domain::RegencyCode;

const VENDOR: &str = "urn:blangkon:vendor";
const HOUR: Duration = Duration::from_secs(3600);

/// A provider's key set in a file, first holding `old`'s key, which a
/// test rotates to `new`'s (or replaces) under a verifier reading it.
struct RotatingKeys {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    old: LocalIssuer,
    new: LocalIssuer,
}

impl RotatingKeys {
    const ISSUER: &'static str = "https://sso.example/realms/jateng";

    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        let (old, new) = (
            LocalIssuer::generate(Self::ISSUER),
            LocalIssuer::generate(Self::ISSUER),
        );
        std::fs::write(&path, old.jwks().to_string()).unwrap();
        Self {
            _dir: dir,
            path,
            old,
            new,
        }
    }

    /// A verifier of the file's keys, fetching them again at most every
    /// `refresh_min_secs`, holding them `max_age_secs` (the default if none).
    fn verifier(&self, refresh_min_secs: u64, max_age_secs: Option<u64>) -> TokenVerifier {
        let defaults = AuthSettings::default();
        TokenVerifier::new(&AuthSettings {
            issuer: Self::ISSUER.into(),
            audience: VENDOR.into(),
            jwks_file: self.path.display().to_string(),
            keys_refresh_min_secs: refresh_min_secs,
            keys_max_age_secs: max_age_secs.unwrap_or(defaults.keys_max_age_secs),
            ..defaults
        })
        .unwrap()
    }
}

/// An issuer served on loopback, and verifiers that discover it.
struct Served {
    issuer: Arc<LocalIssuer>,
    stop: CancellationToken,
}

impl Served {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let issuer = Arc::new(LocalIssuer::generate(url));
        let stop = CancellationToken::new();
        tokio::spawn(issuer.clone().serve(listener, stop.clone()));
        Self { issuer, stop }
    }

    fn settings(&self, audience: &str) -> AuthSettings {
        AuthSettings {
            issuer: self.issuer.issuer().to_string(),
            audience: audience.into(),
            keys_refresh_min_secs: 0,
            ..AuthSettings::default()
        }
    }

    fn verifier(&self, audience: &str) -> TokenVerifier {
        TokenVerifier::new(&self.settings(audience)).unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn analyst() -> TokenRequest {
    TokenRequest {
        subject: "analyst@jatengprov.go.id".into(),
        ..TokenRequest::default()
    }
}

fn for_vendor() -> Vec<String> {
    vec![VENDOR.to_string()]
}

/// Signs `claims` as `issuer` would, with a header of the test's making.
fn forged(header: Value, claims: &Value, key: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let message = format!("{header}.{payload}");
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(key),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{signature}")
}

fn claims_of(issuer: &LocalIssuer, audience: &str) -> Value {
    let now = jsonwebtoken::get_current_timestamp();
    json!({
        "iss": issuer.issuer(), "sub": "someone", "aud": audience,
        "role": "analyst", "iat": now, "exp": now + 600,
    })
}

#[tokio::test]
async fn a_token_of_the_discovered_issuer_becomes_its_actor() {
    let served = Served::start().await;
    let token = served
        .issuer
        .issue(
            Role::RegencyAdmin,
            &TokenRequest {
                subject: "admin@semarangkota.go.id".into(),
                regency: Some("33.74".into()),
                ..TokenRequest::default()
            },
            &for_vendor(),
            HOUR,
        )
        .unwrap();
    let actor = served.verifier(VENDOR).verify(&token).await.unwrap();
    assert_eq!(actor.subject, "admin@semarangkota.go.id");
    assert_eq!(
        actor.standing,
        Standing::RegencyAdmin(RegencyCode::parse("33.74").unwrap())
    );
}

#[tokio::test]
async fn a_token_for_another_service_or_issuer_is_refused() {
    let served = Served::start().await;
    let token = served
        .issuer
        .issue(Role::Analyst, &analyst(), &for_vendor(), HOUR)
        .unwrap();
    assert_eq!(
        served.verifier("urn:blangkon:order").verify(&token).await,
        Err(AuthError::WrongAudience)
    );
    // Same key, another issuer name: the verifier trusts one issuer.
    let mut settings = served.settings(VENDOR);
    settings.jwks_url = format!("{}/jwks", served.issuer.issuer());
    settings.issuer = "https://sso.jatengprov.go.id/realms/jateng".into();
    assert_eq!(
        TokenVerifier::new(&settings).unwrap().verify(&token).await,
        Err(AuthError::WrongIssuer)
    );
}

#[tokio::test]
async fn iss_aud_exp_and_sub_are_required_and_times_are_checked() {
    let served = Served::start().await;
    let verifier = served.verifier(VENDOR);
    // Through the issuer's own signing path, claims as given.
    let sign = |claims: &Value| served.issuer.sign(claims).unwrap();
    let good = claims_of(&served.issuer, VENDOR);
    verifier.verify(&sign(&good)).await.unwrap();
    for (claim, expected) in [
        ("iss", AuthError::MissingClaim("iss")),
        ("aud", AuthError::MissingClaim("aud")),
        ("exp", AuthError::MissingClaim("exp")),
        ("sub", AuthError::MissingClaim("sub")),
    ] {
        let mut claims = good.clone();
        claims.as_object_mut().unwrap().remove(claim);
        assert_eq!(
            verifier.verify(&sign(&claims)).await,
            Err(expected),
            "{claim}"
        );
    }
    let now = jsonwebtoken::get_current_timestamp();
    let mut expired = good.clone();
    expired["exp"] = json!(now - 120);
    assert_eq!(
        verifier.verify(&sign(&expired)).await,
        Err(AuthError::Expired)
    );
    // Within the clock skew (30 s) an expiry just past still passes.
    let mut just_expired = good.clone();
    just_expired["exp"] = json!(now - 5);
    verifier.verify(&sign(&just_expired)).await.unwrap();
    let mut early = good.clone();
    early["nbf"] = json!(now + 600);
    assert_eq!(
        verifier.verify(&sign(&early)).await,
        Err(AuthError::NotYetValid)
    );
}

#[tokio::test]
async fn the_algorithm_comes_from_the_key_never_from_the_token() {
    let served = Served::start().await;
    let verifier = served.verifier(VENDOR);
    let claims = claims_of(&served.issuer, VENDOR);
    let jwk = served.issuer.jwks()["keys"][0].clone();
    let kid = jwk["kid"].as_str().unwrap().to_string();
    // HS256 "signed" with the published public key.
    let public = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    let confused = forged(json!({"alg": "HS256", "kid": kid}), &claims, &public);
    assert_eq!(
        verifier.verify(&confused).await,
        Err(AuthError::AlgorithmMismatch)
    );
    // Unsigned.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"x"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    assert_eq!(
        verifier.verify(&format!("{header}.{payload}.")).await,
        Err(AuthError::Unsigned)
    );
    // A key in the header, whatever it is.
    let embedded = forged(
        json!({"alg": "HS256", "kid": kid, "jwk": {"kty": "oct", "k": "c2VjcmV0"}}),
        &claims,
        b"secret",
    );
    assert_eq!(
        verifier.verify(&embedded).await,
        Err(AuthError::KeyInHeader)
    );
    assert_eq!(
        verifier.verify("not.a.token").await,
        Err(AuthError::Unreadable)
    );
}

#[tokio::test]
async fn a_token_verified_once_is_remembered_until_it_expires() {
    let served = Served::start().await;
    let verifier = TokenVerifier::new(&AuthSettings {
        clock_skew_secs: 0,
        ..served.settings(VENDOR)
    })
    .unwrap();
    let sign = |claims: &Value| served.issuer.sign(claims).unwrap();
    let good = sign(&claims_of(&served.issuer, VENDOR));
    let actor = verifier.verify(&good).await.unwrap();
    for _ in 0..10 {
        assert_eq!(verifier.verify(&good).await.as_ref(), Ok(&actor));
    }
    assert_eq!(
        verifier.signatures_checked(),
        1,
        "its signature checked once"
    );
    // Another token of the same caller is checked on its own, and one
    // changed by a byte is not taken for the one remembered.
    let at = good.len() - 10;
    let flipped = if &good[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &good[..at], &good[at + 1..]);
    assert_eq!(
        verifier.verify(&tampered).await,
        Err(AuthError::BadSignature)
    );
    assert_eq!(verifier.signatures_checked(), 2);
    // A token remembered is refused once its expiry passes.
    let mut brief = claims_of(&served.issuer, VENDOR);
    brief["exp"] = json!(jsonwebtoken::get_current_timestamp() + 1);
    let brief = sign(&brief);
    verifier.verify(&brief).await.unwrap();
    verifier.verify(&brief).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(verifier.verify(&brief).await, Err(AuthError::Expired));
}

#[tokio::test]
async fn a_key_replaced_under_its_id_refuses_the_tokens_remembered() {
    let keys = RotatingKeys::new();
    let verifier = keys.verifier(0, Some(1));
    let (old, new, jwks) = (&keys.old, &keys.new, &keys.path);
    let token = old
        .issue(Role::Analyst, &analyst(), &for_vendor(), HOUR)
        .unwrap();
    verifier.verify(&token).await.unwrap();
    verifier.verify(&token).await.unwrap();
    assert_eq!(verifier.signatures_checked(), 1);
    // The provider replaces the key and keeps its id (after a leak, say).
    let mut replaced = new.jwks();
    replaced["keys"][0]["kid"] = old.jwks()["keys"][0]["kid"].clone();
    std::fs::write(jwks, replaced.to_string()).unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The keys are old now: this call is served the held ones while the
    // set is fetched again; once it is, the remembered token is refused.
    let _ = verifier.verify(&token).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(verifier.verify(&token).await, Err(AuthError::BadSignature));
}

#[tokio::test]
async fn a_withdrawn_key_is_refused_and_a_new_one_fetched_when_named() {
    let keys = RotatingKeys::new();
    let verifier = keys.verifier(0, None);
    let (old, new, jwks) = (&keys.old, &keys.new, &keys.path);
    let by_old = old
        .issue(Role::Analyst, &analyst(), &for_vendor(), HOUR)
        .unwrap();
    let by_new = new
        .issue(Role::Analyst, &analyst(), &for_vendor(), HOUR)
        .unwrap();
    verifier.verify(&by_old).await.unwrap();
    assert_eq!(verifier.verify(&by_new).await, Err(AuthError::UnknownKey));
    // The provider rotates: the new key published, the old withdrawn.
    std::fs::write(jwks, new.jwks().to_string()).unwrap();
    verifier.verify(&by_new).await.unwrap();
    assert_eq!(verifier.verify(&by_old).await, Err(AuthError::UnknownKey));
}

#[tokio::test]
async fn unknown_keys_fetch_the_key_set_at_most_once_per_interval() {
    let keys = RotatingKeys::new();
    let verifier = keys.verifier(3600, Some(3600));
    let (old, new, jwks) = (&keys.old, &keys.new, &keys.path);
    let by_old = old
        .issue(Role::Analyst, &analyst(), &for_vendor(), HOUR)
        .unwrap();
    verifier.verify(&by_old).await.unwrap();
    std::fs::write(jwks, new.jwks().to_string()).unwrap();
    let by_new = new
        .issue(Role::Analyst, &analyst(), &for_vendor(), HOUR)
        .unwrap();
    // Fetched a moment ago: not again within the interval.
    assert_eq!(verifier.verify(&by_new).await, Err(AuthError::UnknownKey));
    verifier.verify(&by_old).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable_not_a_bad_token() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let issuer = LocalIssuer::generate(url.clone());
    let verifier = TokenVerifier::new(&AuthSettings {
        issuer: url,
        audience: VENDOR.into(),
        ..AuthSettings::default()
    })
    .unwrap();
    let token = issuer
        .issue(Role::Analyst, &analyst(), &for_vendor(), HOUR)
        .unwrap();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err, AuthError::KeysUnavailable);
    let status = Status::from(err);
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(!status.message().contains("127.0.0.1"), "{status:?}");
}

#[tokio::test]
async fn hs256_is_the_operators_opt_in_and_nothing_else() {
    let secret = "0123456789abcdef0123456789abcdef";
    let issuer = "blangkon-local";
    let claims = json!({
        "iss": issuer, "sub": "someone", "aud": VENDOR, "role": "analyst",
        "exp": jsonwebtoken::get_current_timestamp() + 600,
    });
    let token = forged(json!({"alg": "HS256"}), &claims, secret.as_bytes());
    let shared = TokenVerifier::new(&AuthSettings {
        issuer: issuer.into(),
        audience: VENDOR.into(),
        hs256_secret: secret.into(),
        ..AuthSettings::default()
    })
    .unwrap();
    assert_eq!(
        shared.verify(&token).await.unwrap().standing,
        Standing::Analyst
    );
    let other = forged(
        json!({"alg": "HS256"}),
        &claims,
        b"another-secret-another-secret-xx",
    );
    assert_eq!(shared.verify(&other).await, Err(AuthError::BadSignature));
    // An EdDSA token is not accepted by a verifier on HS256 either.
    let ed = LocalIssuer::generate(issuer)
        .issue(Role::Analyst, &analyst(), &for_vendor(), HOUR)
        .unwrap();
    assert_eq!(shared.verify(&ed).await, Err(AuthError::AlgorithmMismatch));
}

#[tokio::test]
async fn client_credentials_get_a_token_per_audience_and_renew_it() {
    let served = Served::start().await;
    let audiences = vec![
        "urn:blangkon:vendor".to_string(),
        "urn:blangkon:catalog".to_string(),
    ];
    let mut settings = served.settings("urn:blangkon:order");
    settings.client = served
        .issuer
        .register_client("order-service", Role::Service, &audiences);
    let credentials = ServiceCredentials::new(&settings).unwrap();
    let for_catalog = credentials.token_for("urn:blangkon:catalog").await.unwrap();
    // Cached: the same token again.
    assert_eq!(
        credentials.token_for("urn:blangkon:catalog").await.unwrap(),
        for_catalog
    );
    let actor = served
        .verifier("urn:blangkon:catalog")
        .verify(&for_catalog)
        .await
        .unwrap();
    assert_eq!(
        (actor.subject.as_str(), actor.standing),
        ("order-service", Standing::Service)
    );
    // Meant for the catalog only.
    assert_eq!(
        served.verifier(VENDOR).verify(&for_catalog).await,
        Err(AuthError::WrongAudience)
    );
    // Not a resource this client may call.
    let err = credentials
        .token_for("urn:blangkon:reporting")
        .await
        .unwrap_err();
    assert!(err.reason.contains("invalid_target"), "{err}");
    // A wrong secret is refused, and the secret is not in the error.
    let mut wrong = settings.clone();
    wrong.client.secret = "not-the-secret-of-order-service".into();
    let err = ServiceCredentials::new(&wrong)
        .unwrap()
        .token_for(VENDOR)
        .await
        .unwrap_err();
    assert!(err.reason.contains("invalid_client"), "{err}");
    assert!(!err.to_string().contains("not-the-secret"), "{err}");
}

#[test]
fn a_keycloak_realms_roles_and_a_flat_claim_both_map() {
    let keycloak = ClaimMapping {
        role: "realm_access.roles".into(),
        role_prefix: "blangkon:".into(),
        ..ClaimMapping::default()
    };
    let claims = json!({
        "sub": "f3b1", "regency": ["33.74"], "work_unit": "Dinas Pendidikan",
        "realm_access": {"roles": ["offline_access", "blangkon:buyer", "uma_authorization"]},
    });
    let actor = actor_of(&claims, &keycloak).unwrap();
    assert_eq!(
        actor.standing,
        Standing::Buyer(WorkUnit {
            regency: RegencyCode::parse("33.74").unwrap(),
            name: "Dinas Pendidikan".into(),
        })
    );
    let two = json!({"sub": "x", "realm_access": {"roles": ["blangkon:analyst", "blangkon:province_admin"]}});
    assert_eq!(actor_of(&two, &keycloak), Err(AuthError::AmbiguousRole));
    let none = json!({"sub": "x", "realm_access": {"roles": ["offline_access"]}});
    assert_eq!(actor_of(&none, &keycloak), Err(AuthError::NoRole));
    let flat = json!({"sub": "x", "role": "superuser"});
    assert_eq!(
        actor_of(&flat, &ClaimMapping::default()),
        Err(AuthError::UnknownRole)
    );
}

#[test]
fn bindings_are_required_and_parsed_without_repeating_them() {
    let mapping = ClaimMapping::default();
    let buyer = json!({"sub": "ppk", "role": "buyer", "regency": "33.74", "work_unit": "  "});
    assert_eq!(
        actor_of(&buyer, &mapping),
        Err(AuthError::MissingBinding {
            role: Role::Buyer,
            claim: "work_unit"
        })
    );
    let admin = json!({"sub": "a", "role": "regency_admin", "regency": "Semarang"});
    let err = actor_of(&admin, &mapping).unwrap_err();
    assert!(matches!(
        err,
        AuthError::BadBinding {
            claim: "regency",
            ..
        }
    ));
    assert!(!err.to_string().contains("Semarang"), "{err}");
    let vendor = json!({"sub": "u", "role": "vendor", "vendor_id": "vendor-42"});
    let err = actor_of(&vendor, &mapping).unwrap_err();
    assert!(!err.to_string().contains("vendor-42"), "{err}");
    for unbound in [json!(null), json!(""), json!(" ")] {
        let vendor = json!({"sub": "u", "role": "vendor", "vendor_id": unbound});
        assert_eq!(
            actor_of(&vendor, &mapping).unwrap().standing,
            Standing::Vendor(None)
        );
    }
}

#[test]
fn a_token_the_verifier_would_refuse_is_not_minted() {
    let err = LocalIssuer::generate("http://127.0.0.1:1")
        .issue(
            Role::RegencyAdmin,
            &TokenRequest::default(),
            &for_vendor(),
            HOUR,
        )
        .unwrap_err();
    assert!(matches!(err, AuthError::MissingClaim("sub")), "{err}");
}

#[test]
fn the_local_issuers_key_is_kept_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signing-key.json");
    let first = LocalIssuer::load_or_create(&path, "http://127.0.0.1:50050").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = LocalIssuer::load_or_create(&path, "http://127.0.0.1:50050").unwrap();
    assert_eq!(first.jwks(), again.jwks());
    let moved = LocalIssuer::load_or_create(&path, "http://127.0.0.1:50060").unwrap();
    assert_eq!(moved.jwks(), first.jwks());
    assert_eq!(moved.issuer(), "http://127.0.0.1:50060");
}

#[tokio::test]
async fn metadata_without_the_bearer_scheme_is_malformed() {
    let served = Served::start().await;
    let verifier = served.verifier(VENDOR);
    let mut headers = http::HeaderMap::new();
    assert_eq!(verifier.caller(&headers).await, Ok(None));
    headers.insert("authorization", "Basic abc".parse().unwrap());
    assert_eq!(verifier.caller(&headers).await, Err(AuthError::Malformed));
}

/// A key set served slowly, as a provider under load serves it.
async fn slow_jwks(jwks: Value, delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move {
                tokio::time::sleep(delay).await;
                axum::Json(jwks)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_caller_that_gives_up_does_not_cancel_the_fetch_of_the_keys() {
    let issuer = LocalIssuer::generate("https://sso.example/realms/jateng");
    let url = slow_jwks(issuer.jwks(), Duration::from_millis(400)).await;
    let verifier = TokenVerifier::new(&AuthSettings {
        issuer: issuer.issuer().into(),
        audience: VENDOR.into(),
        jwks_url: url,
        keys_refresh_min_secs: 3600,
        ..AuthSettings::default()
    })
    .unwrap();
    let token = issuer
        .issue(Role::Analyst, &analyst(), &for_vendor(), HOUR)
        .unwrap();
    // A client's deadline ends the call while the keys are being fetched
    // (a made-up kid would do the same, with no signature at all).
    let gave_up = tokio::time::timeout(Duration::from_millis(50), verifier.verify(&token)).await;
    assert!(gave_up.is_err());
    // The fetch went on; the next call, within the refresh interval that
    // allows no second fetch, finds the keys.
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn keys_that_cannot_be_fetched_again_expire() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    let issuer = LocalIssuer::generate("https://sso.example/realms/jateng");
    std::fs::write(&jwks, issuer.jwks().to_string()).unwrap();
    let verifier = TokenVerifier::new(&AuthSettings {
        issuer: issuer.issuer().into(),
        audience: VENDOR.into(),
        jwks_file: jwks.display().to_string(),
        keys_refresh_min_secs: 0,
        keys_max_age_secs: 0,
        keys_max_stale_secs: 1,
        ..AuthSettings::default()
    })
    .unwrap();
    let token = issuer
        .issue(Role::Analyst, &analyst(), &for_vendor(), HOUR)
        .unwrap();
    verifier.verify(&token).await.unwrap();
    // The provider goes away: the keys held still serve, for a while.
    std::fs::remove_file(&jwks).unwrap();
    verifier.verify(&token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        verifier.verify(&token).await,
        Err(AuthError::KeysUnavailable)
    );
}

#[tokio::test]
async fn only_access_tokens_are_credentials() {
    let served = Served::start().await;
    let verifier = served.verifier(VENDOR);
    let mut id_token = claims_of(&served.issuer, VENDOR);
    // Keycloak's marks: an ID token from the same realm and client.
    id_token["typ"] = json!("ID");
    assert_eq!(
        verifier
            .verify(&served.issuer.sign(&id_token).unwrap())
            .await,
        Err(AuthError::NotAnAccessToken)
    );
    let mut access = id_token.clone();
    access["typ"] = json!("Bearer");
    verifier
        .verify(&served.issuer.sign(&access).unwrap())
        .await
        .unwrap();
}

type Boxed = tower::util::BoxCloneService<http::Request<Body>, http::Response<Body>, Infallible>;

/// A call of a service that answers with the moment its facts would be
/// recorded at, behind `Authenticated` (open: no token needed).
async fn occurred_at(replaying: bool, replay_at: Option<&str>) -> http::Response<Body> {
    use tower::ServiceExt as _;
    let inner: Boxed = tower::util::BoxCloneService::new(tower::service_fn(
        |_request: http::Request<Body>| async {
            let mut response = http::Response::new(Body::empty());
            let at = crate::time::occurred_now().to_rfc3339();
            response
                .headers_mut()
                .insert("x-occurred-at", at.parse().unwrap());
            Ok::<_, Infallible>(response)
        },
    ));
    let served = Served::start().await;
    let service =
        Authenticated::open(inner, Arc::new(served.verifier(VENDOR))).replaying(replaying);
    let mut request = http::Request::builder().uri("/blangkon.test.v1.Test/Do");
    if let Some(at) = replay_at {
        request = request.header(crate::time::REPLAY_AT_HEADER, at);
    }
    service
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn moment_of(response: &http::Response<Body>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(response.headers()["x-occurred-at"].to_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[tokio::test]
async fn a_replaying_call_names_when_its_facts_happen_where_the_suite_allows() {
    let then = "2021-08-17T09:30:00+07:00";
    let replayed = occurred_at(true, Some(then)).await;
    assert_eq!(
        moment_of(&replayed).to_rfc3339(),
        "2021-08-17T02:30:00+00:00"
    );
    // Without the header, or where replays are not allowed (every deployed
    // service), the facts happen now.
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    assert!(moment_of(&occurred_at(true, None).await) >= before);
    assert!(moment_of(&occurred_at(false, Some(then)).await) >= before);
    // A replay tells the past, in RFC 3339: anything else is refused.
    for wrong in ["yesterday", "2999-01-01T00:00:00Z"] {
        let refused = occurred_at(true, Some(wrong)).await;
        let status = Status::from_header_map(refused.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{wrong}");
        assert!(status.message().contains(crate::time::REPLAY_AT_HEADER));
    }
}
