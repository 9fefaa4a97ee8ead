//! What one order counts towards. Every figure about orders is a sum of
//! these contributions, kept per dimension, key and day; when an order
//! changes, its old contribution is taken out and its new one put in, so
//! the sums always equal a recount of the orders as they stand.

use std::collections::BTreeMap;

use blangkon_domain::{LegalForm, OrderStatus, Scale};
use chrono::{DateTime, Utc};

use super::calendar;

/// An order as reporting keeps it: the latest snapshot its events carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    pub order_id: String,
    /// 0 when placed, one more per transition.
    pub version: i64,
    pub status: OrderStatus,
    pub buyer_work_unit: String,
    pub buyer_regency: String,
    pub vendor_id: String,
    /// The vendor's name when the order was placed (empty in events from
    /// before orders carried it).
    pub vendor_name: String,
    pub vendor_regency: String,
    pub legal_form: String,
    pub scale: String,
    pub total: i64,
    pub placed_at: DateTime<Utc>,
    pub changed_at: DateTime<Utc>,
    /// `YYYY-MM-DD` of the handover record, once received.
    pub bast_date: String,
    /// When the buyer recorded the payment, once paid.
    pub paid_at: Option<DateTime<Utc>>,
    pub items: Vec<ItemFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFacts {
    pub product_id: String,
    pub name: String,
    pub category_code: String,
    pub unit: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub line_total: i64,
}

/// Legal forms that are not business entities.
pub const INDIVIDUAL: &str = "individual";

/// What the summary counts, kept by dimension and key as vendors and
/// products come and go (and streamed as `count` records under these
/// measures): vendors by `legal_form`, `scale`, `status`, `regency` and
/// `trained` (key `""`); listed products by top-level `category` and by
/// their vendor's `regency` (`""` while reporting has not heard of the
/// vendor).
pub const VENDORS: &str = "vendors";
pub const PRODUCTS: &str = "products";

/// The key of the micro/small/cooperative group in [`Dimension::TargetGroup`].
pub const MICRO_SMALL_COOPERATIVE: &str = "micro_small_cooperative";

impl OrderFacts {
    /// Whether the order is a transaction: neither rejected nor cancelled.
    pub fn is_transaction(&self) -> bool {
        self.status.is_transaction()
    }

    pub fn placed_day(&self) -> String {
        calendar::day_of(self.placed_at)
    }

    /// Whether `self` is a later state of the order than `other`: a higher
    /// version, or at an equal version (events from before versions were
    /// carried) a later change.
    pub fn supersedes(&self, other: &OrderFacts) -> bool {
        (self.version, self.changed_at) > (other.version, other.changed_at)
    }

    /// Whether the vendor is in the group regulation wants 40% of spending
    /// to go to: micro and small businesses and cooperatives.
    pub fn is_micro_small_or_cooperative(&self) -> bool {
        blangkon_domain::vendor::is_micro_small_or_cooperative(
            LegalForm::parse(&self.legal_form),
            Scale::parse(&self.scale),
        )
    }
}

/// The dimensions order figures are kept by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    /// Every transaction under one empty key: the totals.
    All,
    /// Every order, rejected and cancelled too, by current status.
    Status,
    Category,
    Subcategory,
    Regency,
    BuyerRegency,
    Month,
    LegalForm,
    Scale,
    BuyerUnit,
    Vendor,
    /// [`MICRO_SMALL_COOPERATIVE`] or `other`.
    TargetGroup,
}

impl Dimension {
    /// The name stored in the database and used in the analyst streams.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::All => "all",
            Dimension::Status => "status",
            Dimension::Category => "category",
            Dimension::Subcategory => "subcategory",
            Dimension::Regency => "regency",
            Dimension::BuyerRegency => "buyer_regency",
            Dimension::Month => "month",
            Dimension::LegalForm => "legal_form",
            Dimension::Scale => "scale",
            Dimension::BuyerUnit => "buyer_unit",
            Dimension::Vendor => "vendor",
            Dimension::TargetGroup => "target_group",
        }
    }
}

/// How much one order adds to one key of one dimension on its placing day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub dimension: Dimension,
    pub key: String,
    pub day: String,
    pub orders: i64,
    pub value: i64,
}

/// The top-level category of a category code: `katering.nasi-kotak` →
/// `katering`.
pub fn top_category(code: &str) -> &str {
    code.split('.').next().unwrap_or(code)
}

/// Everything `order` counts towards.
pub fn contributions(order: &OrderFacts) -> Vec<Contribution> {
    let day = order.placed_day();
    let one = |dimension, key: &str, value| Contribution {
        dimension,
        key: key.to_string(),
        day: day.clone(),
        orders: 1,
        value,
    };
    let mut out = vec![one(Dimension::Status, order.status.as_str(), order.total)];
    if !order.is_transaction() {
        return out;
    }
    let group = if order.is_micro_small_or_cooperative() {
        MICRO_SMALL_COOPERATIVE
    } else {
        "other"
    };
    out.extend([
        one(Dimension::All, "", order.total),
        one(Dimension::Regency, &order.vendor_regency, order.total),
        one(Dimension::BuyerRegency, &order.buyer_regency, order.total),
        one(Dimension::Month, calendar::month_of(&day), order.total),
        one(Dimension::LegalForm, &order.legal_form, order.total),
        one(Dimension::Scale, &order.scale, order.total),
        one(Dimension::BuyerUnit, &order.buyer_work_unit, order.total),
        one(Dimension::Vendor, &order.vendor_id, order.total),
        one(Dimension::TargetGroup, group, order.total),
    ]);
    // An order counts once per category it has lines in, with the value of
    // those lines.
    let mut categories: BTreeMap<(Dimension, &str), i64> = BTreeMap::new();
    for item in &order.items {
        for key in [
            (Dimension::Category, top_category(&item.category_code)),
            (Dimension::Subcategory, item.category_code.as_str()),
        ] {
            let value = categories.entry(key).or_insert(0);
            *value = value.saturating_add(item.line_total);
        }
    }
    out.extend(
        categories
            .into_iter()
            .map(|((dimension, key), value)| one(dimension, key, value)),
    );
    out
}

/// The net change from `before` (the stored state, if any) to `after`:
/// the old contributions taken out, the new ones put in, keys that did not
/// move left out.
pub fn change(before: Option<&OrderFacts>, after: &OrderFacts) -> Vec<Contribution> {
    let mut net: BTreeMap<(Dimension, String, String), (i64, i64)> = BTreeMap::new();
    let mut add = |c: Contribution, sign: i64| {
        let entry = net.entry((c.dimension, c.key, c.day)).or_insert((0, 0));
        entry.0 += sign * c.orders;
        entry.1 = entry.1.saturating_add(sign.saturating_mul(c.value));
    };
    for c in before.map(contributions).unwrap_or_default() {
        add(c, -1);
    }
    for c in contributions(after) {
        add(c, 1);
    }
    net.into_iter()
        .filter(|(_, (orders, value))| *orders != 0 || *value != 0)
        .map(|((dimension, key, day), (orders, value))| Contribution {
            dimension,
            key,
            day,
            orders,
            value,
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn order(status: &str, version: i64) -> OrderFacts {
        let at = DateTime::parse_from_rfc3339("2026-03-10T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        OrderFacts {
            order_id: "o-1".into(),
            version,
            status: OrderStatus::parse(status).expect("a known order status"),
            buyer_work_unit: "Dinas Pendidikan".into(),
            buyer_regency: "33.74".into(),
            vendor_id: "v-1".into(),
            vendor_name: "Katering Bu Sri".into(),
            vendor_regency: "33.22".into(),
            legal_form: "cv".into(),
            scale: "small".into(),
            total: 1_500_000,
            placed_at: at,
            changed_at: at + chrono::Duration::minutes(version),
            bast_date: String::new(),
            paid_at: None,
            items: vec![
                ItemFacts {
                    product_id: "p-1".into(),
                    name: "Nasi kotak".into(),
                    category_code: "katering.nasi-kotak".into(),
                    unit: "kotak".into(),
                    quantity: 40,
                    unit_price: 25_000,
                    line_total: 1_000_000,
                },
                ItemFacts {
                    product_id: "p-2".into(),
                    name: "Tumpeng".into(),
                    category_code: "katering.tumpeng".into(),
                    unit: "buah".into(),
                    quantity: 1,
                    unit_price: 500_000,
                    line_total: 500_000,
                },
            ],
        }
    }

    fn find<'a>(cs: &'a [Contribution], d: Dimension, key: &str) -> Option<&'a Contribution> {
        cs.iter().find(|c| c.dimension == d && c.key == key)
    }

    #[test]
    fn a_transaction_counts_once_per_dimension_and_per_category() {
        let cs = contributions(&order("placed", 0));
        let all = find(&cs, Dimension::All, "").unwrap();
        assert_eq!(
            (all.orders, all.value, all.day.as_str()),
            (1, 1_500_000, "2026-03-10")
        );
        let katering = find(&cs, Dimension::Category, "katering").unwrap();
        assert_eq!((katering.orders, katering.value), (1, 1_500_000));
        let tumpeng = find(&cs, Dimension::Subcategory, "katering.tumpeng").unwrap();
        assert_eq!((tumpeng.orders, tumpeng.value), (1, 500_000));
        assert_eq!(
            find(&cs, Dimension::Month, "2026-03").unwrap().value,
            1_500_000
        );
        assert!(find(&cs, Dimension::TargetGroup, MICRO_SMALL_COOPERATIVE).is_some());
    }

    #[test]
    fn a_cancelled_order_counts_only_under_its_status() {
        let cs = contributions(&order("cancelled", 1));
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].dimension, Dimension::Status);
    }

    #[test]
    fn a_change_moves_the_order_between_statuses_and_keeps_the_rest() {
        let placed = order("placed", 0);
        let accepted = order("accepted", 1);
        let delta = change(Some(&placed), &accepted);
        assert_eq!(delta.len(), 2, "{delta:?}");
        assert_eq!(
            find(&delta, Dimension::Status, "placed").unwrap().orders,
            -1
        );
        assert_eq!(
            find(&delta, Dimension::Status, "accepted").unwrap().orders,
            1
        );
        let rejected = order("rejected", 1);
        let delta = change(Some(&placed), &rejected);
        assert_eq!(find(&delta, Dimension::All, "").unwrap().value, -1_500_000);
        assert_eq!(
            find(&delta, Dimension::Category, "katering")
                .unwrap()
                .orders,
            -1
        );
        assert!(change(Some(&placed), &placed).is_empty());
    }

    #[test]
    fn later_versions_supersede_earlier_ones() {
        assert!(order("accepted", 1).supersedes(&order("placed", 0)));
        assert!(!order("placed", 0).supersedes(&order("accepted", 1)));
        assert!(!order("placed", 0).supersedes(&order("placed", 0)));
    }

    #[test]
    fn cooperatives_count_as_the_target_group_whatever_their_scale() {
        let mut o = order("placed", 0);
        o.scale = "medium".into();
        assert!(!o.is_micro_small_or_cooperative());
        o.legal_form = "koperasi".into();
        assert!(o.is_micro_small_or_cooperative());
    }
}
