//! The generated year of `blangkon bench reporting`: regencies joining,
//! vendors registered and verified, products listed, and orders going
//! through every outcome of their lifecycle, as the domain topics would
//! carry them.

use blangkon_platform::inbox::ReceivedEvent;
use blangkon_platform::kafka::topics;
use blangkon_platform::outbox::NewEvent;
use blangkon_platform::time::to_timestamp;
use blangkon_proto::events as ev;
use blangkon_proto::vendor::{LegalForm, Scale, VendorStatus};
use chrono::{DateTime, Duration as Days, Utc};
use rand::Rng;
use rand::rngs::StdRng;

use super::catalog_data::regency_codes;
use super::reporting::ReportingBench;

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
pub(super) fn history(bench: &ReportingBench, rng: &mut StdRng) -> Vec<ReceivedEvent> {
    let (year, mut events) = Year::begin(bench, rng);
    for i in 0..year.orders {
        events.extend(year.order(i, rng));
    }
    events
}

/// The ways an order goes.
const FATES: &[&[&str]] = &[
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

/// The generated year: its regencies and vendors, and its orders made one
/// at a time, so that a national year of them need not be held at once.
pub(super) struct Year {
    regencies: Vec<String>,
    vendors: Vec<Vendor>,
    /// When the first order is placed.
    base: DateTime<Utc>,
    pub(super) orders: usize,
}

impl Year {
    /// The year, and the events before its orders: regencies joining,
    /// vendors registered and verified, their products listed.
    pub(super) fn begin(bench: &ReportingBench, rng: &mut StdRng) -> (Self, Vec<ReceivedEvent>) {
        // To the microsecond, as the services' clock: the ledger's cursors
        // carry microseconds.
        let start = blangkon_platform::time::now() - Days::days(365);
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
        let year = Self {
            regencies,
            vendors,
            base: start + Days::days(1),
            orders: bench.orders,
        };
        (year, events)
    }

    /// The events of the `i`th order, spread over the year; it goes as far
    /// as its fate says.
    pub(super) fn order(&self, i: usize, rng: &mut StdRng) -> Vec<ReceivedEvent> {
        let (vendors, regencies) = (&self.vendors, &self.regencies);
        let mut events = Vec::with_capacity(6);
        let vendor = &vendors[rng.random_range(0..vendors.len())];
        let placed_at =
            self.base + Days::seconds((i as i64) * 360 * 86_400 / self.orders.max(1) as i64);
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
        let fate = FATES[rng.random_range(0..FATES.len())];
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
        events
    }
}
