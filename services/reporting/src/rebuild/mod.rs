//! Rebuilds the read model from nothing: empties it and replays the domain
//! topics from their first retained record to where they end now through
//! the same projection, inbox included, that the live service runs.
//!
//! The service's consumer group is left alone. When the service starts
//! again it resumes from its committed offsets, which lie before the ends
//! the rebuild read to (the service was stopped first): what it reads
//! again up to there is already in the rebuilt inbox and is skipped as a
//! duplicate, and what came after is applied as usual. Analyst records are
//! not written again; analysts already have them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use blangkon_platform::inbox::{self, Applied, ReceivedEvent};
use blangkon_platform::kafka::{self, KafkaError};
use blangkon_platform::settings::KafkaSettings;
use futures::FutureExt as _;
use rdkafka::consumer::Consumer;
use rdkafka::{Message, Offset, TopicPartitionList};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};

use crate::domain::red_flags::Thresholds;
use crate::projection::{CONSUMER, Projection, SOURCES};
use crate::settings::Settings;
use crate::store::{self, migrations::Migrator};

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(transparent)]
    Setup(#[from] blangkon_platform::db::DbError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("no record arrived for {0:?} while {1} partitions were unfinished")]
    Stalled(Duration, usize),
}

/// What a rebuild read and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildOutcome {
    pub records: u64,
    pub applied: u64,
    /// Records whose event id had been applied already (a topic may hold an
    /// event twice: the outbox relay may publish again after a failure).
    pub duplicates: u64,
    /// Records nothing can apply: undecodable, or set aside as dead
    /// letters (of the rebuilt database) when the projection refused them.
    pub skipped: u64,
    /// Red flags raised over the rebuilt read model.
    pub red_flags: u64,
    pub elapsed: Duration,
}

impl std::fmt::Display for RebuildOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rebuilt the read model from {} records in {:.1} s: {} applied, {} duplicates, {} skipped; {} red flags",
            self.records,
            self.elapsed.as_secs_f64(),
            self.applied,
            self.duplicates,
            self.skipped,
            self.red_flags
        )
    }
}

/// How long the rebuild waits for a record it knows exists.
const STALL: Duration = Duration::from_secs(30);
/// Past the noted ends: the quiet that ends the rebuild, and how long it
/// reads on at most when the topics never fall quiet.
const SETTLE: Duration = Duration::from_secs(2);
const SETTLE_AT_MOST: Duration = Duration::from_secs(30);
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a rebuild says how far it has got.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The whole command, as `blangkon-reporting rebuild` and `blangkon
/// reporting rebuild` run it: connect to the configured database, bring its
/// schema up to date, rebuild.
pub async fn rebuild_configured(settings: &Settings) -> Result<RebuildOutcome, RebuildError> {
    let db = blangkon_platform::db::connect(&settings.platform.database).await?;
    blangkon_platform::db::migrate::<Migrator>(&db).await?;
    let outcome = rebuild(&db, &settings.platform.kafka, &settings.service.red_flags).await;
    db.close().await.ok();
    outcome
}

pub async fn rebuild(
    db: &DatabaseConnection,
    settings: &KafkaSettings,
    red_flags: &Thresholds,
) -> Result<RebuildOutcome, RebuildError> {
    let started = Instant::now();
    let txn = db.begin().await?;
    store::clear(&txn).await?;
    txn.commit().await?;

    // A reader of its own: partitions are assigned, nothing is committed.
    let group = format!(
        "{}.{CONSUMER}-rebuild-{}",
        settings.consumer_group_prefix,
        uuid::Uuid::new_v4().simple()
    );
    let consumer = kafka::consumer(settings, &group, kafka::PartitionLags::default())?;
    // Where each partition ends now: the rebuild reads up to there.
    let mut assignment = TopicPartitionList::new();
    let mut remaining: HashMap<(String, i32), i64> = HashMap::new();
    let mut records_noted = 0i64;
    for topic in SOURCES {
        let topic = settings.topic(topic);
        let topic = topic.as_str();
        let metadata = consumer.fetch_metadata(Some(topic), METADATA_TIMEOUT)?;
        for t in metadata.topics() {
            for p in t.partitions() {
                let (low, high) = consumer.fetch_watermarks(topic, p.id(), METADATA_TIMEOUT)?;
                tracing::debug!(topic, partition = p.id(), low, high, "replaying");
                assignment.add_partition_offset(topic, p.id(), Offset::Beginning)?;
                if high > low {
                    remaining.insert((topic.to_string(), p.id()), high);
                    records_noted += high - low;
                }
            }
        }
    }
    let total = records_noted;
    let mut outcome = RebuildOutcome::default();
    let projection = Projection::replaying();
    let mut last_said = Instant::now();
    consumer.assign(&assignment)?;
    // Read to the ends noted above, then on until the topics are quiet for
    // a moment: some brokers (tansu) answer a high watermark short of the
    // last record, and what arrived meanwhile is welcome too. Applying an
    // event the live service will read again is harmless: the inbox skips it.
    let mut settling_since: Option<Instant> = None;
    loop {
        if remaining.is_empty() && settling_since.is_none() {
            settling_since = Some(Instant::now());
        }
        if settling_since.is_some_and(|since| since.elapsed() >= SETTLE_AT_MOST) {
            break;
        }
        let wait = if settling_since.is_some() {
            SETTLE
        } else {
            STALL
        };
        let message = match tokio::time::timeout(wait, consumer.recv()).await {
            Ok(message) => message?,
            Err(_) if settling_since.is_some() => break,
            Err(_) => return Err(RebuildError::Stalled(STALL, remaining.len())),
        };
        // What else has arrived joins it: a transaction per batch, as the
        // live consumer applies them.
        let mut batch = vec![message];
        while batch.len() < inbox::MAX_BATCH {
            match consumer.recv().now_or_never() {
                Some(message) => batch.push(message?),
                None => break,
            }
        }
        let mut events = Vec::with_capacity(batch.len());
        for message in &batch {
            let key = (message.topic().to_string(), message.partition());
            if remaining
                .get(&key)
                .is_some_and(|&end| message.offset() + 1 >= end)
            {
                remaining.remove(&key);
            }
            outcome.records += 1;
            match inbox::decode(message.payload()) {
                Ok(envelope) => events.push(ReceivedEvent {
                    envelope,
                    topic: key.0,
                    partition: key.1,
                    offset: message.offset(),
                }),
                Err(reason) => {
                    // The live consumer set it aside as a dead letter already.
                    tracing::error!(topic = %key.0, partition = key.1, offset = message.offset(), %reason, "undecodable record skipped");
                    outcome.skipped += 1;
                }
            }
        }
        for applied in inbox::apply_batch(db, CONSUMER, &projection, &events).await? {
            match applied {
                Applied::Handled => outcome.applied += 1,
                Applied::Duplicate => outcome.duplicates += 1,
                Applied::DeadLettered => outcome.skipped += 1,
            }
        }
        if last_said.elapsed() >= PROGRESS_EVERY {
            last_said = Instant::now();
            let rate = outcome.records as f64 / started.elapsed().as_secs_f64();
            tracing::info!(
                records = outcome.records,
                of = total,
                per_second = rate as u64,
                "rebuilding: {} of about {total} records read ({rate:.0}/s)",
                outcome.records
            );
        }
    }
    // The red flags once, over the whole rebuilt read model: the same
    // flags as following each event, without recomputing a scope per event.
    let txn = blangkon_platform::db::begin_write(db).await?;
    let flags = store::red_flags::recompute_all(&txn, red_flags).await?;
    txn.commit().await?;
    outcome.red_flags = flags.raised.len() as u64;
    outcome.elapsed = started.elapsed();
    tracing::info!(%outcome, "rebuild finished");
    Ok(outcome)
}
