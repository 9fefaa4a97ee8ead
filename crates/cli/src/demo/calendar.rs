//! When the demo's facts happen: Blangkon Jateng's first year, from its
//! launch in March 2021 to February 2022 (reported in March 2022). Regencies join first,
//! vendors register from two months before the launch (most early), list their
//! products once verified, and buyers order through the year as a
//! government buys: slowly while the year's budgets are released, most in
//! its last quarter. Each call of the demo names its moment
//! (`x-blangkon-replay-at`), which the local suite honours for the times
//! of the facts it records; a deployed service ignores it.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic::Request;

use super::plan::{Outcome, Plan};

/// The first day of the demo's year (WIB).
fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2021, 3, 1).unwrap_or_default()
}
/// Days in the demo's year.
const YEAR_DAYS: i64 = 365;
/// Vendors register from this many days before the launch (the regencies
/// onboard them ahead of it)...
const REGISTRATION_LEAD_DAYS: i64 = 60;
/// ...over this many days, most of them early.
const REGISTRATION_DAYS: f64 = 240.0;
/// How a government's purchasing spreads over the calendar months
/// (January first): little before the year's budgets (DPA) are released,
/// the most as the fiscal year closes in December.
const MONTH_WEIGHTS: [u32; 12] = [3, 4, 6, 7, 8, 8, 8, 9, 10, 11, 12, 14];

/// A vendor's days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorDays {
    pub registered: NaiveDateTime,
    pub verified: NaiveDateTime,
    /// The day of its training, and when it was recorded.
    pub trained_on: NaiveDate,
    pub training_recorded: NaiveDateTime,
}

/// An order's moments: placed, then each step its outcome takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDays {
    pub placed: NaiveDateTime,
    /// Accepted or rejected by the vendor.
    pub decided: NaiveDateTime,
    pub shipped: NaiveDateTime,
    /// Received: the BAST's day.
    pub received: NaiveDateTime,
    pub paid: NaiveDateTime,
    pub completed: NaiveDateTime,
    pub cancelled: NaiveDateTime,
}

/// The moments of every fact of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// Per regency of [`Plan::joined`].
    pub joined: Vec<NaiveDateTime>,
    pub vendors: Vec<VendorDays>,
    /// Per product: when it was listed.
    pub listed: Vec<NaiveDateTime>,
    pub orders: Vec<OrderDays>,
}

/// A moment in office hours of `day`.
fn office(rng: &mut StdRng, day: NaiveDate) -> NaiveDateTime {
    let seconds = rng.random_range(8 * 3600..16 * 3600);
    day.and_time(NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).unwrap_or_default())
}

/// A moment between `min` and `max` days (inclusive) after `after`, in
/// office hours.
fn later(rng: &mut StdRng, after: NaiveDateTime, min: i64, max: i64) -> NaiveDateTime {
    let day = after.date() + Duration::days(rng.random_range(min..=max));
    let at = office(rng, day);
    if at > after {
        at
    } else {
        after + Duration::minutes(rng.random_range(30..=180))
    }
}

/// A day of the demo's year, its month drawn by the month weights.
fn order_day(rng: &mut StdRng) -> NaiveDate {
    let first = first_day();
    let months: Vec<(NaiveDate, u32)> = (0..12)
        .map(|i| {
            let start = first
                .checked_add_months(chrono::Months::new(i))
                .unwrap_or(first);
            (start, MONTH_WEIGHTS[start.month0() as usize])
        })
        .collect();
    let total: u32 = months.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    let (start, _) = months
        .iter()
        .find(|(_, w)| {
            if pick < *w {
                true
            } else {
                pick -= w;
                false
            }
        })
        .copied()
        .unwrap_or((first, 0));
    let days = start
        .checked_add_months(chrono::Months::new(1))
        .map_or(28, |next| (next - start).num_days());
    start + Duration::days(rng.random_range(0..days))
}

impl Calendar {
    /// The moments of `plan`'s facts, the same for the same seed (drawn
    /// from a generator of their own, so the plan itself is unchanged).
    pub fn new(plan: &Plan, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x0b1a_4e6c_0a1e_4da5);
        let first = first_day();
        let last = first + Duration::days(YEAR_DAYS - 1);
        // The regencies join in the months before the launch, before any
        // of their vendors registers.
        let joined = (0..plan.joined.len())
            .map(|i| {
                let lead = Duration::days(REGISTRATION_LEAD_DAYS + 40);
                office(&mut rng, first - lead + Duration::days(i as i64))
            })
            .collect();
        let vendors: Vec<VendorDays> = plan
            .vendors
            .iter()
            .map(|_| {
                // Most vendors register before the launch or soon after.
                let share: f64 = rng.random();
                let day = first - Duration::days(REGISTRATION_LEAD_DAYS)
                    + Duration::days((share * share * REGISTRATION_DAYS) as i64);
                let registered = office(&mut rng, day);
                let verified = later(&mut rng, registered, 1, 6);
                let trained_on = (verified + Duration::days(rng.random_range(7..=60))).date();
                let training_recorded = later(&mut rng, trained_on.and_time(NaiveTime::MIN), 0, 3);
                VendorDays {
                    registered,
                    verified,
                    trained_on,
                    training_recorded,
                }
            })
            .collect();
        let listed: Vec<NaiveDateTime> = plan
            .products
            .iter()
            .map(|p| later(&mut rng, vendors[p.vendor].verified, 0, 14))
            .collect();
        let orders = plan
            .orders
            .iter()
            .map(|o| {
                let day = order_day(&mut rng);
                // Never before the product was listed (a day to three
                // after, at whatever hour that falls), nor past the year.
                let placed = office(&mut rng, day)
                    .max(listed[o.product] + Duration::hours(rng.random_range(20..=72)))
                    .min(office(&mut rng, last));
                let decided = later(&mut rng, placed, 0, 2);
                let shipped = later(&mut rng, decided, 1, 3);
                let received = later(&mut rng, shipped, 1, 4);
                let paid = later(&mut rng, received, 5, 20);
                let completed = later(&mut rng, paid, 0, 2);
                // Drawn for every order, cancelled or not, so that one
                // order's outcome never shifts the moments of the next.
                let cancelled = match o.outcome {
                    Outcome::Cancelled => later(&mut rng, placed, 0, 3),
                    _ => later(&mut rng, placed, 0, 1),
                };
                OrderDays {
                    placed,
                    decided,
                    shipped,
                    received,
                    paid,
                    completed,
                    cancelled,
                }
            })
            .collect();
        Self {
            joined,
            vendors,
            listed,
            orders,
        }
    }
}

/// `request`, naming `moment` (WIB) as when its facts happen.
pub fn at<T>(mut request: Request<T>, moment: NaiveDateTime) -> Request<T> {
    let wib = blangkon_platform::time::wib();
    if let Some(when) = moment.and_local_timezone(wib).single()
        && let Ok(value) = when.to_rfc3339().parse()
    {
        request
            .metadata_mut()
            .insert(blangkon_platform::time::REPLAY_AT_HEADER, value);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::Vocabulary;

    #[test]
    fn every_fact_follows_the_facts_it_needs() {
        let plan = Plan::new(
            &super::super::plan::Scale::custom(40, 120, 600),
            7,
            &Vocabulary::load().unwrap(),
        );
        let calendar = Calendar::new(&plan, 7);
        assert_eq!(calendar, Calendar::new(&plan, 7), "the same for a seed");
        let last_join = calendar.joined.iter().max().unwrap();
        for v in &calendar.vendors {
            assert!(*last_join < v.registered && v.registered < v.verified);
            assert!(v.verified.date() < v.trained_on && v.trained_on <= v.training_recorded.date());
        }
        for (p, listed) in plan.products.iter().zip(&calendar.listed) {
            assert!(calendar.vendors[p.vendor].verified < *listed);
        }
        for (o, days) in plan.orders.iter().zip(&calendar.orders) {
            assert!(calendar.listed[o.product] < days.placed);
            assert!(days.placed < days.decided && days.decided < days.shipped);
            assert!(days.shipped < days.received && days.received < days.paid);
            assert!(days.paid < days.completed && days.placed < days.cancelled);
        }
    }

    #[test]
    fn orders_spread_over_the_year_with_its_end_the_busiest() {
        let plan = Plan::new(
            &super::super::plan::Scale::custom(40, 120, 2_000),
            3,
            &Vocabulary::load().unwrap(),
        );
        let calendar = Calendar::new(&plan, 3);
        let mut by_month = std::collections::BTreeMap::<(i32, u32), usize>::new();
        for days in &calendar.orders {
            *by_month
                .entry((days.placed.year(), days.placed.month()))
                .or_default() += 1;
        }
        assert_eq!(by_month.len(), 12, "{by_month:?}");
        let december = by_month[&(2021, 12)];
        let march = by_month[&(2021, 3)];
        assert!(december > 2 * march, "{by_month:?}");
        assert!(by_month.values().all(|n| *n < 2_000 / 4), "{by_month:?}");
    }

    #[test]
    fn a_call_names_its_moment_in_wib() {
        let moment = NaiveDate::from_ymd_opt(2021, 8, 17)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap();
        let request = at(Request::new(()), moment);
        assert_eq!(
            request.metadata().get("x-blangkon-replay-at").unwrap(),
            "2021-08-17T09:30:00+07:00"
        );
    }
}
