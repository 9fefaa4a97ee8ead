//! Fault scenarios of the whole suite: each runs orders under load through
//! a fault, then checks that every event got out and that the order
//! database, reporting, the analysts' stream and the stock agree. Each
//! prints its figures: orders placed, the outbox backlog's peak, and how
//! long the suite took to recover.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use blangkon_suite_tests::{Broker, DbProxy, Load, Member, Reconciliation, Shop, report};

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

/// How a scenario ends: the load stopped, every outbox drained, and the
/// figures reconciled.
struct Aftermath {
    orders: i64,
    retried: i64,
    backlog_peak: i64,
    /// From the end of the fault (or of the load) to the last outbox
    /// drained.
    recovered_in: Duration,
    figures: Reconciliation,
}

impl Aftermath {
    /// Stops `load` and `watcher`, then waits for the suite to settle;
    /// `fault_ended` is when the fault ended, if not with the load.
    async fn settle(
        shop: &Shop,
        load: Load,
        (peak, watcher): (Arc<AtomicI64>, tokio::task::JoinHandle<()>),
        fault_ended: Option<Instant>,
    ) -> Self {
        let retried = load.retried();
        let orders = load.stop().await;
        let recovering_since = fault_ended.unwrap_or_else(Instant::now);
        // Publishing resumes without restarting anything: every outbox drains.
        shop.drained(Duration::from_secs(90)).await;
        let recovered_in = recovering_since.elapsed();
        let figures = shop.reconcile(Duration::from_secs(90)).await;
        watcher.abort();
        Self {
            orders,
            retried,
            backlog_peak: peak.load(Ordering::Relaxed),
            recovered_in,
            figures,
        }
    }

    /// Closes the shop, then fails the test unless every order placed is
    /// in every figure and nothing else is; if reporting lacks orders, the
    /// test first prints where their events were lost. The shop is closed
    /// first: a test that fails with its services running does not end
    /// (see `Suite`'s fail-fast hook).
    async fn close_and_check(self, shop: Shop) {
        if self.figures.orders > self.figures.reporting_orders {
            report(format_args!("{}", shop.trace_missing_orders().await));
        }
        shop.close().await;
        let figures = &self.figures;
        assert!(self.orders > 0, "the buyers placed nothing");
        assert_eq!(figures.orders, self.orders, "{figures}");
        assert!(figures.balances(), "{figures}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_the_broker_hangs_under_load_events_flow_again_without_a_restart() {
    let broker = Broker::start().await;
    let shop = Shop::open(&broker).await;
    let watch = watch_backlog(&shop);
    let load = Load::start(&shop, 4);
    tokio::time::sleep(Duration::from_secs(3)).await;

    broker.hang();
    tokio::time::sleep(HANG).await;
    let during_hang = load.placed();
    broker.resume();
    let resumed = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = Aftermath::settle(&shop, load, watch, Some(resumed)).await;
    report(format_args!(
        "broker hang ({}, {HANG:?}): {} orders ({during_hang} placed before the resume, \
         {} calls retried), \
         backlog peak {} events, every outbox drained {:.1}s after the resume; {}",
        broker.kind(),
        after.orders,
        after.retried,
        after.backlog_peak,
        after.recovered_in.as_secs_f64(),
        after.figures,
    ));
    after.close_and_check(shop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_service_killed_under_load_and_started_again_loses_nothing() {
    let broker = Broker::start().await;
    let mut shop = Shop::open_processes(&broker).await;
    let watch = watch_backlog(&shop);
    let load = Load::start(&shop, 4);
    tokio::time::sleep(Duration::from_secs(3)).await;

    let started = Instant::now();
    for member in Member::ALL {
        shop.crash(member, Duration::from_secs(2)).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
    let loaded_for = started.elapsed();
    let after = Aftermath::settle(&shop, load, watch, None).await;
    report(format_args!(
        "kill -9 of each service ({}): {} orders over {:.0}s ({} calls retried), \
         backlog peak {} events, \
         every outbox drained {:.1}s after the load stopped; {}",
        broker.kind(),
        after.orders,
        loaded_for.as_secs_f64(),
        after.retried,
        after.backlog_peak,
        after.recovered_in.as_secs_f64(),
        after.figures,
    ));
    after.close_and_check(shop).await;
}

/// How long PostgreSQL stays away: a restart's worth.
const DATABASE_AWAY: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_postgresql_restarts_under_load_every_call_was_retryable_and_nothing_is_lost() {
    // SQLite has no server to restart.
    let Some(url) = std::env::var(blangkon_testkit::DATABASE_ENV)
        .ok()
        .filter(|u| u.starts_with("postgres"))
    else {
        blangkon_testkit::missing_part("the PostgreSQL restart test", "PostgreSQL");
        return;
    };
    let broker = Broker::start().await;
    let proxy = DbProxy::to(&url).await;
    let shop = Shop::open_behind(&broker, &proxy).await;
    let watch = watch_backlog(&shop);
    // Buyers fail the test on any answer that is not retryable (INTERNAL).
    let load = Load::start(&shop, 4);
    tokio::time::sleep(Duration::from_secs(3)).await;

    for _ in 0..2 {
        proxy.cut();
        tokio::time::sleep(DATABASE_AWAY).await;
        proxy.restore();
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let after = Aftermath::settle(&shop, load, watch, None).await;
    report(format_args!(
        "PostgreSQL cut twice for {DATABASE_AWAY:?} ({}): {} orders ({} calls \
         retried, none INTERNAL), backlog peak {} \
         events, every outbox drained {:.1}s after the load stopped; {}",
        broker.kind(),
        after.orders,
        after.retried,
        after.backlog_peak,
        after.recovered_in.as_secs_f64(),
        after.figures,
    ));
    after.close_and_check(shop).await;
}
