//! `blangkon bench catalog`: loads a national-scale catalog and measures
//! search over gRPC — latency percentiles and throughput at several
//! concurrency levels — against the real service code on PostgreSQL (or
//! SQLite) and the embedded broker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use blangkon_catalog::CatalogService;
use blangkon_catalog::store::migrations::Migrator;
use blangkon_catalog::store::{product, vendor};
use blangkon_domain::{ProductStatus, VendorStatus};
use blangkon_platform::auth::{Role, TokenIssuer, TokenRequest, bearer};
use blangkon_platform::db::{self, StringList};
use blangkon_platform::settings::DatabaseSettings;
use blangkon_platform::suite::Suite;
use blangkon_proto::catalog as pb;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use clap::{Args, Subcommand};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rdkafka::mocking::MockCluster;
use sea_orm::{ConnectionTrait, Database, EntityTrait, PaginatorTrait};

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    target: BenchTarget,
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Search latency and throughput at catalog scale.
    Catalog(CatalogBench),
    /// Order placement throughput against the raw write limit of PostgreSQL.
    Order(crate::bench_order::OrderBench),
    /// Reporting: events applied per second, and read latency at scale.
    Reporting(crate::bench_reporting::ReportingBench),
}

#[derive(Args)]
struct CatalogBench {
    /// Products to load.
    #[arg(long, default_value_t = 500_000)]
    products: u64,
    /// Database for the benchmark; it is emptied and loaded unless --reuse
    /// finds the same number of products already there.
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/blangkon_bench_catalog"
    )]
    database_url: String,
    /// Keep a database that already holds --products products.
    #[arg(long)]
    reuse: bool,
    /// Seconds of measurement per concurrency level.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrency levels (parallel gRPC callers).
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    concurrency: Vec<usize>,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.target {
        BenchTarget::Catalog(bench) => catalog(bench).await,
        BenchTarget::Order(bench) => crate::bench_order::run(bench).await,
        BenchTarget::Reporting(bench) => crate::bench_reporting::run(bench).await,
    }
}

/// How to make products of one category: "{kind} {variant} {maker}".
struct Template {
    category: &'static str,
    kinds: &'static [&'static str],
    variants: &'static [&'static str],
    /// Price range per unit in rupiah.
    price: (i64, i64),
    unit: &'static str,
}

const fn t(
    category: &'static str,
    kinds: &'static [&'static str],
    variants: &'static [&'static str],
    price: (i64, i64),
    unit: &'static str,
) -> Template {
    Template {
        category,
        kinds,
        variants,
        price,
        unit,
    }
}

const TEMPLATES: &[Template] = &[
    t(
        "katering.nasi-kotak",
        &["Nasi Kotak", "Nasi Box", "Nasi Bungkus"],
        &[
            "Ayam Bakar",
            "Ayam Goreng",
            "Rendang Sapi",
            "Ikan Bandeng",
            "Telur Balado",
            "Ayam Geprek",
            "Empal Gepuk",
            "Lele Goreng",
        ],
        (15_000, 45_000),
        "kotak",
    ),
    t(
        "katering.prasmanan",
        &["Prasmanan", "Paket Prasmanan"],
        &["Rapat Dinas", "Pelatihan", "Syukuran", "Pernikahan"],
        (40_000, 90_000),
        "porsi",
    ),
    t(
        "katering.tumpeng",
        &["Tumpeng", "Tumpeng Mini"],
        &["Nasi Kuning", "Nasi Uduk", "Syukuran"],
        (150_000, 900_000),
        "paket",
    ),
    t(
        "snack.kue",
        &["Kue", "Paket Makanan Ringan", "Jajanan Pasar"],
        &["Basah", "Lapis Legit", "Lumpia", "Bolu", "Rapat", "Kering"],
        (5_000, 200_000),
        "kotak",
    ),
    t(
        "snack.minuman",
        &["Minuman", "Air Minum", "Wedang"],
        &["Jahe Merah", "Kemasan 600 ml", "Teh Manis", "Kopi Jawa"],
        (3_000, 60_000),
        "dus",
    ),
    t(
        "atk.kertas",
        &["Kertas HVS", "Kertas Folio", "Kertas Foto"],
        &["A4 80 gram", "F4 70 gram", "A3 80 gram", "A4 70 gram"],
        (45_000, 120_000),
        "rim",
    ),
    t(
        "atk.alat-tulis",
        &["Pulpen", "Pensil", "Spidol"],
        &["Gel Hitam", "2B", "Whiteboard", "Permanen"],
        (2_000, 60_000),
        "lusin",
    ),
    t(
        "atk.map-arsip",
        &["Map", "Ordner", "Box File"],
        &["Plastik Kancing", "Folio", "Arsip Kantor"],
        (5_000, 40_000),
        "pcs",
    ),
    t(
        "percetakan.spanduk",
        &["Cetak Spanduk", "Cetak Baliho", "Banner"],
        &["Flexi 280 gram", "Korea", "Roll Up"],
        (20_000, 400_000),
        "meter",
    ),
    t(
        "percetakan.buku",
        &["Cetak Buku", "Jilid Laporan"],
        &["Laporan Tahunan", "Hard Cover", "Soft Cover"],
        (25_000, 150_000),
        "eksemplar",
    ),
    t(
        "percetakan.undangan",
        &["Undangan", "Kartu Nama"],
        &["Acara Dinas", "Pernikahan", "Offset"],
        (1_000, 10_000),
        "lembar",
    ),
    t(
        "suvenir.kerajinan",
        &["Kerajinan", "Anyaman", "Ukiran"],
        &["Bambu", "Kayu Jepara", "Rotan", "Eceng Gondok"],
        (20_000, 500_000),
        "pcs",
    ),
    t(
        "suvenir.plakat",
        &["Plakat", "Trofi"],
        &["Akrilik", "Kayu", "Kuningan"],
        (75_000, 750_000),
        "pcs",
    ),
    t(
        "batik.kain",
        &["Kain Batik", "Batik"],
        &[
            "Tulis Lasem",
            "Cap Pekalongan",
            "Solo",
            "Kudus",
            "Semarangan",
        ],
        (100_000, 2_500_000),
        "lembar",
    ),
    t(
        "batik.seragam",
        &["Seragam Batik", "Seragam Kerja", "Seragam"],
        &["Pegawai", "Lengan Panjang", "Dinas", "Sekolah"],
        (90_000, 350_000),
        "pcs",
    ),
    t(
        "batik.kaos",
        &["Kaos", "Kaos Polo"],
        &["Bordir Logo", "Sablon", "Katun"],
        (45_000, 150_000),
        "pcs",
    ),
    t(
        "mebel.kantor",
        &["Meja Kantor", "Kursi Kantor", "Lemari Arsip"],
        &["Kayu Jati", "Besi", "Kayu Mahoni"],
        (500_000, 6_000_000),
        "unit",
    ),
    t(
        "mebel.sekolah",
        &["Meja Siswa", "Kursi Siswa", "Papan Tulis"],
        &["Kayu", "Besi", "Whiteboard"],
        (150_000, 1_500_000),
        "unit",
    ),
    t(
        "kebersihan.sabun",
        &["Sabun", "Deterjen", "Pembersih Lantai"],
        &["Cuci Tangan 5 Liter", "Cair", "Antiseptik"],
        (15_000, 150_000),
        "jeriken",
    ),
    t(
        "kebersihan.alat",
        &["Sapu", "Pel", "Tempat Sampah"],
        &["Ijuk", "Lantai", "Pedal"],
        (15_000, 250_000),
        "pcs",
    ),
    t(
        "it.komputer",
        &["Laptop", "Komputer", "PC"],
        &["Core i5 RAM 8GB", "Core i3", "All in One"],
        (4_000_000, 15_000_000),
        "unit",
    ),
    t(
        "it.printer",
        &["Tinta Printer", "Printer", "Toner"],
        &["Isi Ulang", "Inkjet", "Laser"],
        (30_000, 4_000_000),
        "pcs",
    ),
    t(
        "it.aksesoris",
        &["Mouse", "Keyboard", "Flashdisk"],
        &["Wireless", "USB", "32GB"],
        (40_000, 400_000),
        "pcs",
    ),
    t(
        "jasa.event",
        &["Event Organizer", "Jasa Dokumentasi"],
        &["Seminar", "Workshop", "Pameran UMKM"],
        (2_000_000, 50_000_000),
        "paket",
    ),
    t(
        "jasa.perbaikan",
        &["Servis", "Perbaikan"],
        &["AC Kantor", "Komputer", "Genset", "Atap Gedung"],
        (100_000, 5_000_000),
        "unit",
    ),
    t(
        "jasa.fotokopi",
        &["Fotokopi", "Jilid"],
        &["Dokumen", "Spiral", "Warna"],
        (200, 15_000),
        "lembar",
    ),
];

const MAKERS: &[&str] = &[
    "Bu Sri",
    "Pak Darto",
    "Barokah",
    "Sejahtera",
    "Mandiri",
    "Berkah Jaya",
    "Sumber Rezeki",
    "Makmur",
    "Lestari",
    "Sentosa",
    "Karya Muda",
    "Tunas Harapan",
    "Sido Mukti",
    "Jaya Abadi",
];

const PLACES: &[&str] = &[
    "Semarang",
    "Solo",
    "Kudus",
    "Jepara",
    "Pekalongan",
    "Magelang",
    "Salatiga",
    "Tegal",
    "Banyumas",
    "Cilacap",
    "Klaten",
    "Demak",
    "Rembang",
    "Blora",
    "Wonosobo",
    "Purworejo",
];

pub(crate) fn regency_codes() -> Vec<String> {
    (1..=29)
        .map(|i| format!("33.{i:02}"))
        .chain((71..=76).map(|i| format!("33.{i}")))
        .collect()
}

const VENDORS: usize = 2_500;

fn vendor_row(i: usize, rng: &mut StdRng, regencies: &[String]) -> vendor::Model {
    let (legal_form, scale) = match i % 10 {
        0..=4 => ("individual", "micro"),
        5 | 6 => ("cv", "small"),
        7 => ("koperasi", "small"),
        8 => ("ud", "micro"),
        _ => ("pt", "medium"),
    };
    vendor::Model {
        vendor_id: uuid::Uuid::from_u128(rng.random()).to_string(),
        regency_code: regencies[rng.random_range(0..regencies.len())].clone(),
        legal_form: legal_form.into(),
        scale: scale.into(),
        status: VendorStatus::Verified,
        status_at: chrono::Utc::now(),
    }
}

fn product_row(
    i: u64,
    rng: &mut StdRng,
    vendors: &[vendor::Model],
    regencies: &[String],
) -> product::Model {
    let Template {
        category,
        kinds,
        variants,
        price: (low, high),
        unit,
    } = &TEMPLATES[rng.random_range(0..TEMPLATES.len())];
    let kind = kinds[rng.random_range(0..kinds.len())];
    let variant = variants[rng.random_range(0..variants.len())];
    let maker = MAKERS[rng.random_range(0..MAKERS.len())];
    let place = PLACES[rng.random_range(0..PLACES.len())];
    let vendor = &vendors[rng.random_range(0..vendors.len())];
    let mut delivers: Vec<String> = vec![vendor.regency_code.clone()];
    for _ in 0..rng.random_range(0..3) {
        delivers.push(regencies[rng.random_range(0..regencies.len())].clone());
    }
    delivers.sort();
    delivers.dedup();
    let now = chrono::Utc::now();
    // Time-ordered ids as the service makes them, spread over a year.
    let id = uuid::Builder::from_unix_timestamp_millis(
        1_730_000_000_000 + i * 60,
        &rng.random::<[u8; 10]>(),
    )
    .into_uuid();
    product::Model {
        id: id.to_string(),
        vendor_id: vendor.vendor_id.clone(),
        category_code: category.to_string(),
        name: format!("{kind} {variant} {maker}"),
        description: format!(
            "{kind} {variant} buatan UMKM {place}, kualitas terjamin, siap kirim untuk kebutuhan instansi pemerintah"
        ),
        unit: unit.to_string(),
        price: rng.random_range(*low..=*high) / 100 * 100,
        min_order_quantity: 1,
        stock: rng.random_range(0..5_000),
        image_urls: StringList::default(),
        delivery_regencies: delivers.into(),
        domestic_product: true,
        status: ProductStatus::Listed,
        version: 0,
        created_at: now,
        updated_at: now,
    }
}

async fn prepare_database(bench: &CatalogBench) -> anyhow::Result<()> {
    if let Some((server, name)) = bench.database_url.rsplit_once('/')
        && bench.database_url.starts_with("postgres")
    {
        let admin = Database::connect(format!("{server}/postgres"))
            .await
            .with_context(|| format!("connecting to {server}"))?;
        let exists = admin
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"),
            ))
            .await?
            .is_some();
        if !exists {
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
        }
        admin.close().await.ok();
    }
    Ok(())
}

async fn load(bench: &CatalogBench, settings: &DatabaseSettings) -> anyhow::Result<()> {
    let conn = db::connect(settings).await?;
    db::migrate::<Migrator>(&conn).await?;
    let have = product::Entity::find().count(&conn).await?;
    if bench.reuse && have == bench.products {
        println!("reusing {have} products in {}", bench.database_url);
        return Ok(());
    }
    for table in [
        "reservations",
        "price_history",
        "products",
        "vendors",
        "search_changes",
    ] {
        conn.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(2022);
    let regencies = regency_codes();
    let vendors: Vec<vendor::Model> = (0..VENDORS)
        .map(|i| vendor_row(i, &mut rng, &regencies))
        .collect();
    for chunk in vendors.chunks(500) {
        vendor::Entity::insert_many(chunk.iter().cloned().map(vendor::ActiveModel::from))
            .exec_without_returning(&conn)
            .await?;
    }
    let batch = 1_000u64;
    let mut done = 0;
    while done < bench.products {
        let n = batch.min(bench.products - done);
        let rows: Vec<product::ActiveModel> = (done..done + n)
            .map(|i| product::ActiveModel::from(product_row(i, &mut rng, &vendors, &regencies)))
            .collect();
        product::Entity::insert_many(rows)
            .exec_without_returning(&conn)
            .await?;
        done += n;
        if done % 100_000 == 0 {
            println!("  loaded {done} products");
        }
    }
    let took = started.elapsed();
    println!(
        "loaded {} products of {VENDORS} vendors in {:.1} s ({:.0} rows/s)",
        bench.products,
        took.as_secs_f64(),
        bench.products as f64 / took.as_secs_f64()
    );
    conn.close().await.ok();
    Ok(())
}

/// Typical buyer searches, each with the filters a buyer would set.
fn queries() -> Vec<pb::SearchProductsRequest> {
    let q = |text: &str| pb::SearchProductsRequest {
        query: text.into(),
        ..Default::default()
    };
    vec![
        pb::SearchProductsRequest {
            delivery_regency: "33.74".into(),
            ..q("nasi kotak ayam")
        },
        pb::SearchProductsRequest {
            max_price: 80_000,
            ..q("kertas hvs a4")
        },
        pb::SearchProductsRequest {
            category_code: "percetakan".into(),
            ..q("spanduk")
        },
        pb::SearchProductsRequest {
            vendor_scale: blangkon_proto::vendor::Scale::Small as i32,
            ..q("batik tulis")
        },
        pb::SearchProductsRequest {
            delivery_regency: "33.01".into(),
            ..q("seragam batik")
        },
        pb::SearchProductsRequest {
            max_price: 20_000,
            ..q("kue basah")
        },
        pb::SearchProductsRequest {
            sort: pb::SortOrder::PriceAscending as i32,
            ..q("meja kantor jati")
        },
        pb::SearchProductsRequest {
            min_price: 5_000_000,
            ..q("laptop")
        },
        pb::SearchProductsRequest {
            delivery_regency: "33.22".into(),
            ..q("sabun cuci")
        },
        pb::SearchProductsRequest {
            category_code: "jasa".into(),
            ..q("servis ac")
        },
        pb::SearchProductsRequest {
            delivery_regency: "33.74".into(),
            ..q("makanan ringan rapat")
        },
        pb::SearchProductsRequest {
            category_code: "atk".into(),
            ..q("kertsa")
        },
    ]
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn catalog(bench: CatalogBench) -> anyhow::Result<()> {
    let secret = "benchmark-secret-0123456789abcdef0123";
    let database = DatabaseSettings {
        url: bench.database_url.clone().into(),
        max_connections: 20,
        migrate_on_start: true,
    };
    prepare_database(&bench).await?;
    load(&bench, &database).await?;

    let kafka = MockCluster::new(1).context("starting the embedded broker")?;
    crate::dev::create_embedded_topics(&kafka)?;
    let rss_before = rss_mib();
    let started = Instant::now();
    let mut suite = Suite::new(kafka.bootstrap_servers(), secret);
    suite.kafka.create_topics = false;
    suite.max_connections = database.max_connections;
    let catalog = suite
        .start::<CatalogService>(suite.settings(database.url, 0))
        .await?;
    let build = started.elapsed();
    let rss_after = rss_mib();
    println!(
        "catalog service started, search index built in {:.1} s; process memory {} -> {} MiB",
        build.as_secs_f64(),
        rss_before.map_or("?".into(), |m| format!("{m:.0}")),
        rss_after.map_or("?".into(), |m| format!("{m:.0}")),
    );
    let endpoint = catalog.endpoint();

    let token = TokenIssuer::new(secret, None)
        .issue(
            Role::Buyer,
            TokenRequest {
                subject: "bench".into(),
                regency: Some("33.74".into()),
                work_unit: Some("bench".into()),
                ..TokenRequest::default()
            },
            Duration::from_secs(3600),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let queries = Arc::new(queries());

    println!();
    println!(
        "search over gRPC, {} products, typical queries with filters, page size 20",
        bench.products
    );
    println!(
        "{:>11} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "concurrency", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for &workers in &bench.concurrency {
        let mut latencies: Vec<Duration> = Vec::new();
        // Warm up the connections, then measure.
        let run = |seconds: u64| {
            let queries = queries.clone();
            let endpoint = endpoint.clone();
            let token = token.clone();
            async move {
                let deadline = Instant::now() + Duration::from_secs(seconds);
                let mut tasks = Vec::new();
                for w in 0..workers {
                    let queries = queries.clone();
                    let endpoint = endpoint.clone();
                    let token = token.clone();
                    tasks.push(tokio::spawn(async move {
                        let mut client = CatalogServiceClient::connect(endpoint).await?;
                        let mut seen = Vec::new();
                        let mut i = w;
                        while Instant::now() < deadline {
                            let mut request =
                                tonic::Request::new(queries[i % queries.len()].clone());
                            request
                                .metadata_mut()
                                .insert("authorization", bearer(&token)?);
                            let t = Instant::now();
                            client.search_products(request).await?;
                            seen.push(t.elapsed());
                            i += 1;
                        }
                        anyhow::Ok(seen)
                    }));
                }
                let mut all = Vec::new();
                for task in tasks {
                    all.extend(task.await??);
                }
                anyhow::Ok(all)
            }
        };
        run(2).await?;
        let started = Instant::now();
        latencies.extend(run(bench.seconds).await?);
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:>11} {:>9} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            workers,
            latencies.len(),
            latencies.len() as f64 / elapsed,
            ms(percentile(&latencies, 50.0)),
            ms(percentile(&latencies, 90.0)),
            ms(percentile(&latencies, 99.0)),
            ms(latencies.last().copied().unwrap_or_default()),
        );
    }
    catalog.stop(Duration::from_secs(15)).await?;
    drop(kafka);
    Ok(())
}
