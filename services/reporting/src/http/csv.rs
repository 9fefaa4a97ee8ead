//! Tables as CSV for spreadsheets: UTF-8 with a header row, money in whole
//! rupiah, a file name that says what it holds.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use blangkon_platform::http::Problem;

use super::json::{Breakdown, RedFlagPage, TransactionPage};

/// A breakdown's rows: key, label, orders, value.
pub fn breakdown(doc: &Breakdown) -> Result<Response, Problem> {
    let mut out = writer();
    write(&mut out, ["key", "label", "orders", "value_rupiah"])?;
    for row in &doc.rows {
        write(
            &mut out,
            [
                row.key.as_str(),
                row.label.as_str(),
                &row.orders.to_string(),
                &row.value.to_string(),
            ],
        )?;
    }
    finish(out, &format!("blangkon-{}.csv", doc.dimension))
}

/// A ledger page, a row per order line (the order's columns repeated), so
/// that a spreadsheet can sum by product and category as well as by order.
pub fn transactions(page: &TransactionPage) -> Result<Response, Problem> {
    let mut out = writer();
    write(
        &mut out,
        [
            "order_id",
            "placed_at",
            "status",
            "buyer_work_unit",
            "buyer_regency",
            "vendor_id",
            "vendor_name",
            "vendor_regency",
            "vendor_legal_form",
            "vendor_scale",
            "product_id",
            "product_name",
            "category_code",
            "unit",
            "quantity",
            "unit_price_rupiah",
            "line_total_rupiah",
            "order_total_rupiah",
        ],
    )?;
    for t in &page.data {
        for item in &t.items {
            write(
                &mut out,
                [
                    t.order_id.as_str(),
                    &t.placed_at,
                    &t.status,
                    &t.buyer_work_unit,
                    &t.buyer_regency,
                    &t.vendor_id,
                    &t.vendor_name,
                    &t.vendor_regency,
                    &t.vendor_legal_form,
                    &t.vendor_scale,
                    &item.product_id,
                    &item.name,
                    &item.category_code,
                    &item.unit,
                    &item.quantity.to_string(),
                    &item.unit_price.to_string(),
                    &item.line_total.to_string(),
                    &t.total.to_string(),
                ],
            )?;
        }
    }
    finish(out, "blangkon-transactions.csv")
}

/// A page of red flags, a row per flag, its orders joined by spaces.
pub fn red_flags(page: &RedFlagPage) -> Result<Response, Problem> {
    let mut out = writer();
    write(
        &mut out,
        [
            "flag_id",
            "kind",
            "basis",
            "raised_at",
            "buyer_work_unit",
            "buyer_regency",
            "buyer_regency_name",
            "vendor_id",
            "vendor_name",
            "category_code",
            "unit",
            "product_id",
            "order_count",
            "order_ids",
            "amount",
            "reference",
            "group_size",
            "explanation_id",
            "explanation_en",
        ],
    )?;
    for f in &page.data {
        write(
            &mut out,
            [
                f.flag_id.as_str(),
                &f.kind,
                &f.basis,
                &f.raised_at,
                &f.buyer.work_unit,
                &f.buyer.regency_code,
                &f.buyer.regency_name,
                &f.vendor.id,
                &f.vendor.name,
                &f.category_code,
                &f.unit,
                &f.product_id,
                &f.order_count.to_string(),
                &f.order_ids.join(" "),
                &f.amount.to_string(),
                &f.reference.to_string(),
                &f.group_size.to_string(),
                &f.explanation.id,
                &f.explanation.en,
            ],
        )?;
    }
    finish(out, "blangkon-red-flags.csv")
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::new())
}

fn write<'a>(
    out: &mut csv::Writer<Vec<u8>>,
    record: impl IntoIterator<Item = &'a str>,
) -> Result<(), Problem> {
    out.write_record(record.into_iter().map(|cell| defused(cell).into_owned()))
        .map_err(|_| Problem::internal())
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first)
/// is prefixed with `'`: names come from vendors, and a CSV opened in a
/// spreadsheet must not run what a vendor typed (OWASP's CSV injection).
fn defused(cell: &str) -> std::borrow::Cow<'_, str> {
    let numeric = cell.parse::<i64>().is_ok();
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if !numeric => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn finish(out: csv::Writer<Vec<u8>>, file: &str) -> Result<Response, Problem> {
    let bytes = out.into_inner().map_err(|_| Problem::internal())?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_would_run_as_a_formula_is_defused_and_numbers_are_not() {
        assert_eq!(defused("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defused("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defused("-42"), "-42");
        assert_eq!(defused("CV Maju"), "CV Maju");
    }
}
