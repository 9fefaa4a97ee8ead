//! Pages of the public ledger and of the OCDS export: orders with their
//! items, filtered, in a stable order with keyset cursors.

use blangkon_platform::db;
use std::collections::HashMap;

use blangkon_domain::OrderStatus;
use blangkon_platform::time::wib;
use chrono::{DateTime, Days, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entities::{order, order_item};
use super::facts_of;
use crate::domain::figures::OrderFacts;

/// The instant the WIB day `days` after `day` (`YYYY-MM-DD`) starts.
fn wib_day_start(day: &str, days: u64) -> Option<DateTime<Utc>> {
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()?
        .checked_add_days(Days::new(days))?;
    let start = day
        .and_hms_opt(0, 0, 0)?
        .and_local_timezone(wib())
        .single()?;
    Some(start.with_timezone(&Utc))
}

/// Which orders a ledger page or an export reads.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// One order, by id.
    pub order_id: Option<String>,
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
    if let Some(id) = &filter.order_id {
        query = query.filter(order::Column::OrderId.eq(id.as_str()));
    }
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
    // The period as instants (placed_day is the WIB day of placed_at, so
    // the same orders): the page is read in placed_at order, and bounds on
    // it let PostgreSQL walk that index from the period's edge instead of
    // sorting the whole period's orders (a month deep in a national year:
    // 80 ms a page, not 0.1). Bounds on placed_day as well tempted the
    // generic plan of the prepared statement into the orders_day index
    // and that sort (31 ms).
    if let Some(from) = &filter.from_day {
        query = match wib_day_start(from, 0) {
            Some(start) => query.filter(order::Column::PlacedAt.gte(start)),
            None => query.filter(order::Column::PlacedDay.gte(from.as_str())),
        };
    }
    if let Some(until) = &filter.until_day {
        query = match wib_day_start(until, 1) {
            Some(end) => query.filter(order::Column::PlacedAt.lt(end)),
            None => query.filter(order::Column::PlacedDay.lte(until.as_str())),
        };
    }
    if let Some(after) = after {
        // A row comparison, which PostgreSQL takes as a bound of the index
        // scan: a page deep in the ledger costs what the first one does.
        let key = Expr::tuple([
            Expr::col(order::Column::PlacedAt),
            Expr::col(order::Column::OrderId),
        ]);
        let cursor = Expr::tuple([
            Expr::val(after.placed_at),
            Expr::val(after.order_id.as_str()),
        ]);
        query = query.filter(if newest_first {
            key.lt(cursor)
        } else {
            key.gt(cursor)
        });
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
        let found = db::in_chunks(&ids, |chunk| {
            order_item::Entity::find()
                .filter(order_item::Column::OrderId.is_in(chunk.iter().cloned()))
                .order_by_asc(order_item::Column::OrderId)
                .order_by_asc(order_item::Column::Line)
                .all(conn)
        })
        .await?;
        for item in found {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wib_day_starts_at_five_in_the_afternoon_utc_the_day_before() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().ok();
        assert_eq!(wib_day_start("2026-06-01", 0), at("2026-05-31T17:00:00Z"));
        assert_eq!(wib_day_start("2026-06-28", 1), at("2026-06-28T17:00:00Z"));
        assert_eq!(wib_day_start("2026-12-31", 1), at("2026-12-31T17:00:00Z"));
        assert_eq!(wib_day_start("2026-13-01", 0), None);
        // The last day chrono knows has no next one: no bound, no panic.
        assert_eq!(wib_day_start(&NaiveDate::MAX.to_string(), 1), None);
        // The day's instants all fall in [start, next start).
        let placed = at("2026-06-01T16:59:59Z").unwrap_or_default();
        assert_eq!(crate::domain::calendar::day_of(placed), "2026-06-01");
        assert!(wib_day_start("2026-06-01", 0) <= Some(placed));
        assert!(Some(placed) < wib_day_start("2026-06-01", 1));
    }
}
