//! gRPC handlers of `blangkon.order.v1.OrderService`: authorise the caller,
//! parse the request, and for placing hand it to [`crate::placing`]; the
//! lifecycle transitions, reads and lists are here.

mod convert;

use blangkon_domain::{OrderId, VendorId};
use blangkon_platform::api_error::ApiError;
use blangkon_platform::auth::{Principal, Role, principal};
use blangkon_platform::db;
use blangkon_platform::handle;
use blangkon_platform::metrics::StatusCounts;
use blangkon_platform::outbox::{self, RelayWaker};
use blangkon_platform::page::{self, AfterId};
use blangkon_platform::time::now;
use blangkon_platform::validation::{FieldViolationExt, Violation};
use blangkon_proto::order as pb;
use blangkon_proto::order::order_service_server::OrderService;
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::domain::lifecycle::{Action, OrderStatus, Party, next_status, releases_stock};
use crate::events::{self, Transition};
use crate::peers::Peers;
use crate::placing::{Buyer, OrderRecord, PlaceOrder, Placer, reservation_id};
use crate::store::{self, OrderFilter, item, order};
use convert::{order_to_proto, record_to_proto};

type ApiResult<T> = Result<T, ApiError>;

/// The order service's gRPC API.
#[derive(Debug, Clone)]
pub struct OrderApi {
    db: DatabaseConnection,
    relay: RelayWaker,
    peers: Peers,
    placer: Placer,
    /// Orders by the status they reached.
    counts: StatusCounts,
}

impl OrderApi {
    /// The API over `db`, placing orders with `placer`; transitions call
    /// `peers` to give stock back and wake `relay` after each commit.
    pub fn new(db: DatabaseConnection, relay: RelayWaker, peers: Peers, placer: Placer) -> Self {
        Self {
            db,
            relay,
            peers,
            placer,
            counts: StatusCounts::default(),
        }
    }

    /// Counts the transitions it commits into `counts`.
    pub fn counting(mut self, counts: StatusCounts) -> Self {
        self.counts = counts;
        self
    }
}

impl OrderApi {
    async fn full(&self, row: order::Model) -> ApiResult<pb::Order> {
        Ok(record_to_proto(OrderRecord::load(&self.db, row).await?))
    }

    async fn do_place_order(
        &self,
        who: &Principal,
        req: pb::PlaceOrderRequest,
    ) -> ApiResult<pb::Order> {
        let buyer = Buyer::of(who)?;
        let request = PlaceOrder::parse(
            &req.idempotency_key,
            req.lines
                .iter()
                .map(|l| (l.product_id.as_str(), l.quantity)),
            &req.note,
        )
        .map_err(ApiError::Invalid)?;
        let placed = self.placer.place(who, &buyer, &request).await?;
        Ok(record_to_proto(placed))
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
        let order_id = OrderId::parse(order_id).field("order_id")?.to_string();
        let note = note.trim();
        if note.chars().count() > 1000 {
            return Err(ApiError::invalid("note", "must be at most 1000 characters"));
        }
        let before = store::find_order(&self.db, &order_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("order {order_id}")))?;
        Self::may_act(who, &before, action)?;
        let from = before.status;
        let to = next_status(from, action)?;
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
        self.counts.reached(to.as_str());
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
        let order_id = OrderId::parse(&req.order_id).field("order_id")?.to_string();
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
        let after: Option<AfterId> = page::position(&req.page_token, &mut v);
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
            id => VendorId::parse(id)
                .field("vendor_id")
                .map_err(|violation| v.push(violation))
                .ok()
                .map(|id| id.to_string()),
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
        let after = after.map(|a| a.0);
        let mut rows =
            store::list_orders(&self.db, &filter, after.as_deref(), page_size + 1).await?;
        let next_page_token =
            page::next_page(&mut rows, page_size, |last| AfterId(last.id.clone()));
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

/// The handlers called directly, on an empty database in memory, with
/// peers that are never reached: what a request must be, refused before
/// any network.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use blangkon_platform::auth::Role;
    use blangkon_testkit::fixtures::{memory_database, violated_fields};
    use tonic::Code;

    use super::*;
    use crate::store::migrations::Migrator;

    async fn api() -> OrderApi {
        let db = memory_database::<Migrator>().await;
        // Nothing listens there; no test here gets as far as calling.
        let peers = Peers::connect(
            "http://127.0.0.1:9",
            "http://127.0.0.1:9",
            Duration::from_millis(100),
            "a-test-secret-of-at-least-thirty-two-bytes",
        )
        .unwrap();
        let relay = RelayWaker::default();
        let placer = Placer::new(
            db.clone(),
            relay.clone(),
            peers.clone(),
            blangkon_domain::Rupiah::DIRECT_PURCHASE_LIMIT,
            Duration::from_secs(10),
        );
        OrderApi::new(db, relay, peers, placer)
    }

    fn as_role<T>(role: Role, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.extensions_mut().insert(Principal {
            subject: "test".into(),
            role,
            regency: Some("33.74".into()),
            vendor_id: None,
            work_unit: Some("Dinas Pendidikan".into()),
        });
        request
    }

    fn bad_placing() -> pb::PlaceOrderRequest {
        pb::PlaceOrderRequest {
            idempotency_key: "short".into(),
            lines: vec![pb::OrderLine {
                product_id: "nasi-kotak".into(),
                quantity: 0,
            }],
            note: "x".repeat(1001),
        }
    }

    #[tokio::test]
    async fn a_placing_names_every_bad_field_and_writes_nothing() {
        let api = api().await;
        let refused = api
            .place_order(as_role(Role::Buyer, bad_placing()))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(
            violated_fields(&refused),
            [
                "idempotency_key",
                "lines[0].product_id",
                "lines[0].quantity",
                "note"
            ]
        );
        let orders = store::list_orders(&api.db, &OrderFilter::default(), None, 10)
            .await
            .unwrap();
        assert!(orders.is_empty());
    }

    #[tokio::test]
    async fn only_a_buyer_places_even_a_bad_order() {
        let refused = api()
            .await
            .place_order(as_role(Role::Vendor, bad_placing()))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
    }

    #[tokio::test]
    async fn a_list_or_a_lookup_names_its_bad_fields() {
        let api = api().await;
        let refused = api
            .list_orders(as_role(
                Role::ProvinceAdmin,
                pb::ListOrdersRequest {
                    page_size: -5,
                    page_token: "not a token".into(),
                    status: 99,
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(
            violated_fields(&refused),
            ["page_size", "page_token", "status"]
        );
        let refused = api
            .get_order(as_role(
                Role::ProvinceAdmin,
                pb::GetOrderRequest {
                    order_id: "order-1".into(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&refused), ["order_id"]);
    }
}
