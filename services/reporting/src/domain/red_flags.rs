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

use chrono::{DateTime, Duration, Utc};

/// The thresholds and windows of the rules (settings, `reporting.red_flags`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    /// The direct-purchase ceiling, rupiah: Rp200,000,000 for goods and
    /// other services (Perpres 16/2018, kept by Perpres 46/2025).
    pub ceiling: i64,
    /// "Just under" starts this far below the ceiling, in basis points of
    /// it (1,000: from 90% of the ceiling).
    pub just_under_bp: i64,
    /// Orders of one work unit to one vendor this close together count as
    /// one purchase that may have been split.
    pub split_window_days: i64,
    /// A vendor's share of a work unit's spending that raises a flag, in
    /// basis points (5,000: half).
    pub concentration_bp: i64,
    /// Orders a work unit must have placed before its concentration means
    /// anything (three orders to one vendor would be 100%).
    pub concentration_min_orders: usize,
    /// Prices of a category and unit needed before a price can be an
    /// outlier among them (Cardinal's R048 uses 20).
    pub outlier_min_group: usize,
    /// An order to a vendor within this many days of its verification.
    pub new_vendor_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            ceiling: 200_000_000,
            just_under_bp: 1_000,
            split_window_days: 30,
            concentration_bp: 5_000,
            concentration_min_orders: 10,
            outlier_min_group: 20,
            new_vendor_days: 30,
        }
    }
}

/// An order as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub order_id: String,
    pub placed_at: DateTime<Utc>,
    pub total: i64,
}

/// Whether `total` sits just under the ceiling: at or above its lower band
/// and under the ceiling itself.
pub fn just_under_ceiling(total: i64, t: &Thresholds) -> bool {
    let floor = t.ceiling - t.ceiling * t.just_under_bp / 10_000;
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
        let sum: i64 = run.iter().map(|p| p.total).sum();
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

/// The vendor that takes at least `concentration_bp` of a buyer's
/// spending, given the buyer's spending by vendor (`(vendor, orders,
/// value)`), when the buyer has placed enough orders; `None` otherwise.
pub fn concentration(by_vendor: &[(String, usize, i64)], t: &Thresholds) -> Option<Share> {
    let orders: usize = by_vendor.iter().map(|(_, n, _)| n).sum();
    let spent: i64 = by_vendor.iter().map(|(_, _, v)| v).sum();
    if orders < t.concentration_min_orders || spent <= 0 {
        return None;
    }
    let (vendor, n, value) = by_vendor
        .iter()
        .max_by(|a, b| a.2.cmp(&b.2).then_with(|| b.0.cmp(&a.0)))?;
    // i128: value × 10,000 overflows i64 above ~Rp922 trillion.
    let share_bp = (i128::from(*value) * 10_000 / i128::from(spent)) as i64;
    (share_bp >= t.concentration_bp).then(|| Share {
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
    Some(q3 + (q3 - q1) * 3 / 2)
}

/// The `num/den` quantile of sorted `values`, interpolating linearly
/// between the two nearest ranks (in whole rupiah, rounded down).
fn quantile(sorted: &[i64], num: usize, den: usize) -> i64 {
    let n = sorted.len();
    // Position (n - 1) * q, as a whole part and a remainder over `den`.
    let scaled = (n - 1) * num;
    let (i, rem) = (scaled / den, scaled % den);
    let low = sorted[i];
    let high = sorted[(i + 1).min(n - 1)];
    low + (high - low) * rem as i64 / den as i64
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
}
