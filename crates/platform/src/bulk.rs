//! Bulk loading with PostgreSQL's `COPY … FROM STDIN`: many rows in one
//! stream, without a statement's per-row work (no parameters to bind, no
//! plan, no conflict check). For filling fresh tables, as a rebuild does;
//! a table others write to keeps its upserts.
//!
//! Rows are sent in PostgreSQL's text format, each value as its column's
//! input text, so every column type sea-orm writes through [`Value`] loads
//! as the same statement would have written it.

use std::fmt::Write as _;

use sea_orm::sqlx::postgres::{PgPool, PgPoolCopyExt as _};
use sea_orm::{DbErr, EntityTrait, IdenStatic, Iterable, ModelTrait, RuntimeErr, Value};

/// Bytes gathered before they are sent: large enough that a message
/// carries thousands of rows, small enough to stay a few megabytes.
const SEND_AT: usize = 1 << 20;

/// Writes `models` into `E`'s table with one `COPY`, every column of the
/// entity in its declared order; answers the rows written. The table is
/// resolved on the connection's `search_path`, as sea-orm's statements
/// are. A failure (a duplicate key, a value the column refuses) writes
/// none of them.
pub async fn copy_models<E: EntityTrait>(
    pool: &PgPool,
    models: impl IntoIterator<Item = E::Model>,
) -> Result<u64, DbErr> {
    let columns: Vec<E::Column> = E::Column::iter().collect();
    let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
    let rows = models
        .into_iter()
        .map(|model| columns.iter().map(|c| model.get(*c)).collect::<Vec<_>>());
    copy_rows(pool, E::default().table_name(), &names, rows).await
}

/// Writes `rows` (each a value per column of `columns`, in that order)
/// into `table` with one `COPY`; answers the rows written.
pub async fn copy_rows(
    pool: &PgPool,
    table: &str,
    columns: &[&str],
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> Result<u64, DbErr> {
    let names: Vec<String> = columns.iter().map(|c| quoted(c)).collect();
    let statement = format!("COPY {} ({}) FROM STDIN", quoted(table), names.join(", "));
    let mut copy = pool.copy_in_raw(&statement).await.map_err(sqlx_err)?;
    let mut buffer = String::with_capacity(SEND_AT + SEND_AT / 8);
    for row in rows {
        if let Err(e) = encode_row(&mut buffer, columns, &row) {
            // Ends the COPY on the server; nothing of it is kept.
            copy.abort(e.to_string()).await.ok();
            return Err(e);
        }
        if buffer.len() >= SEND_AT {
            copy.send(buffer.as_bytes()).await.map_err(sqlx_err)?;
            buffer.clear();
        }
    }
    if !buffer.is_empty() {
        copy.send(buffer.as_bytes()).await.map_err(sqlx_err)?;
    }
    copy.finish().await.map_err(sqlx_err)
}

fn sqlx_err(e: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(e.into()))
}

/// `name` as a quoted identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One row in COPY's text format: values separated by tabs, ended by a
/// newline.
fn encode_row(out: &mut String, columns: &[&str], row: &[Value]) -> Result<(), DbErr> {
    if row.len() != columns.len() {
        return Err(DbErr::Custom(format!(
            "a row of {} values for {} columns",
            row.len(),
            columns.len()
        )));
    }
    for (i, (value, column)) in row.iter().zip(columns).enumerate() {
        if i > 0 {
            out.push('\t');
        }
        encode_value(out, value).map_err(|kind| {
            DbErr::Custom(format!("column {column}: COPY cannot write a {kind} value"))
        })?;
    }
    out.push('\n');
    Ok(())
}

/// A value as the text its column's input function reads; `\N` for NULL.
/// Answers the kind of a value it has no text for.
fn encode_value(out: &mut String, value: &Value) -> Result<(), &'static str> {
    fn null_or<T>(out: &mut String, v: &Option<T>, write: impl FnOnce(&mut String, &T)) {
        match v {
            Some(v) => write(out, v),
            None => out.push_str("\\N"),
        }
    }
    // `write!` into a String cannot fail.
    match value {
        Value::Bool(v) => null_or(out, v, |o, v| o.push(if *v { 't' } else { 'f' })),
        Value::SmallInt(v) => null_or(out, v, |o, v| _ = write!(o, "{v}")),
        Value::Int(v) => null_or(out, v, |o, v| _ = write!(o, "{v}")),
        Value::BigInt(v) => null_or(out, v, |o, v| _ = write!(o, "{v}")),
        Value::Double(v) => null_or(out, v, |o, v| match v {
            v if v.is_infinite() && *v > 0.0 => o.push_str("Infinity"),
            v if v.is_infinite() => o.push_str("-Infinity"),
            v => _ = write!(o, "{v:?}"),
        }),
        Value::String(v) => null_or(out, v, |o, v| escape(o, v)),
        Value::Bytes(v) => null_or(out, v, |o, v| {
            // bytea's hex form; its backslash escaped for COPY.
            o.push_str("\\\\x");
            for byte in v {
                _ = write!(o, "{byte:02x}");
            }
        }),
        Value::ChronoDateTimeUtc(v) => null_or(out, v, |o, v| {
            _ = write!(o, "{}", v.format("%Y-%m-%d %H:%M:%S%.6f+00"));
        }),
        Value::ChronoDate(v) => null_or(out, v, |o, v| _ = write!(o, "{}", v.format("%Y-%m-%d"))),
        Value::Uuid(v) => null_or(out, v, |o, v| _ = write!(o, "{v}")),
        Value::TinyInt(_) => return Err("tiny integer"),
        Value::TinyUnsigned(_)
        | Value::SmallUnsigned(_)
        | Value::Unsigned(_)
        | Value::BigUnsigned(_) => return Err("unsigned integer"),
        _ => return Err("column type without a COPY form here"),
    }
    Ok(())
}

/// Text with the characters COPY's text format gives meaning escaped.
fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn text(value: Value) -> String {
        let mut out = String::new();
        encode_value(&mut out, &value).unwrap();
        out
    }

    #[test]
    fn values_are_written_as_their_columns_read_them() {
        assert_eq!(text(Value::BigInt(Some(-42))), "-42");
        assert_eq!(text(Value::Bool(Some(true))), "t");
        assert_eq!(text(Value::String(None)), "\\N");
        assert_eq!(
            text(Value::String(Some("Kab.\tCilacap\\\n\r".into()))),
            "Kab.\\tCilacap\\\\\\n\\r"
        );
        assert_eq!(text(Value::Bytes(Some(vec![0, 171, 255]))), "\\\\x00abff");
        let at = Utc.with_ymd_and_hms(2026, 3, 10, 2, 0, 0).unwrap()
            + chrono::Duration::microseconds(1_234);
        assert_eq!(
            text(Value::ChronoDateTimeUtc(Some(at))),
            "2026-03-10 02:00:00.001234+00"
        );
    }

    #[test]
    fn a_value_without_a_form_is_refused_with_its_column() {
        let mut out = String::new();
        let e = encode_row(&mut out, &["quantity"], &[Value::Unsigned(Some(1))]).unwrap_err();
        assert!(e.to_string().contains("column quantity"), "{e}");
        let e = encode_row(&mut out, &["a", "b"], &[Value::Int(Some(1))]).unwrap_err();
        assert!(e.to_string().contains("1 values for 2 columns"), "{e}");
    }
}
