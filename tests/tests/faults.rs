//! Fault scenarios of the whole suite: each runs orders under load through
//! a fault, then checks that every event got out and that the order
//! database, reporting, the analysts' stream and the stock agree. Each
//! prints its figures: orders placed, the outbox backlog's peak, and how
//! long the suite took to recover.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use blangkon_suite_tests::{Broker, Load, Shop};

/// How long the broker stays frozen: the hang of the issue that found the
/// relay stuck for good.
const HANG: Duration = Duration::from_secs(20);

/// Samples the outbox backlog until stopped; answers its peak.
fn watch_backlog(shop: &Shop) -> (Arc<AtomicI64>, tokio::task::JoinHandle<()>) {
    let peak = Arc::new(AtomicI64::new(0));
    let (outboxes, seen) = (shop.outboxes(), peak.clone());
    let task = tokio::spawn(async move {
        loop {
            let waiting = outboxes.unpublished().await;
            seen.fetch_max(waiting, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    (peak, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_the_broker_hangs_under_load_events_flow_again_without_a_restart() {
    let broker = Broker::start().await;
    let shop = Shop::open(&broker).await;
    let (peak, watcher) = watch_backlog(&shop);
    let load = Load::start(&shop, 4);
    tokio::time::sleep(Duration::from_secs(3)).await;

    broker.hang();
    tokio::time::sleep(HANG).await;
    let during_hang = load.placed();
    broker.resume();
    let resumed = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let orders = load.stop().await;

    // Publishing resumes without restarting anything: every outbox drains.
    shop.drained(Duration::from_secs(90)).await;
    let recovered_in = resumed.elapsed();
    let figures = shop.reconcile(Duration::from_secs(60)).await;
    watcher.abort();
    println!(
        "broker hang ({}, {HANG:?}): {orders} orders ({during_hang} placed before the resume), \
         backlog peak {} events, every outbox drained {:.1}s after the resume; {figures}",
        broker.kind(),
        peak.load(Ordering::Relaxed),
        recovered_in.as_secs_f64(),
    );
    assert!(orders > 0, "the buyers placed nothing");
    assert_eq!(figures.orders, orders, "{figures}");
    assert!(figures.balances(), "{figures}");
    shop.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_service_killed_under_load_and_started_again_loses_nothing() {
    let broker = Broker::start().await;
    let mut shop = Shop::open_processes(&broker).await;
    let (peak, watcher) = watch_backlog(&shop);
    let load = Load::start(&shop, 4);
    tokio::time::sleep(Duration::from_secs(3)).await;

    let started = Instant::now();
    for service in ["vendor", "catalog", "order", "reporting"] {
        shop.crash(service, Duration::from_secs(2)).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
    let orders = load.stop().await;

    let drained_in = shop.drained(Duration::from_secs(90)).await;
    let figures = shop.reconcile(Duration::from_secs(90)).await;
    watcher.abort();
    println!(
        "kill -9 of each service ({}): {orders} orders over {:.0}s, backlog peak {} events, \
         every outbox drained {:.1}s after the load stopped; {figures}",
        broker.kind(),
        started.elapsed().as_secs_f64(),
        peak.load(Ordering::Relaxed),
        drained_in.as_secs_f64(),
    );
    assert!(orders > 0, "the buyers placed nothing");
    assert_eq!(figures.orders, orders, "{figures}");
    assert!(figures.balances(), "{figures}");
    shop.close().await;
}
