//! What the order service publishes to `blangkon.order.events.v1`: one
//! event per transition, carrying the whole order.

use blangkon_platform::kafka::{TopicSpec, topics};
use blangkon_platform::outbox::NewEvent;
use blangkon_platform::time::to_timestamp;
use blangkon_proto::events as pb;
use chrono::{DateTime, Utc};

use crate::store::{item, order};

pub const TOPIC: &str = topics::ORDER_EVENTS;

pub const TOPICS: &[TopicSpec<'static>] = &[topics::ORDER_EVENTS_SPEC];

/// The transition an event reports.
#[derive(Debug, Clone, Copy)]
pub struct Transition<'a> {
    pub previous: Option<&'a str>,
    pub actor_role: &'a str,
    pub note: &'a str,
    pub at: DateTime<Utc>,
}

fn snapshot(row: &order::Model, items: &[item::Model], t: Transition<'_>) -> pb::OrderSnapshot {
    pb::OrderSnapshot {
        order_id: row.id.clone(),
        buyer_work_unit: row.buyer_work_unit.clone(),
        buyer_regency: row.buyer_regency.clone(),
        vendor_id: row.vendor_id.clone(),
        vendor_regency: row.vendor_regency.clone(),
        vendor_legal_form: row.vendor_legal_form.clone(),
        vendor_scale: row.vendor_scale.clone(),
        items: items
            .iter()
            .map(|i| pb::OrderItemFact {
                product_id: i.product_id.clone(),
                name: i.name.clone(),
                category_code: i.category_code.clone(),
                unit: i.unit.clone(),
                quantity: i.quantity,
                unit_price: i.unit_price.get(),
                line_total: i.line_total.get(),
            })
            .collect(),
        total: row.total.get(),
        status: row.status.as_str().to_string(),
        previous_status: t.previous.unwrap_or_default().to_string(),
        placed_at: Some(to_timestamp(row.placed_at)),
        changed_at: Some(to_timestamp(t.at)),
        actor_role: t.actor_role.to_string(),
        note: t.note.to_string(),
        bast_number: row.bast_number.clone().unwrap_or_default(),
        bast_date: row
            .bast_date
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        payment_reference: row.payment_reference.clone().unwrap_or_default(),
        version: row.version,
        vendor_name: row.vendor_name.clone(),
    }
}

pub fn order_event(row: &order::Model, items: &[item::Model], t: Transition<'_>) -> NewEvent {
    let order = Some(snapshot(row, items, t));
    match t.previous {
        None => NewEvent::new(
            TOPIC,
            "order",
            "order",
            &row.id,
            t.at,
            &pb::OrderPlaced { order },
        ),
        Some(_) => NewEvent::new(
            TOPIC,
            "order",
            "order",
            &row.id,
            t.at,
            &pb::OrderStatusChanged { order },
        ),
    }
}
