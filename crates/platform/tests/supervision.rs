//! A service does not outlive its background tasks: one that stops or
//! panics while the service runs ends it with an error naming the task,
//! instead of leaving a server that answers while its events stop.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use blangkon_platform::CancellationToken;
use blangkon_platform::grpc::GrpcError;
use blangkon_platform::host::ServiceHost;
use blangkon_platform::migration::{CreateDeadLetters, CreateInbox, CreateOutbox};
use blangkon_platform::settings::PlatformSettings;
use blangkon_testkit::TestDatabase;
use sea_orm_migration::{MigrationTrait, MigratorTrait};

struct PlatformOnly;

#[async_trait::async_trait]
impl MigratorTrait for PlatformOnly {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateInbox),
            Box::new(CreateDeadLetters),
        ]
    }
}

async fn host(db: &TestDatabase) -> ServiceHost {
    let mut settings = PlatformSettings::for_service("supervised", 0, None);
    settings.grpc.listen = "127.0.0.1:0".parse().unwrap();
    settings.grpc.shutdown_grace_secs = 2;
    settings.database.url = db.url.as_str().into();
    // No broker is needed: the relay waits for one.
    settings.kafka.bootstrap_servers = "127.0.0.1:9".into();
    settings.kafka.create_topics = false;
    settings.metrics.enabled = false;
    settings.auth.issuer = "http://127.0.0.1/supervised".into();
    settings.auth.hs256_secret = "a local secret of at least thirty-two bytes".into();
    ServiceHost::start::<PlatformOnly>("supervised", &settings, &[])
        .await
        .unwrap()
}

#[tokio::test]
async fn a_background_task_that_stops_or_panics_stops_the_service_naming_it() {
    for panics in [false, true] {
        let db = TestDatabase::sqlite();
        let mut host = host(&db).await;
        host.run_beside("doomed feed", move |_shutdown| async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if panics {
                panic!("the feed broke");
            }
        });
        let shutdown = CancellationToken::new();
        let served = tokio::time::timeout(
            Duration::from_secs(30),
            host.serve(&[], tonic::service::Routes::default(), shutdown.clone()),
        )
        .await
        .expect("the service ended");
        assert!(
            matches!(served, Err(GrpcError::TaskDied("doomed feed"))),
            "{served:?}"
        );
        assert!(shutdown.is_cancelled(), "the other tasks were told to stop");
    }
}

#[tokio::test]
async fn shutdown_abandons_a_task_that_outlasts_the_deadline() {
    let db = TestDatabase::sqlite();
    let mut host = host(&db).await;
    host.run_beside("stubborn consumer", |shutdown| async move {
        shutdown.cancelled().await;
        // Ignores the signal far longer than the grace.
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.cancel();
    });
    // Two seconds of grace; the hour-long task does not hold it up.
    let served = tokio::time::timeout(
        Duration::from_secs(60),
        host.serve(&[], tonic::service::Routes::default(), shutdown),
    )
    .await
    .expect("shutdown kept its deadline");
    assert!(served.is_ok(), "{served:?}");
}
