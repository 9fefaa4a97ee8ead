//! Filters, facets and pages; suspended vendors; bad input.

use super::*;

#[tokio::test]
async fn filters_facets_and_pages_never_skip_or_repeat() {
    let f = fixture().await;
    // A top-level category includes its subcategories.
    let katering = f
        .all_pages(pb::SearchProductsRequest {
            category_code: "katering".into(),
            page_size: 2,
            ..Default::default()
        })
        .await;
    assert_eq!(katering.len(), 6);

    // Browsing everything in pages of 5, newest first, then by price.
    let newest = f
        .all_pages(pb::SearchProductsRequest {
            page_size: 5,
            ..Default::default()
        })
        .await;
    let mut expected: Vec<String> = f.ids.clone();
    expected.reverse();
    assert_eq!(newest, expected);
    let by_price = f
        .all_pages(pb::SearchProductsRequest {
            page_size: 4,
            sort: pb::SortOrder::PriceAscending as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(by_price.len(), PRODUCTS.len());
    assert_eq!(by_price[0], f.ids[17], "the Rp4,000 invitation is cheapest");

    // Regency, price range, vendor legal form and scale.
    let in_kudus = f
        .search(pb::SearchProductsRequest {
            delivery_regency: "33.17".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(names(&in_kudus), ["Kain Batik Tulis Lasem"]);
    let cheap = f
        .all_pages(pb::SearchProductsRequest {
            min_price: 20_000,
            max_price: 30_000,
            page_size: 3,
            ..Default::default()
        })
        .await;
    assert_eq!(
        cheap.len(),
        PRODUCTS
            .iter()
            .filter(|p| (20_000..=30_000).contains(&p.3))
            .count()
    );
    let from_cv = f
        .all_pages(pb::SearchProductsRequest {
            vendor_legal_form: LegalForm::Cv as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(from_cv.len(), PRODUCTS.len() / 2);
    let from_micro = f
        .all_pages(pb::SearchProductsRequest {
            vendor_scale: Scale::Micro as i32,
            page_size: 7,
            ..Default::default()
        })
        .await;
    let expected_micro: HashSet<&String> = f.ids.iter().step_by(2).collect();
    assert_eq!(from_micro.iter().collect::<HashSet<_>>(), expected_micro);

    // Relevance pages over a query with many hits.
    let nasi_all = f
        .all_pages(pb::SearchProductsRequest {
            query: "nasi".into(),
            page_size: 1,
            ..Default::default()
        })
        .await;
    assert_eq!(
        nasi_all.len(),
        f.search(find("nasi")).await.total_matches as usize
    );

    // Facets count matches per category whatever the category filter.
    let nasi = f
        .search(pb::SearchProductsRequest {
            query: "nasi".into(),
            category_code: "katering.tumpeng".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(nasi.total_matches, 1);
    let facet = |code: &str| {
        nasi.facets
            .iter()
            .find(|c| c.category_code == code)
            .map(|c| c.count)
    };
    assert_eq!(facet("katering.nasi-kotak"), Some(4));
    assert_eq!(facet("katering.tumpeng"), Some(1));
    assert_eq!(facet("katering"), Some(5));
    let _ = (&f.micro, &f.cv);
    f.app.stop().await;
}

#[tokio::test]
async fn a_suspended_vendors_products_leave_search_within_a_second() {
    let f = fixture().await;
    let all = PRODUCTS.len() as i64;
    // The CV sells the odd-numbered products.
    let of_micro = all - all / 2;
    f.app
        .publish(status_change(
            &f.cv,
            VendorStatus::Verified,
            VendorStatus::Suspended,
        ))
        .await;
    let started = Instant::now();
    f.eventually(
        Duration::from_secs(10),
        "suspension reaches search",
        |r| r.total_matches == of_micro,
        browse(),
    )
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "hidden after {took:?}");
    f.app
        .publish(status_change(
            &f.cv,
            VendorStatus::Suspended,
            VendorStatus::Verified,
        ))
        .await;
    f.eventually(
        Duration::from_secs(10),
        "reinstatement reaches search",
        |r| r.total_matches == all,
        browse(),
    )
    .await;

    // Unlisting one product takes it out too.
    f.app
        .client()
        .await
        .unlist_product(f.app.as_vendor(
            &f.micro,
            pb::UnlistProductRequest {
                product_id: f.ids[0].clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap();
    f.eventually(
        Duration::from_secs(10),
        "unlisting reaches search",
        |r| r.total_matches == all - 1,
        browse(),
    )
    .await;
    f.app.stop().await;
}

#[tokio::test]
async fn bad_search_input_names_its_fields() {
    let app = spawn_app().await;
    let status = app
        .client()
        .await
        .search_products(app.as_role(
            Role::Buyer,
            pb::SearchProductsRequest {
                category_code: "senjata".into(),
                delivery_regency: "Semarang".into(),
                min_price: 50_000,
                max_price: 10_000,
                page_size: 1000,
                page_token: "nope".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "category_code",
            "delivery_regency",
            "max_price",
            "page_size",
            "page_token"
        ]
    );
    app.stop().await;
}
