//! `blangkon bench catalog`: loads a national-scale catalog and measures
//! search over gRPC — latency percentiles and throughput at several
//! concurrency levels — against the real service code on PostgreSQL (or
//! SQLite) and the embedded broker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use blangkon_catalog::CatalogService;
use blangkon_catalog::store::migrations::Migrator;
use blangkon_catalog::store::{product, vendor};
use blangkon_platform::auth::bearer;
use blangkon_platform::db;
use blangkon_platform::settings::DatabaseSettings;
use blangkon_platform::suite::{Running, Suite};
use blangkon_proto::catalog as pb;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use clap::Args;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sea_orm::{ConnectionTrait, Database, EntityTrait, PaginatorTrait};

use super::catalog_data::{VENDORS, product_row, regency_codes, vendor_row};
use super::order::{buyer_token, with};
use super::{Broker, Figure, ms, percentile};
use crate::vocabulary::Vocabulary;

#[derive(Args)]
pub struct CatalogBench {
    /// Products to load.
    #[arg(long, default_value_t = 500_000)]
    pub(super) products: u64,
    /// Database for the benchmark; it is emptied and loaded unless --reuse
    /// finds the same number of products already there.
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/blangkon_bench_catalog"
    )]
    pub(super) database_url: String,
    /// Keep a database that already holds --products products.
    #[arg(long)]
    pub(super) reuse: bool,
    /// Seconds of measurement per concurrency level.
    #[arg(long, default_value_t = 10)]
    pub(super) seconds: u64,
    /// Concurrency levels (parallel gRPC callers).
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    pub(super) concurrency: Vec<usize>,
    /// Kafka bootstrap servers (the test broker: deploy/local/tansu.sh
    /// start, which `make bench-catalog` runs); without it, librdkafka's
    /// embedded mock cluster.
    #[arg(long)]
    pub(super) kafka: Option<String>,
}

/// Makes the PostgreSQL database `database_url` names if it is not there.
pub(super) async fn prepare(database_url: &str) -> anyhow::Result<()> {
    if let Some((server, name)) = database_url.rsplit_once('/')
        && database_url.starts_with("postgres")
    {
        let admin = Database::connect(format!("{server}/postgres"))
            .await
            .with_context(|| format!("connecting to {server}"))?;
        let exists = admin
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"),
            ))
            .await?
            .is_some();
        if !exists {
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
        }
        admin.close().await.ok();
    }
    Ok(())
}

async fn load(bench: &CatalogBench, settings: &DatabaseSettings) -> anyhow::Result<()> {
    load_products(settings, bench.products, bench.reuse).await
}

/// Migrates the catalog database of `settings` and fills it with
/// `products` generated products of [`VENDORS`] verified vendors, unless
/// `reuse` and it already holds that many.
pub(super) async fn load_products(
    settings: &DatabaseSettings,
    products: u64,
    reuse: bool,
) -> anyhow::Result<()> {
    let conn = db::connect(settings).await?;
    db::migrate::<Migrator>(&conn).await?;
    let have = product::Entity::find().count(&conn).await?;
    if reuse && have == products {
        println!("reusing {have} products");
        return Ok(());
    }
    for table in [
        "reservations",
        "price_history",
        "products",
        "vendors",
        "search_changes",
    ] {
        conn.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(2022);
    let vocabulary = Vocabulary::load()?;
    let regencies = regency_codes();
    let vendors: Vec<vendor::Model> = (0..VENDORS)
        .map(|i| vendor_row(i, &mut rng, &regencies))
        .collect();
    for chunk in vendors.chunks(500) {
        vendor::Entity::insert_many(chunk.iter().cloned().map(vendor::ActiveModel::from))
            .exec_without_returning(&conn)
            .await?;
    }
    let batch = 1_000u64;
    let mut done = 0;
    while done < products {
        let n = batch.min(products - done);
        let rows: Vec<product::ActiveModel> = (done..done + n)
            .map(|i| {
                product::ActiveModel::from(product_row(
                    i,
                    &mut rng,
                    &vocabulary,
                    &vendors,
                    &regencies,
                ))
            })
            .collect();
        product::Entity::insert_many(rows)
            .exec_without_returning(&conn)
            .await?;
        done += n;
        if done % 100_000 == 0 {
            println!("  loaded {done} products");
        }
    }
    let took = started.elapsed();
    println!(
        "loaded {products} products of {VENDORS} vendors in {:.1} s ({:.0} rows/s)",
        took.as_secs_f64(),
        products as f64 / took.as_secs_f64()
    );
    conn.close().await.ok();
    Ok(())
}

/// Typical buyer searches, each with the filters a buyer would set.
pub(super) fn queries() -> Vec<pb::SearchProductsRequest> {
    let q = |text: &str| pb::SearchProductsRequest {
        query: text.into(),
        ..Default::default()
    };
    vec![
        pb::SearchProductsRequest {
            delivery_regency: "33.74".into(),
            ..q("nasi kotak ayam")
        },
        pb::SearchProductsRequest {
            max_price: 80_000,
            ..q("kertas hvs a4")
        },
        pb::SearchProductsRequest {
            category_code: "percetakan".into(),
            ..q("spanduk")
        },
        pb::SearchProductsRequest {
            vendor_scale: blangkon_proto::vendor::Scale::Small as i32,
            ..q("batik tulis")
        },
        pb::SearchProductsRequest {
            delivery_regency: "33.01".into(),
            ..q("seragam batik")
        },
        pb::SearchProductsRequest {
            max_price: 20_000,
            ..q("kue basah")
        },
        pb::SearchProductsRequest {
            sort: pb::SortOrder::PriceAscending as i32,
            ..q("meja kantor jati")
        },
        pb::SearchProductsRequest {
            min_price: 5_000_000,
            ..q("laptop")
        },
        pb::SearchProductsRequest {
            delivery_regency: "33.22".into(),
            ..q("sabun cuci")
        },
        pb::SearchProductsRequest {
            category_code: "jasa".into(),
            ..q("servis ac")
        },
        pb::SearchProductsRequest {
            delivery_regency: "33.74".into(),
            ..q("makanan ringan rapat")
        },
        pb::SearchProductsRequest {
            category_code: "atk".into(),
            ..q("kertsa")
        },
    ]
}

/// Browses without words, as buyers walk the catalog: a category (a top
/// level or a leaf), often a delivery regency or a price ceiling, in any
/// order, a first page or a later one. Varied enough that few repeat, so
/// that they measure the index and not the answers it keeps for repeated
/// browses.
pub(super) fn browses(count: usize) -> anyhow::Result<Vec<pb::SearchProductsRequest>> {
    use rand::Rng;
    use rand::seq::IndexedRandom;
    let taxonomy =
        blangkon_domain::category::parse_taxonomy(blangkon_domain::category::TAXONOMY_CSV)
            .map_err(anyhow::Error::msg)?;
    let categories: Vec<String> = taxonomy.into_iter().map(|c| c.code).collect();
    let regencies = regency_codes();
    let sorts = [
        pb::SortOrder::Unspecified,
        pb::SortOrder::PriceAscending,
        pb::SortOrder::PriceDescending,
        pb::SortOrder::Newest,
    ];
    let mut rng = StdRng::seed_from_u64(7);
    Ok((0..count)
        .map(|_| pb::SearchProductsRequest {
            category_code: categories.choose(&mut rng).cloned().unwrap_or_default(),
            delivery_regency: if rng.random_bool(0.5) {
                regencies.choose(&mut rng).cloned().unwrap_or_default()
            } else {
                String::new()
            },
            max_price: if rng.random_bool(0.5) {
                rng.random_range(1..=200) * 5_000
            } else {
                0
            },
            sort: sorts.choose(&mut rng).map_or(0, |s| *s as i32),
            page_size: 20,
            ..Default::default()
        })
        .collect())
}

/// This process's resident memory (MiB): all of it, and its anonymous
/// part (the heap, without the memory-mapped index files the kernel may
/// drop and read again).
#[derive(Debug, Clone, Copy)]
struct Resident {
    all: f64,
    heap: f64,
}

fn resident() -> Option<Resident> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let mib = |field: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(field))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some(Resident {
        all: mib("VmRSS:")?,
        heap: mib("RssAnon:")?,
    })
}

fn shown(resident: Option<Resident>) -> String {
    resident.map_or("?".into(), |r| {
        format!("{:.0} MiB (heap {:.0} MiB)", r.all, r.heap)
    })
}

pub async fn run(bench: CatalogBench) -> anyhow::Result<Vec<Figure>> {
    let database = DatabaseSettings::new(bench.database_url.as_str(), 20);
    prepare(&bench.database_url).await?;
    load(&bench, &database).await?;

    // The catalog's own account of its start: the build's steps.
    let _telemetry = blangkon_platform::telemetry::init(
        "bench",
        &blangkon_platform::telemetry::TelemetrySettings {
            log_filter: "warn,blangkon_catalog::search=info".into(),
            ..Default::default()
        },
    )
    .ok();
    let broker = Broker::new(bench.kafka.as_deref())?;
    let mut suite = broker.suite().await?;
    let rss_before = resident();
    let started = Instant::now();
    suite.max_connections = database.max_connections;
    let catalog = suite
        .start::<CatalogService>(suite.settings(database.url, 0))
        .await?;
    let build = started.elapsed();
    let rss_after = resident();
    println!(
        "catalog service started, search index built in {:.1} s; process memory {} -> {}",
        build.as_secs_f64(),
        shown(rss_before),
        shown(rss_after),
    );
    let endpoint = catalog.endpoint();
    let mut figures = vec![
        Figure::new(
            format!(
                "catalog start, search index built, {} products",
                bench.products
            ),
            build.as_secs_f64(),
            "s",
        )
        .beside("the time it may take", 10.0),
    ];

    let token = buyer_token("bench")?;
    let queries = Arc::new(queries());
    let browses = Arc::new(browses(4096)?);

    println!();
    println!(
        "search over gRPC, {} products, typical queries with filters, page size 20, and \
         browses without words (a category, filters, an order); beside them the limit of \
         the transport: an empty call (gRPC health check) to the same server the same way",
        bench.products
    );
    println!(
        "{:>11} {:>8} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>12}",
        "concurrency",
        "call",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "p50 / empty"
    );
    // Each call's rate at the last concurrency, for the two replicas.
    let mut alone = Vec::new();
    for &workers in &bench.concurrency {
        alone.clear();
        let mut empty_p50 = None;
        let mut empty: Vec<Duration> = Vec::new();
        for call in [Call::Empty, Call::Search, Call::Browse] {
            let calls = Calls {
                call,
                workers,
                endpoints: vec![endpoint.clone()],
                token: token.clone(),
                queries: match call {
                    Call::Browse => browses.clone(),
                    _ => queries.clone(),
                },
            };
            // Warm up the connections, then measure.
            calls.run(2).await?;
            let started = Instant::now();
            let mut latencies = calls.run(bench.seconds).await?;
            let elapsed = started.elapsed().as_secs_f64();
            latencies.sort();
            alone.push((call, latencies.len() as f64 / elapsed));
            let p50 = percentile(&latencies, 50.0);
            let ratio = match empty_p50 {
                Some(empty) if empty > Duration::ZERO => {
                    format!("{:.1}x", p50.as_secs_f64() / Duration::as_secs_f64(&empty))
                }
                _ => "-".into(),
            };
            if call == Call::Empty {
                empty_p50 = Some(p50);
                empty = latencies.clone();
            } else if call == Call::Browse {
                figures.push(
                    Figure::new(
                        format!(
                            "browse without words, {} products, {workers} callers, p99",
                            bench.products
                        ),
                        ms(percentile(&latencies, 99.0)),
                        "ms",
                    )
                    .beside("the time it may take", 5.0),
                );
            } else {
                for p in [50.0, 99.0] {
                    figures.push(
                        Figure::new(
                            format!(
                                "search, {} products, {workers} callers, p{p:.0}",
                                bench.products
                            ),
                            ms(percentile(&latencies, p)),
                            "ms",
                        )
                        .beside(
                            format!("empty gRPC call, {workers} callers"),
                            ms(percentile(&empty, p)),
                        ),
                    );
                }
            }
            println!(
                "{:>11} {:>8} {:>9} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>12}",
                workers,
                call.name(),
                latencies.len(),
                latencies.len() as f64 / elapsed,
                ms(p50),
                ms(percentile(&latencies, 90.0)),
                ms(percentile(&latencies, 99.0)),
                ms(latencies.last().copied().unwrap_or_default()),
                ratio,
            );
        }
    }
    // The index is memory-mapped: what the searches touched is resident now.
    let rss_searched = resident();
    println!("process memory after the searches: {}", shown(rss_searched));
    if let Some(searched) = rss_searched {
        for (what, mib) in [("", searched.all), (", heap", searched.heap)] {
            figures.push(
                Figure::new(
                    format!(
                        "catalog and callers' process memory after the searches{what}, {} products",
                        bench.products
                    ),
                    mib,
                    "MiB",
                )
                .beside(
                    "the machine's memory (MemTotal)",
                    super::memory::machine_mib()?,
                ),
            );
        }
    }
    // Callers take turns over the replicas: it takes two to reach both.
    let last = bench
        .concurrency
        .last()
        .copied()
        .filter(|&workers| workers >= 2);
    if last.is_none() {
        println!("no second catalog replica: its callers need a concurrency of 2 or more");
    }
    if let Some(workers) = last {
        let replicas = SecondReplica {
            first: &catalog,
            database_url: &bench.database_url,
            products: bench.products,
            workers,
            seconds: bench.seconds,
            token: &token,
            queries: &queries,
            browses: &browses,
            alone: &alone,
        };
        let two = replicas.measure(&suite).await;
        catalog.stop(Duration::from_secs(15)).await?;
        figures.extend(two?);
    } else {
        catalog.stop(Duration::from_secs(15)).await?;
    }
    drop(broker);
    Ok(figures)
}

/// A second catalog replica beside the first, on the same database and
/// broker, building its index of its own: its answers the same as the
/// first's, the callers' rate over the two beside one replica's, and the
/// vendor projection's partitions spread over the two.
struct SecondReplica<'a> {
    first: &'a Running<CatalogService>,
    database_url: &'a str,
    products: u64,
    workers: usize,
    seconds: u64,
    token: &'a str,
    queries: &'a Arc<Vec<pb::SearchProductsRequest>>,
    browses: &'a Arc<Vec<pb::SearchProductsRequest>>,
    /// Each call's rate on the first replica alone, `workers` callers.
    alone: &'a [(Call, f64)],
}

/// Browses compared between the two replicas, beside every query.
const COMPARED_BROWSES: usize = 200;

impl SecondReplica<'_> {
    async fn measure(&self, suite: &Suite) -> anyhow::Result<Vec<Figure>> {
        let settings = suite.settings::<CatalogService>(self.database_url.to_string(), 0);
        let started = Instant::now();
        let second = suite.start::<CatalogService>(settings).await?;
        let build = started.elapsed();
        println!(
            "second catalog replica started, its own index built in {:.1} s",
            build.as_secs_f64()
        );
        let measured = self.beside(suite, &second).await;
        // Stopped whatever the measurement found.
        if let Err(e) = second.stop(Duration::from_secs(15)).await {
            eprintln!("{e}");
        }
        measured
    }

    /// What the two replicas answer and serve together.
    async fn beside(
        &self,
        suite: &Suite,
        second: &Running<CatalogService>,
    ) -> anyhow::Result<Vec<Figure>> {
        let endpoints = vec![self.first.endpoint(), second.endpoint()];
        let compared = self.same_answers(&endpoints).await?;
        println!("the two catalog replicas answered {compared} searches and browses alike");
        // The two are one consumer group of the vendor projection.
        for line in super::partitions::vendor_events_balanced(
            &suite.kafka,
            self.first.metrics_address(),
            second.metrics_address(),
        )
        .await?
        {
            println!("two catalog replicas' partitions: {line}");
        }
        let mut figures = Vec::new();
        for call in [Call::Search, Call::Browse] {
            let calls = Calls {
                call,
                workers: self.workers,
                endpoints: endpoints.clone(),
                token: self.token.to_string(),
                queries: match call {
                    Call::Browse => self.browses.clone(),
                    _ => self.queries.clone(),
                },
            };
            calls.run(2).await?;
            let started = Instant::now();
            let both =
                calls.run(self.seconds).await?.len() as f64 / started.elapsed().as_secs_f64();
            let alone = self
                .alone
                .iter()
                .find(|(c, _)| *c == call)
                .map_or(0.0, |(_, rate)| *rate);
            println!(
                "two catalog replicas, {} callers, {}: {both:.0}/s, one replica {alone:.0}/s: {:.2}",
                self.workers,
                call.name(),
                both / alone
            );
            figures.push(
                Figure::new(
                    format!(
                        "{}, two catalog replicas, {} products, {} callers",
                        call.name(),
                        self.products,
                        self.workers
                    ),
                    both,
                    "calls/s",
                )
                .beside(
                    format!(
                        "one replica, {} callers (both replicas, the callers and the database \
                         share the same cores)",
                        self.workers
                    ),
                    alone,
                ),
            );
        }
        Ok(figures)
    }

    /// Every query and the first browses, asked of each replica: the same
    /// products in the same order, the same totals and facets. Answers how
    /// many were compared.
    async fn same_answers(&self, endpoints: &[String]) -> anyhow::Result<usize> {
        let mut clients = Vec::new();
        for endpoint in endpoints {
            clients.push(CatalogServiceClient::connect(endpoint.clone()).await?);
        }
        let asked = self
            .queries
            .iter()
            .chain(self.browses.iter().take(COMPARED_BROWSES));
        let mut compared = 0;
        for request in asked {
            let mut answers = Vec::new();
            for client in &mut clients {
                let answer = client
                    .search_products(with(self.token, request.clone())?)
                    .await?
                    .into_inner();
                let ids: Vec<String> = answer
                    .hits
                    .iter()
                    .map(|hit| {
                        hit.product
                            .as_ref()
                            .map(|p| p.id.clone())
                            .unwrap_or_default()
                    })
                    .collect();
                answers.push((ids, answer.total_matches, answer.facets));
            }
            anyhow::ensure!(
                answers.windows(2).all(|pair| pair[0] == pair[1]),
                "the two catalog replicas answered {request:?} differently"
            );
            compared += 1;
        }
        Ok(compared)
    }
}

/// What the measured callers call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Search,
    /// A search without words: a category and filters only.
    Browse,
    /// A gRPC health check: the least a call to the server costs.
    Empty,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::Search => "search",
            Call::Browse => "browse",
            Call::Empty => "empty",
        }
    }
}

/// `workers` callers, one connection each, making `call` in a loop; the
/// callers take turns over the replicas at `endpoints`.
struct Calls {
    call: Call,
    workers: usize,
    endpoints: Vec<String>,
    token: String,
    queries: Arc<Vec<pb::SearchProductsRequest>>,
}

impl Calls {
    /// Every call's latency over `seconds`.
    async fn run(&self, seconds: u64) -> anyhow::Result<Vec<Duration>> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for w in 0..self.workers {
            let (call, queries) = (self.call, self.queries.clone());
            let endpoint = self.endpoints[w % self.endpoints.len()].clone();
            let token = self.token.clone();
            tasks.push(tokio::spawn(async move {
                let channel = tonic::transport::Endpoint::from_shared(endpoint)?
                    .connect()
                    .await?;
                let mut catalog = CatalogServiceClient::new(channel.clone());
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                let mut seen = Vec::new();
                let mut i = w;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match call {
                        Call::Search | Call::Browse => {
                            let mut request =
                                tonic::Request::new(queries[i % queries.len()].clone());
                            request
                                .metadata_mut()
                                .insert("authorization", bearer(&token)?);
                            catalog.search_products(request).await?;
                        }
                        Call::Empty => {
                            health
                                .check(tonic_health::pb::HealthCheckRequest::default())
                                .await?;
                        }
                    }
                    seen.push(t.elapsed());
                    i += 1;
                }
                anyhow::Ok(seen)
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await??);
        }
        Ok(all)
    }
}
