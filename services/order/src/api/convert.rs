//! Orders as the API answers them.

use blangkon_platform::time::to_timestamp;
use blangkon_proto::order as pb;

use crate::domain::lifecycle::OrderStatus;
use crate::placing::OrderRecord;
use crate::store::{self, item, order};

pub(super) fn record_to_proto(record: OrderRecord) -> pb::Order {
    order_to_proto(record.order, record.items, record.history)
}

pub(super) fn order_to_proto(
    row: order::Model,
    items: Vec<item::Model>,
    history: Vec<store::history::Model>,
) -> pb::Order {
    pb::Order {
        status: row.status.to_proto() as i32,
        id: row.id,
        buyer_work_unit: row.buyer_work_unit,
        buyer_regency: row.buyer_regency,
        vendor_id: row.vendor_id,
        items: items
            .into_iter()
            .map(|i| pb::OrderItem {
                product_id: i.product_id,
                name: i.name,
                category_code: i.category_code,
                unit: i.unit,
                quantity: i.quantity,
                unit_price: i.unit_price.get(),
                line_total: i.line_total.get(),
            })
            .collect(),
        total: row.total.get(),
        bast_number: row.bast_number.unwrap_or_default(),
        bast_date: row
            .bast_date
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        payment_reference: row.payment_reference.unwrap_or_default(),
        placed_at: Some(to_timestamp(row.placed_at)),
        updated_at: Some(to_timestamp(row.updated_at)),
        history: history
            .into_iter()
            .map(|h| pb::StatusChange {
                from_status: h
                    .from_status
                    .map_or(pb::OrderStatus::Unspecified, OrderStatus::to_proto)
                    as i32,
                to_status: h.to_status.to_proto() as i32,
                actor: h.actor,
                actor_role: h.actor_role,
                note: h.note,
                changed_at: Some(to_timestamp(h.changed_at)),
            })
            .collect(),
    }
}
