//! Persistence of the catalog service. Every function takes
//! `&impl ConnectionTrait`, so it runs on the pool or inside a transaction.

pub mod entities;
pub mod migrations;

use blangkon_domain::VendorStatus;
use blangkon_platform::db;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::InsertStatement;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DbBackend, DbErr, EntityTrait, IdenStatic, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

pub use entities::{category, price_history, product, reservation, search_change, vendor};

use crate::domain::product::ProductStatus;
use reservation::ReservationStatus;

pub async fn categories(conn: &impl ConnectionTrait) -> Result<Vec<category::Model>, DbErr> {
    category::Entity::find()
        .order_by_asc(category::Column::Code)
        .all(conn)
        .await
}

pub async fn category_exists(conn: &impl ConnectionTrait, code: &str) -> Result<bool, DbErr> {
    Ok(category::Entity::find_by_id(code.to_string())
        .one(conn)
        .await?
        .is_some())
}

pub async fn find_vendor(
    conn: &impl ConnectionTrait,
    vendor_id: &str,
) -> Result<Option<vendor::Model>, DbErr> {
    vendor::Entity::find_by_id(vendor_id.to_string())
        .one(conn)
        .await
}

/// Sets each vendor's projected state from its events: `rows` holds one
/// per vendor (a statement may change a row once), a statement per
/// thousand. Events of one vendor arrive in order (one key, one
/// partition), so the last write wins; but never over a newer state, as a
/// dead letter replayed late would.
pub async fn upsert_vendors(
    conn: &impl ConnectionTrait,
    rows: Vec<vendor::Model>,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
    use vendor::Column::*;
    for chunk in rows.chunks(1_000) {
        vendor::Entity::insert_many(chunk.iter().cloned().map(vendor::ActiveModel::from))
            .on_conflict(
                OnConflict::column(VendorId)
                    .update_columns([RegencyCode, LegalForm, Scale, Status, StatusAt])
                    // Never back to an older state (a dead letter replayed
                    // late).
                    .action_and_where(
                        Expr::col((vendor::Entity, StatusAt)).lte(Expr::cust("excluded.status_at")),
                    )
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

pub async fn insert_product(conn: &impl ConnectionTrait, row: product::Model) -> Result<(), DbErr> {
    product::Entity::insert(product::ActiveModel::from(row))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The product `vendor_id` created with `key`, if any.
pub async fn find_product_by_creation_key(
    conn: &impl ConnectionTrait,
    vendor_id: &str,
    key: &str,
) -> Result<Option<product::Model>, DbErr> {
    product::Entity::find()
        .filter(product::Column::VendorId.eq(vendor_id))
        .filter(product::Column::CreationKey.eq(key))
        .one(conn)
        .await
}

pub async fn find_product(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<product::Model>, DbErr> {
    product::Entity::find_by_id(id.to_string()).one(conn).await
}

/// Writes every column of `row`, whose `version` must be one more than the
/// stored one. Returns false if another change got there first.
pub async fn update_product(
    conn: &impl ConnectionTrait,
    row: product::Model,
) -> Result<bool, DbErr> {
    let id = row.id.clone();
    let expected_version = row.version - 1;
    // `From<Model>` marks every value unchanged, which an UPDATE skips:
    // reset them all to "set", except the key we filter on.
    let mut active = product::ActiveModel::from(row).reset_all();
    active.id = sea_orm::ActiveValue::NotSet;
    let result = product::Entity::update_many()
        .set(active)
        .filter(product::Column::Id.eq(id))
        .filter(product::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn record_price_change(
    conn: &impl ConnectionTrait,
    product_id: &str,
    old_price: i64,
    new_price: i64,
    changed_by: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    price_history::Entity::insert(price_history::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        product_id: Set(product_id.to_string()),
        old_price: Set(old_price),
        new_price: Set(new_price),
        changed_by: Set(changed_by.to_string()),
        changed_at: Set(at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

pub async fn price_history(
    conn: &impl ConnectionTrait,
    product_id: &str,
) -> Result<Vec<price_history::Model>, DbErr> {
    price_history::Entity::find()
        .filter(price_history::Column::ProductId.eq(product_id))
        .order_by_asc(price_history::Column::Id)
        .all(conn)
        .await
}

/// What a search change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Product,
    Vendor,
}

impl Changed {
    pub fn as_str(self) -> &'static str {
        match self {
            Changed::Product => "product",
            Changed::Vendor => "vendor",
        }
    }
}

/// Notes, in the writing transaction, that search must refresh an entry.
pub async fn record_search_change(
    conn: &impl ConnectionTrait,
    what: Changed,
    id: &str,
) -> Result<(), DbErr> {
    search_change::Entity::insert(search_change::ActiveModel {
        entity: Set(what.as_str().to_string()),
        entity_id: Set(id.to_string()),
        changed_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// [`record_search_change`] for each of `ids`, a statement per thousand.
pub async fn record_search_changes(
    conn: &impl ConnectionTrait,
    what: Changed,
    ids: &[String],
) -> Result<(), DbErr> {
    let now = Utc::now();
    for chunk in ids.chunks(1_000) {
        search_change::Entity::insert_many(chunk.iter().map(|id| search_change::ActiveModel {
            entity: Set(what.as_str().to_string()),
            entity_id: Set(id.clone()),
            changed_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

/// Changes after `after_seq`, plus those of the last `window` (a change
/// whose transaction committed late can carry a lower number than one
/// already read).
pub async fn search_changes_since(
    conn: &impl ConnectionTrait,
    after_seq: i64,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<search_change::Model>, DbErr> {
    use sea_orm::{QuerySelect, sea_query::Condition};
    search_change::Entity::find()
        .filter(
            Condition::any()
                .add(search_change::Column::Seq.gt(after_seq))
                .add(search_change::Column::ChangedAt.gt(since)),
        )
        .order_by_asc(search_change::Column::Seq)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn last_search_change(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    use sea_orm::QuerySelect;
    let max: Option<Option<i64>> = search_change::Entity::find()
        .select_only()
        .column_as(search_change::Column::Seq.max(), "max")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// Forgets changes every replica has long applied.
pub async fn prune_search_changes(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = search_change::Entity::delete_many()
        .filter(search_change::Column::ChangedAt.lt(before))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

pub async fn products_of_vendor(
    conn: &impl ConnectionTrait,
    vendor_id: &str,
) -> Result<Vec<product::Model>, DbErr> {
    product::Entity::find()
        .filter(product::Column::VendorId.eq(vendor_id))
        .all(conn)
        .await
}

/// What the search index reads of a listed product: no more, as the
/// build reads every one.
#[derive(Debug, Clone, PartialEq, sea_orm::FromQueryResult)]
pub struct SearchedProduct {
    pub id: String,
    pub vendor_id: String,
    pub category_code: String,
    pub name: String,
    pub description: String,
    pub price: i64,
    pub delivery_regencies: db::StringList,
}

impl From<product::Model> for SearchedProduct {
    fn from(row: product::Model) -> Self {
        Self {
            id: row.id,
            vendor_id: row.vendor_id,
            category_code: row.category_code,
            name: row.name,
            description: row.description,
            price: row.price,
            delivery_regencies: row.delivery_regencies,
        }
    }
}

/// Every listed product, what the search index needs of it, a page at a
/// time. On PostgreSQL one `COPY (SELECT …) TO STDOUT` of one snapshot,
/// read as it streams: at 1.5 million products the keyset pages' plans,
/// primary-key walk and row decoding took most of the index build, and
/// the copy takes a fraction. Elsewhere (SQLite), pages in id order.
pub struct ListedProducts {
    source: Source,
    page: usize,
}

enum Source {
    Pages {
        db: DatabaseConnection,
        after: Option<String>,
        ended: bool,
    },
    Copy {
        chunks: futures::stream::BoxStream<'static, Result<Vec<u8>, DbErr>>,
        /// Bytes read and not yet taken, from `start`.
        pending: Vec<u8>,
        start: usize,
        ended: bool,
    },
}

/// The columns [`SearchedProduct`] is read from, in its fields' order.
const SEARCHED: [product::Column; 7] = [
    product::Column::Id,
    product::Column::VendorId,
    product::Column::CategoryCode,
    product::Column::Name,
    product::Column::Description,
    product::Column::Price,
    product::Column::DeliveryRegencies,
];

fn listed_products() -> sea_orm::Select<product::Entity> {
    product::Entity::find()
        .select_only()
        .columns(SEARCHED)
        .filter(product::Column::Status.eq(ProductStatus::Listed))
}

impl ListedProducts {
    /// Starts reading, `page` products a page.
    pub async fn open(db: &DatabaseConnection, page: usize) -> Result<Self, DbErr> {
        use futures::StreamExt as _;
        use sea_orm::sqlx::postgres::PgPoolCopyExt as _;
        let page = page.max(1);
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(Self {
                source: Source::Pages {
                    db: db.clone(),
                    after: None,
                    ended: false,
                },
                page,
            });
        }
        let select = listed_products()
            .into_query()
            .to_string(sea_orm::sea_query::PostgresQueryBuilder);
        let chunks = db
            .get_postgres_connection_pool()
            .copy_out_raw(&format!("COPY ({select}) TO STDOUT"))
            .await
            .map_err(copy_error)?
            .map(|chunk| chunk.map(|bytes| bytes.to_vec()).map_err(copy_error))
            .boxed();
        Ok(Self {
            source: Source::Copy {
                chunks,
                pending: Vec::new(),
                start: 0,
                ended: false,
            },
            page,
        })
    }

    /// The next page; `None` once every product was read.
    pub async fn next_page(&mut self) -> Result<Option<Vec<SearchedProduct>>, DbErr> {
        use futures::StreamExt as _;
        let rows = match &mut self.source {
            Source::Pages { ended: true, .. } => Vec::new(),
            Source::Pages { db, after, ended } => {
                let rows = listed_products_after(db, after.as_deref(), self.page as u64).await?;
                match rows.last() {
                    Some(last) => *after = Some(last.id.clone()),
                    None => *ended = true,
                }
                rows
            }
            Source::Copy {
                chunks,
                pending,
                start,
                ended,
            } => {
                let mut rows = Vec::with_capacity(self.page);
                while rows.len() < self.page {
                    if let Some(end) = pending[*start..].iter().position(|b| *b == b'\n') {
                        let line = &pending[*start..*start + end];
                        rows.push(searched_product(copy_text_row(line)?)?);
                        *start += end + 1;
                        continue;
                    }
                    if *ended {
                        if *start < pending.len() {
                            return Err(DbErr::Custom(
                                "the products' COPY ended inside a row".into(),
                            ));
                        }
                        break;
                    }
                    pending.drain(..*start);
                    *start = 0;
                    match chunks.next().await {
                        // Taken whole when no row was left half read.
                        Some(chunk) if pending.is_empty() => *pending = chunk?,
                        Some(chunk) => pending.extend_from_slice(&chunk?),
                        None => *ended = true,
                    }
                }
                rows
            }
        };
        Ok((!rows.is_empty()).then_some(rows))
    }
}

fn copy_error(e: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Custom(format!("reading the listed products with COPY: {e}"))
}

/// One row of `COPY … TO STDOUT` in its text format: each column
/// unescaped (PostgreSQL escapes backslash, tab, newline, carriage return,
/// backspace, form feed and vertical tab), `None` for NULL (`\N`).
fn copy_text_row(line: &[u8]) -> Result<Vec<Option<String>>, DbErr> {
    line.split(|b| *b == b'\t')
        .map(|field| {
            if field == b"\\N" {
                return Ok(None);
            }
            let mut text = Vec::with_capacity(field.len());
            let mut bytes = field.iter();
            while let Some(&b) = bytes.next() {
                if b != b'\\' {
                    text.push(b);
                    continue;
                }
                text.push(match bytes.next() {
                    Some(b'b') => 0x08,
                    Some(b'f') => 0x0c,
                    Some(b'n') => b'\n',
                    Some(b'r') => b'\r',
                    Some(b't') => b'\t',
                    Some(b'v') => 0x0b,
                    // A backslash, or any other character, stands for itself.
                    Some(&other) => other,
                    None => {
                        return Err(DbErr::Custom(
                            "a COPY column ends in a lone backslash".into(),
                        ));
                    }
                });
            }
            String::from_utf8(text)
                .map(Some)
                .map_err(|_| DbErr::Custom("a COPY column is not UTF-8".into()))
        })
        .collect()
}

/// A product from its [`SEARCHED`] columns, each moved into its field.
fn searched_product(mut columns: Vec<Option<String>>) -> Result<SearchedProduct, DbErr> {
    if columns.len() != SEARCHED.len() {
        return Err(DbErr::Custom(format!(
            "a COPY row of {} columns, not {}",
            columns.len(),
            SEARCHED.len()
        )));
    }
    let mut text = |i: usize| {
        columns[i]
            .take()
            .ok_or_else(|| DbErr::Custom(format!("products.{} is NULL", SEARCHED[i].as_str())))
    };
    Ok(SearchedProduct {
        id: text(0)?,
        vendor_id: text(1)?,
        category_code: text(2)?,
        name: text(3)?,
        description: text(4)?,
        price: text(5)?
            .parse()
            .map_err(|_| DbErr::Custom("products.price is not a whole number".into()))?,
        delivery_regencies: db::StringList::from_json(&text(6)?)
            .map_err(|e| DbErr::Custom(format!("products.delivery_regencies: {e}")))?,
    })
}

/// Listed products in id order, `limit` after the id `after`: what the
/// search index needs of them.
pub async fn listed_products_after(
    conn: &impl ConnectionTrait,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<SearchedProduct>, DbErr> {
    use product::Column;
    let mut query = listed_products();
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    query
        .order_by_asc(Column::Id)
        .limit(limit)
        .into_model::<SearchedProduct>()
        .all(conn)
        .await
}

pub async fn all_vendors(conn: &impl ConnectionTrait) -> Result<Vec<vendor::Model>, DbErr> {
    vendor::Entity::find().all(conn).await
}

pub async fn products_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<product::Model>, DbErr> {
    db::in_chunks(ids, |chunk| {
        product::Entity::find()
            .filter(product::Column::Id.is_in(chunk.iter().cloned()))
            .all(conn)
    })
    .await
}

pub async fn reservation_lines(
    conn: &impl ConnectionTrait,
    reservation_id: &str,
) -> Result<Vec<reservation::Model>, DbErr> {
    reservation::Entity::find()
        .filter(reservation::Column::ReservationId.eq(reservation_id))
        .order_by_asc(reservation::Column::Line)
        .all(conn)
        .await
}

/// Takes `quantity` of a product for an order, in one statement, if every
/// rule allows it at this moment: the product is listed, its vendor is
/// verified in this service's projection, the quantity is at least the
/// minimum order and the stock covers it. Returns the product as it is
/// after, or None, changing nothing, if any rule refused. Because the check
/// and the write are one statement, stock never goes negative under
/// concurrent reservations.
pub async fn take_stock_for_order(
    conn: &impl ConnectionTrait,
    product_id: &str,
    quantity: i64,
) -> Result<Option<product::Model>, DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let verified_vendors = Query::select()
        .column(vendor::Column::VendorId)
        .from(vendor::Entity)
        .and_where(vendor::Column::Status.eq(VendorStatus::Verified))
        .to_owned();
    let mut taken = product::Entity::update_many()
        .col_expr(
            product::Column::Stock,
            Expr::col(product::Column::Stock).sub(quantity),
        )
        .col_expr(
            product::Column::Version,
            Expr::col(product::Column::Version).add(1),
        )
        .filter(product::Column::Id.eq(product_id))
        .filter(product::Column::Status.eq(ProductStatus::Listed))
        .filter(product::Column::MinOrderQuantity.lte(quantity))
        .filter(product::Column::Stock.gte(quantity))
        .filter(product::Column::VendorId.in_subquery(verified_vendors))
        .exec_with_returning(conn)
        .await?;
    Ok(taken.pop())
}

pub async fn give_stock(
    conn: &impl ConnectionTrait,
    product_id: &str,
    quantity: i64,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    product::Entity::update_many()
        .col_expr(
            product::Column::Stock,
            Expr::col(product::Column::Stock).add(quantity),
        )
        .col_expr(
            product::Column::Version,
            Expr::col(product::Column::Version).add(1),
        )
        .filter(product::Column::Id.eq(product_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The insert of a new reservation's lines, to go with their events.
pub fn reservation_lines_insert(rows: Vec<reservation::Model>) -> InsertStatement {
    reservation::Entity::insert_many(rows.into_iter().map(reservation::ActiveModel::from))
        .into_query()
}

/// Holds a released reservation's lines again, with new snapshots. Returns
/// false, changing nothing visible once the caller rolls back, if any line
/// was not released (a concurrent call held it first).
pub async fn rehold_reservation_lines(
    conn: &impl ConnectionTrait,
    rows: Vec<reservation::Model>,
) -> Result<bool, DbErr> {
    for row in rows {
        let (reservation_id, product_id) = (row.reservation_id.clone(), row.product_id.clone());
        let mut active = reservation::ActiveModel::from(row).reset_all();
        active.reservation_id = sea_orm::ActiveValue::NotSet;
        active.product_id = sea_orm::ActiveValue::NotSet;
        let result = reservation::Entity::update_many()
            .set(active)
            .filter(reservation::Column::ReservationId.eq(reservation_id))
            .filter(reservation::Column::ProductId.eq(product_id))
            .filter(reservation::Column::Status.eq(ReservationStatus::Released))
            .exec(conn)
            .await?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Marks a reservation released. Returns false if it was not held.
pub async fn release_reservation(
    conn: &impl ConnectionTrait,
    reservation_id: &str,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let result = reservation::Entity::update_many()
        .col_expr(
            reservation::Column::Status,
            Expr::value(ReservationStatus::Released),
        )
        .col_expr(reservation::Column::ReleasedAt, Expr::value(at))
        .filter(reservation::Column::ReservationId.eq(reservation_id))
        .filter(reservation::Column::Status.eq(ReservationStatus::Held))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_row_is_unescaped_column_by_column() {
        let line = b"a\\tb\tline\\none\\\\two\t\\N\t\\b\\f\\r\\v\\x";
        assert_eq!(
            copy_text_row(line).unwrap(),
            vec![
                Some("a\tb".to_string()),
                Some("line\none\\two".to_string()),
                None,
                Some("\u{8}\u{c}\r\u{b}x".to_string()),
            ]
        );
        assert_eq!(copy_text_row(b"").unwrap(), vec![Some(String::new())]);
        assert!(copy_text_row(b"ends in \\").is_err());
        assert!(copy_text_row(b"\xff").is_err());
    }

    #[test]
    fn a_searched_product_is_read_from_its_seven_columns() {
        let row = copy_text_row(
            b"0190-id\tv-1\tkatering.nasi-kotak\tNasi \\\\ kotak\tAyam\\tbakar\t25000\t[\"33.74\",\"33.01\"]",
        )
        .unwrap();
        assert_eq!(
            searched_product(row.clone()).unwrap(),
            SearchedProduct {
                id: "0190-id".into(),
                vendor_id: "v-1".into(),
                category_code: "katering.nasi-kotak".into(),
                name: "Nasi \\ kotak".into(),
                description: "Ayam\tbakar".into(),
                price: 25_000,
                delivery_regencies: db::StringList(vec!["33.74".into(), "33.01".into()]),
            }
        );
        let mut missing = row.clone();
        missing[3] = None;
        let e = searched_product(missing).unwrap_err().to_string();
        assert!(e.contains("products.name is NULL"), "{e}");
        let mut price = row.clone();
        price[5] = Some("12.5".into());
        assert!(searched_product(price).is_err());
        assert!(searched_product(row[..6].to_vec()).is_err());
    }
}
