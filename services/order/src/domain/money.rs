//! Order totals in rupiah, computed by the service from the catalog's price
//! snapshots — never from numbers a client sent — with overflow checks.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("line {line}: {quantity} × Rp{unit_price} does not fit in rupiah arithmetic")]
    LineOverflow {
        line: usize,
        quantity: i64,
        unit_price: i64,
    },
    #[error("the order total does not fit in rupiah arithmetic")]
    TotalOverflow,
    #[error("the order total Rp{total} exceeds the Rp{ceiling} limit for one order")]
    OverCeiling { total: i64, ceiling: i64 },
}

/// Line totals and the order total, or why they cannot be.
pub fn totals(lines: &[(i64, i64)], ceiling: i64) -> Result<(Vec<i64>, i64), MoneyError> {
    let mut line_totals = Vec::with_capacity(lines.len());
    let mut total: i64 = 0;
    for (line, &(quantity, unit_price)) in lines.iter().enumerate() {
        let line_total = quantity
            .checked_mul(unit_price)
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

    const CEILING: i64 = 200_000_000;

    #[test]
    fn totals_are_sums_of_quantity_times_price() {
        let (lines, total) = totals(&[(100, 25_000), (3, 450_000)], CEILING).unwrap();
        assert_eq!(lines, [2_500_000, 1_350_000]);
        assert_eq!(total, 3_850_000);
    }

    #[test]
    fn the_direct_purchase_limit_is_enforced() {
        assert!(totals(&[(8_000, 25_000)], CEILING).is_ok());
        assert_eq!(
            totals(&[(8_001, 25_000)], CEILING),
            Err(MoneyError::OverCeiling {
                total: 200_025_000,
                ceiling: CEILING
            })
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert!(matches!(
            totals(&[(i64::MAX, 2)], i64::MAX),
            Err(MoneyError::LineOverflow { .. })
        ));
        assert_eq!(
            totals(&[(1, i64::MAX), (1, 1)], i64::MAX),
            Err(MoneyError::TotalOverflow)
        );
    }
}
