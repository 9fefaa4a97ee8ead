//! Inbox consumer: applies events from Kafka effectively once.
//!
//! The consumer takes the records that wait for it (one, when it keeps up;
//! up to [`MAX_BATCH`] when it falls behind), opens one transaction,
//! records their event ids in the `inbox` table in one statement and lets
//! the handler change its read model in that same transaction. A
//! redelivered event finds its id already recorded and is skipped. The
//! Kafka offsets are stored only after the commit, so a crash between the
//! two redelivers the events instead of losing them. A batch the handler
//! cannot apply as a whole (an event it refuses for good) is rolled back
//! and applied again one event at a time, so that only the refused event
//! is set aside as a dead letter.

use std::sync::Arc;
use std::time::Duration;

use blangkon_proto::events::EventEnvelope;
use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use prost::Message as _;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Headers};
use sea_orm::{ActiveValue::Set, DatabaseConnection, DatabaseTransaction, DbErr};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::db;
use crate::dead_letters::{self, DeadLetter, SetAside};
use crate::kafka::{self, GroupConsumer, KafkaError, PartitionLags};
use crate::metrics::ConsumerMetrics;
use crate::retry::Backoff;
use crate::settings::KafkaSettings;

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "inbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub consumer: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub topic: String,
        pub partition: i32,
        pub offset: i64,
        pub processed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An event as a handler sees it.
#[derive(Debug, Clone)]
pub struct ReceivedEvent {
    pub envelope: EventEnvelope,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl ReceivedEvent {
    /// The event's message as an `M`. An envelope without one, or with
    /// bytes that are not an `M`, is [`HandlerError::Unusable`]: no retry
    /// would read it differently.
    pub fn message<M: prost::Name + Default>(&self) -> Result<M, HandlerError> {
        let Some(payload) = &self.envelope.payload else {
            return Err(HandlerError::Unusable("event without payload".into()));
        };
        payload
            .to_msg()
            .map_err(|e| HandlerError::Unusable(e.to_string()))
    }

    /// When the event happened, by its producer's clock; now, for an
    /// envelope that does not say.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.envelope
            .occurred_at
            .as_ref()
            .and_then(crate::time::from_timestamp)
            .unwrap_or_else(Utc::now)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// From the database: retried when another try may pass (it was
    /// busy, a connection dropped), set aside when the database refused
    /// the change for good (a value too long, a broken constraint).
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// Retrying will not help: the event is set aside as a dead letter.
    #[error("unusable event: {0}")]
    Unusable(String),
}

/// What a service does with the events it consumes, inside the inbox
/// transaction. A handler that applies events one at a time implements
/// [`EachEvent`] instead, and is an `EventHandler` through it.
#[async_trait::async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Applies `events`, each new to the inbox, in the order they were
    /// delivered, in one transaction (one event when the consumer keeps
    /// up, or retries a batch one event at a time). The state it leaves
    /// must be what handling them one by one would leave (records for a
    /// stream compacted by key may keep only each key's last). An error
    /// leaves nothing of the batch: the consumer then applies its events
    /// one at a time, so that an event refused for good is set aside alone.
    async fn handle_batch(
        &self,
        txn: &DatabaseTransaction,
        events: &[ReceivedEvent],
    ) -> Result<(), HandlerError>;
}

/// A handler that applies one event at a time: a batch is its events in
/// turn.
#[async_trait::async_trait]
pub trait EachEvent: Send + Sync + 'static {
    /// Applies one event.
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError>;
}

#[async_trait::async_trait]
impl<T: EachEvent> EventHandler for T {
    async fn handle_batch(
        &self,
        txn: &DatabaseTransaction,
        events: &[ReceivedEvent],
    ) -> Result<(), HandlerError> {
        for event in events {
            self.handle(txn, event).await?;
        }
        Ok(())
    }
}

/// Outcome of applying one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The handler ran and its changes are committed.
    Handled,
    /// The event id was already in the inbox; nothing changed.
    Duplicate,
    /// The event cannot be applied as it is: it was set aside as a dead
    /// letter, with none of the handler's changes.
    DeadLettered,
}

/// What one try to apply an event came to, when it did not fail in a way
/// another try may get past.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    Handled,
    Duplicate,
    /// Refused for good, for this reason.
    Refused(String),
}

/// Applies `event` once: records it in the inbox and runs `handler` in the
/// same transaction. An event that cannot be applied as it is (not valid,
/// refused by the handler, or by the database for good) is set aside as a
/// dead letter instead, and the consumer moves on; an error that may pass
/// (the database unreachable, a conflict) is returned for the caller to
/// retry. Public so that rebuilds and tests use the same path as the
/// Kafka loop.
pub async fn apply(
    db: &DatabaseConnection,
    consumer_name: &str,
    handler: &dyn EventHandler,
    event: &ReceivedEvent,
) -> Result<Applied, DbErr> {
    match attempt(db, consumer_name, handler, event, None).await? {
        Attempt::Handled => Ok(Applied::Handled),
        Attempt::Duplicate => Ok(Applied::Duplicate),
        Attempt::Refused(reason) => {
            tracing::error!(
                consumer = consumer_name,
                event_id = %event.envelope.event_id,
                event_type = %event.envelope.event_type,
                %reason,
                "event set aside as a dead letter"
            );
            let envelope = &event.envelope;
            dead_letters::set_aside(
                db,
                SetAside {
                    consumer: consumer_name.to_string(),
                    topic: event.topic.clone(),
                    partition: event.partition,
                    offset: event.offset,
                    event_id: envelope.event_id.clone(),
                    event_type: envelope.event_type.clone(),
                    record: envelope.encode_to_vec(),
                    reason,
                },
            )
            .await?;
            Ok(Applied::DeadLettered)
        }
    }
}

/// Applies `events` (in delivery order) each once, in one transaction:
/// their ids recorded in the inbox a statement per [`MAX_BATCH`], the new
/// ones handed to
/// [`EventHandler::handle_batch`] together, committed together. When the
/// batch cannot be applied as a whole (an event not valid, refused by the
/// handler or by the database for good) nothing of it is kept and each
/// event goes through [`apply`] instead, so that exactly the events that
/// cannot be applied become dead letters. An error that may pass is
/// returned for the caller to retry (the consumer retries one event at a
/// time, with [`apply_each`]). Answers an outcome per event, in order.
pub async fn apply_batch(
    db: &DatabaseConnection,
    consumer_name: &str,
    handler: &dyn EventHandler,
    events: &[ReceivedEvent],
) -> Result<Vec<Applied>, DbErr> {
    if events.len() > 1 && events.iter().all(|e| check(&e.envelope).is_ok()) {
        match try_batch(db, consumer_name, handler, events).await {
            Ok(applied) => return Ok(applied),
            Err(HandlerError::Db(e)) if !db::refused_for_good(&e) => return Err(e),
            Err(refused) => {
                tracing::debug!(consumer = consumer_name, events = events.len(), reason = %refused, "batch refused; applying its events one by one");
            }
        }
    }
    apply_each(db, consumer_name, handler, events).await
}

/// [`apply`] for each of `events` in turn.
pub async fn apply_each(
    db: &DatabaseConnection,
    consumer_name: &str,
    handler: &dyn EventHandler,
    events: &[ReceivedEvent],
) -> Result<Vec<Applied>, DbErr> {
    let mut applied = Vec::with_capacity(events.len());
    for event in events {
        applied.push(apply(db, consumer_name, handler, event).await?);
    }
    Ok(applied)
}

async fn try_batch(
    db: &DatabaseConnection,
    consumer_name: &str,
    handler: &dyn EventHandler,
    events: &[ReceivedEvent],
) -> Result<Vec<Applied>, HandlerError> {
    let txn = db::begin_write(db).await?;
    let new = match record_all(&txn, consumer_name, events).await {
        Ok(new) => new,
        Err(e) => {
            txn.rollback().await.ok();
            return Err(e.into());
        }
    };
    let fresh: Vec<ReceivedEvent> = events
        .iter()
        .zip(&new)
        .filter(|(_, new)| **new)
        .map(|(event, _)| event.clone())
        .collect();
    if fresh.is_empty() {
        txn.rollback().await?;
    } else {
        match handler.handle_batch(&txn, &fresh).await {
            Ok(()) => txn.commit().await?,
            Err(e) => {
                txn.rollback().await?;
                return Err(e);
            }
        }
    }
    Ok(new
        .into_iter()
        .map(|new| {
            if new {
                Applied::Handled
            } else {
                Applied::Duplicate
            }
        })
        .collect())
}

/// One try: the event checked, recorded and handled in one transaction,
/// which also marks the dead letter `resolves` resolved when the event is
/// a replay of one (so a letter is never seen applied but unresolved).
/// `Err` only for a failure another try may get past.
async fn attempt(
    db: &DatabaseConnection,
    consumer_name: &str,
    handler: &dyn EventHandler,
    event: &ReceivedEvent,
    resolves: Option<i64>,
) -> Result<Attempt, DbErr> {
    if let Err(reason) = check(&event.envelope) {
        return Ok(Attempt::Refused(reason));
    }
    match try_once(db, consumer_name, handler, event, resolves).await {
        Ok(attempt) => Ok(attempt),
        Err(HandlerError::Unusable(reason)) => Ok(Attempt::Refused(reason)),
        Err(HandlerError::Db(e)) if db::refused_for_good(&e) => {
            Ok(Attempt::Refused(format!("the database refused it: {e}")))
        }
        Err(HandlerError::Db(e)) => Err(e),
    }
}

async fn try_once(
    db: &DatabaseConnection,
    consumer_name: &str,
    handler: &dyn EventHandler,
    event: &ReceivedEvent,
    resolves: Option<i64>,
) -> Result<Attempt, HandlerError> {
    let txn = db::begin_write(db).await?;
    if !record(&txn, consumer_name, event).await? {
        txn.rollback().await?;
        return Ok(Attempt::Duplicate);
    }
    match handler
        .handle_batch(&txn, std::slice::from_ref(event))
        .await
    {
        Ok(()) => {
            if let Some(letter) = resolves {
                dead_letters::resolved(&txn, letter).await?;
            }
            txn.commit().await?;
            Ok(Attempt::Handled)
        }
        Err(e) => {
            // None of the handler's partial work, and no inbox row: a
            // replay of the dead letter applies it afresh.
            txn.rollback().await?;
            Err(e)
        }
    }
}

/// Longest event type an envelope may name.
const MAX_EVENT_TYPE: usize = 200;

/// A record's value as an event envelope, or why it is none: every event
/// the suite publishes has a UUID for its id (what consumers deduplicate
/// on: an empty one would make every later empty one a duplicate) and
/// names its type.
pub fn decode(record: Option<&[u8]>) -> Result<EventEnvelope, String> {
    let bytes = record.ok_or("a record without a value")?;
    let envelope =
        EventEnvelope::decode(bytes).map_err(|e| format!("not an event envelope: {e}"))?;
    check(&envelope)?;
    Ok(envelope)
}

/// Whether `envelope` is one an inbox can record; why not, if not.
fn check(envelope: &EventEnvelope) -> Result<(), String> {
    if uuid::Uuid::try_parse(&envelope.event_id).is_err() {
        return Err("event_id must be a UUID".into());
    }
    let event_type = &envelope.event_type;
    if event_type.is_empty() || event_type.len() > MAX_EVENT_TYPE {
        return Err(format!(
            "event_type must name the event in 1 to {MAX_EVENT_TYPE} bytes"
        ));
    }
    Ok(())
}

/// Records each of `events` as consumed by `consumer_name` with one COPY
/// (PostgreSQL, see [`crate::bulk`]): for filling an inbox that holds none
/// of them, as a rebuild into fresh tables does. An event recorded already
/// fails the whole COPY, which records none.
pub async fn record_copied<'a>(
    pool: &sea_orm::sqlx::PgPool,
    consumer_name: &str,
    events: impl IntoIterator<Item = &'a ReceivedEvent>,
) -> Result<u64, DbErr> {
    let now = Utc::now();
    let rows: Vec<entity::Model> = events
        .into_iter()
        .map(|event| entity::Model {
            consumer: consumer_name.to_string(),
            event_id: event.envelope.event_id.clone(),
            topic: event.topic.clone(),
            partition: event.partition,
            offset: event.offset,
            processed_at: now,
        })
        .collect();
    crate::bulk::copy_models::<entity::Entity>(pool, rows).await
}

/// Records `event` as consumed by `consumer_name`; false if it already was.
async fn record(
    txn: &DatabaseTransaction,
    consumer_name: &str,
    event: &ReceivedEvent,
) -> Result<bool, DbErr> {
    let row = entity::ActiveModel {
        consumer: Set(consumer_name.to_string()),
        event_id: Set(event.envelope.event_id.clone()),
        topic: Set(event.topic.clone()),
        partition: Set(event.partition),
        offset: Set(event.offset),
        processed_at: Set(Utc::now()),
    };
    let key = [entity::Column::Consumer, entity::Column::EventId];
    db::upsert(txn, row, key, []).await
}

/// Records `events` as consumed by `consumer_name` in one statement, and
/// answers for each whether it is new: not recorded before, nor earlier in
/// `events` (a broker may deliver a record twice).
async fn record_all(
    txn: &DatabaseTransaction,
    consumer_name: &str,
    events: &[ReceivedEvent],
) -> Result<Vec<bool>, DbErr> {
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{OnConflict, Query};
    use std::collections::HashSet;

    let mut first = HashSet::with_capacity(events.len());
    let is_first: Vec<bool> = events
        .iter()
        .map(|e| first.insert(e.envelope.event_id.as_str()))
        .collect();
    let now = Utc::now();
    let mut inserted: HashSet<String> = HashSet::with_capacity(events.len());
    let unique: Vec<&ReceivedEvent> = events
        .iter()
        .zip(&is_first)
        .filter_map(|(event, first)| first.then_some(event))
        .collect();
    // Six values a row: well under PostgreSQL's 65,535 parameters.
    for chunk in unique.chunks(MAX_BATCH) {
        use entity::Column as C;
        let mut insert = Query::insert();
        insert
            .into_table(entity::Entity)
            .columns([
                C::Consumer,
                C::EventId,
                C::Topic,
                C::Partition,
                C::Offset,
                C::ProcessedAt,
            ])
            .on_conflict(
                OnConflict::columns([C::Consumer, C::EventId])
                    .do_nothing()
                    .to_owned(),
            )
            .returning_col(C::EventId);
        for event in chunk {
            insert
                .values([
                    consumer_name.into(),
                    event.envelope.event_id.clone().into(),
                    event.topic.clone().into(),
                    event.partition.into(),
                    event.offset.into(),
                    now.into(),
                ])
                .map_err(|e| DbErr::Custom(e.to_string()))?;
        }
        let statement = txn.get_database_backend().build(&insert);
        for row in txn.query_all_raw(statement).await? {
            inserted.insert(row.try_get("", "event_id")?);
        }
    }
    Ok(events
        .iter()
        .zip(is_first)
        .map(|(event, first)| first && inserted.contains(&event.envelope.event_id))
        .collect())
}

/// The most records a consumer applies in one transaction.
pub const MAX_BATCH: usize = 500;

/// The wait after a first failed try to apply a record, and the longest.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_LONGEST: Duration = Duration::from_secs(10);

/// How often a consumer looks for dead letters an operator asked to
/// replay, and how many it takes a round.
const REPLAY_CHECK: Duration = Duration::from_secs(5);
const REPLAYS_PER_ROUND: u64 = 100;

/// How long a consumer may receive nothing before it checks whether
/// records wait on its partitions.
const STALL_CHECK: Duration = Duration::from_secs(10);

/// Receive errors in a row (about half a second apart) after which the
/// consumer is replaced even without a fatal error.
const REJOIN_AFTER_RECEIVE_ERRORS: u32 = 60;

/// A consumer-group member feeding one handler. It watches itself: a
/// consumer that receives nothing for two checks in a row while records
/// wait for its group and the group commits nothing (no other member
/// takes them either), or whose client failed fatally, leaves the group
/// and joins it again with a new client, resuming from the committed
/// offsets (the inbox keeps every effect once). Replicas that hold no
/// partitions while another applies records see the group commit, and
/// stay put.
pub struct InboxConsumer {
    name: String,
    db: DatabaseConnection,
    consumer: Arc<GroupConsumer>,
    /// What its clients report of their lag; shared across rejoins.
    lags: PartitionLags,
    handler: Arc<dyn EventHandler>,
    settings: KafkaSettings,
    group: String,
    /// Named with `kafka.topic_prefix`.
    topics: Vec<String>,
    counts: Option<ConsumerMetrics>,
}

impl std::fmt::Debug for InboxConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxConsumer")
            .field("name", &self.name)
            .finish()
    }
}

impl InboxConsumer {
    /// `name` identifies the consumer in the inbox table; its consumer group
    /// is `<kafka.consumer_group_prefix>.<name>`; `topics` are named without
    /// `kafka.topic_prefix`.
    pub fn new(
        name: &str,
        db: DatabaseConnection,
        settings: &KafkaSettings,
        topics: &[&str],
        handler: Arc<dyn EventHandler>,
    ) -> Result<Self, KafkaError> {
        let group = format!("{}.{name}", settings.consumer_group_prefix);
        let topics: Vec<String> = topics.iter().map(|t| settings.topic(t)).collect();
        let lags = PartitionLags::default();
        let consumer = subscribed(settings, &group, &topics, &lags)?;
        Ok(Self {
            name: name.to_string(),
            db,
            consumer: Arc::new(consumer),
            lags,
            handler,
            settings: settings.clone(),
            group,
            topics,
            counts: None,
        })
    }

    /// Counts what becomes of each record into `counts`, and reports its
    /// lag there.
    pub fn counted(mut self, counts: ConsumerMetrics) -> Self {
        counts.watch_lag(&self.name, self.lags.clone());
        self.counts = Some(counts);
        self
    }

    fn count(&self, outcome: &str) {
        if let Some(counts) = &self.counts {
            let labels = [
                ("consumer", self.name.clone()),
                ("outcome", outcome.to_string()),
            ];
            counts.events.get_or_create(&labels).inc();
        }
    }

    /// Consumes until `shutdown`, then commits the stored offsets once more.
    pub async fn run(mut self, shutdown: CancellationToken) {
        // The group's progress at the last check, while nothing arrived.
        let mut waiting_before: Option<kafka::GroupProgress> = None;
        let mut receive_errors = 0u32;
        let mut rejoined = false;
        let mut replays = tokio::time::interval(REPLAY_CHECK);
        replays.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Restarted by whatever the consumer receives (a record, an error)
        // and by each check; a replay round leaves it running.
        let idle = tokio::time::sleep(STALL_CHECK);
        tokio::pin!(idle);
        loop {
            let mut replay_round = false;
            let rejoin = tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = replays.tick() => {
                    replay_round = true;
                    None
                }
                message = self.consumer.recv() => match message {
                    Ok(message) => {
                        (waiting_before, receive_errors) = (None, 0);
                        if std::mem::take(&mut rejoined) {
                            tracing::warn!(consumer = %self.name, "consumer receiving again after rejoining its group");
                        }
                        // What else waits already joins this record's
                        // transaction: one when the consumer keeps up, up
                        // to a batch when it has fallen behind. Nothing is
                        // waited for.
                        let mut batch = vec![message];
                        while batch.len() < MAX_BATCH {
                            match self.consumer.recv().now_or_never() {
                                Some(Ok(next)) => batch.push(next),
                                Some(Err(e)) => {
                                    tracing::warn!(consumer = %self.name, error = %e, "kafka receive failed");
                                    break;
                                }
                                None => break,
                            }
                        }
                        if !self.process(&batch, &shutdown).await {
                            break;
                        }
                        None
                    }
                    Err(e) => {
                        receive_errors += 1;
                        tracing::warn!(consumer = %self.name, error = %e, "kafka receive failed");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        self.failed_client(receive_errors)
                    }
                },
                _ = &mut idle => {
                    let now = self.progress().await;
                    if now.waiting > 0 {
                        tracing::info!(consumer = %self.name, waiting = now.waiting, "nothing received for a while though records wait");
                    }
                    let stalled = now.waiting > 0
                        && waiting_before.is_some_and(|before| before.committed == now.committed);
                    waiting_before = (now.waiting > 0).then_some(now);
                    stalled.then(|| {
                        format!(
                            "{} records wait for its group, which committed nothing for {}s",
                            now.waiting,
                            2 * STALL_CHECK.as_secs()
                        )
                    })
                }
            };
            if replay_round {
                self.replay_requested().await;
            } else {
                idle.as_mut()
                    .reset(tokio::time::Instant::now() + STALL_CHECK);
            }
            if let Some(reason) = rejoin {
                rejoined |= self.rejoin(&reason);
                (waiting_before, receive_errors) = (None, 0);
            }
        }
        // A synchronous commit waits for the broker: not on a runtime thread.
        let consumer = self.consumer.clone();
        let committed =
            tokio::task::spawn_blocking(move || consumer.commit_consumer_state(CommitMode::Sync))
                .await;
        if let Ok(Err(e)) = committed {
            // Nothing stored since the last commit is also an error here.
            tracing::debug!(consumer = %self.name, error = %e, "final offset commit");
        }
    }

    /// Why the client must be replaced after a receive error, if it must:
    /// librdkafka declared it fatally failed, or it failed too often.
    fn failed_client(&self, receive_errors: u32) -> Option<String> {
        if let Some((code, message)) = self.consumer.client().fatal_error() {
            return Some(format!("fatal consumer error {code:?}: {message}"));
        }
        (receive_errors >= REJOIN_AFTER_RECEIVE_ERRORS)
            .then(|| format!("{receive_errors} receive errors in a row"))
    }

    /// How far the group has got through its topics (nothing waiting when
    /// that cannot be told: the broker is not answering, which the receive
    /// errors report).
    async fn progress(&self) -> kafka::GroupProgress {
        let (consumer, topics) = (self.consumer.clone(), self.topics.clone());
        let counted =
            tokio::task::spawn_blocking(move || kafka::group_progress(&consumer, &topics)).await;
        match counted {
            Ok(Ok(progress)) => progress,
            Ok(Err(e)) => {
                tracing::debug!(consumer = %self.name, error = %e, "cannot tell the group's progress");
                kafka::GroupProgress::default()
            }
            Err(_) => kafka::GroupProgress::default(),
        }
    }

    /// Leaves the group and joins it again with a new client, which
    /// resumes from the committed offsets. Answers whether it did.
    fn rejoin(&mut self, reason: &str) -> bool {
        tracing::error!(consumer = %self.name, %reason, "consumer stalled; rejoining its group with a new client");
        let fresh = match subscribed(&self.settings, &self.group, &self.topics, &self.lags) {
            Ok(fresh) => fresh,
            Err(e) => {
                tracing::error!(consumer = %self.name, error = %e, "cannot make a new consumer; keeping the old one");
                return false;
            }
        };
        let old = std::mem::replace(&mut self.consumer, Arc::new(fresh));
        if let Some(counts) = &self.counts {
            counts
                .rejoins
                .get_or_create(&[("consumer", self.name.clone())])
                .inc();
        }
        // Committing and leaving the group block: not on the runtime's threads.
        tokio::task::spawn_blocking(move || {
            let _ = old.commit_consumer_state(CommitMode::Sync);
            drop(old);
        });
        true
    }

    /// Applies a batch of records, retrying failures that may pass until
    /// they do or shutdown comes; a record that cannot be applied is set
    /// aside as a dead letter. Stores the batch's offsets once it is
    /// applied. Returns false on shutdown.
    async fn process(
        &self,
        messages: &[BorrowedMessage<'_>],
        shutdown: &CancellationToken,
    ) -> bool {
        let mut events = Vec::with_capacity(messages.len());
        for message in messages {
            match decode(message.payload()) {
                Ok(envelope) => events.push(ReceivedEvent {
                    envelope,
                    topic: message.topic().to_string(),
                    partition: message.partition(),
                    offset: message.offset(),
                }),
                Err(reason) => {
                    if !self.set_aside_undecodable(message, reason, shutdown).await {
                        return false;
                    }
                }
            }
        }
        if !events.is_empty() {
            let span = self.consume_span(messages, &events);
            // A batch that failed is tried again one event at a time: the
            // slower way, which no batch-sized limit can stop.
            let mut tried = false;
            let applied = self
                .retrying(shutdown, "events not applied", || {
                    let one_by_one = std::mem::replace(&mut tried, true);
                    let (db, name, handler) = (&self.db, &self.name, self.handler.as_ref());
                    let events = &events;
                    async move {
                        if one_by_one {
                            apply_each(db, name, handler, events).await
                        } else {
                            apply_batch(db, name, handler, events).await
                        }
                    }
                    .instrument(span.clone())
                })
                .await;
            let Some(applied) = applied else {
                return false;
            };
            tracing::debug!(parent: &span, events = applied.len(), "events applied");
            for outcome in applied {
                self.count(match outcome {
                    Applied::Handled => "applied",
                    Applied::Duplicate => "duplicate",
                    Applied::DeadLettered => "dead_lettered",
                });
            }
        }
        for message in messages {
            self.store_offset(message);
        }
        true
    }

    /// The span a batch is applied in: the event's own, for a batch of
    /// one; the batch's size and first event otherwise. Either continues
    /// the trace of the first record's producer.
    fn consume_span(
        &self,
        messages: &[BorrowedMessage<'_>],
        events: &[ReceivedEvent],
    ) -> tracing::Span {
        let first = &events[0].envelope;
        let span = tracing::info_span!(
            "consume",
            consumer = %self.name,
            event_type = %first.event_type,
            event_id = %first.event_id,
            events = events.len(),
            otel.kind = "consumer",
        );
        let producer = messages.iter().find(|m| {
            (m.partition(), m.offset()) == (events[0].partition, events[0].offset)
                && m.topic() == events[0].topic
        });
        if let Some(headers) = producer.and_then(|m| m.headers()) {
            let pairs: Vec<(&str, &str)> = headers
                .iter()
                .filter_map(|h| Some((h.key, std::str::from_utf8(h.value?).ok()?)))
                .collect();
            crate::telemetry::set_parent_from(&span, pairs.into_iter());
        }
        span
    }

    /// Sets aside a record that is no event the suite could have published:
    /// nothing can apply it. Returns false on shutdown.
    async fn set_aside_undecodable(
        &self,
        message: &BorrowedMessage<'_>,
        reason: String,
        shutdown: &CancellationToken,
    ) -> bool {
        tracing::error!(
            consumer = %self.name,
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            %reason,
            "undecodable record set aside as a dead letter"
        );
        let letter = SetAside {
            consumer: self.name.clone(),
            topic: message.topic().to_string(),
            partition: message.partition(),
            offset: message.offset(),
            event_id: String::new(),
            event_type: String::new(),
            record: message.payload().unwrap_or_default().to_vec(),
            reason,
        };
        let set_aside = self
            .retrying(shutdown, "record not set aside", || {
                dead_letters::set_aside(&self.db, letter.clone())
            })
            .await;
        if set_aside.is_none() {
            return false;
        }
        self.count("dead_lettered");
        true
    }

    /// Runs `step` until it passes, waiting out its failures with backoff;
    /// `None` when shutdown comes first.
    async fn retrying<T, F, Fut>(
        &self,
        shutdown: &CancellationToken,
        failed: &'static str,
        mut step: F,
    ) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        let mut backoff = Backoff::new(RETRY_FIRST, RETRY_LONGEST);
        loop {
            match step().await {
                Ok(done) => return Some(done),
                Err(e) => {
                    let wait = backoff.next_delay();
                    tracing::warn!(consumer = %self.name, error = %e, retry_in_ms = wait.as_millis() as u64, "{failed}; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return None,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    /// Applies again the dead letters an operator asked to replay: each
    /// through the inbox, so one already applied is not applied twice. One
    /// applied is resolved; one refused again keeps waiting, with the new
    /// reason. A failure that may pass leaves the rest for the next round.
    async fn replay_requested(&self) {
        let requested = match dead_letters::replays_requested(
            &self.db,
            &self.name,
            REPLAYS_PER_ROUND,
        )
        .await
        {
            Ok(requested) => requested,
            Err(e) => {
                tracing::debug!(consumer = %self.name, error = %e, "cannot read the replays asked for");
                return;
            }
        };
        for letter in requested {
            if let Err(e) = self.replay(&letter).await {
                tracing::warn!(consumer = %self.name, dead_letter = letter.id, error = %e, "replay not done; trying again next round");
                return;
            }
        }
    }

    async fn replay(&self, letter: &DeadLetter) -> Result<(), DbErr> {
        let outcome = match decode(Some(&letter.record)) {
            Ok(envelope) => {
                let event = ReceivedEvent {
                    envelope,
                    topic: letter.topic.clone(),
                    partition: letter.partition,
                    offset: letter.offset,
                };
                let handler = self.handler.as_ref();
                attempt(&self.db, &self.name, handler, &event, Some(letter.id)).await?
            }
            Err(reason) => Attempt::Refused(reason),
        };
        match outcome {
            Attempt::Handled => {
                tracing::info!(consumer = %self.name, dead_letter = letter.id, "dead letter replayed and applied");
                self.count("replayed");
            }
            Attempt::Duplicate => {
                // Applied before (by a replay whose round was cut short, or
                // a redelivery): nothing left but to say so.
                dead_letters::resolved(&self.db, letter.id).await?;
                tracing::info!(consumer = %self.name, dead_letter = letter.id, "dead letter was already applied; resolved");
                self.count("replayed");
            }
            Attempt::Refused(reason) => {
                dead_letters::refused_again(&self.db, letter.id, &reason).await?;
                tracing::error!(consumer = %self.name, dead_letter = letter.id, %reason, "dead letter refused again on replay");
            }
        }
        Ok(())
    }

    fn store_offset(&self, message: &BorrowedMessage<'_>) {
        if let Err(e) = self.consumer.store_offset_from_message(message) {
            tracing::warn!(consumer = %self.name, error = %e, "cannot store offset");
        }
    }
}

/// A new member of `group` subscribed to `topics`.
fn subscribed(
    settings: &KafkaSettings,
    group: &str,
    topics: &[String],
    lags: &PartitionLags,
) -> Result<GroupConsumer, KafkaError> {
    let consumer = kafka::consumer(settings, group, lags.clone())?;
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;
    Ok(consumer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use blangkon_proto::events::{RegencyJoined, VendorRegistered};
    use chrono::TimeZone;

    fn received(envelope: EventEnvelope) -> ReceivedEvent {
        ReceivedEvent {
            envelope,
            topic: "t".into(),
            partition: 0,
            offset: 0,
        }
    }

    fn joined_at(at: DateTime<Utc>) -> ReceivedEvent {
        let joined = RegencyJoined {
            regency_code: "33.74".into(),
            ..RegencyJoined::default()
        };
        let new = crate::outbox::NewEvent::new("t", "vendor", "regency", "33.74", at, &joined);
        received(new.envelope)
    }

    #[test]
    fn an_event_reads_as_its_message_and_its_time() {
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        let event = joined_at(at);
        let joined: RegencyJoined = event.message().unwrap();
        assert_eq!(joined.regency_code, "33.74");
        assert_eq!(event.occurred_at(), at);
    }

    #[test]
    fn an_event_without_its_message_is_unusable_not_retried() {
        let mut event = joined_at(Utc::now());
        // Another message's type: the bytes do not decode as it.
        assert!(matches!(
            event.message::<VendorRegistered>(),
            Err(HandlerError::Unusable(_))
        ));
        event.envelope.payload = None;
        assert!(matches!(
            event.message::<RegencyJoined>(),
            Err(HandlerError::Unusable(m)) if m.contains("without payload")
        ));
        // No time on the envelope: now, not a failure.
        event.envelope.occurred_at = None;
        let before = Utc::now();
        assert!(event.occurred_at() >= before);
    }
}
