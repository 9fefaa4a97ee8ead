//! Every service serves Prometheus metrics (OpenMetrics text) on its own
//! port: the platform's figures are there from the start.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use blangkon_proto::vendor as ven;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use blangkon_suite_tests::{Broker, Member, Shop, report, scrape};
use blangkon_testkit::{TestDatabase, TestSuite, eventually, stop};
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
        "blangkon_outbox_relay_stalled_seconds 0",
        "blangkon_outbox_relay_consecutive_failures",
        "blangkon_outbox_producers_replaced_total",
        "blangkon_outbox_unpublished_events 0",
        "blangkon_database_pool_connections{state=\"in_use\"}",
        "blangkon_database_pool_connections{state=\"idle\"}",
        "# TYPE rpc_server_call_duration_seconds histogram",
        "rpc_server_call_duration_seconds_count{rpc_method=\"blangkon.vendor.v1.VendorService/ListRegencies\",rpc_grpc_status_code=\"16\"} 1",
    ] {
        assert!(answer.contains(name), "{name} missing from:\n{answer}");
    }
    assert!(answer.trim_end().ends_with("# EOF"), "{answer}");
    stop(vendor).await;
}

/// The value of the sample `series` (name and labels, exactly) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

/// The figures an operator reads to see whether the suite keeps up: the
/// outbox backlog, each consumer's lag per partition, and how fresh the
/// catalog's search index is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_reports_backlog_lag_and_search_freshness() {
    let broker = Broker::start().await;
    let shop = Shop::open(&broker).await;
    shop.place_one().await;
    shop.drained(Duration::from_secs(30)).await;
    shop.reporting_counts(1, Duration::from_secs(30)).await;

    let metrics = |member: Member| {
        let address = shop.metrics_address(member).unwrap();
        async move {
            tokio::task::spawn_blocking(move || scrape(address))
                .await
                .unwrap()
        }
    };
    // Consumers report their lag from librdkafka's statistics, every 5 s:
    // reporting holds all six partitions of the order events, and has
    // applied everything on them.
    let order_topic = "topic=\"blangkon.order.events.v1\"";
    let what = "reporting's lag on the order events is 0 on 6 partitions";
    let lags = eventually(what, Duration::from_secs(30), || async {
        let text = metrics(Member::Reporting).await;
        let lags: Vec<f64> = text
            .lines()
            .filter(|l| l.starts_with("blangkon_consumer_lag{") && l.contains(order_topic))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        if lags.len() == 6 && lags.iter().all(|lag| *lag == 0.0) {
            Ok(lags)
        } else {
            Err(lags)
        }
    })
    .await;

    let order = metrics(Member::Order).await;
    assert_eq!(
        sample(&order, "blangkon_outbox_unpublished_events"),
        Some(0.0),
        "{order}"
    );
    assert_eq!(
        sample(&order, "blangkon_orders_total{status=\"placed\"}"),
        Some(1.0),
        "{order}"
    );
    // Its vendor check was answered by the order service's projection, or
    // (had it not heard of the vendor yet) by the vendor service.
    let checks = ["projection", "vendor_service"].map(|by| {
        sample(
            &order,
            &format!("blangkon_order_vendor_checks_from_{by}_total"),
        )
    });
    assert!(checks.iter().all(Option::is_some), "{order}");
    assert_eq!(checks.iter().flatten().sum::<f64>(), 1.0, "{order}");

    // The listed product went through the search feed.
    let catalog = metrics(Member::Catalog).await;
    let refreshed = sample(
        &catalog,
        "blangkon_catalog_search_refresh_lag_seconds_count",
    );
    assert!(refreshed.is_some_and(|n| n >= 1.0), "{catalog}");
    let behind = sample(&catalog, "blangkon_catalog_search_behind_seconds").unwrap();
    assert!(behind < 5.0, "search is {behind} s behind:\n{catalog}");
    assert_eq!(
        sample(&catalog, "blangkon_catalog_search_products"),
        Some(1.0)
    );
    report(format_args!(
        "metrics: reporting lag {lags:?} on the order events; catalog search {behind:.3} s \
         behind, {} changes refreshed",
        refreshed.unwrap_or_default()
    ));
    shop.close().await;
}
