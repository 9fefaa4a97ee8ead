//! Money: whole rupiah in an `i64`, never a float. Totals are computed by
//! the services with overflow checks, never trusted from a client.

use std::fmt;

use schemars::JsonSchema;
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};

/// An amount of rupiah.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    DeriveValueType,
    JsonSchema,
)]
#[serde(transparent)]
pub struct Rupiah(i64);

impl Rupiah {
    pub const ZERO: Rupiah = Rupiah(0);

    /// Rp200,000,000: the ceiling of a direct purchase (*pengadaan
    /// langsung*) through the e-catalog, the default limit of one order's
    /// total and of one unit price.
    pub const DIRECT_PURCHASE_LIMIT: Rupiah = Rupiah(200_000_000);

    pub const fn new(amount: i64) -> Self {
        Self(amount)
    }

    /// The amount in rupiah.
    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// `self + other`, or `None` if it does not fit.
    pub fn checked_add(self, other: Rupiah) -> Option<Rupiah> {
        self.0.checked_add(other.0).map(Rupiah)
    }

    /// `quantity` units at `self` each, or `None` if it does not fit.
    pub fn checked_mul(self, quantity: i64) -> Option<Rupiah> {
        self.0.checked_mul(quantity).map(Rupiah)
    }
}

/// `Rp1500000`: the amount as error messages and logs show it.
impl fmt::Display for Rupiah {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rp{}", self.0)
    }
}

/// `value` with its thousands grouped by `separator`, as a person reads
/// an amount: `Rp15.000.000` in Indonesian (`.`), `Rp15,000,000` in
/// English (`,`).
pub fn grouped_rupiah(value: i64, separator: char) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(separator);
        }
        grouped.push(c);
    }
    format!("{}Rp{grouped}", if value < 0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_grouped_by_thousands() {
        assert_eq!(grouped_rupiah(15_000_000, '.'), "Rp15.000.000");
        assert_eq!(grouped_rupiah(999, ','), "Rp999");
        assert_eq!(grouped_rupiah(-1_000, ','), "-Rp1,000");
        assert_eq!(
            grouped_rupiah(i64::MIN, '.'),
            "-Rp9.223.372.036.854.775.808"
        );
    }

    #[test]
    fn arithmetic_that_overflows_is_none_not_a_wrap() {
        assert_eq!(Rupiah::new(i64::MAX).checked_add(Rupiah::new(1)), None);
        assert_eq!(Rupiah::new(i64::MAX).checked_mul(2), None);
        assert_eq!(
            Rupiah::new(25_000).checked_mul(20),
            Some(Rupiah::new(500_000))
        );
        assert_eq!(
            Rupiah::new(500_000).checked_add(Rupiah::new(1)),
            Some(Rupiah::new(500_001))
        );
    }

    #[test]
    fn only_more_than_zero_is_positive() {
        assert!(Rupiah::new(1).is_positive());
        assert!(!Rupiah::ZERO.is_positive());
        assert!(!Rupiah::new(-1).is_positive());
    }

    #[test]
    fn the_direct_purchase_limit_is_two_hundred_million() {
        assert_eq!(Rupiah::DIRECT_PURCHASE_LIMIT.get(), 200_000_000);
        assert_eq!(Rupiah::DIRECT_PURCHASE_LIMIT.to_string(), "Rp200000000");
    }

    #[test]
    fn settings_read_a_plain_number() {
        let parsed: Rupiah = serde_json::from_str("150000").unwrap();
        assert_eq!(parsed, Rupiah::new(150_000));
    }
}
