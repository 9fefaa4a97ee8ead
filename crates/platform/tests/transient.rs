//! Database failures that a retry gets past are told apart from the rest,
//! on the real servers: a call that loses its connection or is cut by an
//! admin shutdown is UNAVAILABLE; one that loses a serialization or a
//! deadlock to a concurrent transaction, or finds SQLite locked, is
//! ABORTED; neither is INTERNAL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use blangkon_platform::db::{self, Transient};
use blangkon_platform::settings::DatabaseSettings;
use blangkon_testkit::{TestDatabase, eventually};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use tonic::Code;

async fn pool(url: &str, max_connections: u32) -> DatabaseConnection {
    let settings = DatabaseSettings::new(url, max_connections);
    db::connect(&settings).await.unwrap()
}

fn code_of(err: DbErr) -> Code {
    blangkon_platform::status::database(&err).code()
}

/// The PostgreSQL test database, or `None` (said on stderr; a failure in
/// CI) when the tests run on SQLite, which has no server to cut.
async fn postgres() -> Option<TestDatabase> {
    TestDatabase::postgres("cutting database connections").await
}

#[tokio::test]
async fn a_call_cut_by_an_admin_shutdown_is_unavailable() {
    let Some(test_db) = postgres().await else {
        return;
    };
    let (victim, admin) = (pool(&test_db.url, 2).await, pool(&test_db.url, 2).await);
    let call = tokio::spawn(async move {
        victim
            .execute_unprepared("SELECT pg_sleep(30)")
            .await
            .unwrap_err()
    });
    // Terminate the backend running the sleep: SQLSTATE 57P01.
    eventually(
        "the sleeping backend is terminated",
        Duration::from_secs(10),
        || async {
            let cut = admin
                .execute_unprepared(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE query = 'SELECT pg_sleep(30)' AND pid <> pg_backend_pid()",
                )
                .await
                .unwrap();
            (cut.rows_affected() > 0).then_some(())
        },
    )
    .await;
    let err = call.await.unwrap();
    assert_eq!(db::transient(&err), Some(Transient::Unavailable), "{err}");
    assert_eq!(code_of(err), Code::Unavailable);
}

#[tokio::test]
async fn a_lost_serialization_or_deadlock_is_aborted() {
    let Some(test_db) = postgres().await else {
        return;
    };
    let conn = pool(&test_db.url, 4).await;
    conn.execute_unprepared("CREATE TABLE stock (id INT PRIMARY KEY, n INT NOT NULL)")
        .await
        .unwrap();
    conn.execute_unprepared("INSERT INTO stock VALUES (1, 10), (2, 10)")
        .await
        .unwrap();

    // Serialization: two serializable transactions each read what the
    // other writes.
    let (a, b) = (conn.begin().await.unwrap(), conn.begin().await.unwrap());
    for txn in [&a, &b] {
        txn.execute_unprepared("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            .await
            .unwrap();
        txn.execute_unprepared("SELECT sum(n) FROM stock")
            .await
            .unwrap();
    }
    a.execute_unprepared("UPDATE stock SET n = n - 1 WHERE id = 1")
        .await
        .unwrap();
    b.execute_unprepared("UPDATE stock SET n = n - 1 WHERE id = 2")
        .await
        .unwrap();
    a.commit().await.unwrap();
    let err = b.commit().await.unwrap_err();
    assert_eq!(db::transient(&err), Some(Transient::Conflict), "{err}");
    assert_eq!(code_of(err), Code::Aborted);

    // Deadlock: each transaction holds the row the other wants next.
    let (a, b) = (conn.begin().await.unwrap(), conn.begin().await.unwrap());
    a.execute_unprepared("UPDATE stock SET n = n + 1 WHERE id = 1")
        .await
        .unwrap();
    b.execute_unprepared("UPDATE stock SET n = n + 1 WHERE id = 2")
        .await
        .unwrap();
    let (first, second) = tokio::join!(
        a.execute_unprepared("UPDATE stock SET n = n + 1 WHERE id = 2"),
        b.execute_unprepared("UPDATE stock SET n = n + 1 WHERE id = 1"),
    );
    let err = first.err().or(second.err()).expect("one of them deadlocks");
    assert_eq!(db::transient(&err), Some(Transient::Conflict), "{err}");
    assert_eq!(code_of(err), Code::Aborted);
}

#[tokio::test]
async fn a_locked_sqlite_database_is_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("locked.db").display()
    );
    let holder = pool(&url, 2).await;
    holder
        .execute_unprepared("CREATE TABLE t (n INTEGER)")
        .await
        .unwrap();
    let lock = db::begin_write(&holder).await.unwrap();
    lock.execute_unprepared("INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    // A second writer (one connection) that will not wait for the lock.
    let other = pool(&url, 1).await;
    other
        .execute_unprepared("PRAGMA busy_timeout = 0")
        .await
        .unwrap();
    let err = other
        .execute_unprepared("INSERT INTO t VALUES (2)")
        .await
        .unwrap_err();
    assert_eq!(db::transient(&err), Some(Transient::Conflict), "{err}");
    assert_eq!(code_of(err), Code::Aborted);
    lock.rollback().await.unwrap();
}
