//! Dead letters: records an inbox consumer cannot apply, and never will as
//! they are — bytes that are no event, an event that is not valid, a change
//! its database refuses for good. Retrying such a record forever would stop
//! its partition behind it, so the consumer sets it aside and moves on:
//! into its service's `dead_letters` table (the record byte for byte, where
//! it was read, and why), and onto the topic
//! `blangkon.<consumer>.dead-letters.v1` through the outbox in the same
//! transaction, for alerting and for whoever follows the topic.
//!
//! An operator reads them with `blangkon-<service> dead-letters list`,
//! fixes the cause (a newer build, a corrected row) and asks for a replay
//! with `dead-letters replay`: the running consumer applies each record
//! again through the same inbox path, so a replay is applied at most once
//! and a record still refused stays set aside with its new reason.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::db;
use crate::outbox::{self, NewEvent};

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "dead_letters")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub consumer: String,
        pub topic: String,
        pub partition: i32,
        pub offset: i64,
        pub event_id: String,
        pub event_type: String,
        pub reason: String,
        pub record: Vec<u8>,
        pub dead_lettered_at: DateTimeUtc,
        pub replay_requested_at: Option<DateTimeUtc>,
        pub resolved_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::Column;

/// A reason is kept to this many characters: enough for any database
/// message, not a second copy of a large record.
const MAX_REASON_CHARS: usize = 2_000;

/// The topic consumer `consumer` publishes its dead letters to (named
/// without `kafka.topic_prefix`).
pub fn topic(consumer: &str) -> String {
    format!("blangkon.{consumer}.dead-letters.v1")
}

/// A record set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: i64,
    pub consumer: String,
    /// Where it was read: the topic as named on the cluster, partition and
    /// offset.
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The envelope's event id and type, when it could be read.
    pub event_id: String,
    pub event_type: String,
    pub reason: String,
    /// The record's value as it was read.
    pub record: Vec<u8>,
    pub dead_lettered_at: DateTime<Utc>,
    /// Asked to be applied again, and not yet tried since.
    pub replay_requested_at: Option<DateTime<Utc>>,
    /// Applied by a replay.
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<entity::Model> for DeadLetter {
    fn from(m: entity::Model) -> Self {
        Self {
            id: m.id,
            consumer: m.consumer,
            topic: m.topic,
            partition: m.partition,
            offset: m.offset,
            event_id: m.event_id,
            event_type: m.event_type,
            reason: m.reason,
            record: m.record,
            dead_lettered_at: m.dead_lettered_at,
            replay_requested_at: m.replay_requested_at,
            resolved_at: m.resolved_at,
        }
    }
}

/// Two lines for an operator: what, where and when; then why.
impl std::fmt::Display for DeadLetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match (self.resolved_at, self.replay_requested_at) {
            (Some(at), _) => format!("applied by a replay at {}", at.to_rfc3339()),
            (None, Some(_)) => "replay asked for".to_string(),
            (None, None) => "waiting".to_string(),
        };
        let event = if self.event_type.is_empty() {
            "undecodable record".to_string()
        } else {
            format!("{} {}", self.event_type, self.event_id)
        };
        write!(
            f,
            "#{} {} {} {}[{}]@{} {} ({} bytes): {}\n    reason: {}",
            self.id,
            self.dead_lettered_at.to_rfc3339(),
            self.consumer,
            self.topic,
            self.partition,
            self.offset,
            event,
            self.record.len(),
            state,
            self.reason
        )
    }
}

/// A record a consumer sets aside, before it is stored.
#[derive(Debug, Clone)]
pub(crate) struct SetAside {
    pub consumer: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub event_id: String,
    pub event_type: String,
    pub record: Vec<u8>,
    pub reason: String,
}

/// Stores `letter` and enqueues its `DeadLettered` event, in one
/// transaction. A record already set aside (redelivered before its offset
/// was committed) is left as it is. Answers the dead letter's id.
pub(crate) async fn set_aside(db: &DatabaseConnection, letter: SetAside) -> Result<i64, DbErr> {
    let reason: String = letter.reason.chars().take(MAX_REASON_CHARS).collect();
    let at = Utc::now();
    let txn = db::begin_write(db).await?;
    let row = entity::ActiveModel {
        consumer: Set(letter.consumer.clone()),
        topic: Set(letter.topic.clone()),
        partition: Set(letter.partition),
        offset: Set(letter.offset),
        event_id: Set(letter.event_id.clone()),
        event_type: Set(letter.event_type.clone()),
        reason: Set(reason.clone()),
        record: Set(letter.record.clone()),
        dead_lettered_at: Set(at),
        ..Default::default()
    };
    let key = [
        Column::Consumer,
        Column::Topic,
        Column::Partition,
        Column::Offset,
    ];
    let new = db::upsert(&txn, row, key, []).await?;
    let stored = entity::Entity::find()
        .filter(Column::Consumer.eq(&letter.consumer))
        .filter(Column::Topic.eq(&letter.topic))
        .filter(Column::Partition.eq(letter.partition))
        .filter(Column::Offset.eq(letter.offset))
        .one(&txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the dead letter just stored".into()))?;
    if new {
        let event = blangkon_proto::events::DeadLettered {
            consumer: letter.consumer.clone(),
            topic: letter.topic,
            partition: letter.partition,
            offset: letter.offset,
            event_id: letter.event_id,
            event_type: letter.event_type,
            reason,
            record: letter.record,
            dead_lettered_at: Some(crate::time::to_timestamp(at)),
            dead_letter_id: stored.id,
        };
        let producer = letter.consumer.as_str();
        outbox::enqueue(
            &txn,
            NewEvent::new(
                &topic(producer),
                producer,
                "dead-letter",
                producer,
                at,
                &event,
            ),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(stored.id)
}

/// Which dead letters a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Showing {
    /// Those not yet applied by a replay.
    Waiting,
    /// Every one, those a replay applied too.
    All,
}

/// The dead letters of the service's consumers, oldest first, at most
/// `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    showing: Showing,
    limit: u64,
) -> Result<Vec<DeadLetter>, DbErr> {
    let mut query = entity::Entity::find().order_by_asc(Column::Id).limit(limit);
    if showing == Showing::Waiting {
        query = query.filter(Column::ResolvedAt.is_null());
    }
    Ok(query.all(db).await?.into_iter().map(Into::into).collect())
}

/// Asks the running consumers to apply the dead letters `ids` again (every
/// waiting one when `ids` is empty). Answers how many were asked for;
/// those already applied are not.
pub async fn request_replay(db: &impl ConnectionTrait, ids: &[i64]) -> Result<u64, DbErr> {
    let update = || {
        entity::Entity::update_many()
            .col_expr(Column::ReplayRequestedAt, Expr::value(Utc::now()))
            .filter(Column::ResolvedAt.is_null())
    };
    if ids.is_empty() {
        return Ok(update().exec(db).await?.rows_affected);
    }
    let counts = db::in_chunks(ids, |chunk| {
        let chunk = update().filter(Column::Id.is_in(chunk.iter().copied()));
        async move { Ok(vec![chunk.exec(db).await?.rows_affected]) }
    })
    .await?;
    Ok(counts.into_iter().sum())
}

/// The dead letters of `consumer` a replay was asked for, oldest first.
pub(crate) async fn replays_requested(
    db: &impl ConnectionTrait,
    consumer: &str,
    limit: u64,
) -> Result<Vec<DeadLetter>, DbErr> {
    let rows = entity::Entity::find()
        .filter(Column::Consumer.eq(consumer))
        .filter(Column::ResolvedAt.is_null())
        .filter(Column::ReplayRequestedAt.is_not_null())
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Dead letter `id` was applied by a replay (or found already applied).
pub(crate) async fn resolved(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    entity::Entity::update_many()
        .col_expr(Column::ResolvedAt, Expr::value(Utc::now()))
        .col_expr(
            Column::ReplayRequestedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A replay of dead letter `id` was refused again, for `reason`: it waits
/// for the next request.
pub(crate) async fn refused_again(
    db: &impl ConnectionTrait,
    id: i64,
    reason: &str,
) -> Result<(), DbErr> {
    let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
    entity::Entity::update_many()
        .col_expr(Column::Reason, Expr::value(reason))
        .col_expr(
            Column::ReplayRequestedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// How many dead letters wait, by consumer.
pub async fn waiting_by_consumer(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    entity::Entity::find()
        .select_only()
        .column(Column::Consumer)
        .column_as(Column::Id.count(), "waiting")
        .filter(Column::ResolvedAt.is_null())
        .group_by(Column::Consumer)
        .into_tuple()
        .all(db)
        .await
}
