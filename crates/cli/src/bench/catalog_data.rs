//! The generated catalog of `blangkon bench catalog`: product templates of
//! 26 categories with Indonesian names, makers and places, and the rows of
//! vendors and products made from them.

use blangkon_catalog::store::{product, vendor};
use blangkon_domain::{ProductStatus, VendorStatus};
use blangkon_platform::db::StringList;
use rand::Rng;
use rand::rngs::StdRng;

/// How to make products of one category: "{kind} {variant} {maker}".
pub(super) struct Template {
    category: &'static str,
    kinds: &'static [&'static str],
    variants: &'static [&'static str],
    /// Price range per unit in rupiah.
    price: (i64, i64),
    unit: &'static str,
}

pub(super) const fn t(
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

pub(super) const TEMPLATES: &[Template] = &[
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

pub(super) const MAKERS: &[&str] = &[
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

pub(super) const PLACES: &[&str] = &[
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

pub(super) fn regency_codes() -> Vec<String> {
    (1..=29)
        .map(|i| format!("33.{i:02}"))
        .chain((71..=76).map(|i| format!("33.{i}")))
        .collect()
}

pub(super) const VENDORS: usize = 2_500;

pub(super) fn vendor_row(i: usize, rng: &mut StdRng, regencies: &[String]) -> vendor::Model {
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

pub(super) fn product_row(
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
