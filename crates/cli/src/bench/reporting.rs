//! `blangkon bench reporting`: how fast the reporting projection applies
//! domain events on PostgreSQL (through the inbox, a batch of what waits a
//! transaction, with their analyst records, as the live service applies a
//! backlog), how fast a rebuild applies the same events (beside the
//! broker's bare produce and consume of them), and how fast the public
//! reads answer once the read model holds many orders.
//!
//! The events are generated (regencies, vendors, products, and orders that
//! go through the lifecycle's outcomes) and applied in order by one task,
//! as one consumer applies its partitions. With `--rebuild-only` the read
//! model is loaded by a rebuild alone, the orders' events made a batch at a
//! time: a national year (`--orders 1000000`) without holding it in memory.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use blangkon_platform::inbox::{self, ReceivedEvent};
use blangkon_platform::kafka::topics;
use blangkon_platform::outbox::RelayWaker;
use blangkon_platform::settings::{DatabaseSettings, KafkaSettings};
use blangkon_platform::suite::Suite;
use blangkon_proto::reporting as pb;
use blangkon_proto::reporting::reporting_service_server::ReportingService as _;
use blangkon_reporting::ReportingService;
use blangkon_reporting::api::ReportingApi;
use blangkon_reporting::domain::red_flags::Thresholds;
use blangkon_reporting::projection::{CONSUMER, Projection, SOURCES};
use blangkon_reporting::rebuild::Rebuild;
use blangkon_reporting::settings::ReportingSettings;
use chrono::{Datelike as _, Duration as Days, Utc};
use clap::Args;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sea_orm::Database;

use super::reporting_data::{Year, history};
use super::{Figure, Infrastructure, drop_database, fresh_database, ms, percentile};

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
    /// Load the read model by a rebuild alone, from the events made as it
    /// takes them (a national year: `--orders 1000000`), then measure the
    /// reads; the live projection and the broker are left out.
    #[arg(long)]
    pub(super) rebuild_only: bool,
}

pub async fn run(bench: ReportingBench) -> anyhow::Result<Vec<Figure>> {
    let settings = fresh_database(&bench.at.server, "blangkon_bench_reporting").await?;
    let db = blangkon_platform::db::connect(&settings).await?;
    blangkon_platform::db::migrate::<blangkon_reporting::store::migrations::Migrator>(&db).await?;
    let mut rng = StdRng::seed_from_u64(2026);
    let mut figures = if bench.rebuild_only {
        load_by_rebuild(&bench, &db, &mut rng).await?
    } else {
        project_and_rebuild(&bench, &db, &mut rng).await?
    };
    figures.extend(measure_reads(&bench, &settings).await?);
    Ok(figures)
}

/// Loads a generated year by a rebuild, its orders made a batch at a time
/// as the rebuild takes them.
async fn load_by_rebuild(
    bench: &ReportingBench,
    db: &sea_orm::DatabaseConnection,
    rng: &mut StdRng,
) -> anyhow::Result<Vec<Figure>> {
    let (year, before_orders) = Year::begin(bench, rng);
    say!(
        "loading a year of {} orders ({} vendors, {} products) by a rebuild, each batch of events made as it is taken",
        year.orders,
        bench.vendors,
        bench.vendors * 3
    );
    let mut rebuild = Rebuild::begin(db).await?;
    let mut events = 0usize;
    for batch in before_orders.chunks(inbox::MAX_BATCH) {
        events += batch.len();
        rebuild.take(batch.to_vec()).await?;
    }
    let mut batch = Vec::with_capacity(inbox::MAX_BATCH + 8);
    for i in 0..year.orders {
        batch.extend(year.order(i, rng));
        if batch.len() >= inbox::MAX_BATCH {
            events += batch.len();
            rebuild.take(std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        events += batch.len();
        rebuild.take(batch).await?;
    }
    let rebuilt = rebuild.finish(&Thresholds::default()).await?;
    let rate = events as f64 / rebuilt.elapsed.as_secs_f64();
    say!(
        "rebuild: {rate:.0} events/s ({events} in {:.1} s, making them included; {} red flags)",
        rebuilt.elapsed.as_secs_f64(),
        rebuilt.red_flags
    );
    Ok(vec![Figure::new(
        format!(
            "reporting rebuild, {} orders ({events} events, their making included)",
            year.orders
        ),
        rate,
        "events/s",
    )])
}

/// The live projection applying the generated year as a backlog, then a
/// rebuild of the same events, beside the broker's bare produce and
/// consume of them.
async fn project_and_rebuild(
    bench: &ReportingBench,
    db: &sea_orm::DatabaseConnection,
    rng: &mut StdRng,
) -> anyhow::Result<Vec<Figure>> {
    let events = history(bench, rng);
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
        inbox::apply_batch(db, CONSUMER, &projection, batch).await?;
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
    let one_replica = public_figures(db).await?;
    let two_replicas = two_replicas(bench, &events).await?;

    // A rebuild of the same read model from the same events, as `blangkon
    // reporting rebuild` applies what it reads (on PostgreSQL: fresh
    // tables, order events loaded with COPY, swapped in at the end).
    let mut rebuild = Rebuild::begin(db).await?;
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

    let raw = raw_rates(bench, &events).await?;
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

    if two_replicas.figures != one_replica {
        anyhow::bail!(
            "two replicas' read model differs from one replica's: an event was applied twice or \
             lost"
        );
    }
    for line in &two_replicas.partitions {
        say!("two reporting replicas' partitions: {line}");
    }
    say!(
        "two reporting services side by side, one consumer group: {:.0} events/s end to end \
         (from the first record produced, through the broker, to the last applied), {:.2} times \
         the in-process projection's rate above (no broker); the same public figures as it",
        two_replicas.rate,
        two_replicas.rate / per_second
    );

    let broker = bench.at.kafka.as_deref().unwrap_or("embedded mock cluster");
    Ok(vec![
        Figure::new(
            "reporting, two services end to end (produce, broker, two projections)",
            two_replicas.rate,
            "events/s",
        )
        .beside(
            "one projection in the benchmark's process, no broker, same run",
            per_second,
        ),
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
    ])
}

/// Two replicas' projection of the same events into a fresh database.
struct TwoReplicas {
    rate: f64,
    figures: PublicFigures,
    /// Who held which partitions, a line per topic.
    partitions: Vec<String>,
}

const REPLICAS_DATABASE: &str = "blangkon_bench_reporting_replicas";

/// The events applied by two reporting services side by side, one consumer
/// group on the broker: both join and share the source topics'
/// partitions, then the events are produced, keyed by aggregate as the
/// services publish them, and each service applies what its partitions
/// carry. The rate runs from the first record produced to the last event
/// in the database's inbox.
async fn two_replicas(
    bench: &ReportingBench,
    events: &[ReceivedEvent],
) -> anyhow::Result<TwoReplicas> {
    let broker = super::Broker::new(bench.at.kafka.as_deref())?;
    let mut suite = broker.suite().await?;
    suite.max_connections = 10;
    let database = fresh_database(&bench.at.server, REPLICAS_DATABASE).await?;
    let measured = on_two_services(&suite, &database, events).await;
    // Dropped whatever the measurement found; failing to is only said.
    match drop_database(&bench.at.server, REPLICAS_DATABASE).await {
        Ok(admin) => admin.close().await.unwrap_or_default(),
        Err(e) => eprintln!("dropping {REPLICAS_DATABASE}: {e:#}"),
    }
    measured
}

/// Starts the two services, measures, and stops whatever started.
async fn on_two_services(
    suite: &Suite,
    database: &DatabaseSettings,
    events: &[ReceivedEvent],
) -> anyhow::Result<TwoReplicas> {
    let within = Duration::from_secs(15);
    let first = suite
        .start::<ReportingService>(suite.settings(database.url.clone(), 0))
        .await?;
    let measured = match suite
        .start::<ReportingService>(suite.settings(database.url.clone(), 0))
        .await
    {
        Ok(second) => {
            let replicas = [
                ("first", first.metrics_address()),
                ("second", second.metrics_address()),
            ];
            let measured = apply_on_two(&suite.kafka, database, &replicas, events).await;
            if let Err(e) = second.stop(within).await {
                eprintln!("{e}");
            }
            measured
        }
        Err(e) => Err(anyhow::Error::new(e).context("starting the second reporting replica")),
    };
    if let Err(e) = first.stop(within).await {
        eprintln!("{e}");
    }
    measured
}

async fn apply_on_two(
    kafka: &KafkaSettings,
    database: &DatabaseSettings,
    replicas: &[(&str, Option<std::net::SocketAddr>)],
    events: &[ReceivedEvent],
) -> anyhow::Result<TwoReplicas> {
    // Both members of the group, each with its share, before any record.
    let partitions = super::partitions::balanced(
        replicas,
        &super::partitions::topics(kafka, SOURCES),
        Duration::from_secs(60),
    )
    .await?;
    let db = blangkon_platform::db::connect(database).await?;
    let started = Instant::now();
    produce_in_order(kafka, events).await?;
    // Every event in the inbox once (its key is the event id), or the
    // replicas stopped taking them.
    let (mut applied, mut last_change) = (0, Instant::now());
    while applied < events.len() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = inbox_count(&db).await?;
        if now != applied {
            (applied, last_change) = (now, Instant::now());
        }
        anyhow::ensure!(
            last_change.elapsed() < Duration::from_secs(60),
            "two reporting replicas applied {applied} of {} events, then nothing for a minute",
            events.len()
        );
    }
    let rate = events.len() as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(
        applied == events.len(),
        "the inbox holds {applied} events, more than the {} produced",
        events.len()
    );
    let figures = public_figures(&db).await?;
    db.close().await.ok();
    Ok(TwoReplicas {
        rate,
        figures,
        partitions,
    })
}

/// Produces `events` to their topics, keyed by aggregate, in the order
/// given: a record the producer's full queue refuses is offered again
/// before the next one, so no partition's records change places. Then
/// waits for every delivery.
async fn produce_in_order(kafka: &KafkaSettings, events: &[ReceivedEvent]) -> anyhow::Result<()> {
    use prost::Message as _;
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    use rdkafka::producer::FutureRecord;
    let producer = blangkon_platform::kafka::idempotent_producer(kafka, "bench")?;
    let mut deliveries = Vec::with_capacity(events.len());
    for event in events {
        let (topic, payload) = (kafka.topic(&event.topic), event.envelope.encode_to_vec());
        let key = event.envelope.aggregate_id.as_str();
        loop {
            match producer.send_result(FutureRecord::to(&topic).key(key).payload(&payload)) {
                Ok(delivery) => {
                    deliveries.push(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }
    for delivery in deliveries {
        delivery
            .await
            .context("the producer dropped a delivery")?
            .map_err(|(e, _)| e)?;
    }
    Ok(())
}

/// Events the reporting projection's inbox holds.
async fn inbox_count(db: &sea_orm::DatabaseConnection) -> anyhow::Result<usize> {
    use sea_orm::ConnectionTrait as _;
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS n FROM inbox WHERE consumer = $1",
            [CONSUMER.into()],
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("counting the inbox answered no row"))?;
    Ok(usize::try_from(row.try_get::<i64>("", "n")?)?)
}

/// What the public reads of a read model: the summary and the
/// breakdowns by every dimension over all time, a year, a month and part
/// of a month (each kept in tables of its own).
type PublicFigures = (pb::Summary, Vec<pb::Breakdown>);

async fn public_figures(db: &sea_orm::DatabaseConnection) -> anyhow::Result<PublicFigures> {
    let api = ReportingApi::new(db.clone(), ReportingSettings::default());
    let summary = api
        .get_summary(tonic::Request::new(pb::GetSummaryRequest {}))
        .await?
        .into_inner();
    let first = (Utc::now() - Days::days(180)).date_naive().with_day(1);
    let last = first
        .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
        .and_then(|next| next.pred_opt());
    let (Some(first), Some(last)) = (first, last) else {
        anyhow::bail!("no month half a year back");
    };
    let (year, month) = (first.format("%Y"), first.format("%Y-%m"));
    let periods = [
        (String::new(), String::new()),
        (format!("{year}-01-01"), format!("{year}-12-31")),
        (format!("{month}-01"), last.format("%Y-%m-%d").to_string()),
        (format!("{month}-01"), format!("{month}-15")),
    ];
    let mut breakdowns = Vec::new();
    for (from_date, until_date) in periods {
        for dimension in 1..=10 {
            breakdowns.push(
                api.get_breakdown(tonic::Request::new(pb::GetBreakdownRequest {
                    dimension,
                    period: Some(pb::Period {
                        from_date: from_date.clone(),
                        until_date: until_date.clone(),
                    }),
                    page_size: 1_000,
                    ..Default::default()
                }))
                .await?
                .into_inner(),
            );
        }
    }
    Ok((summary, breakdowns))
}

/// The public reads over the loaded read model, each `bench.reads` times:
/// p50 and p99 printed, the p99 a figure beside the time it may take.
async fn measure_reads(
    bench: &ReportingBench,
    settings: &blangkon_platform::settings::DatabaseSettings,
) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    // Reads through the API's own code over a fresh pool.
    let api = ReportingApi::new(
        Database::connect(settings.url.expose()).await?,
        ReportingSettings::default(),
    );
    // A month half a year back, whole, and its calendar year: the periods
    // a reader picks most.
    let first = (Utc::now() - Days::days(180)).date_naive().with_day(1);
    let first = first.ok_or_else(|| anyhow::anyhow!("no first day of the month"))?;
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .ok_or_else(|| anyhow::anyhow!("no last day of the month"))?;
    let month = first.format("%Y-%m").to_string();
    let year = first.format("%Y").to_string();
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
    say!("{:<52} {:>9} {:>9}", "read", "p50 ms", "p99 ms");
    let reads = bench.reads.max(1);
    let orders = summary.transactions;
    // Each read `reads` times; its p99 a figure beside the time it may
    // take at a national year's size.
    macro_rules! time_read {
        ($label:expr, $limit_ms:expr, $call:expr) => {{
            let mut times = Vec::with_capacity(reads);
            for _ in 0..reads {
                let t = Instant::now();
                $call.await?;
                times.push(t.elapsed());
            }
            times.sort_unstable();
            let label = $label;
            say!(
                "{:<52} {:>9.2} {:>9.2}",
                label,
                ms(percentile(&times, 50.0)),
                ms(percentile(&times, 99.0))
            );
            figures.push(
                Figure::new(
                    format!("{label}, p99, {orders} transactions"),
                    ms(percentile(&times, 99.0)),
                    "ms",
                )
                .beside("the time it may take", $limit_ms),
            );
        }};
    }
    let period = Some(pb::Period {
        from_date: first.format("%Y-%m-%d").to_string(),
        until_date: last.format("%Y-%m-%d").to_string(),
    });
    time_read!(
        "GetSummary",
        20.0,
        api.get_summary(tonic::Request::new(pb::GetSummaryRequest {}))
    );
    time_read!(
        "GetBreakdown category, all time",
        20.0,
        api.get_breakdown(tonic::Request::new(pb::GetBreakdownRequest {
            dimension: pb::Dimension::Category as i32,
            ..Default::default()
        }))
    );
    time_read!(
        format!("GetBreakdown vendor, month {month}, first page (100)"),
        20.0,
        api.get_breakdown(tonic::Request::new(pb::GetBreakdownRequest {
            dimension: pb::Dimension::Vendor as i32,
            period: period.clone(),
            ..Default::default()
        }))
    );
    time_read!(
        format!("GetBreakdown vendor, year {year}, first page (100)"),
        20.0,
        api.get_breakdown(tonic::Request::new(pb::GetBreakdownRequest {
            dimension: pb::Dimension::Vendor as i32,
            period: Some(pb::Period {
                from_date: format!("{year}-01-01"),
                until_date: format!("{year}-12-31"),
            }),
            ..Default::default()
        }))
    );
    // Days of a month: summed per vendor and day, not read from the
    // month's own figures.
    time_read!(
        format!("GetBreakdown vendor, {month}-01 to 15, first page (100)"),
        20.0,
        api.get_breakdown(tonic::Request::new(pb::GetBreakdownRequest {
            dimension: pb::Dimension::Vendor as i32,
            period: Some(pb::Period {
                from_date: format!("{month}-01"),
                until_date: format!("{month}-15"),
            }),
            ..Default::default()
        }))
    );
    time_read!(
        "ListTransactions first page (50)",
        20.0,
        api.list_transactions(tonic::Request::new(pb::ListTransactionsRequest::default()))
    );
    // Twenty pages into a month (or its last page, in a smaller year): a
    // ledger read deep in the year.
    let (mut deep, mut page) = (String::new(), 1);
    while page < 20 {
        let next = api
            .list_transactions(tonic::Request::new(pb::ListTransactionsRequest {
                period: period.clone(),
                page_token: deep.clone(),
                ..Default::default()
            }))
            .await?
            .into_inner()
            .next_page_token;
        if next.is_empty() {
            break;
        }
        (deep, page) = (next, page + 1);
    }
    time_read!(
        format!("ListTransactions month {month}, page {page} (50)"),
        20.0,
        api.list_transactions(tonic::Request::new(pb::ListTransactionsRequest {
            period: period.clone(),
            page_token: deep.clone(),
            ..Default::default()
        }))
    );
    time_read!(
        "ListTransactions category katering (50)",
        20.0,
        api.list_transactions(tonic::Request::new(pb::ListTransactionsRequest {
            category_code: "katering".into(),
            ..Default::default()
        }))
    );
    time_read!(
        "ExportOcds one month (up to 1,000 releases)",
        1_000.0,
        api.export_ocds(tonic::Request::new(pb::ExportOcdsRequest {
            period: period.clone(),
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
