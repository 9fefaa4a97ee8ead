//! `blangkon login` against a real OpenID provider (oidc-provider), the
//! device flow driven end to end: the CLI shows the address, the test
//! approves it as the person would in a browser, the CLI keeps the tokens
//! (its file readable by the user only), gets one per service with the
//! rotating refresh token, and `blangkon logout` revokes and forgets them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::Duration;

use blangkon_catalog::CatalogService;
use blangkon_testkit::provider::{PROVINCE_ADMIN, TestProvider};
use blangkon_testkit::{TestDatabase, TestSuite};
use blangkon_vendor::VendorService;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_blangkon");

/// `blangkon <args> --config-dir <config_dir>`, with no token given.
fn blangkon(config_dir: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("BLANGKON_TOKEN")
        .args(args)
        .arg("--config-dir")
        .arg(config_dir)
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn a_person_signs_in_with_the_device_flow_and_out_again() {
    let Some(provider) = TestProvider::start("a_person_signs_in_with_the_device_flow").await else {
        return;
    };
    let mut services = TestSuite::new();
    provider.trusted_by(&mut services.config);
    let (vendor_db, catalog_db) = (TestDatabase::new().await, TestDatabase::new().await);
    let vendor = services.start_on::<VendorService>(&vendor_db).await;
    let catalog = services.start_on::<CatalogService>(&catalog_db).await;
    let kept = tempfile::tempdir().unwrap();

    let mut login = blangkon(kept.path(), &["login", "--issuer", &provider.issuer])
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut shown = BufReader::new(login.stderr.take().unwrap()).lines();
    let address = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = shown.next_line().await.unwrap() {
            if let Some(address) = line.trim().strip_prefix("http") {
                return format!("http{address}");
            }
        }
        panic!("blangkon login showed no address");
    })
    .await
    .expect("blangkon login shows an address within 30 s");
    // The person opens it, checks the code and signs in.
    provider.approve(&address, PROVINCE_ADMIN).await;
    let done = tokio::time::timeout(Duration::from_secs(30), login.wait_with_output())
        .await
        .expect("blangkon login ends within 30 s of the approval")
        .unwrap();
    let said = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{said}");
    assert!(said.contains("province_admin"), "{said}");

    let session = kept.path().join("session.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&session).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the tokens are the user's only");
    }
    let first_refresh = refresh_token(&session);

    // The kept sign-in calls the vendor service, then the catalog: a token
    // for each audience, the refresh token replaced on the way.
    let vendor_endpoint = vendor.endpoint();
    let join = blangkon(
        kept.path(),
        &[
            "regency",
            "join",
            "33.74",
            "--vendor-endpoint",
            &vendor_endpoint,
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(
        join.status.success(),
        "{}",
        String::from_utf8_lossy(&join.stderr)
    );
    let categories = blangkon(
        kept.path(),
        &[
            "catalog",
            "categories",
            "--catalog-endpoint",
            &catalog.endpoint(),
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(
        categories.status.success(),
        "{}",
        String::from_utf8_lossy(&categories.stderr)
    );
    let latest_refresh = refresh_token(&session);
    assert_ne!(
        first_refresh, latest_refresh,
        "the provider rotates it; the newest is kept"
    );

    let logout = blangkon(kept.path(), &["logout"]).output().await.unwrap();
    assert!(logout.status.success());
    let warned = String::from_utf8_lossy(&logout.stderr);
    assert!(
        !warned.contains("warning"),
        "revoked without a warning: {warned}"
    );
    assert!(!session.exists());
    // Revoked at the provider, not only forgotten here.
    assert!(provider.refresh(&latest_refresh, "vendor").await.is_err());
    let after = blangkon(
        kept.path(),
        &["regency", "list", "--vendor-endpoint", &vendor_endpoint],
    )
    .output()
    .await
    .unwrap();
    assert!(!after.status.success());
    assert!(String::from_utf8_lossy(&after.stderr).contains("blangkon login"));

    blangkon_testkit::stop(catalog).await;
    blangkon_testkit::stop(vendor).await;
}

fn refresh_token(session: &std::path::Path) -> String {
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(session).unwrap()).unwrap();
    kept["refresh_token"].as_str().unwrap().to_string()
}
