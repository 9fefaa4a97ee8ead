//! `blangkon bench suite` (`make bench`): every benchmark in one run, and
//! one table of what they measured, each figure beside the limit measured
//! the same way in the same run on the same machine, and the ratio — so a
//! reader can tell what the services cost from what the machine allows,
//! however busy the machine was. `--json` writes the table for comparing
//! runs.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use sea_orm::{ConnectionTrait, Database};

use super::catalog::CatalogBench;
use super::lag::LagBench;
use super::memory::MemoryBench;
use super::order::OrderBench;
use super::reporting::ReportingBench;
use super::{Figure, Infrastructure, catalog, lag, memory, order, reporting};

#[derive(Args)]
pub struct SuiteBench {
    #[command(flatten)]
    at: Infrastructure,
    /// A smoke run of a couple of minutes: shorter measurements, 50,000
    /// products instead of 500,000, a smaller reporting year.
    #[arg(long)]
    quick: bool,
    /// Also write the table as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The machine and the run, for the table's header.
#[derive(Debug, serde::Serialize)]
struct Machine {
    cores: usize,
    postgresql: String,
    broker: String,
    build: &'static str,
    date: String,
    quick: bool,
}

pub async fn run(bench: SuiteBench) -> anyhow::Result<()> {
    // Refused before anything is measured: on librdkafka's embedded mock
    // cluster the reporting part's raw consume stalls, after the minutes
    // the other parts take.
    if bench.at.kafka.is_none() {
        anyhow::bail!(
            "the whole-suite benchmark needs a Kafka-protocol broker: `make bench` starts tansu \
             (deploy/local/tansu.sh start) and passes it, or pass --kafka <bootstrap>; the parts \
             that need none run alone (make bench-order, bench-catalog, bench-overload)"
        );
    }
    let machine = machine(&bench).await?;
    let (seconds, products, orders, suspensions) = if bench.quick {
        (2, 50_000, 2_000, 5)
    } else {
        (10, 500_000, 20_000, 20)
    };
    let mut figures = Vec::new();
    figures.extend(
        order::run(OrderBench {
            server: bench.at.server.clone(),
            seconds,
            concurrency: vec![1, 4, 16],
            suspensions,
            relay_linger_ms: blangkon_platform::settings::KafkaSettings::default().relay_linger_ms,
            kafka: bench.at.kafka.clone(),
        })
        .await
        .context("the order benchmark")?,
    );
    figures.extend(
        catalog::run(CatalogBench {
            products,
            database_url: format!("{}/blangkon_bench_catalog", bench.at.server),
            reuse: true,
            seconds,
            concurrency: vec![1, 4, 16],
            kafka: bench.at.kafka.clone(),
        })
        .await
        .context("the catalog benchmark")?,
    );
    // A province's light load, then ten times it: the ledger should follow
    // within p99 100 ms at the first and 1 s at the second. Every order
    // followed at the first, every fifth at the second: about 500 and
    // 1,000 samples in 10 s (fewer where placing falls short of the rate),
    // where a hundred made the p99 their largest but one.
    for (rate, buyers, sample_every) in [(50.0, 4, 1), (500.0, 16, 5)] {
        figures.extend(
            lag::run(LagBench {
                at: bench.at.clone(),
                seconds: seconds.max(5),
                buyers,
                rate,
                sample_every,
                consumer_wait_ms: blangkon_platform::settings::KafkaSettings::default()
                    .consumer_wait_ms,
                relay_linger_ms: blangkon_platform::settings::KafkaSettings::default()
                    .relay_linger_ms,
                kafka_properties: Vec::new(),
            })
            .await
            .with_context(|| format!("the lag benchmark at {rate} orders/s"))?,
        );
    }
    figures.extend(
        reporting::run(ReportingBench {
            at: bench.at.clone(),
            orders,
            vendors: orders / 10,
            reads: if bench.quick { 20 } else { 100 },
            rebuild_only: false,
        })
        .await
        .context("the reporting benchmark")?,
    );
    figures.extend(
        memory::run(MemoryBench {
            at: bench.at.clone(),
            seconds,
            buyers: 4,
            products,
        })
        .await
        .context("the memory benchmark")?,
    );

    print_table(&machine, &figures);
    if let Some(path) = &bench.json {
        let json = serde_json::json!({ "machine": machine, "figures": figures });
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("written to {}", path.display());
    }
    Ok(())
}

async fn machine(bench: &SuiteBench) -> anyhow::Result<Machine> {
    let admin = Database::connect(format!("{}/postgres", bench.at.server))
        .await
        .with_context(|| format!("connecting to {}", bench.at.server))?;
    let version = admin
        .query_one_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            "SHOW server_version",
        ))
        .await?
        .and_then(|row| row.try_get::<String>("", "server_version").ok())
        .unwrap_or_else(|| "?".into());
    admin.close().await.ok();
    Ok(Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        postgresql: version,
        broker: bench
            .at
            .kafka
            .clone()
            .unwrap_or_else(|| "embedded mock cluster".into()),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        quick: bench.quick,
    })
}

fn print_table(machine: &Machine, figures: &[Figure]) {
    println!();
    println!(
        "Blangkon, whole suite: {} cores, PostgreSQL {}, broker {}, {} build, {}{}",
        machine.cores,
        machine.postgresql,
        machine.broker,
        machine.build,
        machine.date,
        if machine.quick { ", quick run" } else { "" }
    );
    println!(
        "{:<56} {:>12} {:<9} {:>12}  {:<52} {:>7}",
        "figure", "value", "unit", "limit", "limit measured as", "ratio"
    );
    for figure in figures {
        let (limit, what, ratio) = match &figure.limit {
            Some(limit) => (
                format!("{:.2}", limit.value),
                limit.what.as_str(),
                format!("{:.2}x", limit.ratio),
            ),
            None => ("-".into(), "", "-".into()),
        };
        println!(
            "{:<56} {:>12.2} {:<9} {:>12}  {:<52} {:>7}",
            figure.what, figure.value, figure.unit, limit, what, ratio
        );
    }
}
