//! Price quotes and stock reservations: a buyer or the order service asks
//! what lines would cost, and the order service holds the stock of an
//! order it is placing (one call that also answers the price each line was
//! taken at) and gives it back when the order will not be.

use std::collections::HashMap;

use blangkon_domain::validation::Refusal;
use blangkon_domain::{Actor, ReservationId, VendorStatus};
use blangkon_platform::{db, outbox};
use sea_orm::ConnectionTrait;

use crate::Catalog;
use crate::domain::product::{Offer, ProductStatus, Unavailable, check_availability};
use crate::error::{CatalogError, Result};
use crate::events;
use crate::policy;
use crate::store::{self, reservation};
use reservation::ReservationStatus;

/// Product ids and quantities, each product once (checked by the domain's
/// `product_lines`).
pub type Lines = Vec<(String, i64)>;

/// What one line would cost now, and whether it can be had.
#[derive(Debug, Clone)]
pub struct Quote {
    pub product: store::product::Model,
    pub quantity: i64,
    /// Why the line cannot be had now, if it cannot.
    pub unavailable: Option<Unavailable>,
}

/// A reservation's lines, held or released.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub id: ReservationId,
    pub lines: Vec<reservation::Model>,
}

impl Reservation {
    pub fn is_held(&self) -> bool {
        self.lines
            .iter()
            .all(|r| r.status == ReservationStatus::Held)
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

impl Catalog {
    async fn offer(
        &self,
        conn: &impl ConnectionTrait,
        product: &store::product::Model,
    ) -> Result<Offer> {
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

    /// What `lines` would cost now, line by line.
    pub async fn quote_prices(&self, actor: &Actor, lines: Lines) -> Result<Vec<Quote>> {
        policy::quote_prices(actor)?;
        let ids: Vec<String> = lines.iter().map(|(id, _)| id.clone()).collect();
        let mut rows: HashMap<String, store::product::Model> =
            store::products_by_ids(&self.db, &ids)
                .await?
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect();
        let mut quotes = Vec::with_capacity(lines.len());
        for (product_id, quantity) in lines {
            let Some(product) = rows.remove(&product_id) else {
                return Err(CatalogError::NotFound(format!("product {product_id}")));
            };
            let offer = self.offer(&self.db, &product).await?;
            // A draft, an unlisted product or one of a vendor that is not
            // verified does not exist for those who do not own it: its
            // price and name are not theirs to learn.
            let offered = offer.listed && offer.vendor_verified;
            if !offered && !policy::sees_every_product_of(actor, &product.vendor_id) {
                return Err(CatalogError::NotFound(format!("product {product_id}")));
            }
            let availability = check_availability(offer, quantity);
            quotes.push(Quote {
                product,
                quantity,
                unavailable: availability.err(),
            });
        }
        Ok(quotes)
    }

    /// Holds the stock of every line under `id`, or none of it. The same
    /// id with the same lines answers the reservation again (and holds a
    /// released one again), so a caller may retry.
    pub async fn reserve_stock(
        &self,
        actor: &Actor,
        id: ReservationId,
        lines: Lines,
    ) -> Result<Reservation> {
        policy::hold_stock(actor, "reserve stock")?;
        let reservation_id = id.to_string();

        // The common case is one round of conditional writes; only a
        // refusal or a retry pays for the reads that explain it.
        let mut taking = self.take_stock(&reservation_id, &lines, Write::New).await?;
        // Bounded: each round follows a concurrent change of the same id,
        // or of a line's product or vendor.
        for _ in 0..3 {
            let existing = match taking {
                Taking::Reserved(rows) => {
                    // Stock is not in the search index: only the relay has work.
                    self.relay.wake();
                    return Ok(Reservation { id, lines: rows });
                }
                Taking::Exists => store::reservation_lines(&self.db, &reservation_id).await?,
                Taking::Refused(line) => {
                    // A retry may find its stock gone to its own first call.
                    let existing = store::reservation_lines(&self.db, &reservation_id).await?;
                    if existing.iter().all(|r| r.status != ReservationStatus::Held) {
                        match self.why_refused(line, &lines[line]).await? {
                            // Nothing refuses the line now: a change came
                            // in between (the vendor reinstated, the
                            // product restocked): take the stock again.
                            CatalogError::Busy(_) if existing.is_empty() => {
                                taking =
                                    self.take_stock(&reservation_id, &lines, Write::New).await?;
                                continue;
                            }
                            // Released: held again below.
                            CatalogError::Busy(_) => {}
                            refused => return Err(refused),
                        }
                    }
                    existing
                }
            };
            if !same_lines(&existing, &lines) {
                return Err(CatalogError::AlreadyExists {
                    field: "reservation_id",
                    message: format!("reservation {reservation_id} exists with other lines"),
                });
            }
            if existing.iter().any(|r| r.status == ReservationStatus::Held) {
                return Ok(Reservation {
                    id,
                    lines: existing,
                });
            }
            // Released: asking again holds it again, so a caller that gave
            // the stock back after a failure can retry with the same id.
            taking = self
                .take_stock(&reservation_id, &lines, Write::Rehold)
                .await?;
        }
        // The last round's take may have held the stock.
        if let Taking::Reserved(rows) = taking {
            self.relay.wake();
            return Ok(Reservation { id, lines: rows });
        }
        Err(CatalogError::Busy(format!(
            "reservation {reservation_id} or its products are being changed by concurrent calls; retry"
        )))
    }

    /// Takes the stock of every line in one transaction, or none of it.
    async fn take_stock(
        &self,
        reservation_id: &str,
        lines: &[(String, i64)],
        write: Write,
    ) -> Result<Taking> {
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
    ) -> Result<CatalogError> {
        let product = store::find_product(&self.db, product_id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("product {product_id}")))?;
        let offer = self.offer(&self.db, &product).await?;
        Ok(match check_availability(offer, *quantity) {
            Err(Unavailable::BelowMinimumOrder) => CatalogError::invalid(
                &format!("lines[{i}].quantity"),
                format!(
                    "is below the minimum order quantity {} of product {product_id}",
                    product.min_order_quantity
                ),
            ),
            Err(Unavailable::OutOfStock) => CatalogError::Refused(vec![Refusal::new(
                Unavailable::OutOfStock.kind(),
                format!("lines[{i}]"),
                format!(
                    "product {product_id}: not enough stock ({} left, {quantity} asked)",
                    product.stock
                ),
            )]),
            Err(reason) => CatalogError::Refused(vec![Refusal::new(
                reason.kind(),
                format!("lines[{i}]"),
                format!("product {product_id}: {reason}"),
            )]),
            // Another reservation or a product change came in between.
            Ok(()) => CatalogError::Busy(format!(
                "product {product_id} changed while its stock was taken; retry"
            )),
        })
    }

    /// Gives the stock of a reservation back (once; again is harmless).
    pub async fn release_stock(&self, actor: &Actor, id: ReservationId) -> Result<Reservation> {
        policy::hold_stock(actor, "release stock")?;
        let reservation_id = id.to_string();
        let txn = db::begin_write(&self.db).await?;
        let lines = store::reservation_lines(&txn, &reservation_id).await?;
        if lines.is_empty() {
            return Err(CatalogError::NotFound(format!(
                "reservation {reservation_id}"
            )));
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
        Ok(Reservation { id, lines })
    }
}
