//! Two processes migrating one PostgreSQL database at once (pods starting
//! together, a migration Job beside them) run one after the other: both
//! succeed and every migration runs once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use blangkon_platform::settings::DatabaseSettings;
use blangkon_platform::{db, migration, migrator};
use blangkon_testkit::TestDatabase;
use sea_orm_migration::prelude::*;

mod schema {
    use super::*;

    migrator!(SlowMigration);

    migration! {
        /// Takes its time, so that a second migrator arrives while it runs,
        /// and counts how often its body ran.
        pub SlowMigration = "m20261130_000001_slow"
    }

    #[async_trait::async_trait]
    impl MigrationTrait for SlowMigration {
        async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
            let db = m.get_connection();
            db.execute_unprepared("CREATE TABLE runs (at TIMESTAMPTZ NOT NULL DEFAULT now())")
                .await?;
            db.execute_unprepared("SELECT pg_sleep(1)").await?;
            db.execute_unprepared("INSERT INTO runs DEFAULT VALUES")
                .await?;
            Ok(())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrators_take_turns_and_each_migration_runs_once() {
    // SQLite has one process: there is nothing to take turns with.
    let Some(test_db) = TestDatabase::postgres("the concurrent migration test").await else {
        return;
    };
    let settings = DatabaseSettings::new(test_db.url.as_str(), 3);
    let (first, second) = (
        db::connect(&settings).await.unwrap(),
        db::connect(&settings).await.unwrap(),
    );
    let (a, b) = tokio::join!(
        db::migrate::<schema::Migrator>(&first),
        db::migrate::<schema::Migrator>(&second),
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(test_db.count("runs").await, 1, "the migration ran once");
}
