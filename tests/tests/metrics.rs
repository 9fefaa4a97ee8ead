//! Every service serves Prometheus metrics (OpenMetrics text) on its own
//! port: the platform's figures are there from the start.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use blangkon_proto::vendor as ven;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use blangkon_suite_tests::scrape;
use blangkon_testkit::{TestDatabase, TestSuite, stop};
use blangkon_vendor::VendorService;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_serves_its_metrics_in_the_openmetrics_format() {
    let db = TestDatabase::new().await;
    let services = TestSuite::new();
    let vendor = services.start_on::<VendorService>(&db).await;
    let address = vendor.metrics_address().expect("metrics are on by default");
    // One call refused for want of a token: UNAUTHENTICATED, code 16.
    let mut client = VendorServiceClient::connect(vendor.endpoint())
        .await
        .unwrap();
    let refused = client
        .list_regencies(ven::ListRegenciesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let answer = tokio::task::spawn_blocking(move || scrape(address))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("application/openmetrics-text"), "{answer}");
    for name in [
        "blangkon_outbox_oldest_unpublished_age_seconds",
        "blangkon_outbox_relay_consecutive_failures",
        "blangkon_outbox_producers_replaced_total",
        "blangkon_database_pool_connections{state=\"in_use\"}",
        "blangkon_database_pool_connections{state=\"idle\"}",
        "# TYPE rpc_server_call_duration_seconds histogram",
        "rpc_server_call_duration_seconds_count{rpc_method=\"/blangkon.vendor.v1.VendorService/ListRegencies\",rpc_grpc_status_code=\"16\"} 1",
    ] {
        assert!(answer.contains(name), "{name} missing from:\n{answer}");
    }
    assert!(answer.trim_end().ends_with("# EOF"), "{answer}");
    stop(vendor).await;
}
