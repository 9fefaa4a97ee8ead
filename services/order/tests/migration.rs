//! The migration that tells work units apart by regency, on a database
//! that already holds orders, keys and a placing attempt from before it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use blangkon_order::store::migrations::Migrator;
use blangkon_order::store::{self, BuyerKey};
use blangkon_testkit::TestDatabase;
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::MigratorTrait;

const ORDER: &str = "01934a1e-0000-7000-8000-0000000000a1";

#[tokio::test]
async fn keys_and_attempts_made_before_take_their_regency_and_keep_their_reservation() {
    let test_db = TestDatabase::new().await;
    let db = test_db.connect().await;
    // Everything before the migration: the platform's three and the three
    // order migrations.
    Migrator::up(&db, Some(6)).await.unwrap();
    let backend = db.get_database_backend();
    for sql in [
        format!(
            "INSERT INTO orders (id, buyer_work_unit, buyer_regency, buyer_subject, vendor_id, \
             vendor_name, vendor_regency, vendor_legal_form, vendor_scale, total, status, note, \
             version, placed_at, updated_at) VALUES ('{ORDER}', 'Dinas Pendidikan', '33.24', \
             'ppk', '01934a1e-0000-7000-8000-0000000000b1', 'Bu Sri', '33.24', 'individual', \
             'micro', 500000, 'placed', '', 0, '2026-11-30T00:00:00Z', '2026-11-30T00:00:00Z')"
        ),
        format!(
            "INSERT INTO idempotency_keys (work_unit, key, request_hash, order_id, created_at) \
             VALUES ('Dinas Pendidikan', 'key-placed', '{}', '{ORDER}', '2026-11-30T00:00:00Z')",
            "0".repeat(64)
        ),
        "INSERT INTO placing_attempts (work_unit, key, reservation_id, started_at) VALUES \
         ('Dinas Kesehatan', 'key-abandoned', '01934a1e-0000-7000-8000-0000000000c1', \
         '2026-11-30T00:00:00Z')"
            .to_string(),
        // An attempt left behind by a placing whose order was written.
        "INSERT INTO placing_attempts (work_unit, key, reservation_id, started_at) VALUES \
         ('Dinas Pendidikan', 'key-placed', '01934a1e-0000-7000-8000-0000000000c2', \
         '2026-11-30T00:00:00Z')"
            .to_string(),
    ] {
        db.execute_raw(Statement::from_string(backend, sql))
            .await
            .unwrap();
    }

    blangkon_platform::db::migrate::<Migrator>(&db)
        .await
        .unwrap();

    let key = store::find_key(
        &db,
        &BuyerKey {
            regency: "33.24".into(),
            work_unit: "Dinas Pendidikan".into(),
            key: "key-placed".into(),
        },
    )
    .await
    .unwrap()
    .expect("the key, under its order's regency");
    assert_eq!(key.order_id, ORDER);
    // The id its stock was reserved under then: the work unit and the key.
    let before = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        b"blangkon-order:Dinas Pendidikan:key-placed",
    );
    assert_eq!(key.reservation(), before.to_string());

    let attempts = store::stale_attempts(&db, blangkon_platform::time::now(), 10)
        .await
        .unwrap();
    let attempt = |key: &str| attempts.iter().find(|a| a.key == key).unwrap();
    assert_eq!(attempts.len(), 2);
    let abandoned = attempt("key-abandoned");
    assert_eq!(
        abandoned.buyer_regency, "",
        "no order tells its regency; the sweeper releases it all the same"
    );
    assert_eq!(
        abandoned.reservation_id,
        "01934a1e-0000-7000-8000-0000000000c1"
    );
    // The other takes its order's regency: the sweeper finds the key and
    // keeps the order's stock.
    let placed = attempt("key-placed");
    assert_eq!(placed.buyer_regency, "33.24");
    let its_key = BuyerKey {
        regency: placed.buyer_regency.clone(),
        work_unit: placed.work_unit.clone(),
        key: placed.key.clone(),
    };
    assert!(store::find_key(&db, &its_key).await.unwrap().is_some());
}
