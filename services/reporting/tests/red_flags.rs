//! The auditors' red flags, planted: a year of ordinary purchasing with one
//! case of each pattern among it, delivered to the projection as Kafka
//! delivers events. Each planted case is flagged with the orders that
//! raised it, nothing ordinary is, a cancellation clears what it
//! undoes, and any order of delivery and a rebuild end with the same
//! flags — on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use blangkon_platform::http::HttpSettings;
use blangkon_platform::inbox::{self, ReceivedEvent};
use blangkon_platform::outbox::{NewEvent, RelayWaker};
use blangkon_platform::time::to_timestamp;
use blangkon_proto::events as ev;
use blangkon_proto::vendor::{LegalForm, Scale, VendorStatus};
use blangkon_reporting::domain::red_flags::{Basis, FlagKind, RedFlag, Thresholds};
use blangkon_reporting::open_data::OpenData;
use blangkon_reporting::projection::{CONSUMER, Projection, settle_red_flags};
use blangkon_reporting::settings::ReportingSettings;
use blangkon_reporting::store::migrations::Migrator;
use blangkon_reporting::store::red_flags::{self, FlagFilter};
use blangkon_testkit::TestDatabase;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use tower::ServiceExt;

const SEMARANG: &str = "33.74";
const KAB_SEMARANG: &str = "33.22";
const CILACAP: &str = "33.01";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 2, 0, 0).unwrap()
}

fn day(d: i64) -> DateTime<Utc> {
    t0() + Duration::days(d)
}

fn uuid(kind: u8, n: u32) -> String {
    format!("01934a1e-0000-7000-8000-{kind:02x}{n:010x}")
}

/// A product: id, vendor, category, unit, price.
#[derive(Clone)]
struct Product {
    id: String,
    vendor: String,
    category: &'static str,
    unit: &'static str,
    price: i64,
}

/// The events of a year, as the services published them.
#[derive(Default)]
struct Year {
    events: Vec<ReceivedEvent>,
    orders: u32,
}

impl Year {
    fn push<M: prost::Name>(&mut self, topic: &str, key: &str, at: DateTime<Utc>, message: &M) {
        let new = NewEvent::new(topic, "test", "aggregate", key, at, message);
        let offset = self.events.len() as i64;
        self.events.push(ReceivedEvent {
            envelope: new.envelope,
            topic: topic.into(),
            partition: 0,
            offset,
        });
    }

    fn regency(&mut self, code: &str, name: &str) {
        let joined = ev::RegencyJoined {
            regency_code: code.into(),
            regency_name: name.into(),
            joined_at: Some(to_timestamp(day(-200))),
            actor: None,
        };
        self.push("blangkon.vendor.events.v1", code, day(-200), &joined);
    }

    fn vendor(&mut self, id: &str, name: &str, regency: &str, verified: DateTime<Utc>) {
        let registered = ev::VendorRegistered {
            vendor_id: id.into(),
            name: name.into(),
            regency_code: regency.into(),
            legal_form: LegalForm::Cv as i32,
            scale: Scale::Small as i32,
            status: VendorStatus::Pending as i32,
            actor: None,
        };
        let at = verified - Duration::days(3);
        self.push("blangkon.vendor.events.v1", id, at, &registered);
        let verified_event = ev::VendorVerified {
            change: Some(ev::VendorStatusChange {
                vendor_id: id.into(),
                regency_code: regency.into(),
                previous_status: VendorStatus::Pending as i32,
                status: VendorStatus::Verified as i32,
                legal_form: LegalForm::Cv as i32,
                scale: Scale::Small as i32,
                ..Default::default()
            }),
        };
        self.push("blangkon.vendor.events.v1", id, verified, &verified_event);
    }

    fn product(&mut self, p: &Product) {
        let listed = ev::ProductListed {
            product: Some(ev::CatalogProduct {
                product_id: p.id.clone(),
                vendor_id: p.vendor.clone(),
                category_code: p.category.into(),
                name: format!("Produk {}", p.category),
                unit: p.unit.into(),
                price: p.price,
                stock: 1_000_000,
                ..Default::default()
            }),
        };
        self.push("blangkon.catalog.events.v1", &p.id, day(-50), &listed);
    }

    fn snapshot(
        order_id: &str,
        (work_unit, regency): (&str, &str),
        p: &Product,
        quantity: i64,
        unit_price: i64,
        placed_at: DateTime<Utc>,
    ) -> ev::OrderSnapshot {
        ev::OrderSnapshot {
            order_id: order_id.into(),
            buyer_work_unit: work_unit.into(),
            buyer_regency: regency.into(),
            vendor_id: p.vendor.clone(),
            vendor_name: "Vendor".into(),
            vendor_regency: SEMARANG.into(),
            vendor_legal_form: "cv".into(),
            vendor_scale: "small".into(),
            items: vec![ev::OrderItemFact {
                product_id: p.id.clone(),
                name: format!("Produk {}", p.category),
                category_code: p.category.into(),
                unit: p.unit.into(),
                quantity,
                unit_price,
                line_total: quantity * unit_price,
            }],
            total: quantity * unit_price,
            status: "placed".into(),
            placed_at: Some(to_timestamp(placed_at)),
            changed_at: Some(to_timestamp(placed_at)),
            version: 0,
            ..Default::default()
        }
    }

    /// An order of `quantity` of `p` at `unit_price` (its list price when
    /// `None`), placed on day `d`; answers its id.
    fn order(
        &mut self,
        buyer: (&str, &str),
        p: &Product,
        quantity: i64,
        unit_price: Option<i64>,
        d: i64,
    ) -> String {
        self.orders += 1;
        let order_id = uuid(0xc0, self.orders);
        let placed_at = day(d) + Duration::hours(1);
        let snapshot = Self::snapshot(
            &order_id,
            buyer,
            p,
            quantity,
            unit_price.unwrap_or(p.price),
            placed_at,
        );
        let placed = ev::OrderPlaced {
            order: Some(snapshot),
        };
        self.push("blangkon.order.events.v1", &order_id, placed_at, &placed);
        order_id
    }

    /// The buyer cancels `order` (placed as `buyer`, `p`, `quantity`, day `d`).
    fn cancel(&mut self, order_id: &str, buyer: (&str, &str), p: &Product, quantity: i64, d: i64) {
        let placed_at = day(d) + Duration::hours(1);
        let changed_at = placed_at + Duration::hours(4);
        let snapshot = ev::OrderSnapshot {
            status: "cancelled".into(),
            previous_status: "placed".into(),
            changed_at: Some(to_timestamp(changed_at)),
            version: 1,
            ..Self::snapshot(order_id, buyer, p, quantity, p.price, placed_at)
        };
        let changed = ev::OrderStatusChanged {
            order: Some(snapshot),
        };
        self.push("blangkon.order.events.v1", order_id, changed_at, &changed);
    }
}

/// What a flag is, for comparing: its kind, basis and orders.
type Case = (FlagKind, Basis, Vec<String>);

/// The year and the flags planted in it (the split purchase's last order
/// and how to cancel it apart).
struct Planted {
    year: Year,
    cases: BTreeSet<Case>,
    split_case: Case,
    cancel_split: Year,
}

fn planted() -> Planted {
    let mut year = Year::default();
    year.regency(SEMARANG, "Kota Semarang");
    year.regency(KAB_SEMARANG, "Kab. Semarang");
    year.regency(CILACAP, "Kab. Cilacap");
    let long_ago = day(-90);

    // Eight ordinary vendors, each selling one product: catering (boxed
    // rice) and paper, a few hundred rupiah apart.
    let mut ordinary = Vec::new();
    for v in 0..8u32 {
        let id = uuid(0xa0, v);
        let regency = if v.is_multiple_of(2) {
            SEMARANG
        } else {
            KAB_SEMARANG
        };
        year.vendor(&id, &format!("Usaha Biasa {v}"), regency, long_ago);
        let product = if v < 4 {
            Product {
                id: uuid(0xb0, v),
                vendor: id,
                category: "katering.nasi-kotak",
                unit: "kotak",
                price: 25_000 + i64::from(v) * 500,
            }
        } else {
            Product {
                id: uuid(0xb0, v),
                vendor: id,
                category: "atk.kertas",
                unit: "rim",
                price: 55_000 + i64::from(v) * 1_000,
            }
        };
        year.product(&product);
        ordinary.push(product);
    }
    let special = |year: &mut Year, n: u32, category, unit, price, verified| {
        let id = uuid(0xa1, n);
        year.vendor(&id, &format!("Usaha Khusus {n}"), SEMARANG, verified);
        let product = Product {
            id: uuid(0xb1, n),
            vendor: id,
            category,
            unit,
            price,
        };
        year.product(&product);
        product
    };
    let material = special(
        &mut year,
        0,
        "konstruksi.material",
        "paket",
        40_000_000,
        long_ago,
    );
    let books = special(&mut year, 1, "atk.buku", "buah", 50_000, long_ago);
    let snacks = special(&mut year, 2, "katering.snack", "kotak", 10_000, long_ago);
    let premium = special(
        &mut year,
        3,
        "katering.nasi-kotak",
        "kotak",
        90_000,
        long_ago,
    );
    let chairs = special(&mut year, 4, "mebel.kursi", "unit", 750_000, long_ago);
    let ink = special(&mut year, 5, "atk.tinta", "botol", 100_000, day(150));

    // A year of ordinary purchasing: six work units in two regencies, each
    // buying from every ordinary vendor in turn, at prices within a few
    // percent of the list, a few million rupiah an order.
    let units = [
        "Dinas Kesehatan",
        "Dinas Perhubungan",
        "Dinas Sosial",
        "BPBD",
        "Dinas Pertanian",
        "Bappeda",
    ];
    let buyer_of = |u: usize| {
        (
            units[u],
            if u.is_multiple_of(2) {
                SEMARANG
            } else {
                KAB_SEMARANG
            },
        )
    };
    for n in 0..144usize {
        let (unit, vendor) = (n % 6, (n / 6) % 8);
        let p = &ordinary[vendor];
        let price = p.price * (100 + (n % 7) as i64 - 3) / 100;
        let quantity = if vendor < 4 {
            200 + (n % 5) as i64 * 40
        } else {
            50 + (n % 5) as i64 * 20
        };
        year.order(
            buyer_of(unit),
            p,
            quantity,
            Some(price),
            (n * 365 / 144) as i64,
        );
    }
    let mut cases = BTreeSet::new();

    // Split: three orders of 80 million within ten days, one work unit to
    // one vendor; together past the 200 million ceiling.
    let works = ("Dinas Pekerjaan Umum", SEMARANG);
    let split: Vec<String> = [200, 204, 209]
        .into_iter()
        .map(|d| year.order(works, &material, 2, None, d))
        .collect();
    let split_case = (FlagKind::SplitPurchase, Basis::None, split.clone());
    cases.insert(split_case.clone());
    let mut cancel_split = Year {
        orders: year.orders,
        ..Year::default()
    };
    cancel_split.cancel(&split[2], works, &material, 2, 209);

    // Just under the ceiling: one order of Rp193.8 million at list price.
    let council = ("Sekretariat DPRD", SEMARANG);
    let just_under = year.order(council, &ordinary[1], 7_600, None, 180);
    cases.insert((FlagKind::JustUnderCeiling, Basis::None, vec![just_under]));

    // A work unit that buys three quarters from one vendor over 12 orders.
    let schools = ("Dinas Pendidikan", KAB_SEMARANG);
    let mut concentrated = Vec::new();
    for i in 0..12i64 {
        let d = 20 + i * 20;
        if i % 4 == 3 {
            year.order(schools, &ordinary[(i / 4) as usize], 200, None, d);
        } else {
            concentrated.push(year.order(schools, &books, 100, None, d));
        }
    }
    cases.insert((FlagKind::VendorConcentration, Basis::WorkUnit, concentrated));

    // A regency whose eleven sub-districts each buy once, all from one
    // vendor; a twelfth order goes elsewhere.
    let mut regency_concentrated = Vec::new();
    let districts: Vec<String> = (1..=12).map(|i| format!("Kecamatan {i}")).collect();
    for (i, district) in districts.iter().enumerate() {
        let d = 30 + i as i64 * 25;
        if i == 11 {
            year.order((district, CILACAP), &ordinary[3], 200, None, d);
        } else {
            regency_concentrated.push(year.order((district, CILACAP), &snacks, 500, None, d));
        }
    }
    cases.insert((
        FlagKind::VendorConcentration,
        Basis::Regency,
        regency_concentrated,
    ));

    // Boxed rice at 90,000 a box where the category pays about 25,000.
    let dear = year.order(buyer_of(2), &premium, 50, None, 250);
    cases.insert((FlagKind::PriceOutlier, Basis::Category, vec![dear]));

    // Chairs bought five times at their list price, then at 2.5 times it.
    for d in [10, 40, 70, 100, 130] {
        year.order(buyer_of(0), &chairs, 4, None, d);
    }
    let spiked = year.order(buyer_of(0), &chairs, 4, Some(1_900_000), 160);
    cases.insert((FlagKind::PriceOutlier, Basis::OwnHistory, vec![spiked]));

    // Ink from a vendor verified ten days before.
    let new = year.order(buyer_of(3), &ink, 30, None, 160);
    cases.insert((FlagKind::NewVendor, Basis::None, vec![new]));

    Planted {
        year,
        cases,
        split_case,
        cancel_split,
    }
}

async fn fresh(test_db: &TestDatabase) -> DatabaseConnection {
    let db = test_db.connect().await;
    blangkon_platform::db::migrate::<Migrator>(&db)
        .await
        .unwrap();
    db
}

async fn deliver(db: &DatabaseConnection, projection: &Projection, events: &[ReceivedEvent]) {
    for event in events {
        inbox::apply(db, CONSUMER, projection, event).await.unwrap();
    }
}

/// Runs the flags' task's rounds until no scope is left marked.
async fn settle(db: &DatabaseConnection, t: &Thresholds) {
    while settle_red_flags(db, t).await.unwrap() > 0 {}
}

async fn flags(db: &DatabaseConnection) -> Vec<RedFlag> {
    let mut flags = red_flags::list_flags(db, &FlagFilter::default(), None, 10_000)
        .await
        .unwrap();
    flags.sort_by(|a, b| a.flag_id.cmp(&b.flag_id));
    flags
}

fn cases(flags: &[RedFlag]) -> BTreeSet<Case> {
    flags
        .iter()
        .map(|f| (f.kind, f.basis, f.order_ids.clone()))
        .collect()
}

/// The red-flag records the projection queued for the analysts' stream.
async fn streamed(db: &DatabaseConnection) -> Vec<serde_json::Value> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT payload FROM outbox WHERE topic = $1 ORDER BY id",
        _ => "SELECT payload FROM outbox WHERE topic = ? ORDER BY id",
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            ["blangkon.reporting.red-flags.v1".into()],
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let payload: Vec<u8> = row.try_get("", "payload").unwrap();
            serde_json::from_slice(&payload).unwrap()
        })
        .collect()
}

async fn get(db: &DatabaseConnection, uri: &str) -> (StatusCode, serde_json::Value) {
    let open_data = OpenData::new(db.clone(), ReportingSettings::default());
    let app = blangkon_reporting::http::routes(open_data, HttpSettings::default());
    let answer = app
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = answer.status();
    let bytes = axum::body::to_bytes(answer.into_body(), 10 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

async fn the_planted_patterns_are_flagged_and_nothing_ordinary_is(test_db: TestDatabase) {
    let Planted {
        year,
        cases: planted,
        split_case,
        cancel_split,
    } = planted();
    let t = Thresholds::default();
    let db = fresh(&test_db).await;
    let live = Projection::new(RelayWaker::default(), t.clone());
    deliver(&db, &live, &year.events).await;
    settle(&db, &t).await;

    let raised = flags(&db).await;
    assert_eq!(cases(&raised), planted, "each planted case, nothing else");
    for flag in &raised {
        assert_eq!(flag.order_count, flag.order_ids.len() as i64);
    }
    let split = raised
        .iter()
        .find(|f| f.kind == FlagKind::SplitPurchase)
        .unwrap();
    assert_eq!((split.amount, split.reference), (240_000_000, 200_000_000));
    assert_eq!(split.buyer_work_unit, "Dinas Pekerjaan Umum");
    let regency = raised.iter().find(|f| f.basis == Basis::Regency).unwrap();
    assert_eq!(
        (regency.buyer_regency.as_str(), regency.group_size),
        (CILACAP, 12)
    );
    // 55 million of 60.3 million: eleven boxes of snacks, one of rice.
    assert_eq!(regency.amount, 55_000_000 * 10_000 / 60_300_000);

    // Following each event gives the flags a recomputation of everything
    // gives: nothing to change.
    let txn = db.begin().await.unwrap();
    let changes = red_flags::recompute_all(&txn, &t).await.unwrap();
    txn.commit().await.unwrap();
    assert!(changes.is_empty(), "{changes:?}");

    // Each flag was streamed as it was raised, with names and words.
    let records = streamed(&db).await;
    let last_of = |flag_id: &str| {
        records
            .iter()
            .rfind(|r| r["flag_id"] == flag_id)
            .unwrap_or_else(|| panic!("no record of {flag_id}"))
            .clone()
    };
    for flag in &raised {
        let record = last_of(&flag.flag_id);
        assert_eq!(record["state"], "raised");
        assert_eq!(record["schema"], "blangkon.reporting.red-flag.v1");
        assert_eq!(record["kind"], flag.kind.code());
        assert!(!record["explanation"]["id"].as_str().unwrap().is_empty());
        assert!(!record["explanation"]["en"].as_str().unwrap().is_empty());
    }
    assert_eq!(last_of(&split.flag_id)["vendor"]["name"], "Usaha Khusus 0");
    assert_eq!(
        last_of(&split.flag_id)["buyer"]["regency_name"],
        "Kota Semarang"
    );

    // The public reads them, filtered and one by one.
    let (status, page) = get(&db, "/api/v1/red-flags?kind=split-purchase").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let listed = page["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{page}");
    assert_eq!(listed[0]["flag_id"], split.flag_id.as_str());
    let (status, all) = get(&db, &format!("/api/v1/red-flags?regency={CILACAP}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["data"].as_array().unwrap().len(), 1, "{all}");
    let (status, one) = get(&db, &format!("/api/v1/red-flags/{}", split.flag_id)).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["order_ids"].as_array().unwrap().len(), 3);
    let (status, problem) = get(&db, "/api/v1/red-flags?kind=bribery").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(problem.to_string().contains("kind"), "{problem}");
    let (status, _) = get(&db, "/api/v1/red-flags/split-purchase-0000000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The buyer cancels the third order of the split: what is left stays
    // under the ceiling, and the flag is cleared, on the stream too.
    deliver(&db, &live, &cancel_split.events).await;
    settle(&db, &t).await;
    let after = flags(&db).await;
    let mut left = planted.clone();
    left.remove(&split_case);
    assert_eq!(cases(&after), left);
    assert_eq!(streamed(&db).await.last().unwrap()["state"], "cleared");
    assert_eq!(
        streamed(&db).await.last().unwrap()["flag_id"],
        split.flag_id.as_str()
    );

    // Delivered backwards (a vendor's verification after its orders, a
    // cancellation before its order), the same flags.
    let mut everything = year.events.clone();
    everything.extend(cancel_split.events.iter().cloned());
    let backwards_db = TestDatabase::sqlite();
    let backwards = fresh(&backwards_db).await;
    everything.reverse();
    deliver(&backwards, &live, &everything).await;
    settle(&backwards, &t).await;
    assert_eq!(flags(&backwards).await, after);

    // A rebuild replays without flags and computes them once at its end:
    // the same flags.
    let rebuilt_db = TestDatabase::sqlite();
    let rebuilt = fresh(&rebuilt_db).await;
    everything.reverse();
    deliver(&rebuilt, &Projection::replaying(), &everything).await;
    assert!(flags(&rebuilt).await.is_empty());
    let txn = rebuilt.begin().await.unwrap();
    red_flags::recompute_all(&txn, &t).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(flags(&rebuilt).await, after);

    // Other thresholds: a start recomputes everything once, then not again.
    let stricter = Thresholds {
        ceiling: 100_000_000,
        ..t.clone()
    };
    let recomputed = blangkon_reporting::projection::refresh_red_flags(&db, &stricter)
        .await
        .unwrap();
    assert!(recomputed.is_some());
    assert!(
        flags(&db)
            .await
            .iter()
            .all(|f| f.kind != FlagKind::JustUnderCeiling),
        "Rp193.8 million is over a 100 million ceiling, not under it"
    );
    assert_eq!(
        blangkon_reporting::projection::refresh_red_flags(&db, &stricter)
            .await
            .unwrap(),
        None
    );
    // A replica still running with the old thresholds (a rolling update)
    // marks the order's scopes but does not compute them with its own:
    // its rounds fail until it is replaced, and a replica with the
    // thresholds in force computes them.
    let rice = Product {
        id: uuid(0xb0, 0),
        vendor: uuid(0xa0, 0),
        category: "katering.nasi-kotak",
        unit: "kotak",
        price: 25_000,
    };
    let mut later = Year {
        orders: 10_000,
        ..Year::default()
    };
    later.order(("Dinas Koperasi", SEMARANG), &rice, 100, None, 300);
    inbox::apply(&db, CONSUMER, &live, &later.events[0])
        .await
        .unwrap();
    let refused = settle_red_flags(&db, &t).await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(settle_red_flags(&db, &stricter).await.unwrap() > 0);
    let txn = db.begin().await.unwrap();
    let changes = red_flags::recompute_all(&txn, &stricter).await.unwrap();
    txn.commit().await.unwrap();
    assert!(changes.is_empty(), "{changes:?}");
}

#[tokio::test]
async fn planted_red_flags_on_sqlite() {
    the_planted_patterns_are_flagged_and_nothing_ordinary_is(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn planted_red_flags_on_postgres() {
    let Some(db) = TestDatabase::postgres("planted_red_flags_on_postgres").await else {
        return;
    };
    the_planted_patterns_are_flagged_and_nothing_ordinary_is(db).await;
}
