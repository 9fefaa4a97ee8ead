//! The search index's build reads every listed product once: on
//! PostgreSQL with one `COPY … TO STDOUT`, whose text format escapes what
//! the products' words may hold; elsewhere in pages by id. Both must read
//! what the pages by id read.

use blangkon_catalog::store::migrations::Migrator;
use blangkon_catalog::store::{ListedProducts, SearchedProduct, listed_products_after, product};
use blangkon_domain::ProductStatus;
use blangkon_platform::db::{self, StringList};
use blangkon_testkit::TestDatabase;
use sea_orm::EntityTrait;

/// Words a vendor may type, with every character COPY's text format escapes.
const AWKWARD: &[&str] = &[
    "Nasi kotak\tayam",
    "baris satu\nbaris dua\r\n",
    "garis miring \\ terbalik \\N \\t",
    "kendali \u{8}\u{b}\u{c}",
    "\"kutip\" 'tunggal' [\"33.74\"]",
    "émoji 🍱 dan aksara ꦧꦛꦶꦏ꧀",
    "",
];

fn product(i: usize, status: ProductStatus) -> product::Model {
    let now = chrono::Utc::now();
    product::Model {
        id: uuid::Uuid::now_v7().to_string(),
        vendor_id: format!("vendor-{}", i % 3),
        category_code: "katering.nasi-kotak".into(),
        name: AWKWARD[i % AWKWARD.len()].into(),
        description: AWKWARD[(i + 1) % AWKWARD.len()].into(),
        unit: "kotak".into(),
        price: 1_000 * i as i64 + 1,
        min_order_quantity: 1,
        stock: 10,
        image_urls: StringList::default(),
        delivery_regencies: StringList(match i % 3 {
            0 => vec![],
            1 => vec!["33.74".into()],
            _ => vec!["33.74".into(), "33.01".into(), "33.22".into()],
        }),
        domestic_product: true,
        status,
        version: 1,
        created_at: now,
        updated_at: now,
        creation_key: None,
    }
}

#[tokio::test]
async fn the_build_reads_every_listed_product_as_the_pages_by_id_do() {
    let database = TestDatabase::new().await;
    let conn = database.connect().await;
    db::migrate::<Migrator>(&conn).await.unwrap();
    let rows: Vec<product::Model> = (0..40)
        .map(|i| {
            let status = match i % 5 {
                3 => ProductStatus::Draft,
                4 => ProductStatus::Unlisted,
                _ => ProductStatus::Listed,
            };
            product(i, status)
        })
        .collect();
    product::Entity::insert_many(rows.into_iter().map(product::ActiveModel::from))
        .exec_without_returning(&conn)
        .await
        .unwrap();

    let mut by_id: Vec<SearchedProduct> = Vec::new();
    let mut after = None;
    loop {
        let page = listed_products_after(&conn, after.as_deref(), 7)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        by_id.extend(page);
    }
    assert_eq!(by_id.len(), 24, "three in five of 40 are listed");

    // Pages of 5: the last one short, none empty.
    let mut listed = ListedProducts::open(&conn, 5).await.unwrap();
    let mut read = Vec::new();
    while let Some(page) = listed.next_page().await.unwrap() {
        assert!(!page.is_empty() && page.len() <= 5);
        read.extend(page);
    }
    assert!(listed.next_page().await.unwrap().is_none());
    read.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(read, by_id);
    assert!(
        read.iter()
            .any(|p| p.name.contains('\t') && p.description.contains('\n')),
        "the awkward words were read back"
    );
}
