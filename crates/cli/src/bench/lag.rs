//! `blangkon bench lag`: how long a committed order takes to reach the
//! public — the reporting service's ledger (`ListTransactions`) and the
//! analysts' stream — while buyers keep placing orders; beside it, in the
//! same run and through the same broker, a bare produce→consume round trip
//! with rdkafka, the least any event can take to arrive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use blangkon_catalog::CatalogService;
use blangkon_order::OrderService;
use blangkon_platform::auth::{Role, TokenRequest};
use blangkon_platform::kafka::topics;
use blangkon_platform::suite::Suite;
use blangkon_proto::order as pb;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_proto::reporting as rep;
use blangkon_proto::reporting::reporting_service_client::ReportingServiceClient;
use blangkon_reporting::ReportingService;
use blangkon_vendor::VendorService;
use clap::Args;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::order::{Endpoints, issuer, seed, token, with};
use super::{Broker, Figure, Infrastructure, fresh_database, ms, percentile, raw_topic};

#[derive(Args)]
pub struct LagBench {
    #[command(flatten)]
    pub(super) at: Infrastructure,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    pub(super) seconds: u64,
    /// Buyers placing orders at once.
    #[arg(long, default_value_t = 4)]
    pub(super) buyers: usize,
    /// Orders per second the buyers hold to together (0: as fast as they
    /// can). Above what reporting applies per second the lag is a growing
    /// backlog, not a delay.
    #[arg(long, default_value_t = 50.0)]
    pub(super) rate: f64,
    /// Follow every n-th order to the ledger and the stream. Every order
    /// by default: a p99 of a hundred samples is their largest but one.
    #[arg(long, default_value_t = 1)]
    pub(super) sample_every: u64,
    /// The services' consumers' fetch wait (kafka.consumer_wait_ms).
    #[arg(long, default_value_t = blangkon_platform::settings::KafkaSettings::default().consumer_wait_ms)]
    pub(super) consumer_wait_ms: u64,
    /// The services' outbox relay linger (kafka.relay_linger_ms).
    #[arg(long, default_value_t = blangkon_platform::settings::KafkaSettings::default().relay_linger_ms)]
    pub(super) relay_linger_ms: u64,
    /// A librdkafka property for the services' clients, as KEY=VALUE
    /// (kafka.properties; repeatable), to try a tuning.
    #[arg(long = "kafka-property", value_parser = parse_property)]
    pub(super) kafka_properties: Vec<(String, String)>,
}

fn parse_property(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    Ok((key.trim().to_string(), value.trim().to_string()))
}

/// When each order id arrived on the analysts' stream.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

pub async fn run(bench: LagBench) -> anyhow::Result<Vec<Figure>> {
    let broker = Broker::new(bench.at.kafka.as_deref())?;
    let bootstrap = broker.bootstrap.clone();
    let mut suite = Suite::new(bootstrap.clone(), issuer()?);
    suite.kafka.create_topics = broker.is_real();
    suite.kafka.consumer_group_prefix = format!("bench-{}", uuid::Uuid::new_v4().simple());
    suite.kafka.consumer_wait_ms = bench.consumer_wait_ms;
    suite.kafka.relay_linger_ms = bench.relay_linger_ms;
    for (key, value) in &bench.kafka_properties {
        // Stored as an environment variable would carry it.
        suite
            .kafka
            .properties
            .insert(key.replace('.', "_"), value.clone());
    }
    suite.max_connections = 20;
    let server = bench.at.server.as_str();
    let database =
        |name: &'static str| async move { fresh_database(server, name).await.map(|d| d.url) };
    let vendor = suite
        .start::<VendorService>(suite.settings(database("blangkon_bench_lag_vendor").await?, 0))
        .await?;
    let catalog = suite
        .start::<CatalogService>(suite.settings(database("blangkon_bench_lag_catalog").await?, 0))
        .await?;
    let mut order_settings =
        suite.settings::<OrderService>(database("blangkon_bench_lag_order").await?, 0);
    order_settings.service.vendor_endpoint = vendor.endpoint();
    order_settings.service.catalog_endpoint = catalog.endpoint();
    let order = suite.start(order_settings).await?;
    let mut reporting_settings =
        suite.settings::<ReportingService>(database("blangkon_bench_lag_reporting").await?, 0);
    // The ledger is polled every 5 ms without a token: far past what one
    // public address may ask, and not what this bench measures.
    reporting_settings.platform.grpc.anonymous_calls_per_second = 0;
    let reporting = suite.start(reporting_settings).await?;
    let at = Endpoints {
        vendor: vendor.endpoint(),
        catalog: catalog.endpoint(),
        order: order.endpoint(),
    };
    let (_, products) = seed(&at).await?;

    let arrivals: Arrivals = Arc::default();
    let stream = follow_stream(&bootstrap, arrivals.clone()).await?;
    // The reporting service's consumers join their groups a few seconds
    // after it starts: one order through first, so the load measures the
    // steady state and not the join.
    warm_up(&at, &reporting.endpoint(), &products).await?;
    let (samples, sampled) = tokio::sync::mpsc::unbounded_channel();
    let ledger = tokio::spawn(follow_ledger(reporting.endpoint(), sampled));
    let shape = Load {
        buyers: bench.buyers,
        seconds: bench.seconds,
        rate: bench.rate,
        sample_every: bench.sample_every,
    };
    let (committed, placed, load_seconds) = load(&at, shape, products, samples).await?;
    let ledger = ledger.await??;
    // The stream's records of the last orders may still be on their way.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let all_arrived = {
            let arrived = arrivals.lock().unwrap_or_else(PoisonError::into_inner);
            committed.iter().all(|(id, _)| arrived.contains_key(id))
        };
        if all_arrived {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stream.abort();
    let stream_lags: Vec<Duration> = {
        let arrivals = arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        let mut lags: Vec<Duration> = committed
            .iter()
            .filter_map(|(id, at)| arrivals.get(id).map(|t| t.saturating_duration_since(*at)))
            .collect();
        lags.sort();
        lags
    };
    let raw = raw_round_trips(&bootstrap, broker.is_real(), 500).await?;

    println!();
    println!(
        "event to report: {} buyers placing for {:.0} s ({:.0} orders/s{}), {} followed; \
         broker: {}",
        bench.buyers,
        load_seconds,
        placed as f64 / load_seconds,
        if bench.rate > 0.0 {
            format!(", paced to {}", bench.rate)
        } else {
            String::new()
        },
        match bench.sample_every {
            0 | 1 => "every order".to_string(),
            n => format!("every {n}th order"),
        },
        broker.name()
    );
    let raw_p50 = percentile(&raw, 50.0);
    let mut figures = Vec::new();
    for (what, lags) in [
        ("the public ledger", &ledger),
        ("the analysts' stream", &stream_lags),
    ] {
        for p in [50.0, 99.0] {
            figures.push(
                Figure::new(
                    format!(
                        "commit to {what}, {:.0} orders/s, p{p:.0} of {} orders",
                        placed as f64 / load_seconds,
                        lags.len()
                    ),
                    ms(percentile(lags, p)),
                    "ms",
                )
                .beside("bare Kafka produce -> consume", ms(percentile(&raw, p))),
            );
        }
    }
    println!(
        "{:<34} {:>8} {:>9} {:>9} {:>14}",
        "from commit to", "samples", "p50 ms", "p99 ms", "p50 / raw p50"
    );
    for (what, lags) in [
        ("the public ledger (ListTransactions)", &ledger),
        ("the analysts' stream", &stream_lags),
        ("raw Kafka produce -> consume", &raw),
    ] {
        let p50 = percentile(lags, 50.0);
        let ratio = if raw_p50 > Duration::ZERO {
            format!("{:.1}x", p50.as_secs_f64() / raw_p50.as_secs_f64())
        } else {
            "-".into()
        };
        println!(
            "{:<34} {:>8} {:>9.1} {:>9.1} {:>14}",
            what,
            lags.len(),
            ms(p50),
            ms(percentile(lags, 99.0)),
            ratio
        );
    }
    let within = Duration::from_secs(15);
    for stopped in [
        reporting.stop(within).await,
        order.stop(within).await,
        catalog.stop(within).await,
        vendor.stop(within).await,
    ] {
        if let Err(e) = stopped {
            eprintln!("{e}");
        }
    }
    Ok(figures)
}

/// The token of a buyer of work unit `work_unit` in Kota Semarang.
fn buyer(subject: &str, work_unit: &str) -> anyhow::Result<String> {
    token(
        Role::Buyer,
        TokenRequest {
            subject: subject.into(),
            regency: Some("33.74".into()),
            work_unit: Some(work_unit.into()),
            ..TokenRequest::default()
        },
    )
}

/// Places one order and waits until the public ledger shows it.
async fn warm_up(at: &Endpoints, reporting: &str, products: &[String]) -> anyhow::Result<()> {
    let buyer = buyer("bench-lag-warm-up", "Dinas Bench")?;
    let mut orders = OrderServiceClient::connect(at.order.clone()).await?;
    let request = pb::PlaceOrderRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        lines: vec![pb::OrderLine {
            product_id: products[0].clone(),
            quantity: 1,
        }],
        note: String::new(),
    };
    let placed = orders
        .place_order(with(&buyer, request)?)
        .await?
        .into_inner();
    let mut ledger = ReportingServiceClient::connect(reporting.to_string()).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let page = ledger
            .list_transactions(rep::ListTransactionsRequest {
                page_size: 10,
                ..Default::default()
            })
            .await?
            .into_inner();
        if page.transactions.iter().any(|t| t.order_id == placed.id) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the reporting service did not show an order within 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A consumer of the analysts' transactions stream from its end, noting
/// when each order id first arrives; running once it holds partitions.
async fn follow_stream(
    bootstrap: &str,
    arrivals: Arrivals,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set(
            "group.id",
            format!("bench-lag-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("auto.offset.reset", "latest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .set("broker.address.family", "v4")
        .create()
        .context("the stream consumer")?;
    consumer.subscribe(&[topics::REPORTING_TRANSACTIONS])?;
    let consumer = Arc::new(consumer);
    let task = tokio::spawn({
        let consumer = consumer.clone();
        async move {
            loop {
                let Ok(message) = consumer.recv().await else {
                    continue;
                };
                let arrived = Instant::now();
                if let Some(key) = message.key().and_then(|k| std::str::from_utf8(k).ok()) {
                    arrivals
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .entry(key.to_string())
                        .or_insert(arrived);
                }
            }
        }
    });
    // Until the group gives it partitions, records would be missed.
    let deadline = Instant::now() + Duration::from_secs(30);
    while consumer.assignment().map(|a| a.count()).unwrap_or(0) == 0 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the stream consumer got no partitions"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(task)
}

/// How buyers place orders: how many at once, for how long, at what rate
/// together (0: as fast as they can), and which orders are followed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Load {
    pub(super) buyers: usize,
    pub(super) seconds: u64,
    pub(super) rate: f64,
    pub(super) sample_every: u64,
}

/// Buyers placing orders as `load` says: every sampled order's id and when
/// its commit was answered (also sent to `ledger`); how many were placed;
/// the seconds taken.
pub(super) async fn load(
    at: &Endpoints,
    load: Load,
    products: Arc<Vec<String>>,
    ledger: tokio::sync::mpsc::UnboundedSender<(String, Instant)>,
) -> anyhow::Result<(Vec<(String, Instant)>, u64, f64)> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(load.seconds);
    let mut tasks = Vec::new();
    for b in 0..load.buyers {
        let (endpoint, products) = (at.order.clone(), products.clone());
        let sample_every = load.sample_every.max(1);
        let ledger = ledger.clone();
        // Each buyer's share of the rate, as the gap between its orders.
        let gap =
            (load.rate > 0.0).then(|| Duration::from_secs_f64(load.buyers as f64 / load.rate));
        tasks.push(tokio::spawn(async move {
            let buyer = buyer(&format!("bench-lag-{b}"), &format!("Dinas Bench {b}"))?;
            let mut client = OrderServiceClient::connect(endpoint).await?;
            let (mut sampled, mut n) = (Vec::new(), 0u64);
            let mut next = Instant::now();
            while Instant::now() < deadline {
                if let Some(gap) = gap {
                    tokio::time::sleep_until(next.into()).await;
                    next += gap;
                }
                let request = pb::PlaceOrderRequest {
                    idempotency_key: uuid::Uuid::new_v4().to_string(),
                    lines: vec![pb::OrderLine {
                        product_id: products[(n as usize + b) % products.len()].clone(),
                        quantity: 1,
                    }],
                    note: String::new(),
                };
                let placed = client
                    .place_order(with(&buyer, request)?)
                    .await?
                    .into_inner();
                if n % sample_every == 0 {
                    let committed = Instant::now();
                    // The ledger follower may have given up; the load goes on.
                    let _ = ledger.send((placed.id.clone(), committed));
                    sampled.push((placed.id, committed));
                }
                n += 1;
            }
            anyhow::Ok((sampled, n))
        }));
    }
    let (mut sampled, mut placed) = (Vec::new(), 0);
    for task in tasks {
        let (some, n) = task.await??;
        sampled.extend(some);
        placed += n;
    }
    Ok((sampled, placed, started.elapsed().as_secs_f64()))
}

/// Follows sampled orders to the public ledger while the load runs: one
/// `ListTransactions` of the newest 200 every 5 ms, and each sampled order
/// is found when it first shows there. Answers each one's time from its
/// commit to that moment, once `done` is set and nothing pends (or 30 s on).
async fn follow_ledger(
    endpoint: String,
    mut samples: tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>,
) -> anyhow::Result<Vec<Duration>> {
    let mut client = ReportingServiceClient::connect(endpoint).await?;
    let mut pending: HashMap<String, Instant> = HashMap::new();
    let mut lags = Vec::new();
    let mut open = true;
    let mut last_news = Instant::now();
    while open || !pending.is_empty() {
        loop {
            match samples.try_recv() {
                Ok((id, committed)) => {
                    pending.insert(id, committed);
                    last_news = Instant::now();
                }
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        if !pending.is_empty() {
            let page = client
                .list_transactions(rep::ListTransactionsRequest {
                    page_size: 200,
                    ..Default::default()
                })
                .await?
                .into_inner();
            let seen = Instant::now();
            for transaction in page.transactions {
                if let Some(committed) = pending.remove(&transaction.order_id) {
                    lags.push(seen.saturating_duration_since(committed));
                    last_news = seen;
                }
            }
            anyhow::ensure!(
                last_news.elapsed() < Duration::from_secs(30),
                "{} sampled orders never showed in the ledger",
                pending.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    lags.sort();
    Ok(lags)
}

/// `count` bare messages produced and consumed one by one through the
/// broker at `bootstrap` (which makes their topic first when `create`):
/// each one's time from send to receipt.
async fn raw_round_trips(
    bootstrap: &str,
    create: bool,
    count: usize,
) -> anyhow::Result<Vec<Duration>> {
    let topic = raw_topic(bootstrap, create).await?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .set("broker.address.family", "v4")
        .create()?;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set(
            "group.id",
            format!("bench-raw-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .set("broker.address.family", "v4")
        .create()?;
    // A first message, to be sure the consumer holds the partition before
    // the timing starts.
    producer
        .send(
            FutureRecord::to(&topic).key("warm-up").payload("{}"),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)?;
    consumer.subscribe(&[&topic])?;
    tokio::time::timeout(Duration::from_secs(30), consumer.recv())
        .await
        .context("the raw consumer received nothing")??;
    let mut trips = Vec::with_capacity(count);
    for i in 0..count {
        let sent = Instant::now();
        let key = format!("raw-{i}");
        producer
            .send(
                FutureRecord::to(&topic).key(&key).payload("{}"),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)?;
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), consumer.recv())
                .await
                .context("a raw message did not come back")??;
            if message.key() == Some(key.as_bytes()) {
                break;
            }
        }
        trips.push(sent.elapsed());
    }
    trips.sort();
    Ok(trips)
}
