//! The relay: publishes the outbox's events to Kafka in order, marks them
//! once the broker acknowledged them, and replaces a producer the broker
//! refuses.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::kafka::{self, KafkaError};
use crate::settings::KafkaSettings;

use super::entity;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("outbox database: {0}")]
    Db(#[from] DbErr),
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("event {event_id} was not delivered: {reason}")]
    Delivery {
        event_id: String,
        reason: String,
        /// The broker refused the producer itself (fenced, unknown or out
        /// of sequence): it will refuse that producer every time.
        producer_refused: bool,
    },
}

/// Wakes the relay right after a commit, so events go out without waiting
/// for the next poll.
#[derive(Debug, Clone, Default)]
pub struct RelayWaker(Arc<Notify>);

impl RelayWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// After this many failed rounds in a row the relay replaces its producer
/// even without a fatal error: a producer that cannot deliver for that
/// long (about a minute of backoff) gains nothing by being kept.
const REPLACE_AFTER_FAILED_ROUNDS: u64 = 8;

/// The wait after a first failed round, and the longest between rounds.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_LONGEST: Duration = Duration::from_secs(10);

/// How the relay is doing, shared with whoever reports it (its own alert
/// logs, the metrics endpoint).
#[derive(Debug, Default)]
pub struct RelayHealth {
    consecutive_failures: AtomicU64,
    failed_rounds: AtomicU64,
    /// When the oldest event still waiting was written, in Unix
    /// milliseconds; 0 while none waits.
    oldest_unpublished_ms: AtomicI64,
    /// When the relay last published something or found nothing waiting,
    /// in Unix milliseconds; 0 before it started.
    last_progress_ms: AtomicI64,
    producers_replaced: AtomicU64,
}

impl RelayHealth {
    /// Rounds failed since the last one that delivered everything it took.
    pub fn consecutive_failures(&self) -> u64 {
        self.consecutive_failures.load(Ordering::Relaxed)
    }

    /// How long the oldest event not yet acknowledged by the broker has
    /// waited, as of the relay's last round; zero when none waits.
    pub fn oldest_unpublished_age(&self) -> Duration {
        match self.oldest_unpublished_ms.load(Ordering::Relaxed) {
            0 => Duration::ZERO,
            since => {
                let age = Utc::now().timestamp_millis().saturating_sub(since);
                Duration::from_millis(u64::try_from(age).unwrap_or(0))
            }
        }
    }

    /// Rounds failed since the relay started.
    pub fn failed_rounds(&self) -> u64 {
        self.failed_rounds.load(Ordering::Relaxed)
    }

    /// How many times the relay gave up a producer for a new one.
    pub fn producers_replaced(&self) -> u64 {
        self.producers_replaced.load(Ordering::Relaxed)
    }

    /// How long events have waited while the relay published nothing (its
    /// rounds failing, or taking nothing); zero while it publishes or none
    /// waits. The stuck alarm's measure: a backlog being published is not
    /// stalled, however old its events.
    pub fn stalled_for(&self) -> Duration {
        let progress = self.last_progress_ms.load(Ordering::Relaxed);
        if self.oldest_unpublished_ms.load(Ordering::Relaxed) == 0 || progress == 0 {
            return Duration::ZERO;
        }
        let stalled = Utc::now().timestamp_millis().saturating_sub(progress);
        Duration::from_millis(u64::try_from(stalled).unwrap_or(0))
    }

    pub(crate) fn progressed(&self) {
        self.last_progress_ms
            .store(Utc::now().timestamp_millis().max(1), Ordering::Relaxed);
    }

    pub(crate) fn waiting_since(&self, oldest: Option<DateTime<Utc>>) {
        let ms = oldest.map_or(0, |at| at.timestamp_millis().max(1));
        self.oldest_unpublished_ms.store(ms, Ordering::Relaxed);
    }
}

/// Publishes outbox rows to Kafka.
pub struct Relay {
    db: DatabaseConnection,
    producer: FutureProducer,
    /// What a replacement producer is made from.
    settings: KafkaSettings,
    client_suffix: String,
    waker: RelayWaker,
    poll: Duration,
    linger: Duration,
    batch_size: u64,
    alert_after: Duration,
    health: Arc<RelayHealth>,
    /// `kafka.topic_prefix`: rows name topics without it.
    topic_prefix: String,
    /// Stable id for the PostgreSQL advisory lock that lets only one replica
    /// publish at a time, which keeps per-key order across replicas.
    lock_key: i64,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("lock_key", &self.lock_key)
            .field("health", &self.health)
            .finish()
    }
}

/// What one round delivered, and the first event it could not.
struct Sent {
    delivered: usize,
    failure: Option<Undelivered>,
}

struct Undelivered {
    row_id: i64,
    event_id: String,
    reason: String,
    producer_refused: bool,
}

/// Whether the broker refused a message for who sent it rather than what
/// it is: an idempotent producer whose id or epoch the broker no longer
/// accepts is refused again on every retry, so it must be replaced.
fn refuses_producer(err: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as Code;
    matches!(
        err.rdkafka_error_code(),
        Some(
            Code::ProducerFenced
                | Code::InvalidProducerEpoch
                | Code::UnknownProducerId
                | Code::OutOfOrderSequenceNumber
                | Code::InvalidProducerIdMapping
        )
    )
}

impl Relay {
    pub fn new(
        service: &str,
        db: DatabaseConnection,
        settings: &KafkaSettings,
        waker: RelayWaker,
    ) -> Result<Self, KafkaError> {
        let client_suffix = format!("{service}-outbox");
        let producer = kafka::idempotent_producer(settings, &client_suffix)?;
        Ok(Self {
            db,
            producer,
            settings: settings.clone(),
            client_suffix,
            waker,
            poll: Duration::from_millis(settings.relay_poll_ms.max(10)),
            linger: Duration::from_millis(settings.relay_linger_ms),
            batch_size: settings.relay_batch_size,
            alert_after: Duration::from_secs(settings.relay_alert_after_secs),
            health: Arc::default(),
            topic_prefix: settings.topic_prefix.clone(),
            lock_key: lock_key_for(service),
        })
    }

    /// The relay's health, to report.
    pub fn health(&self) -> Arc<RelayHealth> {
        self.health.clone()
    }

    /// Publishes until `shutdown`, then makes one last round so that what
    /// was committed before the signal still goes out. A failed round is
    /// retried with backoff; a producer that librdkafka declares fatally
    /// failed, or that failed [`REPLACE_AFTER_FAILED_ROUNDS`] rounds in a
    /// row, is replaced by a new one.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = crate::retry::Backoff::new(RETRY_FIRST, RETRY_LONGEST);
        let mut alarm = StuckAlarm::new(self.alert_after, Instant::now());
        self.health.progressed();
        let mut backlog = self.backlog_at_start().await;
        loop {
            let outcome = self.publish_pending().await;
            let wait = match &outcome {
                Ok(n) if *n as u64 == self.batch_size => Duration::ZERO,
                Ok(_) => {
                    backoff.reset();
                    self.poll
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "outbox relay round failed");
                    let refused = matches!(
                        e,
                        RelayError::Delivery {
                            producer_refused: true,
                            ..
                        }
                    );
                    self.heal(refused);
                    wait
                }
            };
            let waiting = self.health.oldest_unpublished_age();
            let round = match &outcome {
                Ok(published) => Round::Published(*published),
                Err(_) => Round::Failed,
            };
            if StuckAlarm::progress(round, waiting) {
                self.health.progressed();
            }
            match alarm.after(round, waiting, Instant::now()) {
                Some(Alarm::Raised { since_progress }) => tracing::error!(
                    secs_since_last_published = since_progress.as_secs(),
                    oldest_unpublished_secs = waiting.as_secs(),
                    consecutive_failures = self.health.consecutive_failures(),
                    "outbox events are stuck: the relay has published nothing for too long \
                     while events wait; check the broker and this service's Kafka settings"
                ),
                Some(Alarm::Cleared) => tracing::warn!(
                    oldest_unpublished_secs = waiting.as_secs(),
                    "outbox events are flowing again"
                ),
                None => {}
            }
            if let Some(started) = &backlog
                && waiting.is_zero()
                && outcome.is_ok()
            {
                tracing::info!(
                    events = started.events,
                    secs = started.at.elapsed().as_secs_f64(),
                    "outbox backlog published"
                );
                backlog = None;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.waker.0.notified() => {
                    // Let the commits right behind this one join the round.
                    if !self.linger.is_zero() {
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            _ = tokio::time::sleep(self.linger) => {}
                        }
                    }
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
        match self.publish_pending().await {
            Ok(n) => tracing::info!(published = n, "outbox relay flushed on shutdown"),
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay could not flush on shutdown; events stay queued")
            }
        }
    }

    /// Says what waits in the outbox as the relay starts (after downtime,
    /// events committed while the broker or this relay was away): how
    /// many and how old, at WARN when the oldest waited longer than the
    /// stuck alarm's limit, else at INFO. A backlog is no alarm: the
    /// relay publishes it next.
    async fn backlog_at_start(&self) -> Option<Backlog> {
        let read = |e: DbErr| {
            tracing::warn!(error = %e, "could not read the outbox's backlog at start");
        };
        let oldest = super::oldest_pending(&self.db).await.map_err(read).ok()??;
        let events = super::pending_count(&self.db).await.map_err(read).ok()?;
        let age = (Utc::now() - oldest).to_std().unwrap_or_default();
        if age >= self.alert_after {
            tracing::warn!(
                events,
                oldest_unpublished_secs = age.as_secs(),
                "outbox backlog at start: events committed while they could not be published; \
                 publishing them now"
            );
        } else {
            tracing::info!(
                events,
                oldest_unpublished_secs = age.as_secs(),
                "outbox backlog at start; publishing it now"
            );
        }
        Some(Backlog {
            events,
            at: Instant::now(),
        })
    }

    /// After a failed round: replaces the producer when librdkafka says it
    /// can never be used again, when the broker refused the producer
    /// itself, or when it has failed too often.
    fn heal(&mut self, producer_refused: bool) {
        let fatal = self.producer.client().fatal_error();
        let failures = self.health.consecutive_failures();
        let reason = match &fatal {
            Some((code, message)) => format!("fatal producer error {code:?}: {message}"),
            None if producer_refused => "the broker refused the producer".to_string(),
            None if failures.is_multiple_of(REPLACE_AFTER_FAILED_ROUNDS) => {
                format!("{failures} failed rounds in a row")
            }
            None => return,
        };
        match kafka::idempotent_producer(&self.settings, &self.client_suffix) {
            Ok(fresh) => {
                let old = std::mem::replace(&mut self.producer, fresh);
                // Dropping a producer purges its queue and waits briefly
                // for the purge: not on the runtime's threads.
                tokio::task::spawn_blocking(move || drop(old));
                self.health
                    .producers_replaced
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%reason, "outbox relay replaced its Kafka producer");
            }
            Err(e) => {
                tracing::error!(%reason, error = %e, "outbox relay could not make a new Kafka producer")
            }
        }
    }

    /// One round: publishes up to a batch of events in id order and marks
    /// the delivered prefix. Returns how many were published.
    pub async fn publish_pending(&self) -> Result<usize, RelayError> {
        let outcome = self.round().await;
        match &outcome {
            Ok(_) => self.health.consecutive_failures.store(0, Ordering::Relaxed),
            Err(_) => {
                self.health
                    .consecutive_failures
                    .fetch_add(1, Ordering::Relaxed);
                self.health.failed_rounds.fetch_add(1, Ordering::Relaxed);
            }
        }
        outcome
    }

    async fn round(&self) -> Result<usize, RelayError> {
        // On PostgreSQL a transaction-scoped advisory lock elects one
        // publishing replica; the others skip the round. SQLite databases are
        // single-process, so there is nobody to race.
        let lease = match self.db.get_database_backend() {
            DbBackend::Postgres => match self.lease().await? {
                Some(txn) => Some(txn),
                None => {
                    // The publishing replica reports the backlog; this one
                    // holds no reading of its own that could age.
                    self.health.waiting_since(None);
                    return Ok(0);
                }
            },
            _ => None,
        };

        let batch = entity::Entity::find()
            .filter(entity::Column::PublishedAt.is_null())
            .order_by_asc(entity::Column::Id)
            .limit(self.batch_size)
            .all(&self.db)
            .await?;
        self.health
            .waiting_since(batch.first().map(|row| row.created_at));
        if batch.is_empty() {
            return Ok(0);
        }

        let Sent { delivered, failure } = self.send(&batch).await;

        // Only the delivered prefix is marked; anything after a failure is
        // sent again next round, so per-key order holds (a duplicate is
        // possible, a gap is not — consumers deduplicate by event id).
        if delivered > 0 {
            let ids: Vec<i64> = batch[..delivered].iter().map(|r| r.id).collect();
            entity::Entity::update_many()
                .col_expr(entity::Column::PublishedAt, Expr::value(Utc::now()))
                .filter(entity::Column::Id.is_in(ids))
                .exec(&self.db)
                .await?;
        }
        if let Some(txn) = lease {
            txn.commit().await?;
        }
        tracing::debug!(
            batch = batch.len(),
            delivered,
            failed = failure.is_some(),
            "outbox relay round"
        );
        if let Some(undelivered) = failure {
            entity::Entity::update_many()
                .col_expr(
                    entity::Column::Attempts,
                    sea_orm::sea_query::ExprTrait::add(Expr::col(entity::Column::Attempts), 1),
                )
                .col_expr(
                    entity::Column::LastError,
                    Expr::value(undelivered.reason.clone()),
                )
                .filter(entity::Column::Id.eq(undelivered.row_id))
                .exec(&self.db)
                .await?;
            return Err(RelayError::Delivery {
                event_id: undelivered.event_id,
                reason: undelivered.reason,
                producer_refused: undelivered.producer_refused,
            });
        }
        if delivered < batch.len() {
            return Err(RelayError::Delivery {
                event_id: batch[delivered].event_id.clone(),
                reason: "the producer queue refused it".into(),
                producer_refused: false,
            });
        }
        if batch.len() < self.batch_size as usize {
            // The whole backlog went out: nothing waits any more.
            self.health.waiting_since(None);
        }
        Ok(delivered)
    }

    /// The publishing lease of this replica for one round, or `None` when
    /// another replica holds it.
    async fn lease(&self) -> Result<Option<DatabaseTransaction>, DbErr> {
        let txn = self.db.begin().await?;
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock($1) AS locked",
                [self.lock_key.into()],
            ))
            .await?;
        let locked = row.map(|r| r.try_get::<bool>("", "locked")).transpose()?;
        Ok((locked == Some(true)).then_some(txn))
    }

    /// Enqueues the whole batch, then waits for the broker's answers: the
    /// idempotent producer keeps per-partition order and never writes a
    /// retried message twice. Answers the length of the delivered prefix.
    async fn send(&self, batch: &[entity::Model]) -> Sent {
        let mut deliveries = Vec::with_capacity(batch.len());
        let topics: Vec<String> = batch
            .iter()
            .map(|row| format!("{}{}", self.topic_prefix, row.topic))
            .collect();
        for (row, topic) in batch.iter().zip(&topics) {
            let headers: HashMap<String, String> =
                serde_json::from_str(&row.headers).unwrap_or_default();
            let mut kafka_headers = OwnedHeaders::new_with_capacity(headers.len());
            for (key, value) in &headers {
                kafka_headers = kafka_headers.insert(Header {
                    key,
                    value: Some(value.as_bytes()),
                });
            }
            let record = FutureRecord::to(topic)
                .key(&row.message_key)
                .payload(&row.payload)
                .headers(kafka_headers);
            match self.producer.send_result(record) {
                Ok(delivery) => deliveries.push(delivery),
                Err((e, _)) => {
                    // Queue full or fatal: publish what was enqueued so far.
                    tracing::warn!(error = %e, "producer refused an outbox event");
                    break;
                }
            }
        }

        let mut sent = Sent {
            delivered: 0,
            failure: None,
        };
        for (row, delivery) in batch.iter().zip(deliveries) {
            let (reason, producer_refused) = match delivery.await {
                Ok(Ok(_)) if sent.failure.is_none() => {
                    sent.delivered += 1;
                    continue;
                }
                Ok(Ok(_)) => continue,
                Ok(Err((e, _))) => (e.to_string(), refuses_producer(&e)),
                Err(_) => ("producer dropped the message".into(), false),
            };
            sent.failure.get_or_insert(Undelivered {
                row_id: row.id,
                event_id: row.event_id.clone(),
                reason,
                producer_refused,
            });
        }
        sent
    }
}

/// A backlog found at start, until it is published.
struct Backlog {
    events: u64,
    at: Instant,
}

/// What a round of the relay came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    Published(usize),
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alarm {
    Raised { since_progress: Duration },
    Cleared,
}

/// The stuck alarm: raised once when events wait and the relay has
/// published nothing for `after` (its rounds fail, or it cannot take the
/// events), cleared once when it publishes again. Old events alone raise
/// nothing: after downtime the relay publishes a backlog whose oldest
/// events are hours old, and that is a backlog (reported at start), not a
/// relay that fails.
#[derive(Debug)]
struct StuckAlarm {
    after: Duration,
    /// When the relay last published something or found nothing waiting.
    progress: Instant,
    raised: bool,
}

impl StuckAlarm {
    fn new(after: Duration, now: Instant) -> Self {
        Self {
            after,
            progress: now,
            raised: false,
        }
    }

    /// Takes a round's outcome and the age of the oldest event still
    /// waiting after it (zero when none waits).
    /// Whether a round is progress: it published something, or nothing
    /// waits after it.
    fn progress(round: Round, waiting: Duration) -> bool {
        waiting.is_zero() || matches!(round, Round::Published(n) if n > 0)
    }

    fn after(&mut self, round: Round, waiting: Duration, now: Instant) -> Option<Alarm> {
        if Self::progress(round, waiting) {
            self.progress = now;
        }
        let since_progress = now.saturating_duration_since(self.progress);
        let stuck = since_progress >= self.after;
        match (stuck, self.raised) {
            (true, false) => {
                self.raised = true;
                Some(Alarm::Raised { since_progress })
            }
            (false, true) => {
                self.raised = false;
                Some(Alarm::Cleared)
            }
            _ => None,
        }
    }
}

fn lock_key_for(service: &str) -> i64 {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("blangkon-outbox-{service}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode;

    #[test]
    fn a_fenced_or_unknown_producer_is_refused_for_who_it_is() {
        for code in [
            RDKafkaErrorCode::ProducerFenced,
            RDKafkaErrorCode::InvalidProducerEpoch,
            RDKafkaErrorCode::UnknownProducerId,
            RDKafkaErrorCode::OutOfOrderSequenceNumber,
        ] {
            assert!(
                refuses_producer(&KafkaError::MessageProduction(code)),
                "{code:?}"
            );
        }
        for code in [
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::MessageSizeTooLarge,
        ] {
            assert!(
                !refuses_producer(&KafkaError::MessageProduction(code)),
                "{code:?}"
            );
        }
    }

    #[test]
    fn the_backlog_age_is_zero_while_nothing_waits() {
        let health = RelayHealth::default();
        assert_eq!(health.oldest_unpublished_age(), Duration::ZERO);
        health.waiting_since(Some(Utc::now() - chrono::Duration::seconds(90)));
        let age = health.oldest_unpublished_age();
        assert!(
            age >= Duration::from_secs(89) && age < Duration::from_secs(120),
            "{age:?}"
        );
        health.waiting_since(None);
        assert_eq!(health.oldest_unpublished_age(), Duration::ZERO);
    }

    #[test]
    fn a_backlog_of_old_events_that_is_being_published_raises_no_alarm() {
        let minute = Duration::from_secs(60);
        let start = Instant::now();
        let mut alarm = StuckAlarm::new(minute, start);
        let hours_old = Duration::from_secs(3 * 3600);
        // After downtime: full batches of events hours old, each round
        // publishing, for longer than the alarm's limit.
        for second in 0..120 {
            let now = start + Duration::from_secs(second);
            assert_eq!(alarm.after(Round::Published(500), hours_old, now), None);
        }
        // Drained: nothing waits.
        let drained = start + Duration::from_secs(121);
        assert_eq!(
            alarm.after(Round::Published(12), Duration::ZERO, drained),
            None
        );
    }

    #[test]
    fn events_waiting_while_rounds_fail_raise_the_alarm_once_and_clear_it_once() {
        let minute = Duration::from_secs(60);
        let start = Instant::now();
        let mut alarm = StuckAlarm::new(minute, start);
        let at = |s: u64| start + Duration::from_secs(s);
        assert_eq!(
            alarm.after(Round::Published(3), Duration::ZERO, at(0)),
            None
        );
        let waiting = |s: u64| Duration::from_secs(s);
        assert_eq!(alarm.after(Round::Failed, waiting(10), at(10)), None);
        assert_eq!(alarm.after(Round::Failed, waiting(59), at(59)), None);
        assert_eq!(
            alarm.after(Round::Failed, waiting(61), at(61)),
            Some(Alarm::Raised {
                since_progress: Duration::from_secs(61)
            })
        );
        assert_eq!(
            alarm.after(Round::Failed, waiting(90), at(90)),
            None,
            "once"
        );
        // A round that takes nothing while events wait (another replica
        // publishes, or none can be taken) is no progress either.
        assert_eq!(alarm.after(Round::Published(0), waiting(95), at(95)), None);
        assert_eq!(
            alarm.after(Round::Published(500), waiting(96), at(96)),
            Some(Alarm::Cleared)
        );
        assert_eq!(
            alarm.after(Round::Published(1), Duration::ZERO, at(97)),
            None
        );
    }

    #[test]
    fn the_relay_is_stalled_only_while_events_wait_without_progress() {
        let health = RelayHealth::default();
        assert_eq!(health.stalled_for(), Duration::ZERO, "not started");
        health.progressed();
        health.waiting_since(Some(Utc::now() - chrono::Duration::hours(3)));
        assert!(
            health.stalled_for() < Duration::from_secs(5),
            "a backlog it just published from"
        );
        health
            .last_progress_ms
            .store(Utc::now().timestamp_millis() - 90_000, Ordering::Relaxed);
        let stalled = health.stalled_for();
        assert!(
            stalled >= Duration::from_secs(89) && stalled < Duration::from_secs(120),
            "{stalled:?}"
        );
        health.waiting_since(None);
        assert_eq!(health.stalled_for(), Duration::ZERO, "nothing waits");
    }
}
