//! Health that Kubernetes can trust: a service reports NOT_SERVING while
//! its database does not answer and SERVING again when it does; waiting on
//! Kafka does not count (the outbox keeps the data).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use blangkon_suite_tests::{Broker, DbProxy, report};
use blangkon_testkit::{TestDatabase, TestKafka, TestSuite, eventually, stop};
use blangkon_vendor::VendorService;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn status(endpoint: &str) -> ServingStatus {
    status_of(endpoint, "blangkon.vendor.v1.VendorService").await
}

async fn status_of(endpoint: &str, service: &str) -> ServingStatus {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let answer = health
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner();
    ServingStatus::try_from(answer.status).unwrap()
}

/// Waits until the service reports `wanted`; answers how long that took.
async fn until(endpoint: &str, wanted: ServingStatus) -> Duration {
    let start = Instant::now();
    let what = format!("the service reports {wanted:?}");
    eventually(&what, Duration::from_secs(20), || async {
        let seen = status(endpoint).await;
        if seen == wanted { Ok(()) } else { Err(seen) }
    })
    .await;
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database_and_not_the_broker() {
    // SQLite cannot go away.
    let Some(db) = TestDatabase::postgres("the readiness test").await else {
        return;
    };
    let broker = Broker::start().await;
    let proxy = DbProxy::to(&db.url).await;
    let services = TestSuite::on(TestKafka::external(broker.kafka.bootstrap.clone()));
    let settings = services
        .config
        .settings::<VendorService>(proxy.route(&db.url), 0);
    let vendor = services.start(settings).await;
    let endpoint = vendor.endpoint();
    assert_eq!(status(&endpoint).await, ServingStatus::Serving);

    proxy.cut();
    let unready_in = until(&endpoint, ServingStatus::NotServing).await;
    // Liveness does not follow the database: a restart would not help.
    assert_eq!(
        status_of(&endpoint, blangkon_platform::grpc::LIVENESS).await,
        ServingStatus::Serving
    );
    proxy.restore();
    let ready_in = until(&endpoint, ServingStatus::Serving).await;

    // The broker going away leaves it serving.
    broker.hang();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(status(&endpoint).await, ServingStatus::Serving);
    broker.resume();

    report(format_args!(
        "readiness: NOT_SERVING {:.1}s after the database went away, SERVING {:.1}s after it \
         came back; still SERVING with the broker hung",
        unready_in.as_secs_f64(),
        ready_in.as_secs_f64()
    ));
    stop(vendor).await;
}
