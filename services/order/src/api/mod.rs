//! The gRPC adapter of `blangkon.order.v1.OrderService`: each method
//! decodes its request into a command of domain values, calls the use case
//! on [`Orders`] with the caller's [`Actor`], and encodes the answer.
//! Errors become statuses in [`status`].

mod convert;
#[doc(hidden)]
pub mod fuzzing;
mod status;

use blangkon_domain::validation::{FieldViolationExt, Violation, page_size};
use blangkon_domain::{OrderId, OrderStatus, VendorId};
use blangkon_platform::auth::{Actor, actor};
use blangkon_platform::handle;
use blangkon_platform::page;
use blangkon_platform::time;
use blangkon_proto::order as pb;
use blangkon_proto::order::order_service_server::OrderService;
use tonic::{Request, Response, Status};

use crate::Orders;
use crate::error::{OrderError, Result};
use crate::fulfilment::{Step, step_note};
use crate::lookups::OrderListing;
use crate::placing::PlaceOrder;
use convert::{order_to_proto, record_to_proto};

const DEFAULT_PAGE_SIZE: u64 = 50;
const MAX_PAGE_SIZE: u64 = 500;

/// The order service's gRPC API.
#[derive(Debug, Clone)]
pub struct OrderApi {
    orders: Orders,
}

impl OrderApi {
    pub fn new(orders: Orders) -> Self {
        Self { orders }
    }
}

impl OrderApi {
    async fn do_place_order(&self, who: &Actor, req: pb::PlaceOrderRequest) -> Result<pb::Order> {
        let request = PlaceOrder::parse(
            &req.idempotency_key,
            req.lines
                .iter()
                .map(|l| (l.product_id.as_str(), l.quantity)),
            &req.note,
        )?;
        Ok(record_to_proto(
            self.orders.place_order(who, &request).await?,
        ))
    }

    /// A step on the order `order_id` names, with the caller's `note`.
    async fn step(&self, who: &Actor, order_id: &str, step: Step, note: &str) -> Result<pb::Order> {
        let order_id = OrderId::parse(order_id).field("order_id")?;
        let note = step_note(note)?;
        let record = self.orders.take_step(who, order_id, step, &note).await?;
        Ok(record_to_proto(record))
    }

    async fn do_get_order(&self, who: &Actor, req: pb::GetOrderRequest) -> Result<pb::Order> {
        let order_id = OrderId::parse(&req.order_id).field("order_id")?;
        Ok(record_to_proto(self.orders.get_order(who, order_id).await?))
    }

    async fn do_list_orders(
        &self,
        who: &Actor,
        req: pb::ListOrdersRequest,
    ) -> Result<pb::ListOrdersResponse> {
        let page = self.orders.list_orders(who, order_listing(&req)?).await?;
        Ok(pb::ListOrdersResponse {
            orders: page
                .orders
                .into_iter()
                .map(|(row, items)| order_to_proto(row, items, Vec::new()))
                .collect(),
            next_page_token: page.next_page_token,
        })
    }
}

/// A list request's filters, every bad one named.
fn order_listing(req: &pb::ListOrdersRequest) -> Result<OrderListing> {
    let mut v = Vec::new();
    let page_size =
        page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE).unwrap_or_else(|violation| {
            v.push(violation);
            DEFAULT_PAGE_SIZE
        });
    let after = page::position(&req.page_token, &mut v);
    let status = OrderStatus::from_proto(req.status);
    if req.status != 0 && status.is_none() {
        v.push(Violation::new("status", "is not an order status"));
    }
    let mut time = |field: &str, t: Option<&prost_types::Timestamp>| {
        let parsed = t.map(time::from_timestamp)?;
        if parsed.is_none() {
            v.push(Violation::new(field, "is not a valid time"));
        }
        parsed
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
            .ok(),
    };
    if !v.is_empty() {
        return Err(OrderError::Invalid(v));
    }
    Ok(OrderListing {
        status,
        vendor_id,
        placed_from,
        placed_until,
        page_size,
        after,
    })
}

/// A step method: `$step`, built from the request (`|req| ...`), on the
/// order the request names, with its note (`note: ...`; receipts and
/// payments record their BAST or reference instead).
macro_rules! step {
    ($self:ident, $request:ident, |$req:ident| $step:expr, note: $note:expr) => {{
        let who = actor(&$request)?;
        let $req = $request.into_inner();
        let answer = async {
            let step = $step?;
            $self.step(&who, &$req.order_id, step, $note).await
        };
        answer.await.map(Response::new).map_err(Status::from)
    }};
    ($self:ident, $request:ident, $step:expr) => {
        step!($self, $request, |req| Ok::<_, OrderError>($step), note: &req.note)
    };
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
        step!(self, request, Step::Accept)
    }

    async fn reject_order(
        &self,
        request: Request<pb::TransitionRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        step!(self, request, Step::Reject)
    }

    async fn ship_order(
        &self,
        request: Request<pb::TransitionRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        step!(self, request, Step::Ship)
    }

    async fn complete_order(
        &self,
        request: Request<pb::TransitionRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        step!(self, request, Step::Complete)
    }

    async fn cancel_order(
        &self,
        request: Request<pb::TransitionRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        step!(self, request, Step::Cancel)
    }

    async fn receive_order(
        &self,
        request: Request<pb::ReceiveOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let today = time::occurred_now()
            .with_timezone(&time::wib())
            .date_naive();
        step!(self, request, |req| Step::receive(&req.bast_number, &req.bast_date, today), note: "")
    }

    async fn pay_order(
        &self,
        request: Request<pb::PayOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        step!(self, request, |req| Step::pay(&req.payment_reference), note: "")
    }
}

/// The handlers called directly, on an empty database in memory, with
/// peers that are never reached: what a request must be, refused before
/// any network.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use blangkon_platform::auth::{Role, Standing, WorkUnit};
    use blangkon_platform::outbox::RelayWaker;
    use blangkon_testkit::fixtures::{memory_database, violated_fields};
    use tonic::Code;

    use super::*;
    use crate::peers::{Peer, Peers};
    use crate::placing::Placer;
    use crate::store::migrations::Migrator;
    use crate::store::{self, OrderFilter};
    use blangkon_platform::auth::ServiceCredentials;

    async fn api() -> OrderApi {
        let db = memory_database::<Migrator>().await;
        // Nothing listens there; no test here gets as far as calling.
        let nowhere = |name, audience| {
            Peer::connect(
                name,
                "http://127.0.0.1:9",
                audience,
                Duration::from_millis(100),
                &Default::default(),
            )
            .unwrap()
        };
        let credentials = ServiceCredentials::new(&blangkon_platform::auth::AuthSettings {
            issuer: "http://127.0.0.1:9".into(),
            client: blangkon_platform::auth::ClientSettings {
                id: "order-service".into(),
                secret: "never-used".into(),
                token_url: String::new(),
            },
            ..Default::default()
        })
        .unwrap();
        let peers = Peers::new(
            nowhere("vendor", "urn:blangkon:vendor"),
            nowhere("catalog", "urn:blangkon:catalog"),
            std::sync::Arc::new(credentials),
        );
        let relay = RelayWaker::default();
        let placer = Placer::new(
            db.clone(),
            relay.clone(),
            peers.clone(),
            blangkon_domain::Rupiah::DIRECT_PURCHASE_LIMIT,
            Duration::from_secs(10),
        );
        OrderApi::new(Orders::new(db, relay, peers, placer))
    }

    fn as_role<T>(role: Role, message: T) -> Request<T> {
        let regency = blangkon_domain::RegencyCode::parse("33.74").unwrap();
        let standing = match role {
            Role::ProvinceAdmin => Standing::ProvinceAdmin,
            Role::RegencyAdmin => Standing::RegencyAdmin(regency),
            Role::Vendor => Standing::Vendor(None),
            Role::Buyer => Standing::Buyer(WorkUnit {
                regency,
                name: "Dinas Pendidikan".into(),
            }),
            Role::Analyst => Standing::Analyst,
            Role::Service => Standing::Service,
        };
        let mut request = Request::new(message);
        request
            .extensions_mut()
            .insert(Actor::new("test", standing));
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
        let orders = store::list_orders(&api.orders.db, &OrderFilter::default(), None, 10)
            .await
            .unwrap();
        assert!(orders.is_empty());
    }

    #[tokio::test]
    async fn only_a_buyer_places_and_a_bad_request_is_named_whoever_sends_it() {
        let api = api().await;
        let good = pb::PlaceOrderRequest {
            idempotency_key: "key-00000001".into(),
            lines: vec![pb::OrderLine {
                product_id: "01934a1e-0000-7000-8000-000000000001".into(),
                quantity: 1,
            }],
            note: String::new(),
        };
        for role in [
            Role::Vendor,
            Role::ProvinceAdmin,
            Role::Analyst,
            Role::Service,
        ] {
            let refused = api
                .place_order(as_role(role, good.clone()))
                .await
                .unwrap_err();
            assert_eq!(refused.code(), Code::PermissionDenied, "{role}");
        }
        // The shape of a request is checked before the caller's rights.
        let refused = api
            .place_order(as_role(Role::Vendor, bad_placing()))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
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
