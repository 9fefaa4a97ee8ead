//! Names of regencies and vendors, looked up when figures and the ledger
//! are read (events carry codes and ids).

use blangkon_platform::db;
use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entities::{regency, vendor};
use crate::domain::figures::OrderFacts;
use crate::domain::records::Names;

pub async fn regency_names(
    conn: &impl ConnectionTrait,
    codes: &[String],
) -> Result<HashMap<String, String>, DbErr> {
    if codes.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(db::in_chunks(codes, |chunk| {
        regency::Entity::find()
            .filter(regency::Column::Code.is_in(chunk.iter().cloned()))
            .all(conn)
    })
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
    Ok(db::in_chunks(ids, |chunk| {
        vendor::Entity::find()
            .filter(vendor::Column::VendorId.is_in(chunk.iter().cloned()))
            .all(conn)
    })
    .await?
    .into_iter()
    .map(|v| (v.vendor_id, v.name))
    .collect())
}

/// The names reporting knows for each of `orders`' vendor and regencies,
/// in two queries.
pub async fn names_for_all<O: std::borrow::Borrow<OrderFacts>>(
    conn: &impl ConnectionTrait,
    orders: &[O],
) -> Result<Vec<Names>, DbErr> {
    let orders: Vec<&OrderFacts> = orders.iter().map(|o| o.borrow()).collect();
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
