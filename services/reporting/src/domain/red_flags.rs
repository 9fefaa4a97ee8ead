//! Red flags for direct purchases: patterns the auditors (the
//! inspectorates, BPK) look at first, computed from the orders alone. A
//! flag asks a person to look; it is never a finding. The rules and their
//! defaults follow `shared/reference/red-flags.md` (sources there):
//!
//! - **split purchases** (*pecah paket*, Perpres 16/2018 Pasal 20 ayat
//!   (2) huruf d; OCP R011): orders of one work unit to one vendor within
//!   a window, each under the direct-purchase ceiling, whose sum passes it;
//! - **just under the ceiling** (OCP R055, R002): an order at 90–100% of
//!   the ceiling;
//! - **vendor concentration** (OCP R040): one vendor's share of a work
//!   unit's spending, over enough orders to mean something;
//! - **price outliers** (OCP R016, R017; Cardinal's method): a unit price
//!   above the upper Tukey fence (Q3 + 1.5·IQR) of its category and unit,
//!   over a group large enough;
//! - **new vendors** (closest: OCP R052): an order to a vendor verified
//!   shortly before.
//!
//! Everything here is a pure function of the facts it is given, so that
//! the projection can recompute a flag whenever one of its orders changes
//! and a rebuild gives the same flags.

use std::collections::BTreeMap;

use blangkon_domain::money::grouped_rupiah;
use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::figures::OrderFacts;

/// The thresholds and windows of the rules (settings, `reporting.red_flags`).
/// Changing one recomputes every flag at the next start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// The direct-purchase ceiling, whole rupiah: Rp200,000,000 for goods
    /// and other services (Perpres 16/2018, kept by Perpres 46/2025).
    pub ceiling: i64,
    /// "Just under" starts this many percent below the ceiling (10: from
    /// 90% of it; ours, no source sets a band).
    pub just_under_percent: i64,
    /// Orders of one work unit to one vendor this many days apart at most
    /// count as one purchase that may have been split (ours; Prozorro sums
    /// a calendar year).
    pub split_window_days: i64,
    /// The share of a work unit's or regency's spending one vendor takes
    /// that raises a flag, percent (50; ours, beside the 30% presumption of
    /// the 2023 US merger guidelines).
    pub concentration_percent: i64,
    /// Orders a work unit or regency must have placed before its
    /// concentration means anything (three orders to one vendor are 100%).
    pub concentration_min_orders: usize,
    /// Prices of one category and unit needed before a price can be an
    /// outlier among them (Cardinal's R048 uses 20).
    pub outlier_min_group: usize,
    /// Earlier prices of the same product needed before a price can be
    /// judged against them, 1 to 20 (the last 20 are looked at; ours).
    pub own_history_min: usize,
    /// A unit price above this percentage of the median of the product's
    /// earlier prices is an outlier against its own history (150; ours).
    pub own_history_percent: i64,
    /// An order to a vendor within this many days of its verification
    /// (ours; no source sets a window).
    pub new_vendor_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            ceiling: 200_000_000,
            just_under_percent: 10,
            split_window_days: 30,
            concentration_percent: 50,
            concentration_min_orders: 10,
            outlier_min_group: 20,
            own_history_min: 5,
            own_history_percent: 150,
            new_vendor_days: 30,
        }
    }
}

impl Thresholds {
    /// The first field out of range, named, with what it must be.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        let checks: [(bool, &str, &str); 9] = [
            (
                (1..=MAX_AMOUNT).contains(&self.ceiling),
                "ceiling",
                "must be 1 to 1000000000000000",
            ),
            (
                (1..=99).contains(&self.just_under_percent),
                "just_under_percent",
                "must be 1 to 99",
            ),
            (
                (1..=366).contains(&self.split_window_days),
                "split_window_days",
                "must be 1 to 366",
            ),
            (
                (1..=100).contains(&self.concentration_percent),
                "concentration_percent",
                "must be 1 to 100",
            ),
            (
                (2..=100_000).contains(&self.concentration_min_orders),
                "concentration_min_orders",
                "must be 2 to 100000",
            ),
            (
                (4..=100_000).contains(&self.outlier_min_group),
                "outlier_min_group",
                "must be 4 to 100000",
            ),
            (
                (1..=HISTORY).contains(&self.own_history_min),
                "own_history_min",
                "must be 1 to 20 (the earlier prices looked at)",
            ),
            (
                (101..=10_000).contains(&self.own_history_percent),
                "own_history_percent",
                "must be 101 to 10000",
            ),
            (
                (1..=366).contains(&self.new_vendor_days),
                "new_vendor_days",
                "must be 1 to 366",
            ),
        ];
        match checks.into_iter().find(|(ok, _, _)| !ok) {
            Some((_, field, rule)) => Err((field, rule)),
            None => Ok(()),
        }
    }
}

/// What a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlagKind {
    SplitPurchase,
    JustUnderCeiling,
    VendorConcentration,
    PriceOutlier,
    NewVendor,
}

impl FlagKind {
    pub const ALL: [FlagKind; 5] = [
        FlagKind::SplitPurchase,
        FlagKind::JustUnderCeiling,
        FlagKind::VendorConcentration,
        FlagKind::PriceOutlier,
        FlagKind::NewVendor,
    ];

    /// The code stored, streamed and used in URLs.
    pub fn code(self) -> &'static str {
        match self {
            FlagKind::SplitPurchase => "split-purchase",
            FlagKind::JustUnderCeiling => "just-under-ceiling",
            FlagKind::VendorConcentration => "vendor-concentration",
            FlagKind::PriceOutlier => "price-outlier",
            FlagKind::NewVendor => "new-vendor",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The flag's name, Indonesian and English.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (FlagKind::SplitPurchase, Lang::Id) => "Pemecahan paket",
            (FlagKind::SplitPurchase, Lang::En) => "Split purchase",
            (FlagKind::JustUnderCeiling, Lang::Id) => "Tepat di bawah batas",
            (FlagKind::JustUnderCeiling, Lang::En) => "Just under the ceiling",
            (FlagKind::VendorConcentration, Lang::Id) => "Pemusatan pada satu penyedia",
            (FlagKind::VendorConcentration, Lang::En) => "Vendor concentration",
            (FlagKind::PriceOutlier, Lang::Id) => "Harga jauh di atas kewajaran",
            (FlagKind::PriceOutlier, Lang::En) => "Price far above the usual",
            (FlagKind::NewVendor, Lang::Id) => "Penyedia baru",
            (FlagKind::NewVendor, Lang::En) => "New vendor",
        }
    }
}

/// The languages the public reads: Indonesian first, English beside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Id,
    En,
}

/// What a flag measured against: a work unit's spending or a regency's
/// (concentration), a category's prices or the product's own (outliers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Basis {
    None,
    WorkUnit,
    Regency,
    Category,
    OwnHistory,
}

impl Basis {
    pub fn code(self) -> &'static str {
        match self {
            Basis::None => "",
            Basis::WorkUnit => "work-unit",
            Basis::Regency => "regency",
            Basis::Category => "category",
            Basis::OwnHistory => "own-history",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [
            Basis::None,
            Basis::WorkUnit,
            Basis::Regency,
            Basis::Category,
            Basis::OwnHistory,
        ]
        .into_iter()
        .find(|b| b.code() == code)
    }
}

/// The part of the read model one evaluation of the rules covers. Every
/// flag belongs to one scope and is computed from it alone, so the
/// projection recomputes a scope whenever an order in it comes or goes,
/// and any order of delivery ends with the same flags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// One order: just under the ceiling, to a new vendor.
    Order(String),
    /// One work unit's orders to one vendor: split purchases. A work
    /// unit's name is unique within its regency only (every regency has
    /// its Dinas Kesehatan).
    BuyerVendor {
        regency: String,
        work_unit: String,
        vendor_id: String,
    },
    /// One work unit's orders: concentration.
    WorkUnit { regency: String, work_unit: String },
    /// One regency's buyers' orders: concentration.
    Regency(String),
    /// The order lines of one category and unit: price outliers.
    CategoryUnit { category: String, unit: String },
    /// One product's order lines: prices against its own history.
    Product(String),
}

impl Scope {
    /// The scope as stored beside its flags: unambiguous whatever the
    /// names hold (a JSON array).
    pub fn key(&self) -> String {
        let parts: Vec<&str> = match self {
            Scope::Order(id) => vec!["order", id],
            Scope::BuyerVendor {
                regency,
                work_unit,
                vendor_id,
            } => vec!["buyer-vendor", regency, work_unit, vendor_id],
            Scope::WorkUnit { regency, work_unit } => vec!["work-unit", regency, work_unit],
            Scope::Regency(code) => vec!["regency", code],
            Scope::CategoryUnit { category, unit } => vec!["category-unit", category, unit],
            Scope::Product(id) => vec!["product", id],
        };
        serde_json::to_string(&parts).unwrap_or_default()
    }

    /// The scope a [`Scope::key`] stands for.
    pub fn from_key(key: &str) -> Option<Scope> {
        let parts: Vec<String> = serde_json::from_str(key).ok()?;
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        Some(match parts.as_slice() {
            ["order", id] => Scope::Order(id.to_string()),
            ["buyer-vendor", regency, work_unit, vendor_id] => Scope::BuyerVendor {
                regency: regency.to_string(),
                work_unit: work_unit.to_string(),
                vendor_id: vendor_id.to_string(),
            },
            ["work-unit", regency, work_unit] => Scope::WorkUnit {
                regency: regency.to_string(),
                work_unit: work_unit.to_string(),
            },
            ["regency", code] => Scope::Regency(code.to_string()),
            ["category-unit", category, unit] => Scope::CategoryUnit {
                category: category.to_string(),
                unit: unit.to_string(),
            },
            ["product", id] => Scope::Product(id.to_string()),
            _ => return None,
        })
    }

    /// Every scope an order is in: what its coming or going recomputes.
    pub fn of_order(order: &OrderFacts) -> Vec<Scope> {
        let mut scopes = vec![
            Scope::Order(order.order_id.clone()),
            Scope::BuyerVendor {
                regency: order.buyer_regency.clone(),
                work_unit: order.buyer_work_unit.clone(),
                vendor_id: order.vendor_id.clone(),
            },
            Scope::WorkUnit {
                regency: order.buyer_regency.clone(),
                work_unit: order.buyer_work_unit.clone(),
            },
            Scope::Regency(order.buyer_regency.clone()),
        ];
        for item in &order.items {
            scopes.push(Scope::CategoryUnit {
                category: item.category_code.clone(),
                unit: item.unit.clone(),
            });
            scopes.push(Scope::Product(item.product_id.clone()));
        }
        scopes.sort();
        scopes.dedup();
        scopes
    }
}

/// An order as the rules see it: a transaction (neither rejected nor
/// cancelled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagOrder {
    pub order_id: String,
    pub buyer_work_unit: String,
    pub buyer_regency: String,
    pub vendor_id: String,
    pub placed_at: DateTime<Utc>,
    pub total: i64,
}

/// An order line as the price rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub order_id: String,
    pub line: i32,
    pub product_id: String,
    pub category_code: String,
    pub unit: String,
    pub unit_price: i64,
    pub placed_at: DateTime<Utc>,
    pub buyer_work_unit: String,
    pub buyer_regency: String,
    pub vendor_id: String,
}

/// A raised flag: what it is about, the orders that raised it and the
/// figures a plain explanation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedFlag {
    /// Stable while the same orders raise it: the kind and a digest of its
    /// scope and subject.
    pub flag_id: String,
    pub kind: FlagKind,
    pub basis: Basis,
    /// [`Scope::key`] of the scope it was computed in.
    pub scope: String,
    /// Empty for a regency's concentration.
    pub buyer_work_unit: String,
    pub buyer_regency: String,
    pub vendor_id: String,
    /// The category of a price outlier, empty otherwise.
    pub category_code: String,
    pub unit: String,
    /// The product of a price outlier, empty otherwise.
    pub product_id: String,
    /// The orders that raised it, oldest first (at most [`MAX_ORDERS`]).
    pub order_ids: Vec<String>,
    /// How many orders raised it (more than `order_ids` past the cap).
    pub order_count: i64,
    /// What was measured: the sum of a split, an order's total, a vendor's
    /// share (basis points), a unit price.
    pub amount: i64,
    /// What it was measured against: the ceiling, the spending of the work
    /// unit or regency, the upper fence, the median of earlier prices, the
    /// days since the vendor's verification.
    pub reference: i64,
    /// Orders in the work unit or regency, prices in the group.
    pub group_size: i64,
    /// When the newest of its orders was placed.
    pub raised_at: DateTime<Utc>,
}

/// The most order ids a flag lists; its count says how many there were.
pub const MAX_ORDERS: usize = 1_000;

fn flag_id(kind: FlagKind, scope: &str, subject: &str) -> String {
    let digest = Sha256::new()
        .chain_update(scope.as_bytes())
        .chain_update([0u8])
        .chain_update(subject.as_bytes())
        .finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", kind.code())
}

impl RedFlag {
    fn new(kind: FlagKind, basis: Basis, scope: &Scope, subject: &str) -> Self {
        let scope = scope.key();
        Self {
            flag_id: flag_id(kind, &scope, &format!("{}|{subject}", basis.code())),
            kind,
            basis,
            scope,
            buyer_work_unit: String::new(),
            buyer_regency: String::new(),
            vendor_id: String::new(),
            category_code: String::new(),
            unit: String::new(),
            product_id: String::new(),
            order_ids: Vec::new(),
            order_count: 0,
            amount: 0,
            reference: 0,
            group_size: 0,
            raised_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    fn of_orders<'a>(mut self, orders: impl IntoIterator<Item = &'a FlagOrder>) -> Self {
        let mut orders: Vec<&FlagOrder> = orders.into_iter().collect();
        orders.sort_by(|a, b| (a.placed_at, &a.order_id).cmp(&(b.placed_at, &b.order_id)));
        self.order_count = orders.len() as i64;
        self.raised_at = orders.last().map_or(self.raised_at, |o| o.placed_at);
        self.order_ids = orders
            .iter()
            .take(MAX_ORDERS)
            .map(|o| o.order_id.clone())
            .collect();
        self
    }

    fn of_line(mut self, line: &PricedLine) -> Self {
        self.buyer_work_unit = line.buyer_work_unit.clone();
        self.buyer_regency = line.buyer_regency.clone();
        self.vendor_id = line.vendor_id.clone();
        self.category_code = line.category_code.clone();
        self.unit = line.unit.clone();
        self.product_id = line.product_id.clone();
        self.order_ids = vec![line.order_id.clone()];
        self.order_count = 1;
        self.amount = line.unit_price;
        self.raised_at = line.placed_at;
        self
    }

    /// A plain explanation of the flag, in `lang`, for a reader without the
    /// rules at hand. Names are the reader's to add: this one uses codes.
    pub fn explain(&self, t: &Thresholds, lang: Lang) -> String {
        let sep = match lang {
            Lang::Id => '.',
            Lang::En => ',',
        };
        let rp = |v: i64| grouped_rupiah(v, sep);
        let pct = |bp: i64| match lang {
            Lang::Id => format!("{},{:02}%", bp / 100, bp % 100),
            Lang::En => format!("{}.{:02}%", bp / 100, bp % 100),
        };
        let n = self.order_count;
        match (self.kind, self.basis, lang) {
            (FlagKind::SplitPurchase, _, Lang::Id) => format!(
                "{n} pesanan satu satuan kerja kepada satu penyedia dalam {} hari, masing-masing di \
                 bawah batas pengadaan langsung {}, berjumlah {}: mungkin satu pengadaan yang \
                 dipecah untuk menghindari tender (Perpres 16/2018 Pasal 20 ayat (2) huruf d).",
                t.split_window_days,
                rp(self.reference),
                rp(self.amount)
            ),
            (FlagKind::SplitPurchase, _, Lang::En) => format!(
                "{n} orders of one work unit to one vendor within {} days, each under the {} \
                 direct-purchase ceiling, together {}: possibly one purchase split to avoid a \
                 tender (Perpres 16/2018 Article 20(2)(d)).",
                t.split_window_days,
                rp(self.reference),
                rp(self.amount)
            ),
            (FlagKind::JustUnderCeiling, _, Lang::Id) => format!(
                "Nilai pesanan {} berada dalam {}% di bawah batas pengadaan langsung {}.",
                rp(self.amount),
                t.just_under_percent,
                rp(self.reference)
            ),
            (FlagKind::JustUnderCeiling, _, Lang::En) => format!(
                "The order's total of {} is within {}% under the {} direct-purchase ceiling.",
                rp(self.amount),
                t.just_under_percent,
                rp(self.reference)
            ),
            (FlagKind::VendorConcentration, basis, Lang::Id) => format!(
                "Satu penyedia menerima {} belanja {} ({} dari {}; {n} dari {} pesanan).",
                pct(self.amount),
                if basis == Basis::Regency {
                    "pembeli di kabupaten/kota ini"
                } else {
                    "satuan kerja ini"
                },
                rp(self.amount_of_share()),
                rp(self.reference),
                self.group_size
            ),
            (FlagKind::VendorConcentration, basis, Lang::En) => format!(
                "One vendor takes {} of the spending of {} ({} of {}; {n} of {} orders).",
                pct(self.amount),
                if basis == Basis::Regency {
                    "the buyers in this regency"
                } else {
                    "this work unit"
                },
                rp(self.amount_of_share()),
                rp(self.reference),
                self.group_size
            ),
            (FlagKind::PriceOutlier, Basis::OwnHistory, Lang::Id) => format!(
                "Harga satuan {} lebih dari {}% median {} dari {} harga produk ini sebelumnya.",
                rp(self.amount),
                t.own_history_percent,
                rp(self.reference),
                self.group_size
            ),
            (FlagKind::PriceOutlier, Basis::OwnHistory, Lang::En) => format!(
                "A unit price of {}, more than {}% of the median {} of this product's {} \
                 earlier prices.",
                rp(self.amount),
                t.own_history_percent,
                rp(self.reference),
                self.group_size
            ),
            (FlagKind::PriceOutlier, _, Lang::Id) => format!(
                "Harga satuan {} di atas batas atas kewajaran {} (Q3 + 1,5 × IQR) dari {} harga \
                 dalam kategori dan satuan yang sama.",
                rp(self.amount),
                rp(self.reference),
                self.group_size
            ),
            (FlagKind::PriceOutlier, _, Lang::En) => format!(
                "A unit price of {}, above the upper fence {} (Q3 + 1.5 × IQR) of {} prices in \
                 the same category and unit.",
                rp(self.amount),
                rp(self.reference),
                self.group_size
            ),
            (FlagKind::NewVendor, _, Lang::Id) => format!(
                "Pesanan {} kepada penyedia yang diverifikasi {} hari sebelumnya (batas {} hari).",
                rp(self.amount),
                self.reference,
                t.new_vendor_days
            ),
            (FlagKind::NewVendor, _, Lang::En) => format!(
                "An order of {} to a vendor verified {} days before (within {} days).",
                rp(self.amount),
                self.reference,
                t.new_vendor_days
            ),
        }
    }

    /// A concentration's rupiah: its share of the spending.
    fn amount_of_share(&self) -> i64 {
        (i128::from(self.reference) * i128::from(self.amount) / 10_000) as i64
    }
}

/// The flags of one order's own scope: just under the ceiling, and to a
/// vendor verified shortly before (`verified_at`, when reporting knows it).
pub fn order_flags(
    order: &FlagOrder,
    verified_at: Option<DateTime<Utc>>,
    t: &Thresholds,
) -> Vec<RedFlag> {
    let scope = Scope::Order(order.order_id.clone());
    let base = |kind| {
        let mut flag = RedFlag::new(kind, Basis::None, &scope, "").of_orders([order]);
        flag.buyer_work_unit = order.buyer_work_unit.clone();
        flag.buyer_regency = order.buyer_regency.clone();
        flag.vendor_id = order.vendor_id.clone();
        flag.amount = order.total;
        flag
    };
    let mut flags = Vec::new();
    if just_under_ceiling(order.total, t) {
        flags.push(RedFlag {
            reference: t.ceiling,
            ..base(FlagKind::JustUnderCeiling)
        });
    }
    if let Some(verified_at) = verified_at
        && to_a_new_vendor(order.placed_at, verified_at, t)
    {
        flags.push(RedFlag {
            reference: (order.placed_at - verified_at).num_days(),
            ..base(FlagKind::NewVendor)
        });
    }
    flags
}

/// The split purchases among one work unit's orders to one vendor.
pub fn split_flags(orders: &[FlagOrder], t: &Thresholds) -> Vec<RedFlag> {
    let Some(first) = orders.first() else {
        return Vec::new();
    };
    let scope = Scope::BuyerVendor {
        regency: first.buyer_regency.clone(),
        work_unit: first.buyer_work_unit.clone(),
        vendor_id: first.vendor_id.clone(),
    };
    let purchases: Vec<Purchase> = orders
        .iter()
        .map(|o| Purchase {
            order_id: o.order_id.clone(),
            placed_at: o.placed_at,
            total: o.total,
        })
        .collect();
    let by_id: BTreeMap<&str, &FlagOrder> =
        orders.iter().map(|o| (o.order_id.as_str(), o)).collect();
    split_purchases(&purchases, t)
        .into_iter()
        .map(|group| {
            let members: Vec<&FlagOrder> = group
                .iter()
                .filter_map(|id| by_id.get(id.as_str()).copied())
                .collect();
            let mut flag = RedFlag::new(FlagKind::SplitPurchase, Basis::None, &scope, &group[0])
                .of_orders(members.iter().copied());
            flag.buyer_work_unit = first.buyer_work_unit.clone();
            flag.buyer_regency = first.buyer_regency.clone();
            flag.vendor_id = first.vendor_id.clone();
            flag.amount = saturating_sum(members.iter().map(|o| o.total));
            flag.reference = t.ceiling;
            flag
        })
        .collect()
}

/// The concentration of one work unit's or one regency's orders on one
/// vendor (`scope` is [`Scope::WorkUnit`] or [`Scope::Regency`]).
pub fn concentration_flags(scope: &Scope, orders: &[FlagOrder], t: &Thresholds) -> Vec<RedFlag> {
    let mut by_vendor: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
    for o in orders {
        let entry = by_vendor.entry(&o.vendor_id).or_default();
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(o.total);
    }
    let rows: Vec<(String, usize, i64)> = by_vendor
        .iter()
        .map(|(v, (n, value))| (v.to_string(), *n, *value))
        .collect();
    let Some(share) = concentration(&rows, t) else {
        return Vec::new();
    };
    let of_vendor: Vec<FlagOrder> = orders
        .iter()
        .filter(|o| o.vendor_id == share.vendor_id)
        .cloned()
        .collect();
    concentration_flag(scope, &rows, &share, &of_vendor)
        .into_iter()
        .collect()
}

/// The flag of a concentration found by [`concentration`] in `scope`'s
/// spending by vendor (`by_vendor`), listing the vendor's orders
/// (`of_vendor`). The store reads the spending as sums and only the one
/// vendor's orders; [`concentration_flags`] has them all in hand.
pub fn concentration_flag(
    scope: &Scope,
    by_vendor: &[(String, usize, i64)],
    share: &Share,
    of_vendor: &[FlagOrder],
) -> Option<RedFlag> {
    let (basis, regency, work_unit) = match scope {
        Scope::WorkUnit { regency, work_unit } => (Basis::WorkUnit, regency, work_unit.as_str()),
        Scope::Regency(regency) => (Basis::Regency, regency, ""),
        _ => return None,
    };
    let mut flag = RedFlag::new(
        FlagKind::VendorConcentration,
        basis,
        scope,
        &share.vendor_id,
    )
    .of_orders(of_vendor);
    flag.buyer_work_unit = work_unit.to_string();
    flag.buyer_regency = regency.clone();
    flag.vendor_id = share.vendor_id.clone();
    flag.amount = share.share_bp;
    flag.reference = saturating_sum(by_vendor.iter().map(|(_, _, value)| *value));
    flag.group_size = by_vendor.iter().map(|(_, n, _)| *n as i64).sum();
    Some(flag)
}

/// The order lines of one category and unit priced above the group's
/// upper fence.
pub fn category_price_flags(lines: &[PricedLine], t: &Thresholds) -> Vec<RedFlag> {
    let prices: Vec<i64> = lines.iter().map(|l| l.unit_price).collect();
    let Some(fence) = upper_fence(&prices, t) else {
        return Vec::new();
    };
    price_outliers(
        fence,
        lines.len(),
        lines.iter().filter(|l| l.unit_price > fence),
    )
}

/// The flags of the lines `above` the upper `fence` of a category's
/// `group_size` prices. The store reads the prices alone and only these
/// lines whole.
pub fn price_outliers<'a>(
    fence: i64,
    group_size: usize,
    above: impl IntoIterator<Item = &'a PricedLine>,
) -> Vec<RedFlag> {
    above
        .into_iter()
        .map(|l| {
            let scope = Scope::CategoryUnit {
                category: l.category_code.clone(),
                unit: l.unit.clone(),
            };
            RedFlag {
                reference: fence,
                group_size: group_size as i64,
                ..RedFlag::new(
                    FlagKind::PriceOutlier,
                    Basis::Category,
                    &scope,
                    &format!("{}#{}", l.order_id, l.line),
                )
                .of_line(l)
            }
        })
        .collect()
}

/// The order lines of one product priced above `own_history_percent` of
/// the median of the product's earlier prices (the last 20 before it).
pub fn own_price_flags(lines: &[PricedLine], t: &Thresholds) -> Vec<RedFlag> {
    let Some(first) = lines.first() else {
        return Vec::new();
    };
    let scope = Scope::Product(first.product_id.clone());
    let mut sorted: Vec<&PricedLine> = lines.iter().collect();
    sorted.sort_by(|a, b| {
        (a.placed_at, &a.order_id, a.line).cmp(&(b.placed_at, &b.order_id, b.line))
    });
    let mut flags = Vec::new();
    for (i, line) in sorted.iter().enumerate() {
        // Sorted by time: the lines placed strictly before are a prefix.
        let before = sorted[..i].partition_point(|e| e.placed_at < line.placed_at);
        let mut prices: Vec<i64> = sorted[before.saturating_sub(HISTORY)..before]
            .iter()
            .map(|e| e.unit_price)
            .collect();
        if prices.len() < t.own_history_min {
            continue;
        }
        prices.sort_unstable();
        let median = quantile(&prices, 1, 2);
        if i128::from(line.unit_price) * 100
            > i128::from(median) * i128::from(t.own_history_percent)
        {
            flags.push(RedFlag {
                reference: median,
                group_size: prices.len() as i64,
                ..RedFlag::new(
                    FlagKind::PriceOutlier,
                    Basis::OwnHistory,
                    &scope,
                    &format!("{}#{}", line.order_id, line.line),
                )
                .of_line(line)
            });
        }
    }
    flags
}

/// The earlier prices of a product its history looks at, newest first.
const HISTORY: usize = 20;

/// A sum of amounts that stops at the largest instead of wrapping (no
/// order comes near; a damaged one must not turn a sum negative).
fn saturating_sum(values: impl IntoIterator<Item = i64>) -> i64 {
    values.into_iter().fold(0, i64::saturating_add)
}

/// The largest ceiling (a quadrillion rupiah): the rules' arithmetic on
/// amounts stays far from overflow.
const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// An order as the split rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub order_id: String,
    pub placed_at: DateTime<Utc>,
    pub total: i64,
}

/// Whether `total` sits just under the ceiling: at or above its lower band
/// and under the ceiling itself.
pub fn just_under_ceiling(total: i64, t: &Thresholds) -> bool {
    let floor = t.ceiling - t.ceiling * t.just_under_percent / 100;
    (floor..t.ceiling).contains(&total)
}

/// The groups of `purchases` (one work unit's, to one vendor; any order)
/// that look split: orders each under the ceiling, all placed within
/// `split_window_days` of the group's first, whose sum passes the
/// ceiling. Each group is the longest such run from its first order; a
/// purchase is in at most one group. Answers the groups' order ids, each
/// oldest first.
pub fn split_purchases(purchases: &[Purchase], t: &Thresholds) -> Vec<Vec<String>> {
    let mut under: Vec<&Purchase> = purchases.iter().filter(|p| p.total < t.ceiling).collect();
    under.sort_by(|a, b| (a.placed_at, &a.order_id).cmp(&(b.placed_at, &b.order_id)));
    let window = Duration::days(t.split_window_days);
    let mut groups = Vec::new();
    let mut start = 0;
    while start < under.len() {
        let first = under[start].placed_at;
        let end = under[start..]
            .iter()
            .position(|p| p.placed_at - first > window)
            .map_or(under.len(), |n| start + n);
        let run = &under[start..end];
        let sum = saturating_sum(run.iter().map(|p| p.total));
        if run.len() >= 2 && sum > t.ceiling {
            groups.push(run.iter().map(|p| p.order_id.clone()).collect());
            start = end;
        } else {
            start += 1;
        }
    }
    groups
}

/// A vendor's share of a buyer's spending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub vendor_id: String,
    /// Basis points of the buyer's spending.
    pub share_bp: i64,
    pub orders: usize,
}

/// The vendor that takes at least `concentration_percent` of a buyer's
/// spending, given the buyer's spending by vendor (`(vendor, orders,
/// value)`), when the buyer has placed enough orders; `None` otherwise.
pub fn concentration(by_vendor: &[(String, usize, i64)], t: &Thresholds) -> Option<Share> {
    let orders: usize = by_vendor.iter().map(|(_, n, _)| n).sum();
    let spent = saturating_sum(by_vendor.iter().map(|(_, _, v)| *v));
    if orders < t.concentration_min_orders || spent <= 0 {
        return None;
    }
    let (vendor, n, value) = by_vendor
        .iter()
        .max_by(|a, b| a.2.cmp(&b.2).then_with(|| b.0.cmp(&a.0)))?;
    // i128: value × 10,000 overflows i64 above ~Rp922 trillion.
    let share_bp = (i128::from(*value) * 10_000 / i128::from(spent)) as i64;
    (share_bp >= t.concentration_percent * 100).then(|| Share {
        vendor_id: vendor.clone(),
        share_bp,
        orders: *n,
    })
}

/// The upper Tukey fence of `prices` (Q3 + 1.5·IQR, quartiles by linear
/// interpolation), when there are at least `outlier_min_group` of them.
pub fn upper_fence(prices: &[i64], t: &Thresholds) -> Option<i64> {
    if prices.len() < t.outlier_min_group.max(4) {
        return None;
    }
    let mut sorted = prices.to_vec();
    sorted.sort_unstable();
    let (q1, q3) = (quantile(&sorted, 1, 4), quantile(&sorted, 3, 4));
    let fence = i128::from(q3) + (i128::from(q3) - i128::from(q1)) * 3 / 2;
    Some(i64::try_from(fence).unwrap_or(i64::MAX))
}

/// The `num/den` quantile of sorted `values`, interpolating linearly
/// between the two nearest ranks (in whole rupiah, rounded down).
fn quantile(sorted: &[i64], num: usize, den: usize) -> i64 {
    let n = sorted.len();
    // Position (n - 1) * q, as a whole part and a remainder over `den`.
    let scaled = (n - 1) * num;
    let (i, rem) = (scaled / den, scaled % den);
    let low = i128::from(sorted[i]);
    let high = i128::from(sorted[(i + 1).min(n - 1)]);
    // Between two i64 values: the result is one too.
    (low + (high - low) * rem as i128 / den as i128) as i64
}

/// Whether an order placed at `placed_at` went to a vendor verified at
/// `verified_at` no more than `new_vendor_days` before.
pub fn to_a_new_vendor(
    placed_at: DateTime<Utc>,
    verified_at: DateTime<Utc>,
    t: &Thresholds,
) -> bool {
    let since = placed_at - verified_at;
    since >= Duration::zero() && since <= Duration::days(t.new_vendor_days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, 3, 0, 0).unwrap()
    }

    fn purchase(id: &str, d: u32, total: i64) -> Purchase {
        Purchase {
            order_id: id.into(),
            placed_at: day(d),
            total,
        }
    }

    #[test]
    fn an_order_just_under_the_ceiling_is_flagged_and_at_or_below_the_band_is_not() {
        let t = Thresholds::default();
        assert!(just_under_ceiling(199_999_999, &t));
        assert!(just_under_ceiling(180_000_000, &t));
        assert!(!just_under_ceiling(179_999_999, &t));
        assert!(!just_under_ceiling(200_000_000, &t));
    }

    #[test]
    fn orders_under_the_ceiling_that_pass_it_together_within_the_window_look_split() {
        let t = Thresholds {
            split_window_days: 14,
            ..Thresholds::default()
        };
        let purchases = [
            purchase("a", 1, 95_000_000),
            purchase("b", 3, 90_000_000),
            purchase("c", 10, 60_000_000),
            // Beyond the window from the first: a group of its own, too small.
            purchase("d", 28, 20_000_000),
            // Over the ceiling by itself: a tender's, not a split's.
            purchase("e", 2, 250_000_000),
        ];
        assert_eq!(split_purchases(&purchases, &t), [vec!["a", "b", "c"]]);
        // Ordinary orders, however many, do not pass the ceiling.
        let ordinary: Vec<Purchase> = (1..=20)
            .map(|d| purchase(&format!("o{d}"), d, 5_000_000))
            .collect();
        assert!(split_purchases(&ordinary, &t).is_empty());
    }

    #[test]
    fn a_vendor_taking_most_of_a_buyers_spending_over_enough_orders_is_concentration() {
        let t = Thresholds::default();
        let buyer = [
            ("v1".to_string(), 8, 80_000_000),
            ("v2".to_string(), 2, 20_000_000),
        ];
        assert_eq!(
            concentration(&buyer, &t),
            Some(Share {
                vendor_id: "v1".into(),
                share_bp: 8_000,
                orders: 8
            })
        );
        let few = [("v1".to_string(), 3, 30_000_000)];
        assert_eq!(
            concentration(&few, &t),
            None,
            "too few orders to mean anything"
        );
        let spread = [
            ("v1".to_string(), 5, 40_000_000),
            ("v2".to_string(), 5, 60_000_000),
        ];
        assert_eq!(concentration(&spread, &t).map(|s| s.share_bp), Some(6_000));
        let even = [
            ("v1".to_string(), 5, 50_000_000),
            ("v2".to_string(), 5, 50_000_000),
            ("v3".to_string(), 5, 50_000_000),
        ];
        assert_eq!(concentration(&even, &t), None);
    }

    #[test]
    fn the_upper_fence_needs_a_group_and_sits_above_the_ordinary_prices() {
        let t = Thresholds::default();
        let prices: Vec<i64> = (0..20).map(|i| 25_000 + i * 100).collect();
        let fence = upper_fence(&prices, &t).unwrap();
        // Q1 25,475, Q3 26,425: the fence is Q3 + 1.5 × 950.
        assert_eq!(fence, 26_425 + 1_425);
        assert!(prices.iter().all(|p| *p <= fence));
        assert!(
            75_000 > fence,
            "three times the usual price is far above it"
        );
        assert_eq!(upper_fence(&prices[..19], &t), None, "too few to judge");
    }

    #[test]
    fn an_order_soon_after_the_vendors_verification_is_to_a_new_vendor() {
        let t = Thresholds::default();
        assert!(to_a_new_vendor(day(20), day(1), &t));
        assert!(!to_a_new_vendor(
            Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap(),
            day(1),
            &t
        ));
        assert!(!to_a_new_vendor(day(1), day(2), &t), "before verification");
    }

    fn order(id: &str, unit: &str, vendor: &str, d: u32, total: i64) -> FlagOrder {
        FlagOrder {
            order_id: id.into(),
            buyer_work_unit: unit.into(),
            buyer_regency: "33.74".into(),
            vendor_id: vendor.into(),
            placed_at: day(d),
            total,
        }
    }

    fn line(order_id: &str, product: &str, d: u32, unit_price: i64) -> PricedLine {
        PricedLine {
            order_id: order_id.into(),
            line: 1,
            product_id: product.into(),
            category_code: "katering.nasi-kotak".into(),
            unit: "kotak".into(),
            unit_price,
            placed_at: day(d),
            buyer_work_unit: "Dinas Kesehatan".into(),
            buyer_regency: "33.74".into(),
            vendor_id: "v1".into(),
        }
    }

    #[test]
    fn the_default_thresholds_hold_and_each_field_out_of_range_is_named() {
        let t = Thresholds::default();
        assert_eq!(t.check(), Ok(()));
        let cases: [(Thresholds, &str); 9] = [
            (
                Thresholds {
                    ceiling: 0,
                    ..t.clone()
                },
                "ceiling",
            ),
            (
                Thresholds {
                    just_under_percent: 100,
                    ..t.clone()
                },
                "just_under_percent",
            ),
            (
                Thresholds {
                    split_window_days: 0,
                    ..t.clone()
                },
                "split_window_days",
            ),
            (
                Thresholds {
                    concentration_percent: 101,
                    ..t.clone()
                },
                "concentration_percent",
            ),
            (
                Thresholds {
                    concentration_min_orders: 1,
                    ..t.clone()
                },
                "concentration_min_orders",
            ),
            (
                Thresholds {
                    outlier_min_group: 3,
                    ..t.clone()
                },
                "outlier_min_group",
            ),
            (
                Thresholds {
                    own_history_min: 0,
                    ..t.clone()
                },
                "own_history_min",
            ),
            (
                Thresholds {
                    own_history_percent: 100,
                    ..t.clone()
                },
                "own_history_percent",
            ),
            (
                Thresholds {
                    new_vendor_days: 400,
                    ..t.clone()
                },
                "new_vendor_days",
            ),
        ];
        for (wrong, field) in cases {
            assert_eq!(wrong.check().map_err(|(f, _)| f), Err(field));
        }
    }

    #[test]
    fn kinds_and_bases_read_back_from_their_codes() {
        for kind in FlagKind::ALL {
            assert_eq!(FlagKind::parse(kind.code()), Some(kind));
            assert_ne!(kind.label(Lang::Id), kind.label(Lang::En));
        }
        assert_eq!(FlagKind::parse("Split-Purchase"), None);
        for basis in [
            Basis::None,
            Basis::WorkUnit,
            Basis::Regency,
            Basis::Category,
            Basis::OwnHistory,
        ] {
            assert_eq!(Basis::parse(basis.code()), Some(basis));
        }
    }

    #[test]
    fn scope_keys_cannot_be_confused_whatever_the_names_hold() {
        let a = Scope::BuyerVendor {
            regency: "33.74".into(),
            work_unit: r#"a","b"#.into(),
            vendor_id: "c".into(),
        };
        let b = Scope::BuyerVendor {
            regency: "33.74".into(),
            work_unit: "a".into(),
            vendor_id: r#"b","c"#.into(),
        };
        assert_ne!(a.key(), b.key());
        for scope in [
            a,
            b,
            Scope::Regency("33.74".into()),
            Scope::Product("p".into()),
        ] {
            assert_eq!(Scope::from_key(&scope.key()), Some(scope));
        }
        assert_eq!(Scope::from_key(r#"["order"]"#), None);
        assert_eq!(Scope::from_key("not json"), None);
        assert_eq!(
            Scope::WorkUnit {
                regency: "33.74".into(),
                work_unit: "Dinas Kesehatan".into()
            }
            .key(),
            r#"["work-unit","33.74","Dinas Kesehatan"]"#
        );
    }

    #[test]
    fn an_order_is_in_its_own_its_buyers_and_each_lines_scopes() {
        let facts = OrderFacts {
            order_id: "o1".into(),
            version: 0,
            status: blangkon_domain::OrderStatus::Placed,
            buyer_work_unit: "Dinas Kesehatan".into(),
            buyer_regency: "33.74".into(),
            vendor_id: "v1".into(),
            vendor_name: String::new(),
            vendor_regency: "33.74".into(),
            legal_form: "cv".into(),
            scale: "small".into(),
            total: 100,
            placed_at: day(1),
            changed_at: day(1),
            bast_date: String::new(),
            paid_at: None,
            items: ["p1", "p2", "p1"]
                .into_iter()
                .map(|product| super::super::figures::ItemFacts {
                    product_id: product.into(),
                    name: String::new(),
                    category_code: "katering.snack".into(),
                    unit: "kotak".into(),
                    quantity: 1,
                    unit_price: 50,
                    line_total: 50,
                })
                .collect(),
        };
        let scopes = Scope::of_order(&facts);
        assert_eq!(
            scopes,
            [
                Scope::Order("o1".into()),
                Scope::BuyerVendor {
                    regency: "33.74".into(),
                    work_unit: "Dinas Kesehatan".into(),
                    vendor_id: "v1".into()
                },
                Scope::WorkUnit {
                    regency: "33.74".into(),
                    work_unit: "Dinas Kesehatan".into()
                },
                Scope::Regency("33.74".into()),
                Scope::CategoryUnit {
                    category: "katering.snack".into(),
                    unit: "kotak".into()
                },
                Scope::Product("p1".into()),
                Scope::Product("p2".into()),
            ]
        );
    }

    #[test]
    fn an_orders_own_flags_name_it_and_what_it_was_measured_against() {
        let t = Thresholds::default();
        let o = order("o1", "Dinas Kesehatan", "v1", 20, 195_000_000);
        let flags = order_flags(&o, Some(day(5)), &t);
        let kinds: Vec<FlagKind> = flags.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [FlagKind::JustUnderCeiling, FlagKind::NewVendor]);
        assert_eq!(flags[0].order_ids, ["o1"]);
        assert_eq!(
            (flags[0].amount, flags[0].reference),
            (195_000_000, t.ceiling)
        );
        assert_eq!(flags[1].reference, 15, "days since the verification");
        assert_ne!(flags[0].flag_id, flags[1].flag_id);
        assert!(flags[0].flag_id.starts_with("just-under-ceiling-"));
        // The same order gives the same ids: a recomputation finds them again.
        assert_eq!(order_flags(&o, Some(day(5)), &t), flags);
        // An ordinary order to a vendor verified long before raises nothing,
        // nor one to a vendor whose verification reporting has not seen.
        let ordinary = order("o2", "Dinas Kesehatan", "v1", 20, 15_000_000);
        assert!(order_flags(&ordinary, Some(day(5) - Duration::days(90)), &t).is_empty());
        assert!(order_flags(&ordinary, None, &t).is_empty());
    }

    #[test]
    fn a_split_flag_lists_its_orders_and_their_sum() {
        let t = Thresholds::default();
        let orders = [
            order("b", "Dinas PU", "v1", 3, 120_000_000),
            order("a", "Dinas PU", "v1", 1, 110_000_000),
            order("c", "Dinas PU", "v1", 29, 1_000_000),
        ];
        let flags = split_flags(&orders, &t);
        assert_eq!(flags.len(), 1);
        let flag = &flags[0];
        assert_eq!(flag.kind, FlagKind::SplitPurchase);
        assert_eq!(flag.order_ids, ["a", "b", "c"]);
        assert_eq!((flag.order_count, flag.amount), (3, 231_000_000));
        assert_eq!(flag.raised_at, day(29), "when its newest order was placed");
        assert_eq!(flag.vendor_id, "v1");
        assert_eq!(flag.buyer_work_unit, "Dinas PU");
        assert!(split_flags(&[], &t).is_empty());
    }

    #[test]
    fn concentration_is_flagged_per_work_unit_and_per_regency() {
        let t = Thresholds::default();
        let mut orders: Vec<FlagOrder> = (1..=8)
            .map(|d| order(&format!("a{d}"), "Dinas PU", "v1", d, 10_000_000))
            .collect();
        orders.push(order("b1", "Dinas PU", "v2", 9, 10_000_000));
        orders.push(order("b2", "Dinas PU", "v3", 10, 10_000_000));
        let unit = Scope::WorkUnit {
            regency: "33.74".into(),
            work_unit: "Dinas PU".into(),
        };
        let flags = concentration_flags(&unit, &orders, &t);
        assert_eq!(flags.len(), 1);
        let flag = &flags[0];
        assert_eq!(
            (flag.kind, flag.basis),
            (FlagKind::VendorConcentration, Basis::WorkUnit)
        );
        assert_eq!(
            (flag.amount, flag.reference, flag.group_size),
            (8_000, 100_000_000, 10)
        );
        assert_eq!(flag.order_count, 8);
        assert_eq!(flag.vendor_id, "v1");
        let regency = concentration_flags(&Scope::Regency("33.74".into()), &orders, &t);
        assert_eq!(regency[0].basis, Basis::Regency);
        assert_eq!(regency[0].buyer_work_unit, "", "a regency's, not a unit's");
        assert_ne!(regency[0].flag_id, flag.flag_id);
        // Other scopes are not concentration's.
        assert!(concentration_flags(&Scope::Order("a1".into()), &orders, &t).is_empty());
    }

    #[test]
    fn a_price_far_above_its_categorys_is_flagged_alone() {
        let t = Thresholds::default();
        let mut lines: Vec<PricedLine> = (1..=20)
            .map(|d| {
                line(
                    &format!("o{d}"),
                    &format!("p{d}"),
                    d,
                    25_000 + i64::from(d) * 100,
                )
            })
            .collect();
        lines.push(line("x", "px", 21, 75_000));
        let flags = category_price_flags(&lines, &t);
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].order_ids, ["x"]);
        assert_eq!((flags[0].basis, flags[0].amount), (Basis::Category, 75_000));
        assert_eq!(flags[0].group_size, 21);
        assert!(flags[0].reference < 75_000);
        assert_eq!(flags[0].category_code, "katering.nasi-kotak");
        assert!(
            category_price_flags(&lines[..10], &t).is_empty(),
            "too few to judge"
        );
    }

    #[test]
    fn a_price_far_above_the_products_own_history_is_flagged() {
        let t = Thresholds::default();
        let mut lines: Vec<PricedLine> = (1..=5)
            .map(|d| line(&format!("o{d}"), "p1", d, 10_000))
            .collect();
        // 140% of the median: dear, not an outlier.
        lines.push(line("near", "p1", 6, 14_000));
        // Four times the median.
        lines.push(line("far", "p1", 7, 40_000));
        let flags = own_price_flags(&lines, &t);
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].order_ids, ["far"]);
        assert_eq!(
            (flags[0].basis, flags[0].reference),
            (Basis::OwnHistory, 10_000)
        );
        assert_eq!(
            flags[0].group_size, 6,
            "the earlier prices it was judged against"
        );
        // The first prices have too little history to be judged.
        let early = [line("o1", "p1", 1, 10_000), line("o2", "p1", 2, 90_000)];
        assert!(own_price_flags(&early, &t).is_empty());
    }

    #[test]
    fn a_flag_lists_at_most_its_cap_of_orders_and_counts_them_all() {
        let t = Thresholds {
            concentration_min_orders: 2,
            ..Thresholds::default()
        };
        let orders: Vec<FlagOrder> = (0..MAX_ORDERS + 5)
            .map(|i| order(&format!("o{i:05}"), "Dinas PU", "v1", 1, 1_000))
            .collect();
        let flags = concentration_flags(
            &Scope::WorkUnit {
                regency: "33.74".into(),
                work_unit: "Dinas PU".into(),
            },
            &orders,
            &t,
        );
        assert_eq!(flags[0].order_ids.len(), MAX_ORDERS);
        assert_eq!(flags[0].order_count, (MAX_ORDERS + 5) as i64);
    }

    #[test]
    fn explanations_read_in_both_languages_with_grouped_amounts() {
        let t = Thresholds::default();
        let o = order("o1", "Dinas Kesehatan", "v1", 20, 195_000_000);
        let flag = &order_flags(&o, None, &t)[0];
        assert_eq!(
            flag.explain(&t, Lang::Id),
            "Nilai pesanan Rp195.000.000 berada dalam 10% di bawah batas pengadaan langsung \
             Rp200.000.000."
        );
        assert_eq!(
            flag.explain(&t, Lang::En),
            "The order's total of Rp195,000,000 is within 10% under the Rp200,000,000 \
             direct-purchase ceiling."
        );
        let share = RedFlag {
            amount: 8_050,
            reference: 100_000_000,
            group_size: 10,
            order_count: 8,
            ..RedFlag::new(
                FlagKind::VendorConcentration,
                Basis::Regency,
                &Scope::Regency("33.74".into()),
                "v1",
            )
        };
        assert_eq!(
            share.explain(&t, Lang::En),
            "One vendor takes 80.50% of the spending of the buyers in this regency \
             (Rp80,500,000 of Rp100,000,000; 8 of 10 orders)."
        );
        assert!(share.explain(&t, Lang::Id).contains("80,50%"));
    }
}
