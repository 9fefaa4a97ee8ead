//! `blangkon bench overload`: the catalog under ten times the calls it
//! serves at once. Its limit (`grpc.max_concurrent_calls`) sheds what it
//! cannot serve with an immediate `RESOURCE_EXHAUSTED`, so the share it
//! admits keeps the latency it has at capacity, and it answers as before
//! the moment the flood stops. Three phases on one catalog: at capacity
//! (as many callers as the limit), flooded (ten times as many), after.

use std::sync::Arc;
use std::time::{Duration, Instant};

use blangkon_catalog::CatalogService;
use blangkon_platform::auth::bearer;
use blangkon_platform::settings::DatabaseSettings;
use blangkon_platform::suite::Suite;
use blangkon_proto::catalog as pb;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use clap::Args;
use rdkafka::mocking::MockCluster;

use super::catalog::{load_products, queries};
use super::order::{buyer_token, issuer};
use super::{Figure, ms, percentile};

#[derive(Args)]
pub struct OverloadBench {
    /// Products in the catalog searched.
    #[arg(long, default_value_t = 50_000)]
    pub(super) products: u64,
    /// Its database; loaded once, kept for the next run.
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/blangkon_bench_overload"
    )]
    pub(super) database_url: String,
    /// Calls the catalog serves at once (`grpc.max_concurrent_calls`): its
    /// capacity here.
    #[arg(long, default_value_t = 8)]
    pub(super) capacity: usize,
    /// Seconds of each phase.
    #[arg(long, default_value_t = 10)]
    pub(super) seconds: u64,
}

/// What the callers of one phase saw.
#[derive(Default)]
struct Phase {
    /// Latencies of the calls served.
    served: Vec<Duration>,
    /// Latencies of the calls shed.
    shed: Vec<Duration>,
    elapsed: Duration,
}

impl Phase {
    fn finish(mut self) -> Self {
        self.served.sort();
        self.shed.sort();
        self
    }

    fn served_per_second(&self) -> f64 {
        self.served.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// `callers` searching in a loop for `seconds`, each on its own connection.
async fn phase(
    endpoint: &str,
    token: &str,
    queries: &Arc<Vec<pb::SearchProductsRequest>>,
    callers: usize,
    seconds: u64,
) -> anyhow::Result<Phase> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for caller in 0..callers {
        let (endpoint, token, queries) = (endpoint.to_string(), token.to_string(), queries.clone());
        tasks.push(tokio::spawn(async move {
            let channel = tonic::transport::Endpoint::from_shared(endpoint)?
                .connect()
                .await?;
            let mut catalog = CatalogServiceClient::new(channel);
            let mut seen = Phase::default();
            let mut i = caller;
            while Instant::now() < deadline {
                let mut request = tonic::Request::new(queries[i % queries.len()].clone());
                request
                    .metadata_mut()
                    .insert("authorization", bearer(&token)?);
                let t = Instant::now();
                match catalog.search_products(request).await {
                    Ok(_) => seen.served.push(t.elapsed()),
                    Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                        seen.shed.push(t.elapsed());
                        // A client backs off before it tries again.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err(status) => anyhow::bail!("search failed: {status}"),
                }
                i += 1;
            }
            anyhow::Ok(seen)
        }));
    }
    let mut all = Phase::default();
    for task in tasks {
        let seen = task.await??;
        all.served.extend(seen.served);
        all.shed.extend(seen.shed);
    }
    all.elapsed = started.elapsed();
    Ok(all.finish())
}

pub async fn run(bench: OverloadBench) -> anyhow::Result<Vec<Figure>> {
    let database = DatabaseSettings::new(bench.database_url.as_str(), 20);
    super::catalog::prepare(&bench.database_url).await?;
    load_products(&database, bench.products, true).await?;

    let kafka = MockCluster::new(1)?;
    crate::dev::create_embedded_topics(&kafka)?;
    let mut suite = Suite::new(kafka.bootstrap_servers(), issuer()?);
    suite.kafka.create_topics = false;
    suite.max_connections = database.max_connections;
    let mut settings = suite.settings::<CatalogService>(database.url, 0);
    settings.platform.grpc.max_concurrent_calls = bench.capacity;
    settings.platform.grpc.max_concurrent_calls_per_connection = bench.capacity;
    let catalog = suite.start::<CatalogService>(settings).await?;
    let endpoint = catalog.endpoint();
    let token = buyer_token("bench")?;
    let queries = Arc::new(queries());
    let flood = bench.capacity * 10;

    // Warm the index and the connections.
    phase(&endpoint, &token, &queries, bench.capacity, 2).await?;
    let at_capacity = phase(&endpoint, &token, &queries, bench.capacity, bench.seconds).await?;
    let flooded = phase(&endpoint, &token, &queries, flood, bench.seconds).await?;
    let after = phase(&endpoint, &token, &queries, bench.capacity, bench.seconds).await?;

    println!();
    println!(
        "search over gRPC, {} products, the catalog serving {} calls at once",
        bench.products, bench.capacity
    );
    println!(
        "{:>22} {:>8} {:>10} {:>9} {:>9} {:>9} {:>10} {:>13}",
        "phase", "callers", "served/s", "p50 ms", "p99 ms", "max ms", "shed", "shed p99 ms"
    );
    for (name, callers, p) in [
        ("at capacity", bench.capacity, &at_capacity),
        ("flooded (10x)", flood, &flooded),
        ("after the flood", bench.capacity, &after),
    ] {
        println!(
            "{:>22} {:>8} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>10} {:>13.2}",
            name,
            callers,
            p.served_per_second(),
            ms(percentile(&p.served, 50.0)),
            ms(percentile(&p.served, 99.0)),
            ms(p.served.last().copied().unwrap_or_default()),
            p.shed.len(),
            ms(percentile(&p.shed, 99.0)),
        );
    }
    let capacity_p99 = ms(percentile(&at_capacity.served, 99.0));
    let figures = vec![
        Figure::new(
            format!(
                "search p99 of the calls admitted under 10x load ({flood} callers, limit {})",
                bench.capacity
            ),
            ms(percentile(&flooded.served, 99.0)),
            "ms",
        )
        .beside("search p99 at capacity", capacity_p99),
        Figure::new(
            "searches served per second under 10x load",
            flooded.served_per_second(),
            "req/s",
        )
        .beside(
            "searches served per second at capacity",
            at_capacity.served_per_second(),
        ),
        Figure::new(
            "p99 of a shed call's answer (RESOURCE_EXHAUSTED) under 10x load",
            ms(percentile(&flooded.shed, 99.0)),
            "ms",
        )
        .beside("search p99 at capacity", capacity_p99),
        Figure::new(
            "search p99 right after the flood",
            ms(percentile(&after.served, 99.0)),
            "ms",
        )
        .beside("search p99 at capacity", capacity_p99),
    ];
    catalog.stop(Duration::from_secs(15)).await?;
    drop(kafka);
    Ok(figures)
}
