//! `blangkon bench reporting`: how fast the reporting projection applies
//! domain events on PostgreSQL (through the inbox, a batch of what waits a
//! transaction, with their analyst records, as the live service applies a
//! backlog), and
//! how fast the public reads answer once the read model holds many orders.
//!
//! The events are generated (regencies, vendors, products, and orders that
//! go through the lifecycle's outcomes) and applied in order by one task,
//! as one consumer applies its partitions; no broker is involved.

use std::time::{Duration, Instant};

use blangkon_platform::inbox::{self, ReceivedEvent};
use blangkon_platform::kafka::topics;
use blangkon_platform::outbox::RelayWaker;
use blangkon_proto::reporting as pb;
use blangkon_proto::reporting::reporting_service_server::ReportingService;
use blangkon_reporting::api::ReportingApi;
use blangkon_reporting::domain::red_flags::Thresholds;
use blangkon_reporting::projection::{CONSUMER, Projection};
use blangkon_reporting::rebuild::Rebuild;
use blangkon_reporting::settings::ReportingSettings;
use chrono::{Duration as Days, Utc};
use clap::Args;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sea_orm::Database;

use super::reporting_data::history;
use super::{Figure, Infrastructure, fresh_database, ms, percentile};

#[derive(Args)]
pub struct ReportingBench {
    /// The database is `blangkon_bench_reporting`; the broker carries the
    /// raw produce and consume of the same records beside the projection.
    #[command(flatten)]
    pub(super) at: Infrastructure,
    /// Orders to generate; each has two to six events.
    #[arg(long, default_value_t = 20_000)]
    pub(super) orders: usize,
    /// Vendors (each registered and verified) and their products.
    #[arg(long, default_value_t = 2_000)]
    pub(super) vendors: usize,
    /// Calls per read measured.
    #[arg(long, default_value_t = 100)]
    pub(super) reads: usize,
}

pub async fn run(bench: ReportingBench) -> anyhow::Result<Vec<Figure>> {
    let settings = fresh_database(&bench.at.server, "blangkon_bench_reporting").await?;
    let db = blangkon_platform::db::connect(&settings).await?;
    blangkon_platform::db::migrate::<blangkon_reporting::store::migrations::Migrator>(&db).await?;
    let mut rng = StdRng::seed_from_u64(2026);
    let events = history(&bench, &mut rng);
    let orders_events = events
        .iter()
        .filter(|e| e.topic == topics::ORDER_EVENTS)
        .count();
    say!(
        "applying {} events ({} vendors, {} products, {} orders with {} order events), up to {} a transaction",
        events.len(),
        bench.vendors,
        bench.vendors * 3,
        bench.orders,
        orders_events,
        inbox::MAX_BATCH
    );
    // The live projection: it keeps the red flags and writes analyst
    // records to the outbox too (no relay runs; they stay there).
    let projection = Projection::new(RelayWaker::default(), Thresholds::default());
    // As the live consumer applies a backlog: what waits, up to a batch a
    // transaction.
    let mut latencies = Vec::with_capacity(events.len() / inbox::MAX_BATCH + 1);
    let started = Instant::now();
    for batch in events.chunks(inbox::MAX_BATCH) {
        let t = Instant::now();
        inbox::apply_batch(&db, CONSUMER, &projection, batch).await?;
        latencies.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    say!(
        "projection: {:.0} events/s ({} in {:.1} s), per batch of up to {} p50 {:.1} ms, p99 {:.1} ms",
        events.len() as f64 / elapsed.as_secs_f64(),
        events.len(),
        elapsed.as_secs_f64(),
        inbox::MAX_BATCH,
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
    );

    // A rebuild of the same read model from the same events, as `blangkon
    // reporting rebuild` applies what it reads (on PostgreSQL: fresh
    // tables, order events loaded with COPY, swapped in at the end).
    let mut rebuild = Rebuild::begin(&db).await?;
    for batch in events.chunks(inbox::MAX_BATCH) {
        rebuild.take(batch.to_vec()).await?;
    }
    let rebuilt = rebuild.finish(&Thresholds::default()).await?;
    let rebuild_rate = events.len() as f64 / rebuilt.elapsed.as_secs_f64();
    say!(
        "rebuild: {rebuild_rate:.0} events/s ({} in {:.1} s, {} red flags), {:.1} times the projection's rate",
        events.len(),
        rebuilt.elapsed.as_secs_f64(),
        rebuilt.red_flags,
        rebuild_rate * elapsed.as_secs_f64() / events.len() as f64
    );

    let raw = raw_rates(&bench, &events).await?;
    let per_second = events.len() as f64 / elapsed.as_secs_f64();
    say!(
        "beside it, the same {} records through the broker ({}): raw produce {:.0}/s, raw \
         consume {:.0}/s (the projection applies one event in the time the raw consumer \
         reads {:.0})",
        events.len(),
        bench.at.kafka.as_deref().unwrap_or("embedded mock cluster"),
        raw.produced,
        raw.consumed,
        raw.consumed / per_second
    );

    let broker = bench.at.kafka.as_deref().unwrap_or("embedded mock cluster");
    let figures = vec![
        Figure::new("reporting projection", per_second, "events/s").beside(
            format!("bare consume of the same records ({broker})"),
            raw.consumed,
        ),
        Figure::new("reporting projection", per_second, "events/s").beside(
            format!("bare produce of the same records ({broker})"),
            raw.produced,
        ),
        Figure::new("reporting rebuild", rebuild_rate, "events/s").beside(
            format!("bare consume of the same records ({broker})"),
            raw.consumed,
        ),
    ];

    // Reads through the API's own code over a fresh pool.
    let api = ReportingApi::new(
        Database::connect(settings.url.expose()).await?,
        ReportingSettings::default(),
    );
    let month = (Utc::now() - Days::days(180)).format("%Y-%m").to_string();
    let summary = api
        .get_summary(tonic::Request::new(pb::GetSummaryRequest {}))
        .await?
        .into_inner();
    say!(
        "read model: {} transactions worth Rp{}, {} vendors, {} products listed",
        summary.transactions,
        summary.transaction_value,
        summary.vendors_total,
        summary.products_listed
    );
    say!("{:<44} {:>9} {:>9}", "read", "p50 ms", "p99 ms");
    let reads = bench.reads.max(1);
    macro_rules! time_read {
        ($label:expr, $call:expr) => {{
            let mut times = Vec::with_capacity(reads);
            for _ in 0..reads {
                let t = Instant::now();
                $call.await?;
                times.push(t.elapsed());
            }
            times.sort_unstable();
            say!(
                "{:<44} {:>9.2} {:>9.2}",
                $label,
                ms(percentile(&times, 50.0)),
                ms(percentile(&times, 99.0))
            );
        }};
    }
    time_read!(
        "GetSummary",
        api.get_summary(tonic::Request::new(pb::GetSummaryRequest {}))
    );
    time_read!(
        "GetBreakdown category, all time",
        api.get_breakdown(tonic::Request::new(pb::GetBreakdownRequest {
            dimension: pb::Dimension::Category as i32,
            ..Default::default()
        }))
    );
    time_read!(
        format!("GetBreakdown vendor, month {month}, first page (100)"),
        api.get_breakdown(tonic::Request::new(pb::GetBreakdownRequest {
            dimension: pb::Dimension::Vendor as i32,
            period: Some(pb::Period {
                from_date: format!("{month}-01"),
                until_date: format!("{month}-28"),
            }),
            ..Default::default()
        }))
    );
    time_read!(
        "ListTransactions first page (50)",
        api.list_transactions(tonic::Request::new(pb::ListTransactionsRequest::default()))
    );
    time_read!(
        "ListTransactions category katering (50)",
        api.list_transactions(tonic::Request::new(pb::ListTransactionsRequest {
            category_code: "katering".into(),
            ..Default::default()
        }))
    );
    time_read!(
        "ExportOcds one month (up to 1,000 releases)",
        api.export_ocds(tonic::Request::new(pb::ExportOcdsRequest {
            period: Some(pb::Period {
                from_date: format!("{month}-01"),
                until_date: format!("{month}-28"),
            }),
            ..Default::default()
        }))
    );
    Ok(figures)
}

/// Records per second a bare rdkafka producer and consumer move.
struct RawRates {
    produced: f64,
    consumed: f64,
}

/// The events' envelopes, as the relay would send them, produced to a
/// fresh topic and consumed back with rdkafka alone.
async fn raw_rates(bench: &ReportingBench, events: &[ReceivedEvent]) -> anyhow::Result<RawRates> {
    use prost::Message as _;
    use rdkafka::ClientConfig;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::producer::{FutureProducer, FutureRecord};

    let mock;
    let (bootstrap, topic) = match &bench.at.kafka {
        Some(bootstrap) => (bootstrap.clone(), super::raw_topic(bootstrap, true).await?),
        None => {
            mock = rdkafka::mocking::MockCluster::new(1)?;
            let topic = super::raw_topic(&mock.bootstrap_servers(), false).await?;
            // One partition, as on the real broker: the consumer reads it alone.
            mock.create_topic(&topic, 1, 1)?;
            (mock.bootstrap_servers(), topic)
        }
    };
    let payloads: Vec<(String, Vec<u8>)> = events
        .iter()
        .map(|e| (e.envelope.aggregate_id.clone(), e.envelope.encode_to_vec()))
        .collect();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("broker.address.family", "v4")
        .set("linger.ms", "5")
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create()?;
    let started = Instant::now();
    let sends: Vec<_> = payloads
        .iter()
        .map(|(key, payload)| {
            producer.send(
                FutureRecord::to(&topic).key(key).payload(payload),
                Duration::from_secs(30),
            )
        })
        .collect();
    for sent in futures::future::join_all(sends).await {
        sent.map_err(|(e, _)| e)?;
    }
    let produced = payloads.len() as f64 / started.elapsed().as_secs_f64();

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("broker.address.family", "v4")
        .set(
            "group.id",
            format!("bench-raw-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    // Assigned, not subscribed: no group join inside the measurement.
    let mut partition = rdkafka::TopicPartitionList::new();
    partition.add_partition_offset(&topic, 0, rdkafka::Offset::Beginning)?;
    consumer.assign(&partition)?;
    let started = Instant::now();
    for _ in 0..payloads.len() {
        tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .map_err(|_| anyhow::anyhow!("the raw consumer stalled"))??;
    }
    let consumed = payloads.len() as f64 / started.elapsed().as_secs_f64();
    Ok(RawRates { produced, consumed })
}
