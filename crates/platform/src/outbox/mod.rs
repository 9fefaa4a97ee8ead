//! Transactional outbox. A service writes its business rows and the event
//! describing the change in one database transaction ([`enqueue`]); the
//! [`Relay`] publishes unpublished events to Kafka in order and marks them
//! only after the broker acknowledged them. If Kafka is down nothing is lost:
//! the rows wait, and the relay retries.

use blangkon_proto::events::EventEnvelope;
use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::sea_query::{Expr, InsertStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryTrait,
};

mod relay;

pub use relay::{Relay, RelayError, RelayHealth, RelayWaker};

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
/// statement a thousand of them. Each gets a fresh id (its `event-id` header).
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
    // Ten values a row: a thousand rows stay well under PostgreSQL's
    // 65,535 parameters a statement.
    for chunk in rows.chunks(1_000) {
        entity::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(conn)
            .await?;
    }
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

/// When the oldest event not yet acknowledged by the broker was written;
/// `None` when none waits.
pub async fn oldest_pending(conn: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbErr> {
    use sea_orm::{QueryOrder, QuerySelect};
    // The time alone: the row's payload may be large.
    entity::Entity::find()
        .select_only()
        .column(entity::Column::CreatedAt)
        .filter(entity::Column::PublishedAt.is_null())
        .order_by_asc(entity::Column::Id)
        .into_tuple()
        .one(conn)
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
