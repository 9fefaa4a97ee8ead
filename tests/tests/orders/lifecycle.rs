//! An order's steps from placed to completed, and the ones refused.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_goes_from_placed_to_completed_with_one_event_per_step() {
    let s = suite().await;
    let order = s.place(&key(), 100).await.unwrap();
    assert_eq!(order.status, pb::OrderStatus::Placed as i32);
    assert_eq!(order.total, 2_500_000);
    assert_eq!(order.items[0].unit_price, 25_000);
    assert_eq!(s.stock().await, 400);

    let mut orders = s.orders().await;
    let vendor = s.vendor_token();
    let id = || pb::TransitionRequest {
        order_id: order.id.clone(),
        note: String::new(),
    };
    orders.accept_order(with(&vendor, id())).await.unwrap();
    orders.ship_order(with(&vendor, id())).await.unwrap();
    orders
        .receive_order(with(
            &buyer(),
            pb::ReceiveOrderRequest {
                order_id: order.id.clone(),
                bast_number: "BAST/027/DISDIK/2026".into(),
                bast_date: "2026-11-20".into(),
            },
        ))
        .await
        .unwrap();
    orders
        .pay_order(with(
            &buyer(),
            pb::PayOrderRequest {
                order_id: order.id.clone(),
                payment_reference: "SP2D-0001".into(),
            },
        ))
        .await
        .unwrap();
    let done = orders
        .complete_order(with(&buyer(), id()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.status, pb::OrderStatus::Completed as i32);
    assert_eq!(done.bast_number, "BAST/027/DISDIK/2026");
    assert_eq!(done.history.len(), 6);

    let reader = EventReader::new(&s.services.kafka.bootstrap, &s.topic(topics::ORDER_EVENTS));
    let events = reader
        .read_until(Duration::from_secs(30), |e| {
            e.iter().filter(|e| e.key == order.id).count() >= 6
        })
        .await;
    let statuses: Vec<String> = events
        .iter()
        .filter(|e| e.key == order.id)
        .map(|e| {
            let payload = e.envelope.payload.as_ref().unwrap();
            let snapshot = if e.envelope.event_type.ends_with("OrderPlaced") {
                payload
                    .to_msg::<blangkon_proto::events::OrderPlaced>()
                    .unwrap()
                    .order
            } else {
                payload
                    .to_msg::<blangkon_proto::events::OrderStatusChanged>()
                    .unwrap()
                    .order
            };
            let snapshot = snapshot.unwrap();
            assert_eq!(
                (
                    snapshot.vendor_legal_form.as_str(),
                    snapshot.vendor_scale.as_str()
                ),
                ("individual", "micro")
            );
            assert_eq!(snapshot.items[0].category_code, "katering.nasi-kotak");
            snapshot.status
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "placed",
            "accepted",
            "shipped",
            "received",
            "paid",
            "completed"
        ]
    );
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_transitions_and_parties_are_refused() {
    let s = suite().await;
    let order = s.place(&key(), 20).await.unwrap();
    let mut orders = s.orders().await;
    let vendor = s.vendor_token();
    let id = || pb::TransitionRequest {
        order_id: order.id.clone(),
        note: String::new(),
    };

    let ship_early = orders.ship_order(with(&vendor, id())).await.unwrap_err();
    assert_eq!(ship_early.code(), Code::FailedPrecondition);
    assert_eq!(ship_early.message(), "a placed order cannot be shipped");
    let buyer_accepts = orders.accept_order(with(&buyer(), id())).await.unwrap_err();
    assert_eq!(buyer_accepts.code(), Code::PermissionDenied);
    let vendor_pays = orders
        .pay_order(with(
            &vendor,
            pb::PayOrderRequest {
                order_id: order.id.clone(),
                payment_reference: "x".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(vendor_pays.code(), Code::PermissionDenied);

    orders.accept_order(with(&vendor, id())).await.unwrap();
    orders.ship_order(with(&vendor, id())).await.unwrap();
    let cancel_late = orders.cancel_order(with(&buyer(), id())).await.unwrap_err();
    assert_eq!(cancel_late.message(), "a shipped order cannot be cancelled");

    // Cancelling before shipping gives the stock back.
    let second = s.place(&key(), 30).await.unwrap();
    assert_eq!(s.stock().await, 500 - 20 - 30);
    orders
        .cancel_order(with(
            &buyer(),
            pb::TransitionRequest {
                order_id: second.id.clone(),
                note: "anggaran dialihkan".into(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(s.stock().await, 500 - 20);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_keeps_the_price_it_was_placed_at() {
    let s = suite().await;
    let order = s.place(&key(), 20).await.unwrap();
    s.catalog()
        .await
        .update_product(with(
            &s.vendor_token(),
            cat::UpdateProductRequest {
                product_id: s.product_id.clone(),
                details: Some(cat::ProductDetails {
                    name: "Nasi Kotak Ayam Bakar".into(),
                    category_code: "katering.nasi-kotak".into(),
                    unit: "kotak".into(),
                    price: 30_000,
                    min_order_quantity: 20,
                    stock: 480,
                    delivery_regencies: vec!["33.74".into()],
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap();
    let again = s
        .orders()
        .await
        .get_order(with(
            &buyer(),
            pb::GetOrderRequest {
                order_id: order.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.items[0].unit_price, again.total), (25_000, 500_000));
    let next = s.place(&key(), 20).await.unwrap();
    assert_eq!(next.total, 600_000);
    s.close().await;
}
