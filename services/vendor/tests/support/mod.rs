//! `spawn_app()`: a vendor service on a free port with a fresh database and
//! a Kafka-protocol broker (testkit's `TestSuite`), plus helpers to call it
//! as each role.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use blangkon_platform::auth::{AuthError, Role, TokenRequest, audience_of, bearer};
use blangkon_platform::suite::Running;
use blangkon_proto::vendor as pb;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use blangkon_testkit::fixtures::issuer;
use blangkon_testkit::{TestDatabase, TestKafka, TestSuite};
use blangkon_vendor::{Settings, VendorService};
use sea_orm::DatabaseConnection;
use tonic::Request;
use tonic::transport::Channel;

pub const SEMARANG: &str = "33.74";
pub const CILACAP: &str = "33.01";

pub struct TestApp {
    pub address: SocketAddr,
    pub db: TestDatabase,
    pub kafka: TestKafka,
    running: Running<VendorService>,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(TestDatabase::new().await, TestKafka::new()).await
}

pub async fn spawn_with(db: TestDatabase, kafka: TestKafka) -> TestApp {
    spawn_with_settings(db, kafka, |_| {}).await
}

pub async fn spawn_with_settings(
    db: TestDatabase,
    kafka: TestKafka,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let suite = TestSuite::on(kafka);
    let mut settings = suite.settings::<VendorService>(&db);
    adjust(&mut settings);
    let running = suite.start(settings).await;
    TestApp {
        address: running.address(),
        db,
        kafka: suite.kafka,
        running,
    }
}

impl TestApp {
    pub async fn client(&self) -> VendorServiceClient<Channel> {
        VendorServiceClient::connect(format!("http://{}", self.address))
            .await
            .expect("connect to vendor service")
    }

    pub async fn channel(&self) -> Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub fn token(&self, role: Role, request: TokenRequest) -> Result<String, AuthError> {
        issuer().issue(
            role,
            &request,
            &[audience_of("vendor")],
            Duration::from_secs(600),
        )
    }

    fn with_token<T>(&self, token: String, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", bearer(&token).unwrap());
        request
    }

    pub fn as_province<T>(&self, message: T) -> Request<T> {
        let token = self
            .token(
                Role::ProvinceAdmin,
                TokenRequest {
                    subject: "admin@jatengprov.go.id".into(),
                    ..TokenRequest::default()
                },
            )
            .unwrap();
        self.with_token(token, message)
    }

    pub fn as_regency<T>(&self, regency: &str, message: T) -> Request<T> {
        let token = self
            .token(
                Role::RegencyAdmin,
                TokenRequest {
                    subject: format!("admin@{regency}"),
                    regency: Some(regency.into()),
                    ..TokenRequest::default()
                },
            )
            .unwrap();
        self.with_token(token, message)
    }

    pub fn as_vendor<T>(&self, subject: &str, vendor_id: Option<&str>, message: T) -> Request<T> {
        let token = self
            .token(
                Role::Vendor,
                TokenRequest {
                    subject: subject.into(),
                    vendor_id: vendor_id.map(String::from),
                    ..TokenRequest::default()
                },
            )
            .unwrap();
        self.with_token(token, message)
    }

    pub fn as_role<T>(&self, role: Role, message: T) -> Request<T> {
        let token = self
            .token(
                role,
                TokenRequest {
                    subject: format!("test-{role}"),
                    regency: Some(SEMARANG.into()),
                    work_unit: Some("Dinas Pendidikan".into()),
                    ..TokenRequest::default()
                },
            )
            .unwrap();
        self.with_token(token, message)
    }

    /// A separate connection to the service's database, for assertions.
    pub async fn database(&self) -> DatabaseConnection {
        self.db.connect().await
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.db.count(table).await
    }

    /// Stops the service gracefully and hands back its database and broker.
    pub async fn stop(self) -> (TestDatabase, TestKafka) {
        blangkon_testkit::stop(self.running).await;
        (self.db, self.kafka)
    }

    /// Joins Kota Semarang and registers one individual vendor there.
    pub async fn joined_vendor(&self, serial: u32) -> pb::Vendor {
        self.join(SEMARANG).await;
        self.client()
            .await
            .register_vendor(self.as_regency(SEMARANG, individual(SEMARANG, serial)))
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn join(&self, regency: &str) {
        let result = self
            .client()
            .await
            .join_regency(self.as_province(pb::JoinRegencyRequest {
                code: regency.into(),
            }))
            .await;
        match result {
            Ok(_) => {}
            Err(status) if status.code() == tonic::Code::AlreadyExists => {}
            Err(status) => panic!("join {regency}: {status}"),
        }
    }
}

/// Tokens without a running `TestApp`, e.g. for the binary under test.
pub struct TestTokens;

impl TestTokens {
    pub fn province<T>(&self, message: T) -> Request<T> {
        let token = blangkon_testkit::fixtures::token(
            Role::ProvinceAdmin,
            TokenRequest {
                subject: "admin@jatengprov.go.id".into(),
                ..TokenRequest::default()
            },
        );
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", bearer(&token).unwrap());
        request
    }
}

/// A valid NIK issued in `regency` with the given serial.
pub fn nik(regency: &str, serial: u32) -> String {
    format!(
        "{}011708{:02}{:04}",
        regency.replace('.', ""),
        80 + serial % 20,
        serial % 9999 + 1
    )
}

pub fn individual(regency: &str, serial: u32) -> pb::RegisterVendorRequest {
    pb::RegisterVendorRequest {
        name: format!("Katering Bu Sri {serial}"),
        legal_form: pb::LegalForm::Individual as i32,
        nik: nik(regency, serial),
        nib: String::new(),
        npwp: String::new(),
        scale: pb::Scale::Micro as i32,
        address: "Jl. Pandanaran 12".into(),
        regency_code: regency.into(),
        contact: Some(pb::Contact {
            phone: "081225001234".into(),
            email: "sri@example.id".into(),
        }),
        bank_account: Some(pb::BankAccount {
            bank_name: "Bank Jateng".into(),
            account_number: "2010123456".into(),
            account_holder: "Sri Wahyuni".into(),
        }),
    }
}

pub fn company(regency: &str, serial: u32) -> pb::RegisterVendorRequest {
    pb::RegisterVendorRequest {
        name: format!("CV Batik Lasem {serial}"),
        legal_form: pb::LegalForm::Cv as i32,
        nik: String::new(),
        nib: format!("91200{serial:08}"),
        npwp: format!("01234567{serial:07}"),
        scale: pb::Scale::Small as i32,
        ..individual(regency, serial)
    }
}

// Not every test file that shares this module names a field.
#[allow(unused_imports)]
pub use blangkon_testkit::fixtures::violated_fields;
