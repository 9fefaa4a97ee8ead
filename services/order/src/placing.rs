//! Placing an order, without the gRPC around it (the adapter in [`crate::api`]
//! parses the request and answers the result).
//!
//! Placing reserves the stock at the catalog, which answers the price and
//! product details each line was taken at (one call prices and reserves),
//! checks that the vendor is verified (from the order service's own
//! projection of vendor events, asking the vendor service only when that
//! cannot say yes: [`crate::vendors`]), then writes the
//! order, its items, its first history line, the idempotency key and the
//! event in one statement. The reservation id is derived from the buyer's
//! idempotency key, so a retry never reserves twice; whatever stops an order
//! after its stock was taken gives the stock back, and a retry with the same
//! key holds it again. One call per key places at a time (a lease on the
//! attempt); the sweeper gives back the stock of attempts a stopped process
//! left behind.

use std::sync::Arc;

use blangkon_domain::validation::{Violation, product_lines};
use blangkon_domain::{Actor, WorkUnit};
use blangkon_platform::db;
use blangkon_platform::metrics::StatusCounts;
use blangkon_platform::outbox::{self, RelayWaker};
use blangkon_platform::time::now;
use blangkon_proto::catalog as catalog_pb;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use crate::domain::lifecycle::{OrderStatus, releases_stock};
use crate::domain::money::{self, Rupiah};
use crate::error::{OrderError, Result};
use crate::events::{self, Transition};
use crate::peers::Peers;
use crate::policy;
use crate::store::{self, BuyerKey, Leasing, idempotency, item, order};
use crate::vendors::{self, Seller};

/// An order as stored: its row, its items in product id order, its history.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub order: order::Model,
    pub items: Vec<item::Model>,
    pub history: Vec<store::history::Model>,
}

impl OrderRecord {
    /// The whole order `row` from the database.
    pub async fn load(db: &DatabaseConnection, row: order::Model) -> Result<Self> {
        let items = store::items(db, &row.id).await?;
        let history = store::history(db, &row.id).await?;
        Ok(Self {
            order: row,
            items,
            history,
        })
    }
}

/// What a buyer asks to place, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    /// The buyer's idempotency key: 8 to 100 printable ASCII characters.
    pub key: String,
    /// Product ids and quantities, each product once.
    pub lines: Vec<(String, i64)>,
    /// At most 1000 characters.
    pub note: String,
}

impl PlaceOrder {
    /// Checks a request's fields; every bad one is named.
    pub fn parse<'a>(
        key: &str,
        lines: impl IntoIterator<Item = (&'a str, i64)>,
        note: &str,
    ) -> std::result::Result<Self, Vec<Violation>> {
        let key = key.trim().to_string();
        let mut violations = Vec::new();
        if !(8..=100).contains(&key.len()) || !key.chars().all(|c| c.is_ascii_graphic()) {
            violations.push(Violation::new(
                "idempotency_key",
                "must be 8 to 100 printable ASCII characters",
            ));
        }
        let note = note.trim().to_string();
        if note.chars().count() > 1000 {
            violations.push(Violation::new("note", "must be at most 1000 characters"));
        }
        let lines = product_lines(lines).unwrap_or_else(|mut v| {
            violations.append(&mut v);
            Vec::new()
        });
        if violations.is_empty() {
            Ok(Self { key, lines, note })
        } else {
            Err(violations)
        }
    }

    /// The body of the request, independent of line order: the same order
    /// always hashes the same, so a retry is told from another order. Every
    /// part goes in with its length first, so no two different requests
    /// are written alike (lines `A:1, B:2` without a note are not line
    /// `A:1` with the note `B:2;`).
    fn hash(&self) -> String {
        fn part(hasher: &mut Sha256, bytes: &[u8]) {
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        }
        let mut sorted: Vec<&(String, i64)> = self.lines.iter().collect();
        sorted.sort();
        let mut hasher = Sha256::new();
        hasher.update((sorted.len() as u64).to_be_bytes());
        for (product_id, quantity) in sorted {
            part(&mut hasher, product_id.as_bytes());
            hasher.update(quantity.to_be_bytes());
        }
        part(&mut hasher, self.note.as_bytes());
        hex(&hasher.finalize())
    }

    /// The hash keys stored before parts were length-prefixed: a retry
    /// across that upgrade is still the same request.
    fn hash_before_lengths(&self) -> String {
        let mut sorted: Vec<&(String, i64)> = self.lines.iter().collect();
        sorted.sort();
        let mut hasher = Sha256::new();
        for (product_id, quantity) in sorted {
            hasher.update(format!("{product_id}:{quantity};"));
        }
        hasher.update(self.note.as_bytes());
        hex(&hasher.finalize())
    }

    /// Whether `stored`, the hash kept with a key, is this request's.
    fn is_hashed_as(&self, stored: &str, hash: &str) -> bool {
        stored == hash || stored == self.hash_before_lengths()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The idempotency key `key` as the work unit `unit` holds it.
fn buyer_key(unit: &WorkUnit, key: &str) -> BuyerKey {
    BuyerKey {
        regency: unit.regency.to_string(),
        work_unit: unit.name.clone(),
        key: key.to_string(),
    }
}

/// The reservation id of an idempotency key: a retry of a half-done
/// placing reserves under the same id, which the catalog takes once. It
/// names the regency too, as a work unit's name is unique only there, and
/// each part with its length: free-text names and keys may hold any
/// separator.
pub fn reservation_id(key: &BuyerKey) -> String {
    let parts = [&key.regency, &key.work_unit, &key.key];
    let mut name = String::from("blangkon-order:v2");
    for part in parts {
        name.push_str(&format!(":{}:{part}", part.len()));
    }
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}

/// Who is placing which order, under which key.
struct Placing<'a> {
    who: &'a Actor,
    buyer: &'a WorkUnit,
    key: &'a BuyerKey,
    request: &'a PlaceOrder,
    hash: &'a str,
    reservation: &'a str,
}

/// A placed order: this call's, or the one an earlier call with the same
/// key placed.
enum Placed {
    New(OrderRecord),
    Earlier(order::Model),
}

/// Places orders.
#[derive(Debug, Clone)]
pub struct Placer {
    db: DatabaseConnection,
    relay: RelayWaker,
    peers: Peers,
    max_order_total: Rupiah,
    /// How long a placing may run; a call with the same key waits that long
    /// before it takes over from one that stopped.
    placing_lease: chrono::Duration,
    /// Orders by the status they reached (here: placed).
    counts: StatusCounts,
    /// Vendor checks by what answered them.
    vendor_checks: Arc<vendors::CheckCounts>,
}

impl Placer {
    pub fn new(
        db: DatabaseConnection,
        relay: RelayWaker,
        peers: Peers,
        max_order_total: Rupiah,
        placing_lease: std::time::Duration,
    ) -> Self {
        Self {
            db,
            relay,
            peers,
            max_order_total,
            placing_lease: chrono::Duration::from_std(placing_lease)
                .unwrap_or(chrono::Duration::MAX),
            counts: StatusCounts::default(),
            vendor_checks: Default::default(),
        }
    }

    /// Counts the orders it places into `counts`.
    pub fn counting(mut self, counts: StatusCounts) -> Self {
        self.counts = counts;
        self
    }

    /// The vendor checks it made, by what answered them.
    pub fn vendor_checks(&self) -> Arc<vendors::CheckCounts> {
        self.vendor_checks.clone()
    }

    /// Places `request` for the buyer's work unit, or answers the order an
    /// earlier call with the same key placed.
    pub async fn place(&self, who: &Actor, request: &PlaceOrder) -> Result<OrderRecord> {
        let buyer = &policy::place_orders(who)?;
        let key = &buyer_key(buyer, &request.key);
        let hash = request.hash();
        // A key an order was placed with answers that order. Otherwise calls
        // with one key share one reservation, so only one of them at a time
        // may reserve or give stock back: the others are told to retry (and
        // then get the order). The lease is also the record that lets the
        // sweeper give back the stock of a placing this process never
        // finishes. Both in one statement (PostgreSQL).
        let reservation = reservation_id(key);
        let started = now();
        let attempt = store::attempt::Model {
            buyer_regency: key.regency.clone(),
            work_unit: key.work_unit.clone(),
            key: key.key.clone(),
            reservation_id: reservation.clone(),
            started_at: started,
        };
        match store::lease_unless_placed(&self.db, key, attempt, started - self.placing_lease)
            .await?
        {
            Leasing::Placed(existing) => return self.replay(&existing, request, &hash).await,
            Leasing::Busy => {
                return Err(OrderError::InProgress(format!(
                    "an order with idempotency key {} is being placed by another call; retry",
                    key.key
                )));
            }
            Leasing::Leased => {}
        }
        let reserved = match self.peers.reserve(&reservation, &request.lines).await {
            Ok(reserved) => reserved,
            Err(e) => {
                // The catalog may have taken the stock before failing to
                // answer: give it back (harmless if it did not).
                self.give_back(key, &reservation).await;
                return Err(e);
            }
        };
        let placing = Placing {
            who,
            buyer,
            key,
            request,
            hash: &hash,
            reservation: &reservation,
        };
        match self.place_reserved(&placing, reserved).await {
            Ok(Placed::New(order)) => Ok(order),
            Ok(Placed::Earlier(order)) => {
                // A concurrent call with the same key won. If its order no
                // longer holds stock, this call may have held it again.
                if releases_stock(order.status) {
                    self.release_and_forget(key, &reservation).await;
                } else {
                    self.end_attempt(key).await;
                }
                OrderRecord::load(&self.db, order).await
            }
            Err(e) => {
                self.give_back(key, &reservation).await;
                Err(e)
            }
        }
    }

    /// The order a key made, if the body matches; ALREADY_EXISTS if not.
    async fn replay(
        &self,
        key: &idempotency::Model,
        request: &PlaceOrder,
        hash: &str,
    ) -> Result<OrderRecord> {
        if !request.is_hashed_as(&key.request_hash, hash) {
            return Err(OrderError::AlreadyExists {
                field: "idempotency_key",
                message: format!("idempotency key {} was used for another order", key.key),
            });
        }
        let row = store::find_order(&self.db, &key.order_id)
            .await?
            .ok_or_else(|| OrderError::NotFound(format!("order {}", key.order_id)))?;
        OrderRecord::load(&self.db, row).await
    }

    /// Releases a reservation that no order will use, and ends its attempt.
    /// A failure is logged, not returned: the caller's error matters more;
    /// a retry with the same key holds the reservation again, and if none
    /// comes the sweeper releases it.
    async fn give_back(&self, key: &BuyerKey, reservation: &str) {
        // A call that finished before this one took the lease may have
        // placed the order on this very reservation: then it is not ours.
        match store::find_key(&self.db, key).await {
            Ok(None) => {}
            Ok(Some(_)) => {
                self.end_attempt(key).await;
                return;
            }
            Err(e) => {
                tracing::warn!(%reservation, error = %e, "cannot tell whether the stock is used; the sweeper will decide");
                return;
            }
        }
        self.release_and_forget(key, reservation).await;
    }

    async fn release_and_forget(&self, key: &BuyerKey, reservation: &str) {
        if let Err(e) = self.peers.release(reservation).await {
            tracing::warn!(%reservation, error = %e, "could not give back the stock of an order that was not placed; the sweeper will");
            // A retry may take over at once (and reuse the reservation); if
            // none comes, the sweeper releases it.
            if let Err(e) = store::expire_lease(&self.db, key, now() - self.placing_lease).await {
                tracing::warn!(%reservation, error = %e, "could not give up a placing lease; a retry waits for it to run out");
            }
            return;
        }
        self.end_attempt(key).await;
    }

    /// Ends a placing's attempt (and lease). A failure is only logged: the
    /// sweeper ends it later, releasing nothing an order uses.
    async fn end_attempt(&self, key: &BuyerKey) {
        if let Err(e) = store::forget_attempt(&self.db, key).await {
            tracing::warn!(work_unit = %key.work_unit, error = %e, "could not end a placing attempt; the sweeper will");
        }
    }

    /// The rest of placing once the stock is held: one vendor, totals under
    /// the ceiling, the vendor verified now, then the write.
    async fn place_reserved(
        &self,
        placing: &Placing<'_>,
        reserved: catalog_pb::Reservation,
    ) -> Result<Placed> {
        if reserved.status != catalog_pb::ReservationStatus::Held as i32 {
            return Err(OrderError::Unavailable(
                "the catalog did not hold the stock; retry".into(),
            ));
        }
        let lines = reserved.lines;
        let vendor_id = lines
            .first()
            .map(|l| l.vendor_id.clone())
            .unwrap_or_default();
        if lines.iter().any(|l| l.vendor_id != vendor_id) {
            return Err(OrderError::invalid(
                "lines",
                "every product of an order must come from one vendor",
            ));
        }
        let (line_totals, total) = money::totals(
            &lines
                .iter()
                .map(|l| (l.quantity, Rupiah::new(l.unit_price)))
                .collect::<Vec<_>>(),
            self.max_order_total,
        )?;

        // The vendor must be verified now, not only when it listed.
        let (seller, answered_by) =
            vendors::verified_seller(&self.db, &self.peers, &vendor_id).await?;
        self.vendor_checks.count(answered_by);
        let (row, items, first) = new_order(placing, seller, lines, line_totals, total);
        let written = self
            .write_new_order(placing, row.clone(), items.clone(), first.clone())
            .await;
        match written {
            Ok(()) => {
                self.relay.wake();
                self.counts.reached(row.status.as_str());
                tracing::info!(order_id = %row.id, total = row.total.get(), "order placed");
                Ok(Placed::New(OrderRecord {
                    order: row,
                    items,
                    history: vec![first],
                }))
            }
            Err(e) if db::is_unique_violation(&e) => self.placed_earlier(placing, e).await,
            Err(e) => Err(e.into()),
        }
    }

    /// The order that another call with the same key wrote first (the
    /// write of this one hit its key), if it is the same order.
    async fn placed_earlier(
        &self,
        placing: &Placing<'_>,
        conflict: sea_orm::DbErr,
    ) -> Result<Placed> {
        let earlier = store::find_key(&self.db, placing.key)
            .await?
            .ok_or(OrderError::Store(conflict))?;
        if !placing
            .request
            .is_hashed_as(&earlier.request_hash, placing.hash)
        {
            return Err(OrderError::AlreadyExists {
                field: "idempotency_key",
                message: format!(
                    "idempotency key {} was used for another order",
                    placing.key.key
                ),
            });
        }
        let order = store::find_order(&self.db, &earlier.order_id)
            .await?
            .ok_or_else(|| OrderError::NotFound(format!("order {}", earlier.order_id)))?;
        Ok(Placed::Earlier(order))
    }

    async fn write_new_order(
        &self,
        placing: &Placing<'_>,
        row: order::Model,
        items: Vec<item::Model>,
        first: store::history::Model,
    ) -> std::result::Result<(), sea_orm::DbErr> {
        let event = events::order_event(
            &row,
            &items,
            Transition {
                previous: None,
                actor_role: placing.who.role_name(),
                note: &row.note,
                at: row.placed_at,
            },
        );
        let (_, event) = outbox::insert_statement(event)?;
        let mut writes = store::new_order_writes(
            idempotency::Model {
                buyer_regency: placing.key.regency.clone(),
                work_unit: placing.key.work_unit.clone(),
                key: placing.key.key.clone(),
                request_hash: placing.hash.to_string(),
                order_id: row.id.clone(),
                reservation_id: placing.reservation.to_string(),
                created_at: row.placed_at,
            },
            row,
            items,
            first,
        );
        writes.push(event.into());
        // One statement on PostgreSQL: the order's write is one round trip.
        db::write_all(&self.db, writes).await
    }
}

/// The rows of a new order from the stock the catalog held for it: the
/// order, its items in product id order, its first history line.
fn new_order(
    placing: &Placing<'_>,
    seller: Seller,
    lines: Vec<catalog_pb::ReservedLine>,
    line_totals: Vec<Rupiah>,
    total: Rupiah,
) -> (order::Model, Vec<item::Model>, store::history::Model) {
    let who = placing.who;
    // When the order was placed: the replayed moment in a local replay.
    let at = blangkon_platform::time::occurred_now();
    let row = order::Model {
        id: uuid::Uuid::now_v7().to_string(),
        buyer_work_unit: placing.buyer.name.clone(),
        buyer_regency: placing.buyer.regency.to_string(),
        buyer_subject: who.subject.clone(),
        vendor_id: seller.vendor_id,
        vendor_name: seller.name,
        vendor_regency: seller.regency_code,
        vendor_legal_form: seller.legal_form,
        vendor_scale: seller.scale,
        total,
        status: OrderStatus::Placed,
        bast_number: None,
        bast_date: None,
        payment_reference: None,
        note: placing.request.note.clone(),
        version: 0,
        placed_at: at,
        updated_at: at,
    };
    let mut items: Vec<item::Model> = lines
        .into_iter()
        .zip(line_totals)
        .map(|(l, line_total)| item::Model {
            order_id: row.id.clone(),
            product_id: l.product_id,
            name: l.name,
            category_code: l.category_code,
            unit: l.unit,
            quantity: l.quantity,
            unit_price: Rupiah::new(l.unit_price),
            line_total,
        })
        .collect();
    // Stored and answered in product id order, as GetOrder reads them.
    items.sort_by(|a, b| a.product_id.cmp(&b.product_id));
    let first = store::history::Model {
        id: uuid::Uuid::now_v7().to_string(),
        order_id: row.id.clone(),
        from_status: None,
        to_status: OrderStatus::Placed,
        actor: who.subject.clone(),
        actor_role: who.role_name().into(),
        note: row.note.clone(),
        changed_at: at,
    };
    (row, items, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P1: &str = "01934a1e-0000-7000-8000-000000000001";
    const P2: &str = "01934a1e-0000-7000-8000-000000000002";

    fn lines(l: &[(&'static str, i64)]) -> Vec<(&'static str, i64)> {
        l.to_vec()
    }

    #[test]
    fn the_same_order_hashes_the_same_whatever_the_line_order() {
        let a = PlaceOrder::parse("key-00001", lines(&[(P1, 2), (P2, 3)]), "catatan").unwrap();
        let b = PlaceOrder::parse("key-00001", lines(&[(P2, 3), (P1, 2)]), "catatan").unwrap();
        assert_eq!(a.hash(), b.hash());
        let more = PlaceOrder::parse("key-00001", lines(&[(P1, 2), (P2, 4)]), "catatan").unwrap();
        assert_ne!(a.hash(), more.hash());
        let other_note =
            PlaceOrder::parse("key-00001", lines(&[(P1, 2), (P2, 3)]), "lain").unwrap();
        assert_ne!(a.hash(), other_note.hash());
    }

    #[test]
    fn every_bad_field_of_a_request_is_named() {
        let long_note = "x".repeat(1001);
        let violations = PlaceOrder::parse("short", lines(&[]), &long_note).unwrap_err();
        let mut fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        fields.sort();
        assert_eq!(fields, ["idempotency_key", "lines", "note"]);
    }

    #[test]
    fn a_key_is_eight_to_a_hundred_printable_characters() {
        let ok = |key: &str| PlaceOrder::parse(key, lines(&[(P1, 1)]), "").is_ok();
        assert!(ok("12345678"));
        assert!(ok(&"k".repeat(100)));
        assert!(!ok("1234567"));
        assert!(!ok(&"k".repeat(101)));
        assert!(!ok("key with spaces"));
        assert!(ok("  padded-key  "), "surrounding blanks are trimmed");
    }

    #[test]
    fn a_note_of_a_thousand_characters_is_allowed() {
        let note = "é".repeat(1000);
        assert!(PlaceOrder::parse("12345678", lines(&[(P1, 1)]), &note).is_ok());
    }

    #[test]
    fn lines_and_note_never_hash_like_other_lines_and_note() {
        // Joined without lengths, these two would be the same text.
        let two_lines = PlaceOrder::parse("key-00001", lines(&[(P1, 1), (P2, 2)]), "").unwrap();
        let note = format!("{P2}:2;");
        let one_line_and_note = PlaceOrder::parse("key-00001", lines(&[(P1, 1)]), &note).unwrap();
        assert_ne!(two_lines.hash(), one_line_and_note.hash());
        let quantity_in_note = PlaceOrder::parse("key-00001", lines(&[(P1, 12)]), "").unwrap();
        let split = PlaceOrder::parse("key-00001", lines(&[(P1, 1)]), "2").unwrap();
        assert_ne!(quantity_in_note.hash(), split.hash());
    }

    #[test]
    fn a_key_stored_before_lengths_were_hashed_still_replays_its_request() {
        let request = PlaceOrder::parse("key-00001", lines(&[(P1, 2)]), "catatan").unwrap();
        // What the service stored for this request before.
        let mut old = Sha256::new();
        old.update(format!("{P1}:2;"));
        old.update("catatan".as_bytes());
        let stored_before = hex(&old.finalize());
        let hash = request.hash();
        assert!(request.is_hashed_as(&stored_before, &hash));
        assert!(request.is_hashed_as(&hash, &hash));
        let other = PlaceOrder::parse("key-00001", lines(&[(P1, 3)]), "catatan").unwrap();
        assert!(!other.is_hashed_as(&stored_before, &other.hash()));
        assert!(!other.is_hashed_as(&hash, &other.hash()));
    }

    fn key(regency: &str, work_unit: &str, key: &str) -> BuyerKey {
        BuyerKey {
            regency: regency.into(),
            work_unit: work_unit.into(),
            key: key.into(),
        }
    }

    #[test]
    fn one_key_of_one_work_unit_always_reserves_under_the_same_id() {
        let semarang = key("33.74", "Dinas A", "k1");
        assert_eq!(reservation_id(&semarang), reservation_id(&semarang.clone()));
        assert_ne!(
            reservation_id(&semarang),
            reservation_id(&key("33.74", "Dinas B", "k1"))
        );
        assert_ne!(
            reservation_id(&semarang),
            reservation_id(&key("33.74", "Dinas A", "k2"))
        );
        // The same name in another regency is another work unit.
        assert_ne!(
            reservation_id(&semarang),
            reservation_id(&key("33.19", "Dinas A", "k1"))
        );
        // A separator inside a name or a key moves no part into another.
        assert_ne!(
            reservation_id(&key("33.74", "Dinas:abcdefgh", "12345678")),
            reservation_id(&key("33.74", "Dinas", "abcdefgh:12345678"))
        );
    }

    /// Lines as the catalog reserves them: a quantity and the price per
    /// unit when the stock was taken, up to the lines an order may have.
    fn reserved_lines() -> impl proptest::strategy::Strategy<Value = Vec<catalog_pb::ReservedLine>>
    {
        use proptest::prelude::*;
        proptest::collection::vec((1..10_000i64, 1..5_000_000i64), 1..=20).prop_map(|lines| {
            lines
                .into_iter()
                .enumerate()
                .map(|(i, (quantity, unit_price))| catalog_pb::ReservedLine {
                    // Reserved out of id order, as a request may list them.
                    product_id: format!("01934a1e-0000-7000-8000-{:012}", 999 - i),
                    quantity,
                    vendor_id: "01934a1e-0000-7000-8000-00000000000v".into(),
                    name: format!("Produk {i}"),
                    category_code: "4410".into(),
                    unit: "pcs".into(),
                    unit_price,
                })
                .collect()
        })
    }

    proptest::proptest! {
        /// An order keeps each line at the price its stock was reserved
        /// at: its items, its total and the event of every step of its
        /// life carry those prices and nothing a client sent.
        #[test]
        fn an_order_keeps_the_prices_its_stock_was_reserved_at(reserved in reserved_lines()) {
            use prost::Message as _;
            let unit = WorkUnit {
                regency: blangkon_domain::RegencyCode::parse("33.74").unwrap(),
                name: "Dinas Pendidikan".into(),
            };
            let who = Actor::new("buyer-1", blangkon_domain::Standing::Buyer(unit.clone()));
            let buyer_key = key("33.74", "Dinas Pendidikan", "key-00001");
            let request = PlaceOrder::parse("key-00001", lines(&[(P1, 1)]), "").unwrap();
            let placing = Placing {
                who: &who,
                buyer: &unit,
                key: &buyer_key,
                request: &request,
                hash: "hash",
                reservation: "reservation",
            };
            let priced: Vec<(i64, Rupiah)> = reserved
                .iter()
                .map(|l| (l.quantity, Rupiah::new(l.unit_price)))
                .collect();
            // Placing refuses totals past its ceiling before this; the
            // prices are what is checked here, so no ceiling.
            let (line_totals, total) = money::totals(&priced, Rupiah::new(i64::MAX)).unwrap();
            let seller = Seller {
                vendor_id: reserved[0].vendor_id.clone(),
                name: "Katering Bu Sri".into(),
                regency_code: "33.74".into(),
                legal_form: "cv".into(),
                scale: "micro".into(),
            };
            let (row, items, _) =
                new_order(&placing, seller, reserved.clone(), line_totals, total);

            let expected: std::collections::BTreeMap<&str, (i64, i64)> = reserved
                .iter()
                .map(|l| (l.product_id.as_str(), (l.quantity, l.unit_price)))
                .collect();
            let sum: i64 = reserved.iter().map(|l| l.quantity * l.unit_price).sum();
            proptest::prop_assert_eq!(row.total.get(), sum);
            proptest::prop_assert!(items.windows(2).all(|w| w[0].product_id < w[1].product_id));
            for item in &items {
                let (quantity, price) = expected[item.product_id.as_str()];
                proptest::prop_assert_eq!((item.quantity, item.unit_price.get()), (quantity, price));
                proptest::prop_assert_eq!(item.line_total.get(), quantity * price);
            }
            // Placed, then every step after: each event's snapshot.
            for previous in [None, Some("placed"), Some("confirmed"), Some("shipped"), Some("received")] {
                let event = events::order_event(&row, &items, Transition {
                    previous,
                    actor_role: "vendor",
                    note: "",
                    at: now(),
                });
                let payload = event.envelope.payload.unwrap_or_default();
                // OrderPlaced and OrderStatusChanged are the same on the wire.
                let snapshot = blangkon_proto::events::OrderPlaced::decode(payload.value.as_slice())
                    .unwrap()
                    .order
                    .unwrap_or_default();
                proptest::prop_assert_eq!(snapshot.total, sum);
                for fact in &snapshot.items {
                    let (quantity, price) = expected[fact.product_id.as_str()];
                    proptest::prop_assert_eq!((fact.quantity, fact.unit_price), (quantity, price));
                    proptest::prop_assert_eq!(fact.line_total, quantity * price);
                }
                proptest::prop_assert_eq!(snapshot.items.len(), reserved.len());
            }
        }
    }
}
