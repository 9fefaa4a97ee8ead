//! Order totals in rupiah, computed by the service from the catalog's price
//! snapshots — never from numbers a client sent — with overflow checks.

pub use blangkon_domain::Rupiah;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("line {line}: {quantity} × {unit_price} does not fit in rupiah arithmetic")]
    LineOverflow {
        line: usize,
        quantity: i64,
        unit_price: Rupiah,
    },
    #[error("the order total does not fit in rupiah arithmetic")]
    TotalOverflow,
    #[error("the order total {total} exceeds the {ceiling} limit for one order")]
    OverCeiling { total: Rupiah, ceiling: Rupiah },
}

/// Line totals and the order total of `(quantity, unit price)` lines, or
/// why they cannot be. A total equal to `ceiling` is allowed.
pub fn totals(
    lines: &[(i64, Rupiah)],
    ceiling: Rupiah,
) -> Result<(Vec<Rupiah>, Rupiah), MoneyError> {
    let mut line_totals = Vec::with_capacity(lines.len());
    let mut total = Rupiah::ZERO;
    for (line, &(quantity, unit_price)) in lines.iter().enumerate() {
        let line_total = unit_price
            .checked_mul(quantity)
            .ok_or(MoneyError::LineOverflow {
                line,
                quantity,
                unit_price,
            })?;
        total = total
            .checked_add(line_total)
            .ok_or(MoneyError::TotalOverflow)?;
        line_totals.push(line_total);
    }
    if total > ceiling {
        return Err(MoneyError::OverCeiling { total, ceiling });
    }
    Ok((line_totals, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CEILING: Rupiah = Rupiah::DIRECT_PURCHASE_LIMIT;

    fn rp(amount: i64) -> Rupiah {
        Rupiah::new(amount)
    }

    #[test]
    fn totals_are_sums_of_quantity_times_price() {
        let (lines, total) = totals(&[(100, rp(25_000)), (3, rp(450_000))], CEILING).unwrap();
        assert_eq!(lines, [rp(2_500_000), rp(1_350_000)]);
        assert_eq!(total, rp(3_850_000));
    }

    #[test]
    fn an_order_of_exactly_the_ceiling_is_allowed_and_one_rupiah_more_is_not() {
        assert_eq!(
            totals(&[(8_000, rp(25_000))], CEILING).map(|(_, total)| total),
            Ok(CEILING)
        );
        assert_eq!(
            totals(&[(8_000, rp(25_000)), (1, rp(1))], CEILING),
            Err(MoneyError::OverCeiling {
                total: rp(200_000_001),
                ceiling: CEILING
            })
        );
    }

    #[test]
    fn the_refusal_names_the_total_and_the_limit() {
        let refused = totals(&[(8_001, rp(25_000))], CEILING).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the order total Rp200025000 exceeds the Rp200000000 limit for one order"
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(
            totals(&[(2, rp(i64::MAX))], rp(i64::MAX)),
            Err(MoneyError::LineOverflow {
                line: 0,
                quantity: 2,
                unit_price: rp(i64::MAX)
            })
        );
        assert_eq!(
            totals(&[(1, rp(i64::MAX)), (1, rp(1))], rp(i64::MAX)),
            Err(MoneyError::TotalOverflow)
        );
    }

    /// What `totals` must answer, worked out in 128-bit arithmetic, which
    /// nothing here can overflow.
    fn exact(
        lines: &[(i64, Rupiah)],
        ceiling: Rupiah,
    ) -> Result<(Vec<Rupiah>, Rupiah), MoneyError> {
        let mut line_totals = Vec::new();
        let mut total: i128 = 0;
        for (line, &(quantity, unit_price)) in lines.iter().enumerate() {
            let line_total = i128::from(quantity) * i128::from(unit_price.get());
            let Ok(fits) = i64::try_from(line_total) else {
                return Err(MoneyError::LineOverflow {
                    line,
                    quantity,
                    unit_price,
                });
            };
            total += line_total;
            if i64::try_from(total).is_err() {
                return Err(MoneyError::TotalOverflow);
            }
            line_totals.push(rp(fits));
        }
        let total = rp(i64::try_from(total).unwrap_or(i64::MAX));
        if total > ceiling {
            return Err(MoneyError::OverCeiling { total, ceiling });
        }
        Ok((line_totals, total))
    }

    /// Quantities and prices as orders have them, and past any order, up
    /// to the edges of 64 bits.
    fn amount() -> impl proptest::strategy::Strategy<Value = i64> {
        use proptest::prelude::*;
        prop_oneof![1..10_000i64, 1..1_000_000_000i64, 1..=i64::MAX]
    }

    proptest::proptest! {
        #[test]
        fn totals_are_exact_or_refused_with_the_reason(
            lines in proptest::collection::vec((amount(), amount()), 1..=100),
            ceiling in amount(),
        ) {
            let lines: Vec<(i64, Rupiah)> = lines.into_iter().map(|(q, p)| (q, rp(p))).collect();
            proptest::prop_assert_eq!(totals(&lines, rp(ceiling)), exact(&lines, rp(ceiling)));
        }

        #[test]
        fn rupiah_sums_and_products_are_exact_or_none(a in amount(), b in amount(), q in amount()) {
            let sum = i64::try_from(i128::from(a) + i128::from(b)).ok().map(rp);
            proptest::prop_assert_eq!(rp(a).checked_add(rp(b)), sum);
            let product = i64::try_from(i128::from(a) * i128::from(q)).ok().map(rp);
            proptest::prop_assert_eq!(rp(a).checked_mul(q), product);
        }
    }
}
