//! Tokens, requests and catalog listings for tests that call the real
//! services.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use blangkon_platform::auth::{LocalIssuer, Role, TokenRequest, audience_of, bearer};
use blangkon_proto::catalog as cat;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::vendor as ven;
use tonic::Request;
use tonic::transport::Channel;

/// The four services, whose audiences a test's user tokens name.
pub const SERVICES: [&str; 4] = ["vendor", "catalog", "order", "reporting"];

/// The issuer every service in a test trusts: one per test process with a
/// key of its own, served on loopback by a thread of its own (each test
/// runs on a runtime that ends with it; the issuer outlives them all).
pub fn issuer() -> Arc<LocalIssuer> {
    static ISSUER: OnceLock<Arc<LocalIssuer>> = OnceLock::new();
    ISSUER
        .get_or_init(|| LocalIssuer::serve_on_loopback().expect("serving the test issuer"))
        .clone()
}

/// A token for `role` from the test [`issuer`], for every service, valid
/// for ten minutes; subject `test-<role>` unless the request names one.
pub fn token(role: Role, mut request: TokenRequest) -> String {
    if request.subject.is_empty() {
        request.subject = format!("test-{role}");
    }
    let audiences: Vec<String> = SERVICES.iter().map(|s| audience_of(s)).collect();
    issuer()
        .issue(role, &request, &audiences, Duration::from_secs(600))
        .expect("issue test token")
}

/// A province admin's token (subject `admin`).
pub fn province_admin() -> String {
    token(
        Role::ProvinceAdmin,
        TokenRequest {
            subject: "admin".into(),
            ..TokenRequest::default()
        },
    )
}

/// A buyer's token (subject `ppk@disdik`): work unit `unit` of `regency`.
pub fn buyer_of(regency: &str, unit: &str) -> String {
    token(
        Role::Buyer,
        TokenRequest {
            subject: "ppk@disdik".into(),
            regency: Some(regency.into()),
            work_unit: Some(unit.into()),
            ..TokenRequest::default()
        },
    )
}

/// A vendor account's token (subject `umkm`), bound to `vendor_id`.
pub fn vendor_account(vendor_id: &str) -> String {
    token(
        Role::Vendor,
        TokenRequest {
            subject: "umkm".into(),
            vendor_id: Some(vendor_id.into()),
            ..TokenRequest::default()
        },
    )
}

/// The fields a refusal's `google.rpc.BadRequest` names, sorted.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    let mut fields: Vec<String> = blangkon_platform::validation::violations_of(status)
        .into_iter()
        .map(|v| v.field)
        .collect();
    fields.sort();
    fields
}

/// A migrated database of `M` in memory: one connection (each connection
/// to `sqlite::memory:` is a database of its own), for handler-level tests
/// that need no server.
pub async fn memory_database<M: sea_orm_migration::MigratorTrait>() -> sea_orm::DatabaseConnection {
    let db = blangkon_platform::db::connect(&blangkon_platform::settings::DatabaseSettings::new(
        "sqlite::memory:",
        1,
    ))
    .await
    .expect("an in-memory database");
    blangkon_platform::db::migrate::<M>(&db)
        .await
        .expect("migrations apply");
    db
}

/// `message` with `token` as its bearer.
pub fn with<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer(token).expect("bearer token"));
    request
}

/// Creates a product as the vendor of `vendor_token` and publishes it. The
/// catalog hears that a vendor is verified over Kafka, so creating is
/// retried for up to 30 s until it has; returns the product's id.
pub async fn listed_product(
    catalog: &mut CatalogServiceClient<Channel>,
    vendor_token: &str,
    details: cat::ProductDetails,
) -> String {
    let what = "the catalog takes a product of the verified vendor";
    let product = crate::eventually(what, Duration::from_secs(30), || {
        let (mut catalog, details) = (catalog.clone(), details.clone());
        async move {
            let create = cat::CreateProductRequest {
                details: Some(details),
                ..Default::default()
            };
            let created = catalog.create_product(with(vendor_token, create)).await;
            created.map(tonic::Response::into_inner)
        }
    })
    .await;
    catalog
        .publish_product(with(
            vendor_token,
            cat::PublishProductRequest {
                product_id: product.id.clone(),
            },
        ))
        .await
        .expect("publish the product");
    product.id
}

/// The registration of an individual (perorangan), micro-scale vendor
/// called `name` in `regency`, with a valid NIK, contact and bank account.
pub fn individual_vendor(name: &str, regency: &str) -> ven::RegisterVendorRequest {
    ven::RegisterVendorRequest {
        name: name.into(),
        legal_form: ven::LegalForm::Individual as i32,
        nik: "3374015708800002".into(),
        scale: ven::Scale::Micro as i32,
        address: "Jl. Pandanaran 12".into(),
        regency_code: regency.into(),
        contact: Some(ven::Contact {
            phone: "081225001234".into(),
            email: "sri@example.id".into(),
        }),
        bank_account: Some(ven::BankAccount {
            bank_name: "Bank Jateng".into(),
            account_number: "2010123456".into(),
            account_holder: "Sri".into(),
        }),
        ..Default::default()
    }
}
