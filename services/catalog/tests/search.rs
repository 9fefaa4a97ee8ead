//! Search on an Indonesian test set: relevance, stemming, typos, partial
//! matches, filters, facets, pagination, and vendor suspension hiding
//! products.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
        mut done: impl FnMut(&pb::SearchProductsResponse) -> bool,
        request: pb::SearchProductsRequest,
    ) -> pb::SearchProductsResponse {
        let deadline = Instant::now() + within;
        loop {
            let response = self.search(request.clone()).await;
            if done(&response) {
                return response;
            }
            assert!(Instant::now() < deadline, "{what} within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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

#[tokio::test]
async fn queries_find_the_product_a_buyer_means() {
    let f = fixture().await;
    // (query, expected top hit)
    let expectations = [
        ("kertas hvs a4", "Kertas HVS A4 80 gram"),
        ("tumpeng", "Tumpeng Nasi Kuning Syukuran"),
        ("spanduk", "Cetak Spanduk Flexi 280 gram"),
        ("batik tulis lasem", "Kain Batik Tulis Lasem"),
        ("seragam batik", "Seragam Batik Pegawai Lengan Panjang"),
        ("laptop", "Laptop Core i5 RAM 8GB"),
        ("meja kantor", "Meja Kantor Kayu Jati"),
        ("sabun cuci tangan", "Sabun Cuci Tangan 5 Liter"),
        ("servis ac", "Servis AC Kantor"),
        ("nasi kotak rendang", "Nasi Kotak Rendang Sapi"),
        ("lumpia semarang", "Lumpia Semarang Isi Rebung"),
        ("plakat penghargaan", "Plakat Akrilik Penghargaan"),
    ];
    for (query, top) in expectations {
        let response = f.search(find(query)).await;
        assert_eq!(
            names(&response).first().map(String::as_str),
            Some(top),
            "query {query:?}"
        );
    }
    f.app.stop().await;
}

#[tokio::test]
async fn stemming_joins_word_forms_and_one_typo_is_forgiven() {
    let f = fixture().await;
    // "makan" finds "Makanan", "minum" finds "Minuman", and back.
    assert!(
        names(&f.search(find("makan")).await).contains(&"Paket Makanan Ringan Rapat".to_string())
    );
    assert!(
        names(&f.search(find("minum")).await).contains(&"Minuman Jahe Merah Instan".to_string())
    );
    let minuman = names(&f.search(find("minuman")).await);
    assert!(
        minuman.contains(&"Air Minum Kemasan 600 ml".to_string()),
        "{minuman:?}"
    );
    // "percetakan" and "cetak" meet on "cetak".
    let cetak = names(&f.search(find("percetakan")).await);
    assert!(
        cetak.contains(&"Cetak Spanduk Flexi 280 gram".to_string()),
        "{cetak:?}"
    );
    // Typos: a swapped pair, a missing letter, a wrong letter.
    assert_eq!(
        names(&f.search(find("kertsa a4")).await)[0],
        "Kertas HVS A4 80 gram"
    );
    assert_eq!(
        names(&f.search(find("tumpen")).await)[0],
        "Tumpeng Nasi Kuning Syukuran"
    );
    assert_eq!(
        names(&f.search(find("lapton")).await)[0],
        "Laptop Core i5 RAM 8GB"
    );
    // Of two words, both must match: nonsense finds nothing.
    assert_eq!(f.search(find("laptop rendang")).await.total_matches, 0);
    f.app.stop().await;
}

#[tokio::test]
async fn most_words_still_find_a_product_after_every_full_match() {
    let f = fixture().await;
    // A word the product lacks ("makanan") no longer hides it: two of
    // three words match.
    let ayam_goreng = f.search(find("makanan ayam goreng")).await;
    assert_eq!(names(&ayam_goreng), ["Nasi Kotak Ayam Goreng Lengkap"]);

    // The one product with all three words comes first, then those with
    // two ("nasi kotak" is also their category's name); "nasi" alone is
    // not enough.
    let rendang = f.search(find("nasi kotak rendang")).await;
    let found = names(&rendang);
    assert_eq!(found[0], "Nasi Kotak Rendang Sapi");
    let partial: HashSet<&str> = found[1..].iter().map(String::as_str).collect();
    assert_eq!(
        partial,
        HashSet::from([
            "Nasi Kotak Ayam Bakar",
            "Nasi Kotak Ayam Goreng Lengkap",
            "Nasi Box Ikan Bandeng Presto",
        ])
    );
    assert_eq!(rendang.total_matches, 4);
    assert!(!found.contains(&"Tumpeng Nasi Kuning Syukuran".to_string()));

    // Sorted by price, the full match still leads, then the partial
    // matches by price, even the cheaper ones.
    let by_price = f
        .search(pb::SearchProductsRequest {
            sort: pb::SortOrder::PriceAscending as i32,
            ..find("nasi kotak rendang")
        })
        .await;
    assert_eq!(
        names(&by_price),
        [
            "Nasi Kotak Rendang Sapi",
            "Nasi Kotak Ayam Bakar",
            "Nasi Kotak Ayam Goreng Lengkap",
            "Nasi Box Ikan Bandeng Presto",
        ]
    );

    // Pages of one cross from the full to the partial matches with no
    // skip or repeat, in the same order as one page.
    for sort in [pb::SortOrder::Relevance, pb::SortOrder::PriceAscending] {
        let request = pb::SearchProductsRequest {
            sort: sort as i32,
            ..find("nasi kotak rendang")
        };
        let one_page: Vec<String> = f
            .search(request.clone())
            .await
            .hits
            .iter()
            .map(|h| h.product.as_ref().unwrap().id.clone())
            .collect();
        let paged = f
            .all_pages(pb::SearchProductsRequest {
                page_size: 1,
                ..request
            })
            .await;
        assert_eq!(paged, one_page, "{sort:?}");
    }

    // A typo counts as its word among the others.
    assert_eq!(
        names(&f.search(find("seragam batk pegawai")).await)[0],
        "Seragam Batik Pegawai Lengan Panjang"
    );
    f.app.stop().await;
}

#[tokio::test]
async fn filters_facets_and_pages_never_skip_or_repeat() {
    let f = fixture().await;
    // A top-level category includes its subcategories.
    let katering = f
        .all_pages(pb::SearchProductsRequest {
            category_code: "katering".into(),
            page_size: 2,
            ..Default::default()
        })
        .await;
    assert_eq!(katering.len(), 6);

    // Browsing everything in pages of 5, newest first, then by price.
    let newest = f
        .all_pages(pb::SearchProductsRequest {
            page_size: 5,
            ..Default::default()
        })
        .await;
    let mut expected: Vec<String> = f.ids.clone();
    expected.reverse();
    assert_eq!(newest, expected);
    let by_price = f
        .all_pages(pb::SearchProductsRequest {
            page_size: 4,
            sort: pb::SortOrder::PriceAscending as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(by_price.len(), PRODUCTS.len());
    assert_eq!(by_price[0], f.ids[17], "the Rp4,000 invitation is cheapest");

    // Regency, price range, vendor legal form and scale.
    let in_kudus = f
        .search(pb::SearchProductsRequest {
            delivery_regency: "33.17".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(names(&in_kudus), ["Kain Batik Tulis Lasem"]);
    let cheap = f
        .all_pages(pb::SearchProductsRequest {
            min_price: 20_000,
            max_price: 30_000,
            page_size: 3,
            ..Default::default()
        })
        .await;
    assert_eq!(
        cheap.len(),
        PRODUCTS
            .iter()
            .filter(|p| (20_000..=30_000).contains(&p.3))
            .count()
    );
    let from_cv = f
        .all_pages(pb::SearchProductsRequest {
            vendor_legal_form: LegalForm::Cv as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(from_cv.len(), PRODUCTS.len() / 2);
    let from_micro = f
        .all_pages(pb::SearchProductsRequest {
            vendor_scale: Scale::Micro as i32,
            page_size: 7,
            ..Default::default()
        })
        .await;
    let expected_micro: HashSet<&String> = f.ids.iter().step_by(2).collect();
    assert_eq!(from_micro.iter().collect::<HashSet<_>>(), expected_micro);

    // Relevance pages over a query with many hits.
    let nasi_all = f
        .all_pages(pb::SearchProductsRequest {
            query: "nasi".into(),
            page_size: 1,
            ..Default::default()
        })
        .await;
    assert_eq!(
        nasi_all.len(),
        f.search(find("nasi")).await.total_matches as usize
    );

    // Facets count matches per category whatever the category filter.
    let nasi = f
        .search(pb::SearchProductsRequest {
            query: "nasi".into(),
            category_code: "katering.tumpeng".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(nasi.total_matches, 1);
    let facet = |code: &str| {
        nasi.facets
            .iter()
            .find(|c| c.category_code == code)
            .map(|c| c.count)
    };
    assert_eq!(facet("katering.nasi-kotak"), Some(4));
    assert_eq!(facet("katering.tumpeng"), Some(1));
    assert_eq!(facet("katering"), Some(5));
    let _ = (&f.micro, &f.cv);
    f.app.stop().await;
}

#[tokio::test]
async fn a_suspended_vendors_products_leave_search_within_a_second() {
    let f = fixture().await;
    let all = PRODUCTS.len() as i64;
    // The CV sells the odd-numbered products.
    let of_micro = all - all / 2;
    f.app
        .publish(status_change(
            &f.cv,
            VendorStatus::Verified,
            VendorStatus::Suspended,
        ))
        .await;
    let started = Instant::now();
    f.eventually(
        Duration::from_secs(10),
        "suspension reaches search",
        |r| r.total_matches == of_micro,
        browse(),
    )
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "hidden after {took:?}");
    f.app
        .publish(status_change(
            &f.cv,
            VendorStatus::Suspended,
            VendorStatus::Verified,
        ))
        .await;
    f.eventually(
        Duration::from_secs(10),
        "reinstatement reaches search",
        |r| r.total_matches == all,
        browse(),
    )
    .await;

    // Unlisting one product takes it out too.
    f.app
        .client()
        .await
        .unlist_product(f.app.as_vendor(
            &f.micro,
            pb::UnlistProductRequest {
                product_id: f.ids[0].clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap();
    f.eventually(
        Duration::from_secs(10),
        "unlisting reaches search",
        |r| r.total_matches == all - 1,
        browse(),
    )
    .await;
    f.app.stop().await;
}

#[tokio::test]
async fn bad_search_input_names_its_fields() {
    let app = spawn_app().await;
    let status = app
        .client()
        .await
        .search_products(app.as_role(
            Role::Buyer,
            pb::SearchProductsRequest {
                category_code: "senjata".into(),
                delivery_regency: "Semarang".into(),
                min_price: 50_000,
                max_price: 10_000,
                page_size: 1000,
                page_token: "nope".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "category_code",
            "delivery_regency",
            "max_price",
            "page_size",
            "page_token"
        ]
    );
    app.stop().await;
}
