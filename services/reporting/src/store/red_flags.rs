//! The red flags as stored: events mark the scopes an order's coming or
//! going touches ([`mark_dirty`]), the flags' task recomputes the marked
//! scopes from the read model (see `domain::red_flags`) one round at a
//! time, and the difference to what was stored is written and answered,
//! for the analysts' stream.
//!
//! Rounds run one at a time (the task's lock); on PostgreSQL a round holds
//! the lock of all flags shared, a recomputation of every flag holds it
//! exclusively. A vendor's verification and a new order to it serialize on
//! the vendor's lock, so the verification lists the order or the order is
//! marked after the verification committed. SQLite has one writer at a
//! time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use blangkon_domain::OrderStatus;
use blangkon_platform::db;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use sha2::{Digest, Sha256};

use super::entities::{order, order_item, red_flag, red_flag_dirty, red_flag_rules, vendor};
use crate::domain::red_flags::{
    Basis, FlagKind, FlagOrder, PricedLine, RedFlag, Scope, Thresholds, category_price_flags,
    concentration, concentration_flag, concentration_flags, order_flags, own_price_flags,
    price_outliers, split_flags, upper_fence,
};

/// What a recomputation changed: flags raised or whose orders changed
/// (streamed), flags whose figures alone moved (a category's fence with
/// each new price, a regency's spending with each order: stored, not
/// streamed, or every order would republish them), flags cleared.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FlagChanges {
    pub raised: Vec<RedFlag>,
    pub updated: Vec<RedFlag>,
    pub cleared: Vec<RedFlag>,
}

impl FlagChanges {
    pub fn is_empty(&self) -> bool {
        self.raised.is_empty() && self.updated.is_empty() && self.cleared.is_empty()
    }
}

/// The advisory lock a round holds shared and a recomputation of all flags
/// exclusively ("blankonf").
const ALL_FLAGS_LOCK: i64 = 0x626c_616e_6b6f_6e66;

/// The advisory-lock key of a vendor's verification date (what a new
/// order to it reads and a verification changes): the first eight bytes
/// of a SHA-256 (a collision only makes two vendors wait for each other).
fn vendor_lock(vendor_id: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(b"vendor\0")
        .chain_update(vendor_id.as_bytes())
        .finalize();
    i64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
}

/// Takes advisory lock `key` with `function` until the transaction ends.
async fn lock(conn: &impl ConnectionTrait, function: &str, key: i64) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("SELECT {function}($1)"),
        [key.into()],
    ))
    .await?;
    Ok(())
}

/// Statuses the rules leave out: a refused or cancelled order bought
/// nothing.
const NOT_TRANSACTIONS: [OrderStatus; 2] = [OrderStatus::Rejected, OrderStatus::Cancelled];

fn flag_order(row: order::Model) -> FlagOrder {
    FlagOrder {
        order_id: row.order_id,
        buyer_work_unit: row.buyer_work_unit,
        buyer_regency: row.buyer_regency,
        vendor_id: row.vendor_id,
        placed_at: row.placed_at,
        total: row.total,
    }
}

fn priced_line(item: order_item::Model, order: &FlagOrder) -> PricedLine {
    PricedLine {
        order_id: item.order_id,
        line: item.line,
        product_id: item.product_id,
        category_code: item.category_code,
        unit: item.unit,
        unit_price: item.unit_price,
        placed_at: order.placed_at,
        buyer_work_unit: order.buyer_work_unit.clone(),
        buyer_regency: order.buyer_regency.clone(),
        vendor_id: order.vendor_id.clone(),
    }
}

/// The orders of an order scope or of a scope of orders; `None` for the
/// price scopes.
fn orders_of(scope: &Scope) -> Option<Condition> {
    use order::Column;
    Some(match scope {
        Scope::Order(id) => Condition::all().add(Column::OrderId.eq(id.as_str())),
        Scope::BuyerVendor {
            regency,
            work_unit,
            vendor_id,
        } => Condition::all()
            .add(Column::BuyerRegency.eq(regency.as_str()))
            .add(Column::BuyerWorkUnit.eq(work_unit.as_str()))
            .add(Column::VendorId.eq(vendor_id.as_str())),
        Scope::WorkUnit { regency, work_unit } => Condition::all()
            .add(Column::BuyerRegency.eq(regency.as_str()))
            .add(Column::BuyerWorkUnit.eq(work_unit.as_str())),
        Scope::Regency(code) => Condition::all().add(Column::BuyerRegency.eq(code.as_str())),
        Scope::CategoryUnit { .. } | Scope::Product(_) => return None,
    })
}

/// The transactions of an order scope or of a scope of orders.
async fn orders_in(conn: &impl ConnectionTrait, scope: &Scope) -> Result<Vec<FlagOrder>, DbErr> {
    use order::Column;
    let Some(of_scope) = orders_of(scope) else {
        return Ok(Vec::new());
    };
    Ok(order::Entity::find()
        .filter(of_scope)
        .filter(Column::Status.is_not_in(NOT_TRANSACTIONS))
        .all(conn)
        .await?
        .into_iter()
        .map(flag_order)
        .collect())
}

/// The order lines of a price scope; `None` for the others.
fn lines_of(scope: &Scope) -> Option<Condition> {
    use order_item::Column;
    Some(match scope {
        Scope::CategoryUnit { category, unit } => Condition::all()
            .add(Column::CategoryCode.eq(category.as_str()))
            .add(Column::Unit.eq(unit.as_str())),
        Scope::Product(id) => Condition::all().add(Column::ProductId.eq(id.as_str())),
        _ => return None,
    })
}

/// Lines of transactions: of orders neither rejected nor cancelled (few,
/// so the database excludes them from a short list).
fn of_transactions() -> SimpleExpr {
    Expr::col(order_item::Column::OrderId).not_in_subquery(
        Query::select()
            .column(order::Column::OrderId)
            .from(order::Entity)
            .and_where(order::Column::Status.is_in(NOT_TRANSACTIONS))
            .to_owned(),
    )
}

/// The unit prices of a price scope's lines, of transactions only.
async fn prices_in(conn: &impl ConnectionTrait, scope: &Scope) -> Result<Vec<i64>, DbErr> {
    let Some(of_scope) = lines_of(scope) else {
        return Ok(Vec::new());
    };
    order_item::Entity::find()
        .select_only()
        .column(order_item::Column::UnitPrice)
        .filter(of_scope)
        .filter(of_transactions())
        .into_tuple::<i64>()
        .all(conn)
        .await
}

/// The order lines of a price scope, of transactions only, priced above
/// `floor` when given.
async fn lines_in(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    above: Option<i64>,
) -> Result<Vec<PricedLine>, DbErr> {
    let Some(mut of_scope) = lines_of(scope) else {
        return Ok(Vec::new());
    };
    if let Some(floor) = above {
        of_scope = of_scope.add(order_item::Column::UnitPrice.gt(floor));
    }
    let items = order_item::Entity::find()
        .filter(of_scope)
        .all(conn)
        .await?;
    let ids: Vec<String> = items
        .iter()
        .map(|i| i.order_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let orders: HashMap<String, FlagOrder> = db::in_chunks(&ids, |chunk| {
        order::Entity::find()
            .filter(order::Column::OrderId.is_in(chunk.iter().cloned()))
            .filter(order::Column::Status.is_not_in(NOT_TRANSACTIONS))
            .all(conn)
    })
    .await?
    .into_iter()
    .map(|row| (row.order_id.clone(), flag_order(row)))
    .collect();
    Ok(items
        .into_iter()
        .filter_map(|item| {
            let order = orders.get(&item.order_id)?;
            Some(priced_line(item, order))
        })
        .collect())
}

async fn verified_at(
    conn: &impl ConnectionTrait,
    vendor_id: &str,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(vendor::Entity::find_by_id(vendor_id.to_string())
        .one(conn)
        .await?
        .and_then(|v| v.verified_at))
}

/// The flags `scope` holds now, by the rules.
async fn evaluate(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    t: &Thresholds,
) -> Result<Vec<RedFlag>, DbErr> {
    Ok(match scope {
        Scope::Order(_) => match orders_in(conn, scope).await?.pop() {
            Some(order) => {
                let verified = verified_at(conn, &order.vendor_id).await?;
                order_flags(&order, verified, t)
            }
            None => Vec::new(),
        },
        Scope::BuyerVendor { .. } => split_flags(&orders_in(conn, scope).await?, t),
        Scope::WorkUnit { .. } | Scope::Regency(_) => concentration_in(conn, scope, t).await?,
        Scope::CategoryUnit { .. } => {
            // The prices alone, then the few lines above the fence whole.
            let prices = prices_in(conn, scope).await?;
            match upper_fence(&prices, t) {
                Some(fence) => {
                    let above = lines_in(conn, scope, Some(fence)).await?;
                    price_outliers(fence, prices.len(), &above)
                }
                None => Vec::new(),
            }
        }
        Scope::Product(_) => own_price_flags(&lines_in(conn, scope, None).await?, t),
    })
}

/// The concentration of a work unit's or regency's spending: the sums by
/// vendor from the database, then the orders of the one vendor flagged.
async fn concentration_in(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    t: &Thresholds,
) -> Result<Vec<RedFlag>, DbErr> {
    let Some(of_scope) = orders_of(scope) else {
        return Ok(Vec::new());
    };
    let by_vendor: Vec<(String, usize, i64)> = order::Entity::find()
        .select_only()
        .column(order::Column::VendorId)
        .column_as(order::Column::OrderId.count(), "orders")
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(total), 0) AS BIGINT)"),
            "value",
        )
        .filter(of_scope.clone())
        .filter(order::Column::Status.is_not_in(NOT_TRANSACTIONS))
        .group_by(order::Column::VendorId)
        .into_tuple::<(String, i64, i64)>()
        .all(conn)
        .await?
        .into_iter()
        .map(|(vendor, n, value)| (vendor, usize::try_from(n).unwrap_or(0), value))
        .collect();
    let Some(share) = concentration(&by_vendor, t) else {
        return Ok(Vec::new());
    };
    let of_vendor: Vec<FlagOrder> = order::Entity::find()
        .filter(of_scope)
        .filter(order::Column::VendorId.eq(share.vendor_id.as_str()))
        .filter(order::Column::Status.is_not_in(NOT_TRANSACTIONS))
        .all(conn)
        .await?
        .into_iter()
        .map(flag_order)
        .collect();
    Ok(concentration_flag(scope, &by_vendor, &share, &of_vendor)
        .into_iter()
        .collect())
}

/// Recomputes the flags of `scopes` and stores what changed.
pub async fn recompute(
    conn: &impl ConnectionTrait,
    scopes: &[Scope],
    t: &Thresholds,
) -> Result<FlagChanges, DbErr> {
    let keys: BTreeSet<String> = scopes.iter().map(Scope::key).collect();
    lock(conn, "pg_advisory_xact_lock_shared", ALL_FLAGS_LOCK).await?;
    // A replica still running with other thresholds than those the
    // stored flags were computed with (a rolling update after a change)
    // waits to be replaced: its event is retried, not applied with them.
    if let Some(in_force) = rules_in_force(conn).await?
        && in_force != rules_text(t)
    {
        return Err(DbErr::Custom(
            "the red flags' thresholds in force are not this replica's: waiting for it to be \
             restarted with them"
                .into(),
        ));
    }
    let mut fresh = Vec::new();
    for scope in scopes {
        fresh.extend(evaluate(conn, scope, t).await?);
    }
    let stored = db::in_chunks(&keys.into_iter().collect::<Vec<_>>(), |chunk| {
        red_flag::Entity::find()
            .filter(red_flag::Column::Scope.is_in(chunk.iter().cloned()))
            .all(conn)
    })
    .await?;
    write_difference(conn, stored, fresh).await
}

/// Takes the advisory lock of each of `vendor_ids` (what a verification of
/// the vendor and the marking of its orders' scopes take) until the
/// transaction ends, in ascending key order: a batch that does both for
/// many vendors takes them all at once, so that two batches never wait for
/// each other's. Nothing on SQLite, whose writers take turns anyway.
pub async fn lock_vendors<S: AsRef<str>>(
    conn: &impl ConnectionTrait,
    vendor_ids: impl IntoIterator<Item = S>,
) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let keys: BTreeSet<i64> = vendor_ids
        .into_iter()
        .map(|id| vendor_lock(id.as_ref()))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    // One statement, the keys in ascending order: the subquery is sorted
    // and kept apart (OFFSET 0), so the locks are taken as its rows come.
    // The keys are numbers this function computed, written out as such.
    let keys: Vec<String> = keys.iter().map(i64::to_string).collect();
    conn.execute_unprepared(&format!(
        "SELECT pg_advisory_xact_lock(k) FROM \
         (SELECT k FROM unnest(ARRAY[{}]::bigint[]) AS k ORDER BY k OFFSET 0) AS sorted",
        keys.join(",")
    ))
    .await?;
    Ok(())
}

/// Marks `scopes` for the flags' task to recompute: an event's part,
/// cheap whatever the scopes hold.
pub async fn mark_dirty(conn: &impl ConnectionTrait, scopes: &[Scope]) -> Result<(), DbErr> {
    // An order's vendor: after a verification of it under way committed
    // (which then listed this order), or before it lists.
    let vendors = scopes.iter().filter_map(|scope| match scope {
        Scope::BuyerVendor { vendor_id, .. } => Some(vendor_id.as_str()),
        _ => None,
    });
    lock_vendors(conn, vendors).await?;
    let keys: Vec<String> = scopes
        .iter()
        .map(Scope::key)
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    let backend = conn.get_database_backend();
    // A statement per thousand scopes, each in it once (a statement may
    // change a row once).
    for chunk in keys.chunks(1_000) {
        let rows: Vec<String> = (1..=chunk.len())
            .map(|n| match backend {
                DbBackend::Postgres => format!("(${n}, 1)"),
                _ => "(?, 1)".to_string(),
            })
            .collect();
        let sql = format!(
            "INSERT INTO red_flag_dirty (scope, marked) VALUES {} \
             ON CONFLICT (scope) DO UPDATE SET marked = red_flag_dirty.marked + 1",
            rows.join(", ")
        );
        let values = chunk.iter().map(|key| key.clone().into());
        conn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// At most `limit` marked scopes, with their marks.
pub async fn dirty_scopes(
    conn: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<(String, i64)>, DbErr> {
    Ok(red_flag_dirty::Entity::find()
        .order_by_asc(red_flag_dirty::Column::Scope)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| (row.scope, row.marked))
        .collect())
}

/// Unmarks the scopes a round computed, unless an event marked one again
/// meanwhile (then the next round computes it again).
pub async fn unmark(conn: &impl ConnectionTrait, done: &[(String, i64)]) -> Result<(), DbErr> {
    // In the byte order the projection's marks take them, whatever the
    // database's collation sorted them by: the two never wait in a circle.
    let mut done: Vec<&(String, i64)> = done.iter().collect();
    done.sort();
    for (scope, marked) in done {
        red_flag_dirty::Entity::delete_many()
            .filter(red_flag_dirty::Column::Scope.eq(scope.as_str()))
            .filter(red_flag_dirty::Column::Marked.eq(*marked))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// The scopes of every order of `vendor_id`: what a change of the vendor's
/// verification date recomputes.
pub async fn order_scopes_of_vendor(
    conn: &impl ConnectionTrait,
    vendor_id: &str,
) -> Result<Vec<Scope>, DbErr> {
    // Before listing: an order to the vendor being placed meanwhile either
    // committed already (and is listed) or waits, and then reads the new
    // verification date.
    lock(conn, "pg_advisory_xact_lock", vendor_lock(vendor_id)).await?;
    Ok(order::Entity::find()
        .select_only()
        .column(order::Column::OrderId)
        .filter(order::Column::VendorId.eq(vendor_id))
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .map(Scope::Order)
        .collect())
}

/// Recomputes every flag from the whole read model in memory, one pass
/// per rule, and stores what changed and the thresholds used: what a
/// rebuild ends with and a start with other thresholds does.
pub async fn recompute_all(
    conn: &impl ConnectionTrait,
    t: &Thresholds,
) -> Result<FlagChanges, DbErr> {
    lock(conn, "pg_advisory_xact_lock", ALL_FLAGS_LOCK).await?;
    let orders: Vec<FlagOrder> = order::Entity::find()
        .filter(order::Column::Status.is_not_in(NOT_TRANSACTIONS))
        .order_by_asc(order::Column::OrderId)
        .all(conn)
        .await?
        .into_iter()
        .map(flag_order)
        .collect();
    let by_id: HashMap<&str, &FlagOrder> =
        orders.iter().map(|o| (o.order_id.as_str(), o)).collect();
    let verified: HashMap<String, DateTime<Utc>> = vendor::Entity::find()
        .filter(vendor::Column::VerifiedAt.is_not_null())
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|v| Some((v.vendor_id, v.verified_at?)))
        .collect();
    let mut fresh = Vec::new();
    let mut pairs: BTreeMap<(&str, &str, &str), Vec<FlagOrder>> = BTreeMap::new();
    let mut units: BTreeMap<(&str, &str), Vec<FlagOrder>> = BTreeMap::new();
    let mut regencies: BTreeMap<&str, Vec<FlagOrder>> = BTreeMap::new();
    for o in &orders {
        fresh.extend(order_flags(o, verified.get(&o.vendor_id).copied(), t));
        pairs
            .entry((&o.buyer_regency, &o.buyer_work_unit, &o.vendor_id))
            .or_default()
            .push(o.clone());
        units
            .entry((&o.buyer_regency, &o.buyer_work_unit))
            .or_default()
            .push(o.clone());
        regencies
            .entry(&o.buyer_regency)
            .or_default()
            .push(o.clone());
    }
    for group in pairs.values() {
        fresh.extend(split_flags(group, t));
    }
    for ((regency, work_unit), group) in &units {
        let scope = Scope::WorkUnit {
            regency: regency.to_string(),
            work_unit: work_unit.to_string(),
        };
        fresh.extend(concentration_flags(&scope, group, t));
    }
    for (code, group) in &regencies {
        fresh.extend(concentration_flags(
            &Scope::Regency(code.to_string()),
            group,
            t,
        ));
    }
    let mut categories: BTreeMap<(String, String), Vec<PricedLine>> = BTreeMap::new();
    let mut products: BTreeMap<String, Vec<PricedLine>> = BTreeMap::new();
    for item in order_item::Entity::find().all(conn).await? {
        let Some(order) = by_id.get(item.order_id.as_str()) else {
            continue;
        };
        let line = priced_line(item, order);
        categories
            .entry((line.category_code.clone(), line.unit.clone()))
            .or_default()
            .push(line.clone());
        products
            .entry(line.product_id.clone())
            .or_default()
            .push(line);
    }
    for group in categories.values() {
        fresh.extend(category_price_flags(group, t));
    }
    for group in products.values() {
        fresh.extend(own_price_flags(group, t));
    }
    let stored = red_flag::Entity::find().all(conn).await?;
    let changes = write_difference(conn, stored, fresh).await?;
    // Everything is computed: nothing is left for the task.
    red_flag_dirty::Entity::delete_many().exec(conn).await?;
    save_rules(conn, t).await?;
    Ok(changes)
}

/// Writes `fresh` over `stored` (the flags of the same scopes): flags new
/// or changed are upserted, flags no longer raised deleted.
async fn write_difference(
    conn: &impl ConnectionTrait,
    stored: Vec<red_flag::Model>,
    fresh: Vec<RedFlag>,
) -> Result<FlagChanges, DbErr> {
    let mut stored: HashMap<String, RedFlag> = stored
        .into_iter()
        .map(|row| (row.flag_id.clone(), flag_of(row)))
        .collect();
    let mut changes = FlagChanges::default();
    for flag in fresh {
        match stored.remove(&flag.flag_id) {
            Some(before) if before == flag => {}
            Some(before)
                if before.order_ids == flag.order_ids && before.order_count == flag.order_count =>
            {
                changes.updated.push(flag);
            }
            _ => changes.raised.push(flag),
        }
    }
    let written: Vec<&RedFlag> = changes.raised.iter().chain(&changes.updated).collect();
    for chunk in written.chunks(500) {
        red_flag::Entity::insert_many(chunk.iter().map(|f| row_of(f)))
            .on_conflict({
                use red_flag::Column::*;
                OnConflict::column(FlagId)
                    .update_columns([
                        Kind,
                        Basis,
                        Scope,
                        BuyerWorkUnit,
                        BuyerRegency,
                        VendorId,
                        CategoryCode,
                        Unit,
                        ProductId,
                        OrderIds,
                        OrderCount,
                        Amount,
                        Reference,
                        GroupSize,
                        RaisedAt,
                    ])
                    .to_owned()
            })
            .exec_without_returning(conn)
            .await?;
    }
    let mut cleared: Vec<RedFlag> = stored.into_values().collect();
    cleared.sort_by(|a, b| a.flag_id.cmp(&b.flag_id));
    let ids: Vec<String> = cleared.iter().map(|f| f.flag_id.clone()).collect();
    for chunk in ids.chunks(db::IN_LIST_CHUNK) {
        red_flag::Entity::delete_many()
            .filter(red_flag::Column::FlagId.is_in(chunk.iter().cloned()))
            .exec(conn)
            .await?;
    }
    changes.cleared = cleared;
    Ok(changes)
}

fn row_of(flag: &RedFlag) -> red_flag::ActiveModel {
    red_flag::ActiveModel {
        flag_id: Set(flag.flag_id.clone()),
        kind: Set(flag.kind.code().to_string()),
        basis: Set(flag.basis.code().to_string()),
        scope: Set(flag.scope.clone()),
        buyer_work_unit: Set(flag.buyer_work_unit.clone()),
        buyer_regency: Set(flag.buyer_regency.clone()),
        vendor_id: Set(flag.vendor_id.clone()),
        category_code: Set(flag.category_code.clone()),
        unit: Set(flag.unit.clone()),
        product_id: Set(flag.product_id.clone()),
        order_ids: Set(serde_json::to_string(&flag.order_ids).unwrap_or_else(|_| "[]".into())),
        order_count: Set(flag.order_count),
        amount: Set(flag.amount),
        reference: Set(flag.reference),
        group_size: Set(flag.group_size),
        raised_at: Set(flag.raised_at),
    }
}

/// A stored row as the flag it is. A kind or basis this release does not
/// know (a newer replica's) reads as the nearest it knows; the next
/// recomputation of its scope replaces it.
fn flag_of(row: red_flag::Model) -> RedFlag {
    RedFlag {
        kind: FlagKind::parse(&row.kind).unwrap_or(FlagKind::PriceOutlier),
        basis: Basis::parse(&row.basis).unwrap_or(Basis::None),
        order_ids: serde_json::from_str(&row.order_ids).unwrap_or_default(),
        flag_id: row.flag_id,
        scope: row.scope,
        buyer_work_unit: row.buyer_work_unit,
        buyer_regency: row.buyer_regency,
        vendor_id: row.vendor_id,
        category_code: row.category_code,
        unit: row.unit,
        product_id: row.product_id,
        order_count: row.order_count,
        amount: row.amount,
        reference: row.reference,
        group_size: row.group_size,
        raised_at: row.raised_at,
    }
}

/// The thresholds the stored flags were computed with, as stored.
pub async fn rules_in_force(conn: &impl ConnectionTrait) -> Result<Option<String>, DbErr> {
    Ok(red_flag_rules::Entity::find_by_id(1)
        .one(conn)
        .await?
        .map(|r| r.thresholds))
}

/// How thresholds are stored: their JSON.
pub fn rules_text(t: &Thresholds) -> String {
    serde_json::to_string(t).unwrap_or_default()
}

async fn save_rules(conn: &impl ConnectionTrait, t: &Thresholds) -> Result<(), DbErr> {
    db::upsert(
        conn,
        red_flag_rules::ActiveModel {
            id: Set(1),
            thresholds: Set(rules_text(t)),
        },
        [red_flag_rules::Column::Id],
        [red_flag_rules::Column::Thresholds],
    )
    .await?;
    Ok(())
}

/// Which flags a list holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagFilter {
    pub kind: Option<FlagKind>,
    /// The buyers' regency.
    pub regency_code: String,
    pub vendor_id: String,
}

/// A page of flags, newest first, after `after` (the last one's
/// `(raised_at, flag_id)`).
pub async fn list_flags(
    conn: &impl ConnectionTrait,
    filter: &FlagFilter,
    after: Option<&(DateTime<Utc>, String)>,
    limit: u64,
) -> Result<Vec<RedFlag>, DbErr> {
    use red_flag::Column;
    let mut query = red_flag::Entity::find();
    if let Some(kind) = filter.kind {
        query = query.filter(Column::Kind.eq(kind.code()));
    }
    if !filter.regency_code.is_empty() {
        query = query.filter(Column::BuyerRegency.eq(filter.regency_code.as_str()));
    }
    if !filter.vendor_id.is_empty() {
        query = query.filter(Column::VendorId.eq(filter.vendor_id.as_str()));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            Condition::any().add(Column::RaisedAt.lt(*at)).add(
                Condition::all()
                    .add(Column::RaisedAt.eq(*at))
                    .add(Column::FlagId.lt(id.as_str())),
            ),
        );
    }
    Ok(query
        .order_by_desc(Column::RaisedAt)
        .order_by_desc(Column::FlagId)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(flag_of)
        .collect())
}

pub async fn find_flag(
    conn: &impl ConnectionTrait,
    flag_id: &str,
) -> Result<Option<RedFlag>, DbErr> {
    Ok(red_flag::Entity::find_by_id(flag_id.to_string())
        .one(conn)
        .await?
        .map(flag_of))
}

/// How many flags of each kind are raised now.
pub async fn flag_counts(conn: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    red_flag::Entity::find()
        .select_only()
        .column(red_flag::Column::Kind)
        .column_as(red_flag::Column::FlagId.count(), "flags")
        .group_by(red_flag::Column::Kind)
        .into_tuple::<(String, i64)>()
        .all(conn)
        .await
}
