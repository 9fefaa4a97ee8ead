//! Rebuilds the read model from nothing: replays the domain topics from
//! their first retained record to where they end now by the rules the live
//! service applies, inbox included.
//!
//! On PostgreSQL the rebuild fills fresh tables beside the ones in use and
//! swaps them in at its end, in one transaction ([`fresh`]): until then the
//! read model in use stands untouched, and a rebuild that fails or is
//! stopped leaves it as it was. Order events, nearly all of a year's
//! records, are loaded with COPY. On SQLite (the local suite) it empties the
//! read model and replays into it, a batch a transaction.
//!
//! The service's consumer group is left alone. When the service starts
//! again it resumes from its committed offsets, which lie before the ends
//! the rebuild read to (the service was stopped first): what it reads
//! again up to there is already in the rebuilt inbox and is skipped as a
//! duplicate, and what came after is applied as usual. Analyst records are
//! not written again; analysts already have them.

mod fresh;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use blangkon_platform::inbox::{self, Applied, ReceivedEvent};
use blangkon_platform::kafka::{self, KafkaError};
use blangkon_platform::settings::KafkaSettings;
use futures::FutureExt as _;
use rdkafka::consumer::Consumer;
use rdkafka::{Message, Offset, TopicPartitionList};
use sea_orm::{DatabaseConnection, DbBackend, DbErr};

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

impl RebuildOutcome {
    fn count(&mut self, applied: Applied) {
        match applied {
            Applied::Handled => self.applied += 1,
            Applied::Duplicate => self.duplicates += 1,
            Applied::DeadLettered => self.skipped += 1,
        }
    }
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
    let mut rebuild = Rebuild::begin(db).await?;
    match replay_topics(&mut rebuild, settings).await {
        Ok(()) => rebuild.finish(red_flags).await,
        Err(e) => {
            rebuild.abandon().await;
            Err(e)
        }
    }
}

/// A rebuild under way: [`Rebuild::begin`], the events handed to
/// [`Rebuild::take`] in the order they were read, then [`Rebuild::finish`]
/// (or [`Rebuild::abandon`]).
pub struct Rebuild {
    load: Load,
    outcome: RebuildOutcome,
    /// The records the topics held when the rebuild began, for its
    /// progress.
    expected: Option<u64>,
    started: Instant,
    last_said: Instant,
}

/// Where a rebuild writes.
enum Load {
    /// Into fresh tables, swapped in at the end (PostgreSQL).
    Fresh(Box<fresh::FreshLoad>),
    /// Into the read model in use, emptied first (SQLite).
    InPlace(DatabaseConnection),
}

impl Rebuild {
    /// Starts a rebuild of `db`'s read model: fresh tables beside it on
    /// PostgreSQL; on SQLite, the read model emptied.
    pub async fn begin(db: &DatabaseConnection) -> Result<Self, RebuildError> {
        let load = if db.get_database_backend() == DbBackend::Postgres {
            Load::Fresh(Box::new(fresh::FreshLoad::begin(db).await?))
        } else {
            let txn = blangkon_platform::db::begin_write(db).await?;
            store::clear(&txn).await?;
            txn.commit().await?;
            Load::InPlace(db.clone())
        };
        Ok(Self {
            load,
            outcome: RebuildOutcome::default(),
            expected: None,
            started: Instant::now(),
            last_said: Instant::now(),
        })
    }

    /// Applies `events`, the next ones read, as a batch of the live
    /// consumer would be; each of them counts as a record read.
    pub async fn take(&mut self, events: Vec<ReceivedEvent>) -> Result<(), RebuildError> {
        self.outcome.records += events.len() as u64;
        match &mut self.load {
            Load::Fresh(load) => load.take(events, &mut self.outcome).await?,
            Load::InPlace(db) => {
                let projection = Projection::replaying();
                for applied in inbox::apply_batch(db, CONSUMER, &projection, &events).await? {
                    self.outcome.count(applied);
                }
            }
        }
        if self.last_said.elapsed() >= PROGRESS_EVERY {
            self.last_said = Instant::now();
            let rate = self.outcome.records as f64 / self.started.elapsed().as_secs_f64();
            let of = self
                .expected
                .map(|n| format!(" of about {n}"))
                .unwrap_or_default();
            tracing::info!(
                records = self.outcome.records,
                per_second = rate as u64,
                "rebuilding: {}{of} records read ({rate:.0}/s)",
                self.outcome.records
            );
        }
        Ok(())
    }

    /// Says how many records the rebuild is about to read, for its
    /// progress.
    pub fn expect(&mut self, records: u64) {
        self.expected = Some(records);
    }

    /// Counts a record read that nothing can apply (undecodable: the live
    /// consumer set it aside as a dead letter already).
    pub fn skip_undecodable(&mut self) {
        self.outcome.records += 1;
        self.outcome.skipped += 1;
    }

    /// Ends the rebuild: what waits is written, the red flags computed once
    /// over the whole rebuilt read model (the same flags as following each
    /// event, without recomputing a scope per event), and on PostgreSQL the
    /// fresh tables swapped in.
    pub async fn finish(self, red_flags: &Thresholds) -> Result<RebuildOutcome, RebuildError> {
        let mut outcome = self.outcome;
        match self.load {
            Load::Fresh(load) => load.finish(red_flags, &mut outcome).await?,
            Load::InPlace(db) => {
                let txn = blangkon_platform::db::begin_write(&db).await?;
                let flags = store::red_flags::recompute_all(&txn, red_flags).await?;
                txn.commit().await?;
                outcome.red_flags = flags.raised.len() as u64;
            }
        }
        outcome.elapsed = self.started.elapsed();
        tracing::info!(%outcome, "rebuild finished");
        Ok(outcome)
    }

    /// Gives the rebuild up. On PostgreSQL its fresh tables are dropped and
    /// the read model in use stands as it was; on SQLite the read model
    /// holds what was replayed so far.
    pub async fn abandon(self) {
        if let Load::Fresh(load) = self.load {
            load.abandon().await;
        }
    }
}

/// Reads the domain topics from their first retained record to where
/// they end now into `rebuild`, a batch of what has arrived at a time.
async fn replay_topics(
    rebuild: &mut Rebuild,
    settings: &KafkaSettings,
) -> Result<(), RebuildError> {
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
    tracing::info!(
        records = records_noted,
        "rebuilding the read model from about {records_noted} records"
    );
    rebuild.expect(records_noted.max(0) as u64);
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
            return Ok(());
        }
        let wait = if settling_since.is_some() {
            SETTLE
        } else {
            STALL
        };
        let message = match tokio::time::timeout(wait, consumer.recv()).await {
            Ok(message) => message?,
            Err(_) if settling_since.is_some() => return Ok(()),
            Err(_) => return Err(RebuildError::Stalled(STALL, remaining.len())),
        };
        // What else has arrived joins it: a batch as the live consumer
        // takes them.
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
                    rebuild.skip_undecodable();
                }
            }
        }
        rebuild.take(events).await?;
    }
}
