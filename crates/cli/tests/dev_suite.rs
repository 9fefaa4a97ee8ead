//! `blangkon dev` and the client commands as a user runs them: start the
//! suite, join a regency, register and verify a vendor, read the events
//! from the embedded broker, stop with SIGTERM, start again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use blangkon_platform::auth::LocalIssuer;
use blangkon_platform::kafka::topics;
use blangkon_testkit::{EventReader, eventually};
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

mod site;

const BIN: &str = env!("CARGO_BIN_EXE_blangkon");

/// `blangkon dev` running, and where its services listen.
struct Suite {
    child: Child,
    endpoint: String,
    catalog_endpoint: String,
    order_endpoint: String,
    reporting_endpoint: String,
    bootstrap: String,
    /// The base URLs of the public HTTP APIs: the catalog's, reporting's.
    public_http: Vec<String>,
}

use blangkon_testkit::free_port;

async fn start(data_dir: &Path, port: u16, catalog_port: u16) -> Suite {
    let (order_port, reporting_port) = (free_port(), free_port());
    let mut child = Command::new(BIN)
        .args(["dev", "--vendor-port", &port.to_string(), "--log", "warn"])
        .args(["--catalog-port", &catalog_port.to_string()])
        .args(["--order-port", &order_port.to_string()])
        .args(["--reporting-port", &reporting_port.to_string()])
        .args(["--metrics-port", "0"])
        .args(["--catalog-http-port", "0", "--reporting-http-port", "0"])
        .args(["--issuer-port", &free_port().to_string()])
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::piped())
        // Kept, to say why when the suite ends before its banner.
        .stderr(Stdio::from(
            std::fs::File::create(data_dir.join("dev.stderr")).unwrap(),
        ))
        .kill_on_drop(true)
        .spawn()
        .expect("start blangkon dev");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let banner = async {
        let mut bootstrap = None;
        let mut public = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.trim().strip_prefix("kafka bootstrap") {
                bootstrap = rest.split_whitespace().next().map(String::from);
            }
            // "public   http://127.0.0.1:<port>/api/v1/openapi.json": the
            // catalog's, then reporting's.
            if let Some(rest) = line.trim().strip_prefix("public") {
                let url = rest.split_whitespace().next().unwrap_or_default();
                public.push(url.trim_end_matches("/api/v1/openapi.json").to_string());
            }
            if line.starts_with("Try:") {
                break;
            }
        }
        (bootstrap, public)
    };
    let (bootstrap, public) = tokio::time::timeout(Duration::from_secs(120), banner)
        .await
        .expect("blangkon dev prints its banner within 120 s");
    // Keep draining so the suite never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Suite {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        catalog_endpoint: format!("http://127.0.0.1:{catalog_port}"),
        order_endpoint: format!("http://127.0.0.1:{order_port}"),
        reporting_endpoint: format!("http://127.0.0.1:{reporting_port}"),
        bootstrap: bootstrap.unwrap_or_else(|| {
            let said = std::fs::read_to_string(data_dir.join("dev.stderr")).unwrap_or_default();
            let tail: Vec<&str> = said.lines().rev().take(20).collect();
            panic!(
                "the banner names no kafka bootstrap; blangkon dev said last:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
        }),
        public_http: public,
    }
}

impl Suite {
    async fn cli(&self, data_dir: &Path, token_role: &[&str], args: &[&str]) -> Output {
        let token = token(data_dir, token_role).await;
        Command::new(BIN)
            .args(args)
            .args(["--vendor-endpoint", &self.endpoint, "--json"])
            .args(["--catalog-endpoint", &self.catalog_endpoint])
            .args(["--order-endpoint", &self.order_endpoint])
            .env("BLANGKON_TOKEN", token)
            .output()
            .await
            .expect("run blangkon")
    }

    /// `blangkon demo` at the scale `scale` gives, with `seed`, against
    /// this suite.
    async fn demo(&self, data_dir: &Path, scale: &[&str], seed: u64) -> Output {
        Command::new(BIN)
            .arg("demo")
            .args(scale)
            .args(["--seed", &seed.to_string(), "--concurrency", "4"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--vendor-endpoint", &self.endpoint])
            .args(["--catalog-endpoint", &self.catalog_endpoint])
            .args(["--order-endpoint", &self.order_endpoint])
            .args(["--reporting-endpoint", &self.reporting_endpoint])
            .output()
            .await
            .expect("run blangkon demo")
    }

    /// A command of the public: no token at all.
    async fn public(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .args(["--reporting-endpoint", &self.reporting_endpoint])
            .env_remove("BLANGKON_TOKEN")
            .output()
            .await
            .expect("run blangkon")
    }

    /// The reporting summary once `done` holds for it.
    async fn summary_when(&self, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let what = "reporting shows it";
        eventually(what, Duration::from_secs(30), || async {
            let summary = json(&self.public(&["report", "summary", "--json"]).await);
            if done(&summary) {
                Ok(summary)
            } else {
                Err(summary)
            }
        })
        .await
    }

    async fn stop(mut self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id().unwrap()).unwrap());
        signal::kill(pid, Signal::SIGTERM).unwrap();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("blangkon dev stops within 30 s")
            .unwrap();
        assert!(
            status.success(),
            "blangkon dev exits cleanly on SIGTERM: {status}"
        );
    }
}

async fn token(data_dir: &Path, role: &[&str]) -> String {
    let output = Command::new(BIN)
        .arg("token")
        .args(role)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

const PROVINCE: &[&str] = &["--role", "province_admin"];
const SEMARANG: &[&str] = &["--role", "regency_admin", "--regency", "33.74"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regency_onboards_a_vendor_through_the_local_suite() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path();
    let (port, catalog_port) = (free_port(), free_port());
    let suite = start(data_dir, port, catalog_port).await;

    let joined = json(
        &suite
            .cli(data_dir, PROVINCE, &["regency", "join", "33.74"])
            .await,
    );
    assert_eq!(joined["joined"], true);
    assert_eq!(joined["name"], "Semarang");
    let joined_name = joined["name"].as_str().unwrap().to_string();

    // Refused input names the field and exits 5; a token signed in
    // another data directory is refused with what to do, and exits 4.
    let invalid = suite
        .cli(data_dir, PROVINCE, &["regency", "join", "33.7"])
        .await;
    let stderr = String::from_utf8_lossy(&invalid.stderr);
    assert_eq!(invalid.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("  code: must be a regency code"),
        "{stderr}"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    LocalIssuer::load_or_create(
        &elsewhere.path().join("dev-signing-key.json"),
        "http://127.0.0.1:1",
    )
    .unwrap();
    let foreign = suite
        .cli(elsewhere.path(), PROVINCE, &["regency", "list"])
        .await;
    let stderr = String::from_utf8_lossy(&foreign.stderr);
    assert_eq!(foreign.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("Unauthenticated") && stderr.contains("mint it in the directory"),
        "{stderr}"
    );

    let registered = json(
        &suite
            .cli(
                data_dir,
                SEMARANG,
                &[
                    "vendor",
                    "register",
                    "--name",
                    "Katering Bu Sri",
                    "--legal-form",
                    "individual",
                    "--nik",
                    "3374015708800002",
                    "--scale",
                    "micro",
                    "--address",
                    "Jl. Pandanaran 12",
                    "--regency",
                    "33.74",
                    "--phone",
                    "081225001234",
                    "--bank",
                    "Bank Jateng",
                    "--account-number",
                    "2010123456",
                    "--account-holder",
                    "Sri Wahyuni",
                ],
            )
            .await,
    );
    assert_eq!(registered["status"], "pending");
    let id = registered["id"].as_str().unwrap().to_string();

    // The catalog learns of the verification through Kafka. Until the
    // vendor service has verified the vendor, its product is refused at
    // once; after, the CLI waits for the catalog to hear of it.
    let as_vendor = ["--role", "vendor", "--vendor-id", id.as_str()];
    let create: &[&str] = &[
        "product",
        "create",
        "--name",
        "Nasi Kotak Ayam Bakar",
        "--category",
        "katering.nasi-kotak",
        "--unit",
        "kotak",
        "--price",
        "25000",
        "--min-order",
        "20",
        "--stock",
        "500",
        "--delivers-to",
        "33.74",
    ];
    let early = suite.cli(data_dir, &as_vendor, create).await;
    let stderr = String::from_utf8_lossy(&early.stderr);
    assert_eq!(early.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("only verified vendors manage products"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("waiting"),
        "a pending vendor is not waited for: {stderr}"
    );

    let verified = json(
        &suite
            .cli(
                data_dir,
                SEMARANG,
                &["vendor", "verify", &id, "--note", "KTP checked"],
            )
            .await,
    );
    assert_eq!(verified["status"], "verified");
    assert_eq!(verified["history"].as_array().unwrap().len(), 2);

    // The vendor lists a product that buyers see.
    let created = json(&suite.cli(data_dir, &as_vendor, create).await);
    let product_id = created["id"].as_str().unwrap().to_string();
    let listed = json(
        &suite
            .cli(data_dir, &as_vendor, &["product", "publish", &product_id])
            .await,
    );
    assert_eq!(listed["status"], "listed");
    let buyer = [
        "--role",
        "buyer",
        "--regency",
        "33.74",
        "--work-unit",
        "Disdik",
    ];
    let seen = json(
        &suite
            .cli(data_dir, &buyer, &["product", "get", &product_id])
            .await,
    );
    assert_eq!(seen["price"], 25000);
    // Found by a stemmed, misspelt search ("makanan" -> "makan" is in the
    // category name; "ayma" is one swap from "ayam").
    let found = eventually("the search finds it", Duration::from_secs(15), || async {
        let found = json(
            &suite
                .cli(
                    data_dir,
                    &buyer,
                    &["catalog", "search", "nasi ayma", "--regency", "33.74"],
                )
                .await,
        );
        if found["total_matches"] == 1 {
            Ok(found)
        } else {
            Err(found)
        }
    })
    .await;
    assert_eq!(found["hits"][0]["id"], product_id.as_str());

    // The buyer orders 20 boxes; the vendor accepts.
    let item = format!("{product_id}=20");
    let placed = json(
        &suite
            .cli(data_dir, &buyer, &["order", "place", "--item", &item])
            .await,
    );
    assert_eq!(
        (placed["status"].as_str(), placed["total"].as_i64()),
        (Some("placed"), Some(500_000))
    );
    let order_id = placed["id"].as_str().unwrap().to_string();
    let accepted = json(
        &suite
            .cli(data_dir, &as_vendor, &["order", "accept", &order_id])
            .await,
    );
    assert_eq!(accepted["status"], "accepted");

    // The buyer lists its orders by day (WIB): today's has it, before today none.
    let today = (chrono::Utc::now() + chrono::Duration::hours(7))
        .date_naive()
        .to_string();
    let listed = async |flag: &str| {
        json(
            &suite
                .cli(
                    data_dir,
                    &buyer,
                    &["order", "list", "--status", "accepted", flag, &today],
                )
                .await,
        )["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(listed("--from").await, [order_id.as_str()]);
    assert!(listed("--until").await.is_empty());

    // The public sees it in the figures, the ledger and the OCDS export,
    // without a token; analysts follow it on their stream.
    let summary = suite.summary_when(|s| s["transactions"] == 1).await;
    assert_eq!(summary["transaction_value"], 500_000);
    assert_eq!(summary["vendors_total"], 1);
    assert_eq!(summary["products_listed"], 1);
    assert_eq!(summary["micro_small_share_bp"], 10_000);
    // Codes stay codes in JSON; names come beside them.
    assert_eq!(summary["vendors_by_regency"]["33.74"], 1);
    assert_eq!(
        summary["labels"]["vendors_by_regency"]["33.74"]["id"],
        joined_name.as_str()
    );
    assert_eq!(
        summary["labels"]["vendors_by_status"]["verified"],
        serde_json::json!({"id": "Terverifikasi", "en": "Verified"})
    );
    let by_status = json(
        &suite
            .public(&["report", "breakdown", "status", "--json"])
            .await,
    );
    let row = &by_status["rows"][0];
    let labelled = (
        row["key"].as_str(),
        row["label"].as_str(),
        row["label_en"].as_str(),
    );
    assert!(
        matches!(
            labelled,
            (Some("placed"), Some("Dipesan"), Some("Placed"))
                | (
                    Some("accepted"),
                    Some("Disetujui penyedia"),
                    Some("Accepted")
                )
        ),
        "{by_status}"
    );
    let ledger = json(&suite.public(&["report", "transactions", "--json"]).await);
    assert_eq!(ledger["transactions"][0]["order_id"], order_id.as_str());
    assert_eq!(ledger["transactions"][0]["vendor_name"], "Katering Bu Sri");
    assert_eq!(
        ledger["transactions"][0]["vendor_regency_name"],
        joined_name.as_str()
    );
    assert_eq!(
        ledger["transactions"][0]["buyer_regency_name"],
        joined_name.as_str()
    );
    let by_category = json(
        &suite
            .public(&["report", "breakdown", "category", "--json"])
            .await,
    );
    assert_eq!(by_category["rows"][0]["key"], "katering");
    // Categories are named from the catalog's taxonomy, in the breakdown,
    // the summary and the ledger's items.
    assert_eq!(by_category["rows"][0]["label"], "Katering Makanan");
    assert_eq!(by_category["rows"][0]["label_en"], "Katering Makanan");
    let products_by_category = summary["products_by_category"].as_object().unwrap();
    assert!(!products_by_category.is_empty(), "{summary}");
    for category in products_by_category.keys() {
        assert_eq!(
            summary["labels"]["products_by_category"][category]["id"].as_str(),
            blangkon_domain::category::category_name(category).as_deref(),
            "{summary}"
        );
    }
    assert_eq!(
        ledger["transactions"][0]["items"][0]["category_name"],
        "Katering Makanan › Nasi Kotak"
    );
    let people = suite.public(&["report", "summary"]).await;
    let said = String::from_utf8_lossy(&people.stdout);
    assert!(
        said.contains("Katering Makanan (katering)"),
        "top categories by name: {said}"
    );
    let package = data_dir.join("ocds.json");
    let exported = suite
        .public(&["report", "ocds", "--output", package.to_str().unwrap()])
        .await;
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let package: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&package).unwrap()).unwrap();
    assert_eq!(
        package["releases"][0]["awards"][0]["value"]["amount"],
        500_000
    );
    let stream = Command::new(BIN)
        .args(["stream", "transactions", "--from-beginning", "--count", "2"])
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .await
        .unwrap();
    assert!(
        stream.status.success(),
        "{}",
        String::from_utf8_lossy(&stream.stderr)
    );
    let facts: Vec<serde_json::Value> = String::from_utf8(stream.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let statuses: Vec<&str> = facts
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["placed", "accepted"]);
    assert_eq!(facts[1]["vendor"]["legal_form"], "individual");

    // A bad request names its fields and fails the command.
    let bad = suite
        .cli(
            data_dir,
            SEMARANG,
            &[
                "vendor",
                "register",
                "--name",
                "X",
                "--legal-form",
                "individual",
                "--nik",
                "123",
                "--scale",
                "micro",
                "--address",
                "x",
                "--regency",
                "33.74",
                "--phone",
                "081225001234",
                "--bank",
                "b",
                "--account-number",
                "2010123456",
                "--account-holder",
                "h",
            ],
        )
        .await;
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("InvalidArgument") && stderr.contains("nik: must be 16 digits"),
        "{stderr}"
    );

    // The events are on the embedded broker for any Kafka client.
    let reader = EventReader::new(&suite.bootstrap, topics::VENDOR_EVENTS);
    let events = reader
        .read_until(Duration::from_secs(30), |e| e.len() >= 3)
        .await;
    // Order holds per key (partition), not across keys.
    let of_vendor: Vec<&str> = events
        .iter()
        .filter(|e| e.key == id)
        .map(|e| e.envelope.event_type.as_str())
        .collect();
    assert_eq!(
        of_vendor,
        [
            "blangkon.events.v1.VendorRegistered",
            "blangkon.events.v1.VendorVerified"
        ]
    );
    assert!(
        events.iter().any(
            |e| e.key == "33.74" && e.envelope.event_type == "blangkon.events.v1.RegencyJoined"
        )
    );
    assert_eq!(events.len(), 3);
    suite.stop().await;

    // Data survives a restart; the fresh broker gets the history again.
    let suite = start(data_dir, port, catalog_port).await;
    let again = json(&suite.cli(data_dir, PROVINCE, &["vendor", "get", &id]).await);
    assert_eq!(again["status"], "verified");
    assert_eq!(again["nik"], "3374015708800002");
    let reader = EventReader::new(&suite.bootstrap, topics::VENDOR_EVENTS);
    let replayed = reader
        .read_until(Duration::from_secs(30), |e| e.len() >= 3)
        .await;
    assert_eq!(replayed.len(), 3);
    // The replayed history is not counted twice.
    let summary = suite.summary_when(|s| s["transactions"] == 1).await;
    assert_eq!(summary["transaction_value"], 500_000);
    suite.stop().await;
}

#[test]
fn a_token_needs_the_suites_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(BIN)
        .args(["token", "--role", "analyst", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("start `blangkon dev` first"));

    // The key `blangkon dev` would have made.
    LocalIssuer::load_or_create(
        &dir.path().join("dev-signing-key.json"),
        "http://127.0.0.1:1",
    )
    .unwrap();
    let output = std::process::Command::new(BIN)
        .args(["token", "--role", "analyst", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let output = std::process::Command::new(BIN)
        .args(["token", "--role", "regency_admin", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "a regency admin token needs --regency"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("regency"));

    let output = std::process::Command::new(BIN)
        .args(["token", "--role", "mayor", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("--role"));
}

#[test]
fn a_command_with_no_suite_running_names_the_address_it_tried_and_what_to_do() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let output = std::process::Command::new(BIN)
        .args(["report", "summary", "--reporting-endpoint", &endpoint])
        .env_remove("BLANGKON_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "could not reach the reporting service at {endpoint}"
        )) && stderr.contains("`blangkon dev` starts it"),
        "{stderr}"
    );
}

#[test]
fn the_whole_suite_benchmark_without_a_broker_refuses_before_measuring() {
    // Refused before it connects to anything: the server given answers
    // nothing, and the refusal names the broker, not the server.
    let output = std::process::Command::new(BIN)
        .args([
            "bench",
            "suite",
            "--server",
            "postgres://nobody@127.0.0.1:1",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("needs a Kafka-protocol broker") && stderr.contains("make bench"),
        "{stderr}"
    );
}

#[test]
fn a_client_command_without_a_token_says_how_to_get_one() {
    let output = std::process::Command::new(BIN)
        .args(["regency", "list", "--vendor-endpoint", "http://127.0.0.1:1"])
        .env_remove("BLANGKON_TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no token"));
}

/// `blangkon demo` at a small scale, through the same code as the seed
/// scale: it fills the suite through the APIs, the summary shows what it
/// made, and a second run finds everything done and adds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_fills_the_suite_and_a_second_run_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path();
    let (port, catalog_port) = (free_port(), free_port());
    let suite = start(data_dir, port, catalog_port).await;
    let demo = async || {
        suite
            .demo(
                data_dir,
                &["--vendors", "12", "--products", "40", "--orders", "15"],
                9,
            )
            .await
    };
    let summary_line = |output: &Output| -> String {
        assert!(
            output.status.success(),
            "demo failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .find(|l| l.starts_with("summary:"))
            .expect("the demo prints the summary")
            .to_string()
    };
    let first = summary_line(&demo().await);
    let summary = suite.summary_when(|s| s["vendors_total"] == 12).await;
    assert_eq!(summary["vendors_individual"], 6);
    assert_eq!(summary["vendors_business_entity"], 6);
    assert_eq!(summary["vendors_trained"], 2);
    assert_eq!(summary["products_listed"], 40);
    assert!(summary["transactions"].as_i64().unwrap() > 0, "{summary:#}");

    let second = summary_line(&demo().await);
    assert_eq!(first, second, "a second run changes nothing");
    let again = suite.public(&["report", "summary", "--json"]).await;
    assert_eq!(json(&again)["products_listed"], 40);

    // No route of the public web answers any personal data the demo gave
    // the vendor service (as the province reads it back) or any payment
    // reference.
    let vendors = json(&suite.cli(data_dir, PROVINCE, &["vendor", "list"]).await);
    let mut private = Vec::new();
    collect_private(&vendors, &mut private);
    assert!(
        private.len() >= 12 * 3,
        "the demo's NIKs, accounts, addresses: {private:?}"
    );
    let text = walk_public_web(&suite).await;
    let leaked: Vec<&String> = private
        .iter()
        .filter(|p| text.contains(p.as_str()))
        .collect();
    assert!(
        leaked.is_empty(),
        "personal data on the public web: {leaked:?}"
    );
    assert!(
        !text.contains("SP2D"),
        "a payment reference on the public web"
    );
    suite.stop().await;
}

/// The public site after the demo, in a real browser: its figures are
/// the API's, its filters work without script, every page passes axe's
/// WCAG 2.1 AA check, on a laptop and on a phone (`site/`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_site_shows_the_demo_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path();
    let (port, catalog_port) = (free_port(), free_port());
    let suite = start(data_dir, port, catalog_port).await;
    let output = suite
        .demo(
            data_dir,
            &["--vendors", "16", "--products", "48", "--orders", "40"],
            11,
        )
        .await;
    assert!(
        output.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    suite
        .summary_when(|s| s["products_listed"] == 48 && s["transactions"].as_i64() > Some(0))
        .await;
    site::walk(&suite.public_http[1]).await;
    suite.stop().await;
}

/// Every value of a personal field (NIK, NPWP, bank account, address,
/// telephone, e-mail) in `value`, as long as it says something.
fn collect_private(value: &serde_json::Value, into: &mut Vec<String>) {
    const PERSONAL: [&str; 6] = ["nik", "npwp", "account_number", "address", "phone", "email"];
    match value {
        serde_json::Value::Object(fields) => {
            for (key, field) in fields {
                match field.as_str() {
                    Some(text) if PERSONAL.contains(&key.as_str()) && text.len() >= 6 => {
                        into.push(text.to_string());
                    }
                    _ => collect_private(field, into),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_private(i, into)),
        _ => {}
    }
}

/// Every route of both public HTTP APIs over the demo's data, each page
/// followed: the summary, each breakdown (JSON and CSV), the whole ledger
/// and each transaction, each order's OCDS record, each month's release
/// package and each year's bulk file; the categories, every product page
/// and each product. Answers all bodies, concatenated.
async fn walk_public_web(suite: &Suite) -> String {
    let client = reqwest::Client::new();
    let (catalog, reporting) = (&suite.public_http[0], &suite.public_http[1]);
    let mut text = String::new();
    // As a polite client does: past the door's rate limit, wait as long as
    // `Retry-After` says and ask again.
    let client = &client;
    let fetch = async |url: &str| loop {
        let answer = client.get(url).send().await.unwrap();
        if answer.status() != 429 {
            return answer;
        }
        let wait: u64 = answer.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        tokio::time::sleep(Duration::from_secs(wait)).await;
    };
    let mut get = async |url: String| -> serde_json::Value {
        let answer = fetch(&url).await;
        assert_eq!(answer.status(), 200, "GET {url}");
        let body = answer.text().await.unwrap();
        text.push_str(&body);
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
    };
    get(format!("{reporting}/api/v1/summary")).await;
    for dimension in [
        "category",
        "subcategory",
        "regency",
        "buyer-regency",
        "month",
        "legal-form",
        "scale",
        "status",
        "work-unit",
        "vendor",
    ] {
        get(format!("{reporting}/api/v1/breakdowns/{dimension}")).await;
        get(format!(
            "{reporting}/api/v1/breakdowns/{dimension}?format=csv"
        ))
        .await;
    }
    get(format!(
        "{reporting}/api/v1/transactions?format=csv&page_size=500"
    ))
    .await;
    let mut orders = Vec::new();
    let mut next = Some(format!("{reporting}/api/v1/transactions?page_size=7"));
    while let Some(url) = next {
        let page = get(url).await;
        for t in page["data"].as_array().unwrap() {
            // The WIB month it was placed in, whose release package holds
            // its placing.
            let placed = chrono::DateTime::parse_from_rfc3339(t["placed_at"].as_str().unwrap())
                .unwrap()
                .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap());
            orders.push((
                t["order_id"].as_str().unwrap().to_string(),
                placed.format("%Y-%m").to_string(),
            ));
        }
        next = page["links"]["next"].as_str().map(str::to_string);
    }
    assert!(!orders.is_empty());
    let mut months: Vec<&str> = orders.iter().map(|(_, month)| month.as_str()).collect();
    months.sort_unstable();
    months.dedup();
    for (order, _) in &orders {
        get(format!("{reporting}/api/v1/transactions/{order}")).await;
        get(format!("{reporting}/ocds/records/ocds-bkjtg1-{order}.json")).await;
    }
    for month in &months {
        get(format!(
            "{reporting}/ocds/releases/{month}.json?page_size=250"
        ))
        .await;
    }
    let mut years: Vec<&str> = months.iter().map(|m| &m[..4]).collect();
    years.dedup();
    let mut bulk = String::new();
    for year in years {
        let url = format!("{reporting}/ocds/bulk/{year}.jsonl.gz");
        let answer = fetch(&url).await;
        assert_eq!(answer.status(), 200, "GET {url}");
        let bytes = answer.bytes().await.unwrap();
        let mut lines = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut lines)
            .unwrap();
        bulk.push_str(&lines);
    }
    // The site's pages, in both languages: the same data, as HTML.
    for page in [
        "/",
        "/en",
        "/transaksi",
        "/en/transactions",
        "/tanda-bahaya",
        "/data-terbuka",
    ] {
        get(format!("{reporting}{page}")).await;
    }
    for (order, _) in &orders {
        get(format!("{reporting}/transaksi/{order}")).await;
    }
    let vendors = get(format!(
        "{reporting}/api/v1/breakdowns/vendor?page_size=1000"
    ))
    .await;
    for vendor in vendors["rows"].as_array().unwrap() {
        let id = vendor["key"].as_str().unwrap();
        get(format!("{reporting}/penyedia/{id}")).await;
    }
    let flags = get(format!("{reporting}/api/v1/red-flags?page_size=500")).await;
    for flag in flags["data"].as_array().unwrap() {
        let id = flag["flag_id"].as_str().unwrap();
        get(format!("{reporting}/tanda-bahaya/{id}")).await;
    }
    get(format!("{catalog}/api/v1/categories")).await;
    let mut next = Some(format!("{catalog}/api/v1/products?page_size=9"));
    let mut products = Vec::new();
    while let Some(url) = next {
        let page = get(url).await;
        for p in page["data"].as_array().unwrap() {
            products.push(p["id"].as_str().unwrap().to_string());
        }
        next = page["links"]["next"].as_str().map(str::to_string);
    }
    assert!(
        !products.is_empty(),
        "the storefront shows the demo's products"
    );
    for product in &products {
        get(format!("{catalog}/api/v1/products/{product}")).await;
    }
    text + &bulk
}

#[test]
fn the_demo_names_the_service_that_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    LocalIssuer::load_or_create(
        &dir.path().join("dev-signing-key.json"),
        "http://127.0.0.1:1",
    )
    .unwrap();
    let port = free_port();
    let output = std::process::Command::new(BIN)
        .args(["demo", "--vendors", "1", "--products", "1", "--orders", "1"])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--vendor-endpoint", &format!("http://127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the vendor service at http://127.0.0.1:{port} does not answer"
        )),
        "{stderr}"
    );
}

/// The README's first-hour block: the lines between its marker and the
/// end of the fenced block that follows.
fn first_hour_block() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let (_, after) = readme
        .split_once("<!-- first-hour:")
        .expect("the README marks its first hour");
    let (_, block) = after.split_once("```sh\n").expect("a shell block follows");
    let (block, _) = block.split_once("\n```").expect("the block ends");
    block.to_string()
}

/// The README's first hour, run by bash as it is written, in an
/// environment of only a PATH with `blangkon` on it, a HOME, and where
/// this test's suite listens (the commands' default addresses are those
/// of a `blangkon dev` with default ports) and keeps its data. A failing
/// command fails the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_hour_runs_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("suite");
    std::fs::create_dir(&data_dir).unwrap();
    let suite = start(&data_dir, free_port(), free_port()).await;
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let walk = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", &first_hour_block()])
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        .env("PATH", path)
        .env("BLANGKON_DATA_DIR", &data_dir)
        .env("BLANGKON_VENDOR_ENDPOINT", &suite.endpoint)
        .env("BLANGKON_CATALOG_ENDPOINT", &suite.catalog_endpoint)
        .env("BLANGKON_ORDER_ENDPOINT", &suite.order_endpoint)
        .env("BLANGKON_REPORTING_ENDPOINT", &suite.reporting_endpoint)
        .kill_on_drop(true)
        .output();
    let walk = tokio::time::timeout(Duration::from_secs(120), walk)
        .await
        .expect("the first hour takes less than two minutes here")
        .unwrap();
    let stdout = String::from_utf8_lossy(&walk.stdout);
    let stderr = String::from_utf8_lossy(&walk.stderr);
    assert!(walk.status.success(), "{stderr}\n{stdout}");

    // What the reader is promised to see: the order's fact on the stream,
    // the ledger with names beside codes, and an OCDS package holding the
    // order. (The search runs a moment after the publishing, before the
    // index may hold the product: its answer is not checked.)
    let fact = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("the stream printed a fact");
    let fact: serde_json::Value = serde_json::from_str(fact).unwrap();
    let order = fact["order_id"].as_str().unwrap().to_string();
    // The order's last line is the ledger's (those before, its steps').
    let ledger_line = stdout
        .lines()
        .rfind(|l| l.starts_with(&order))
        .unwrap_or_else(|| panic!("the ledger lists {order}: {stdout}"));
    assert!(ledger_line.contains("Katering Bu Sri"), "{ledger_line}");
    assert!(ledger_line.contains("Semarang (33.74)"), "{ledger_line}");
    let ocds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ocds.json")).unwrap()).unwrap();
    assert!(
        ocds["releases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ocid"].as_str().is_some_and(|id| id.ends_with(&order))),
        "{ocds}"
    );
    suite.stop().await;
}
