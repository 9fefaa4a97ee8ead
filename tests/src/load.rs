//! Buyers placing orders, retrying with their idempotency keys.

use crate::*;
use blangkon_platform::auth::{Role, TokenRequest};
use blangkon_proto::order as ord;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_testkit::fixtures::{token, with};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tonic::Code;

/// Buyers placing orders of one to three boxes, each retried with its
/// idempotency key while the answer is retryable.
pub struct Load {
    stop: Arc<AtomicBool>,
    placed: Arc<AtomicI64>,
    retried: Arc<AtomicI64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub fn start(shop: &Shop, buyers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let placed = Arc::new(AtomicI64::new(0));
        let retried = Arc::new(AtomicI64::new(0));
        let tasks = (0..buyers)
            .map(|i| {
                let counts = (stop.clone(), placed.clone(), retried.clone());
                let (endpoint, product_id) = (shop.order_endpoint(), shop.product_id.clone());
                tokio::spawn(async move { buyer(i, endpoint, product_id, counts).await })
            })
            .collect();
        Self {
            stop,
            placed,
            retried,
            tasks,
        }
    }

    pub fn placed(&self) -> i64 {
        self.placed.load(Ordering::Relaxed)
    }

    /// Calls retried after a retryable refusal or a broken connection.
    pub fn retried(&self) -> i64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// Stops the buyers after their orders in flight; answers how many
    /// orders they placed.
    pub async fn stop(self) -> i64 {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        self.placed.load(Ordering::Relaxed)
    }
}

/// The token of buyer `i`: a work unit of its own in Kota Semarang.
pub(crate) fn buyer_token(i: usize) -> String {
    token(
        Role::Buyer,
        TokenRequest {
            subject: format!("ppk-{i}@disdik"),
            regency: Some("33.74".into()),
            work_unit: Some(format!("Dinas Pendidikan {i}")),
            ..TokenRequest::default()
        },
    )
}

/// An order of `quantity` units of `product_id`, under a fresh key.
pub(crate) fn one_line_order(product_id: &str, quantity: i64) -> ord::PlaceOrderRequest {
    ord::PlaceOrderRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        lines: vec![ord::OrderLine {
            product_id: product_id.to_string(),
            quantity,
        }],
        note: String::new(),
    }
}

/// Whether a buyer retries the same placing (same idempotency key) after
/// `status`: the service was unavailable, a concurrent call got in the
/// way, or the connection broke under the call (the service died).
pub(crate) fn retryable(status: &tonic::Status) -> bool {
    let transport = std::error::Error::source(status).is_some();
    matches!(
        status.code(),
        Code::Unavailable | Code::Aborted | Code::Cancelled
    ) || (status.code() == Code::Unknown && transport)
}

pub(crate) async fn buyer(
    i: usize,
    endpoint: String,
    product_id: String,
    (stop, placed, retried): (Arc<AtomicBool>, Arc<AtomicI64>, Arc<AtomicI64>),
) {
    let buyer = buyer_token(i);
    let mut orders = OrderServiceClient::connect(endpoint).await.unwrap();
    let mut n = 0i64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let request = one_line_order(&product_id, 1 + n % 3);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match orders.place_order(with(&buyer, request.clone())).await {
                Ok(_) => {
                    placed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(status) if retryable(&status) && Instant::now() < deadline => {
                    retried.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(status) => panic!("buyer {i}: placing failed: {status}"),
            }
        }
    }
}
