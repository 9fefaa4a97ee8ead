//! Transactional outbox. A service writes its business rows and the event
//! describing the change in one database transaction ([`enqueue`]); the
//! [`Relay`] publishes unpublished events to Kafka in order and marks them
//! only after the broker acknowledged them. If Kafka is down nothing is lost:
//! the rows wait, and the relay retries.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use blangkon_proto::events::EventEnvelope;
use chrono::{DateTime, Utc};
use prost::Message;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::sea_query::{Expr, InsertStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement, TransactionTrait,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::kafka::{self, KafkaError};
use crate::settings::KafkaSettings;

/// Content type of every domain event record.
pub const CONTENT_TYPE: &str =
    "application/x-protobuf; messageType=blangkon.events.v1.EventEnvelope";

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub event_id: String,
        pub topic: String,
        pub message_key: String,
        pub event_type: String,
        pub payload: Vec<u8>,
        /// JSON object of Kafka headers, trace context included.
        pub headers: String,
        pub created_at: DateTimeUtc,
        pub published_at: Option<DateTimeUtc>,
        pub attempts: i32,
        pub last_error: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An event to publish, before it is stored.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub topic: String,
    pub envelope: EventEnvelope,
}

impl NewEvent {
    /// Wraps `payload` in an envelope with a fresh time-ordered event id.
    pub fn new<M: prost::Name>(
        topic: &str,
        producer: &str,
        aggregate_type: &str,
        aggregate_id: &str,
        occurred_at: DateTime<Utc>,
        payload: &M,
    ) -> Self {
        let any = prost_types::Any {
            type_url: M::type_url(),
            value: payload.encode_to_vec(),
        };
        Self {
            topic: topic.to_string(),
            envelope: EventEnvelope {
                event_id: uuid::Uuid::now_v7().to_string(),
                event_type: M::full_name(),
                occurred_at: Some(crate::time::to_timestamp(occurred_at)),
                aggregate_id: aggregate_id.to_string(),
                aggregate_type: aggregate_type.to_string(),
                producer: producer.to_string(),
                payload: Some(any),
            },
        }
    }
}

/// Stores `event` for publishing. Call it with the transaction that writes
/// the change the event describes. Returns the event id.
pub async fn enqueue(conn: &impl ConnectionTrait, event: NewEvent) -> Result<String, DbErr> {
    let (event_id, insert) = insert_statement(event)?;
    conn.execute(&insert).await?;
    Ok(event_id)
}

/// The insert that enqueues `event`, to write together with other rows in
/// one statement (see [`crate::db::write_all`]); and the event's id.
pub fn insert_statement(event: NewEvent) -> Result<(String, InsertStatement), DbErr> {
    let event_id = event.envelope.event_id.clone();
    let record = NewRecord {
        topic: event.topic,
        key: event.envelope.aggregate_id.clone(),
        record_type: event.envelope.event_type.clone(),
        content_type: CONTENT_TYPE,
        value: event.envelope.encode_to_vec(),
    };
    let row = outbox_row(record, event_id.clone())?;
    Ok((event_id, entity::Entity::insert(row).into_query()))
}

/// A record for the outbox. Domain events become one through [`NewEvent`];
/// the reporting service's analyst streams, JSON for stock Kafka tools,
/// are written as records directly. Either way it is published exactly
/// when the change it describes commits.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub topic: String,
    pub key: String,
    /// Names the record's schema; sent as the `event-type` header.
    pub record_type: String,
    pub content_type: &'static str,
    pub value: Vec<u8>,
}

impl NewRecord {
    /// A JSON record.
    pub fn json(
        topic: &str,
        key: &str,
        record_type: &str,
        value: &impl serde::Serialize,
    ) -> Result<Self, DbErr> {
        Ok(Self {
            topic: topic.to_string(),
            key: key.to_string(),
            record_type: record_type.to_string(),
            content_type: "application/json",
            value: serde_json::to_vec(value).map_err(|e| DbErr::Custom(e.to_string()))?,
        })
    }
}

/// Stores `records` for publishing, in the caller's transaction: one
/// statement for all of them. Each gets a fresh id (its `event-id` header).
pub async fn enqueue_records(
    conn: &impl ConnectionTrait,
    records: Vec<NewRecord>,
) -> Result<(), DbErr> {
    if records.is_empty() {
        return Ok(());
    }
    let rows = records
        .into_iter()
        .map(|record| outbox_row(record, uuid::Uuid::now_v7().to_string()))
        .collect::<Result<Vec<_>, DbErr>>()?;
    entity::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

fn outbox_row(record: NewRecord, event_id: String) -> Result<entity::ActiveModel, DbErr> {
    let mut headers = crate::telemetry::current_trace_headers();
    headers.retain(|_, value| !value.is_empty());
    headers.insert("content-type".into(), record.content_type.into());
    headers.insert("event-type".into(), record.record_type.clone());
    headers.insert("event-id".into(), event_id.clone());
    let headers = serde_json::to_string(&headers).map_err(|e| DbErr::Custom(e.to_string()))?;
    Ok(entity::ActiveModel {
        event_id: Set(event_id),
        topic: Set(record.topic),
        message_key: Set(record.key),
        event_type: Set(record.record_type),
        payload: Set(record.value),
        headers: Set(headers),
        created_at: Set(Utc::now()),
        published_at: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        ..Default::default()
    })
}

/// Events not yet acknowledged by the broker.
pub async fn pending_count(conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    entity::Entity::find()
        .filter(entity::Column::PublishedAt.is_null())
        .count(conn)
        .await
}

/// Marks every stored event unpublished, so the relay sends the whole
/// history again. The local suite does this at start because its embedded
/// broker keeps nothing across restarts; consumers deduplicate by event id.
pub async fn republish_all(conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let result = entity::Entity::update_many()
        .col_expr(
            entity::Column::PublishedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(entity::Column::PublishedAt.is_not_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("outbox database: {0}")]
    Db(#[from] DbErr),
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("event {event_id} was not delivered: {reason}")]
    Delivery { event_id: String, reason: String },
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

/// Publishes outbox rows to Kafka.
pub struct Relay {
    db: DatabaseConnection,
    producer: FutureProducer,
    waker: RelayWaker,
    poll: Duration,
    linger: Duration,
    batch_size: u64,
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
            .finish()
    }
}

impl Relay {
    pub fn new(
        service: &str,
        db: DatabaseConnection,
        settings: &KafkaSettings,
        waker: RelayWaker,
    ) -> Result<Self, KafkaError> {
        let producer = kafka::idempotent_producer(settings, &format!("{service}-outbox"))?;
        Ok(Self {
            db,
            producer,
            waker,
            poll: Duration::from_millis(settings.relay_poll_ms.max(10)),
            linger: Duration::from_millis(settings.relay_linger_ms),
            batch_size: settings.relay_batch_size,
            topic_prefix: settings.topic_prefix.clone(),
            lock_key: lock_key_for(service),
        })
    }

    /// Publishes until `shutdown`, then makes one last round so that what
    /// was committed before the signal still goes out.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let outcome = self.publish_pending().await;
            let wait = match outcome {
                Ok(n) if n as u64 == self.batch_size => Duration::ZERO,
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    self.poll
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay round failed");
                    let wait = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    wait
                }
            };
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

    /// One round: publishes up to a batch of events in id order and marks
    /// the delivered prefix. Returns how many were published.
    pub async fn publish_pending(&self) -> Result<usize, RelayError> {
        // On PostgreSQL a transaction-scoped advisory lock elects one
        // publishing replica; the others skip the round. SQLite databases are
        // single-process, so there is nobody to race.
        let lease = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let txn = self.db.begin().await?;
                let row = txn
                    .query_one_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "SELECT pg_try_advisory_xact_lock($1) AS locked",
                        [self.lock_key.into()],
                    ))
                    .await?;
                let locked = row.map(|r| r.try_get::<bool>("", "locked")).transpose()?;
                if locked != Some(true) {
                    return Ok(0);
                }
                Some(txn)
            }
            _ => None,
        };

        let batch = entity::Entity::find()
            .filter(entity::Column::PublishedAt.is_null())
            .order_by_asc(entity::Column::Id)
            .limit(self.batch_size)
            .all(&self.db)
            .await?;
        if batch.is_empty() {
            return Ok(0);
        }

        // Enqueue the whole batch, then wait: the idempotent producer keeps
        // per-partition order and never writes a retried message twice.
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

        let mut delivered = 0usize;
        let mut failure = None;
        for (row, delivery) in batch.iter().zip(deliveries) {
            match delivery.await {
                Ok(Ok(_)) if failure.is_none() => delivered += 1,
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => {
                    failure.get_or_insert((row.id, row.event_id.clone(), e.to_string()));
                }
                Err(_) => {
                    failure.get_or_insert((
                        row.id,
                        row.event_id.clone(),
                        "producer dropped the message".into(),
                    ));
                }
            }
        }

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
        if let Some((id, event_id, reason)) = failure {
            entity::Entity::update_many()
                .col_expr(
                    entity::Column::Attempts,
                    sea_orm::sea_query::ExprTrait::add(Expr::col(entity::Column::Attempts), 1),
                )
                .col_expr(entity::Column::LastError, Expr::value(reason.clone()))
                .filter(entity::Column::Id.eq(id))
                .exec(&self.db)
                .await?;
            return Err(RelayError::Delivery { event_id, reason });
        }
        if delivered < batch.len() {
            return Err(RelayError::Delivery {
                event_id: batch[delivered].event_id.clone(),
                reason: "the producer queue refused it".into(),
            });
        }
        Ok(delivered)
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
