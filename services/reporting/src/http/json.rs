//! The public HTTP API's JSON documents: the gRPC answers' fields under
//! the same names, with times as RFC 3339 text and money as whole rupiah.

use blangkon_platform::time::rfc3339_of;
use blangkon_proto::reporting as pb;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::red_flags::{FlagKind, Lang};
use crate::open_data::FlagView;

/// Where to go from this document.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Links {
    /// The next page, absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A count under a key (a legal form, a regency code, ...), with the
/// key's name where reporting knows one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyCount {
    pub key: String,
    /// Indonesian (`Kota Semarang`, `Perorangan`, `Katering Makanan`);
    /// empty where the key is its own name.
    pub label: String,
    /// English (`Individual`); a regency's or category's name as in
    /// Indonesian.
    pub label_en: String,
    pub count: i64,
}

/// Orders and their value under a key, with the key's name where
/// reporting knows one (a regency's, a category's, a status's, a vendor's
/// business name).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyValue {
    pub key: String,
    /// Indonesian; empty where the key is its own name.
    pub label: String,
    /// English; names without a translation are as in Indonesian.
    pub label_en: String,
    pub orders: i64,
    /// Rupiah.
    pub value: i64,
}

/// The headline figures of the whole e-catalog, from one snapshot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub vendors_total: i64,
    pub vendors_individual: i64,
    pub vendors_business_entity: i64,
    pub vendors_by_legal_form: Vec<KeyCount>,
    pub vendors_by_status: Vec<KeyCount>,
    pub vendors_by_scale: Vec<KeyCount>,
    pub vendors_by_regency: Vec<KeyCount>,
    pub vendors_trained: i64,
    pub products_listed: i64,
    pub products_by_category: Vec<KeyCount>,
    pub products_by_regency: Vec<KeyCount>,
    /// Orders that became transactions (accepted and on).
    pub transactions: i64,
    /// Their value, rupiah.
    pub transaction_value: i64,
    pub top_categories: Vec<KeyValue>,
    pub orders_by_status: Vec<KeyValue>,
    pub regencies_joined: i64,
    pub regencies_transacting: i64,
    /// Value bought from micro and small businesses and cooperatives.
    pub micro_small_value: i64,
    /// Their share of the value, in basis points (4000 = 40%).
    pub micro_small_share_bp: i32,
    /// Whether the share reaches the 40% the regulation reserves.
    pub micro_small_target_met: bool,
    /// When the last event these figures include happened; absent before
    /// the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

/// Orders and value by each key of a dimension over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Breakdown {
    pub dimension: String,
    /// The period's first day (WIB), if bounded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The period's last day (WIB), if bounded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// A page of rows, highest value first.
    pub rows: Vec<KeyValue>,
    /// Over the whole period, not only this page.
    pub orders_total: i64,
    pub value_total: i64,
    pub links: Links,
}

/// A line of a transaction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransactionItem {
    pub product_id: String,
    pub name: String,
    pub category_code: String,
    pub unit: String,
    pub quantity: i64,
    /// Rupiah, as agreed when the order was placed.
    pub unit_price: i64,
    pub line_total: i64,
}

/// One order of the public ledger: who bought what from whom, for how
/// much, and how far it has gone. Work units and businesses only: no
/// person's data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Transaction {
    pub order_id: String,
    /// placed, accepted, rejected, shipped, received, paid, completed or
    /// cancelled.
    pub status: String,
    pub buyer_work_unit: String,
    pub buyer_regency: String,
    pub vendor_id: String,
    pub vendor_name: String,
    pub vendor_regency: String,
    pub vendor_legal_form: String,
    pub vendor_scale: String,
    pub items: Vec<TransactionItem>,
    /// Rupiah.
    pub total: i64,
    pub placed_at: String,
    pub updated_at: String,
    /// The day goods were handed over (BAST), once they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bast_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
}

/// A page of the public ledger, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransactionPage {
    pub data: Vec<Transaction>,
    pub links: Links,
}

/// The same words in Indonesian and English.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Words {
    pub id: String,
    pub en: String,
}

/// The buyer side of a red flag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagBuyer {
    /// Empty for a regency's concentration.
    pub work_unit: String,
    pub regency_code: String,
    pub regency_name: String,
}

/// The vendor a red flag is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagVendor {
    pub id: String,
    pub name: String,
}

/// A red flag: a pattern auditors look at first, raised by the orders it
/// lists. It asks a person to look; it is never a finding.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RedFlag {
    pub flag_id: String,
    /// split-purchase, just-under-ceiling, vendor-concentration,
    /// price-outlier or new-vendor.
    pub kind: String,
    pub label: Words,
    /// What a concentration or a price was measured against: work-unit,
    /// regency, category or own-history; empty for the other kinds.
    pub basis: String,
    pub buyer: FlagBuyer,
    pub vendor: FlagVendor,
    /// Of a price outlier.
    pub category_code: String,
    pub unit: String,
    pub product_id: String,
    /// The orders that raised it, oldest first (at most 1000).
    pub order_ids: Vec<String>,
    pub order_count: i64,
    /// What was measured: the sum of a split, an order's total, a
    /// vendor's share in basis points, a unit price (rupiah).
    pub amount: i64,
    /// What it was measured against: the ceiling, the spending of the work
    /// unit or regency, the upper fence, the median of the product's
    /// earlier prices, the days since the vendor's verification.
    pub reference: i64,
    /// Orders in the work unit or regency, prices in the group.
    pub group_size: i64,
    /// When the newest of its orders was placed.
    pub raised_at: String,
    pub explanation: Words,
}

/// How many flags of one kind are raised now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagCount {
    pub kind: String,
    pub label: Words,
    pub count: i64,
}

/// A page of red flags, newest first, with the count of every kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RedFlagPage {
    /// Flags raised now by kind, whatever the filters.
    pub counts: Vec<FlagCount>,
    pub data: Vec<RedFlag>,
    pub links: Links,
}

impl From<FlagView> for RedFlag {
    fn from(v: FlagView) -> Self {
        let f = v.flag;
        Self {
            label: Words {
                id: f.kind.label(Lang::Id).into(),
                en: f.kind.label(Lang::En).into(),
            },
            kind: f.kind.code().into(),
            basis: f.basis.code().into(),
            buyer: FlagBuyer {
                work_unit: f.buyer_work_unit,
                regency_code: f.buyer_regency,
                regency_name: v.regency_name,
            },
            vendor: FlagVendor {
                id: f.vendor_id,
                name: v.vendor_name,
            },
            category_code: f.category_code,
            unit: f.unit,
            product_id: f.product_id,
            order_ids: f.order_ids,
            order_count: f.order_count,
            amount: f.amount,
            reference: f.reference,
            group_size: f.group_size,
            raised_at: crate::domain::records::rfc3339(f.raised_at),
            explanation: Words {
                id: v.explanation_id,
                en: v.explanation_en,
            },
            flag_id: f.flag_id,
        }
    }
}

pub fn flag_counts(counts: Vec<(FlagKind, i64)>) -> Vec<FlagCount> {
    counts
        .into_iter()
        .map(|(kind, count)| FlagCount {
            kind: kind.code().into(),
            label: Words {
                id: kind.label(Lang::Id).into(),
                en: kind.label(Lang::En).into(),
            },
            count,
        })
        .collect()
}

fn time(t: Option<&prost_types::Timestamp>) -> Option<String> {
    rfc3339_of(t)
}

fn counts(rows: Vec<pb::KeyCount>) -> Vec<KeyCount> {
    rows.into_iter()
        .map(|r| KeyCount {
            key: r.key,
            label: r.label,
            label_en: r.label_en,
            count: r.count,
        })
        .collect()
}

pub fn key_values(rows: Vec<pb::KeyValue>) -> Vec<KeyValue> {
    rows.into_iter()
        .map(|r| KeyValue {
            key: r.key,
            label: r.label,
            label_en: r.label_en,
            orders: r.orders,
            value: r.value,
        })
        .collect()
}

impl From<pb::Summary> for Summary {
    fn from(s: pb::Summary) -> Self {
        Self {
            vendors_total: s.vendors_total,
            vendors_individual: s.vendors_individual,
            vendors_business_entity: s.vendors_business_entity,
            vendors_by_legal_form: counts(s.vendors_by_legal_form),
            vendors_by_status: counts(s.vendors_by_status),
            vendors_by_scale: counts(s.vendors_by_scale),
            vendors_by_regency: counts(s.vendors_by_regency),
            vendors_trained: s.vendors_trained,
            products_listed: s.products_listed,
            products_by_category: counts(s.products_by_category),
            products_by_regency: counts(s.products_by_regency),
            transactions: s.transactions,
            transaction_value: s.transaction_value,
            top_categories: key_values(s.top_categories),
            orders_by_status: key_values(s.orders_by_status),
            regencies_joined: s.regencies_joined,
            regencies_transacting: s.regencies_transacting,
            micro_small_value: s.micro_small_value,
            micro_small_share_bp: s.micro_small_share_bp,
            micro_small_target_met: s.micro_small_target_met,
            as_of: time(s.as_of.as_ref()),
        }
    }
}

impl From<pb::Transaction> for Transaction {
    fn from(t: pb::Transaction) -> Self {
        Self {
            placed_at: time(t.placed_at.as_ref()).unwrap_or_default(),
            updated_at: time(t.updated_at.as_ref()).unwrap_or_default(),
            paid_at: time(t.paid_at.as_ref()),
            bast_date: Some(t.bast_date).filter(|d| !d.is_empty()),
            order_id: t.order_id,
            status: t.status,
            buyer_work_unit: t.buyer_work_unit,
            buyer_regency: t.buyer_regency,
            vendor_id: t.vendor_id,
            vendor_name: t.vendor_name,
            vendor_regency: t.vendor_regency,
            vendor_legal_form: t.vendor_legal_form,
            vendor_scale: t.vendor_scale,
            items: t
                .items
                .into_iter()
                .map(|i| TransactionItem {
                    product_id: i.product_id,
                    name: i.name,
                    category_code: i.category_code,
                    unit: i.unit,
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                    line_total: i.line_total,
                })
                .collect(),
            total: t.total,
        }
    }
}
