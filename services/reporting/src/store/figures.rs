//! The queries behind the public figures: order totals by key over a
//! period, and the summary's counts of vendors and listed products.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, UnionType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::entities::{
    order_total, order_total_all, order_total_period, regency, summary_count, watermark,
};
use crate::domain::calendar::Span;
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

/// One page of the figures of every key of `dimension` over `spans` (all
/// time when there are none): at most `limit` rows after `after`,
/// ordered, limited and resumed by the database, so that a dimension of a
/// million keys (national vendors, work units) costs a page. All time, a
/// month or a year is a walk down an index of one row per key; other
/// periods sum their spans' rows per key.
pub async fn totals_page(
    conn: &impl ConnectionTrait,
    dimension: Dimension,
    spans: &[Span],
    after: Option<&RowAfter>,
    limit: u64,
) -> Result<Vec<(String, i64, i64)>, DbErr> {
    match spans {
        [] => {
            use order_total_all::Column as C;
            let query = order_total_all::Entity::find()
                .select_only()
                .column(C::FigureKey)
                .column(C::Orders)
                .column(C::Value)
                .filter(C::Dimension.eq(dimension.as_str()));
            ranked_page(query, C::Orders, C::Value, C::FigureKey, after, limit)
                .all(conn)
                .await
        }
        [Span::Months(first, last) | Span::Years(first, last)] if first == last => {
            use order_total_period::Column as C;
            let query = order_total_period::Entity::find()
                .select_only()
                .column(C::FigureKey)
                .column(C::Orders)
                .column(C::Value)
                .filter(C::Dimension.eq(dimension.as_str()))
                .filter(C::Period.eq(first.as_str()));
            ranked_page(query, C::Orders, C::Value, C::FigureKey, after, limit)
                .all(conn)
                .await
        }
        [first, rest @ ..] => {
            let mut union = span_rows(dimension, first);
            for span in rest {
                union.union(UnionType::All, span_rows(dimension, span));
            }
            let key = Alias::new("figure_key");
            let mut query = Query::select();
            query
                .column(key.clone())
                .expr_as(sum("orders"), Alias::new("orders"))
                .expr_as(sum("value"), Alias::new("value"))
                .from_subquery(union, Alias::new("spans"))
                .group_by_col(key.clone())
                // A key whose orders all moved elsewhere sums to zero.
                .cond_having(
                    Condition::any()
                        .add(sum("orders").ne(0))
                        .add(sum("value").ne(0)),
                );
            if let Some(after) = after {
                query.cond_having(
                    Condition::any().add(sum("value").lt(after.value)).add(
                        Condition::all()
                            .add(sum("value").eq(after.value))
                            .add(Expr::col(key.clone()).gt(after.key.as_str())),
                    ),
                );
            }
            query
                .order_by_expr(sum("value"), Order::Desc)
                .order_by(key, Order::Asc)
                .limit(limit);
            let rows = conn
                .query_all_raw(conn.get_database_backend().build(&query))
                .await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get("", "figure_key")?,
                        row.try_get("", "orders")?,
                        row.try_get("", "value")?,
                    ))
                })
                .collect()
        }
    }
}

/// `query` of one row per key, ranked: keys whose figures are not both
/// zero, after `after`, highest value first then by key, `limit` of them.
/// The bound `value <= after.value` lets the rank index start the walk
/// where the last page ended.
fn ranked_page<E: EntityTrait>(
    query: Select<E>,
    orders: E::Column,
    value: E::Column,
    key: E::Column,
    after: Option<&RowAfter>,
    limit: u64,
) -> sea_orm::Selector<sea_orm::SelectGetableTuple<(String, i64, i64)>> {
    // A key whose orders all moved elsewhere keeps a zero row.
    let mut query = query.filter(Condition::any().add(orders.ne(0)).add(value.ne(0)));
    if let Some(after) = after {
        query = query.filter(value.lte(after.value)).filter(
            Condition::any()
                .add(value.lt(after.value))
                .add(key.gt(after.key.as_str())),
        );
    }
    query
        .order_by_desc(value)
        .order_by_asc(key)
        .limit(limit)
        .into_tuple()
}

/// The figure rows of one span: `figure_key`, `orders`, `value`.
fn span_rows(dimension: Dimension, span: &Span) -> SelectStatement {
    let mut query = Query::select();
    match span {
        Span::Days(from, until) => {
            use order_total::Column as C;
            query
                .columns([C::FigureKey, C::Orders, C::Value])
                .from(order_total::Entity)
                .and_where(C::Dimension.eq(dimension.as_str()))
                .and_where(C::Day.between(from.as_str(), until.as_str()));
        }
        Span::Months(first, last) | Span::Years(first, last) => {
            use order_total_period::Column as C;
            // Months and years share the column, and sort among each other
            // (`2024` < `2024-05` < `2025`): the length tells them apart.
            let length = if matches!(span, Span::Years(..)) {
                "LENGTH(period) = 4"
            } else {
                "LENGTH(period) = 7"
            };
            query
                .columns([C::FigureKey, C::Orders, C::Value])
                .from(order_total_period::Entity)
                .and_where(C::Dimension.eq(dimension.as_str()))
                .and_where(C::Period.between(first.as_str(), last.as_str()))
                .and_where(Expr::cust(length));
        }
    }
    query
}

/// Orders and value over every key of `dimension` over `spans` (all time
/// when there are none).
pub async fn totals_sum(
    conn: &impl ConnectionTrait,
    dimension: Dimension,
    spans: &[Span],
) -> Result<(i64, i64), DbErr> {
    if spans.is_empty() {
        let sums: Option<(i64, i64)> = order_total_all::Entity::find()
            .select_only()
            .column_as(sum("orders"), "orders")
            .column_as(sum("value"), "value")
            .filter(order_total_all::Column::Dimension.eq(dimension.as_str()))
            .into_tuple()
            .one(conn)
            .await?;
        return Ok(sums.unwrap_or((0, 0)));
    }
    let mut total = (0i64, 0i64);
    for span in spans {
        let mut query = Query::select();
        query
            .expr_as(sum("orders"), Alias::new("orders"))
            .expr_as(sum("value"), Alias::new("value"))
            .from_subquery(span_rows(dimension, span), Alias::new("span"));
        if let Some(row) = conn
            .query_one_raw(conn.get_database_backend().build(&query))
            .await?
        {
            let (orders, value): (i64, i64) =
                (row.try_get("", "orders")?, row.try_get("", "value")?);
            total = (
                total.0.saturating_add(orders),
                total.1.saturating_add(value),
            );
        }
    }
    Ok(total)
}

/// All-time orders and value of every key of `dimension`, highest value
/// first.
pub async fn totals_by_key(
    conn: &impl ConnectionTrait,
    dimension: Dimension,
) -> Result<Vec<(String, i64, i64)>, DbErr> {
    let rows: Vec<(String, i64, i64)> = order_total_all::Entity::find()
        .select_only()
        .column(order_total_all::Column::FigureKey)
        .column(order_total_all::Column::Orders)
        .column(order_total_all::Column::Value)
        .filter(order_total_all::Column::Dimension.eq(dimension.as_str()))
        .into_tuple()
        .all(conn)
        .await?;
    // A key whose orders all moved elsewhere keeps a zero row.
    let mut rows: Vec<_> = rows
        .into_iter()
        .filter(|(_, orders, value)| *orders != 0 || *value != 0)
        .collect();
    rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    Ok(rows)
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

/// The summary's counts of `measure` (`vendors`, `products`) by
/// `dimension` (see [`summary_count`]), by key, leaving out keys counted
/// down to nothing.
pub async fn counts_by(
    conn: &impl ConnectionTrait,
    measure: &str,
    dimension: &str,
) -> Result<Vec<(String, i64)>, DbErr> {
    use summary_count::Column as C;
    summary_count::Entity::find()
        .select_only()
        .column(C::FigureKey)
        .column(C::Counted)
        .filter(C::Measure.eq(measure))
        .filter(C::Dimension.eq(dimension))
        .filter(C::Counted.ne(0))
        .order_by_asc(C::FigureKey)
        .into_tuple()
        .all(conn)
        .await
}

/// One of the summary's counts; 0 when nothing was ever counted there.
pub async fn count_of(
    conn: &impl ConnectionTrait,
    measure: &str,
    dimension: &str,
    key: &str,
) -> Result<i64, DbErr> {
    Ok(
        summary_count::Entity::find_by_id((measure.into(), dimension.into(), key.into()))
            .one(conn)
            .await?
            .map_or(0, |row| row.counted),
    )
}

pub async fn regencies_joined(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(regency::Entity::find().count(conn).await? as i64)
}

pub async fn last_event_at(conn: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(watermark::Entity::find_by_id(1)
        .one(conn)
        .await?
        .map(|w| w.last_event_at))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use blangkon_testkit::fixtures::memory_database;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::calendar::Period;
    use crate::domain::figures::Contribution;
    use crate::store::{add_to_totals, migrations::Migrator};

    /// Days from 2025-11-01 on: a period may span whole years.
    fn day(offset: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 11, 1).unwrap() + chrono::Days::new(offset)
    }

    /// Orders and value by key of the contributions of days in `period`,
    /// ranked as a breakdown ranks them: counted one by one.
    fn recount(contributions: &[Contribution], period: &Period) -> Vec<(String, i64, i64)> {
        let mut by_key: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for c in contributions {
            let d = NaiveDate::parse_from_str(&c.day, "%Y-%m-%d").unwrap();
            if period.from.is_none_or(|f| f <= d) && period.until.is_none_or(|u| d <= u) {
                let sum = by_key.entry(c.key.clone()).or_default();
                sum.0 += c.orders;
                sum.1 += c.value;
            }
        }
        let mut rows: Vec<_> = by_key
            .into_iter()
            .filter(|(_, (orders, value))| *orders != 0 || *value != 0)
            .map(|(key, (orders, value))| (key, orders, value))
            .collect();
        rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        rows
    }

    fn contributions() -> impl Strategy<Value = Vec<Contribution>> {
        prop::collection::vec((0..6usize, 0..1300u64, -1..3i64, -50..400i64), 1..80).prop_map(
            |rows| {
                rows.into_iter()
                    .map(|(key, offset, orders, value)| Contribution {
                        dimension: Dimension::Vendor,
                        key: format!("v{key}"),
                        day: day(offset).format("%Y-%m-%d").to_string(),
                        orders,
                        value,
                    })
                    .collect()
            },
        )
    }

    /// A period whose ends fall on the months' and years' edges often.
    fn periods() -> impl Strategy<Value = Period> {
        let end = prop_oneof![
            Just(None),
            (0..1300u64).prop_map(|o| Some(day(o))),
            (0..44u32).prop_map(|m| {
                let first = NaiveDate::from_ymd_opt(2025, 11, 1).unwrap();
                first.checked_add_months(chrono::Months::new(m))
            }),
            (1..44u32).prop_map(|m| {
                let first = NaiveDate::from_ymd_opt(2025, 11, 1).unwrap();
                first
                    .checked_add_months(chrono::Months::new(m))
                    .and_then(|d| d.pred_opt())
            }),
        ];
        (end.clone(), end).prop_map(|(a, b)| match (a, b) {
            (Some(a), Some(b)) if a > b => Period {
                from: Some(b),
                until: Some(a),
            },
            (from, until) => Period { from, until },
        })
    }

    /// New figures by day go to the table a day at a time, whatever order
    /// they come in, each figure once.
    #[tokio::test]
    async fn figures_are_written_a_day_at_a_time() {
        let db = memory_database::<Migrator>().await;
        let contribution = |key: &str, day: &str, value: i64| Contribution {
            dimension: Dimension::Vendor,
            key: key.into(),
            day: day.into(),
            orders: 1,
            value,
        };
        add_to_totals(
            &db,
            &[
                contribution("v1", "2026-06-02", 10),
                contribution("v1", "2026-06-01", 20),
                contribution("v2", "2026-06-02", 30),
                contribution("v2", "2026-06-01", 40),
                contribution("v1", "2026-06-02", 5),
            ],
        )
        .await
        .unwrap();
        // SQLite's rowid: the order rows were inserted in.
        let written: Vec<(String, String, i64, i64)> = db
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "SELECT day, figure_key, orders, value FROM order_totals \
                 WHERE dimension = 'vendor' ORDER BY rowid",
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row.try_get("", "day").unwrap(),
                    row.try_get("", "figure_key").unwrap(),
                    row.try_get("", "orders").unwrap(),
                    row.try_get("", "value").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            written,
            [
                ("2026-06-01".into(), "v1".into(), 1, 20),
                ("2026-06-01".into(), "v2".into(), 1, 40),
                ("2026-06-02".into(), "v1".into(), 2, 15),
                ("2026-06-02".into(), "v2".into(), 1, 30),
            ]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Whatever the period, its breakdown read a page of two at a time
        /// and its totals are those of the days in it, counted one by one.
        #[test]
        fn a_breakdown_over_any_period_sums_its_days(
            contributions in contributions(),
            period in periods(),
        ) {
            let (pages, sum) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let db = memory_database::<Migrator>().await;
                    for chunk in contributions.chunks(7) {
                        add_to_totals(&db, chunk).await.unwrap();
                    }
                    let spans = period.spans();
                    let mut rows = Vec::new();
                    let mut after: Option<RowAfter> = None;
                    loop {
                        let page =
                            totals_page(&db, Dimension::Vendor, &spans, after.as_ref(), 2)
                                .await
                                .unwrap();
                        let Some((key, _, value)) = page.last() else { break };
                        after = Some(RowAfter { value: *value, key: key.clone() });
                        rows.extend(page);
                    }
                    let sum = totals_sum(&db, Dimension::Vendor, &spans).await.unwrap();
                    (rows, sum)
                });
            let expected = recount(&contributions, &period);
            prop_assert_eq!(&pages, &expected, "{:?}", period.spans());
            let orders: i64 = contributions.iter().filter(|c| {
                let d = NaiveDate::parse_from_str(&c.day, "%Y-%m-%d").unwrap();
                period.from.is_none_or(|f| f <= d) && period.until.is_none_or(|u| d <= u)
            }).map(|c| c.orders).sum();
            prop_assert_eq!(sum.0, orders);
            prop_assert_eq!(sum.1, expected.iter().map(|r| r.2).sum::<i64>());
        }
    }
}
