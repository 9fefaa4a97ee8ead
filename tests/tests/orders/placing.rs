//! Placing once under retries and outages, and giving stock back.

use super::*;
use std::sync::Arc;

use blangkon_order::OrderService;
use blangkon_order::peers::{Peer, Peers};
use blangkon_platform::auth::{ServiceCredentials, audience_of};
use blangkon_platform::service::Service as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_order_is_placed_once_even_when_retries_race() {
    let s = suite().await;
    let k = key();
    let first = s.place(&k, 40).await.unwrap();
    let again = s.place(&k, 40).await.unwrap();
    assert_eq!(again.id, first.id);
    let other_body = s.place(&k, 41).await.unwrap_err();
    assert_eq!(other_body.code(), Code::AlreadyExists);

    let racing = key();
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let endpoint = s.order_endpoint();
        let product = s.product_id.clone();
        let racing = racing.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = OrderServiceClient::connect(endpoint).await.unwrap();
            // A call that finds another one placing with its key is told
            // to retry, as a client would.
            let mut aborted = 0;
            loop {
                let placed = client
                    .place_order(with(
                        &buyer(),
                        pb::PlaceOrderRequest {
                            idempotency_key: racing.clone(),
                            lines: vec![pb::OrderLine {
                                product_id: product.clone(),
                                quantity: 50,
                            }],
                            note: String::new(),
                        },
                    ))
                    .await;
                match placed {
                    Ok(order) => return order.into_inner().id,
                    Err(e) if e.code() == Code::Aborted && aborted < 100 => {
                        aborted += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => panic!("a racing retry failed: {e}"),
                }
            }
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap());
    }
    assert_eq!(ids.len(), 1, "five racing retries, one order");
    assert_eq!(s.count_orders().await, 2);
    assert_eq!(s.stock().await, 500 - 40 - 50);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_orders_are_refused_before_anything_is_written() {
    let s = suite().await;
    let below_minimum = s.place(&key(), 5).await.unwrap_err();
    assert_eq!(below_minimum.code(), Code::InvalidArgument);
    assert!(
        below_minimum.message().contains("minimum order"),
        "{}",
        below_minimum.message()
    );
    assert_eq!(violations_of(&below_minimum)[0].field, "lines[0].quantity");
    // Rp60,000,000 a unit: four units pass the Rp200,000,000 ceiling.
    let generator = s
        .listed_product(cat::ProductDetails {
            name: "Genset Diesel 100 kVA".into(),
            description: "Generator set untuk gedung kantor".into(),
            category_code: "katering.nasi-kotak".into(),
            unit: "unit".into(),
            price: 60_000_000,
            min_order_quantity: 1,
            stock: 10,
            image_urls: vec![],
            delivery_regencies: vec!["33.74".into()],
            domestic_product: true,
        })
        .await;
    let over_limit = s
        .place_lines(&key(), &[(&s.product_id, 20), (&generator, 4)])
        .await
        .unwrap_err();
    assert_eq!(over_limit.code(), Code::InvalidArgument, "{over_limit}");
    assert!(over_limit.message().contains("200000000"), "{over_limit}");
    assert_eq!(s.stock_of(&generator).await, 10, "the stock was given back");
    // More than the stock is the catalog's state, named by line.
    let too_many = s
        .place_lines(&key(), &[(&generator, 1), (&s.product_id, 501)])
        .await
        .unwrap_err();
    assert_eq!(too_many.code(), Code::FailedPrecondition, "{too_many}");
    let refusals = blangkon_platform::validation::refusals_of(&too_many);
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].kind, "OUT_OF_STOCK");
    assert_eq!(refusals[0].subject, "lines[1]");
    assert_eq!(s.stock_of(&generator).await, 10);
    let bad = s
        .orders()
        .await
        .place_order(with(
            &buyer(),
            pb::PlaceOrderRequest {
                idempotency_key: "short".into(),
                lines: vec![pb::OrderLine {
                    product_id: "nope".into(),
                    quantity: 0,
                }],
                note: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let vendor_places = s
        .orders()
        .await
        .place_order(with(
            &s.vendor_token(),
            pb::PlaceOrderRequest {
                idempotency_key: key(),
                lines: vec![pb::OrderLine {
                    product_id: s.product_id.clone(),
                    quantity: 20,
                }],
                note: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(vendor_places.code(), Code::PermissionDenied);
    assert_eq!(s.count_orders().await, 0);
    assert_eq!(s.stock().await, 500);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_catalog_down_nothing_is_left_behind_and_a_retry_succeeds_once() {
    a_placing_survives_an_outage_of(Member::Catalog).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_vendor_service_down_the_stock_is_given_back_and_a_retry_succeeds_once() {
    a_placing_survives_an_outage_of(Member::Vendor).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_the_order_service_knows_takes_orders_with_the_vendor_service_down() {
    let mut s = suite().await;
    s.order_service_holds_vendor(VendorStatus::Verified).await;
    s.stop(Member::Vendor).await;
    let placed = s.place(&key(), 20).await.unwrap();
    assert_eq!(placed.status, pb::OrderStatus::Placed as i32);
    // Stamped with who sold, from the projection: the registered name.
    assert_eq!(placed.vendor_id, s.vendor_id);
    let row = blangkon_order::store::find_order(&s.order_db.connect().await, &placed.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.vendor_name, "Katering Bu Sri");
    assert_eq!(row.vendor_regency, REGENCY);
    assert_eq!(row.vendor_legal_form, "individual");
    assert_eq!(s.count_orders().await, 1);
    assert_eq!(s.stock().await, 480);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_vendor_cannot_receive_orders() {
    let s = suite().await;
    let mut vendors = s.vendors().await;
    vendors
        .suspend_vendor(with(
            &province(),
            ven::SuspendVendorRequest {
                vendor_id: s.vendor_id.clone(),
                reason: "laporan harga tidak wajar".into(),
            },
        ))
        .await
        .unwrap();
    // As soon as the order service has heard (its projection's lag: tens
    // of milliseconds; `make bench-order` measures it), whatever the
    // catalog has: until the catalog hears, the order service refuses
    // (FAILED_PRECONDITION, confirmed with the vendor service); once it
    // has, the vendor's products no longer exist for buyers (NOT_FOUND).
    // Either way nothing is written and no stock is held.
    s.order_service_holds_vendor(VendorStatus::Suspended).await;
    let refused = s.place(&key(), 20).await.unwrap_err();
    assert!(
        matches!(refused.code(), Code::FailedPrecondition | Code::NotFound),
        "{refused}"
    );
    assert_eq!(s.count_orders().await, 0);
    assert_eq!(s.stock().await, 500);

    // Reinstated, it can take orders again.
    vendors
        .reinstate_vendor(with(
            &province(),
            ven::ReinstateVendorRequest {
                vendor_id: s.vendor_id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    // The catalog hears of the reinstatement over Kafka.
    let what = "a reinstated vendor takes an order";
    let placed = eventually(what, Duration::from_secs(10), || async {
        match s.place(&key(), 20).await {
            // Until the catalog has heard, its products do not exist for
            // buyers.
            Err(e) if matches!(e.code(), Code::FailedPrecondition | Code::NotFound) => Err(e),
            answer => Ok(answer.unwrap()),
        }
    })
    .await;
    assert_eq!(placed.status, pb::OrderStatus::Placed as i32);
    assert_eq!(s.stock().await, 480);

    // An unlisted product does not exist for a buyer: placing names no
    // listing state, as GetProduct and QuotePrices do not.
    s.catalog()
        .await
        .unlist_product(with(
            &province(),
            cat::UnlistProductRequest {
                product_id: s.product_id.clone(),
                reason: "foto produk tidak sesuai".into(),
            },
        ))
        .await
        .unwrap();
    let refused = s.place(&key(), 20).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused}");
    assert!(!refused.message().contains("listed"), "{refused}");
    assert_eq!(s.stock().await, 480);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_held_by_an_abandoned_placing_is_given_back() {
    use blangkon_order::store;
    let s = suite().await;
    let order_db = s.order_db.connect().await;
    let long_ago = blangkon_platform::time::now() - chrono::Duration::minutes(10);

    // A placing that reserved and then stopped, as the process left it.
    let buyer_key = |key: &str| store::BuyerKey {
        regency: REGENCY.into(),
        work_unit: WORK_UNIT.into(),
        key: key.into(),
    };
    let attempt = |key: &str, started_at| store::attempt::Model {
        buyer_regency: REGENCY.into(),
        work_unit: WORK_UNIT.into(),
        key: key.into(),
        reservation_id: blangkon_order::placing::reservation_id(&buyer_key(key)),
        started_at,
    };
    let abandoned = key();
    let reservation = blangkon_order::placing::reservation_id(&buyer_key(&abandoned));
    s.catalog()
        .await
        .reserve_stock(with(
            &token(Role::Service, TokenRequest::default()),
            cat::ReserveStockRequest {
                reservation_id: reservation.clone(),
                lines: vec![cat::QuoteLine {
                    product_id: s.product_id.clone(),
                    quantity: 20,
                }],
            },
        ))
        .await
        .unwrap();
    store::record_attempt(&order_db, attempt(&abandoned, long_ago))
        .await
        .unwrap();
    // And one whose order was written though its attempt was left behind.
    let placed_key = key();
    let placed = s.place(&placed_key, 20).await.unwrap();
    store::record_attempt(&order_db, attempt(&placed_key, long_ago))
        .await
        .unwrap();
    // A live attempt is younger than the abandonment age: left alone.
    let live = key();
    store::record_attempt(&order_db, attempt(&live, blangkon_platform::time::now()))
        .await
        .unwrap();
    assert_eq!(s.stock().await, 460);

    // The order service's peers as it has them: its own client.
    let auth = s.services.config.auth_of(&OrderService::ABOUT);
    let peer = |endpoint: String, service: &'static str| {
        Peer::connect(
            service,
            &endpoint,
            &audience_of(service),
            Duration::from_secs(2),
            &Default::default(),
        )
        .unwrap()
    };
    let peers = Peers::new(
        peer(s.vendor_endpoint(), "vendor"),
        peer(s.catalog_endpoint(), "catalog"),
        Arc::new(ServiceCredentials::new(&auth).unwrap()),
    );
    let sweeper =
        blangkon_order::sweeper::Sweeper::new(order_db.clone(), peers, Duration::from_secs(60));
    assert_eq!(sweeper.sweep().await.unwrap(), 1, "only the abandoned one");
    assert_eq!(
        s.stock().await,
        480,
        "its 20 came back; the order keeps its 20"
    );
    assert_eq!(sweeper.sweep().await.unwrap(), 0, "nothing twice");
    let left = store::stale_attempts(
        &order_db,
        blangkon_platform::time::now() + chrono::Duration::minutes(1),
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        left.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
        [live.as_str()]
    );

    // A call with the key of a live placing is told to retry, and takes
    // nothing meanwhile.
    let busy = s.place(&live, 20).await.unwrap_err();
    assert_eq!(busy.code(), Code::Aborted, "{busy}");
    assert_eq!(s.stock().await, 480);

    // The order that was placed still holds its stock; a late retry of the
    // abandoned key places its order once.
    assert_eq!(
        s.place(&placed_key, 20).await.unwrap().id,
        placed.id,
        "the placed order replays"
    );
    let late = s.place(&abandoned, 20).await.unwrap();
    assert_eq!(s.place(&abandoned, 20).await.unwrap().id, late.id);
    assert_eq!(s.stock().await, 460);
    assert_eq!(s.count_orders().await, 2);
    s.close().await;
}
