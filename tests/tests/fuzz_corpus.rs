//! The fuzz targets' seed corpora (`fuzz/corpus/<target>/`): valid inputs
//! of each kind, from which libFuzzer starts its mutations, written from
//! the contracts' own types so that they stay valid as the contracts grow.
//! The test checks the files in the tree are these; regenerate them with
//! `BLANGKON_BLESS=1 cargo test -p blangkon-suite-tests --test fuzz_corpus`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use blangkon_platform::outbox::NewEvent;
use blangkon_platform::page;
use blangkon_platform::time::to_timestamp;
use blangkon_proto::catalog as cat;
use blangkon_proto::events as ev;
use blangkon_proto::order as ord;
use blangkon_proto::reporting as rep;
use blangkon_proto::vendor as ven;
use chrono::{TimeZone, Utc};
use prost::Message;

const PRODUCT: &str = "01934a1e-0000-7000-8000-0000000000b1";
const VENDOR: &str = "01934a1e-0000-7000-8000-0000000000a1";
const ORDER: &str = "01934a1e-0000-7000-8000-0000000000c1";

/// A request seed: the selector byte of its type, then its encoding.
fn request(selector: u8, message: &impl Message) -> Vec<u8> {
    let mut bytes = vec![selector];
    bytes.extend(message.encode_to_vec());
    bytes
}

fn details() -> cat::ProductDetails {
    cat::ProductDetails {
        name: "Nasi kotak ayam bakar".into(),
        description: "Nasi, ayam bakar, lalapan, sambal".into(),
        category_code: "katering.nasi-kotak".into(),
        unit: "kotak".into(),
        price: 25_000,
        min_order_quantity: 10,
        stock: 500,
        image_urls: vec!["https://cdn.example.id/nasi.jpg".into()],
        delivery_regencies: vec!["33.74".into(), "33.22".into()],
        domestic_product: true,
    }
}

fn lines() -> Vec<cat::QuoteLine> {
    vec![
        cat::QuoteLine {
            product_id: PRODUCT.into(),
            quantity: 100,
        },
        cat::QuoteLine {
            product_id: "01934a1e-0000-7000-8000-0000000000b2".into(),
            quantity: 25,
        },
    ]
}

fn catalog_requests() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "search",
            request(
                0,
                &cat::SearchProductsRequest {
                    query: "nasi kotak ayam".into(),
                    category_code: "katering".into(),
                    delivery_regency: "33.74".into(),
                    min_price: 10_000,
                    max_price: 50_000,
                    page_size: 20,
                    ..Default::default()
                },
            ),
        ),
        (
            "create",
            request(
                1,
                &cat::CreateProductRequest {
                    idempotency_key: "create-nasi-kotak-1".into(),
                    details: Some(details()),
                },
            ),
        ),
        (
            "update",
            request(
                2,
                &cat::UpdateProductRequest {
                    product_id: PRODUCT.into(),
                    details: Some(details()),
                },
            ),
        ),
        (
            "quote",
            request(3, &cat::QuotePricesRequest { lines: lines() }),
        ),
        (
            "reserve",
            request(
                4,
                &cat::ReserveStockRequest {
                    reservation_id: ORDER.into(),
                    lines: lines(),
                },
            ),
        ),
        (
            "unlist",
            request(
                5,
                &cat::UnlistProductRequest {
                    product_id: PRODUCT.into(),
                    reason: "harga tidak wajar".into(),
                },
            ),
        ),
    ]
}

fn order_requests() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "place",
            request(
                0,
                &ord::PlaceOrderRequest {
                    idempotency_key: "rapat-dinas-2026-12".into(),
                    lines: vec![ord::OrderLine {
                        product_id: PRODUCT.into(),
                        quantity: 100,
                    }],
                    note: "Kirim ke aula lantai 2".into(),
                },
            ),
        ),
        (
            "list",
            request(
                1,
                &ord::ListOrdersRequest {
                    status: ord::OrderStatus::Placed as i32,
                    vendor_id: VENDOR.into(),
                    page_size: 50,
                    placed_from: Some(to_timestamp(
                        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
                    )),
                    ..Default::default()
                },
            ),
        ),
        (
            "transition",
            request(
                2,
                &ord::TransitionRequest {
                    order_id: ORDER.into(),
                    note: "Diterima, dikirim besok".into(),
                },
            ),
        ),
        (
            "receive",
            request(
                3,
                &ord::ReceiveOrderRequest {
                    order_id: ORDER.into(),
                    bast_number: "BAST/027/XII/2026".into(),
                    bast_date: "2026-12-03".into(),
                },
            ),
        ),
        (
            "pay",
            request(
                4,
                &ord::PayOrderRequest {
                    order_id: ORDER.into(),
                    payment_reference: "SP2D-2026-000123".into(),
                },
            ),
        ),
    ]
}

fn registration(legal_form: ven::LegalForm) -> ven::RegisterVendorRequest {
    let individual = legal_form == ven::LegalForm::Individual;
    ven::RegisterVendorRequest {
        name: if individual {
            "Katering Bu Sri".into()
        } else {
            "CV Batik Lasem".into()
        },
        legal_form: legal_form as i32,
        nik: if individual {
            "3374011708850001".into()
        } else {
            String::new()
        },
        nib: if individual {
            String::new()
        } else {
            "9120000000021".into()
        },
        npwp: if individual {
            String::new()
        } else {
            "01.234.567.8-901.000".into()
        },
        scale: ven::Scale::Micro as i32,
        address: "Jl. Pandanaran 12".into(),
        regency_code: "33.74".into(),
        contact: Some(ven::Contact {
            phone: "081225001234".into(),
            email: "sri@example.id".into(),
        }),
        bank_account: Some(ven::BankAccount {
            bank_name: "Bank Jateng".into(),
            account_number: "2010123456".into(),
            account_holder: "Sri Wahyuni".into(),
        }),
    }
}

fn vendor_requests() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "register-individual",
            request(0, &registration(ven::LegalForm::Individual)),
        ),
        ("register-cv", request(0, &registration(ven::LegalForm::Cv))),
        (
            "add-regency",
            request(
                1,
                &ven::AddRegencyRequest {
                    code: "33.99".into(),
                    name: "Kabupaten Contoh".into(),
                    kind: ven::RegencyKind::Kabupaten as i32,
                },
            ),
        ),
        (
            "list-regencies",
            request(
                2,
                &ven::ListRegenciesRequest {
                    province_code: "33".into(),
                    joined_only: true,
                },
            ),
        ),
        (
            "training",
            request(
                3,
                &ven::RecordTrainingRequest {
                    vendor_id: VENDOR.into(),
                    topic: "Pengemasan produk".into(),
                    kind: ven::TrainingKind::Training as i32,
                    attended_on: "2026-11-20".into(),
                    organizer: "Dinas Koperasi dan UKM".into(),
                },
            ),
        ),
        (
            "list-vendors",
            request(
                4,
                &ven::ListVendorsRequest {
                    regency_code: "33.74".into(),
                    name_contains: "batik".into(),
                    page_size: 20,
                    ..Default::default()
                },
            ),
        ),
        (
            "reject",
            request(
                5,
                &ven::RejectVendorRequest {
                    vendor_id: VENDOR.into(),
                    reason: "NIB tidak sesuai".into(),
                },
            ),
        ),
        (
            "verify",
            request(
                6,
                &ven::VerifyVendorRequest {
                    vendor_id: VENDOR.into(),
                    note: "Dokumen lengkap".into(),
                },
            ),
        ),
    ]
}

fn reporting_requests() -> Vec<(&'static str, Vec<u8>)> {
    let period = Some(rep::Period {
        from_date: "2026-01-01".into(),
        until_date: "2026-12-31".into(),
    });
    vec![
        (
            "breakdown",
            request(
                0,
                &rep::GetBreakdownRequest {
                    dimension: rep::Dimension::Category as i32,
                    period: period.clone(),
                    page_size: 100,
                    page_token: page_token(),
                },
            ),
        ),
        (
            "ledger",
            request(
                1,
                &rep::ListTransactionsRequest {
                    page_size: 50,
                    status: "paid".into(),
                    regency_code: "33.74".into(),
                    category_code: "katering".into(),
                    period: period.clone(),
                    ..Default::default()
                },
            ),
        ),
        (
            "ocds",
            request(
                2,
                &rep::ExportOcdsRequest {
                    period,
                    page_size: 1_000,
                    page_token: String::new(),
                },
            ),
        ),
    ]
}

fn page_token() -> String {
    page::token(&blangkon_reporting::store::RowAfter {
        value: 4_800_000,
        key: "katering".into(),
    })
}

fn page_tokens() -> Vec<(&'static str, Vec<u8>)> {
    let ledger = blangkon_reporting::store::After {
        placed_at: Utc.with_ymd_and_hms(2026, 12, 3, 2, 0, 0).unwrap(),
        order_id: ORDER.into(),
    };
    vec![
        ("breakdown", page_token().into_bytes()),
        ("ledger", page::token(&ledger).into_bytes()),
        (
            "by-id",
            page::token(&page::AfterId(VENDOR.into())).into_bytes(),
        ),
    ]
}

fn event(name: &'static str, message: &impl prost::Name) -> (&'static str, Vec<u8>) {
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 2, 0, 0).unwrap();
    let mut new = NewEvent::new("t", "seed", "aggregate", "key", at, message);
    // A fixed id, so that the seed is the same each time it is written.
    new.envelope.event_id = "01934a1e-0000-7000-8000-0000000000e1".into();
    (name, new.envelope.encode_to_vec())
}

fn events() -> Vec<(&'static str, Vec<u8>)> {
    let product = ev::CatalogProduct {
        product_id: PRODUCT.into(),
        vendor_id: VENDOR.into(),
        category_code: "katering.nasi-kotak".into(),
        name: "Nasi kotak".into(),
        unit: "kotak".into(),
        price: 25_000,
        stock: 500,
        delivery_regencies: vec!["33.74".into()],
        domestic_product: true,
    };
    let at = to_timestamp(Utc.with_ymd_and_hms(2026, 12, 3, 2, 0, 0).unwrap());
    let order = ev::OrderSnapshot {
        order_id: ORDER.into(),
        buyer_work_unit: "Dinas Pendidikan".into(),
        buyer_regency: "33.74".into(),
        vendor_id: VENDOR.into(),
        vendor_regency: "33.74".into(),
        vendor_legal_form: "individual".into(),
        vendor_scale: "micro".into(),
        items: vec![ev::OrderItemFact {
            product_id: PRODUCT.into(),
            name: "Nasi kotak".into(),
            category_code: "katering.nasi-kotak".into(),
            unit: "kotak".into(),
            quantity: 100,
            unit_price: 25_000,
            line_total: 2_500_000,
        }],
        total: 2_500_000,
        status: "placed".into(),
        placed_at: Some(at),
        changed_at: Some(at),
        vendor_name: "Katering Bu Sri".into(),
        ..Default::default()
    };
    let change = ev::VendorStatusChange {
        vendor_id: VENDOR.into(),
        regency_code: "33.74".into(),
        previous_status: ven::VendorStatus::Pending as i32,
        status: ven::VendorStatus::Verified as i32,
        legal_form: ven::LegalForm::Individual as i32,
        scale: ven::Scale::Micro as i32,
        ..Default::default()
    };
    vec![
        event(
            "regency-joined",
            &ev::RegencyJoined {
                regency_code: "33.74".into(),
                regency_name: "Kota Semarang".into(),
                joined_at: Some(at),
                actor: None,
            },
        ),
        event(
            "vendor-registered",
            &ev::VendorRegistered {
                vendor_id: VENDOR.into(),
                name: "Katering Bu Sri".into(),
                regency_code: "33.74".into(),
                legal_form: ven::LegalForm::Individual as i32,
                scale: ven::Scale::Micro as i32,
                status: ven::VendorStatus::Pending as i32,
                actor: None,
            },
        ),
        event(
            "vendor-verified",
            &ev::VendorVerified {
                change: Some(change),
            },
        ),
        event(
            "training-recorded",
            &ev::TrainingRecorded {
                vendor_id: VENDOR.into(),
                regency_code: "33.74".into(),
                training_id: "01934a1e-0000-7000-8000-0000000000d1".into(),
                topic: "Pengemasan".into(),
                kind: "training".into(),
                attended_on: Some(at),
                actor: None,
            },
        ),
        event(
            "product-listed",
            &ev::ProductListed {
                product: Some(product),
            },
        ),
        event("order-placed", &ev::OrderPlaced { order: Some(order) }),
    ]
}

fn identifiers() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("nik", b"3374011708850001".to_vec()),
        ("nik-woman-written", b"33.74.01.570885.0002".to_vec()),
        ("nib", b"9120000000021".to_vec()),
        ("npwp-15", b"01.234.567.8-901.000".to_vec()),
        ("npwp-16", b"0012345678901000".to_vec()),
    ]
}

fn search_words() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("meal", b"nasi kotak untuk rapat dinas".to_vec()),
        ("stems", b"makanan minuman pakaian dimakan".to_vec()),
        ("codes", b"kertas A4 80gram 5 rim".to_vec()),
        // A fuzzer's find: the stemmer sliced inside a multi-byte letter.
        (
            "regression-non-ascii-stem",
            "ker\u{74de}t t dinae\0{ 5 rim".as_bytes().to_vec(),
        ),
    ]
}

#[test]
fn the_seed_corpora_are_the_contracts_current_inputs() {
    let bless = std::env::var_os("BLANGKON_BLESS").is_some();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let corpora = [
        ("catalog_requests", catalog_requests()),
        ("order_requests", order_requests()),
        ("vendor_requests", vendor_requests()),
        ("reporting_requests", reporting_requests()),
        ("events", events()),
        ("page_tokens", page_tokens()),
        ("identifiers", identifiers()),
        ("search_words", search_words()),
    ];
    let mut stale = Vec::new();
    for (target, seeds) in corpora {
        let dir = root.join(target);
        for (name, bytes) in seeds {
            let path = dir.join(name);
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &bytes).unwrap();
            } else if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date (regenerate: BLANGKON_BLESS=1 cargo test -p blangkon-suite-tests \
         --test fuzz_corpus): {stale:?}"
    );
    // Every target of fuzz/Cargo.toml has a corpus here.
    let manifest = std::fs::read_to_string(root.join("../Cargo.toml")).unwrap();
    for line in manifest.lines() {
        if let Some(name) = line
            .strip_prefix("name = \"")
            .and_then(|l| l.strip_suffix('"'))
            && name != "blangkon-fuzz"
        {
            assert!(root.join(name).is_dir(), "no seed corpus for {name}");
        }
    }
}
