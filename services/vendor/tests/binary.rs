//! The `blangkon-vendor` binary as a deployment runs it: configured only by
//! environment variables, refusing bad settings by name, migrating on
//! demand, serving, publishing, and stopping cleanly on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use blangkon_platform::kafka::topics;
use blangkon_proto::vendor as pb;
use blangkon_testkit::{EventReader, TestDatabase, TestKafka, eventually};
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_blangkon-vendor");

fn vendor_command(database_url: &str, bootstrap: &str, port: u16) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BLANGKON_VENDOR__DATABASE__URL", database_url)
        .env("BLANGKON_VENDOR__KAFKA__BOOTSTRAP_SERVERS", bootstrap)
        .env(
            "BLANGKON_VENDOR__AUTH__ISSUER",
            blangkon_testkit::fixtures::issuer().issuer(),
        )
        .env("BLANGKON_VENDOR__GRPC__LISTEN", format!("127.0.0.1:{port}"))
        .env("BLANGKON_VENDOR__TELEMETRY__LOG_FORMAT", "json");
    command
}

#[test]
fn a_bad_setting_stops_the_service_with_its_key_named() {
    let cases = [
        (
            "BLANGKON_VENDOR__DATABASE__MAX_CONNECTIONS",
            "lots",
            "max_connections",
        ),
        (
            "BLANGKON_VENDOR__DATABASE__URL",
            "mysql://x",
            "database.url",
        ),
        (
            "BLANGKON_VENDOR__AUTH__HS256_SECRET",
            "short",
            "auth.hs256_secret",
        ),
        ("BLANGKON_VENDOR__AUTH__ISSUER", "", "auth.issuer"),
        (
            "BLANGKON_VENDOR__KAFKA__BOOTSTRAP_SERVERS",
            "broker",
            "kafka.bootstrap_servers",
        ),
        (
            "BLANGKON_VENDOR__TELEMETRY__LOG_FORMAT",
            "xml",
            "log_format",
        ),
    ];
    for (key, value, named) in cases {
        let output = vendor_command("sqlite::memory:", "127.0.0.1:9", 0)
            .env(key, value)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(
            !output.status.success(),
            "{key}={value} must stop the service"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named), "{key}={value}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_migrates_serves_publishes_and_stops_cleanly_on_sigterm() {
    let db = TestDatabase::new().await;
    let kafka = TestKafka::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let migrate = vendor_command(&db.url, &kafka.bootstrap, port)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );

    let mut serve = vendor_command(&db.url, &kafka.bootstrap, port);
    // Topic creation is a broker matter here; the mock cannot.
    serve
        .env(
            "BLANGKON_VENDOR__KAFKA__CREATE_TOPICS",
            (!kafka.is_mock()).to_string(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = tokio::process::Command::from(serve)
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let endpoint = format!("http://127.0.0.1:{port}");
    let mut client = eventually("the vendor binary serves", Duration::from_secs(30), || {
        let endpoint = endpoint.clone();
        async move {
            pb::vendor_service_client::VendorServiceClient::connect(endpoint)
                .await
                .ok()
        }
    })
    .await;
    let app = support::TestTokens;
    client
        .join_regency(app.province(pb::JoinRegencyRequest {
            code: support::SEMARANG.into(),
        }))
        .await
        .unwrap();

    let pid = Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    signal::kill(pid, Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops within 30 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");

    let reader = EventReader::new(&kafka.bootstrap, topics::VENDOR_EVENTS);
    let events = reader
        .read_until(Duration::from_secs(20), |e| {
            e.iter()
                .any(|e| e.envelope.event_type == "blangkon.events.v1.RegencyJoined")
        })
        .await;
    assert!(
        events
            .iter()
            .any(|e| e.envelope.event_type == "blangkon.events.v1.RegencyJoined")
    );
    let conn = sea_orm::Database::connect(db.url.clone()).await.unwrap();
    assert_eq!(
        blangkon_platform::outbox::pending_count(&conn)
            .await
            .unwrap(),
        0
    );
}
