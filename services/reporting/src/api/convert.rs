//! Request fields into query values, and ledger rows into answers.

use blangkon_platform::page::Position;
use blangkon_platform::time::to_timestamp;
use blangkon_platform::validation::{self, Violation};
use blangkon_proto::reporting as pb;
use chrono::{DateTime, Utc};

use crate::domain::calendar::Period;
use crate::domain::figures::OrderFacts;
use crate::store::After;

pub(super) fn optional(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

pub(super) fn page_size(
    requested: i32,
    default: u64,
    max: u64,
    violations: &mut Vec<Violation>,
) -> u64 {
    validation::page_size(requested, default, max).unwrap_or_else(|violation| {
        violations.push(violation);
        default
    })
}

/// Where a ledger page ended, in a page token: `micros|order_id`.
impl Position for After {
    fn to_text(&self) -> String {
        format!("{}|{}", self.placed_at.timestamp_micros(), self.order_id)
    }

    fn from_text(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('|')?;
        let placed_at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
        uuid::Uuid::parse_str(id).ok()?;
        Some(After {
            placed_at,
            order_id: id.to_string(),
        })
    }
}

/// Where the page after `last` starts.
pub(super) fn position_after(last: &OrderFacts) -> After {
    After {
        placed_at: last.placed_at,
        order_id: last.order_id.clone(),
    }
}

pub(super) fn period_of(
    period: Option<&pb::Period>,
    violations: &mut Vec<Violation>,
) -> Option<Period> {
    let (from, until) = period.map_or(("", ""), |p| (p.from_date.as_str(), p.until_date.as_str()));
    match Period::parse("period", from, until) {
        Ok(p) => Some(p),
        Err(v) => {
            violations.extend(v);
            None
        }
    }
}

pub(super) fn transaction(vendor_name: String, o: OrderFacts) -> pb::Transaction {
    pb::Transaction {
        order_id: o.order_id,
        status: o.status.as_str().to_string(),
        buyer_work_unit: o.buyer_work_unit,
        buyer_regency: o.buyer_regency,
        vendor_id: o.vendor_id,
        vendor_name,
        vendor_regency: o.vendor_regency,
        vendor_legal_form: o.legal_form,
        vendor_scale: o.scale,
        items: o
            .items
            .into_iter()
            .map(|i| pb::TransactionItem {
                product_id: i.product_id,
                name: i.name,
                category_code: i.category_code,
                unit: i.unit,
                quantity: i.quantity,
                unit_price: i.unit_price,
                line_total: i.line_total,
            })
            .collect(),
        total: o.total,
        placed_at: Some(to_timestamp(o.placed_at)),
        updated_at: Some(to_timestamp(o.changed_at)),
        bast_date: o.bast_date,
        paid_at: o.paid_at.map(to_timestamp),
    }
}
