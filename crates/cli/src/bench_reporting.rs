//! `blangkon bench reporting`: how fast the reporting projection applies
//! domain events on PostgreSQL (each through the inbox, in its own
//! transaction, with its analyst records, as the live service does), and
//! how fast the public reads answer once the read model holds many orders.
//!
//! The events are generated (regencies, vendors, products, and orders that
//! go through the lifecycle's outcomes) and applied in order by one task,
//! as one consumer applies its partitions; no broker is involved.

use std::time::{Duration, Instant};

use blangkon_platform::inbox::{self, ReceivedEvent};
use blangkon_platform::kafka::topics;
use blangkon_platform::outbox::{NewEvent, RelayWaker};
use blangkon_platform::time::to_timestamp;
use blangkon_proto::events as ev;
use blangkon_proto::reporting as pb;
use blangkon_proto::reporting::reporting_service_server::ReportingService;
use blangkon_proto::vendor::{LegalForm, Scale, VendorStatus};
use blangkon_reporting::api::ReportingApi;
use blangkon_reporting::projection::{CONSUMER, Projection};
use blangkon_reporting::settings::ReportingSettings;
use chrono::{DateTime, Duration as Days, Utc};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::Database;

use crate::bench::{percentile, regency_codes};
use crate::bench_order::fresh_database;

#[derive(Args)]
pub struct ReportingBench {
    /// PostgreSQL server; the benchmark makes the database
    /// `blangkon_bench_reporting` on it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    server: String,
    /// Orders to generate; each has two to six events.
    #[arg(long, default_value_t = 20_000)]
    orders: usize,
    /// Vendors (each registered and verified) and their products.
    #[arg(long, default_value_t = 2_000)]
    vendors: usize,
    /// Calls per read measured.
    #[arg(long, default_value_t = 100)]
    reads: usize,
}

const CATEGORIES: &[&str] = &[
    "katering.nasi-kotak",
    "katering.prasmanan",
    "snack.kue",
    "atk.kertas",
    "atk.alat-tulis",
    "percetakan.spanduk",
    "batik.seragam",
    "mebel.kantor",
    "kebersihan.sabun",
    "it.printer",
    "jasa.event",
];

struct Vendor {
    id: String,
    name: String,
    regency: String,
    legal_form: &'static str,
    scale: &'static str,
    products: Vec<(String, &'static str, i64)>,
}

fn event<M: prost::Name>(topic: &str, id: &str, at: DateTime<Utc>, payload: &M) -> ReceivedEvent {
    let new = NewEvent::new(topic, "bench", "bench", id, at, payload);
    ReceivedEvent {
        envelope: new.envelope,
        topic: topic.to_string(),
        partition: 0,
        offset: 0,
    }
}

/// The whole history, in the order it happened.
fn history(bench: &ReportingBench, rng: &mut StdRng) -> Vec<ReceivedEvent> {
    let start = Utc::now() - Days::days(365);
    let mut events = Vec::new();
    let regencies = regency_codes();
    for code in &regencies {
        events.push(event(
            topics::VENDOR_EVENTS,
            code,
            start,
            &ev::RegencyJoined {
                regency_code: code.clone(),
                regency_name: format!("Kabupaten {code}"),
                joined_at: Some(to_timestamp(start)),
                actor: None,
            },
        ));
    }
    let forms = [
        (LegalForm::Individual, "individual"),
        (LegalForm::Cv, "cv"),
        (LegalForm::Pt, "pt"),
        (LegalForm::Koperasi, "koperasi"),
    ];
    let scales = [
        (Scale::Micro, "micro"),
        (Scale::Small, "small"),
        (Scale::Medium, "medium"),
    ];
    let mut vendors = Vec::with_capacity(bench.vendors);
    for i in 0..bench.vendors {
        let id = uuid::Uuid::now_v7().to_string();
        let regency = regencies[rng.random_range(0..regencies.len())].clone();
        let (form, legal_form) = forms[rng.random_range(0..forms.len())];
        let (scale_enum, scale) = scales[rng.random_range(0..scales.len())];
        let at = start + Days::minutes(i as i64);
        events.push(event(
            topics::VENDOR_EVENTS,
            &id,
            at,
            &ev::VendorRegistered {
                vendor_id: id.clone(),
                name: format!("UMKM {i}"),
                regency_code: regency.clone(),
                legal_form: form as i32,
                scale: scale_enum as i32,
                status: VendorStatus::Pending as i32,
                actor: None,
            },
        ));
        events.push(event(
            topics::VENDOR_EVENTS,
            &id,
            at + Days::seconds(30),
            &ev::VendorVerified {
                change: Some(ev::VendorStatusChange {
                    vendor_id: id.clone(),
                    regency_code: regency.clone(),
                    previous_status: VendorStatus::Pending as i32,
                    status: VendorStatus::Verified as i32,
                    reason: String::new(),
                    actor: None,
                    legal_form: form as i32,
                    scale: scale_enum as i32,
                }),
            },
        ));
        let mut products = Vec::new();
        for _ in 0..3 {
            let product_id = uuid::Uuid::now_v7().to_string();
            let category = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
            let price = rng.random_range(5..500) * 1_000;
            events.push(event(
                topics::CATALOG_EVENTS,
                &product_id,
                at + Days::seconds(60),
                &ev::ProductListed {
                    product: Some(ev::CatalogProduct {
                        product_id: product_id.clone(),
                        vendor_id: id.clone(),
                        category_code: category.into(),
                        name: format!("Produk {category}"),
                        unit: "paket".into(),
                        price,
                        stock: 1_000,
                        delivery_regencies: vec![regency.clone()],
                        domestic_product: true,
                    }),
                },
            ));
            products.push((product_id, category, price));
        }
        vendors.push(Vendor {
            name: format!("UMKM {i}"),
            id,
            regency,
            legal_form,
            scale,
            products,
        });
    }
    // Orders spread over the year; each goes as far as its fate says.
    let fates: &[&[&str]] = &[
        &[
            "placed",
            "accepted",
            "shipped",
            "received",
            "paid",
            "completed",
        ],
        &["placed", "accepted", "shipped"],
        &["placed", "accepted"],
        &["placed"],
        &["placed", "rejected"],
        &["placed", "cancelled"],
    ];
    let base = start + Days::days(1);
    for i in 0..bench.orders {
        let vendor = &vendors[rng.random_range(0..vendors.len())];
        let placed_at = base + Days::seconds((i as i64) * 360 * 86_400 / bench.orders as i64);
        let items: Vec<ev::OrderItemFact> = vendor
            .products
            .iter()
            .take(rng.random_range(1..=3))
            .map(|(product_id, category, price)| {
                let quantity = rng.random_range(1..50);
                ev::OrderItemFact {
                    product_id: product_id.clone(),
                    name: format!("Produk {category}"),
                    category_code: (*category).into(),
                    unit: "paket".into(),
                    quantity,
                    unit_price: *price,
                    line_total: quantity * price,
                }
            })
            .collect();
        let total = items.iter().map(|i| i.line_total).sum();
        let order_id = uuid::Uuid::now_v7().to_string();
        let regency = &regencies[rng.random_range(0..regencies.len())];
        let fate = fates[rng.random_range(0..fates.len())];
        for (version, status) in fate.iter().enumerate() {
            let changed_at = placed_at + Days::hours(version as i64 * 20);
            let order = Some(ev::OrderSnapshot {
                order_id: order_id.clone(),
                buyer_work_unit: format!("Dinas {}", i % 97),
                buyer_regency: regency.clone(),
                vendor_id: vendor.id.clone(),
                vendor_name: vendor.name.clone(),
                vendor_regency: vendor.regency.clone(),
                vendor_legal_form: vendor.legal_form.into(),
                vendor_scale: vendor.scale.into(),
                items: items.clone(),
                total,
                status: (*status).into(),
                previous_status: if version == 0 {
                    String::new()
                } else {
                    fate[version - 1].into()
                },
                placed_at: Some(to_timestamp(placed_at)),
                changed_at: Some(to_timestamp(changed_at)),
                version: version as i64,
                ..Default::default()
            });
            events.push(if version == 0 {
                event(
                    topics::ORDER_EVENTS,
                    &order_id,
                    changed_at,
                    &ev::OrderPlaced { order },
                )
            } else {
                event(
                    topics::ORDER_EVENTS,
                    &order_id,
                    changed_at,
                    &ev::OrderStatusChanged { order },
                )
            });
        }
    }
    events
}

pub async fn run(bench: ReportingBench) -> anyhow::Result<()> {
    let settings = fresh_database(&bench.server, "blangkon_bench_reporting").await?;
    let db = blangkon_platform::db::connect(&settings).await?;
    blangkon_platform::db::migrate::<blangkon_reporting::store::migrations::Migrator>(&db).await?;
    let mut rng = StdRng::seed_from_u64(2026);
    let events = history(&bench, &mut rng);
    let orders_events = events
        .iter()
        .filter(|e| e.topic == topics::ORDER_EVENTS)
        .count();
    say!(
        "applying {} events ({} vendors, {} products, {} orders with {} order events), one transaction each",
        events.len(),
        bench.vendors,
        bench.vendors * 3,
        bench.orders,
        orders_events
    );
    // The live projection: it writes analyst records to the outbox too (no
    // relay runs; they stay there).
    let projection = Projection::new(RelayWaker::default());
    let mut latencies = Vec::with_capacity(events.len());
    let started = Instant::now();
    for event in &events {
        let t = Instant::now();
        inbox::apply(&db, CONSUMER, &projection, event).await?;
        latencies.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    say!(
        "projection: {:.0} events/s ({} in {:.1} s), per event p50 {:.2} ms, p99 {:.2} ms",
        events.len() as f64 / elapsed.as_secs_f64(),
        events.len(),
        elapsed.as_secs_f64(),
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
    );

    // Reads through the API's own code over a fresh pool.
    let api = ReportingApi::new(
        Database::connect(settings.url.expose()).await?,
        ReportingSettings::default(),
    );
    let month = (Utc::now() - Days::days(180)).format("%Y-%m").to_string();
    let summary = api
        .get_summary(tonic::Request::new(pb::GetSummaryRequest {}))
        .await?
        .into_inner();
    say!(
        "read model: {} transactions worth Rp{}, {} vendors, {} products listed",
        summary.transactions,
        summary.transaction_value,
        summary.vendors_total,
        summary.products_listed
    );
    say!("{:<44} {:>9} {:>9}", "read", "p50 ms", "p99 ms");
    let reads = bench.reads.max(1);
    macro_rules! time_read {
        ($label:expr, $call:expr) => {{
            let mut times = Vec::with_capacity(reads);
            for _ in 0..reads {
                let t = Instant::now();
                $call.await?;
                times.push(t.elapsed());
            }
            times.sort_unstable();
            say!(
                "{:<44} {:>9.2} {:>9.2}",
                $label,
                ms(percentile(&times, 50.0)),
                ms(percentile(&times, 99.0))
            );
        }};
    }
    time_read!(
        "GetSummary",
        api.get_summary(tonic::Request::new(pb::GetSummaryRequest {}))
    );
    time_read!(
        "GetBreakdown category, all time",
        api.get_breakdown(tonic::Request::new(pb::GetBreakdownRequest {
            dimension: pb::Dimension::Category as i32,
            period: None,
        }))
    );
    time_read!(
        format!("GetBreakdown vendor, month {month}"),
        api.get_breakdown(tonic::Request::new(pb::GetBreakdownRequest {
            dimension: pb::Dimension::Vendor as i32,
            period: Some(pb::Period {
                from_date: format!("{month}-01"),
                until_date: format!("{month}-28"),
            }),
        }))
    );
    time_read!(
        "ListTransactions first page (50)",
        api.list_transactions(tonic::Request::new(pb::ListTransactionsRequest::default()))
    );
    time_read!(
        "ListTransactions category katering (50)",
        api.list_transactions(tonic::Request::new(pb::ListTransactionsRequest {
            category_code: "katering".into(),
            ..Default::default()
        }))
    );
    time_read!(
        "ExportOcds one month (up to 1,000 releases)",
        api.export_ocds(tonic::Request::new(pb::ExportOcdsRequest {
            period: Some(pb::Period {
                from_date: format!("{month}-01"),
                until_date: format!("{month}-28"),
            }),
            ..Default::default()
        }))
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}
