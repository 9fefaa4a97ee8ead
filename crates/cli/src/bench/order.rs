//! `blangkon bench order`: many buyers place orders at once against the
//! vendor, catalog and order services on PostgreSQL; beside it, in the same
//! run, the throughput of a plain single-row insert transaction on the same
//! server — the limit no write path can beat — and the ratio of the two;
//! then a placing's own steps alone (the stock reservation over gRPC, and
//! for the vendor check, answered from the order service's projection, a
//! raw primary-key read) and the bound they set together with one raw
//! write, with and without the buyer's own authenticated call. Last, how soon after a vendor's suspension its orders are
//! refused, which the projection's lag decides.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use blangkon_catalog::CatalogService;
use blangkon_order::OrderService;
use blangkon_platform::auth::{LocalIssuer, Role, TokenRequest, bearer};
use blangkon_platform::db;
use blangkon_platform::settings::{KafkaSettings, Secret};
use blangkon_platform::suite::Suite;
use blangkon_proto::catalog as cat;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::order as pb;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_proto::vendor as ven;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use blangkon_vendor::VendorService;
use clap::Args;
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Broker, Figure, fresh_database, ms, percentile};

#[derive(Args)]
pub struct OrderBench {
    /// PostgreSQL server; the benchmark makes its own databases on it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pub(super) server: String,
    /// Seconds of measurement per concurrency level.
    #[arg(long, default_value_t = 10)]
    pub(super) seconds: u64,
    /// Concurrent buyers.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    pub(super) concurrency: Vec<usize>,
    /// Times a vendor is suspended (and reinstated) to measure how soon
    /// its orders are refused.
    #[arg(long, default_value_t = 20)]
    pub(super) suspensions: usize,
    /// The services' outbox relay linger (kafka.relay_linger_ms).
    #[arg(long, default_value_t = KafkaSettings::default().relay_linger_ms)]
    pub(super) relay_linger_ms: u64,
    /// Kafka bootstrap servers (the test broker: deploy/local/tansu.sh
    /// start, which `make bench-order` runs); without it, librdkafka's
    /// embedded mock cluster.
    #[arg(long)]
    pub(super) kafka: Option<String>,
}

/// The benchmarks' issuer: one per run, served on loopback.
pub(super) fn issuer() -> anyhow::Result<Arc<LocalIssuer>> {
    static ISSUER: OnceLock<Arc<LocalIssuer>> = OnceLock::new();
    if let Some(issuer) = ISSUER.get() {
        return Ok(issuer.clone());
    }
    let issuer = LocalIssuer::serve_on_loopback().context("serving the benchmark's issuer")?;
    Ok(ISSUER.get_or_init(|| issuer).clone())
}

pub(super) fn token(role: Role, request: TokenRequest) -> anyhow::Result<String> {
    crate::token::mint(issuer()?.as_ref(), role, request, Duration::from_secs(3600))
}

/// A buyer's token, of a work unit in Kota Semarang (33.74).
pub(super) fn buyer_token(subject: &str) -> anyhow::Result<String> {
    token(
        Role::Buyer,
        TokenRequest {
            subject: subject.into(),
            regency: Some("33.74".into()),
            work_unit: Some("bench".into()),
            ..TokenRequest::default()
        },
    )
}

pub(super) fn with<T>(token: &str, message: T) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", bearer(token)?);
    Ok(request)
}

/// One client (one connection) per worker.
async fn connect_each<C, F, Fut>(workers: usize, connect: F) -> anyhow::Result<Arc<Vec<C>>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<C, tonic::transport::Error>>,
{
    let mut clients = Vec::with_capacity(workers);
    for worker in 0..workers {
        clients.push(connect(worker).await?);
    }
    Ok(Arc::new(clients))
}

/// Runs `work` on `workers` tasks for `seconds`; returns every latency.
async fn measure<F, Fut>(
    workers: usize,
    seconds: u64,
    work: F,
) -> anyhow::Result<(Vec<Duration>, f64)>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let work = Arc::new(work);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let work = work.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                work(w, n).await?;
                seen.push(t.elapsed());
                n += 1;
            }
            anyhow::Ok(seen)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    Ok((all, elapsed))
}

pub async fn run(bench: OrderBench) -> anyhow::Result<Vec<Figure>> {
    let broker = Broker::new(bench.kafka.as_deref())?;
    let mut suite = broker.suite().await?;
    suite.kafka.relay_linger_ms = bench.relay_linger_ms;
    suite.max_connections = 20;
    let server = bench.server.as_str();
    let database =
        |name: &'static str| async move { fresh_database(server, name).await.map(|d| d.url) };
    let vendor = suite
        .start::<VendorService>(suite.settings(database("blangkon_bench_vendor").await?, 0))
        .await?;
    let catalog = suite
        .start::<CatalogService>(suite.settings(database("blangkon_bench_order_catalog").await?, 0))
        .await?;
    let order_database = database("blangkon_bench_order").await?;
    let mut order_settings = suite.settings::<OrderService>(order_database.clone(), 0);
    order_settings.service.vendor_endpoint = vendor.endpoint();
    order_settings.service.catalog_endpoint = catalog.endpoint();
    let order = suite.start(order_settings).await?;
    let at = Endpoints {
        vendor: vendor.endpoint(),
        catalog: catalog.endpoint(),
        order: order.endpoint(),
    };
    let (vendor_id, products) = seed(&at).await?;
    let raw = raw_database(&bench.server).await?;

    // The order service's own token, for the steps of a placing alone.
    let service = token(
        Role::Service,
        TokenRequest {
            subject: "order-service".into(),
            ..TokenRequest::default()
        },
    )?;
    print_header();
    let mut figures = Vec::new();
    // Placings per second of one replica at the last concurrency.
    let mut one_replica = None;
    for &workers in &bench.concurrency {
        let seconds = bench.seconds;
        let (orders, failed) =
            measure_orders(std::slice::from_ref(&at.order), workers, seconds, &products).await?;
        one_replica = Some((workers, per_second(&orders)));
        let raw_writes = measure_raw(&raw, workers, seconds).await?;
        let lookups = measure_raw_read(&raw, workers, seconds).await?;
        let reservations = measure_reservation(&at, workers, seconds, &products, &service).await?;
        let calls = measure_call(&at, workers, seconds).await?;
        print_row(
            workers,
            &orders,
            failed,
            &raw_writes,
            &lookups,
            &reservations,
            &calls,
        );
        let (placed, raw) = (&orders.0, &raw_writes.0);
        let raw_tx = format!("raw insert transactions, {workers} at once");
        figures.push(
            Figure::new(
                format!("order placement, {workers} buyers"),
                per_second(&orders),
                "orders/s",
            )
            .beside(raw_tx.clone(), per_second(&raw_writes)),
        );
        figures.push(
            Figure::new(
                format!("order placement, {workers} buyers"),
                per_second(&orders),
                "orders/s",
            )
            .beside(
                "its own steps' bound (reservation, one raw read, one raw insert)",
                bound_per_second(&raw_writes, &lookups, &reservations),
            ),
        );
        figures.push(
            Figure::new(
                format!("order placement, {workers} buyers"),
                per_second(&orders),
                "orders/s",
            )
            .beside(
                "its own steps' bound with the buyer's call (an authenticated call, reservation, one raw read, one raw insert)",
                bound_with_call_per_second(&raw_writes, &lookups, &reservations, &calls),
            ),
        );
        for p in [50.0, 99.0] {
            figures.push(
                Figure::new(
                    format!("order placement, {workers} buyers, p{p:.0}"),
                    ms(percentile(placed, p)),
                    "ms",
                )
                .beside(raw_tx.clone(), ms(percentile(raw, p))),
            );
        }
    }
    if let Some(one_replica) = one_replica {
        figures.push(
            two_replicas(
                FirstReplica {
                    suite: &suite,
                    metrics: order.metrics_address(),
                    database: &order_database,
                },
                &at,
                one_replica,
                bench.seconds,
                &products,
            )
            .await?,
        );
    }
    let refusals = measure_suspension(&at, &vendor_id, &products[0], bench.suspensions).await?;
    println!();
    println!(
        "vendor suspended -> its orders refused ({} suspensions, placing every 2 ms): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        refusals.len(),
        ms(percentile(&refusals, 50.0)),
        ms(percentile(&refusals, 99.0)),
        ms(refusals.last().copied().unwrap_or_default()),
    );
    for p in [50.0, 99.0] {
        figures.push(
            Figure::new(
                format!("vendor suspended -> orders refused, p{p:.0}"),
                ms(percentile(&refusals, p)),
                "ms",
            )
            .beside(
                "the time a suspension may take to stop orders (well under a second)",
                1000.0,
            ),
        );
    }
    let within = Duration::from_secs(15);
    for stopped in [
        order.stop(within).await,
        catalog.stop(within).await,
        vendor.stop(within).await,
    ] {
        if let Err(e) = stopped {
            eprintln!("{e}");
        }
    }
    drop(broker);
    Ok(figures)
}

/// Placing with a second order service replica beside the first, on the
/// same database and broker, buyers taking turns over the two: orders/s
/// beside `alone` (one replica, as many buyers), after checking that the
/// database holds exactly one order per placing answered and that the two
/// share the vendor projection's partitions.
async fn two_replicas(
    first: FirstReplica<'_>,
    at: &Endpoints,
    (workers, alone): (usize, f64),
    seconds: u64,
    products: &Arc<Vec<String>>,
) -> anyhow::Result<Figure> {
    let FirstReplica {
        suite,
        metrics: first_metrics,
        database: order_database,
    } = first;
    let mut settings = suite.settings::<OrderService>(order_database.clone(), 0);
    settings.service.vendor_endpoint = at.vendor.clone();
    settings.service.catalog_endpoint = at.catalog.clone();
    let second = suite.start(settings).await?;
    let measured = place_on_both(
        at,
        &second.endpoint(),
        order_database,
        workers,
        seconds,
        products,
    )
    .await;
    // The two are one consumer group of the vendor projection: each must
    // hold its share of the partitions, and none twice.
    let shares = if measured.is_ok() {
        Some(
            super::partitions::vendor_events_balanced(
                &suite.kafka,
                first_metrics,
                second.metrics_address(),
            )
            .await,
        )
    } else {
        None
    };
    // Stopped whatever the measurement found.
    if let Err(e) = second.stop(Duration::from_secs(15)).await {
        eprintln!("{e}");
    }
    let both = measured?;
    for line in shares.transpose()?.unwrap_or_default() {
        println!("two order replicas' partitions: {line}");
    }
    println!(
        "two order replicas, {workers} buyers: {both:.0} orders/s, one replica {alone:.0}/s: {:.2}",
        both / alone
    );
    Ok(Figure::new(
        format!("order placement, two replicas, {workers} buyers"),
        both,
        "orders/s",
    )
    .beside(format!("one replica, {workers} buyers"), alone))
}

/// The order replica the benchmark started with, and where it runs.
struct FirstReplica<'a> {
    suite: &'a Suite,
    /// Where it serves its metrics.
    metrics: Option<std::net::SocketAddr>,
    database: &'a Secret,
}

/// Orders/s placed by `workers` buyers taking turns over the first order
/// replica and `second`; fails unless the database holds one order per
/// placing answered.
async fn place_on_both(
    at: &Endpoints,
    second: &str,
    order_database: &Secret,
    workers: usize,
    seconds: u64,
    products: &Arc<Vec<String>>,
) -> anyhow::Result<f64> {
    let orders_db = sea_orm::Database::connect(order_database.expose()).await?;
    let count = || async {
        let row = orders_db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT count(*) AS n FROM orders",
            ))
            .await?
            .context("counting orders")?;
        anyhow::Ok(row.try_get::<i64>("", "n")?)
    };
    let before = count().await?;
    let replicas = [at.order.clone(), second.to_string()];
    let (orders, failed) = measure_orders(&replicas, workers, seconds, products).await?;
    let placed = orders.0.len() as u64 - failed;
    let held = u64::try_from(count().await? - before)?;
    println!("two order replicas: {placed} placed ({failed} failed), {held} orders written");
    anyhow::ensure!(
        held == placed,
        "two replicas answered {placed} placings but wrote {held} orders"
    );
    // Every placing answered, as one replica's rate counts them (the
    // failed ones are said above; none failed in the README's runs).
    Ok(per_second(&orders))
}

/// Where the three services under test answer.
pub(super) struct Endpoints {
    pub(super) vendor: String,
    pub(super) catalog: String,
    pub(super) order: String,
}

/// Latencies, sorted, and the seconds they were measured over.
type Measured = (Vec<Duration>, f64);

fn per_second((latencies, elapsed): &Measured) -> f64 {
    latencies.len() as f64 / elapsed
}

/// One verified vendor with 50 products in plenty of stock: its id and
/// theirs.
pub(super) async fn seed(at: &Endpoints) -> anyhow::Result<(String, Arc<Vec<String>>)> {
    let province = token(
        Role::ProvinceAdmin,
        TokenRequest {
            subject: "bench".into(),
            ..TokenRequest::default()
        },
    )?;
    let mut vendors = VendorServiceClient::connect(at.vendor.clone()).await?;
    vendors
        .join_regency(with(
            &province,
            ven::JoinRegencyRequest {
                code: "33.74".into(),
            },
        )?)
        .await?;
    let registered = vendors
        .register_vendor(with(
            &province,
            ven::RegisterVendorRequest {
                name: "Katering Bench".into(),
                legal_form: ven::LegalForm::Individual as i32,
                nik: "3374015708800002".into(),
                scale: ven::Scale::Micro as i32,
                address: "Jl. Pandanaran 12".into(),
                regency_code: "33.74".into(),
                contact: Some(ven::Contact {
                    phone: "081225001234".into(),
                    email: String::new(),
                }),
                bank_account: Some(ven::BankAccount {
                    bank_name: "Bank Jateng".into(),
                    account_number: "2010123456".into(),
                    account_holder: "Bench".into(),
                }),
                ..Default::default()
            },
        )?)
        .await?
        .into_inner();
    vendors
        .verify_vendor(with(
            &province,
            ven::VerifyVendorRequest {
                vendor_id: registered.id.clone(),
                note: String::new(),
            },
        )?)
        .await?;
    let vendor_token = token(
        Role::Vendor,
        TokenRequest {
            subject: "bench-vendor".into(),
            vendor_id: Some(registered.id.clone()),
            ..TokenRequest::default()
        },
    )?;
    let mut catalog_client = CatalogServiceClient::connect(at.catalog.clone()).await?;
    let mut products = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while products.len() < 50 {
        let created = catalog_client
            .create_product(with(
                &vendor_token,
                cat::CreateProductRequest {
                    details: Some(cat::ProductDetails {
                        name: format!("Nasi Kotak Paket {}", products.len()),
                        category_code: "katering.nasi-kotak".into(),
                        unit: "kotak".into(),
                        price: 25_000,
                        min_order_quantity: 1,
                        stock: 1_000_000_000,
                        delivery_regencies: vec!["33.74".into()],
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )?)
            .await;
        match created {
            Ok(p) => {
                let id = p.into_inner().id;
                catalog_client
                    .publish_product(with(
                        &vendor_token,
                        cat::PublishProductRequest {
                            product_id: id.clone(),
                        },
                    )?)
                    .await?;
                products.push(id);
            }
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => anyhow::bail!("the catalog never saw the vendor verified: {e}"),
        }
    }
    Ok((registered.id, Arc::new(products)))
}

/// The raw limit: one single-row insert transaction, on the same server.
async fn raw_database(server: &str) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let raw = db::connect(&fresh_database(server, "blangkon_bench_raw").await?).await?;
    raw.execute_unprepared(
        "CREATE TABLE raw_orders (id UUID PRIMARY KEY, work_unit TEXT NOT NULL, total BIGINT NOT NULL, placed_at TIMESTAMPTZ NOT NULL)",
    )
    .await?;

    Ok(raw)
}

fn print_header() {
    println!();
    println!(
        "order placement over gRPC (stock reservation with its prices, vendor check, order write) vs a raw insert transaction, PostgreSQL"
    );
    println!(
        "{:>8} {:>9} {:>9} {:>9} {:>7} {:>10} {:>8} {:>8} {:>6} {:>8} {:>10} {:>8} {:>8} {:>7} {:>8} {:>7}",
        "buyers",
        "orders/s",
        "p50 ms",
        "p99 ms",
        "failed",
        "raw tx/s",
        "raw p50",
        "raw p99",
        "ratio",
        "read/s",
        "reserve/s",
        "call/s",
        "bound/s",
        "reached",
        "+call/s",
        "reached"
    );
    println!(
        "(read/s: a raw primary-key read, as the vendor check from the order service's own projection; reserve/s: the stock reservation alone, ReserveStock over gRPC;"
    );
    println!(
        " call/s: the buyer's authenticated call answering at once; each at the same concurrency. bound/s: orders/s if placing cost no more than the read,"
    );
    println!(
        " the reservation and one raw insert transaction; +call/s: those and the buyer's call. reached: orders/s as % of the bound)"
    );
}

async fn measure_orders(
    replicas: &[String],
    workers: usize,
    seconds: u64,
    products: &Arc<Vec<String>>,
) -> anyhow::Result<(Measured, u64)> {
    let products_ref = products.clone();
    // Buyers take turns over the replicas, a connection each.
    let clients = connect_each(workers, |worker| {
        OrderServiceClient::connect(replicas[worker % replicas.len()].clone())
    })
    .await?;
    let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let failed_ref = failed.clone();
    let run = uuid::Uuid::now_v7();
    // Each buyer signs in once, as a buyer's token lasts the hour: signing
    // one per order cost the shared cores as much as verifying it.
    let buyers = buyer_tokens("bench", workers)?;
    let orders = measure(workers, seconds, move |w, n| {
        let mut client = clients[w].clone();
        let product = products_ref[(w + n as usize) % products_ref.len()].clone();
        let failed = failed_ref.clone();
        let buyers = buyers.clone();
        async move {
            let buyer = &buyers[w];
            let placed = client
                .place_order(with(
                    buyer,
                    pb::PlaceOrderRequest {
                        idempotency_key: format!("bench-{run}-{w}-{n}"),
                        lines: vec![pb::OrderLine {
                            product_id: product,
                            quantity: 20,
                        }],
                        note: String::new(),
                    },
                )?)
                .await;
            if placed.is_err() {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(())
        }
    })
    .await?;

    Ok((orders, failed.load(std::sync::atomic::Ordering::Relaxed)))
}

/// Raw single-row insert transactions by `workers` tasks at once.
async fn measure_raw(
    raw: &sea_orm::DatabaseConnection,
    workers: usize,
    seconds: u64,
) -> anyhow::Result<Measured> {
    let raw_db = raw.clone();
    let raw_writes = measure(workers, seconds, move |w, _| {
        let raw_db = raw_db.clone();
        async move {
            let txn = raw_db.begin().await?;
            txn.execute_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "INSERT INTO raw_orders (id, work_unit, total, placed_at) VALUES ($1, $2, $3, now())",
                [uuid::Uuid::now_v7().into(), format!("Satker {w}").into(), 500_000i64.into()],
            ))
            .await?;
            txn.commit().await?;
            Ok(())
        }
    })
    .await?;
    Ok(raw_writes)
}

/// Raw primary-key reads of one row by `workers` tasks at once: what the
/// vendor check costs at least, answered from the order service's own
/// database.
async fn measure_raw_read(
    raw: &sea_orm::DatabaseConnection,
    workers: usize,
    seconds: u64,
) -> anyhow::Result<Measured> {
    let id = uuid::Uuid::now_v7();
    raw.execute_raw(sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        "INSERT INTO raw_orders (id, work_unit, total, placed_at) VALUES ($1, 'read', 0, now())",
        [id.into()],
    ))
    .await?;
    let raw_db = raw.clone();
    measure(workers, seconds, move |_, _| {
        let raw_db = raw_db.clone();
        async move {
            raw_db
                .query_one_raw(sea_orm::Statement::from_sql_and_values(
                    sea_orm::DbBackend::Postgres,
                    "SELECT work_unit, total FROM raw_orders WHERE id = $1",
                    [id.into()],
                ))
                .await?
                .context("the row read back")?;
            Ok(())
        }
    })
    .await
}

/// How soon after `SuspendVendor` answers the order service refuses the
/// vendor's orders, `rounds` times: a buyer places every 2 ms until one
/// is refused (a call answered UNAVAILABLE, retry, is tried again). After
/// each, the vendor is reinstated and the buyer places until one is taken
/// again. Sorted.
async fn measure_suspension(
    at: &Endpoints,
    vendor_id: &str,
    product: &str,
    rounds: usize,
) -> anyhow::Result<Vec<Duration>> {
    let province = token(
        Role::ProvinceAdmin,
        TokenRequest {
            subject: "bench".into(),
            ..TokenRequest::default()
        },
    )?;
    let buyer = buyer_token("bench-suspension")?;
    let mut vendors = VendorServiceClient::connect(at.vendor.clone()).await?;
    let mut orders = OrderServiceClient::connect(at.order.clone()).await?;
    let run = uuid::Uuid::now_v7();
    let mut n = 0u64;
    let mut place = async || -> anyhow::Result<Option<bool>> {
        n += 1;
        let placed = orders
            .place_order(with(
                &buyer,
                pb::PlaceOrderRequest {
                    idempotency_key: format!("suspension-{run}-{n}"),
                    lines: vec![pb::OrderLine {
                        product_id: product.to_string(),
                        quantity: 20,
                    }],
                    note: String::new(),
                },
            )?)
            .await;
        match placed {
            Ok(_) => Ok(Some(true)),
            Err(e)
                if matches!(
                    e.code(),
                    tonic::Code::FailedPrecondition | tonic::Code::NotFound
                ) =>
            {
                Ok(Some(false))
            }
            // A conflict with the status change may ask for a retry.
            Err(e) if e.code() == tonic::Code::Unavailable => Ok(None),
            Err(e) => Err(e).context("placing while the vendor's status changed"),
        }
    };
    // Places every `pause` until an order is taken (or refused), and
    // answers how long that took.
    let mut until = async |taken: bool, pause: Duration| -> anyhow::Result<Duration> {
        let since = Instant::now();
        while place().await? != Some(taken) {
            anyhow::ensure!(
                since.elapsed() < Duration::from_secs(30),
                "orders were still {} 30 s after the vendor's status changed",
                if taken { "refused" } else { "taken" }
            );
            tokio::time::sleep(pause).await;
        }
        Ok(since.elapsed())
    };
    let mut refused_after = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        vendors
            .suspend_vendor(with(
                &province,
                ven::SuspendVendorRequest {
                    vendor_id: vendor_id.to_string(),
                    reason: "benchmark".into(),
                },
            )?)
            .await?;
        refused_after.push(until(false, Duration::from_millis(2)).await?);
        vendors
            .reinstate_vendor(with(
                &province,
                ven::ReinstateVendorRequest {
                    vendor_id: vendor_id.to_string(),
                    note: String::new(),
                },
            )?)
            .await?;
        until(true, Duration::from_millis(20)).await?;
    }
    refused_after.sort();
    Ok(refused_after)
}

/// The stock reservation of a placing alone (`ReserveStock`), at the same
/// concurrency.
async fn measure_reservation(
    at: &Endpoints,
    workers: usize,
    seconds: u64,
    products: &Arc<Vec<String>>,
    service_token: &str,
) -> anyhow::Result<Measured> {
    let service_token = service_token.to_string();
    let catalog_clients = connect_each(workers, |_| {
        CatalogServiceClient::connect(at.catalog.clone())
    })
    .await?;
    let products_ref = products.clone();
    let reservations = measure(workers, seconds, move |w, n| {
        let mut client = catalog_clients[w].clone();
        let request = with(
            &service_token,
            cat::ReserveStockRequest {
                reservation_id: uuid::Uuid::now_v7().to_string(),
                lines: vec![cat::QuoteLine {
                    product_id: products_ref[(w + n as usize) % products_ref.len()].clone(),
                    quantity: 20,
                }],
            },
        );
        async move {
            client.reserve_stock(request?).await?;
            Ok(())
        }
    })
    .await?;
    Ok(reservations)
}

/// One token for each of `workers` buyers (`<subject>-<w>`, work unit
/// `Satker <w>` in Kota Semarang).
fn buyer_tokens(subject: &str, workers: usize) -> anyhow::Result<Arc<Vec<String>>> {
    let tokens = (0..workers)
        .map(|w| {
            token(
                Role::Buyer,
                TokenRequest {
                    subject: format!("{subject}-{w}"),
                    regency: Some("33.74".into()),
                    work_unit: Some(format!("Satker {w}")),
                    ..TokenRequest::default()
                },
            )
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Arc::new(tokens))
}

/// The buyer's call itself: an authenticated call to the order service
/// that does nothing after checking its token (`GetOrder` of an id that is
/// none, answered INVALID_ARGUMENT), by `workers` buyers at once.
async fn measure_call(at: &Endpoints, workers: usize, seconds: u64) -> anyhow::Result<Measured> {
    let clients = connect_each(workers, |_| OrderServiceClient::connect(at.order.clone())).await?;
    let buyers = buyer_tokens("bench-call", workers)?;
    measure(workers, seconds, move |w, _| {
        let mut client = clients[w].clone();
        let request = with(
            &buyers[w],
            pb::GetOrderRequest {
                order_id: "none".into(),
            },
        );
        async move {
            match client.get_order(request?).await {
                Err(status) if status.code() == tonic::Code::InvalidArgument => Ok(()),
                Err(status) => Err(anyhow::anyhow!("the call was answered {status}")),
                Ok(_) => Err(anyhow::anyhow!("an order with the id \"none\" was found")),
            }
        }
    })
    .await
}

/// [`bound_per_second`] with the buyer's own call to the order service.
fn bound_with_call_per_second(
    raw_writes: &Measured,
    lookups: &Measured,
    reservations: &Measured,
    calls: &Measured,
) -> f64 {
    1.0 / (1.0 / bound_per_second(raw_writes, lookups, reservations) + 1.0 / per_second(calls))
}

/// The steps share the same two cores, so their costs add up: an order can
/// go no faster than its vendor check, its reservation and one raw insert
/// transaction (for its own write) one after another, even if the order
/// service itself cost nothing.
fn bound_per_second(raw_writes: &Measured, lookups: &Measured, reservations: &Measured) -> f64 {
    1.0 / (1.0 / per_second(lookups)
        + 1.0 / per_second(reservations)
        + 1.0 / per_second(raw_writes))
}

fn print_row(
    workers: usize,
    orders: &Measured,
    failed: u64,
    raw_writes: &Measured,
    lookups: &Measured,
    reservations: &Measured,
    calls: &Measured,
) {
    let (latencies, _) = orders;
    let orders_per_s = per_second(orders);
    let raw_per_s = per_second(raw_writes);
    let bound_per_s = bound_per_second(raw_writes, lookups, reservations);
    let with_call_per_s = bound_with_call_per_second(raw_writes, lookups, reservations, calls);
    println!(
        "{:>8} {:>9.0} {:>9.2} {:>9.2} {:>7} {:>10.0} {:>8.2} {:>8.2} {:>5.0}% {:>8.0} {:>10.0} {:>8.0} {:>8.0} {:>6.0}% {:>8.0} {:>6.0}%",
        workers,
        orders_per_s,
        ms(percentile(latencies, 50.0)),
        ms(percentile(latencies, 99.0)),
        failed,
        raw_per_s,
        ms(percentile(&raw_writes.0, 50.0)),
        ms(percentile(&raw_writes.0, 99.0)),
        100.0 * orders_per_s / raw_per_s,
        per_second(lookups),
        per_second(reservations),
        per_second(calls),
        bound_per_s,
        100.0 * orders_per_s / bound_per_s,
        with_call_per_s,
        100.0 * orders_per_s / with_call_per_s,
    );
}
