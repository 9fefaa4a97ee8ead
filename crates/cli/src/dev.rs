//! `blangkon dev`: the whole suite in one process with zero infrastructure.
//!
//! Each service gets its own SQLite file under the data directory and its
//! own gRPC port; Kafka is librdkafka's mock cluster, which speaks the real
//! protocol on a loopback port. The service code is the production code;
//! only the URLs differ.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use blangkon_catalog::CatalogService;
use blangkon_order::OrderService;
use blangkon_platform::auth::{LocalIssuer, Role, TokenRequest};
use blangkon_platform::service::{Application, Service};
use blangkon_platform::settings::{LogFormat, TelemetrySettings};
use blangkon_platform::suite::{Running, Suite};
use blangkon_platform::{grpc, outbox, telemetry};
use blangkon_reporting::ReportingService;
use blangkon_vendor::VendorService;
use clap::Args;
use rdkafka::mocking::MockCluster;

use crate::token;

#[derive(Args)]
pub struct DevArgs {
    /// Where the services keep their SQLite files and the suite its signing key.
    #[arg(long, env = "BLANGKON_DATA_DIR", default_value = token::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// Address the services listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port of the suite's own OpenID issuer (discovery, keys, the
    /// services' client credentials). Tokens name it: keep it stable.
    #[arg(long, default_value_t = 50050)]
    issuer_port: u16,
    /// gRPC port of the vendor service.
    #[arg(long, default_value_t = VendorService::ABOUT.default_port)]
    vendor_port: u16,
    /// gRPC port of the catalog service.
    #[arg(long, default_value_t = CatalogService::ABOUT.default_port)]
    catalog_port: u16,
    /// gRPC port of the order service.
    #[arg(long, default_value_t = OrderService::ABOUT.default_port)]
    order_port: u16,
    /// gRPC port of the reporting service.
    #[arg(long, default_value_t = ReportingService::ABOUT.default_port)]
    reporting_port: u16,
    /// Port of the catalog's public HTTP API (the storefront's JSON).
    /// 0: a free port.
    #[arg(long, default_value_t = 8052)]
    catalog_http_port: u16,
    /// Port of reporting's public HTTP API (open data, OCDS). 0: a free
    /// port.
    #[arg(long, default_value_t = 8054)]
    reporting_http_port: u16,
    /// Metrics port of the vendor service; the catalog, order and reporting
    /// services take the next three. 0: a free port each.
    #[arg(long, default_value_t = 9464)]
    metrics_port: u16,
    /// Log filter (tracing directives).
    #[arg(long, default_value = "info,librdkafka=warn,sea_orm_migration=warn")]
    log: String,
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    let data_dir = args.data_dir.canonicalize()?;
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
    // The suite is its own identity provider: the services discover it and
    // verify its tokens as they would the province's.
    let issuer_listener = tokio::net::TcpListener::bind((args.host, args.issuer_port))
        .await
        .with_context(|| format!("binding the issuer port {}", args.issuer_port))?;
    let issuer_url = format!("http://{}", issuer_listener.local_addr()?);
    let issuer = Arc::new(token::ensure_issuer(&data_dir, &issuer_url)?);
    let issuer_stop = tokio_util::sync::CancellationToken::new();
    let serving_issuer = tokio::spawn(issuer.clone().serve(issuer_listener, issuer_stop.clone()));
    let mut suite = Suite::new(bootstrap.clone(), issuer.clone());
    suite.host = args.host;
    suite.telemetry = telemetry_settings;
    suite.kafka.relay_poll_ms = 500;
    // The embedded broker has no CreateTopics API: its topics were made
    // through its own, above.
    suite.kafka.create_topics = false;
    let sqlite = |name: &str| {
        format!(
            "sqlite://{}?mode=rwc",
            data_dir.join(format!("{name}.db")).display()
        )
    };

    // Built first, run only after the history is marked for publishing
    // again, so that the relays send it before anything new.
    // Each service's metrics on a port of its own: 9464 (vendor) to 9467.
    let metrics_at = |offset: u16| match args.metrics_port {
        0 => SocketAddr::new(suite.host, 0),
        port => SocketAddr::new(suite.host, port.saturating_add(offset)),
    };
    let mut vendor_settings = suite.settings::<VendorService>(sqlite("vendor"), args.vendor_port);
    vendor_settings.platform.metrics.listen = metrics_at(0);
    let vendor = Application::build(vendor_settings)
        .await
        .context("starting the vendor service")?;
    let mut catalog_settings =
        suite.settings::<CatalogService>(sqlite("catalog"), args.catalog_port);
    catalog_settings.service.search_poll_ms = 100;
    catalog_settings.platform.metrics.listen = metrics_at(1);
    catalog_settings.platform.http.listen = SocketAddr::new(suite.host, args.catalog_http_port);
    let catalog = Application::build(catalog_settings)
        .await
        .context("starting the catalog service")?;
    let mut order_settings = suite.settings::<OrderService>(sqlite("order"), args.order_port);
    order_settings.service.vendor_endpoint = format!("http://{}", vendor.address());
    order_settings.service.catalog_endpoint = format!("http://{}", catalog.address());
    order_settings.platform.metrics.listen = metrics_at(2);
    let order = Application::build(order_settings)
        .await
        .context("starting the order service")?;
    let mut reporting_settings =
        suite.settings::<ReportingService>(sqlite("reporting"), args.reporting_port);
    reporting_settings.platform.metrics.listen = metrics_at(3);
    reporting_settings.platform.http.listen = SocketAddr::new(suite.host, args.reporting_http_port);
    let reporting = Application::build(reporting_settings)
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
    let (vendor, catalog, order, reporting) = (
        Running::spawn(vendor),
        Running::spawn(catalog),
        Running::spawn(order),
        Running::spawn(reporting),
    );
    write_bootstrap(&data_dir, &bootstrap)?;
    let endpoints = [
        Endpoints::of("vendor", &vendor),
        Endpoints::of("catalog", &catalog),
        Endpoints::of("order", &order),
        Endpoints::of("reporting", &reporting),
    ];
    print_banner(&data_dir, &bootstrap, &endpoints, &issuer)?;
    if replayed > 0 {
        tracing::info!(
            events = replayed,
            "republishing stored events to the fresh broker"
        );
    }

    grpc::shutdown_on_signals().cancelled().await;
    // Downstream first: the order service still calls the catalog and the
    // vendor service while it drains.
    let within = Duration::from_secs(15);
    let stopped = [
        reporting.stop(within).await,
        order.stop(within).await,
        catalog.stop(within).await,
        vendor.stop(within).await,
    ];
    for e in stopped.into_iter().filter_map(Result::err) {
        tracing::error!(error = %e, "stopping the suite");
    }
    drop(kafka);
    issuer_stop.cancel();
    if let Ok(Err(e)) = serving_issuer.await {
        tracing::error!(error = %e, "serving the issuer");
    }
    std::fs::remove_file(data_dir.join(BOOTSTRAP_FILE)).ok();
    say!("blangkon dev stopped; data kept in {}", data_dir.display());
    Ok(())
}

/// Where one service of the suite answers.
struct Endpoints {
    name: &'static str,
    grpc: SocketAddr,
    metrics: Option<SocketAddr>,
    /// Its public HTTP API, if it has one.
    http: Option<SocketAddr>,
}

impl Endpoints {
    fn of<S: blangkon_platform::service::Service>(
        name: &'static str,
        running: &Running<S>,
    ) -> Self {
        Self {
            name,
            grpc: running.address(),
            metrics: running.metrics_address(),
            http: running.http_address(),
        }
    }
}

fn print_banner(
    data_dir: &std::path::Path,
    bootstrap: &str,
    endpoints: &[Endpoints],
    issuer: &LocalIssuer,
) -> anyhow::Result<()> {
    let day = Duration::from_secs(24 * 3600);
    let mint = |role: Role, request: TokenRequest| token::mint(issuer, role, request, day);
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
    ];
    say!();
    say!(
        "Blangkon local suite is running. Ctrl-C stops it; data stays in {}",
        data_dir.display()
    );
    say!();
    for Endpoints {
        name,
        grpc,
        metrics,
        http,
    } in endpoints
    {
        say!("  {name:<9} service  grpc://{grpc}  (grpcurl -plaintext {grpc} list)");
        if let Some(http) = http {
            say!("                     public   http://{http}/api/v1/openapi.json");
        }
        if let Some(metrics) = metrics {
            say!("                     metrics  http://{metrics}/metrics");
        }
    }
    say!(
        "  issuer           {}  (OpenID discovery, keys)",
        issuer.issuer()
    );
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
