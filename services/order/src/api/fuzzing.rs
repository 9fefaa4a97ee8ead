//! Entry points for the fuzz targets (`fuzz/`): every request the order
//! service reads, decoded from arbitrary bytes and checked as its API
//! checks it, before any database or peer. Not an API: hidden from the
//! docs, and its only promise is to never panic.

use prost::Message as _;

use super::*;

/// The first byte picks the request type, the rest is its encoding.
pub fn requests(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            if let Ok(req) = pb::PlaceOrderRequest::decode(bytes) {
                let lines = req
                    .lines
                    .iter()
                    .map(|l| (l.product_id.as_str(), l.quantity));
                let _ = PlaceOrder::parse(&req.idempotency_key, lines, &req.note);
            }
        }
        1 => {
            if let Ok(req) = pb::ListOrdersRequest::decode(bytes) {
                let _ = order_listing(&req);
            }
        }
        2 => {
            if let Ok(req) = pb::TransitionRequest::decode(bytes) {
                let _ = OrderId::parse(&req.order_id);
                let _ = step_note(&req.note);
            }
        }
        3 => {
            if let Ok(req) = pb::ReceiveOrderRequest::decode(bytes) {
                let today = time::now().date_naive();
                let _ = OrderId::parse(&req.order_id);
                let _ = Step::receive(&req.bast_number, &req.bast_date, today);
            }
        }
        _ => {
            if let Ok(req) = pb::PayOrderRequest::decode(bytes) {
                let _ = OrderId::parse(&req.order_id);
                let _ = Step::pay(&req.payment_reference);
            }
            if let Ok(req) = pb::GetOrderRequest::decode(bytes) {
                let _ = OrderId::parse(&req.order_id);
            }
        }
    }
}
