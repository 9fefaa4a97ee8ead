//! `blangkon dev`: the whole suite in one process with zero infrastructure.
//!
//! Each service gets its own SQLite file under the data directory and its
//! own gRPC port; Kafka is librdkafka's mock cluster, which speaks the real
//! protocol on a loopback port. The service code is the production code;
//! only the URLs differ.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use blangkon_platform::auth::{Role, TokenIssuer, TokenRequest};
use blangkon_platform::settings::{
    AuthSettings, DatabaseSettings, GrpcSettings, KafkaSettings, LogFormat, TelemetrySettings,
};
use blangkon_platform::{grpc, outbox, telemetry};
use clap::Args;
use rdkafka::mocking::MockCluster;

use crate::token;

#[derive(Args)]
pub struct DevArgs {
    /// Where the services keep their SQLite files and the token secret.
    #[arg(long, env = "BLANGKON_DATA_DIR", default_value = token::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// Address the services listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// gRPC port of the vendor service.
    #[arg(long, default_value_t = blangkon_vendor::settings::DEFAULT_PORT)]
    vendor_port: u16,
    /// gRPC port of the catalog service.
    #[arg(long, default_value_t = blangkon_catalog::settings::DEFAULT_PORT)]
    catalog_port: u16,
    /// gRPC port of the order service.
    #[arg(long, default_value_t = blangkon_order::settings::DEFAULT_PORT)]
    order_port: u16,
    /// gRPC port of the reporting service.
    #[arg(long, default_value_t = blangkon_reporting::settings::DEFAULT_PORT)]
    reporting_port: u16,
    /// Log filter (tracing directives).
    #[arg(long, default_value = "info,librdkafka=warn")]
    log: String,
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    let data_dir = args.data_dir.canonicalize()?;
    let secret = token::ensure_secret(&data_dir)?;
    let telemetry_settings = TelemetrySettings {
        log_format: LogFormat::Human,
        log_filter: args.log.clone(),
        otlp_endpoint: std::env::var("BLANGKON_OTLP_ENDPOINT").unwrap_or_default(),
    };
    telemetry_settings
        .validate("--log")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let _telemetry = telemetry::init("dev", &telemetry_settings)?;

    // The mock cluster is not Send: it lives on this task for the whole run.
    let kafka = MockCluster::new(1).context("starting the embedded Kafka broker")?;
    create_embedded_topics(&kafka)?;
    let bootstrap = kafka.bootstrap_servers();
    let kafka_settings = KafkaSettings {
        bootstrap_servers: bootstrap.clone(),
        client_id: "blangkon-dev".into(),
        relay_poll_ms: 500,
        // The embedded broker has no CreateTopics API: its topics were
        // made through its own, above.
        create_topics: false,
        ..KafkaSettings::default()
    };
    let auth = AuthSettings {
        jwt_secret: secret.clone(),
        ..AuthSettings::default()
    };
    let sqlite = |name: &str| DatabaseSettings {
        url: format!(
            "sqlite://{}?mode=rwc",
            data_dir.join(format!("{name}.db")).display()
        ),
        max_connections: 5,
        migrate_on_start: true,
    };

    let vendor = blangkon_vendor::Application::build(blangkon_vendor::Settings {
        grpc: GrpcSettings {
            listen: SocketAddr::new(args.host, args.vendor_port),
            shutdown_grace_secs: 5,
        },
        database: sqlite("vendor"),
        kafka: kafka_settings.clone(),
        auth: auth.clone(),
        telemetry: telemetry_settings.clone(),
        regencies: Vec::new(),
    })
    .await
    .context("starting the vendor service")?;
    let catalog = blangkon_catalog::Application::build(blangkon_catalog::Settings {
        grpc: GrpcSettings {
            listen: SocketAddr::new(args.host, args.catalog_port),
            shutdown_grace_secs: 5,
        },
        database: sqlite("catalog"),
        kafka: kafka_settings.clone(),
        auth: auth.clone(),
        telemetry: telemetry_settings.clone(),
        catalog: blangkon_catalog::settings::CatalogSettings {
            max_price: 200_000_000,
            search_poll_ms: 100,
        },
    })
    .await
    .context("starting the catalog service")?;

    let order = blangkon_order::Application::build(blangkon_order::Settings {
        grpc: GrpcSettings {
            listen: SocketAddr::new(args.host, args.order_port),
            shutdown_grace_secs: 5,
        },
        database: sqlite("order"),
        kafka: kafka_settings.clone(),
        auth: auth.clone(),
        telemetry: telemetry_settings.clone(),
        order: blangkon_order::settings::OrderSettings {
            vendor_endpoint: format!("http://{}", vendor.address()),
            catalog_endpoint: format!("http://{}", catalog.address()),
            ..blangkon_order::Settings::default().order
        },
    })
    .await
    .context("starting the order service")?;

    let reporting = blangkon_reporting::Application::build(blangkon_reporting::Settings {
        grpc: GrpcSettings {
            listen: SocketAddr::new(args.host, args.reporting_port),
            shutdown_grace_secs: 5,
        },
        database: sqlite("reporting"),
        kafka: kafka_settings.clone(),
        auth: auth.clone(),
        telemetry: telemetry_settings.clone(),
        reporting: blangkon_reporting::settings::ReportingSettings::default(),
    })
    .await
    .context("starting the reporting service")?;

    // The embedded broker starts empty every time: send the stored history
    // again so that topics show every event; consumers deduplicate by id.
    // (Reporting's analyst records included: their readers see the stream
    // from its start again.)
    let replayed = outbox::republish_all(vendor.database()).await?
        + outbox::republish_all(catalog.database()).await?
        + outbox::republish_all(order.database()).await?
        + outbox::republish_all(reporting.database()).await?;
    write_bootstrap(&data_dir, &bootstrap)?;
    let endpoints = [
        ("vendor", vendor.address()),
        ("catalog", catalog.address()),
        ("order", order.address()),
        ("reporting", reporting.address()),
    ];
    print_banner(&data_dir, &bootstrap, &endpoints, &secret)?;
    if replayed > 0 {
        tracing::info!(
            events = replayed,
            "republishing stored events to the fresh broker"
        );
    }

    let shutdown = grpc::shutdown_on_signals();
    let vendor_task = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { vendor.run(shutdown).await.map_err(|e| e.to_string()) })
    };
    let catalog_task = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { catalog.run(shutdown).await.map_err(|e| e.to_string()) })
    };
    let order_task = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { order.run(shutdown).await.map_err(|e| e.to_string()) })
    };
    let reporting_task = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { reporting.run(shutdown).await.map_err(|e| e.to_string()) })
    };
    shutdown.cancelled().await;
    for (name, task) in [
        ("reporting", reporting_task),
        ("order", order_task),
        ("catalog", catalog_task),
        ("vendor", vendor_task),
    ] {
        match tokio::time::timeout(Duration::from_secs(15), task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "{name} service stopped with an error"),
            Ok(Err(e)) => tracing::error!(error = %e, "{name} service task failed"),
            Err(_) => tracing::warn!("{name} service did not stop within 15 s"),
        }
    }
    drop(kafka);
    std::fs::remove_file(data_dir.join(BOOTSTRAP_FILE)).ok();
    say!("blangkon dev stopped; data kept in {}", data_dir.display());
    Ok(())
}

fn print_banner(
    data_dir: &std::path::Path,
    bootstrap: &str,
    endpoints: &[(&str, SocketAddr)],
    secret: &str,
) -> anyhow::Result<()> {
    let issuer = TokenIssuer::new(secret, None);
    let day = Duration::from_secs(24 * 3600);
    let mint = |role: Role, request: TokenRequest| {
        issuer
            .issue(role, request, day)
            .map_err(|e| anyhow::anyhow!("minting the {role} token: {e}"))
    };
    let tokens = [
        (
            "province_admin",
            mint(
                Role::ProvinceAdmin,
                TokenRequest {
                    subject: "admin@jatengprov.go.id".into(),
                    ..TokenRequest::default()
                },
            )?,
        ),
        (
            "regency_admin (33.74 Kota Semarang)",
            mint(
                Role::RegencyAdmin,
                TokenRequest {
                    subject: "admin@semarangkota.go.id".into(),
                    regency: Some("33.74".into()),
                    ..TokenRequest::default()
                },
            )?,
        ),
        (
            "vendor (self-registration)",
            mint(
                Role::Vendor,
                TokenRequest {
                    subject: "umkm-demo".into(),
                    ..TokenRequest::default()
                },
            )?,
        ),
        (
            "buyer (33.74, Dinas Pendidikan)",
            mint(
                Role::Buyer,
                TokenRequest {
                    subject: "ppk@disdik.semarangkota.go.id".into(),
                    regency: Some("33.74".into()),
                    work_unit: Some("Dinas Pendidikan Kota Semarang".into()),
                    ..TokenRequest::default()
                },
            )?,
        ),
        (
            "analyst",
            mint(
                Role::Analyst,
                TokenRequest {
                    subject: "analyst@jatengprov.go.id".into(),
                    ..TokenRequest::default()
                },
            )?,
        ),
        (
            "service",
            mint(
                Role::Service,
                TokenRequest {
                    subject: "service".into(),
                    ..TokenRequest::default()
                },
            )?,
        ),
    ];
    say!();
    say!(
        "Blangkon local suite is running. Ctrl-C stops it; data stays in {}",
        data_dir.display()
    );
    say!();
    for (name, address) in endpoints {
        say!("  {name:<9} service  grpc://{address}  (grpcurl -plaintext {address} list)");
    }
    say!("  kafka bootstrap  {bootstrap}");
    say!("    analysts:  kcat -b {bootstrap} -C -t blangkon.reporting.transactions.v1");
    say!("               (or: blangkon stream transactions --from-beginning)");
    say!();
    say!("Dev tokens (valid 24 h; `blangkon token --role ...` mints more):");
    for (label, token) in &tokens {
        say!("  {label}:");
        say!("    {token}");
    }
    say!();
    say!("Try:  export BLANGKON_TOKEN=<province_admin token>; blangkon regency join 33.74");
    say!();
    Ok(())
}

/// Where `blangkon dev` notes its broker's address while it runs, for
/// `blangkon stream`.
const BOOTSTRAP_FILE: &str = "kafka-bootstrap";

fn write_bootstrap(data_dir: &std::path::Path, bootstrap: &str) -> anyhow::Result<()> {
    std::fs::write(data_dir.join(BOOTSTRAP_FILE), bootstrap)
        .with_context(|| format!("writing {}", data_dir.join(BOOTSTRAP_FILE).display()))
}

/// The address of the running local suite's embedded broker.
pub fn read_bootstrap(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join(BOOTSTRAP_FILE);
    let bootstrap = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no running `blangkon dev` found ({} is missing); pass --bootstrap",
            path.display()
        )
    })?;
    Ok(bootstrap.trim().to_string())
}

/// Creates every service's topics on the embedded broker before anything
/// subscribes, so consumers find them at once. Its Kafka API has no
/// CreateTopics; the mock cluster's own call does the same.
pub fn create_embedded_topics<C: rdkafka::ClientContext>(
    kafka: &MockCluster<'_, C>,
) -> anyhow::Result<()> {
    for topic in blangkon_vendor::events::TOPICS
        .iter()
        .chain(blangkon_catalog::events::TOPICS)
        .chain(blangkon_order::events::TOPICS)
        .chain(blangkon_reporting::projection::TOPICS)
    {
        kafka
            .create_topic(topic.name, topic.partitions, 1)
            .with_context(|| format!("creating topic {} on the embedded broker", topic.name))?;
    }
    Ok(())
}
