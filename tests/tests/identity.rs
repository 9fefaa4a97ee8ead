//! The suite on a real OpenID provider (panva's oidc-provider, OpenID
//! Certified, deploy/local/oidc-provider.sh): people's tokens from the
//! device flow, the order service's own from client credentials, keys
//! found by discovery and rotated, and every kind of bad token refused with
//! `UNAUTHENTICATED` and a log line that names the reason, never the token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use blangkon_proto::catalog as cat;
use blangkon_proto::order as ord;
use blangkon_proto::vendor as ven;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use blangkon_suite_tests::{Suite, onboard_vendor_as, own_topics};
use blangkon_testkit::fixtures::{listed_product, with};
use blangkon_testkit::provider::{
    BUYER, PROVINCE_ADMIN, SHORT_LIVED_CLIENT, STRANGER_CLIENT, TestProvider,
};
use blangkon_testkit::{TestDatabase, TestSuite, eventually};
use blangkon_vendor::VendorService;
use serde_json::{Value, json};
use tonic::Code;
use tonic::transport::Channel;

#[tokio::test]
async fn a_purchase_runs_on_the_providers_tokens_and_the_order_services_own() {
    let Some(provider) = TestProvider::start("a_purchase_runs_on_the_providers_tokens").await
    else {
        return;
    };
    let mut services = own_topics(None).await;
    provider.trusted_by(&mut services.config);
    let suite = Suite::open_on(services).await;

    // The province joins Kota Semarang and onboards a vendor there.
    let province = provider
        .sign_in(PROVINCE_ADMIN, "vendor")
        .await
        .access_token;
    let vendor_id = onboard_vendor_as(&suite.vendor_endpoint(), &province).await;

    // The vendor's account, bound to it by the provider's administrator,
    // lists a product.
    provider
        .add_account("bu-sri", json!({"role": "vendor", "vendor_id": vendor_id}))
        .await;
    let seller = provider.sign_in("bu-sri", "catalog").await.access_token;
    let product_id = listed_product(
        &mut suite.catalog().await,
        &seller,
        cat::ProductDetails {
            name: "Nasi Kotak Ayam Bakar".into(),
            description: "Nasi, ayam bakar, lalapan".into(),
            category_code: "katering.nasi-kotak".into(),
            unit: "kotak".into(),
            price: 35_000,
            min_order_quantity: 1,
            stock: 100,
            image_urls: vec![],
            delivery_regencies: vec!["33.74".into()],
            domestic_product: true,
        },
    )
    .await;

    // A buyer orders: the order service checks the vendor and reserves
    // stock with its own client-credentials tokens from the provider.
    let buyer = provider.sign_in(BUYER, "order").await;
    let placing = ord::PlaceOrderRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        lines: vec![ord::OrderLine {
            product_id: product_id.clone(),
            quantity: 3,
        }],
        note: String::new(),
    };
    let order = suite
        .orders()
        .await
        .place_order(with(&buyer.access_token, placing))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(order.items.len(), 1);

    // The buyer's token is for the order service only.
    let quote = cat::QuotePricesRequest {
        lines: vec![cat::QuoteLine {
            product_id,
            quantity: 1,
        }],
    };
    let refused = suite
        .catalog()
        .await
        .quote_prices(with(&buyer.access_token, quote.clone()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused.message().contains("not meant for this service"),
        "{refused:?}"
    );
    // Its refresh token gets one for the catalog, and is replaced.
    let for_catalog = provider
        .refresh(buyer.refresh_token.as_deref().unwrap(), "catalog")
        .await
        .unwrap();
    assert_ne!(for_catalog.refresh_token, buyer.refresh_token);
    suite
        .catalog()
        .await
        .quote_prices(with(&for_catalog.access_token, quote))
        .await
        .unwrap();

    // A client the provider lets call none of the suite gets no token.
    assert!(
        provider
            .client_token(STRANGER_CLIENT, "vendor")
            .await
            .is_err()
    );
    suite.close().await;
}

/// Log lines written while a test runs on one thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn part(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

// One thread, so that the services' tasks log to this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn rotated_keys_are_fetched_and_bad_tokens_refused_with_the_reason_logged() {
    let Some(provider) = TestProvider::start("rotated_keys_are_fetched").await else {
        return;
    };
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_env_filter("blangkon=info")
        .with_ansi(false)
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    let mut services = TestSuite::new();
    provider.trusted_by(&mut services.config);
    // No skew allowed, so a token a second old is expired.
    services.config.auth.clock_skew_secs = 0;
    let db = TestDatabase::new().await;
    let vendor = services.start_on::<VendorService>(&db).await;
    let channel = Channel::from_shared(vendor.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = VendorServiceClient::new(channel);
    let list = || ven::ListRegenciesRequest::default();

    let before = provider
        .sign_in(PROVINCE_ADMIN, "vendor")
        .await
        .access_token;
    client.list_regencies(with(&before, list())).await.unwrap();
    let old_key = part(&before, 0);
    assert_eq!(old_key["alg"], "RS256");

    // The provider rotates: a new key (ES256), the old one withdrawn.
    let (withdrawn, current) = provider.rotate_keys().await;
    assert_eq!(withdrawn, old_key["kid"]);
    let after = provider
        .sign_in(PROVINCE_ADMIN, "vendor")
        .await
        .access_token;
    assert_eq!(part(&after, 0)["kid"], current.as_str());
    assert_eq!(part(&after, 0)["alg"], "ES256");
    // Accepted once the service fetched the key set again (at most every
    // second when a token names a key it does not hold).
    eventually(
        "a token of the new key is accepted",
        Duration::from_secs(10),
        || {
            let (mut client, request) = (client.clone(), with(&after, list()));
            async move { client.list_regencies(request).await }
        },
    )
    .await;

    // Algorithm confusion with the published key as an HMAC secret, and
    // an unsigned token, both naming the provider's current key.
    let jwks = provider.jwks().await;
    let public = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let claims = part(&after, 1);
    let header = encode(&json!({"alg": "HS256", "typ": "at+jwt", "kid": current}));
    let message = format!("{header}.{}", encode(&claims));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(&public),
        jsonwebtoken::Algorithm::HS256,
    )
    .unwrap();
    let confused = format!("{message}.{signature}");
    let unsigned = format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "kid": current})),
        encode(&claims)
    );

    let expiring = provider
        .client_token(SHORT_LIVED_CLIENT, "vendor")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let for_order = provider.sign_in(PROVINCE_ADMIN, "order").await.access_token;

    let cases = [
        (&before, "the token's key is not one the issuer publishes"),
        (
            &confused,
            "the token's algorithm is not the one its key is for",
        ),
        (&unsigned, "the token is unsigned"),
        (&expiring, "the token has expired"),
        (&for_order, "the token is not meant for this service"),
    ];
    for (token, reason) in cases {
        let Err(refused) = client.list_regencies(with(token, list())).await else {
            panic!("accepted, but {reason}");
        };
        assert_eq!(refused.code(), Code::Unauthenticated, "{reason}");
        assert!(refused.message().contains(reason), "{reason}: {refused:?}");
    }
    // A token of another provider: its keys are not this one's.
    let Some(other) = TestProvider::start("rotated_keys_are_fetched").await else {
        return;
    };
    let foreign = other.sign_in(PROVINCE_ADMIN, "vendor").await.access_token;
    let refused = client
        .list_regencies(with(&foreign, list()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);

    let logged = logs.text();
    for (token, reason) in cases {
        assert!(
            logged.contains(reason),
            "no log line says {reason:?}:\n{logged}"
        );
        let signature = token.rsplit('.').next().unwrap();
        let payload = token.split('.').nth(1).unwrap();
        for secret in [token.as_str(), payload, signature] {
            assert!(
                secret.is_empty() || !logged.contains(secret),
                "a token reached the logs"
            );
        }
    }
    assert!(!logged.contains(&foreign));

    // A service that trusts another issuer with this provider's very keys
    // (a second realm of one Keycloak): the signature holds, `iss` does not.
    let mut elsewhere = TestSuite::new();
    provider.trusted_by(&mut elsewhere.config);
    elsewhere.config.auth.issuer = "https://sso.example.go.id/realms/other".into();
    elsewhere.config.auth.jwks_url = format!("{}/jwks", provider.issuer);
    let other_db = TestDatabase::new().await;
    let other_vendor = elsewhere.start_on::<VendorService>(&other_db).await;
    let channel = Channel::from_shared(other_vendor.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut other_client = VendorServiceClient::new(channel);
    let refused = other_client
        .list_regencies(with(&after, list()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let reason = "the token is from another issuer";
    assert!(refused.message().contains(reason), "{refused:?}");
    assert!(logs.text().contains(reason), "no log line says {reason:?}");
    blangkon_testkit::stop(other_vendor).await;
    blangkon_testkit::stop(vendor).await;
}
