//! Request fields into query values, and ledger rows into answers.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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

/// A page token: where the previous page ended, `micros|order_id`.
pub(super) fn page_token(token: &str, violations: &mut Vec<Violation>) -> Option<After> {
    if token.is_empty() {
        return None;
    }
    let after = URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (micros, id) = s.split_once('|')?;
            let placed_at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
            uuid::Uuid::parse_str(id).ok()?;
            Some(After {
                placed_at,
                order_id: id.to_string(),
            })
        });
    if after.is_none() {
        violations.push(Violation::new(
            "page_token",
            "is not a token this service issued",
        ));
    }
    after
}

/// Cuts `rows` (read one longer than a page) to the page and answers the
/// token of the next page, empty on the last one.
pub(super) fn next_token(rows: &mut Vec<OrderFacts>, page_size: u64) -> String {
    if rows.len() as u64 <= page_size {
        return String::new();
    }
    rows.truncate(page_size as usize);
    rows.last().map_or_else(String::new, |last| {
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            last.placed_at.timestamp_micros(),
            last.order_id
        ))
    })
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
