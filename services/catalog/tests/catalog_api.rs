//! The catalog service over real gRPC, fed by vendor events over Kafka, on
//! a fresh database per test (PostgreSQL when `BLANGKON_TEST_DATABASE_URL`
//! is set) and a Kafka-protocol broker (`BLANGKON_TEST_KAFKA`, else mock).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use blangkon_platform::auth::Role;
use blangkon_platform::kafka::topics;
use blangkon_proto::catalog as pb;
use blangkon_proto::vendor::VendorStatus;
use blangkon_testkit::EventReader;
use support::*;
use tonic::Code;

#[tokio::test]
async fn a_verified_vendor_creates_prices_and_lists_a_product() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let vendor = app.vendor_with_status(VendorStatus::Verified).await;

    let draft = app.create_product(&vendor, nasi_kotak()).await.unwrap();
    assert_eq!(draft.status, pb::ProductStatus::Draft as i32);
    assert_eq!(
        draft.details.as_ref().unwrap().delivery_regencies,
        ["33.22", "33.74"]
    );

    // A buyer cannot see a draft.
    let hidden = app.product_as(Role::Buyer, &draft.id).await.unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);

    let listed = app.publish_product(&vendor, &draft.id).await.unwrap();
    assert_eq!(listed.status, pb::ProductStatus::Listed as i32);

    let cheaper = client
        .update_product(app.as_vendor(
            &vendor,
            pb::UpdateProductRequest {
                product_id: draft.id.clone(),
                details: Some(pb::ProductDetails {
                    price: 23_500,
                    stock: 450,
                    ..nasi_kotak()
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cheaper.details.unwrap().price, 23_500);
    assert_eq!(cheaper.price_history.len(), 1);
    assert_eq!(
        (
            cheaper.price_history[0].old_price,
            cheaper.price_history[0].new_price
        ),
        (25_000, 23_500)
    );

    let seen = app.product_as(Role::Buyer, &draft.id).await.unwrap();
    assert_eq!(seen.details.unwrap().price, 23_500);

    // Listed, updated (with its old and new price) and the stock change:
    // each once, keyed by the product.
    let reader = EventReader::new(&app.kafka.bootstrap, topics::CATALOG_EVENTS);
    let events = reader
        .read_until(Duration::from_secs(30), |e| {
            e.iter().filter(|e| e.key == draft.id).count() >= 3
        })
        .await;
    let types: Vec<&str> = events
        .iter()
        .filter(|e| e.key == draft.id)
        .map(|e| e.envelope.event_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "blangkon.events.v1.ProductListed",
            "blangkon.events.v1.ProductUpdated",
            "blangkon.events.v1.StockChanged"
        ]
    );
    let updated: blangkon_proto::events::ProductUpdated = events
        .iter()
        .find(|e| e.key == draft.id && e.envelope.event_type.ends_with("ProductUpdated"))
        .unwrap()
        .envelope
        .payload
        .as_ref()
        .unwrap()
        .to_msg()
        .unwrap();
    assert_eq!((updated.old_price, updated.new_price), (25_000, 23_500));
    app.stop().await;
}

#[tokio::test]
async fn only_verified_vendors_manage_products_and_suspension_hides_them() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let pending = app.vendor_with_status(VendorStatus::Pending).await;
    let refused = app
        .create_product(&pending, nasi_kotak())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("knows it as pending"),
        "{}",
        refused.message()
    );
    // A refusal a client can recognise, naming the vendor.
    let refusals = blangkon_platform::validation::refusals_of(&refused);
    assert_eq!(refusals[0].kind, "VENDOR_NOT_VERIFIED");
    assert_eq!(refusals[0].subject, format!("vendors/{pending}"));

    let unknown = uuid::Uuid::now_v7().to_string();
    let refused = app
        .create_product(&unknown, nasi_kotak())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("knows of no such vendor yet"),
        "{}",
        refused.message()
    );

    let vendor = app.vendor_with_status(VendorStatus::Verified).await;
    let product = app.create_product(&vendor, nasi_kotak()).await.unwrap();
    app.publish_product(&vendor, &product.id).await.unwrap();
    let get = || pb::GetProductRequest {
        product_id: product.id.clone(),
    };
    assert!(
        client
            .get_product(app.as_role(Role::Buyer, get()))
            .await
            .is_ok()
    );

    app.change_vendor_status(&vendor, VendorStatus::Verified, VendorStatus::Suspended)
        .await;
    let gone = client
        .get_product(app.as_role(Role::Buyer, get()))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let frozen = client
        .update_product(app.as_vendor(
            &vendor,
            pb::UpdateProductRequest {
                product_id: product.id.clone(),
                details: Some(nasi_kotak()),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(frozen.code(), Code::FailedPrecondition);

    app.change_vendor_status(&vendor, VendorStatus::Suspended, VendorStatus::Verified)
        .await;
    assert!(
        client
            .get_product(app.as_role(Role::Buyer, get()))
            .await
            .is_ok()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_replayed_vendor_event_changes_nothing() {
    let app = spawn_app().await;
    let vendor = uuid::Uuid::now_v7().to_string();
    let registered = registered(&vendor);
    let verified = status_change(&vendor, VendorStatus::Pending, VendorStatus::Verified);
    let suspended = status_change(&vendor, VendorStatus::Verified, VendorStatus::Suspended);
    app.publish(registered).await;
    app.publish(verified.clone()).await;
    app.publish(suspended).await;
    app.wait_for_vendor_status(&vendor, VendorStatus::Suspended)
        .await;

    // The verification arrives again (a producer retry, a replay): it was
    // applied once already, so the vendor stays suspended.
    app.publish(verified).await;
    // The same key goes to the same partition, so once an event published
    // after the replay is applied, the replay was handled too.
    app.change_vendor_status(&vendor, VendorStatus::Suspended, VendorStatus::Verified)
        .await;
    let db = app.database().await;
    let backend = sea_orm::ConnectionTrait::get_database_backend(&db);
    let applied = sea_orm::ConnectionTrait::query_one_raw(
        &db,
        sea_orm::Statement::from_string(backend, "SELECT COUNT(*) AS n FROM inbox".to_string()),
    )
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap();
    // Four distinct events of this vendor were recorded; the replay was not.
    assert!(applied >= 4, "{applied}");
    app.stop().await;
}

#[tokio::test]
async fn bad_product_input_is_refused_with_every_field_named_and_nothing_written() {
    let app = spawn_app().await;
    let vendor = app.vendor_with_status(VendorStatus::Verified).await;
    let status = app
        .create_product(
            &vendor,
            pb::ProductDetails {
                name: String::new(),
                price: -1000,
                stock: -1,
                delivery_regencies: vec![],
                ..nasi_kotak()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "details.delivery_regencies",
            "details.name",
            "details.price",
            "details.stock"
        ]
    );

    let status = app
        .create_product(
            &vendor,
            pb::ProductDetails {
                category_code: "senjata".into(),
                ..nasi_kotak()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["details.category_code"]);

    let status = app
        .create_product(
            &vendor,
            pb::ProductDetails {
                price: 200_000_001,
                ..nasi_kotak()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["details.price"]);
    assert_eq!(app.count("products").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn creating_again_with_the_same_key_answers_the_first_product() {
    let app = spawn_app().await;
    let vendor = app.vendor_with_status(VendorStatus::Verified).await;
    let other = app.vendor_with_status(VendorStatus::Verified).await;

    let first = app
        .create_product_keyed(&vendor, nasi_kotak(), "SKU-NK-001")
        .await
        .unwrap();
    // A retry after a lost answer, even after the product was changed.
    app.publish_product(&vendor, &first.id).await.unwrap();
    let again = app
        .create_product_keyed(&vendor, nasi_kotak(), "SKU-NK-001")
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.status, pb::ProductStatus::Listed as i32);
    assert_eq!(app.count("products").await, 1);
    // Editing the product keeps its key: a late retry still finds it.
    app.client()
        .await
        .update_product(app.as_vendor(
            &vendor,
            pb::UpdateProductRequest {
                product_id: first.id.clone(),
                details: Some(pb::ProductDetails {
                    price: 26_000,
                    ..nasi_kotak()
                }),
            },
        ))
        .await
        .unwrap();
    let after_edit = app
        .create_product_keyed(&vendor, nasi_kotak(), "SKU-NK-001")
        .await
        .unwrap();
    assert_eq!(after_edit.id, first.id, "no duplicate after an update");
    assert_eq!(after_edit.details.unwrap().price, 26_000);
    assert_eq!(app.count("products").await, 1);

    // Keys are each vendor's own; without a key every call creates.
    let others = app
        .create_product_keyed(&other, nasi_kotak(), "SKU-NK-001")
        .await
        .unwrap();
    assert_ne!(others.id, first.id);
    app.create_product(&vendor, nasi_kotak()).await.unwrap();
    app.create_product(&vendor, nasi_kotak()).await.unwrap();
    assert_eq!(app.count("products").await, 4);

    // Calls racing with one key make one product.
    let racing = (0..8).map(|_| app.create_product_keyed(&vendor, nasi_kotak(), "SKU-RACE"));
    let answers = futures::future::join_all(racing).await;
    let ids: std::collections::BTreeSet<String> =
        answers.into_iter().map(|a| a.unwrap().id).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.count("products").await, 5);
    app.stop().await;
}

#[tokio::test]
async fn a_bad_idempotency_key_is_refused_and_nothing_written() {
    let app = spawn_app().await;
    let vendor = app.vendor_with_status(VendorStatus::Verified).await;
    for key in ["x".repeat(129), " SKU".into(), "SKU\n1".into()] {
        let status = app
            .create_product_keyed(&vendor, nasi_kotak(), &key)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{key:?}");
        assert_eq!(violated_fields(&status), ["idempotency_key"]);
    }
    assert_eq!(app.count("products").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_vendor_cannot_touch_another_vendors_product() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let owner = app.vendor_with_status(VendorStatus::Verified).await;
    let other = app.vendor_with_status(VendorStatus::Verified).await;
    let product = app.create_product(&owner, nasi_kotak()).await.unwrap();
    let update = client
        .update_product(app.as_vendor(
            &other,
            pb::UpdateProductRequest {
                product_id: product.id.clone(),
                details: Some(pb::ProductDetails {
                    price: 1,
                    ..nasi_kotak()
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(update.code(), Code::PermissionDenied);
    for request in [
        client
            .publish_product(app.as_vendor(
                &other,
                pb::PublishProductRequest {
                    product_id: product.id.clone(),
                },
            ))
            .await,
        client
            .unlist_product(app.as_vendor(
                &other,
                pb::UnlistProductRequest {
                    product_id: product.id.clone(),
                    reason: String::new(),
                },
            ))
            .await,
    ] {
        assert_eq!(request.unwrap_err().code(), Code::PermissionDenied);
    }
    let buyer = client
        .create_product(app.as_role(
            Role::Buyer,
            pb::CreateProductRequest {
                details: Some(nasi_kotak()),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(buyer.code(), Code::PermissionDenied);
    // The storefront's reads take callers without a token; nothing else
    // does.
    let public = client
        .list_categories(tonic::Request::new(pb::ListCategoriesRequest {}))
        .await
        .unwrap();
    assert!(!public.into_inner().categories.is_empty());
    let unauthenticated = client
        .create_product(tonic::Request::new(pb::CreateProductRequest {
            details: Some(nasi_kotak()),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);

    // The province may unlist anything, with a reason.
    app.publish_product(&owner, &product.id).await.unwrap();
    let no_reason = client
        .unlist_product(app.as_role(
            Role::ProvinceAdmin,
            pb::UnlistProductRequest {
                product_id: product.id.clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&no_reason), ["reason"]);
    let unlisted = client
        .unlist_product(app.as_role(
            Role::ProvinceAdmin,
            pb::UnlistProductRequest {
                product_id: product.id.clone(),
                reason: "harga tidak wajar".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unlisted.status, pb::ProductStatus::Unlisted as i32);
    let twice = client
        .unlist_product(app.as_vendor(
            &owner,
            pb::UnlistProductRequest {
                product_id: product.id.clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    app.stop().await;
}

#[tokio::test]
async fn the_taxonomy_covers_what_governments_buy() {
    let app = spawn_app().await;
    let categories = app
        .client()
        .await
        .list_categories(app.as_role(Role::Buyer, pb::ListCategoriesRequest {}))
        .await
        .unwrap()
        .into_inner()
        .categories;
    let top: Vec<&str> = categories
        .iter()
        .filter(|c| c.parent_code.is_empty())
        .map(|c| c.code.as_str())
        .collect();
    for wanted in [
        "katering",
        "snack",
        "atk",
        "percetakan",
        "suvenir",
        "batik",
        "mebel",
        "kebersihan",
        "it",
        "jasa",
    ] {
        assert!(top.contains(&wanted), "{wanted} in {top:?}");
    }
    assert!(
        categories
            .iter()
            .any(|c| c.code == "katering.nasi-kotak" && c.parent_code == "katering")
    );
    app.stop().await;
}
