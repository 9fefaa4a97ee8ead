//! The queries behind the public figures: order totals by key and day,
//! vendors and listed products by what they are counted by.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};

use super::entities::{
    listed_count, order_total, order_total_all, regency, training, vendor, watermark,
};
use crate::domain::figures::Dimension;

/// `SUM` of a bigint column as a bigint (PostgreSQL would answer numeric),
/// 0 over no rows.
fn sum(column: &str) -> Expr {
    Expr::cust(format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"))
}

/// Where a page of a breakdown ended: its last row's value and key. Rows
/// go by value, highest first, then by key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowAfter {
    pub value: i64,
    pub key: String,
}

/// One page of [`totals_by_key`]: at most `limit` rows after `after`,
/// ordered, limited and resumed by the database, so that a dimension of a
/// million keys (national vendors, work units) costs a page.
pub async fn totals_page(
    conn: &impl ConnectionTrait,
    dimension: Dimension,
    from_day: Option<&str>,
    until_day: Option<&str>,
    after: Option<&RowAfter>,
    limit: u64,
) -> Result<Vec<(String, i64, i64)>, DbErr> {
    if from_day.is_none() && until_day.is_none() {
        use order_total_all::Column as C;
        let mut query = order_total_all::Entity::find()
            .select_only()
            .column(C::FigureKey)
            .column(C::Orders)
            .column(C::Value)
            .filter(C::Dimension.eq(dimension.as_str()))
            // A key whose orders all moved elsewhere keeps a zero row.
            .filter(Condition::any().add(C::Orders.ne(0)).add(C::Value.ne(0)));
        if let Some(after) = after {
            query = query.filter(
                Condition::any().add(C::Value.lt(after.value)).add(
                    Condition::all()
                        .add(C::Value.eq(after.value))
                        .add(C::FigureKey.gt(after.key.as_str())),
                ),
            );
        }
        return query
            .order_by_desc(C::Value)
            .order_by_asc(C::FigureKey)
            .limit(limit)
            .into_tuple()
            .all(conn)
            .await;
    }
    use order_total::Column as C;
    let mut query = order_total::Entity::find()
        .select_only()
        .column(C::FigureKey)
        .column_as(sum("orders"), "orders")
        .column_as(sum("value"), "value")
        .filter(C::Dimension.eq(dimension.as_str()));
    if let Some(from) = from_day {
        query = query.filter(C::Day.gte(from));
    }
    if let Some(until) = until_day {
        query = query.filter(C::Day.lte(until));
    }
    query = query.group_by(C::FigureKey).having(
        Condition::any()
            .add(sum("orders").ne(0))
            .add(sum("value").ne(0)),
    );
    if let Some(after) = after {
        query = query.having(
            Condition::any().add(sum("value").lt(after.value)).add(
                Condition::all()
                    .add(sum("value").eq(after.value))
                    .add(Expr::col(C::FigureKey).gt(after.key.as_str())),
            ),
        );
    }
    query
        .order_by(sum("value"), Order::Desc)
        .order_by(C::FigureKey, Order::Asc)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// Orders and value over every key of `dimension` between the days given.
pub async fn totals_sum(
    conn: &impl ConnectionTrait,
    dimension: Dimension,
    from_day: Option<&str>,
    until_day: Option<&str>,
) -> Result<(i64, i64), DbErr> {
    let sums: Option<(i64, i64)> = if from_day.is_none() && until_day.is_none() {
        order_total_all::Entity::find()
            .select_only()
            .column_as(sum("orders"), "orders")
            .column_as(sum("value"), "value")
            .filter(order_total_all::Column::Dimension.eq(dimension.as_str()))
            .into_tuple()
            .one(conn)
            .await?
    } else {
        let mut query = order_total::Entity::find()
            .select_only()
            .column_as(sum("orders"), "orders")
            .column_as(sum("value"), "value")
            .filter(order_total::Column::Dimension.eq(dimension.as_str()));
        if let Some(from) = from_day {
            query = query.filter(order_total::Column::Day.gte(from));
        }
        if let Some(until) = until_day {
            query = query.filter(order_total::Column::Day.lte(until));
        }
        query.into_tuple().one(conn).await?
    };
    Ok(sums.unwrap_or((0, 0)))
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
