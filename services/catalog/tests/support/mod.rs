//! `spawn_app()`: a catalog service on a free port with a fresh database and
//! a Kafka-protocol broker (testkit's `TestSuite`), plus the vendor events
//! that feed it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use blangkon_catalog::CatalogService;
use blangkon_platform::auth::{Role, TokenRequest, bearer};
use blangkon_platform::kafka::topics;
use blangkon_platform::outbox::NewEvent;
use blangkon_platform::suite::Running;
use blangkon_proto::catalog as pb;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::events as ev;
use blangkon_proto::vendor::{LegalForm, Scale, VendorStatus};
use blangkon_testkit::{TestDatabase, TestKafka, TestSuite};
use prost::Message as _;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

pub struct TestApp {
    pub address: std::net::SocketAddr,
    pub db: TestDatabase,
    pub kafka: TestKafka,
    running: Running<CatalogService>,
    producer: FutureProducer,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_polling(Duration::from_millis(100)).await
}

/// The catalog with its search feed reading the change log every `poll`
/// (a local change wakes it at once).
pub async fn spawn_app_polling(poll: Duration) -> TestApp {
    let db = TestDatabase::new().await;
    let suite = TestSuite::new();
    suite.kafka.create_topic(topics::VENDOR_EVENTS, 6).await;
    let mut settings = suite.settings::<CatalogService>(&db);
    settings.service.search_poll_ms = u64::try_from(poll.as_millis()).unwrap();
    let running = suite.start(settings).await;
    let producer = ClientConfig::new()
        .set("bootstrap.servers", &suite.kafka.bootstrap)
        .set("broker.address.family", "v4")
        .create()
        .unwrap();
    TestApp {
        address: running.address(),
        db,
        kafka: suite.kafka,
        running,
        producer,
    }
}

impl TestApp {
    pub async fn client(&self) -> CatalogServiceClient<Channel> {
        CatalogServiceClient::connect(format!("http://{}", self.address))
            .await
            .unwrap()
    }

    fn request<T>(&self, role: Role, token: TokenRequest, message: T) -> Request<T> {
        let token = blangkon_testkit::fixtures::token(role, token);
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", bearer(&token).unwrap());
        request
    }

    pub fn as_vendor<T>(&self, vendor_id: &str, message: T) -> Request<T> {
        self.request(
            Role::Vendor,
            TokenRequest {
                subject: format!("vendor-{vendor_id}"),
                vendor_id: Some(vendor_id.into()),
                ..TokenRequest::default()
            },
            message,
        )
    }

    pub fn as_role<T>(&self, role: Role, message: T) -> Request<T> {
        self.request(
            role,
            TokenRequest {
                subject: format!("test-{role}"),
                regency: Some("33.74".into()),
                work_unit: Some("Dinas Pendidikan".into()),
                ..TokenRequest::default()
            },
            message,
        )
    }

    /// Publishes a vendor event as the vendor service would.
    pub async fn publish(&self, event: NewEvent) -> String {
        let payload = event.envelope.encode_to_vec();
        self.producer
            .send(
                FutureRecord::to(topics::VENDOR_EVENTS)
                    .key(&event.envelope.aggregate_id)
                    .payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        event.envelope.event_id
    }

    /// Publishes the vendor's registration and, if not pending, its status,
    /// then waits until the catalog has projected it.
    pub async fn vendor_with_status(&self, status: VendorStatus) -> String {
        self.vendor_of(status, LegalForm::Individual, Scale::Micro)
            .await
    }

    pub async fn vendor_of(
        &self,
        status: VendorStatus,
        legal_form: LegalForm,
        scale: Scale,
    ) -> String {
        let vendor_id = uuid::Uuid::now_v7().to_string();
        self.publish(registered_as(&vendor_id, legal_form, scale))
            .await;
        if status != VendorStatus::Pending {
            self.publish(status_change_as(
                &vendor_id,
                VendorStatus::Pending,
                status,
                legal_form,
                scale,
            ))
            .await;
        }
        self.wait_for_vendor_status(&vendor_id, status).await;
        vendor_id
    }

    /// Moves a vendor from one status to another, as the vendor service's
    /// event would, and waits until the catalog has projected it.
    pub async fn change_vendor_status(
        &self,
        vendor_id: &str,
        from: VendorStatus,
        to: VendorStatus,
    ) {
        self.publish(status_change(vendor_id, from, to)).await;
        self.wait_for_vendor_status(vendor_id, to).await;
    }

    pub async fn wait_for_vendor_status(&self, vendor_id: &str, status: VendorStatus) {
        let want = status
            .as_str_name()
            .trim_start_matches("VENDOR_STATUS_")
            .to_ascii_lowercase();
        let what = format!("vendor {vendor_id} projected as {want}");
        blangkon_testkit::eventually(&what, Duration::from_secs(30), || async {
            (self.projected_status(vendor_id).await.as_deref() == Some(want.as_str())).then_some(())
        })
        .await;
    }

    /// Creates a product as vendor `vendor_id`.
    pub async fn create_product(
        &self,
        vendor_id: &str,
        details: pb::ProductDetails,
    ) -> Result<pb::Product, Status> {
        self.create_product_keyed(vendor_id, details, "").await
    }

    /// Creates a product as vendor `vendor_id` under idempotency key `key`.
    pub async fn create_product_keyed(
        &self,
        vendor_id: &str,
        details: pb::ProductDetails,
        key: &str,
    ) -> Result<pb::Product, Status> {
        let request = pb::CreateProductRequest {
            details: Some(details),
            idempotency_key: key.into(),
        };
        let mut client = self.client().await;
        let response = client.create_product(self.as_vendor(vendor_id, request));
        response.await.map(Response::into_inner)
    }

    /// Lists product `product_id` as vendor `vendor_id`.
    pub async fn publish_product(
        &self,
        vendor_id: &str,
        product_id: &str,
    ) -> Result<pb::Product, Status> {
        let request = pb::PublishProductRequest {
            product_id: product_id.into(),
        };
        let mut client = self.client().await;
        let response = client.publish_product(self.as_vendor(vendor_id, request));
        response.await.map(Response::into_inner)
    }

    /// Reads product `product_id` as a caller in `role`.
    pub async fn product_as(&self, role: Role, product_id: &str) -> Result<pb::Product, Status> {
        let request = pb::GetProductRequest {
            product_id: product_id.into(),
        };
        let mut client = self.client().await;
        let response = client.get_product(self.as_role(role, request));
        response.await.map(Response::into_inner)
    }

    pub async fn database(&self) -> DatabaseConnection {
        self.db.connect().await
    }

    pub async fn projected_status(&self, vendor_id: &str) -> Option<String> {
        let db = self.database().await;
        let backend = db.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => "SELECT status FROM vendors WHERE vendor_id = $1",
            _ => "SELECT status FROM vendors WHERE vendor_id = ?",
        };
        let row = db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                sql,
                [vendor_id.into()],
            ))
            .await
            .unwrap();
        db.close().await.ok();
        row.map(|r| r.try_get::<String>("", "status").unwrap())
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.db.count(table).await
    }

    pub async fn stop(self) {
        blangkon_testkit::stop(self.running).await;
    }
}

pub fn registered(vendor_id: &str) -> NewEvent {
    registered_as(vendor_id, LegalForm::Individual, Scale::Micro)
}

pub fn registered_as(vendor_id: &str, legal_form: LegalForm, scale: Scale) -> NewEvent {
    NewEvent::new(
        topics::VENDOR_EVENTS,
        "vendor",
        "vendor",
        vendor_id,
        chrono::Utc::now(),
        &ev::VendorRegistered {
            vendor_id: vendor_id.into(),
            name: "Katering Bu Sri".into(),
            regency_code: "33.74".into(),
            legal_form: legal_form as i32,
            scale: scale as i32,
            status: VendorStatus::Pending as i32,
            actor: None,
        },
    )
}

pub fn status_change(vendor_id: &str, from: VendorStatus, to: VendorStatus) -> NewEvent {
    status_change_as(vendor_id, from, to, LegalForm::Individual, Scale::Micro)
}

/// A status change of a vendor of the given legal form and scale; like the
/// vendor service's events, it repeats both.
pub fn status_change_as(
    vendor_id: &str,
    from: VendorStatus,
    to: VendorStatus,
    legal_form: LegalForm,
    scale: Scale,
) -> NewEvent {
    let change = Some(ev::VendorStatusChange {
        vendor_id: vendor_id.into(),
        regency_code: "33.74".into(),
        previous_status: from as i32,
        status: to as i32,
        reason: String::new(),
        actor: None,
        legal_form: legal_form as i32,
        scale: scale as i32,
    });
    let at = chrono::Utc::now();
    fn make<M: prost::Name>(
        vendor_id: &str,
        at: chrono::DateTime<chrono::Utc>,
        payload: &M,
    ) -> NewEvent {
        NewEvent::new(
            topics::VENDOR_EVENTS,
            "vendor",
            "vendor",
            vendor_id,
            at,
            payload,
        )
    }
    match to {
        VendorStatus::Verified if from == VendorStatus::Suspended => {
            make(vendor_id, at, &ev::VendorReinstated { change })
        }
        VendorStatus::Verified => make(vendor_id, at, &ev::VendorVerified { change }),
        VendorStatus::Suspended => make(vendor_id, at, &ev::VendorSuspended { change }),
        VendorStatus::Rejected => make(vendor_id, at, &ev::VendorRejected { change }),
        other => panic!("no event moves a vendor to {other:?}"),
    }
}

pub fn nasi_kotak() -> pb::ProductDetails {
    pb::ProductDetails {
        name: "Nasi Kotak Ayam Bakar".into(),
        description: "Nasi, ayam bakar, lalapan, sambal dan kerupuk".into(),
        category_code: "katering.nasi-kotak".into(),
        unit: "kotak".into(),
        price: 25_000,
        min_order_quantity: 20,
        stock: 500,
        image_urls: vec!["https://cdn.example.id/nasi.jpg".into()],
        delivery_regencies: vec!["33.74".into(), "33.22".into()],
        domestic_product: true,
    }
}

// Not every test file that shares this module names a field.
#[allow(unused_imports)]
pub use blangkon_testkit::fixtures::violated_fields;
