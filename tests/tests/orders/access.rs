//! Who sees and acts on which orders, work units told apart by regency.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_work_unit_of_the_same_name_in_another_regency_is_another_buyer() {
    let s = suite().await;
    // Kabupaten Kendal has a work unit of the very same name.
    let namesake = token(
        Role::Buyer,
        TokenRequest {
            subject: "ppk@kendal".into(),
            regency: Some("33.24".into()),
            work_unit: Some(WORK_UNIT.into()),
            ..TokenRequest::default()
        },
    );
    let shared_key = key();
    let semarang = s.place(&shared_key, 20).await.unwrap();
    let request = || pb::PlaceOrderRequest {
        idempotency_key: shared_key.clone(),
        lines: vec![pb::OrderLine {
            product_id: s.product_id.clone(),
            quantity: 20,
        }],
        note: String::new(),
    };
    // The same key and body from the namesake is its own order, with its
    // own stock: not Semarang's order handed back.
    let kendal = s
        .orders()
        .await
        .place_order(with(&namesake, request()))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(kendal.id, semarang.id);
    assert_eq!(kendal.buyer_regency, "33.24");
    assert_eq!(s.stock().await, 460, "each order holds its own 20");
    let again = s
        .orders()
        .await
        .place_order(with(&namesake, request()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.id, kendal.id, "a retry is still a retry");

    let mut orders = s.orders().await;
    let listed = |response: tonic::Response<pb::ListOrdersResponse>| -> Vec<String> {
        response
            .into_inner()
            .orders
            .into_iter()
            .map(|o| o.id)
            .collect()
    };
    let mine = orders
        .list_orders(with(&namesake, pb::ListOrdersRequest::default()))
        .await
        .unwrap();
    assert_eq!(listed(mine), [kendal.id.as_str()]);
    let theirs = orders
        .list_orders(with(&buyer(), pb::ListOrdersRequest::default()))
        .await
        .unwrap();
    assert_eq!(listed(theirs), [semarang.id.as_str()]);
    let peek = orders
        .get_order(with(
            &namesake,
            pb::GetOrderRequest {
                order_id: semarang.id.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(peek.code(), Code::PermissionDenied, "{peek}");
    let cancel = orders
        .cancel_order(with(
            &namesake,
            pb::TransitionRequest {
                order_id: semarang.id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(cancel.code(), Code::PermissionDenied, "{cancel}");

    // Cancelling its own order gives back its own stock, not Semarang's.
    orders
        .cancel_order(with(
            &namesake,
            pb::TransitionRequest {
                order_id: kendal.id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(s.stock().await, 480);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_its_own_orders_and_lists_filter_and_page() {
    let s = suite().await;
    let first = s.place(&key(), 20).await.unwrap();
    let between = blangkon_platform::time::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = s.place(&key(), 30).await.unwrap();
    // Another work unit, in Kabupaten Kendal, buys from the same vendor.
    let kendal_buyer = token(
        Role::Buyer,
        TokenRequest {
            subject: "ppk@rsud-kendal".into(),
            regency: Some("33.24".into()),
            work_unit: Some("RSUD Dr. Soewondo Kendal".into()),
            ..TokenRequest::default()
        },
    );
    let kendal = s
        .orders()
        .await
        .place_order(with(
            &kendal_buyer,
            pb::PlaceOrderRequest {
                idempotency_key: key(),
                lines: vec![pb::OrderLine {
                    product_id: s.product_id.clone(),
                    quantity: 25,
                }],
                note: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    s.orders()
        .await
        .accept_order(with(
            &s.vendor_token(),
            pb::TransitionRequest {
                order_id: second.id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();

    let list = |who: String, request: pb::ListOrdersRequest| {
        let endpoint = s.order_endpoint();
        async move {
            OrderServiceClient::connect(endpoint)
                .await
                .unwrap()
                .list_orders(with(&who, request))
                .await
                .map(|r| {
                    r.into_inner()
                        .orders
                        .into_iter()
                        .map(|o| o.id)
                        .collect::<Vec<_>>()
                })
        }
    };
    let all = pb::ListOrdersRequest::default;
    let role = |role: Role, regency: Option<&str>, vendor: Option<&str>| {
        token(
            role,
            TokenRequest {
                subject: "someone".into(),
                regency: regency.map(Into::into),
                vendor_id: vendor.map(Into::into),
                ..TokenRequest::default()
            },
        )
    };
    let everything = vec![first.id.clone(), second.id.clone(), kendal.id.clone()];
    assert_eq!(
        list(buyer(), all()).await.unwrap(),
        [first.id.as_str(), second.id.as_str()]
    );
    assert_eq!(
        list(kendal_buyer.clone(), all()).await.unwrap(),
        [kendal.id.as_str()]
    );
    assert_eq!(list(s.vendor_token(), all()).await.unwrap(), everything);
    let stranger = uuid::Uuid::now_v7().to_string();
    assert!(
        list(role(Role::Vendor, None, Some(&stranger)), all())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        list(role(Role::RegencyAdmin, Some("33.74"), None), all())
            .await
            .unwrap(),
        [first.id.as_str(), second.id.as_str()]
    );
    assert_eq!(
        list(role(Role::RegencyAdmin, Some("33.24"), None), all())
            .await
            .unwrap(),
        [kendal.id.as_str()]
    );
    for reader in [Role::ProvinceAdmin, Role::Analyst] {
        assert_eq!(
            list(role(reader, None, None), all()).await.unwrap(),
            everything
        );
    }
    let peeking = list(
        s.vendor_token(),
        pb::ListOrdersRequest {
            vendor_id: stranger.clone(),
            ..all()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(peeking.code(), Code::PermissionDenied);

    // GetOrder follows the same lines.
    let get = |who: String, id: String| {
        let endpoint = s.order_endpoint();
        async move {
            OrderServiceClient::connect(endpoint)
                .await
                .unwrap()
                .get_order(with(&who, pb::GetOrderRequest { order_id: id }))
                .await
        }
    };
    assert!(get(buyer(), first.id.clone()).await.is_ok());
    assert_eq!(
        get(buyer(), kendal.id.clone()).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    assert_eq!(
        get(
            role(Role::RegencyAdmin, Some("33.24"), None),
            first.id.clone()
        )
        .await
        .unwrap_err()
        .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        get(role(Role::Vendor, None, Some(&stranger)), first.id.clone())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let seen = get(role(Role::Analyst, None, None), kendal.id.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.items.len(), 1);
    assert_eq!(seen.history.len(), 1);
    assert_eq!(
        get(buyer(), uuid::Uuid::now_v7().to_string())
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    // Filters: status, date range, and pages that neither skip nor repeat.
    let analyst = role(Role::Analyst, None, None);
    assert_eq!(
        list(
            analyst.clone(),
            pb::ListOrdersRequest {
                status: pb::OrderStatus::Accepted as i32,
                ..all()
            }
        )
        .await
        .unwrap(),
        [second.id.as_str()]
    );
    let at = |t: chrono::DateTime<chrono::Utc>| Some(blangkon_platform::time::to_timestamp(t));
    assert_eq!(
        list(
            analyst.clone(),
            pb::ListOrdersRequest {
                placed_from: at(between),
                ..all()
            }
        )
        .await
        .unwrap(),
        [second.id.as_str(), kendal.id.as_str()]
    );
    assert_eq!(
        list(
            analyst.clone(),
            pb::ListOrdersRequest {
                placed_until: at(between),
                ..all()
            }
        )
        .await
        .unwrap(),
        [first.id.as_str()]
    );
    let mut client = s.orders().await;
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_orders(with(
                &analyst,
                pb::ListOrdersRequest {
                    page_size: 2,
                    page_token: page_token.clone(),
                    ..all()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.orders.len() <= 2);
        paged.extend(page.orders.into_iter().map(|o| o.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(paged, everything);

    let bad = list(
        analyst.clone(),
        pb::ListOrdersRequest {
            page_size: 501,
            page_token: "not-ours".into(),
            vendor_id: "nope".into(),
            placed_from: at(between),
            placed_until: at(between),
            ..all()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let fields = fixtures::violated_fields(&bad);
    assert_eq!(
        fields,
        ["page_size", "page_token", "placed_until", "vendor_id"]
    );
    s.close().await;
}
