//! A placing's first step, the lookup of its idempotency key and the
//! lease of its attempt (one statement on PostgreSQL, two on SQLite): the
//! same answers on both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use blangkon_order::store::migrations::Migrator;
use blangkon_order::store::{self, BuyerKey, Leasing, attempt, idempotency};
use blangkon_testkit::TestDatabase;
use chrono::{Duration, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection};

fn key(name: &str) -> BuyerKey {
    BuyerKey {
        regency: "33.74".into(),
        work_unit: "Dinas Pendidikan".into(),
        key: name.into(),
    }
}

fn attempt_of(key: &BuyerKey, reservation: &str, minute: i64) -> attempt::Model {
    attempt::Model {
        buyer_regency: key.regency.clone(),
        work_unit: key.work_unit.clone(),
        key: key.key.clone(),
        reservation_id: reservation.into(),
        started_at: Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0).unwrap() + Duration::minutes(minute),
    }
}

/// Leases `key` at `minute`, counting leases that started before
/// `live_from` as run out.
async fn lease(
    db: &DatabaseConnection,
    key: &BuyerKey,
    reservation: &str,
    minute: i64,
    live_from: i64,
) -> Leasing {
    let row = attempt_of(key, reservation, minute);
    let live_since = attempt_of(key, reservation, live_from).started_at;
    store::lease_unless_placed(db, key, row, live_since)
        .await
        .unwrap()
}

async fn leases_answer_alike(test_db: TestDatabase) {
    let db = test_db.connect().await;
    blangkon_platform::db::migrate::<Migrator>(&db)
        .await
        .unwrap();
    let first = key("key-1");
    assert_eq!(lease(&db, &first, "r-1", 0, -5).await, Leasing::Leased);
    // A second call while the first may still run: told to retry.
    assert_eq!(lease(&db, &first, "r-1", 1, -4).await, Leasing::Busy);
    // Once the first has run out, a retry takes over.
    assert_eq!(lease(&db, &first, "r-1", 10, 5).await, Leasing::Leased);
    // Other keys are leased on their own.
    assert_eq!(
        lease(&db, &key("key-2"), "r-2", 1, -4).await,
        Leasing::Leased
    );

    // Once an order is placed with the key, the key answers it, whatever
    // attempt is recorded.
    let placed = idempotency::Model {
        buyer_regency: first.regency.clone(),
        work_unit: first.work_unit.clone(),
        key: first.key.clone(),
        request_hash: "0".repeat(64),
        order_id: "01934a1e-0000-7000-8000-0000000000a1".into(),
        reservation_id: "r-1".into(),
        created_at: Utc.with_ymd_and_hms(2026, 12, 7, 2, 11, 0).unwrap(),
    };
    idempotency::ActiveModel::from(placed.clone())
        .insert(&db)
        .await
        .unwrap();
    assert_eq!(
        lease(&db, &first, "r-1", 12, 11).await,
        Leasing::Placed(placed.clone())
    );
    assert_eq!(
        lease(&db, &first, "r-1", 60, 59).await,
        Leasing::Placed(placed),
        "a run-out lease changes nothing then"
    );
    // The attempt recorded stays the one of minute 10: a placed key takes
    // no lease.
    let recorded =
        store::stale_attempts(&db, Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(), 10)
            .await
            .unwrap();
    let of_first: Vec<_> = recorded.iter().filter(|a| a.key == "key-1").collect();
    assert_eq!(of_first.len(), 1);
    assert_eq!(
        of_first[0].started_at,
        attempt_of(&first, "r-1", 10).started_at
    );
}

#[tokio::test]
async fn a_key_is_leased_or_answers_its_order_on_sqlite() {
    leases_answer_alike(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn a_key_is_leased_or_answers_its_order_on_postgres() {
    if let Some(db) =
        TestDatabase::postgres("a_key_is_leased_or_answers_its_order_on_postgres").await
    {
        leases_answer_alike(db).await;
    }
}
