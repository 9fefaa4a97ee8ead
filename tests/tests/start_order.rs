//! In a cluster the services start in any order. Here each consumer starts
//! before the service that writes what it reads: reporting before all, the
//! catalog before the vendor service. Events must still reach them within
//! seconds, not after a metadata refresh minutes later.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use blangkon_suite_tests::{Broker, Load, Member, Shop, report, scrape};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consumers_started_before_their_producers_apply_the_first_events_within_seconds() {
    let broker = Broker::start().await;
    // `open_reversed` starts reporting, then the catalog, then the order
    // and vendor services, on a broker that holds no topic yet.
    let started = Instant::now();
    let shop = Shop::open_reversed(&broker).await;
    // The catalog learnt over Kafka that the vendor is verified: the shop
    // could list its product.
    let listed_in = started.elapsed();

    let load = Load::start(&shop, 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let orders = load.stop().await;
    let caught_up_in = shop.reporting_counts(orders, Duration::from_secs(20)).await;

    // Freshness at light load: one order, alone, until reporting counts it.
    let mut alone = Vec::new();
    for n in 1..=10 {
        shop.place_one().await;
        let counted = shop
            .reporting_counts(orders + n, Duration::from_secs(5))
            .await;
        alone.push(counted);
    }
    alone.sort();
    let figures = shop.reconcile(Duration::from_secs(20)).await;
    report(format_args!(
        "start in any order ({}): the vendor's product listed {:.1}s after the first service \
         started; reporting counted all {orders} orders {:.2}s after the last; one order alone \
         reached reporting's figures in {:?} (median of 10, max {:?}); {figures}",
        broker.kind(),
        listed_in.as_secs_f64(),
        caught_up_in.as_secs_f64(),
        alone[5],
        alone[9],
    ));
    assert!(orders > 0);
    assert!(figures.balances(), "{figures}");
    // Reporting counted what its projection applied.
    let address = shop.metrics_address(Member::Reporting).unwrap();
    let metrics = tokio::task::spawn_blocking(move || scrape(address))
        .await
        .unwrap();
    let applied: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "blangkon_consumer_events_total{consumer=\"reporting\",outcome=\"applied\"} ",
            )
        })
        .unwrap_or_else(|| panic!("no applied count in:\n{metrics}"))
        .parse()
        .unwrap();
    assert!(
        applied >= orders as u64,
        "{applied} applied for {orders} orders"
    );
    shop.close().await;
}
