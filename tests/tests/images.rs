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
use std::time::{Duration, Instant};

use blangkon_suite_tests::containers::{Confinement, GRACE_SECS, Image, Running, VERSION, can_run};
use blangkon_suite_tests::{free_port, report, scrape, service_env, with_topics};
use blangkon_testkit::{TestDatabase, TestKafka, TestSuite};

/// The first item of each service's gRPC health: its own API.
const SERVICES: [(&str, &str); 4] = [
    ("vendor", "blangkon.vendor.v1.VendorService"),
    ("catalog", "blangkon.catalog.v1.CatalogService"),
    ("order", "blangkon.order.v1.OrderService"),
    ("reporting", "blangkon.reporting.v1.ReportingService"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_image_migrates_serves_and_stops_on_sigterm() {
    if !can_run("image test").await {
        return;
    }

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
    check_config(&image, name);

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
    let mut confinement = Confinement::restricted();
    if name == "catalog" {
        // Its search index wants a writable directory: the chart's emptyDir.
        let index = "/var/lib/blangkon/search-index";
        env.push((key("CATALOG__SEARCH_INDEX_DIR"), index.into()));
        confinement.scratch.push(index.into());
    }
    if name == "order" {
        // Its peers need not answer for it to be ready.
        env.push((key("ORDER__VENDOR_ENDPOINT"), "http://127.0.0.1:9".into()));
        env.push((key("ORDER__CATALOG_ENDPOINT"), "http://127.0.0.1:9".into()));
    }

    // `migrate`, as the chart's pre-install Job runs it.
    let started = Instant::now();
    let migrate = image.run(&confinement, &env, &["--rm".into()], &["migrate".into()]);
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
    let run = image.run(
        &confinement,
        &env,
        &["--detach".into(), "--name".into(), container.clone()],
        &[],
    );
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

/// What the runtime stage promises a cluster: the numeric non-root
/// user, the binary as entrypoint, `serve` by default, the labels.
fn check_config(image: &Image, name: &str) {
    assert_eq!(image.inspect("{{.Config.User}}"), "65532:65532");
    assert_eq!(
        image.inspect("{{json .Config.Entrypoint}}"),
        r#"["/usr/local/bin/blangkon-service"]"#
    );
    assert_eq!(image.inspect("{{json .Config.Cmd}}"), r#"["serve"]"#);
    // The allocator commits its arenas on demand (README, Benchmark).
    assert!(
        image
            .inspect("{{json .Config.Env}}")
            .contains("\"MIMALLOC_ARENA_EAGER_COMMIT=0\""),
        "the image does not set MIMALLOC_ARENA_EAGER_COMMIT=0"
    );
    let label = |key: &str| image.inspect(&format!("{{{{index .Labels \"{key}\"}}}}"));
    assert_eq!(label("org.opencontainers.image.version"), VERSION);
    assert_eq!(label("org.opencontainers.image.revision"), "test");
    assert_eq!(label("io.blangkon.service"), name);
    assert!(label("org.opencontainers.image.source").starts_with("https://"));
}
