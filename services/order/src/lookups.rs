//! Reading orders: one by id with its history, or a filtered list in pages,
//! each limited to what the caller may read.

use std::collections::HashMap;

use blangkon_domain::{Actor, OrderId, OrderStatus, VendorId};
use blangkon_platform::page::{self, AfterId};
use chrono::{DateTime, Utc};

use crate::Orders;
use crate::error::{OrderError, Result};
use crate::fulfilment::order_ref;
use crate::placing::OrderRecord;
use crate::policy::{self, ListScope};
use crate::store::{self, OrderFilter, item, order};

/// Which orders to list, every field checked by the adapter.
#[derive(Debug, Clone, Default)]
pub struct OrderListing {
    pub status: Option<OrderStatus>,
    pub vendor_id: Option<VendorId>,
    pub placed_from: Option<DateTime<Utc>>,
    pub placed_until: Option<DateTime<Utc>>,
    pub page_size: u64,
    pub after: Option<AfterId>,
}

/// A page of orders, each with its items (history only in
/// [`Orders::get_order`]).
#[derive(Debug, Clone)]
pub struct OrderPage {
    pub orders: Vec<(order::Model, Vec<item::Model>)>,
    pub next_page_token: String,
}

impl Orders {
    pub async fn get_order(&self, actor: &Actor, order_id: OrderId) -> Result<OrderRecord> {
        let order_id = order_id.to_string();
        let row = store::find_order(&self.db, &order_id)
            .await?
            .ok_or_else(|| OrderError::NotFound(format!("order {order_id}")))?;
        policy::read_order(actor, order_ref(&row))?;
        OrderRecord::load(&self.db, row).await
    }

    pub async fn list_orders(&self, actor: &Actor, listing: OrderListing) -> Result<OrderPage> {
        let mut filter = OrderFilter {
            status: listing.status,
            vendor_id: listing.vendor_id.map(|v| v.to_string()),
            placed_from: listing.placed_from,
            placed_until: listing.placed_until,
            ..OrderFilter::default()
        };
        match policy::list_orders(actor, listing.vendor_id.as_ref())? {
            ListScope::Everything => {}
            ListScope::BuyerRegency(regency) => filter.regency = Some(regency),
            ListScope::WorkUnit(unit) => {
                filter.regency = Some(unit.regency.to_string());
                filter.work_unit = Some(unit.name);
            }
            ListScope::Vendor(vendor) => filter.vendor_id = Some(vendor.to_string()),
        }
        let page_size = listing.page_size;
        let after = listing.after.map(|a| a.0);
        let mut rows =
            store::list_orders(&self.db, &filter, after.as_deref(), page_size + 1).await?;
        let next_page_token =
            page::next_page(&mut rows, page_size, |last| AfterId(last.id.clone()));
        // Items of the whole page in one query.
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut items: HashMap<String, Vec<item::Model>> = HashMap::new();
        for item in store::items_of(&self.db, &ids).await? {
            items.entry(item.order_id.clone()).or_default().push(item);
        }
        let orders = rows
            .into_iter()
            .map(|row| {
                let its = items.remove(&row.id).unwrap_or_default();
                (row, its)
            })
            .collect();
        Ok(OrderPage {
            orders,
            next_page_token,
        })
    }
}
