//! PostgreSQL over TLS with the server checked: `sslmode=verify-full`
//! with `sslrootcert` connects only when the server's certificate chains
//! to that root and names the host connected to. Runs against the test
//! server (CI's has `ssl = on` with its self-signed certificate for
//! `localhost`, which is then its own root).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use blangkon_platform::db::{self, DatabaseSettings, DatabaseTls, SslMode};
use blangkon_testkit::{TestDatabase, missing_part};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

const TEST: &str = "verify_full_connects_only_to_the_server_its_root_and_name_vouch_for";

async fn show(db: &DatabaseConnection, sql: &str) -> String {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

/// The test database's URL, at `host`, with these TLS parameters.
/// Whether this session's connection is encrypted, as the server sees it.
async fn encrypted(db: &DatabaseConnection) -> bool {
    show(
        db,
        "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .await
        == "true"
}

fn at(url: &str, host: &str, query: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_host(Some(host)).unwrap();
    url.set_query(Some(query));
    url.to_string()
}

async fn connect_with(url: String, tls: DatabaseTls) -> Result<DatabaseConnection, db::DbError> {
    let settings = DatabaseSettings {
        tls,
        ..DatabaseSettings::new(url.as_str(), 1)
    };
    settings.validate("database").unwrap();
    db::connect(&settings).await
}

async fn connect(url: String) -> Result<DatabaseConnection, db::DbError> {
    connect_with(url, DatabaseTls::default()).await
}

#[tokio::test]
async fn verify_full_connects_only_to_the_server_its_root_and_name_vouch_for() {
    let Some(test_db) = TestDatabase::postgres(TEST).await else {
        return;
    };
    let plain = test_db.connect().await;
    if show(&plain, "SHOW ssl").await != "on" {
        missing_part(TEST, "a PostgreSQL server with ssl = on");
        return;
    }
    // The server's own certificate, self-signed for `localhost`: the root
    // a client that checks it must be given.
    let root = show(&plain, "SHOW ssl_cert_file").await;
    let root_path = std::path::PathBuf::from(&root);
    assert!(
        root_path.is_file(),
        "the server's certificate {root:?} is not readable here"
    );

    let checked = connect(at(
        &test_db.url,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={root}"),
    ))
    .await
    .unwrap();
    assert!(encrypted(&checked).await, "the connection is not encrypted");

    // The same from the settings, over a URL that asks for less (as a
    // CloudNativePG Secret's URL, which names no sslmode).
    let checked = connect_with(
        at(&test_db.url, "localhost", "sslmode=disable"),
        DatabaseTls {
            mode: Some(SslMode::VerifyFull),
            root_cert: Some(root_path.clone()),
        },
    )
    .await
    .unwrap();
    assert!(encrypted(&checked).await, "the connection is not encrypted");

    // The right root, but a name the certificate does not carry.
    let wrong_name = connect(at(
        &test_db.url,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={root}"),
    ))
    .await;
    assert!(
        wrong_name.is_err(),
        "connected to a host its certificate does not name"
    );

    // Another root altogether.
    let other = tempfile::NamedTempFile::new().unwrap();
    let stranger = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(other.path(), stranger.cert.pem()).unwrap();
    let wrong_root = connect(at(
        &test_db.url,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", other.path().display()),
    ))
    .await;
    assert!(
        wrong_root.is_err(),
        "connected to a server another root does not vouch for"
    );
}
