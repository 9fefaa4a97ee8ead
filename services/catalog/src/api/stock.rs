//! Price quotes and stock reservations, for the order service.

use std::collections::HashMap;

use blangkon_domain::{ReservationId, VendorStatus};
use blangkon_platform::api_error::ApiError;
use blangkon_platform::auth::{Principal, Role};
use blangkon_platform::db;
use blangkon_platform::outbox;
use blangkon_platform::time::to_timestamp;
use blangkon_platform::validation::{FieldViolationExt, Refusal, product_lines};
use blangkon_proto::catalog as pb;
use sea_orm::ConnectionTrait;

use super::CatalogApi;
use crate::domain::product::{Offer, ProductStatus, Unavailable, check_availability};
use crate::events;
use crate::store::{self, reservation};
use reservation::ReservationStatus;

/// A request's lines, checked; the same product twice is refused so a
/// reservation line is one product.
fn request_lines(lines: &[pb::QuoteLine]) -> Result<Vec<(String, i64)>, ApiError> {
    product_lines(lines.iter().map(|l| (l.product_id.as_str(), l.quantity)))
        .map_err(ApiError::Invalid)
}

fn reservation_to_proto(reservation_id: &str, rows: &[reservation::Model]) -> pb::Reservation {
    let held = rows.iter().all(|r| r.status == ReservationStatus::Held);
    pb::Reservation {
        reservation_id: reservation_id.to_string(),
        lines: rows
            .iter()
            .map(|r| pb::ReservedLine {
                product_id: r.product_id.clone(),
                quantity: r.quantity,
                vendor_id: r.vendor_id.clone(),
                name: r.name.clone(),
                category_code: r.category_code.clone(),
                unit: r.unit.clone(),
                unit_price: r.unit_price,
            })
            .collect(),
        status: if held {
            pb::ReservationStatus::Held
        } else {
            pb::ReservationStatus::Released
        } as i32,
        reserved_at: rows.first().map(|r| to_timestamp(r.reserved_at)),
    }
}

fn same_lines(rows: &[reservation::Model], lines: &[(String, i64)]) -> bool {
    let mut wanted: Vec<(&str, i64)> = lines.iter().map(|(p, q)| (p.as_str(), *q)).collect();
    wanted.sort();
    let mut held: Vec<(&str, i64)> = rows
        .iter()
        .map(|r| (r.product_id.as_str(), r.quantity))
        .collect();
    held.sort();
    wanted == held
}

/// Whether a reservation is new or a released one held again.
#[derive(Clone, Copy)]
enum Write {
    New,
    Rehold,
}

/// How one attempt to take the stock of every line ended.
enum Taking {
    /// Committed: the reservation's lines.
    Reserved(Vec<reservation::Model>),
    /// A rule refused this line; nothing was written.
    Refused(usize),
    /// The reservation id exists already; nothing was written.
    Exists,
}

impl CatalogApi {
    async fn offer(
        &self,
        conn: &impl ConnectionTrait,
        product: &store::product::Model,
    ) -> Result<Offer, ApiError> {
        let vendor_verified = store::find_vendor(conn, &product.vendor_id)
            .await?
            .is_some_and(|v| v.status == VendorStatus::Verified);
        Ok(Offer {
            listed: product.status == ProductStatus::Listed,
            vendor_verified,
            min_order_quantity: product.min_order_quantity,
            stock: product.stock,
        })
    }

    pub(super) async fn do_quote_prices(
        &self,
        who: &Principal,
        req: pb::QuotePricesRequest,
    ) -> Result<pb::QuotePricesResponse, ApiError> {
        if !matches!(who.role, Role::Service | Role::Buyer) {
            return Err(ApiError::denied(format!(
                "role {} may not ask for quotes",
                who.role
            )));
        }
        let lines = request_lines(&req.lines)?;
        let ids: Vec<String> = lines.iter().map(|(id, _)| id.clone()).collect();
        let mut rows: HashMap<String, store::product::Model> =
            store::products_by_ids(&self.db, &ids)
                .await?
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect();
        let mut quotes = Vec::with_capacity(lines.len());
        for (product_id, quantity) in lines {
            let Some(row) = rows.remove(&product_id) else {
                return Err(ApiError::NotFound(format!("product {product_id}")));
            };
            let availability = check_availability(self.offer(&self.db, &row).await?, quantity);
            quotes.push(pb::Quote {
                available: availability.is_ok(),
                unavailable_reason: availability
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
                product_id,
                vendor_id: row.vendor_id,
                name: row.name,
                category_code: row.category_code,
                unit: row.unit,
                unit_price: row.price,
                quantity,
                min_order_quantity: row.min_order_quantity,
                stock: row.stock,
            });
        }
        Ok(pb::QuotePricesResponse { quotes })
    }

    pub(super) async fn do_reserve_stock(
        &self,
        who: &Principal,
        req: pb::ReserveStockRequest,
    ) -> Result<pb::Reservation, ApiError> {
        if who.role != Role::Service {
            return Err(ApiError::denied(format!(
                "role {} may not reserve stock",
                who.role
            )));
        }
        let reservation_id = uuid::Uuid::parse_str(req.reservation_id.trim())
            .map_err(|_| {
                ApiError::invalid("reservation_id", "must be a UUID chosen by the caller")
            })?
            .to_string();
        let lines = request_lines(&req.lines)?;

        // The common case is one round of conditional writes; only a
        // refusal or a retry pays for the reads that explain it.
        let mut taking = self.take_stock(&reservation_id, &lines, Write::New).await?;
        // Bounded: each round follows a concurrent change of the same id.
        for _ in 0..3 {
            let existing = match taking {
                Taking::Reserved(rows) => {
                    // Stock is not in the search index: only the relay has work.
                    self.relay.wake();
                    return Ok(reservation_to_proto(&reservation_id, &rows));
                }
                Taking::Exists => store::reservation_lines(&self.db, &reservation_id).await?,
                Taking::Refused(line) => {
                    // A retry may find its stock gone to its own first call.
                    let existing = store::reservation_lines(&self.db, &reservation_id).await?;
                    if existing.is_empty()
                        || existing.iter().all(|r| r.status != ReservationStatus::Held)
                    {
                        return Err(self.why_refused(line, &lines[line]).await?);
                    }
                    existing
                }
            };
            if !same_lines(&existing, &lines) {
                return Err(ApiError::AlreadyExists {
                    field: "reservation_id".into(),
                    message: format!("reservation {reservation_id} exists with other lines"),
                });
            }
            if existing.iter().any(|r| r.status == ReservationStatus::Held) {
                return Ok(reservation_to_proto(&reservation_id, &existing));
            }
            // Released: asking again holds it again, so a caller that gave
            // the stock back after a failure can retry with the same id.
            taking = self
                .take_stock(&reservation_id, &lines, Write::Rehold)
                .await?;
        }
        Err(ApiError::Unavailable(format!(
            "reservation {reservation_id} is being changed by concurrent calls; retry"
        )))
    }

    /// Takes the stock of every line in one transaction, or none of it.
    async fn take_stock(
        &self,
        reservation_id: &str,
        lines: &[(String, i64)],
        write: Write,
    ) -> Result<Taking, ApiError> {
        let now = blangkon_platform::time::now();
        let txn = db::begin_write(&self.db).await?;
        let mut rows = Vec::with_capacity(lines.len());
        let mut changes = Vec::with_capacity(lines.len());
        for (i, (product_id, quantity)) in lines.iter().enumerate() {
            let Some(mut after) = store::take_stock_for_order(&txn, product_id, *quantity).await?
            else {
                // Dropping the transaction gives back what earlier lines took.
                return Ok(Taking::Refused(i));
            };
            rows.push(reservation::Model {
                reservation_id: reservation_id.to_string(),
                product_id: product_id.clone(),
                quantity: *quantity,
                status: ReservationStatus::Held,
                reserved_at: now,
                released_at: None,
                line: i32::try_from(i).unwrap_or(i32::MAX),
                vendor_id: after.vendor_id.clone(),
                name: after.name.clone(),
                category_code: after.category_code.clone(),
                unit: after.unit.clone(),
                unit_price: after.price,
            });
            // The event happened now, whenever the product was last edited.
            after.updated_at = now;
            changes.push(events::stock_changed(&after, after.stock + quantity));
        }
        match write {
            Write::New => {
                // The lines and their events in one statement on PostgreSQL.
                let mut writes = vec![store::reservation_lines_insert(rows.clone()).into()];
                for change in changes {
                    writes.push(outbox::insert_statement(change)?.1.into());
                }
                match db::write_all_in(&txn, writes).await {
                    Err(e) if db::is_unique_violation(&e) => return Ok(Taking::Exists),
                    other => other?,
                }
            }
            Write::Rehold => {
                if !store::rehold_reservation_lines(&txn, rows.clone()).await? {
                    return Ok(Taking::Exists);
                }
                for change in changes {
                    outbox::enqueue(&txn, change).await?;
                }
            }
        }
        match txn.commit().await {
            // A concurrent call with the same id committed first.
            Err(e) if db::is_unique_violation(&e) => Ok(Taking::Exists),
            other => other.map(|()| Taking::Reserved(rows)).map_err(Into::into),
        }
    }

    /// Why the stock of line `i` could not be taken, as the caller should
    /// see it: a quantity below the minimum is the request's fault, the
    /// rest is the state of the product.
    async fn why_refused(
        &self,
        i: usize,
        (product_id, quantity): &(String, i64),
    ) -> Result<ApiError, ApiError> {
        let product = store::find_product(&self.db, product_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("product {product_id}")))?;
        let offer = self.offer(&self.db, &product).await?;
        Ok(match check_availability(offer, *quantity) {
            Err(Unavailable::BelowMinimumOrder) => ApiError::invalid(
                &format!("lines[{i}].quantity"),
                format!(
                    "is below the minimum order quantity {} of product {product_id}",
                    product.min_order_quantity
                ),
            ),
            Err(Unavailable::OutOfStock) => ApiError::Refused(vec![Refusal::new(
                Unavailable::OutOfStock.kind(),
                format!("lines[{i}]"),
                format!(
                    "product {product_id}: not enough stock ({} left, {quantity} asked)",
                    product.stock
                ),
            )]),
            Err(reason) => ApiError::Refused(vec![Refusal::new(
                reason.kind(),
                format!("lines[{i}]"),
                format!("product {product_id}: {reason}"),
            )]),
            // Another reservation or a product change came in between.
            Ok(()) => ApiError::Unavailable(format!(
                "product {product_id} changed while its stock was taken; retry"
            )),
        })
    }

    pub(super) async fn do_release_stock(
        &self,
        who: &Principal,
        req: pb::ReleaseStockRequest,
    ) -> Result<pb::Reservation, ApiError> {
        if who.role != Role::Service {
            return Err(ApiError::denied(format!(
                "role {} may not release stock",
                who.role
            )));
        }
        let reservation_id = ReservationId::parse(&req.reservation_id)
            .field("reservation_id")?
            .to_string();
        let txn = db::begin_write(&self.db).await?;
        let lines = store::reservation_lines(&txn, &reservation_id).await?;
        if lines.is_empty() {
            return Err(ApiError::NotFound(format!("reservation {reservation_id}")));
        }
        let now = blangkon_platform::time::now();
        if store::release_reservation(&txn, &reservation_id, now).await? {
            for line in &lines {
                store::give_stock(&txn, &line.product_id, line.quantity).await?;
                if let Some(mut after) = store::find_product(&txn, &line.product_id).await? {
                    after.updated_at = now;
                    outbox::enqueue(
                        &txn,
                        events::stock_changed(&after, after.stock - line.quantity),
                    )
                    .await?;
                }
            }
        }
        txn.commit().await?;
        // Stock is not in the search index: only the relay has work.
        self.relay.wake();
        let lines = store::reservation_lines(&self.db, &reservation_id).await?;
        Ok(reservation_to_proto(&reservation_id, &lines))
    }
}
