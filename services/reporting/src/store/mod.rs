//! Persistence of the reporting service: [`projection`] (the projection's
//! writes), [`figures`] (the queries behind the public figures), [`ledger`]
//! (pages of orders), [`names`] (regency and vendor names) and [`red_flags`]
//! (the auditors' flags, recomputed per scope). Every
//! function takes `&impl ConnectionTrait`, so it runs on the pool or inside
//! the inbox transaction.

pub mod entities;
mod figures;
mod ledger;
pub mod migrations;
mod names;
mod ocds;
mod projection;
pub mod red_flags;

pub use entities::{
    listed_count, order, order_item, order_total, order_total_all, order_total_period,
    order_version, product, red_flag, red_flag_dirty, red_flag_rules, regency, summary_count,
    training, vendor, watermark,
};
pub use figures::*;
pub use ledger::*;
pub use names::*;
pub use ocds::*;
pub use projection::*;

use std::collections::HashMap;

use blangkon_platform::db;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::figures::{ItemFacts, OrderFacts};

/// The items of each of `order_ids` that has any, in line order: a query
/// per chunk of ids.
async fn items_of(
    conn: &impl ConnectionTrait,
    order_ids: &[String],
) -> Result<HashMap<String, Vec<order_item::Model>>, DbErr> {
    let mut items: HashMap<String, Vec<order_item::Model>> = HashMap::new();
    for item in db::in_chunks(order_ids, |chunk| {
        order_item::Entity::find()
            .filter(order_item::Column::OrderId.is_in(chunk.iter().cloned()))
            .order_by_asc(order_item::Column::OrderId)
            .order_by_asc(order_item::Column::Line)
            .all(conn)
    })
    .await?
    {
        items.entry(item.order_id.clone()).or_default().push(item);
    }
    Ok(items)
}

/// An order as the read model stores it, with its items.
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
