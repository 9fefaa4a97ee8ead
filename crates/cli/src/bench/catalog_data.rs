//! The generated catalog of `blangkon bench catalog`: the rows of vendors
//! and products made from the shared vocabulary (`crate::vocabulary`).

use blangkon_catalog::store::{product, vendor};
use blangkon_domain::{ProductStatus, VendorStatus};
use blangkon_platform::db::StringList;
use rand::Rng;
use rand::rngs::StdRng;

use crate::vocabulary::{Vocabulary, pick};

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
        regency_code: pick(rng, regencies).clone(),
        legal_form: legal_form.into(),
        scale: scale.into(),
        status: VendorStatus::Verified,
        status_at: chrono::Utc::now(),
    }
}

pub(super) fn product_row(
    i: u64,
    rng: &mut StdRng,
    vocabulary: &Vocabulary,
    vendors: &[vendor::Model],
    regencies: &[String],
) -> product::Model {
    let template = pick(rng, &vocabulary.templates);
    let (kind, variant) = (pick(rng, &template.kinds), pick(rng, &template.variants));
    let maker = pick(rng, &vocabulary.makers);
    let place = pick(rng, &vocabulary.places);
    let vendor = pick(rng, vendors);
    let mut delivers: Vec<String> = vec![vendor.regency_code.clone()];
    for _ in 0..rng.random_range(0..3) {
        delivers.push(pick(rng, regencies).clone());
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
        category_code: template.category.clone(),
        name: format!("{kind} {variant} {maker}"),
        description: format!(
            "{kind} {variant} buatan UMKM {place}, kualitas terjamin, siap kirim untuk kebutuhan instansi pemerintah"
        ),
        unit: template.unit.clone(),
        price: rng.random_range(template.price.0..=template.price.1) / 100 * 100,
        min_order_quantity: 1,
        stock: rng.random_range(0..5_000),
        image_urls: StringList::default(),
        delivery_regencies: delivers.into(),
        domestic_product: true,
        status: ProductStatus::Listed,
        version: 0,
        created_at: now,
        updated_at: now,
        creation_key: None,
    }
}
