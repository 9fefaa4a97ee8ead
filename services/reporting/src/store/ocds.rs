//! The versions of orders behind OCDS publication: each version an
//! immutable release (the order as it stood at that version), paged by the
//! day it happened, and all of one order's for its record.

use std::collections::HashMap;

use blangkon_platform::db;
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entities::{order, order_version};
use super::facts_of;
use crate::domain::calendar;
use crate::domain::figures::OrderFacts;

/// Where a page of releases starts: after this version, in release order
/// (when it happened, then the order, then the version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseAfter {
    pub changed_at: DateTime<Utc>,
    pub order_id: String,
    pub version: i64,
}

/// The row that keeps an order's version as `facts` stand.
pub fn version_row(facts: &OrderFacts) -> order_version::Model {
    order_version::Model {
        order_id: facts.order_id.clone(),
        version: facts.version,
        status: facts.status,
        // Microseconds, as PostgreSQL keeps them, on SQLite too: the
        // release cursor is in microseconds, and a finer time would
        // repeat its row.
        changed_at: facts.changed_at.trunc_subsecs(6),
        changed_day: calendar::day_of(facts.changed_at),
        bast_date: facts.bast_date.clone(),
        paid_at: facts.paid_at,
    }
}

/// Keeps each of `orders` as the version it is, once: a version seen
/// before changes nothing. A statement per thousand versions.
pub async fn save_order_versions(
    conn: &impl ConnectionTrait,
    orders: &[&OrderFacts],
) -> Result<(), DbErr> {
    for chunk in orders.chunks(1_000) {
        let rows = chunk
            .iter()
            .map(|facts| order_version::ActiveModel::from(version_row(facts)));
        // A version twice in one statement is kept once too.
        order_version::Entity::insert_many(rows)
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([
                    order_version::Column::OrderId,
                    order_version::Column::Version,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Keeps the current version of every order that has none kept, a
/// thousand orders a statement; answers how many. The migration that began
/// keeping versions runs it for the orders it finds, and the service at
/// each start for those a replica of an older release changed meanwhile
/// (a rolling upgrade runs both for a while). Plain SQL over the columns
/// it names, so that a later migration adding a column to `orders` leaves
/// it working.
pub async fn keep_current_versions(conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use sea_orm::Statement;
    let backend = conn.get_database_backend();
    let mut kept = 0;
    loop {
        let rows = conn
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT o.order_id, o.version, o.status, o.changed_at, o.bast_date, o.paid_at \
                 FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_versions v \
                 WHERE v.order_id = o.order_id AND v.version = o.version) LIMIT 1000",
            ))
            .await?;
        if rows.is_empty() {
            return Ok(kept);
        }
        let versions = rows
            .iter()
            .map(|row| {
                let changed_at: DateTime<Utc> = row.try_get("", "changed_at")?;
                Ok(order_version::ActiveModel {
                    order_id: Set(row.try_get("", "order_id")?),
                    version: Set(row.try_get("", "version")?),
                    status: Set(row.try_get("", "status")?),
                    changed_at: Set(changed_at.trunc_subsecs(6)),
                    changed_day: Set(calendar::day_of(changed_at)),
                    bast_date: Set(row.try_get("", "bast_date")?),
                    paid_at: Set(row.try_get("", "paid_at")?),
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        kept += versions.len() as u64;
        let key = [
            order_version::Column::OrderId,
            order_version::Column::Version,
        ];
        order_version::Entity::insert_many(versions)
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns(key)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
}

/// A page of the versions that happened on the WIB days `from..=until`,
/// in release order, each as its order stood then.
pub async fn versions_page(
    conn: &impl ConnectionTrait,
    from_day: &str,
    until_day: &str,
    after: Option<&ReleaseAfter>,
    limit: u64,
) -> Result<Vec<OrderFacts>, DbErr> {
    use order_version::Column as V;
    let mut query = order_version::Entity::find()
        .filter(V::ChangedDay.gte(from_day))
        .filter(V::ChangedDay.lte(until_day));
    if let Some(after) = after {
        query = query.filter(
            Condition::any()
                .add(V::ChangedAt.gt(after.changed_at))
                .add(
                    Condition::all()
                        .add(V::ChangedAt.eq(after.changed_at))
                        .add(V::OrderId.gt(after.order_id.as_str())),
                )
                .add(
                    Condition::all()
                        .add(V::ChangedAt.eq(after.changed_at))
                        .add(V::OrderId.eq(after.order_id.as_str()))
                        .add(V::Version.gt(after.version)),
                ),
        );
    }
    let versions = query
        .order_by_asc(V::ChangedAt)
        .order_by_asc(V::OrderId)
        .order_by_asc(V::Version)
        .limit(limit)
        .all(conn)
        .await?;
    as_orders_then(conn, versions).await
}

/// Every version of `order_id`, oldest first; empty for an order the read
/// model does not hold.
pub async fn versions_of(
    conn: &impl ConnectionTrait,
    order_id: &str,
) -> Result<Vec<OrderFacts>, DbErr> {
    let versions = order_version::Entity::find()
        .filter(order_version::Column::OrderId.eq(order_id))
        .order_by_asc(order_version::Column::Version)
        .all(conn)
        .await?;
    as_orders_then(conn, versions).await
}

/// Where a page of placed orders starts: after this order of this day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedAfter {
    pub day: String,
    pub order_id: String,
}

/// A page of the orders placed on the WIB days `from..=until`, after
/// `after`, by day then id (the index `orders_day`): the records of a
/// year's bulk file, a page at a time.
pub async fn orders_placed(
    conn: &impl ConnectionTrait,
    from_day: &str,
    until_day: &str,
    after: Option<&PlacedAfter>,
    limit: u64,
) -> Result<Vec<PlacedAfter>, DbErr> {
    use order::Column as O;
    let mut query = order::Entity::find()
        .select_only()
        .column(O::PlacedDay)
        .column(O::OrderId)
        .filter(O::PlacedDay.gte(from_day))
        .filter(O::PlacedDay.lte(until_day));
    if let Some(after) = after {
        query = query.filter(
            Condition::any()
                .add(O::PlacedDay.gt(after.day.as_str()))
                .add(
                    Condition::all()
                        .add(O::PlacedDay.eq(after.day.as_str()))
                        .add(O::OrderId.gt(after.order_id.as_str())),
                ),
        );
    }
    let rows = query
        .order_by_asc(O::PlacedDay)
        .order_by_asc(O::OrderId)
        .limit(limit)
        .into_tuple::<(String, String)>()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(day, order_id)| PlacedAfter { day, order_id })
        .collect())
}

/// Every version of each of `order_ids`, by order then version.
pub async fn versions_of_all(
    conn: &impl ConnectionTrait,
    order_ids: &[String],
) -> Result<Vec<OrderFacts>, DbErr> {
    let versions = db::in_chunks(order_ids, |chunk| {
        order_version::Entity::find()
            .filter(order_version::Column::OrderId.is_in(chunk.iter().cloned()))
            .order_by_asc(order_version::Column::OrderId)
            .order_by_asc(order_version::Column::Version)
            .all(conn)
    })
    .await?;
    as_orders_then(conn, versions).await
}

/// Each version as its order stood then: the order's unchanging parts
/// (buyer, vendor, lines, total) with the version's own.
async fn as_orders_then(
    conn: &impl ConnectionTrait,
    versions: Vec<order_version::Model>,
) -> Result<Vec<OrderFacts>, DbErr> {
    let mut ids: Vec<String> = versions.iter().map(|v| v.order_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let orders: HashMap<String, order::Model> = db::in_chunks(&ids, |chunk| {
        order::Entity::find()
            .filter(order::Column::OrderId.is_in(chunk.iter().cloned()))
            .all(conn)
    })
    .await?
    .into_iter()
    .map(|o| (o.order_id.clone(), o))
    .collect();
    let items = super::items_of(conn, &ids).await?;
    Ok(versions
        .into_iter()
        .filter_map(|v| {
            let order = orders.get(&v.order_id)?.clone();
            let lines = items.get(&v.order_id).cloned().unwrap_or_default();
            let mut facts = facts_of(order, lines);
            facts.version = v.version;
            facts.status = v.status;
            facts.changed_at = v.changed_at;
            facts.bast_date = v.bast_date;
            facts.paid_at = v.paid_at;
            Some(facts)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use blangkon_testkit::fixtures::memory_database;

    use super::*;
    use crate::domain::figures::tests::order;
    use crate::store::{migrations::Migrator, save_orders};

    #[tokio::test]
    async fn an_order_changed_without_its_version_kept_gets_it_once() {
        let db = memory_database::<Migrator>().await;
        // As a replica of the release before versions were kept changes
        // an order: the order row, no version.
        let placed = order("placed", 0);
        save_orders(&db, &[(&placed, true)]).await.unwrap();
        save_order_versions(&db, &[&placed]).await.unwrap();
        let accepted = order("accepted", 1);
        save_orders(&db, &[(&accepted, false)]).await.unwrap();
        assert_eq!(keep_current_versions(&db).await.unwrap(), 1);
        assert_eq!(keep_current_versions(&db).await.unwrap(), 0, "once");
        let versions = versions_of(&db, "o-1").await.unwrap();
        let kept: Vec<(i64, &str)> = versions
            .iter()
            .map(|v| (v.version, v.status.as_str()))
            .collect();
        assert_eq!(kept, [(0, "placed"), (1, "accepted")]);
        assert_eq!(versions[1].changed_at, accepted.changed_at);
        assert_eq!(versions[1].items.len(), 2, "as the order stood then");
    }
}
