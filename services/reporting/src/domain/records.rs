//! The analysts' streams, JSON so that `kcat` shows what a person can read
//! and any Kafka client can aggregate without Blangkon's protobuf files.
//!
//! - `blangkon.reporting.transactions.v1`, keyed by order id: one
//!   [`TransactionFact`] per order change, self-contained (no join needed).
//! - `blangkon.reporting.summary.v1`, compacted, keyed by
//!   `measure/dimension/key`: the running [`SummaryRecord`] of that key.
//! - `blangkon.reporting.red-flags.v1`, compacted, keyed by flag id: a
//!   [`RedFlagRecord`] when a flag is raised or changes, and one saying
//!   `cleared` when it no longer holds.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::calendar;
use super::figures::{INDIVIDUAL, OrderFacts, top_category};
use super::red_flags::{Lang, RedFlag, Thresholds};

pub const TRANSACTION_SCHEMA: &str = "blangkon.reporting.transaction.v1";
pub const SUMMARY_SCHEMA: &str = "blangkon.reporting.summary.v1";
pub const RED_FLAG_SCHEMA: &str = "blangkon.reporting.red-flag.v1";

pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One order change, with everything needed to aggregate it.
#[derive(Debug, Clone, Serialize)]
pub struct TransactionFact {
    pub schema: &'static str,
    /// Id of the domain event this fact reports: a fact seen twice (a
    /// redelivery) has the same id.
    pub fact_id: String,
    pub order_id: String,
    /// The order's version: keep the highest per order for its state now.
    pub version: i64,
    pub status: String,
    /// Empty for the placing.
    pub previous_status: String,
    /// False once rejected or cancelled: the order then adds nothing to
    /// transaction counts and values.
    pub is_transaction: bool,
    pub changed_at: String,
    pub placed_at: String,
    /// WIB calendar day and month of the placing.
    pub placed_date: String,
    pub placed_month: String,
    pub buyer: BuyerFact,
    pub vendor: VendorFact,
    pub items: Vec<ItemFact>,
    pub total: i64,
    pub currency: &'static str,
    pub bast_date: Option<String>,
    pub paid_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BuyerFact {
    pub work_unit: String,
    pub regency_code: String,
    pub regency_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VendorFact {
    pub id: String,
    pub name: String,
    pub regency_code: String,
    pub regency_name: String,
    pub legal_form: String,
    pub business_entity: bool,
    pub scale: String,
    /// Counts towards the 40% of spending regulation reserves for micro and
    /// small businesses and cooperatives.
    pub micro_small_or_cooperative: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemFact {
    pub product_id: String,
    pub name: String,
    pub category_code: String,
    pub top_category: String,
    pub unit: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub line_total: i64,
}

/// Names reporting knows for the codes in an order.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub vendor: String,
    pub vendor_regency: String,
    pub buyer_regency: String,
}

impl TransactionFact {
    pub fn new(fact_id: &str, previous_status: &str, order: &OrderFacts, names: Names) -> Self {
        let placed_date = calendar::day_of(order.placed_at);
        Self {
            schema: TRANSACTION_SCHEMA,
            fact_id: fact_id.to_string(),
            order_id: order.order_id.clone(),
            version: order.version,
            status: order.status.as_str().to_string(),
            previous_status: previous_status.to_string(),
            is_transaction: order.is_transaction(),
            changed_at: rfc3339(order.changed_at),
            placed_at: rfc3339(order.placed_at),
            placed_month: calendar::month_of(&placed_date).to_string(),
            placed_date,
            buyer: BuyerFact {
                work_unit: order.buyer_work_unit.clone(),
                regency_code: order.buyer_regency.clone(),
                regency_name: names.buyer_regency,
            },
            vendor: VendorFact {
                id: order.vendor_id.clone(),
                name: names.vendor,
                regency_code: order.vendor_regency.clone(),
                regency_name: names.vendor_regency,
                legal_form: order.legal_form.clone(),
                business_entity: order.legal_form != INDIVIDUAL,
                scale: order.scale.clone(),
                micro_small_or_cooperative: order.is_micro_small_or_cooperative(),
            },
            items: order
                .items
                .iter()
                .map(|i| ItemFact {
                    product_id: i.product_id.clone(),
                    name: i.name.clone(),
                    category_code: i.category_code.clone(),
                    top_category: top_category(&i.category_code).to_string(),
                    unit: i.unit.clone(),
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                    line_total: i.line_total,
                })
                .collect(),
            total: order.total,
            currency: "IDR",
            bast_date: Some(order.bast_date.clone()).filter(|d| !d.is_empty()),
            paid_at: order.paid_at.map(rfc3339),
        }
    }
}

/// The running figure of one key of one dimension.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRecord {
    pub schema: &'static str,
    /// `orders` (transactions; every order for the `status` dimension),
    /// `vendors` or `products` (listed).
    pub measure: &'static str,
    pub dimension: String,
    pub key: String,
    pub count: i64,
    /// Rupiah, for `orders`.
    pub value: Option<i64>,
    pub currency: Option<&'static str>,
    pub updated_at: String,
}

impl SummaryRecord {
    pub fn orders(dimension: &str, key: &str, count: i64, value: i64, at: DateTime<Utc>) -> Self {
        Self {
            schema: SUMMARY_SCHEMA,
            measure: "orders",
            dimension: dimension.to_string(),
            key: key.to_string(),
            count,
            value: Some(value),
            currency: Some("IDR"),
            updated_at: rfc3339(at),
        }
    }

    pub fn count(
        measure: &'static str,
        dimension: &str,
        key: &str,
        count: i64,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            schema: SUMMARY_SCHEMA,
            measure,
            dimension: dimension.to_string(),
            key: key.to_string(),
            count,
            value: None,
            currency: None,
            updated_at: rfc3339(at),
        }
    }

    /// The record's Kafka key: compaction keeps the latest per key.
    pub fn kafka_key(&self) -> String {
        format!("{}/{}/{}", self.measure, self.dimension, self.key)
    }
}

/// Whether a flag holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagState {
    Raised,
    Cleared,
}

/// The names a flag's reader needs beside its codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagNames {
    pub vendor: String,
    pub regency: String,
}

/// The same text in the public's two languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bilingual {
    pub id: String,
    pub en: String,
}

/// A red flag raised, changed or cleared: what it is about, the orders
/// that raised it and why, in words.
#[derive(Debug, Clone, Serialize)]
pub struct RedFlagRecord {
    pub schema: &'static str,
    pub flag_id: String,
    pub state: FlagState,
    pub kind: &'static str,
    pub label: Bilingual,
    /// What a concentration or a price was measured against: `work-unit`,
    /// `regency`, `category` or `own-history`; empty for the others.
    pub basis: &'static str,
    pub buyer: FlagBuyer,
    pub vendor: FlagVendor,
    pub category_code: String,
    pub unit: String,
    pub product_id: String,
    pub order_ids: Vec<String>,
    pub order_count: i64,
    pub amount: i64,
    pub reference: i64,
    pub group_size: i64,
    pub raised_at: String,
    pub explanation: Bilingual,
    /// When the event that changed the flag happened.
    pub changed_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlagBuyer {
    /// Empty for a regency's concentration.
    pub work_unit: String,
    pub regency_code: String,
    pub regency_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlagVendor {
    pub id: String,
    pub name: String,
}

impl RedFlagRecord {
    pub fn new(
        flag: &RedFlag,
        state: FlagState,
        names: FlagNames,
        t: &Thresholds,
        changed_at: DateTime<Utc>,
    ) -> Self {
        Self {
            schema: RED_FLAG_SCHEMA,
            flag_id: flag.flag_id.clone(),
            state,
            kind: flag.kind.code(),
            label: Bilingual {
                id: flag.kind.label(Lang::Id).into(),
                en: flag.kind.label(Lang::En).into(),
            },
            basis: flag.basis.code(),
            buyer: FlagBuyer {
                work_unit: flag.buyer_work_unit.clone(),
                regency_code: flag.buyer_regency.clone(),
                regency_name: names.regency,
            },
            vendor: FlagVendor {
                id: flag.vendor_id.clone(),
                name: names.vendor,
            },
            category_code: flag.category_code.clone(),
            unit: flag.unit.clone(),
            product_id: flag.product_id.clone(),
            order_ids: flag.order_ids.clone(),
            order_count: flag.order_count,
            amount: flag.amount,
            reference: flag.reference,
            group_size: flag.group_size,
            raised_at: rfc3339(flag.raised_at),
            explanation: Bilingual {
                id: flag.explain(t, Lang::Id),
                en: flag.explain(t, Lang::En),
            },
            changed_at: rfc3339(changed_at),
        }
    }
}
