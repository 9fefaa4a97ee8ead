//! The container images that ship, built and run here: for each service,
//! the runtime stage of `deploy/docker/Dockerfile` wraps the binary this
//! test run already built, on an offline copy of the distroless base (the
//! base's source is the only build argument that differs from `make
//! images`; see `deploy/docker/test-base.sh`). Each image then runs the way
//! a restricted Kubernetes pod runs it: read-only root filesystem, every
//! capability dropped, no privilege escalation, the image's non-root user.
//! It migrates the machine's PostgreSQL, serves (gRPC health `SERVING`,
//! `/metrics` answering), and stops on SIGTERM within its grace period.
//!
//! Needs podman and the base image (`deploy/docker/test-base.sh` installs
//! and makes them; CI runs it) and PostgreSQL. Without them it says why and
//! passes, except in CI (`CI=true`), where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use blangkon_suite_tests::{free_port, report, scrape, service_binary, service_env, with_topics};
use blangkon_testkit::{TestDatabase, TestKafka, TestSuite};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const BASE_IMAGE: &str = "localhost/blangkon-test-base:bookworm";
/// What `make images` passes; the test checks the image carries it.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The services' drain on SIGTERM (`grpc.shutdown_grace_secs`, default 20):
/// `podman stop` waits this long before it sends SIGKILL.
const GRACE_SECS: u64 = 20;

/// The first item of each service's gRPC health: its own API.
const SERVICES: [(&str, &str); 4] = [
    ("vendor", "blangkon.vendor.v1.VendorService"),
    ("catalog", "blangkon.catalog.v1.CatalogService"),
    ("order", "blangkon.order.v1.OrderService"),
    ("reporting", "blangkon.reporting.v1.ReportingService"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_image_migrates_serves_and_stops_on_sigterm() {
    if let Some(missing) = missing_prerequisite() {
        assert!(
            std::env::var("CI").is_err(),
            "the image test cannot run in CI: {missing}"
        );
        eprintln!("skipping the image test: {missing}");
        return;
    }
    let probe = TestDatabase::new().await;
    if !probe.is_postgres() {
        assert!(
            std::env::var("CI").is_err(),
            "the image test needs PostgreSQL in CI (BLANGKON_TEST_DATABASE_URL)"
        );
        eprintln!("skipping the image test: needs PostgreSQL (BLANGKON_TEST_DATABASE_URL)");
        return;
    }
    drop(probe);

    let kafka = TestKafka::new();
    let services = with_topics(
        TestSuite::on(TestKafka::external(kafka.bootstrap.clone())),
        &kafka,
    )
    .await;
    for (name, health_service) in SERVICES {
        let figures = exercise(&services, name, health_service).await;
        report(format_args!(
            "image blangkon-{name}: built in {:.1}s ({} MB), migrate {:.1}s, SERVING {:.1}s \
             after start, stopped {:.1}s after SIGTERM",
            figures.built.as_secs_f64(),
            figures.size_bytes / 1_000_000,
            figures.migrated.as_secs_f64(),
            figures.serving.as_secs_f64(),
            figures.stopped.as_secs_f64(),
        ));
    }
}

struct Figures {
    built: Duration,
    size_bytes: u64,
    migrated: Duration,
    serving: Duration,
    stopped: Duration,
}

async fn exercise(services: &TestSuite, name: &str, health_service: &str) -> Figures {
    let started = Instant::now();
    let image = Image::build(name);
    let built = started.elapsed();
    image.check_config(name);

    let db = TestDatabase::new().await;
    let grpc_port = free_port();
    let metrics_port = free_port();
    let mut env = service_env(services, name, grpc_port, metrics_port, &db.url);
    let key = |k: &str| format!("BLANGKON_{}__{k}", name.to_uppercase());
    env.push((key("DATABASE__MIGRATE_ON_START"), "false".into()));
    env.push((key("TELEMETRY__LOG_FORMAT"), "json".into()));
    env.push((
        key("GRPC__SHUTDOWN_GRACE_SECS"),
        (GRACE_SECS / 2).to_string(),
    ));
    if name == "order" {
        // Its peers need not answer for it to be ready.
        env.push((key("ORDER__VENDOR_ENDPOINT"), "http://127.0.0.1:9".into()));
        env.push((key("ORDER__CATALOG_ENDPOINT"), "http://127.0.0.1:9".into()));
    }

    // `migrate`, as the chart's pre-install Job runs it.
    let started = Instant::now();
    let migrate = image.run(&env, &["--rm"], &["migrate"]);
    assert!(
        migrate.status.success(),
        "blangkon-{name} migrate failed: {}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let migrated = started.elapsed();
    assert!(
        db.count("seaql_migrations").await > 0,
        "migrate recorded no migration"
    );

    // `serve`: the image's default command.
    let container = format!("blangkon-test-{name}-{}", uuid::Uuid::new_v4().simple());
    let started = Instant::now();
    let run = image.run(&env, &["--detach", "--name", &container], &[]);
    assert!(
        run.status.success(),
        "blangkon-{name} did not start: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let running = Running(container);
    let endpoint = format!("http://127.0.0.1:{grpc_port}");
    running.until_serving(&endpoint, health_service).await;
    let serving = started.elapsed();

    running.check_confinement();
    let metrics = scrape(SocketAddr::from(([127, 0, 0, 1], metrics_port)));
    assert!(
        metrics.starts_with("HTTP/1.1 200"),
        "/metrics answered: {metrics}"
    );
    assert!(metrics.contains("blangkon_database_pool_connections"));
    assert!(metrics.trim_end().ends_with("# EOF"));
    running.check_json_logs();

    let stopped = running.stop_within_grace(name);
    Figures {
        built,
        size_bytes: image.size_bytes(),
        migrated,
        serving,
        stopped,
    }
}

/// Why the test cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    match Command::new("podman")
        .args(["image", "exists", BASE_IMAGE])
        .status()
    {
        Err(_) => Some("podman is not installed (deploy/docker/test-base.sh)".into()),
        Ok(status) if !status.success() => Some(format!(
            "no {BASE_IMAGE} image (deploy/docker/test-base.sh makes it)"
        )),
        Ok(_) => None,
    }
}

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .args(args)
        .output()
        .expect("run podman")
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A service's image, removed when the test is done with it.
struct Image {
    tag: String,
    /// The image of the Dockerfile's `context` stage: the binary alone.
    binary_tag: String,
}

impl Image {
    /// The Dockerfile's runtime stage around the binary of this test run,
    /// in two builds: the `context` stage wraps the binary into an image of
    /// its own, which the runtime stage then takes as `BINARY_FROM`. Both
    /// are tagged, so nothing is left behind (buildah keeps an untagged
    /// image of each stage it builds along the way).
    fn build(name: &str) -> Self {
        let context = tempfile::tempdir().unwrap();
        let binary = service_binary(name);
        let wrapped = context.path().join(format!("blangkon-{name}"));
        if std::fs::hard_link(&binary, &wrapped).is_err() {
            std::fs::copy(&binary, &wrapped).unwrap();
        }
        let id = uuid::Uuid::new_v4().simple();
        let image = Self {
            tag: format!("localhost/blangkon-{name}:test-{id}"),
            binary_tag: format!("localhost/blangkon-{name}-binary:test-{id}"),
        };
        let dockerfile = repository_root().join("deploy/docker/Dockerfile");
        let build = |target: &str, tag: &str, binary_from: &str| {
            let out = podman(&[
                "build",
                "--pull=never",
                "--quiet",
                "--layers=false",
                "--file",
                dockerfile.to_str().unwrap(),
                "--target",
                target,
                "--build-arg",
                &format!("SERVICE={name}"),
                "--build-arg",
                &format!("BINARY_FROM={binary_from}"),
                "--build-arg",
                &format!("RUNTIME_BASE={BASE_IMAGE}"),
                "--build-arg",
                &format!("VERSION={VERSION}"),
                "--build-arg",
                "REVISION=test",
                "--tag",
                tag,
                context.path().to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "building blangkon-{name}'s {target} stage failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        build("context", &image.binary_tag, "context");
        build("runtime", &image.tag, &image.binary_tag);
        image
    }

    fn inspect(&self, format: &str) -> String {
        let out = podman(&["image", "inspect", "--format", format, &self.tag]);
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// What the runtime stage promises a cluster: the numeric non-root
    /// user, the binary as entrypoint, `serve` by default, the labels.
    fn check_config(&self, name: &str) {
        assert_eq!(self.inspect("{{.Config.User}}"), "65532:65532");
        assert_eq!(
            self.inspect("{{json .Config.Entrypoint}}"),
            r#"["/usr/local/bin/blangkon-service"]"#
        );
        assert_eq!(self.inspect("{{json .Config.Cmd}}"), r#"["serve"]"#);
        let label = |key: &str| self.inspect(&format!("{{{{index .Labels \"{key}\"}}}}"));
        assert_eq!(label("org.opencontainers.image.version"), VERSION);
        assert_eq!(label("org.opencontainers.image.revision"), "test");
        assert_eq!(label("io.blangkon.service"), name);
        assert!(label("org.opencontainers.image.source").starts_with("https://"));
    }

    fn size_bytes(&self) -> u64 {
        self.inspect("{{.Size}}").parse().unwrap()
    }

    /// `podman run` of this image, confined as a restricted pod is, on the
    /// host's network (PostgreSQL and the broker listen on loopback).
    fn run(&self, env: &[(String, String)], options: &[&str], command: &[&str]) -> Output {
        // podman asks the runtime to raise RLIMIT_NOFILE and RLIMIT_NPROC,
        // which sandboxes such as CI's forbid: this runc lets the container
        // keep the limits it inherits.
        let runtime = repository_root().join("deploy/docker/runc-inherit-rlimits");
        let mut args: Vec<String> = vec![
            format!("--runtime={}", runtime.display()),
            "run".into(),
            "--network=host".into(),
            "--read-only".into(),
            "--cap-drop=ALL".into(),
            "--security-opt=no-new-privileges".into(),
            "--pull=never".into(),
        ];
        args.extend(options.iter().map(|o| o.to_string()));
        for (key, value) in env {
            args.push(format!("--env={key}={value}"));
        }
        args.push(self.tag.clone());
        args.extend(command.iter().map(|c| c.to_string()));
        Command::new("podman")
            .args(&args)
            .output()
            .expect("run podman")
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = podman(&["image", "rm", "--force", &self.tag, &self.binary_tag]);
    }
}

/// A detached container, removed when the test is done with it.
struct Running(String);

impl Running {
    fn inspect(&self, format: &str) -> String {
        let out = podman(&["container", "inspect", "--format", format, &self.0]);
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn logs(&self) -> String {
        let out = podman(&["logs", &self.0]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    async fn until_serving(&self, endpoint: &str, service: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // "": the whole server, what a Kubernetes gRPC probe asks.
            if health(endpoint, "").await == Some(ServingStatus::Serving)
                && health(endpoint, service).await == Some(ServingStatus::Serving)
            {
                return;
            }
            assert!(
                self.inspect("{{.State.Running}}") == "true",
                "the container exited: {}",
                self.logs()
            );
            assert!(
                Instant::now() < deadline,
                "not SERVING within 60 s: {}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The service's process, seen from the host: not root, no
    /// capabilities, no way to gain privileges, a read-only root.
    fn check_confinement(&self) {
        let pid = self.inspect("{{.State.Pid}}");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.split_whitespace().collect::<Vec<_>>())
                .unwrap()
        };
        assert_eq!(field("Uid:"), ["65532"; 4], "runs as the non-root user");
        assert_eq!(field("Gid:"), ["65532"; 4]);
        assert_eq!(field("CapEff:"), ["0000000000000000"], "no capabilities");
        assert_eq!(field("CapPrm:"), ["0000000000000000"]);
        assert_eq!(field("NoNewPrivs:"), ["1"]);
        let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
        let root = mounts
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|fields| fields[4] == "/")
            .unwrap();
        assert!(
            root[5].split(',').any(|option| option == "ro"),
            "the root filesystem is mounted {}",
            root[5]
        );
    }

    /// What a log collector reads: one JSON object per line.
    fn check_json_logs(&self) {
        let logs = self.logs();
        let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!lines.is_empty(), "the service logged nothing");
        for line in lines {
            assert!(
                serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object()),
                "not a JSON log line: {line}"
            );
        }
    }

    /// `podman stop`: SIGTERM, then SIGKILL after the grace period. The
    /// service must have exited by itself, with status 0, before that.
    fn stop_within_grace(&self, name: &str) -> Duration {
        let started = Instant::now();
        let stop = podman(&["stop", "--time", &GRACE_SECS.to_string(), &self.0]);
        let stopped = started.elapsed();
        assert!(stop.status.success());
        assert_eq!(
            self.inspect("{{.State.ExitCode}}"),
            "0",
            "blangkon-{name} did not exit cleanly on SIGTERM: {}",
            self.logs()
        );
        stopped
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = podman(&["rm", "--force", "--time", "0", &self.0]);
    }
}

async fn health(endpoint: &str, service: &str) -> Option<ServingStatus> {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_string())
        .ok()?
        .connect()
        .await
        .ok()?;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .ok()?
        .into_inner();
    ServingStatus::try_from(answer.status).ok()
}
