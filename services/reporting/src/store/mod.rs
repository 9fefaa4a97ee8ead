//! Persistence of the reporting service: the projection's writes and the
//! queries behind the figures. Every function takes `&impl
//! ConnectionTrait`, so it runs on the pool or inside the inbox
//! transaction.

pub mod entities;
pub mod migrations;

use std::collections::HashMap;

use blangkon_domain::OrderStatus;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};

pub use entities::{
    listed_count, order, order_item, order_total, order_total_all, product, regency, training,
    vendor, watermark,
};

use crate::domain::figures::{Contribution, Dimension, ItemFacts, OrderFacts};
use crate::domain::records::Names;

// ---- projection writes -------------------------------------------------

pub async fn upsert_regency(conn: &impl ConnectionTrait, row: regency::Model) -> Result<(), DbErr> {
    regency::Entity::insert(regency::ActiveModel::from(row))
        .on_conflict(
            OnConflict::column(regency::Column::Code)
                .update_columns([regency::Column::Name, regency::Column::JoinedAt])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
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

pub async fn save_vendor(conn: &impl ConnectionTrait, row: vendor::Model) -> Result<(), DbErr> {
    vendor::Entity::insert(vendor::ActiveModel::from(row))
        .on_conflict(
            OnConflict::column(vendor::Column::VendorId)
                .update_columns([
                    vendor::Column::Name,
                    vendor::Column::RegencyCode,
                    vendor::Column::LegalForm,
                    vendor::Column::Scale,
                    vendor::Column::Status,
                    vendor::Column::StatusAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Records a training; one seen before changes nothing.
pub async fn insert_training(
    conn: &impl ConnectionTrait,
    row: training::Model,
) -> Result<(), DbErr> {
    training::Entity::insert(training::ActiveModel::from(row))
        .on_conflict(
            OnConflict::column(training::Column::TrainingId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find_product(
    conn: &impl ConnectionTrait,
    product_id: &str,
) -> Result<Option<product::Model>, DbErr> {
    product::Entity::find_by_id(product_id.to_string())
        .one(conn)
        .await
}

pub async fn save_product(conn: &impl ConnectionTrait, row: product::Model) -> Result<(), DbErr> {
    product::Entity::insert(product::ActiveModel::from(row))
        .on_conflict(
            OnConflict::column(product::Column::ProductId)
                .update_columns([
                    product::Column::VendorId,
                    product::Column::CategoryCode,
                    product::Column::Listed,
                    product::Column::ChangedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

fn facts_of(row: order::Model, items: Vec<order_item::Model>) -> OrderFacts {
    OrderFacts {
        order_id: row.order_id,
        version: row.version,
        status: row.status,
        buyer_work_unit: row.buyer_work_unit,
        buyer_regency: row.buyer_regency,
        vendor_id: row.vendor_id,
        vendor_name: row.vendor_name,
        vendor_regency: row.vendor_regency,
        legal_form: row.legal_form,
        scale: row.scale,
        total: row.total,
        placed_at: row.placed_at,
        changed_at: row.changed_at,
        bast_date: row.bast_date,
        paid_at: row.paid_at,
        items: items
            .into_iter()
            .map(|i| ItemFacts {
                product_id: i.product_id,
                name: i.name,
                category_code: i.category_code,
                unit: i.unit,
                quantity: i.quantity,
                unit_price: i.unit_price,
                line_total: i.line_total,
            })
            .collect(),
    }
}

pub async fn find_order(
    conn: &impl ConnectionTrait,
    order_id: &str,
) -> Result<Option<OrderFacts>, DbErr> {
    let Some(row) = order::Entity::find_by_id(order_id.to_string())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let items = order_item::Entity::find()
        .filter(order_item::Column::OrderId.eq(order_id))
        .order_by_asc(order_item::Column::Line)
        .all(conn)
        .await?;
    Ok(Some(facts_of(row, items)))
}

/// Stores `facts` as the order's state; its items once, with the order's
/// first state (an order's lines never change after placing).
pub async fn save_order(
    conn: &impl ConnectionTrait,
    facts: &OrderFacts,
    first: bool,
) -> Result<(), DbErr> {
    let row = order::ActiveModel {
        order_id: Set(facts.order_id.clone()),
        version: Set(facts.version),
        status: Set(facts.status),
        buyer_work_unit: Set(facts.buyer_work_unit.clone()),
        buyer_regency: Set(facts.buyer_regency.clone()),
        vendor_id: Set(facts.vendor_id.clone()),
        vendor_name: Set(facts.vendor_name.clone()),
        vendor_regency: Set(facts.vendor_regency.clone()),
        legal_form: Set(facts.legal_form.clone()),
        scale: Set(facts.scale.clone()),
        total: Set(facts.total),
        placed_at: Set(facts.placed_at),
        placed_day: Set(facts.placed_day()),
        changed_at: Set(facts.changed_at),
        bast_date: Set(facts.bast_date.clone()),
        paid_at: Set(facts.paid_at),
    };
    order::Entity::insert(row)
        .on_conflict(
            OnConflict::column(order::Column::OrderId)
                .update_columns([
                    order::Column::Version,
                    order::Column::Status,
                    order::Column::ChangedAt,
                    order::Column::BastDate,
                    order::Column::PaidAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    if first && !facts.items.is_empty() {
        let items = facts
            .items
            .iter()
            .enumerate()
            .map(|(line, i)| order_item::ActiveModel {
                order_id: Set(facts.order_id.clone()),
                line: Set(line as i32),
                product_id: Set(i.product_id.clone()),
                name: Set(i.name.clone()),
                category_code: Set(i.category_code.clone()),
                unit: Set(i.unit.clone()),
                quantity: Set(i.quantity),
                unit_price: Set(i.unit_price),
                line_total: Set(i.line_total),
            });
        order_item::Entity::insert_many(items)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Adds each contribution to its running figure, by day and all-time, and
/// answers the all-time figure of every key it touched: two statements
/// whatever the number of keys.
pub async fn add_to_totals(
    conn: &impl ConnectionTrait,
    changes: &[Contribution],
) -> Result<Vec<order_total_all::Model>, DbErr> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let by_day = changes.iter().map(|c| order_total::ActiveModel {
        dimension: Set(c.dimension.as_str().to_string()),
        figure_key: Set(c.key.clone()),
        day: Set(c.day.clone()),
        orders: Set(c.orders),
        value: Set(c.value),
    });
    order_total::Entity::insert_many(by_day)
        .on_conflict(
            OnConflict::columns([
                order_total::Column::Dimension,
                order_total::Column::FigureKey,
                order_total::Column::Day,
            ])
            .value(
                order_total::Column::Orders,
                Expr::col((order_total::Entity, order_total::Column::Orders))
                    .add(Expr::cust("excluded.orders")),
            )
            .value(
                order_total::Column::Value,
                Expr::col((order_total::Entity, order_total::Column::Value))
                    .add(Expr::cust("excluded.value")),
            )
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    // One order has one placing day, so its changes touch each key once.
    let all_time = changes.iter().map(|c| order_total_all::ActiveModel {
        dimension: Set(c.dimension.as_str().to_string()),
        figure_key: Set(c.key.clone()),
        orders: Set(c.orders),
        value: Set(c.value),
    });
    order_total_all::Entity::insert_many(all_time)
        .on_conflict(
            OnConflict::columns([
                order_total_all::Column::Dimension,
                order_total_all::Column::FigureKey,
            ])
            .value(
                order_total_all::Column::Orders,
                Expr::col((order_total_all::Entity, order_total_all::Column::Orders))
                    .add(Expr::cust("excluded.orders")),
            )
            .value(
                order_total_all::Column::Value,
                Expr::col((order_total_all::Entity, order_total_all::Column::Value))
                    .add(Expr::cust("excluded.value")),
            )
            .to_owned(),
        )
        .exec_with_returning(conn)
        .await
}

/// Moves the watermark forward to `at`, never back: one statement.
pub async fn advance_watermark(
    conn: &impl ConnectionTrait,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    watermark::Entity::insert(watermark::ActiveModel {
        id: Set(1),
        last_event_at: Set(at),
    })
    .on_conflict(
        OnConflict::column(watermark::Column::Id)
            .update_column(watermark::Column::LastEventAt)
            .action_and_where(
                Expr::col((watermark::Entity, watermark::Column::LastEventAt))
                    .lt(Expr::cust("excluded.last_event_at")),
            )
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Empties the read model, the inbox and the outbox: the start of a
/// rebuild.
pub async fn clear(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    for table in [
        "listed_counts",
        "order_totals",
        "order_totals_all",
        "order_items",
        "orders",
        "products",
        "trainings",
        "vendors",
        "regencies",
        "watermark",
        "inbox",
    ] {
        conn.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    Ok(())
}

// ---- figures ------------------------------------------------------------

/// `SUM` of a bigint column as a bigint (PostgreSQL would answer numeric),
/// 0 over no rows.
fn sum(column: &str) -> Expr {
    Expr::cust(format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"))
}

/// Orders and value of every key of `dimension` whose orders were placed
/// between the days given (inclusive; `None` is open), highest value first.
pub async fn totals_by_key(
    conn: &impl ConnectionTrait,
    dimension: Dimension,
    from_day: Option<&str>,
    until_day: Option<&str>,
) -> Result<Vec<(String, i64, i64)>, DbErr> {
    let rows: Vec<(String, i64, i64)> = if from_day.is_none() && until_day.is_none() {
        order_total_all::Entity::find()
            .select_only()
            .column(order_total_all::Column::FigureKey)
            .column(order_total_all::Column::Orders)
            .column(order_total_all::Column::Value)
            .filter(order_total_all::Column::Dimension.eq(dimension.as_str()))
            .into_tuple()
            .all(conn)
            .await?
    } else {
        by_day(conn, dimension, from_day, until_day).await?
    };
    // A key whose orders all moved elsewhere keeps rows summing to zero.
    let mut rows: Vec<_> = rows
        .into_iter()
        .filter(|(_, orders, value)| *orders != 0 || *value != 0)
        .collect();
    rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    Ok(rows)
}

async fn by_day(
    conn: &impl ConnectionTrait,
    dimension: Dimension,
    from_day: Option<&str>,
    until_day: Option<&str>,
) -> Result<Vec<(String, i64, i64)>, DbErr> {
    let mut query = order_total::Entity::find()
        .select_only()
        .column(order_total::Column::FigureKey)
        .column_as(sum("orders"), "orders")
        .column_as(sum("value"), "value")
        .filter(order_total::Column::Dimension.eq(dimension.as_str()));
    if let Some(from) = from_day {
        query = query.filter(order_total::Column::Day.gte(from));
    }
    if let Some(until) = until_day {
        query = query.filter(order_total::Column::Day.lte(until));
    }
    query
        .group_by(order_total::Column::FigureKey)
        .into_tuple()
        .all(conn)
        .await
}

/// All-time orders and value of one key of one dimension.
pub async fn total_of(
    conn: &impl ConnectionTrait,
    dimension: Dimension,
    key: &str,
) -> Result<(i64, i64), DbErr> {
    Ok(
        order_total_all::Entity::find_by_id((dimension.as_str().to_string(), key.to_string()))
            .one(conn)
            .await?
            .map_or((0, 0), |row| (row.orders, row.value)),
    )
}

/// Vendors by one of their columns (`legal_form`, `scale`, `status`,
/// `regency_code`).
pub async fn vendors_by(
    conn: &impl ConnectionTrait,
    column: vendor::Column,
) -> Result<Vec<(String, i64)>, DbErr> {
    vendor::Entity::find()
        .select_only()
        .column(column)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(column)
        .order_by(column, Order::Asc)
        .into_tuple()
        .all(conn)
        .await
}

/// Vendors whose `column` is `key`.
pub async fn vendors_with(
    conn: &impl ConnectionTrait,
    column: vendor::Column,
    key: &str,
) -> Result<i64, DbErr> {
    Ok(vendor::Entity::find()
        .filter(column.eq(key))
        .count(conn)
        .await? as i64)
}

/// Moves a product between the listed counts: `-1` from where it was
/// counted, `+1` where it is counted now (a vendor and a top-level
/// category each); nothing when both are the same.
pub async fn move_listed(
    conn: &impl ConnectionTrait,
    from: Option<(&str, &str)>,
    to: Option<(&str, &str)>,
) -> Result<(), DbErr> {
    if from == to {
        return Ok(());
    }
    let changes = from
        .map(|key| (key, -1))
        .into_iter()
        .chain(to.map(|key| (key, 1)))
        .map(|((vendor_id, category), delta)| listed_count::ActiveModel {
            vendor_id: Set(vendor_id.to_string()),
            category: Set(category.to_string()),
            listed: Set(delta),
        });
    listed_count::Entity::insert_many(changes)
        .on_conflict(
            OnConflict::columns([
                listed_count::Column::VendorId,
                listed_count::Column::Category,
            ])
            .value(
                listed_count::Column::Listed,
                Expr::col((listed_count::Entity, listed_count::Column::Listed))
                    .add(Expr::cust("excluded.listed")),
            )
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn products_listed(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let n: Option<i64> = listed_count::Entity::find()
        .select_only()
        .column_as(sum("listed"), "n")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(n.unwrap_or(0))
}

/// Listed products by top-level category.
pub async fn products_listed_by_category(
    conn: &impl ConnectionTrait,
) -> Result<Vec<(String, i64)>, DbErr> {
    let rows: Vec<(String, i64)> = listed_count::Entity::find()
        .select_only()
        .column(listed_count::Column::Category)
        .column_as(sum("listed"), "n")
        .group_by(listed_count::Column::Category)
        .order_by(listed_count::Column::Category, Order::Asc)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().filter(|(_, n)| *n != 0).collect())
}

/// Listed products by their vendor's regency; `""` for products whose
/// vendor reporting has not heard of yet.
pub async fn products_listed_by_regency(
    conn: &impl ConnectionTrait,
) -> Result<Vec<(String, i64)>, DbErr> {
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COALESCE(v.regency_code, '') AS regency, \
             CAST(SUM(c.listed) AS BIGINT) AS n \
             FROM listed_counts c LEFT JOIN vendors v ON v.vendor_id = c.vendor_id \
             GROUP BY COALESCE(v.regency_code, '') ORDER BY 1",
        ))
        .await?;
    let rows: Vec<(String, i64)> = rows
        .iter()
        .map(|row| Ok((row.try_get("", "regency")?, row.try_get("", "n")?)))
        .collect::<Result<_, DbErr>>()?;
    Ok(rows.into_iter().filter(|(_, n)| *n != 0).collect())
}

/// Listed products in one top-level category.
pub async fn products_listed_in(conn: &impl ConnectionTrait, category: &str) -> Result<i64, DbErr> {
    let n: Option<i64> = listed_count::Entity::find()
        .select_only()
        .column_as(sum("listed"), "n")
        .filter(listed_count::Column::Category.eq(category))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(n.unwrap_or(0))
}

pub async fn regencies_joined(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(regency::Entity::find().count(conn).await? as i64)
}

pub async fn vendors_trained(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let n: Option<i64> = training::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(DISTINCT vendor_id)"), "n")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(n.unwrap_or(0))
}

pub async fn last_event_at(conn: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(watermark::Entity::find_by_id(1)
        .one(conn)
        .await?
        .map(|w| w.last_event_at))
}

pub async fn regency_names(
    conn: &impl ConnectionTrait,
    codes: &[String],
) -> Result<HashMap<String, String>, DbErr> {
    if codes.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(regency::Entity::find()
        .filter(regency::Column::Code.is_in(codes.iter().cloned()))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.code, r.name))
        .collect())
}

pub async fn vendor_names(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<HashMap<String, String>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(vendor::Entity::find()
        .filter(vendor::Column::VendorId.is_in(ids.iter().cloned()))
        .all(conn)
        .await?
        .into_iter()
        .map(|v| (v.vendor_id, v.name))
        .collect())
}

/// The names reporting knows for an order's vendor and regencies.
pub async fn names_for(conn: &impl ConnectionTrait, order: &OrderFacts) -> Result<Names, DbErr> {
    Ok(names_for_all(conn, std::slice::from_ref(order))
        .await?
        .pop()
        .unwrap_or_default())
}

/// [`names_for`] each of `orders`, in two queries.
pub async fn names_for_all(
    conn: &impl ConnectionTrait,
    orders: &[OrderFacts],
) -> Result<Vec<Names>, DbErr> {
    let mut codes: Vec<String> = orders
        .iter()
        .flat_map(|o| [o.vendor_regency.clone(), o.buyer_regency.clone()])
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let mut vendor_ids: Vec<String> = orders.iter().map(|o| o.vendor_id.clone()).collect();
    vendor_ids.sort_unstable();
    vendor_ids.dedup();
    let regencies = regency_names(conn, &codes).await?;
    let vendors = vendor_names(conn, &vendor_ids).await?;
    let name = |map: &HashMap<String, String>, key: &str| map.get(key).cloned().unwrap_or_default();
    Ok(orders
        .iter()
        .map(|o| Names {
            // The name the order was placed with; else what the vendor's
            // own events said.
            vendor: if o.vendor_name.is_empty() {
                name(&vendors, &o.vendor_id)
            } else {
                o.vendor_name.clone()
            },
            vendor_regency: name(&regencies, &o.vendor_regency),
            buyer_regency: name(&regencies, &o.buyer_regency),
        })
        .collect())
}

/// Which orders a ledger page or an export reads.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub vendor_id: Option<String>,
    pub regency_code: Option<String>,
    pub category_code: Option<String>,
    pub from_day: Option<String>,
    pub until_day: Option<String>,
}

/// Where a page starts: after this order in the page's order.
#[derive(Debug, Clone)]
pub struct After {
    pub placed_at: DateTime<Utc>,
    pub order_id: String,
}

/// One page of orders with their items. `newest_first` for the ledger;
/// oldest first for exports, so a package's releases keep their order.
pub async fn orders_page(
    conn: &impl ConnectionTrait,
    filter: &OrderFilter,
    after: Option<&After>,
    newest_first: bool,
    limit: u64,
) -> Result<Vec<OrderFacts>, DbErr> {
    let mut query = order::Entity::find();
    if let Some(status) = filter.status {
        query = query.filter(order::Column::Status.eq(status));
    }
    if let Some(vendor_id) = &filter.vendor_id {
        query = query.filter(order::Column::VendorId.eq(vendor_id.as_str()));
    }
    if let Some(regency) = &filter.regency_code {
        query = query.filter(
            Condition::any()
                .add(order::Column::VendorRegency.eq(regency.as_str()))
                .add(order::Column::BuyerRegency.eq(regency.as_str())),
        );
    }
    if let Some(code) = &filter.category_code {
        let with_category = order_item::Entity::find()
            .select_only()
            .column(order_item::Column::OrderId)
            .filter(
                Condition::any()
                    .add(order_item::Column::CategoryCode.eq(code.as_str()))
                    .add(order_item::Column::CategoryCode.starts_with(format!("{code}."))),
            );
        query = query.filter(
            order::Column::OrderId.in_subquery(sea_orm::QueryTrait::into_query(with_category)),
        );
    }
    if let Some(from) = &filter.from_day {
        query = query.filter(order::Column::PlacedDay.gte(from.as_str()));
    }
    if let Some(until) = &filter.until_day {
        query = query.filter(order::Column::PlacedDay.lte(until.as_str()));
    }
    if let Some(after) = after {
        let (placed_beyond, id_beyond) = if newest_first {
            (
                order::Column::PlacedAt.lt(after.placed_at),
                order::Column::OrderId.lt(after.order_id.as_str()),
            )
        } else {
            (
                order::Column::PlacedAt.gt(after.placed_at),
                order::Column::OrderId.gt(after.order_id.as_str()),
            )
        };
        query = query.filter(
            Condition::any().add(placed_beyond).add(
                Condition::all()
                    .add(order::Column::PlacedAt.eq(after.placed_at))
                    .add(id_beyond),
            ),
        );
    }
    let direction = if newest_first {
        Order::Desc
    } else {
        Order::Asc
    };
    let rows = query
        .order_by(order::Column::PlacedAt, direction.clone())
        .order_by(order::Column::OrderId, direction)
        .limit(limit)
        .all(conn)
        .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.order_id.clone()).collect();
    let mut items: HashMap<String, Vec<order_item::Model>> = HashMap::new();
    if !ids.is_empty() {
        for item in order_item::Entity::find()
            .filter(order_item::Column::OrderId.is_in(ids))
            .order_by_asc(order_item::Column::OrderId)
            .order_by_asc(order_item::Column::Line)
            .all(conn)
            .await?
        {
            items.entry(item.order_id.clone()).or_default().push(item);
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let lines = items.remove(&row.order_id).unwrap_or_default();
            facts_of(row, lines)
        })
        .collect())
}
