//! Persistence of the order service. Every function takes
//! `&impl ConnectionTrait`, so it runs on the pool or inside a transaction.

pub mod entities;
pub mod migrations;

use blangkon_domain::OrderStatus;
use blangkon_platform::db;
use sea_orm::sea_query::{
    DeleteStatement, Expr, ExprTrait, Func, InsertStatement, OnConflict, SubQueryStatement,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

pub use entities::{attempt, history, idempotency, item, order, vendor};

/// An idempotency key as a buyer holds it: its work unit, named by regency
/// and name together (two regencies may each have a "Dinas Pendidikan"),
/// and the key it chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyerKey {
    pub regency: String,
    pub work_unit: String,
    pub key: String,
}

pub async fn find_key(
    conn: &impl ConnectionTrait,
    key: &BuyerKey,
) -> Result<Option<idempotency::Model>, DbErr> {
    idempotency::Entity::find_by_id((key.regency.clone(), key.work_unit.clone(), key.key.clone()))
        .one(conn)
        .await
}

/// The idempotency key an order was placed with.
pub async fn find_key_of_order(
    conn: &impl ConnectionTrait,
    order_id: &str,
) -> Result<Option<idempotency::Model>, DbErr> {
    idempotency::Entity::find()
        .filter(idempotency::Column::OrderId.eq(order_id))
        .one(conn)
        .await
}

/// The writes of a newly placed order — its idempotency key, the order,
/// its items, its first history line, and the end of its placing attempt —
/// to go together with its event (see `db::write_all`).
pub fn new_order_writes(
    key: idempotency::Model,
    row: order::Model,
    items: Vec<item::Model>,
    first: history::Model,
) -> Vec<SubQueryStatement> {
    let attempt_done = forget_attempt_statement(&BuyerKey {
        regency: key.buyer_regency.clone(),
        work_unit: key.work_unit.clone(),
        key: key.key.clone(),
    });
    vec![
        idempotency::Entity::insert(idempotency::ActiveModel::from(key))
            .into_query()
            .into(),
        order::Entity::insert(order::ActiveModel::from(row))
            .into_query()
            .into(),
        item::Entity::insert_many(items.into_iter().map(item::ActiveModel::from))
            .into_query()
            .into(),
        history::Entity::insert(history::ActiveModel::from(first))
            .into_query()
            .into(),
        attempt_done.into(),
    ]
}

/// Records that a placing is about to reserve stock, whatever attempt
/// with the key is recorded (the sweeper puts back one it could not finish).
pub async fn record_attempt(conn: &impl ConnectionTrait, row: attempt::Model) -> Result<(), DbErr> {
    conn.execute(&attempt_upsert(row, None)).await?;
    Ok(())
}

/// Inserts an attempt, or replaces the recorded one with the same key if
/// `replace_if` holds for it.
fn attempt_upsert(row: attempt::Model, replace_if: Option<Expr>) -> InsertStatement {
    attempt::Entity::insert(attempt::ActiveModel::from(row))
        .on_conflict(
            OnConflict::columns([
                attempt::Column::BuyerRegency,
                attempt::Column::WorkUnit,
                attempt::Column::Key,
            ])
            .update_columns([attempt::Column::ReservationId, attempt::Column::StartedAt])
            .action_and_where_option(replace_if)
            .to_owned(),
        )
        .into_query()
}

/// Takes the placing lease of an idempotency key: records the attempt
/// unless another attempt with the key started after `live_since` and may
/// still be running. Returns whether this caller holds the lease. While it
/// does, no other call with the key reserves or releases its stock.
pub async fn lease_attempt(
    conn: &impl ConnectionTrait,
    row: attempt::Model,
    live_since: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let mut upsert = attempt_upsert(
        row,
        Some(Expr::col((attempt::Entity, attempt::Column::StartedAt)).lt(live_since)),
    );
    upsert.returning_col(attempt::Column::Key);
    Ok(conn.query_all(&upsert).await?.len() == 1)
}

/// What a placing found when it asked for its key's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leasing {
    /// An order was placed with the key already.
    Placed(idempotency::Model),
    /// This call holds the lease.
    Leased,
    /// Another call with the key holds a lease that may still be running.
    Busy,
}

/// The lookup of a key and its lease in one PostgreSQL statement: the
/// attempt is recorded only if no order was placed with the key, and
/// replaces a recorded one only if it started before the live leases.
/// Answers one row: how many attempts it recorded (0 or 1) and the key's
/// row, if an order was placed with it.
const LEASE_UNLESS_PLACED: &str = "\
WITH placed AS (\
    SELECT buyer_regency, work_unit, key, request_hash, order_id, reservation_id, created_at \
    FROM idempotency_keys WHERE buyer_regency = $1 AND work_unit = $2 AND key = $3\
), leased AS (\
    INSERT INTO placing_attempts (buyer_regency, work_unit, key, reservation_id, started_at) \
    SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM placed) \
    ON CONFLICT (buyer_regency, work_unit, key) DO UPDATE \
    SET reservation_id = excluded.reservation_id, started_at = excluded.started_at \
    WHERE placing_attempts.started_at < $6 \
    RETURNING 1\
) \
SELECT (SELECT count(*) FROM leased) AS leased, placed.* \
FROM (SELECT 1) AS one LEFT JOIN placed ON true";

/// The order placed with `key`, if one was; otherwise takes the key's
/// placing lease as [`lease_attempt`] does, recording `row`. On PostgreSQL
/// one statement, so a placing makes one round trip before it reserves;
/// on SQLite the lookup, then the lease.
pub async fn lease_unless_placed(
    conn: &impl ConnectionTrait,
    key: &BuyerKey,
    row: attempt::Model,
    live_since: chrono::DateTime<chrono::Utc>,
) -> Result<Leasing, DbErr> {
    use sea_orm::{DbBackend, FromQueryResult, Statement};
    if conn.get_database_backend() != DbBackend::Postgres {
        if let Some(placed) = find_key(conn, key).await? {
            return Ok(Leasing::Placed(placed));
        }
        let leased = lease_attempt(conn, row, live_since).await?;
        return Ok(if leased {
            Leasing::Leased
        } else {
            Leasing::Busy
        });
    }
    let answer = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            LEASE_UNLESS_PLACED,
            [
                key.regency.clone().into(),
                key.work_unit.clone().into(),
                key.key.clone().into(),
                row.reservation_id.into(),
                row.started_at.into(),
                live_since.into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("the placing lease statement answered no row".into()))?;
    let placed: Option<String> = answer.try_get("", "order_id")?;
    if placed.is_some() {
        return Ok(Leasing::Placed(idempotency::Model::from_query_result(
            &answer, "",
        )?));
    }
    let leased: i64 = answer.try_get("", "leased")?;
    Ok(if leased > 0 {
        Leasing::Leased
    } else {
        Leasing::Busy
    })
}

fn forget_attempt_statement(key: &BuyerKey) -> DeleteStatement {
    attempt::Entity::delete_many()
        .filter(attempt::Column::BuyerRegency.eq(key.regency.as_str()))
        .filter(attempt::Column::WorkUnit.eq(key.work_unit.as_str()))
        .filter(attempt::Column::Key.eq(key.key.as_str()))
        .into_query()
}

/// Gives up a placing's lease but keeps its record for the sweeper: the
/// attempt is dated back to `at`, before any live lease.
pub async fn expire_lease(
    conn: &impl ConnectionTrait,
    key: &BuyerKey,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    attempt::Entity::update_many()
        .col_expr(attempt::Column::StartedAt, Expr::value(at))
        .filter(attempt::Column::BuyerRegency.eq(key.regency.as_str()))
        .filter(attempt::Column::WorkUnit.eq(key.work_unit.as_str()))
        .filter(attempt::Column::Key.eq(key.key.as_str()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends a placing attempt whose stock was given back or used.
pub async fn forget_attempt(conn: &impl ConnectionTrait, key: &BuyerKey) -> Result<(), DbErr> {
    conn.execute(&forget_attempt_statement(key)).await?;
    Ok(())
}

/// Attempts started before `before`, oldest first.
pub async fn stale_attempts(
    conn: &impl ConnectionTrait,
    before: chrono::DateTime<chrono::Utc>,
    limit: u64,
) -> Result<Vec<attempt::Model>, DbErr> {
    attempt::Entity::find()
        .filter(attempt::Column::StartedAt.lt(before))
        .order_by_asc(attempt::Column::StartedAt)
        .limit(limit)
        .all(conn)
        .await
}

/// Deletes `row` if no retry has refreshed it since it was read. Returns
/// whether this caller now owns its clean-up.
pub async fn claim_attempt(
    conn: &impl ConnectionTrait,
    row: &attempt::Model,
) -> Result<bool, DbErr> {
    let result = attempt::Entity::delete_many()
        .filter(attempt::Column::BuyerRegency.eq(row.buyer_regency.as_str()))
        .filter(attempt::Column::WorkUnit.eq(row.work_unit.as_str()))
        .filter(attempt::Column::Key.eq(row.key.as_str()))
        .filter(attempt::Column::StartedAt.eq(row.started_at))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Writes each of `rows` as the vendor's state, a statement per thousand,
/// unless the stored state is newer: a dead letter replayed late (an old
/// `VendorVerified` after a `VendorSuspended`) must not bring back a
/// status the vendor has left. A row without a name (a status change)
/// keeps the name already held: names are given once, at registration.
/// One row per vendor: a statement may change a row once.
pub async fn upsert_vendors(
    conn: &impl ConnectionTrait,
    rows: Vec<vendor::Model>,
) -> Result<(), DbErr> {
    use vendor::Column::*;
    for chunk in rows.chunks(1_000) {
        vendor::Entity::insert_many(chunk.iter().cloned().map(vendor::ActiveModel::from))
            .on_conflict(
                OnConflict::column(VendorId)
                    .update_columns([RegencyCode, LegalForm, Scale, Status, StatusAt])
                    .value(
                        Name,
                        Func::coalesce([
                            Expr::cust("NULLIF(excluded.name, '')"),
                            Expr::col((vendor::Entity, Name)),
                        ]),
                    )
                    .action_and_where(
                        Expr::col((vendor::Entity, StatusAt)).lte(Expr::cust("excluded.status_at")),
                    )
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

pub async fn find_vendor(
    conn: &impl ConnectionTrait,
    vendor_id: &str,
) -> Result<Option<vendor::Model>, DbErr> {
    vendor::Entity::find_by_id(vendor_id.to_string())
        .one(conn)
        .await
}

pub async fn find_order(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<order::Model>, DbErr> {
    order::Entity::find_by_id(id.to_string()).one(conn).await
}

pub async fn items(conn: &impl ConnectionTrait, order_id: &str) -> Result<Vec<item::Model>, DbErr> {
    item::Entity::find()
        .filter(item::Column::OrderId.eq(order_id))
        .order_by_asc(item::Column::ProductId)
        .all(conn)
        .await
}

/// The items of many orders, in one query.
pub async fn items_of(
    conn: &impl ConnectionTrait,
    order_ids: &[String],
) -> Result<Vec<item::Model>, DbErr> {
    db::in_chunks(order_ids, |chunk| {
        item::Entity::find()
            .filter(item::Column::OrderId.is_in(chunk.iter().cloned()))
            .order_by_asc(item::Column::OrderId)
            .order_by_asc(item::Column::ProductId)
            .all(conn)
    })
    .await
}

pub async fn history(
    conn: &impl ConnectionTrait,
    order_id: &str,
) -> Result<Vec<history::Model>, DbErr> {
    history::Entity::find()
        .filter(history::Column::OrderId.eq(order_id))
        .order_by_asc(history::Column::Id)
        .all(conn)
        .await
}

/// Writes `row`, whose version must be one more than the stored one.
/// Returns false if another change got there first.
pub async fn update_order(conn: &impl ConnectionTrait, row: order::Model) -> Result<bool, DbErr> {
    let id = row.id.clone();
    let expected = row.version - 1;
    let mut active = order::ActiveModel::from(row).reset_all();
    active.id = sea_orm::ActiveValue::NotSet;
    let result = order::Entity::update_many()
        .set(active)
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Version.eq(expected))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records one step of an order's lifecycle.
pub async fn insert_history(conn: &impl ConnectionTrait, row: history::Model) -> Result<(), DbErr> {
    history::Entity::insert(history::ActiveModel::from(row))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Which orders a caller may list.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// With `regency`: a work unit's name is unique only in its regency.
    pub work_unit: Option<String>,
    pub vendor_id: Option<String>,
    /// The regency of the buyer's work unit.
    pub regency: Option<String>,
    pub status: Option<OrderStatus>,
    pub placed_from: Option<chrono::DateTime<chrono::Utc>>,
    pub placed_until: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn list_orders(
    conn: &impl ConnectionTrait,
    filter: &OrderFilter,
    after_id: Option<&str>,
    limit: u64,
) -> Result<Vec<order::Model>, DbErr> {
    let mut query = order::Entity::find().order_by_asc(order::Column::Id);
    if let Some(v) = &filter.work_unit {
        query = query.filter(order::Column::BuyerWorkUnit.eq(v.as_str()));
    }
    if let Some(v) = &filter.vendor_id {
        query = query.filter(order::Column::VendorId.eq(v.as_str()));
    }
    if let Some(v) = &filter.regency {
        query = query.filter(order::Column::BuyerRegency.eq(v.as_str()));
    }
    if let Some(v) = filter.status {
        query = query.filter(order::Column::Status.eq(v));
    }
    if let Some(from) = filter.placed_from {
        query = query.filter(order::Column::PlacedAt.gte(from));
    }
    if let Some(until) = filter.placed_until {
        query = query.filter(order::Column::PlacedAt.lt(until));
    }
    if let Some(after) = after_id {
        query = query.filter(order::Column::Id.gt(after));
    }
    query.limit(limit).all(conn).await
}
