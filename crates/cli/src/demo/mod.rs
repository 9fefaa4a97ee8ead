//! `blangkon demo`: fills a running suite through its public gRPC APIs as
//! the real actors would. The province admin joins regencies; each
//! regency's admin registers and verifies its vendors and records their
//! trainings; vendors create and publish their products; buyers place
//! orders that their vendors accept or reject and that go on to the
//! handover (BAST), the payment and completion. What it does is planned up
//! front from `--seed` ([`plan`]), and every step finds out whether it was
//! done already (idempotency keys, "already exists"), so a run that stopped
//! is resumed by running it again.

mod calendar;
mod onboarding;
mod ordering;
pub mod plan;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use blangkon_platform::auth::{LocalIssuer, Role, TokenRequest};
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_proto::reporting as rep;
use blangkon_proto::reporting::reporting_service_client::ReportingServiceClient;
use blangkon_proto::vendor as ven;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use clap::Args;
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use indicatif::{ProgressBar, ProgressStyle};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use crate::token::{DEFAULT_DATA_DIR, read_issuer};
use crate::vocabulary::Vocabulary;
use plan::{Plan, Scale};

#[derive(Args)]
pub struct DemoArgs {
    /// `seed`: Blangkon Jateng's first year (2,448 vendors, 55,082 products,
    /// Rp15 billion); `jateng-2024`: about 10,000 vendors, 500,000 products
    /// and Rp2 trillion. --vendors, --products and --orders set a scale of
    /// your own instead.
    #[arg(long, default_value = "seed")]
    scale: String,
    #[arg(long, requires_all = ["products", "orders"])]
    vendors: Option<usize>,
    #[arg(long, requires = "vendors")]
    products: Option<usize>,
    #[arg(long, requires = "vendors")]
    orders: Option<usize>,
    /// The same seed makes the same data; run again to resume.
    #[arg(long, default_value_t = 2022)]
    seed: u64,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(
        long,
        env = "BLANGKON_VENDOR_ENDPOINT",
        default_value = "http://127.0.0.1:50051"
    )]
    vendor_endpoint: String,
    #[arg(
        long,
        env = "BLANGKON_CATALOG_ENDPOINT",
        default_value = "http://127.0.0.1:50052"
    )]
    catalog_endpoint: String,
    #[arg(
        long,
        env = "BLANGKON_ORDER_ENDPOINT",
        default_value = "http://127.0.0.1:50053"
    )]
    order_endpoint: String,
    #[arg(
        long,
        env = "BLANGKON_REPORTING_ENDPOINT",
        default_value = "http://127.0.0.1:50054"
    )]
    reporting_endpoint: String,
    /// Data directory of `blangkon dev`, whose key signs the actors' tokens.
    #[arg(long, env = "BLANGKON_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
}

impl DemoArgs {
    fn scale(&self) -> anyhow::Result<Scale> {
        if let (Some(vendors), Some(products), Some(orders)) =
            (self.vendors, self.products, self.orders)
        {
            anyhow::ensure!(vendors > 0, "--vendors: at least one vendor");
            return Ok(Scale::custom(vendors, products, orders));
        }
        match self.scale.as_str() {
            "seed" => Ok(Scale::seed()),
            "jateng-2024" => Ok(Scale::jateng_2024()),
            other => bail!("--scale: `{other}` is not one of seed, jateng-2024"),
        }
    }
}

/// The suite's four services, and who may call them.
struct Suite {
    vendor: VendorServiceClient<Channel>,
    catalog: CatalogServiceClient<Channel>,
    order: OrderServiceClient<Channel>,
    reporting: ReportingServiceClient<Channel>,
    issuer: LocalIssuer,
    calls: AtomicU64,
}

/// A deadline for every call: long enough for a busy SQLite suite.
const CALL_DEADLINE: Duration = Duration::from_secs(30);
/// How long a step waits for another service to catch up (the catalog
/// learning that a vendor was verified) or to come back.
const PATIENCE: Duration = Duration::from_secs(60);

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let scale = args.scale()?;
    anyhow::ensure!(args.concurrency > 0, "--concurrency: at least 1");
    let issuer = read_issuer(&args.data_dir)?;
    let suite = Arc::new(Suite {
        vendor: VendorServiceClient::new(connect("vendor", &args.vendor_endpoint).await?),
        catalog: CatalogServiceClient::new(connect("catalog", &args.catalog_endpoint).await?),
        order: OrderServiceClient::new(connect("order", &args.order_endpoint).await?),
        reporting: ReportingServiceClient::new(
            connect("reporting", &args.reporting_endpoint).await?,
        ),
        issuer,
        calls: AtomicU64::new(0),
    });
    let plan = Plan::new(&scale, args.seed, &Vocabulary::load()?);
    let calendar = calendar::Calendar::new(&plan, args.seed);
    say!(
        "demo (seed {}): {} regencies ({} transacting), {} vendors, {} products, {} orders \
         worth {} ({} catering)",
        args.seed,
        plan.joined.len(),
        plan.transacting.len(),
        plan.vendors.len(),
        plan.products.len(),
        plan.orders.len(),
        crate::output::rupiah(plan.order_value()),
        crate::output::rupiah(plan.order_value_in("katering"))
    );
    let started = Instant::now();
    let n = args.concurrency;
    let shared = &suite;
    let plan = &plan;
    let calendar = &calendar;

    for (code, moment) in plan.joined.iter().zip(&calendar.joined) {
        suite.join(code, *moment).await?;
    }
    let vendor_ids: Vec<String> = in_phase("vendors", plan.vendors.len(), |bar| {
        stream::iter(
            plan.vendors
                .iter()
                .zip(&calendar.vendors)
                .map(move |(v, days)| {
                    let (suite, bar) = (shared.clone(), bar.clone());
                    async move {
                        let id = suite.onboard(v, days).await?;
                        bar.inc(1);
                        anyhow::Ok(id)
                    }
                }),
        )
        .buffered(n)
        .try_collect()
    })
    .await?;
    let vendor_ids = &vendor_ids;
    let product_ids: Vec<String> = in_phase("products", plan.products.len(), |bar| {
        stream::iter(
            plan.products
                .iter()
                .zip(&calendar.listed)
                .map(move |(p, listed)| {
                    let (suite, bar) = (shared.clone(), bar.clone());
                    let vendor_id = vendor_ids[p.vendor].clone();
                    async move {
                        let id = suite.list_product(&vendor_id, p, *listed).await?;
                        bar.inc(1);
                        anyhow::Ok(id)
                    }
                }),
        )
        .buffered(n)
        .try_collect()
    })
    .await?;
    let product_ids = &product_ids;
    let orders: Vec<()> = in_phase("orders", plan.orders.len(), |bar| {
        stream::iter(
            plan.orders
                .iter()
                .zip(&calendar.orders)
                .map(move |(o, days)| {
                    let (suite, bar) = (shared.clone(), bar.clone());
                    let product = &plan.products[o.product];
                    let regency = plan.vendors[product.vendor].regency.clone();
                    let (product_id, vendor_id) = (
                        product_ids[o.product].clone(),
                        vendor_ids[product.vendor].clone(),
                    );
                    async move {
                        suite
                            .order(o, days, &regency, &product_id, &vendor_id)
                            .await?;
                        bar.inc(1);
                        anyhow::Ok(())
                    }
                }),
        )
        .buffer_unordered(n)
        .try_collect()
    })
    .await?;
    let elapsed = started.elapsed();
    let calls = suite.calls.load(Ordering::Relaxed);
    let summary = suite.reported(plan).await?;
    print_summary(&summary);
    say!(
        "demo done: {calls} calls in {:.1}s ({:.0} calls/s); {} orders placed",
        elapsed.as_secs_f64(),
        calls as f64 / elapsed.as_secs_f64().max(0.001),
        orders.len()
    );
    Ok(())
}

/// A channel to `service` at `endpoint`, or why there is none.
async fn connect(service: &str, endpoint: &str) -> anyhow::Result<Channel> {
    // The demo drives `blangkon dev`, which serves plaintext on loopback;
    // an https:// endpoint is trusted through the compiled-in roots.
    let plain = blangkon_platform::tls::ClientTls::default();
    let channel = blangkon_platform::grpc::channel(endpoint, CALL_DEADLINE, &plain, "tls")
        .with_context(|| format!("the {service} service's endpoint {endpoint}"))?;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let request = tonic_health::pb::HealthCheckRequest::default();
    if let Err(status) = health.check(request).await {
        bail!(
            "the {service} service at {endpoint} does not answer ({}): is the suite running \
             (`blangkon dev`), or is --{service}-endpoint right?",
            status.message()
        );
    }
    Ok(channel)
}

/// Runs one phase with its progress bar.
async fn in_phase<T, F, Fut>(name: &str, len: usize, work: F) -> anyhow::Result<T>
where
    F: FnOnce(ProgressBar) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let bar = ProgressBar::new(len as u64).with_prefix(name.to_string());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>9} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let result = work(bar.clone()).await;
    bar.finish_and_clear();
    if result.is_ok() {
        say!(
            "{name:>9}: {len} in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    result
}

fn with_token<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// Whether the same call may succeed a moment later.
fn transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Aborted | Code::DeadlineExceeded | Code::ResourceExhausted
    )
}

impl Suite {
    fn token(&self, role: Role, request: TokenRequest) -> anyhow::Result<String> {
        crate::token::mint(&self.issuer, role, request, Duration::from_secs(6 * 3600))
    }

    fn province(&self) -> anyhow::Result<String> {
        self.token(
            Role::ProvinceAdmin,
            TokenRequest {
                subject: "demo-province".into(),
                ..TokenRequest::default()
            },
        )
    }

    fn regency_admin(&self, regency: &str) -> anyhow::Result<String> {
        self.token(
            Role::RegencyAdmin,
            TokenRequest {
                subject: format!("demo-admin-{regency}"),
                regency: Some(regency.into()),
                ..TokenRequest::default()
            },
        )
    }

    fn vendor_token(&self, vendor_id: &str) -> anyhow::Result<String> {
        self.token(
            Role::Vendor,
            TokenRequest {
                subject: format!("demo-vendor-{vendor_id}"),
                vendor_id: Some(vendor_id.into()),
                ..TokenRequest::default()
            },
        )
    }

    fn buyer(&self, regency: &str, work_unit: &str) -> anyhow::Result<String> {
        self.token(
            Role::Buyer,
            TokenRequest {
                subject: format!("demo-ppk-{work_unit}"),
                regency: Some(regency.into()),
                work_unit: Some(work_unit.into()),
                ..TokenRequest::default()
            },
        )
    }

    /// Makes a call, again while its failure is transient or `wait` says
    /// another service has not caught up yet, for up to [`PATIENCE`].
    async fn call<T, F, Fut>(
        &self,
        what: &str,
        wait: impl Fn(&Status) -> bool,
        mut attempt: F,
    ) -> Result<T, Status>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let started = Instant::now();
        let mut pause = blangkon_platform::retry::Backoff::new(
            Duration::from_millis(50),
            Duration::from_secs(2),
        );
        loop {
            self.calls.fetch_add(1, Ordering::Relaxed);
            match attempt().await {
                Ok(response) => return Ok(response.into_inner()),
                Err(status)
                    if (transient(&status) || wait(&status)) && started.elapsed() < PATIENCE =>
                {
                    tracing::debug!(what, status = %status.message(), "retrying");
                    tokio::time::sleep(pause.next_delay()).await;
                }
                Err(status) => return Err(status),
            }
        }
    }

    /// The reporting service's summary once it shows all of `plan` (its
    /// projection follows the events a moment later), or after
    /// [`PATIENCE`] as far as it got.
    async fn reported(&self, plan: &Plan) -> anyhow::Result<rep::Summary> {
        let counted = plan.orders.iter().filter(|o| o.outcome.counts()).count() as i64;
        let trained = plan.vendors.iter().filter(|v| v.trained).count() as i64;
        // Every order in the status it ends in: a count of transactions
        // alone is reached early by an order still placed that the plan
        // rejects, while another's events are on their way.
        let mut ending: std::collections::BTreeMap<&str, i64> = Default::default();
        for order in &plan.orders {
            *ending.entry(order.outcome.status()).or_default() += 1;
        }
        let started = Instant::now();
        loop {
            let mut client = self.reporting.clone();
            let summary = client
                .get_summary(rep::GetSummaryRequest {})
                .await
                .map_err(|s| anyhow::anyhow!("reading the summary: {}", s.message()))?
                .into_inner();
            let by_status = client
                .get_breakdown(rep::GetBreakdownRequest {
                    dimension: rep::Dimension::Status as i32,
                    page_size: 100,
                    ..Default::default()
                })
                .await
                .map_err(|s| anyhow::anyhow!("reading the orders by status: {}", s.message()))?
                .into_inner();
            let ended = ending.iter().all(|(status, n)| {
                by_status
                    .rows
                    .iter()
                    .any(|row| row.key == *status && row.orders >= *n)
            });
            let complete = ended
                && summary.transactions >= counted
                && summary.vendors_total >= plan.vendors.len() as i64
                && summary.vendors_trained >= trained
                && summary.products_listed >= plan.products.len() as i64;
            if complete || started.elapsed() > PATIENCE {
                return Ok(summary);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn legal_form(form: &str) -> ven::LegalForm {
    match form {
        "individual" => ven::LegalForm::Individual,
        "cv" => ven::LegalForm::Cv,
        "pt" => ven::LegalForm::Pt,
        "koperasi" => ven::LegalForm::Koperasi,
        "ud" => ven::LegalForm::Ud,
        _ => ven::LegalForm::Firma,
    }
}

fn scale(scale: &str) -> ven::Scale {
    match scale {
        "micro" => ven::Scale::Micro,
        "small" => ven::Scale::Small,
        _ => ven::Scale::Medium,
    }
}

fn print_summary(summary: &rep::Summary) {
    let rupiah = |v: i64| crate::output::rupiah(v);
    say!(
        "summary: {} regencies joined, {} transacting; {} vendors ({} individuals, {} business \
         entities), {} trained; {} products listed; {} transactions worth {}",
        summary.regencies_joined,
        summary.regencies_transacting,
        summary.vendors_total,
        summary.vendors_individual,
        summary.vendors_business_entity,
        summary.vendors_trained,
        summary.products_listed,
        summary.transactions,
        rupiah(summary.transaction_value)
    );
    for category in &summary.top_categories {
        say!("  {:<12} {}", category.key, rupiah(category.value));
    }
}
