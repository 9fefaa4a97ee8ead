//! gRPC handlers of `blangkon.order.v1.OrderService`.
//!
//! Placing an order reserves the stock at the catalog, which answers the
//! price and product details each line was taken at (one call prices and
//! reserves), asks the vendor service whether the vendor is verified, then
//! writes the order, its items, its first history line, the idempotency key
//! and the event in one transaction. The reservation id is derived from the
//! buyer's idempotency key, so a retry never reserves twice; whatever stops
//! an order after its stock was taken gives the stock back, and a retry with
//! the same key holds it again.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use blangkon_domain::{LegalForm, Scale, VendorStatus};
use blangkon_platform::api_error::ApiError;
use blangkon_platform::auth::{Principal, Role, principal};
use blangkon_platform::db;
use blangkon_platform::outbox::{self, RelayWaker};
use blangkon_platform::time::{now, to_timestamp};
use blangkon_platform::validation::{Violation, product_lines};
use blangkon_proto::catalog as catalog_pb;
use blangkon_proto::order as pb;
use blangkon_proto::order::order_service_server::OrderService;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use crate::domain::lifecycle::{Action, OrderStatus, Party, next_status, releases_stock};
use crate::domain::money::{self, Rupiah};
use crate::events::{self, Transition};
use crate::peers::Peers;
use crate::store::{self, OrderFilter, idempotency, item, order};

type ApiResult<T> = Result<T, ApiError>;

/// Who is placing which order, under which key.
struct Placing<'a> {
    who: &'a Principal,
    key: &'a str,
    hash: &'a str,
    work_unit: &'a str,
    regency: &'a str,
    note: &'a str,
}

/// A placed order: this call's, or the one an earlier call with the same
/// key placed.
enum Placed {
    New(pb::Order),
    Earlier(order::Model),
}

/// The order service's gRPC API.
#[derive(Debug, Clone)]
pub struct OrderApi {
    db: DatabaseConnection,
    relay: RelayWaker,
    peers: Peers,
    max_order_total: Rupiah,
    /// How long a placing may run; a call with the same key waits that long
    /// before it takes over from one that stopped.
    placing_lease: chrono::Duration,
}

impl OrderApi {
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
        }
    }
}

fn order_to_proto(
    row: order::Model,
    items: Vec<item::Model>,
    history: Vec<store::history::Model>,
) -> pb::Order {
    pb::Order {
        status: row.status.to_proto() as i32,
        id: row.id,
        buyer_work_unit: row.buyer_work_unit,
        buyer_regency: row.buyer_regency,
        vendor_id: row.vendor_id,
        items: items
            .into_iter()
            .map(|i| pb::OrderItem {
                product_id: i.product_id,
                name: i.name,
                category_code: i.category_code,
                unit: i.unit,
                quantity: i.quantity,
                unit_price: i.unit_price.get(),
                line_total: i.line_total.get(),
            })
            .collect(),
        total: row.total.get(),
        bast_number: row.bast_number.unwrap_or_default(),
        bast_date: row
            .bast_date
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        payment_reference: row.payment_reference.unwrap_or_default(),
        placed_at: Some(to_timestamp(row.placed_at)),
        updated_at: Some(to_timestamp(row.updated_at)),
        history: history
            .into_iter()
            .map(|h| pb::StatusChange {
                from_status: h
                    .from_status
                    .map_or(pb::OrderStatus::Unspecified, OrderStatus::to_proto)
                    as i32,
                to_status: h.to_status.to_proto() as i32,
                actor: h.actor,
                actor_role: h.actor_role,
                note: h.note,
                changed_at: Some(to_timestamp(h.changed_at)),
            })
            .collect(),
    }
}

/// The buyer's work unit and regency, from its token.
fn buyer_of(who: &Principal) -> ApiResult<(String, String)> {
    match (who.role, &who.work_unit, &who.regency) {
        (Role::Buyer, Some(unit), Some(regency)) => Ok((unit.clone(), regency.clone())),
        (Role::Buyer, _, _) => Err(ApiError::denied(
            "a buyer token must name its work unit and regency",
        )),
        (role, _, _) => Err(ApiError::denied(format!(
            "role {role} may not place orders"
        ))),
    }
}

/// The body of a placing, independent of line order: the same order
/// always hashes the same.
fn request_hash(lines: &[(String, i64)], note: &str) -> String {
    let mut sorted: Vec<&(String, i64)> = lines.iter().collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    for (product_id, quantity) in sorted {
        hasher.update(format!("{product_id}:{quantity};"));
    }
    hasher.update(note.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The reservation id of an idempotency key: a retry of a half-done
/// placing reserves under the same id, which the catalog takes once.
pub fn reservation_id(work_unit: &str, key: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("blangkon-order:{work_unit}:{key}").as_bytes(),
    )
    .to_string()
}

impl OrderApi {
    async fn full(&self, row: order::Model) -> ApiResult<pb::Order> {
        let items = store::items(&self.db, &row.id).await?;
        let history = store::history(&self.db, &row.id).await?;
        Ok(order_to_proto(row, items, history))
    }

    /// The order a key made, if the body matches; ALREADY_EXISTS if not.
    async fn replay(&self, key: &idempotency::Model, hash: &str) -> ApiResult<pb::Order> {
        if key.request_hash != hash {
            return Err(ApiError::AlreadyExists {
                field: "idempotency_key".into(),
                message: format!("idempotency key {} was used for another order", key.key),
            });
        }
        let row = store::find_order(&self.db, &key.order_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("order {}", key.order_id)))?;
        self.full(row).await
    }

    async fn do_place_order(
        &self,
        who: &Principal,
        req: pb::PlaceOrderRequest,
    ) -> ApiResult<pb::Order> {
        let (work_unit, regency) = buyer_of(who)?;
        let key = req.idempotency_key.trim().to_string();
        let mut violations = Vec::new();
        if !(8..=100).contains(&key.len()) || !key.chars().all(|c| c.is_ascii_graphic()) {
            violations.push(Violation::new(
                "idempotency_key",
                "must be 8 to 100 printable ASCII characters",
            ));
        }
        let note = req.note.trim().to_string();
        if note.chars().count() > 1000 {
            violations.push(Violation::new("note", "must be at most 1000 characters"));
        }
        let lines = product_lines(
            req.lines
                .iter()
                .map(|l| (l.product_id.as_str(), l.quantity)),
        )
        .unwrap_or_else(|mut v| {
            violations.append(&mut v);
            Vec::new()
        });
        if !violations.is_empty() {
            return Err(ApiError::Invalid(violations));
        }
        let hash = request_hash(&lines, &note);
        if let Some(existing) = store::find_key(&self.db, &work_unit, &key).await? {
            return self.replay(&existing, &hash).await;
        }
        // Calls with one key share one reservation, so only one of them at
        // a time may reserve or give stock back: the others are told to
        // retry (and then get the order). The lease is also the record that
        // lets the sweeper give back the stock of a placing this process
        // never finishes.
        let reservation = reservation_id(&work_unit, &key);
        let started = now();
        let leased = store::lease_attempt(
            &self.db,
            store::attempt::Model {
                work_unit: work_unit.clone(),
                key: key.clone(),
                reservation_id: reservation.clone(),
                started_at: started,
            },
            started - self.placing_lease,
        )
        .await?;
        if !leased {
            return Err(ApiError::Aborted(format!(
                "an order with idempotency key {key} is being placed by another call; retry"
            )));
        }
        let reserved = match self.peers.reserve(&reservation, &lines).await {
            Ok(reserved) => reserved,
            Err(e) => {
                // The catalog may have taken the stock before failing to
                // answer: give it back (harmless if it did not).
                self.give_back(&work_unit, &key, &reservation).await;
                return Err(e);
            }
        };
        let placing = Placing {
            who,
            key: &key,
            hash: &hash,
            work_unit: &work_unit,
            regency: &regency,
            note: &note,
        };
        match self.place_reserved(&placing, reserved).await {
            Ok(Placed::New(order)) => Ok(order),
            Ok(Placed::Earlier(order)) => {
                // A concurrent call with the same key won. If its order no
                // longer holds stock, this call may have held it again.
                if releases_stock(order.status) {
                    self.release_and_forget(&work_unit, &key, &reservation)
                        .await;
                } else {
                    self.end_attempt(&work_unit, &key).await;
                }
                self.full(order).await
            }
            Err(e) => {
                self.give_back(&work_unit, &key, &reservation).await;
                Err(e)
            }
        }
    }

    /// Releases a reservation that no order will use, and ends its attempt.
    /// A failure is logged, not returned: the caller's error matters more;
    /// a retry with the same key holds the reservation again, and if none
    /// comes the sweeper releases it.
    async fn give_back(&self, work_unit: &str, key: &str, reservation: &str) {
        // A call that finished before this one took the lease may have
        // placed the order on this very reservation: then it is not ours.
        match store::find_key(&self.db, work_unit, key).await {
            Ok(None) => {}
            Ok(Some(_)) => {
                self.end_attempt(work_unit, key).await;
                return;
            }
            Err(e) => {
                tracing::warn!(%reservation, error = %e, "cannot tell whether the stock is used; the sweeper will decide");
                return;
            }
        }
        self.release_and_forget(work_unit, key, reservation).await;
    }

    async fn release_and_forget(&self, work_unit: &str, key: &str, reservation: &str) {
        if let Err(e) = self.peers.release(reservation).await {
            tracing::warn!(%reservation, error = %e, "could not give back the stock of an order that was not placed; the sweeper will");
            // A retry may take over at once (and reuse the reservation); if
            // none comes, the sweeper releases it.
            if let Err(e) =
                store::expire_lease(&self.db, work_unit, key, now() - self.placing_lease).await
            {
                tracing::warn!(%reservation, error = %e, "could not give up a placing lease; a retry waits for it to run out");
            }
            return;
        }
        self.end_attempt(work_unit, key).await;
    }

    /// Ends a placing's attempt (and lease). A failure is only logged: the
    /// sweeper ends it later, releasing nothing an order uses.
    async fn end_attempt(&self, work_unit: &str, key: &str) {
        if let Err(e) = store::forget_attempt(&self.db, work_unit, key).await {
            tracing::warn!(%work_unit, error = %e, "could not end a placing attempt; the sweeper will");
        }
    }

    /// The rest of placing once the stock is held: one vendor, totals under
    /// the ceiling, the vendor verified now, then the write.
    async fn place_reserved(
        &self,
        placing: &Placing<'_>,
        reserved: catalog_pb::Reservation,
    ) -> ApiResult<Placed> {
        if reserved.status != catalog_pb::ReservationStatus::Held as i32 {
            return Err(ApiError::Unavailable(
                "the catalog did not hold the stock; retry".into(),
            ));
        }
        let lines = reserved.lines;
        let vendor_id = lines
            .first()
            .map(|l| l.vendor_id.clone())
            .unwrap_or_default();
        if lines.iter().any(|l| l.vendor_id != vendor_id) {
            return Err(ApiError::invalid(
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
        )
        .map_err(|e| ApiError::invalid("lines", e.to_string()))?;

        // The vendor must be verified now, not only when it listed.
        let vendor = self.peers.vendor(&vendor_id).await?;
        if VendorStatus::from_proto(vendor.status) != Some(VendorStatus::Verified) {
            return Err(ApiError::FailedPrecondition(format!(
                "vendor {vendor_id} is not verified and cannot take orders"
            )));
        }
        // Kept as codes: a form or scale this build does not know is empty.
        let legal_form = LegalForm::from_proto(vendor.legal_form).map_or("", LegalForm::as_str);
        let scale = Scale::from_proto(vendor.scale).map_or("", Scale::as_str);

        let who = placing.who;
        let at = now();
        let row = order::Model {
            id: uuid::Uuid::now_v7().to_string(),
            buyer_work_unit: placing.work_unit.to_string(),
            buyer_regency: placing.regency.to_string(),
            buyer_subject: who.subject.clone(),
            vendor_id,
            vendor_name: vendor.name,
            vendor_regency: vendor.regency_code,
            vendor_legal_form: legal_form.to_string(),
            vendor_scale: scale.to_string(),
            total,
            status: OrderStatus::Placed,
            bast_number: None,
            bast_date: None,
            payment_reference: None,
            note: placing.note.to_string(),
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
            actor_role: who.role.as_str().into(),
            note: row.note.clone(),
            changed_at: at,
        };
        let written = self
            .write_new_order(placing, row.clone(), items.clone(), first.clone())
            .await;
        match written {
            Ok(()) => {
                self.relay.wake();
                tracing::info!(order_id = %row.id, total = row.total.get(), "order placed");
                Ok(Placed::New(order_to_proto(row, items, vec![first])))
            }
            Err(e) if db::is_unique_violation(&e) => {
                let earlier = store::find_key(&self.db, placing.work_unit, placing.key)
                    .await?
                    .ok_or(ApiError::Db(e))?;
                if earlier.request_hash != placing.hash {
                    return Err(ApiError::AlreadyExists {
                        field: "idempotency_key".into(),
                        message: format!(
                            "idempotency key {} was used for another order",
                            placing.key
                        ),
                    });
                }
                let order = store::find_order(&self.db, &earlier.order_id)
                    .await?
                    .ok_or_else(|| ApiError::NotFound(format!("order {}", earlier.order_id)))?;
                Ok(Placed::Earlier(order))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn write_new_order(
        &self,
        placing: &Placing<'_>,
        row: order::Model,
        items: Vec<item::Model>,
        first: store::history::Model,
    ) -> Result<(), sea_orm::DbErr> {
        let event = events::order_event(
            &row,
            &items,
            Transition {
                previous: None,
                actor_role: placing.who.role.as_str(),
                note: &row.note,
                at: row.placed_at,
            },
        );
        let (_, event) = outbox::insert_statement(event)?;
        let mut writes = store::new_order_writes(
            idempotency::Model {
                work_unit: row.buyer_work_unit.clone(),
                key: placing.key.to_string(),
                request_hash: placing.hash.to_string(),
                order_id: row.id.clone(),
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

    /// Whether `who` is the party that may take `action` on `row`.
    fn may_act(who: &Principal, row: &order::Model, action: Action) -> ApiResult<()> {
        let allowed = match action.party() {
            Party::Vendor => {
                who.role == Role::Vendor && who.vendor_id.as_deref() == Some(row.vendor_id.as_str())
            }
            Party::Buyer => {
                who.role == Role::Buyer
                    && who.work_unit.as_deref() == Some(row.buyer_work_unit.as_str())
            }
        };
        if allowed {
            Ok(())
        } else {
            let party = match action.party() {
                Party::Vendor => "the order's vendor",
                Party::Buyer => "the order's buyer",
            };
            Err(ApiError::denied(format!(
                "only {party} may {} this order",
                action.as_str()
            )))
        }
    }

    async fn transition(
        &self,
        who: &Principal,
        order_id: &str,
        action: Action,
        note: &str,
        apply: impl FnOnce(&mut order::Model),
    ) -> ApiResult<pb::Order> {
        let order_id = uuid::Uuid::parse_str(order_id.trim())
            .map_err(|_| ApiError::invalid("order_id", "must be an order id (UUID)"))?
            .to_string();
        let note = note.trim();
        if note.chars().count() > 1000 {
            return Err(ApiError::invalid("note", "must be at most 1000 characters"));
        }
        let before = store::find_order(&self.db, &order_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("order {order_id}")))?;
        Self::may_act(who, &before, action)?;
        let from = before.status;
        let to =
            next_status(from, action).map_err(|e| ApiError::FailedPrecondition(e.to_string()))?;
        if releases_stock(to) {
            // Give the stock back first: if that fails the order stays as it
            // was and the caller retries; releasing twice is harmless.
            let key = store::find_key_of_order(&self.db, &order_id).await?;
            if let Some(key) = key {
                self.peers
                    .release(&reservation_id(&key.work_unit, &key.key))
                    .await?;
            }
        }
        let at = now();
        let mut after = order::Model {
            status: to,
            version: before.version + 1,
            updated_at: at,
            ..before.clone()
        };
        apply(&mut after);
        let items = store::items(&self.db, &order_id).await?;
        let txn = db::begin_write(&self.db).await?;
        if !store::update_order(&txn, after.clone()).await? {
            return Err(ApiError::FailedPrecondition(format!(
                "order {order_id} changed while this was done; reload it and try again"
            )));
        }
        store::insert_history(
            &txn,
            store::history::Model {
                id: uuid::Uuid::now_v7().to_string(),
                order_id: order_id.clone(),
                from_status: Some(from),
                to_status: to,
                actor: who.subject.clone(),
                actor_role: who.role.as_str().into(),
                note: note.into(),
                changed_at: at,
            },
        )
        .await?;
        outbox::enqueue(
            &txn,
            events::order_event(
                &after,
                &items,
                Transition {
                    previous: Some(from.as_str()),
                    actor_role: who.role.as_str(),
                    note,
                    at,
                },
            ),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        // The items were read above; only the history grew.
        let history = store::history(&self.db, &order_id).await?;
        Ok(order_to_proto(after, items, history))
    }

    /// Whether `who` may read `row`.
    fn may_read(who: &Principal, row: &order::Model) -> bool {
        match who.role {
            Role::ProvinceAdmin | Role::Analyst | Role::Service => true,
            Role::RegencyAdmin => who.regency.as_deref() == Some(row.buyer_regency.as_str()),
            Role::Buyer => who.work_unit.as_deref() == Some(row.buyer_work_unit.as_str()),
            Role::Vendor => who.vendor_id.as_deref() == Some(row.vendor_id.as_str()),
        }
    }

    async fn do_get_order(
        &self,
        who: &Principal,
        req: pb::GetOrderRequest,
    ) -> ApiResult<pb::Order> {
        let order_id = uuid::Uuid::parse_str(req.order_id.trim())
            .map_err(|_| ApiError::invalid("order_id", "must be an order id (UUID)"))?
            .to_string();
        let row = store::find_order(&self.db, &order_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("order {order_id}")))?;
        if !Self::may_read(who, &row) {
            return Err(ApiError::denied(
                "this order belongs to another buyer, vendor or regency",
            ));
        }
        self.full(row).await
    }

    async fn do_list_orders(
        &self,
        who: &Principal,
        req: pb::ListOrdersRequest,
    ) -> ApiResult<pb::ListOrdersResponse> {
        let mut v = Vec::new();
        let page_size = blangkon_platform::validation::page_size(req.page_size, 50, 500)
            .unwrap_or_else(|violation| {
                v.push(violation);
                50
            });
        let after = if req.page_token.is_empty() {
            None
        } else {
            let id = URL_SAFE_NO_PAD
                .decode(&req.page_token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|id| uuid::Uuid::parse_str(id).is_ok());
            if id.is_none() {
                v.push(Violation::new(
                    "page_token",
                    "is not a token this service issued",
                ));
            }
            id
        };
        let status = OrderStatus::from_proto(req.status);
        if req.status != 0 && status.is_none() {
            v.push(Violation::new("status", "is not an order status"));
        }
        let mut time = |field: &str, t: Option<&prost_types::Timestamp>| match t {
            None => None,
            Some(t) => {
                let parsed = blangkon_platform::time::from_timestamp(t);
                if parsed.is_none() {
                    v.push(Violation::new(field, "is not a valid time"));
                }
                parsed
            }
        };
        let placed_from = time("placed_from", req.placed_from.as_ref());
        let placed_until = time("placed_until", req.placed_until.as_ref());
        if let (Some(from), Some(until)) = (placed_from, placed_until)
            && from >= until
        {
            v.push(Violation::new("placed_until", "must be after placed_from"));
        }
        let vendor_id = match req.vendor_id.trim() {
            "" => None,
            id => match uuid::Uuid::parse_str(id) {
                Ok(id) => Some(id.to_string()),
                Err(_) => {
                    v.push(Violation::new("vendor_id", "must be a vendor id (UUID)"));
                    None
                }
            },
        };
        if !v.is_empty() {
            return Err(ApiError::Invalid(v));
        }
        let mut filter = OrderFilter {
            status,
            vendor_id,
            placed_from,
            placed_until,
            ..OrderFilter::default()
        };
        match who.role {
            Role::ProvinceAdmin | Role::Analyst | Role::Service => {}
            Role::RegencyAdmin => filter.regency = who.regency.clone(),
            Role::Buyer => filter.work_unit = who.work_unit.clone(),
            Role::Vendor => {
                let own = who.vendor_id.clone().ok_or_else(|| {
                    ApiError::denied("this vendor token is not bound to a vendor")
                })?;
                if filter.vendor_id.as_ref().is_some_and(|v| *v != own) {
                    return Err(ApiError::denied("a vendor may list only its own orders"));
                }
                filter.vendor_id = Some(own);
            }
        }
        let mut rows =
            store::list_orders(&self.db, &filter, after.as_deref(), page_size + 1).await?;
        let next_page_token = if rows.len() as u64 > page_size {
            rows.truncate(page_size as usize);
            rows.last()
                .map(|r| URL_SAFE_NO_PAD.encode(r.id.as_bytes()))
                .unwrap_or_default()
        } else {
            String::new()
        };
        // Items of the whole page in one query; history only in GetOrder.
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut items: std::collections::HashMap<String, Vec<item::Model>> =
            std::collections::HashMap::new();
        for item in store::items_of(&self.db, &ids).await? {
            items.entry(item.order_id.clone()).or_default().push(item);
        }
        let orders = rows
            .into_iter()
            .map(|row| {
                let its = items.remove(&row.id).unwrap_or_default();
                order_to_proto(row, its, Vec::new())
            })
            .collect();
        Ok(pb::ListOrdersResponse {
            orders,
            next_page_token,
        })
    }
}

macro_rules! handle {
    ($self:ident, $request:ident, $method:ident) => {{
        let who = principal(&$request)?;
        $self
            .$method(&who, $request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    }};
}

macro_rules! transition {
    ($self:ident, $request:ident, $action:expr) => {{
        let who = principal(&$request)?;
        let req = $request.into_inner();
        $self
            .transition(&who, &req.order_id, $action, &req.note, |_| {})
            .await
            .map(Response::new)
            .map_err(Status::from)
    }};
}

#[tonic::async_trait]
impl OrderService for OrderApi {
    async fn place_order(
        &self,
        request: Request<pb::PlaceOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        handle!(self, request, do_place_order)
    }

    async fn get_order(
        &self,
        request: Request<pb::GetOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        handle!(self, request, do_get_order)
    }

    async fn list_orders(
        &self,
        request: Request<pb::ListOrdersRequest>,
    ) -> Result<Response<pb::ListOrdersResponse>, Status> {
        handle!(self, request, do_list_orders)
    }

    async fn accept_order(
        &self,
        request: Request<pb::TransitionRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        transition!(self, request, Action::Accept)
    }

    async fn reject_order(
        &self,
        request: Request<pb::TransitionRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        transition!(self, request, Action::Reject)
    }

    async fn ship_order(
        &self,
        request: Request<pb::TransitionRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        transition!(self, request, Action::Ship)
    }

    async fn complete_order(
        &self,
        request: Request<pb::TransitionRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        transition!(self, request, Action::Complete)
    }

    async fn cancel_order(
        &self,
        request: Request<pb::TransitionRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        transition!(self, request, Action::Cancel)
    }

    async fn receive_order(
        &self,
        request: Request<pb::ReceiveOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let who = principal(&request)?;
        let req = request.into_inner();
        let mut v = Vec::new();
        let number = req.bast_number.trim().to_string();
        if number.is_empty() || number.chars().count() > 100 {
            v.push(Violation::new("bast_number", "must be 1 to 100 characters"));
        }
        let date = chrono::NaiveDate::parse_from_str(req.bast_date.trim(), "%Y-%m-%d").ok();
        match date {
            None => v.push(Violation::new("bast_date", "must be a date YYYY-MM-DD")),
            Some(d) if d > now().date_naive() => {
                v.push(Violation::new("bast_date", "must not be in the future"))
            }
            Some(_) => {}
        }
        if !v.is_empty() {
            return Err(ApiError::Invalid(v).into());
        }
        let note = format!("BAST {number}");
        self.transition(&who, &req.order_id, Action::Receive, &note, |o| {
            o.bast_number = Some(number.clone());
            o.bast_date = date;
        })
        .await
        .map(Response::new)
        .map_err(Status::from)
    }

    async fn pay_order(
        &self,
        request: Request<pb::PayOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let who = principal(&request)?;
        let req = request.into_inner();
        let reference = req.payment_reference.trim().to_string();
        if reference.is_empty() || reference.chars().count() > 100 {
            return Err(
                ApiError::invalid("payment_reference", "must be 1 to 100 characters").into(),
            );
        }
        let note = format!("payment {reference}");
        self.transition(&who, &req.order_id, Action::Pay, &note, |o| {
            o.payment_reference = Some(reference.clone());
        })
        .await
        .map(Response::new)
        .map_err(Status::from)
    }
}
