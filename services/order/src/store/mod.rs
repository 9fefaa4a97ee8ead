//! Persistence of the order service. Every function takes
//! `&impl ConnectionTrait`, so it runs on the pool or inside a transaction.

pub mod entities;
pub mod migrations;

use sea_orm::sea_query::InsertStatement;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

pub use entities::{history, idempotency, item, order};

pub async fn find_key(
    conn: &impl ConnectionTrait,
    work_unit: &str,
    key: &str,
) -> Result<Option<idempotency::Model>, DbErr> {
    idempotency::Entity::find_by_id((work_unit.to_string(), key.to_string()))
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

/// The rows of a newly placed order — its idempotency key, the order, its
/// items and its first history line — as inserts to write together with
/// its event (see `db::insert_all`).
pub fn new_order_inserts(
    key: idempotency::Model,
    row: order::Model,
    items: Vec<item::Model>,
    first: history::Model,
) -> Vec<InsertStatement> {
    vec![
        idempotency::Entity::insert(idempotency::ActiveModel::from(key)).into_query(),
        order::Entity::insert(order::ActiveModel::from(row)).into_query(),
        item::Entity::insert_many(items.into_iter().map(item::ActiveModel::from)).into_query(),
        history::Entity::insert(history::ActiveModel::from(first)).into_query(),
    ]
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
    pub work_unit: Option<String>,
    pub vendor_id: Option<String>,
    pub regency: Option<String>,
    pub status: Option<String>,
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
    if let Some(v) = &filter.status {
        query = query.filter(order::Column::Status.eq(v.as_str()));
    }
    if let Some(after) = after_id {
        query = query.filter(order::Column::Id.gt(after));
    }
    query.limit(limit).all(conn).await
}
