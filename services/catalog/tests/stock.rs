//! Price quotes and stock reservations, as the order service uses them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use blangkon_platform::auth::Role;
use blangkon_proto::catalog as pb;
use blangkon_proto::vendor::VendorStatus;
use support::*;
use tonic::Code;

async fn listed_product(app: &TestApp, vendor: &str, stock: i64) -> String {
    let product = app
        .create_product(
            vendor,
            pb::ProductDetails {
                stock,
                ..nasi_kotak()
            },
        )
        .await
        .unwrap();
    app.publish_product(vendor, &product.id).await.unwrap();
    product.id
}

fn line(product_id: &str, quantity: i64) -> pb::QuoteLine {
    pb::QuoteLine {
        product_id: product_id.into(),
        quantity,
    }
}

async fn stock_of(app: &TestApp, product_id: &str) -> i64 {
    app.product_as(Role::ProvinceAdmin, product_id)
        .await
        .unwrap()
        .details
        .unwrap()
        .stock
}

fn reserve(id: &str, lines: Vec<pb::QuoteLine>) -> pb::ReserveStockRequest {
    pb::ReserveStockRequest {
        reservation_id: id.into(),
        lines,
    }
}

#[tokio::test]
async fn quotes_give_current_prices_and_say_why_a_line_is_unavailable() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let vendor = app.vendor_with_status(VendorStatus::Verified).await;
    let listed = listed_product(&app, &vendor, 100).await;
    let draft = app.create_product(&vendor, nasi_kotak()).await.unwrap().id;
    let quotes = client
        .quote_prices(app.as_role(
            Role::Service,
            pb::QuotePricesRequest {
                lines: vec![line(&listed, 20), line(&draft, 20)],
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .quotes;
    assert!(quotes[0].available);
    assert_eq!(
        (quotes[0].unit_price, quotes[0].vendor_id.as_str()),
        (25_000, vendor.as_str())
    );
    assert_eq!(quotes[1].unavailable_reason, "the product is not listed");
    // A buyer learns nothing of a draft: it does not exist for them.
    let hidden = client
        .quote_prices(app.as_role(
            Role::Buyer,
            pb::QuotePricesRequest {
                lines: vec![line(&draft, 20)],
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);

    let below = client
        .quote_prices(app.as_role(
            Role::Buyer,
            pb::QuotePricesRequest {
                lines: vec![line(&listed, 5)],
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .quotes;
    assert_eq!(
        below[0].unavailable_reason,
        "below the minimum order quantity"
    );
    let too_many = client
        .quote_prices(app.as_role(
            Role::Buyer,
            pb::QuotePricesRequest {
                lines: vec![line(&listed, 101)],
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .quotes;
    assert_eq!(too_many[0].unavailable_reason, "not enough stock");

    app.change_vendor_status(&vendor, VendorStatus::Verified, VendorStatus::Suspended)
        .await;
    let suspended = client
        .quote_prices(app.as_role(
            Role::Service,
            pb::QuotePricesRequest {
                lines: vec![line(&listed, 20)],
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .quotes;
    assert_eq!(
        suspended[0].unavailable_reason,
        "the vendor is not verified"
    );
    // Nor of the products of a suspended vendor.
    let hidden = client
        .quote_prices(app.as_role(
            Role::Buyer,
            pb::QuotePricesRequest {
                lines: vec![line(&listed, 20)],
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);

    let unknown = client
        .quote_prices(app.as_role(
            Role::Service,
            pb::QuotePricesRequest {
                lines: vec![line(&uuid::Uuid::now_v7().to_string(), 1)],
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let bad = client
        .quote_prices(app.as_role(
            Role::Service,
            pb::QuotePricesRequest {
                lines: vec![line("x", 0), line(&listed, 1), line(&listed, 1)],
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&bad),
        [
            "lines[0].product_id",
            "lines[0].quantity",
            "lines[2].product_id"
        ]
    );
    let denied = client
        .quote_prices(app.as_vendor(
            &vendor,
            pb::QuotePricesRequest {
                lines: vec![line(&listed, 20)],
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_is_taken_once_however_often_it_is_retried() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let vendor = app.vendor_with_status(VendorStatus::Verified).await;
    let product = listed_product(&app, &vendor, 500).await;
    let id = uuid::Uuid::now_v7().to_string();

    let first = client
        .reserve_stock(app.as_role(Role::Service, reserve(&id, vec![line(&product, 30)])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.status, pb::ReservationStatus::Held as i32);
    // The reservation answers what was taken and at which price.
    assert_eq!(
        first.lines,
        [pb::ReservedLine {
            product_id: product.clone(),
            quantity: 30,
            vendor_id: vendor.clone(),
            name: "Nasi Kotak Ayam Bakar".into(),
            category_code: "katering.nasi-kotak".into(),
            unit: "kotak".into(),
            unit_price: 25_000,
        }]
    );
    let retry = client
        .reserve_stock(app.as_role(Role::Service, reserve(&id, vec![line(&product, 30)])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry, first);
    assert_eq!(stock_of(&app, &product).await, 470);

    let other = client
        .reserve_stock(app.as_role(Role::Service, reserve(&id, vec![line(&product, 31)])))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::AlreadyExists);

    for _ in 0..2 {
        let released = client
            .release_stock(app.as_role(
                Role::Service,
                pb::ReleaseStockRequest {
                    reservation_id: id.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(released.status, pb::ReservationStatus::Released as i32);
        assert_eq!(stock_of(&app, &product).await, 500);
    }
    // Asked again after its release, the reservation is held again, once.
    for _ in 0..2 {
        let again = client
            .reserve_stock(app.as_role(Role::Service, reserve(&id, vec![line(&product, 30)])))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again.status, pb::ReservationStatus::Held as i32);
        assert_eq!(again.lines, first.lines);
        assert_eq!(stock_of(&app, &product).await, 470);
    }
    let buyer = client
        .reserve_stock(app.as_role(
            Role::Buyer,
            reserve(&uuid::Uuid::now_v7().to_string(), vec![line(&product, 30)]),
        ))
        .await
        .unwrap_err();
    assert_eq!(buyer.code(), Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_takes_every_line_or_none() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let vendor = app.vendor_with_status(VendorStatus::Verified).await;
    let plenty = listed_product(&app, &vendor, 500).await;
    let scarce = listed_product(&app, &vendor, 25).await;
    let refused = client
        .reserve_stock(app.as_role(
            Role::Service,
            reserve(
                &uuid::Uuid::now_v7().to_string(),
                vec![line(&plenty, 100), line(&scarce, 30)],
            ),
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("not enough stock"),
        "{}",
        refused.message()
    );
    let refusals = blangkon_platform::validation::refusals_of(&refused);
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].kind, "OUT_OF_STOCK");
    assert_eq!(refusals[0].subject, "lines[1]");
    assert_eq!(stock_of(&app, &plenty).await, 500);
    assert_eq!(stock_of(&app, &scarce).await, 25);
    app.stop().await;
}

#[tokio::test]
async fn a_refused_reservation_names_the_line_and_the_rule() {
    let app = spawn_app().await;
    let client = app.client().await;
    let vendor = app.vendor_with_status(VendorStatus::Verified).await;
    let listed = listed_product(&app, &vendor, 500).await;
    let draft = app.create_product(&vendor, nasi_kotak()).await.unwrap().id;
    let reserve_lines = |lines: Vec<pb::QuoteLine>| {
        let request = app.as_role(
            Role::Service,
            reserve(&uuid::Uuid::now_v7().to_string(), lines),
        );
        let mut client = client.clone();
        async move { client.reserve_stock(request).await.unwrap_err() }
    };

    // Below the minimum of 20 is the request's fault.
    let small = reserve_lines(vec![
        line(&listed, 20),
        line(&listed_product(&app, &vendor, 9).await, 19),
    ])
    .await;
    assert_eq!(small.code(), Code::InvalidArgument, "{small}");
    assert_eq!(violated_fields(&small), ["lines[1].quantity"]);

    let unlisted = reserve_lines(vec![line(&draft, 20)]).await;
    assert_eq!(unlisted.code(), Code::FailedPrecondition);
    let refusals = blangkon_platform::validation::refusals_of(&unlisted);
    assert_eq!(refusals[0].kind, "NOT_LISTED");
    assert_eq!(refusals[0].subject, "lines[0]");

    let unknown = reserve_lines(vec![line(&uuid::Uuid::now_v7().to_string(), 20)]).await;
    assert_eq!(unknown.code(), Code::NotFound);

    app.change_vendor_status(&vendor, VendorStatus::Verified, VendorStatus::Suspended)
        .await;
    let suspended = reserve_lines(vec![line(&listed, 20)]).await;
    assert_eq!(suspended.code(), Code::FailedPrecondition);
    assert_eq!(
        blangkon_platform::validation::refusals_of(&suspended)[0].kind,
        "VENDOR_NOT_VERIFIED"
    );
    // Nothing of any refused reservation was taken.
    assert_eq!(stock_of(&app, &listed).await, 500);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reservations_never_take_stock_below_zero() {
    let app = spawn_app().await;
    let vendor = app.vendor_with_status(VendorStatus::Verified).await;
    let product = listed_product(&app, &vendor, 200).await;
    // 25 buyers want 20 each of 200: exactly ten get them.
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let mut client = app.client().await;
        let request = app.as_role(
            Role::Service,
            reserve(&uuid::Uuid::now_v7().to_string(), vec![line(&product, 20)]),
        );
        tasks.push(tokio::spawn(
            async move { client.reserve_stock(request).await },
        ));
    }
    // And one reservation retried five times at once is taken once.
    let same = uuid::Uuid::now_v7().to_string();
    let mut duplicates = Vec::new();
    for _ in 0..5 {
        let mut client = app.client().await;
        let request = app.as_role(Role::Service, reserve(&same, vec![line(&product, 20)]));
        duplicates.push(tokio::spawn(
            async move { client.reserve_stock(request).await },
        ));
    }
    let mut granted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => granted += 1,
            Err(status) => assert_eq!(status.code(), Code::FailedPrecondition, "{status}"),
        }
    }
    let mut duplicate_granted = 0;
    for task in duplicates {
        match task.await.unwrap() {
            Ok(r) => {
                assert_eq!(r.into_inner().reservation_id, same);
                duplicate_granted = 1;
            }
            Err(status) => assert_eq!(status.code(), Code::FailedPrecondition, "{status}"),
        }
    }
    assert_eq!(granted + duplicate_granted, 10, "200 units, 20 each");
    assert_eq!(stock_of(&app, &product).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_huge_quote_is_refused_by_its_size_before_any_work() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let quote =
        |lines: Vec<pb::QuoteLine>| app.as_role(Role::Buyer, pb::QuotePricesRequest { lines });
    // Ten thousand distinct lines (about 450 kB): one violation, the count.
    let distinct: Vec<pb::QuoteLine> = (0..10_000)
        .map(|i| line(&format!("01934a1e-0000-7000-8000-{i:012}"), 1))
        .collect();
    let refused = client.quote_prices(quote(distinct)).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        refused.message(),
        "invalid request: lines must hold 1 to 100 lines"
    );
    // A hundred times the same product, within the cap: twenty of the
    // ninety-nine violations named, so the refusal fits in trailers.
    let id = "01934a1e-0000-7000-8000-000000000001";
    let duplicated = vec![line(id, 1); 100];
    let refused = client.quote_prices(quote(duplicated)).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().ends_with("(and 79 more)"), "{refused:?}");
    assert!(refused.message().len() + refused.details().len() < 4096);
    // Ninety thousand lines (3.8 MB, the issue's): past the largest
    // message a service reads, refused before it is decoded.
    let huge: Vec<pb::QuoteLine> = (0..90_000)
        .map(|i| line(&format!("01934a1e-0000-7000-8000-{i:012}"), 1))
        .collect();
    let refused = client.quote_prices(quote(huge)).await.unwrap_err();
    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
    assert!(
        refused.message().contains("the limit is: 1048576 bytes"),
        "{refused:?}"
    );
}
