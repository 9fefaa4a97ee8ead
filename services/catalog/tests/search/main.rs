//! Search on an Indonesian test set: relevance, stemming, typos, partial
//! matches, filters, facets, pagination, and vendor suspension hiding
//! products.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod finding;
mod narrowing;
#[path = "../support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use blangkon_platform::auth::Role;
use blangkon_proto::catalog as pb;
use blangkon_proto::vendor::{LegalForm, Scale, VendorStatus};
use support::*;

/// (name, description, category, price, delivery regencies)
const PRODUCTS: &[(&str, &str, &str, i64, &[&str])] = &[
    (
        "Nasi Kotak Ayam Bakar",
        "Nasi putih, ayam bakar madu, lalapan, sambal",
        "katering.nasi-kotak",
        25_000,
        &["33.74", "33.22"],
    ),
    (
        "Nasi Kotak Rendang Sapi",
        "Nasi, rendang sapi, sayur nangka, kerupuk",
        "katering.nasi-kotak",
        32_000,
        &["33.74"],
    ),
    (
        "Nasi Box Ikan Bandeng Presto",
        "Bandeng presto khas Semarang dengan nasi dan sambal",
        "katering.nasi-kotak",
        28_000,
        &["33.74"],
    ),
    (
        "Tumpeng Nasi Kuning Syukuran",
        "Tumpeng lengkap untuk 20 orang dengan lauk pauk",
        "katering.tumpeng",
        450_000,
        &["33.74", "33.01"],
    ),
    (
        "Prasmanan Rapat Dinas",
        "Menu prasmanan untuk rapat dan pelatihan pegawai",
        "katering.prasmanan",
        55_000,
        &["33.74"],
    ),
    (
        "Paket Makanan Ringan Rapat",
        "Tiga kue basah dan air mineral untuk rapat",
        "snack.kue",
        12_000,
        &["33.74", "33.22"],
    ),
    (
        "Kue Lapis Legit",
        "Lapis legit premium per loyang",
        "snack.kue",
        180_000,
        &["33.01"],
    ),
    (
        "Lumpia Semarang Isi Rebung",
        "Lumpia goreng khas Semarang isi 10",
        "snack.kue",
        50_000,
        &["33.74"],
    ),
    (
        "Minuman Jahe Merah Instan",
        "Wedang jahe merah sachet, isi 20",
        "snack.minuman",
        35_000,
        &["33.74", "33.01"],
    ),
    (
        "Air Minum Kemasan 600 ml",
        "Air mineral botol, satu dus isi 24",
        "snack.minuman",
        45_000,
        &["33.74", "33.01", "33.22"],
    ),
    (
        "Kertas HVS A4 80 gram",
        "Kertas fotokopi putih A4, satu rim 500 lembar",
        "atk.kertas",
        65_000,
        &["33.74", "33.01"],
    ),
    (
        "Kertas HVS F4 70 gram",
        "Kertas folio F4 untuk dokumen dinas",
        "atk.kertas",
        60_000,
        &["33.74"],
    ),
    (
        "Pulpen Gel Hitam",
        "Pulpen tinta gel hitam, satu lusin",
        "atk.alat-tulis",
        30_000,
        &["33.74", "33.01"],
    ),
    (
        "Map Plastik Kancing",
        "Map dokumen plastik berkancing, isi 12",
        "atk.map-arsip",
        24_000,
        &["33.74"],
    ),
    (
        "Ordner Arsip Folio",
        "Ordner besar untuk arsip kantor",
        "atk.map-arsip",
        27_000,
        &["33.01"],
    ),
    (
        "Cetak Spanduk Flexi 280 gram",
        "Spanduk acara per meter persegi, cetak cepat",
        "percetakan.spanduk",
        25_000,
        &["33.74"],
    ),
    (
        "Cetak Buku Laporan Tahunan",
        "Percetakan buku laporan, sampul hard cover",
        "percetakan.buku",
        85_000,
        &["33.74", "33.01"],
    ),
    (
        "Undangan Pernikahan dan Acara Dinas",
        "Kartu undangan cetak offset",
        "percetakan.undangan",
        4_000,
        &["33.74"],
    ),
    (
        "Kerajinan Anyaman Bambu",
        "Tempat tisu anyaman bambu buatan tangan",
        "suvenir.kerajinan",
        40_000,
        &["33.01"],
    ),
    (
        "Plakat Akrilik Penghargaan",
        "Plakat akrilik dengan ukiran nama",
        "suvenir.plakat",
        150_000,
        &["33.74", "33.01"],
    ),
    (
        "Kain Batik Tulis Lasem",
        "Batik tulis motif lok can, pewarna alam",
        "batik.kain",
        750_000,
        &["33.74", "33.17"],
    ),
    (
        "Kain Batik Cap Pekalongan",
        "Batik cap katun primisima",
        "batik.kain",
        175_000,
        &["33.74"],
    ),
    (
        "Seragam Batik Pegawai Lengan Panjang",
        "Seragam batik dinas untuk pegawai pria",
        "batik.seragam",
        210_000,
        &["33.74", "33.01"],
    ),
    (
        "Kaos Polo Bordir Logo Instansi",
        "Kaos polo lacoste dengan bordir logo",
        "batik.kaos",
        95_000,
        &["33.74"],
    ),
    (
        "Meja Kantor Kayu Jati",
        "Meja kerja kayu jati Jepara dengan laci",
        "mebel.kantor",
        2_750_000,
        &["33.74", "33.20"],
    ),
    (
        "Kursi Siswa Kayu",
        "Kursi sekolah kayu mahoni",
        "mebel.sekolah",
        350_000,
        &["33.01"],
    ),
    (
        "Sabun Cuci Tangan 5 Liter",
        "Sabun cair antiseptik jeriken 5 liter",
        "kebersihan.sabun",
        85_000,
        &["33.74", "33.01"],
    ),
    (
        "Sapu Ijuk dan Pel Lantai",
        "Paket sapu ijuk dan alat pel",
        "kebersihan.alat",
        60_000,
        &["33.74"],
    ),
    (
        "Laptop Core i5 RAM 8GB",
        "Laptop untuk administrasi perkantoran",
        "it.komputer",
        9_500_000,
        &["33.74"],
    ),
    (
        "Tinta Printer Isi Ulang",
        "Tinta refill hitam dan warna",
        "it.printer",
        45_000,
        &["33.74", "33.01"],
    ),
    (
        "Servis AC Kantor",
        "Jasa cuci dan servis AC split per unit",
        "jasa.perbaikan",
        125_000,
        &["33.74"],
    ),
    (
        "Event Organizer Seminar",
        "Penyelenggaraan seminar dan workshop dinas",
        "jasa.event",
        15_000_000,
        &["33.74"],
    ),
    (
        "Nasi Kotak Ayam Goreng Lengkap",
        "Nasi, ayam goreng, tahu, tempe, lalapan",
        "katering.nasi-kotak",
        27_000,
        &["33.74"],
    ),
];

struct Fixture {
    app: TestApp,
    /// Vendor of the even-numbered products: an individual micro business.
    micro: String,
    /// Vendor of the odd-numbered products: a CV, small.
    cv: String,
    ids: Vec<String>,
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let micro = app
        .vendor_of(VendorStatus::Verified, LegalForm::Individual, Scale::Micro)
        .await;
    let cv = app
        .vendor_of(VendorStatus::Verified, LegalForm::Cv, Scale::Small)
        .await;
    let mut ids = Vec::new();
    for (i, (name, description, category, price, regencies)) in PRODUCTS.iter().enumerate() {
        let vendor = if i % 2 == 0 { &micro } else { &cv };
        let details = pb::ProductDetails {
            name: name.to_string(),
            description: description.to_string(),
            category_code: category.to_string(),
            unit: "paket".into(),
            price: *price,
            min_order_quantity: 1,
            stock: 100,
            image_urls: vec![],
            delivery_regencies: regencies.iter().map(|r| r.to_string()).collect(),
            domestic_product: true,
        };
        let product = app.create_product(vendor, details).await.unwrap();
        app.publish_product(vendor, &product.id).await.unwrap();
        ids.push(product.id);
    }
    let fixture = Fixture {
        app,
        micro,
        cv,
        ids,
    };
    fixture
        .eventually(
            Duration::from_secs(10),
            "every product indexed",
            |r| r.total_matches as usize == PRODUCTS.len(),
            browse(),
        )
        .await;
    fixture
}

fn browse() -> pb::SearchProductsRequest {
    pb::SearchProductsRequest::default()
}

fn find(query: &str) -> pb::SearchProductsRequest {
    pb::SearchProductsRequest {
        query: query.into(),
        ..Default::default()
    }
}

fn names(response: &pb::SearchProductsResponse) -> Vec<String> {
    response
        .hits
        .iter()
        .map(|h| {
            h.product
                .as_ref()
                .unwrap()
                .details
                .as_ref()
                .unwrap()
                .name
                .clone()
        })
        .collect()
}

impl Fixture {
    async fn search(&self, request: pb::SearchProductsRequest) -> pb::SearchProductsResponse {
        self.app
            .client()
            .await
            .search_products(self.app.as_role(Role::Buyer, request))
            .await
            .unwrap()
            .into_inner()
    }

    async fn eventually(
        &self,
        within: Duration,
        what: &str,
        done: impl Fn(&pb::SearchProductsResponse) -> bool,
        request: pb::SearchProductsRequest,
    ) -> pb::SearchProductsResponse {
        let done = &done;
        blangkon_testkit::eventually(what, within, || {
            let request = request.clone();
            async move {
                let response = self.search(request).await;
                done(&response).then_some(response)
            }
        })
        .await
    }

    /// Every hit of `request`, page by page, checking no id repeats.
    async fn all_pages(&self, request: pb::SearchProductsRequest) -> Vec<String> {
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .search(pb::SearchProductsRequest {
                    page_token: token.clone(),
                    ..request.clone()
                })
                .await;
            seen.extend(
                page.hits
                    .iter()
                    .map(|h| h.product.as_ref().unwrap().id.clone()),
            );
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no hit repeats across pages");
        seen
    }
}

/// A page asked again within a poll is answered from the rows read for it:
/// stock an order takes (which the change log does not carry) may show up
/// to a poll late, while a change the feed applies shows as soon as it is
/// applied, long before the poll ends.
#[tokio::test]
async fn a_page_asked_again_within_a_poll_answers_from_its_rows_until_the_feed_applies_a_change() {
    const POLL: Duration = Duration::from_secs(30);
    let app = spawn_app_polling(POLL).await;
    let vendor = app.vendor_with_status(VendorStatus::Verified).await;
    let product = app.create_product(&vendor, nasi_kotak()).await.unwrap();
    app.publish_product(&vendor, &product.id).await.unwrap();
    // The fixture's helpers, on this catalog of one product.
    let fixture = Fixture {
        app,
        micro: vendor.clone(),
        cv: vendor.clone(),
        ids: vec![product.id.clone()],
    };
    let shown = |page: &pb::SearchProductsResponse| {
        let product = page.hits.first()?.product.as_ref()?;
        let details = product.details.as_ref()?;
        Some((details.price, details.stock))
    };
    let first = fixture
        .eventually(
            Duration::from_secs(10),
            "the product indexed",
            |page| page.hits.len() == 1,
            browse(),
        )
        .await;
    let (price, stock) = shown(&first).unwrap();

    // As a reservation does: the stock changes, the change log does not.
    use sea_orm::ConnectionTrait as _;
    let db = fixture.app.database().await;
    db.execute_unprepared(&format!(
        "UPDATE products SET stock = stock - 7 WHERE id = '{}'",
        product.id
    ))
    .await
    .unwrap();
    let again = fixture.search(browse()).await;
    assert_eq!(shown(&again), Some((price, stock)), "answered from memory");

    // A change through the API reaches the feed, which drops the rows: the
    // next page reads them again, stock and all.
    fixture
        .app
        .client()
        .await
        .update_product(fixture.app.as_vendor(
            &vendor,
            pb::UpdateProductRequest {
                product_id: product.id.clone(),
                details: Some(pb::ProductDetails {
                    price: price + 1_000,
                    stock: stock - 7,
                    ..nasi_kotak()
                }),
            },
        ))
        .await
        .unwrap();
    let changed = fixture
        .eventually(
            POLL / 2,
            "the new price shown",
            |page| shown(page).is_some_and(|(p, _)| p == price + 1_000),
            browse(),
        )
        .await;
    assert_eq!(shown(&changed), Some((price + 1_000, stock - 7)));
}
