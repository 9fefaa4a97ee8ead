//! docs/authorization.md, walked against the running services: every
//! operation of the four services, called as every caller, answers as the
//! table says. Each call is made on the caller's own thing and on somebody
//! else's: `yes` must answer neither `PERMISSION_DENIED` nor
//! `UNAUTHENTICATED` on both, `own` only on its own (`PERMISSION_DENIED`
//! on the other), `no` must refuse (`UNAUTHENTICATED` without a token).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::Duration;

use blangkon_catalog::CatalogService;
use blangkon_order::OrderService;
use blangkon_platform::auth::{Role, TokenRequest};
use blangkon_proto::catalog as cat;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::order as ord;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_proto::reporting as rep;
use blangkon_proto::reporting::reporting_service_client::ReportingServiceClient;
use blangkon_proto::vendor as ven;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use blangkon_reporting::ReportingService;
use blangkon_suite_tests::with_topics;
use blangkon_testkit::fixtures::{individual_vendor, listed_product, token, with};
use blangkon_testkit::{TestDatabase, TestKafka, TestSuite, eventually};
use blangkon_vendor::VendorService;
use prost::Message as _;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

const TABLE: &str = include_str!("../../docs/authorization.md");

/// The table's columns, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    ProvinceAdmin,
    RegencyAdmin,
    Vendor,
    Buyer,
    Analyst,
    Service,
    Anonymous,
}

const CALLERS: [Caller; 7] = [
    Caller::ProvinceAdmin,
    Caller::RegencyAdmin,
    Caller::Vendor,
    Caller::Buyer,
    Caller::Analyst,
    Caller::Service,
    Caller::Anonymous,
];

/// Whose thing a call reaches: the caller's own, or somebody else's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Own,
    Others,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Yes,
    Own,
    No,
}

/// The table's rows: an operation and its cell for each caller.
fn rows() -> Vec<(String, [Cell; 7])> {
    let mut rows = Vec::new();
    for line in TABLE.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | op | seven cells |: ten pieces around the pipes.
        if cells.len() != 10 || !cells[1].contains("Service.") {
            continue;
        }
        let mut row = [Cell::No; 7];
        for (i, cell) in cells[2..9].iter().enumerate() {
            row[i] = match *cell {
                "yes" => Cell::Yes,
                "own" => Cell::Own,
                "no" => Cell::No,
                other => panic!("{}: `{other}` is not yes, own or no", cells[1]),
            };
        }
        rows.push((cells[1].to_string(), row));
    }
    rows
}

/// Every method the four services serve, as `Service.Method`.
fn served_operations() -> BTreeSet<String> {
    let set = prost_types::FileDescriptorSet::decode(blangkon_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut operations = BTreeSet::new();
    for file in set.file {
        if !file.package().starts_with("blangkon.") {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                operations.insert(format!("{}.{}", service.name(), method.name()));
            }
        }
    }
    operations
}

#[test]
fn the_table_lists_every_operation_once() {
    let listed: Vec<String> = rows().into_iter().map(|(op, _)| op).collect();
    let unique: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(listed.len(), unique.len(), "an operation listed twice");
    assert_eq!(unique, served_operations());
}

/// The services with two of everything: regencies 33.74 (Kota Semarang,
/// the regency admin's) and 33.24 (Kendal); in each a verified vendor with
/// a listed product, a pending vendor, and an order by a work unit named
/// "Dinas Pendidikan".
struct World {
    _kafka: TestKafka,
    _services: TestSuite,
    _dbs: Vec<TestDatabase>,
    _running: Running,
    vendors: VendorServiceClient<Channel>,
    catalog: CatalogServiceClient<Channel>,
    orders: OrderServiceClient<Channel>,
    reports: ReportingServiceClient<Channel>,
    /// Semarang's (own) and Kendal's (others').
    vendor: [String; 2],
    pending: [String; 2],
    product: [String; 2],
    /// A second listed product of Semarang's vendor, to unlist.
    to_unlist: String,
    order: [String; 2],
    /// The reservation the service placed; released by ReleaseStock.
    reservation: String,
    serial: u64,
}

struct Running {
    _vendor: blangkon_platform::suite::Running<VendorService>,
    _catalog: blangkon_platform::suite::Running<CatalogService>,
    _order: blangkon_platform::suite::Running<OrderService>,
    _reporting: blangkon_platform::suite::Running<ReportingService>,
}

const SEMARANG: &str = "33.74";
const KENDAL: &str = "33.24";
const WORK_UNIT: &str = "Dinas Pendidikan";

fn token_of(caller: Caller) -> Option<String> {
    let request = |subject: &str| TokenRequest {
        subject: subject.into(),
        ..TokenRequest::default()
    };
    let (role, request) = match caller {
        Caller::ProvinceAdmin => (Role::ProvinceAdmin, request("admin@jatengprov")),
        Caller::RegencyAdmin => (
            Role::RegencyAdmin,
            TokenRequest {
                regency: Some(SEMARANG.into()),
                ..request("admin@semarang")
            },
        ),
        Caller::Vendor => return None, // bound to a vendor: see World::token
        Caller::Buyer => (Role::Buyer, buyer(SEMARANG)),
        Caller::Analyst => (Role::Analyst, request("analis")),
        Caller::Service => (Role::Service, request("order-service")),
        Caller::Anonymous => return None,
    };
    Some(token(role, request))
}

fn buyer(regency: &str) -> TokenRequest {
    TokenRequest {
        subject: format!("ppk@{regency}"),
        regency: Some(regency.into()),
        work_unit: Some(WORK_UNIT.into()),
        ..TokenRequest::default()
    }
}

fn vendor_token(vendor_id: &str) -> String {
    token(
        Role::Vendor,
        TokenRequest {
            subject: format!("umkm-{vendor_id}"),
            vendor_id: Some(vendor_id.into()),
            ..TokenRequest::default()
        },
    )
}

/// A CV of `regency` whose NIB and NPWP are numbered `serial`.
fn business(regency: &str, serial: u64) -> ven::RegisterVendorRequest {
    ven::RegisterVendorRequest {
        legal_form: ven::LegalForm::Cv as i32,
        nik: String::new(),
        nib: format!("{:013}", 9_100_000_000_000 + serial),
        npwp: format!("{:015}", 910_000_000_000_000 + serial),
        ..individual_vendor(&format!("CV Maju {serial}"), regency)
    }
}

fn nasi_kotak(regency: &str) -> cat::ProductDetails {
    cat::ProductDetails {
        name: "Nasi Kotak Ayam Bakar".into(),
        description: "Nasi, ayam bakar, lalapan".into(),
        category_code: "katering.nasi-kotak".into(),
        unit: "kotak".into(),
        price: 25_000,
        min_order_quantity: 1,
        stock: 1_000,
        image_urls: vec![],
        delivery_regencies: vec![regency.into()],
        domestic_product: true,
    }
}

impl World {
    async fn new() -> Self {
        let kafka = TestKafka::new();
        let services = TestSuite::on(TestKafka::external(kafka.bootstrap.clone()));
        let services = with_topics(services, &kafka).await;
        let dbs = vec![
            TestDatabase::new().await,
            TestDatabase::new().await,
            TestDatabase::new().await,
            TestDatabase::new().await,
        ];
        let vendor = services.start_on::<VendorService>(&dbs[0]).await;
        let catalog = services.start_on::<CatalogService>(&dbs[1]).await;
        let mut order_settings = services.settings::<OrderService>(&dbs[2]);
        order_settings.service.vendor_endpoint = vendor.endpoint();
        order_settings.service.catalog_endpoint = catalog.endpoint();
        let order = services.start(order_settings).await;
        let reporting = services.start_on::<ReportingService>(&dbs[3]).await;
        let mut world = Self {
            vendors: VendorServiceClient::connect(vendor.endpoint())
                .await
                .unwrap(),
            catalog: CatalogServiceClient::connect(catalog.endpoint())
                .await
                .unwrap(),
            orders: OrderServiceClient::connect(order.endpoint()).await.unwrap(),
            reports: ReportingServiceClient::connect(reporting.endpoint())
                .await
                .unwrap(),
            _kafka: kafka,
            _services: services,
            _dbs: dbs,
            _running: Running {
                _vendor: vendor,
                _catalog: catalog,
                _order: order,
                _reporting: reporting,
            },
            vendor: Default::default(),
            pending: Default::default(),
            product: Default::default(),
            to_unlist: String::new(),
            order: Default::default(),
            reservation: String::new(),
            serial: 0,
        };
        world.furnish().await;
        world
    }

    async fn furnish(&mut self) {
        let province = token_of(Caller::ProvinceAdmin).unwrap();
        for (i, regency) in [SEMARANG, KENDAL].into_iter().enumerate() {
            let join = ven::JoinRegencyRequest {
                code: regency.into(),
            };
            self.vendors
                .join_regency(with(&province, join))
                .await
                .unwrap();
            let id = self.register(&province, regency).await.unwrap();
            let verify = ven::VerifyVendorRequest {
                vendor_id: id.clone(),
                note: String::new(),
            };
            self.vendors
                .verify_vendor(with(&province, verify))
                .await
                .unwrap();
            self.pending[i] = self.register(&province, regency).await.unwrap();
            let seller = vendor_token(&id);
            self.product[i] = listed_product(&mut self.catalog, &seller, nasi_kotak(regency)).await;
            if i == 0 {
                self.to_unlist =
                    listed_product(&mut self.catalog, &seller, nasi_kotak(regency)).await;
            }
            self.vendor[i] = id;
            let placed = self
                .orders
                .place_order(with(
                    &token(Role::Buyer, buyer(regency)),
                    self.one_line(&self.product[i]),
                ))
                .await
                .unwrap()
                .into_inner();
            self.order[i] = placed.id;
        }
    }

    fn next(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    async fn register(&mut self, token: &str, regency: &str) -> Result<String, Status> {
        let serial = self.next();
        let vendor = self
            .vendors
            .register_vendor(with(token, business(regency, serial)))
            .await?
            .into_inner();
        Ok(vendor.id)
    }

    fn one_line(&self, product_id: &str) -> ord::PlaceOrderRequest {
        ord::PlaceOrderRequest {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            lines: vec![ord::OrderLine {
                product_id: product_id.into(),
                quantity: 1,
            }],
            note: String::new(),
        }
    }

    /// The caller's token: the table's vendor is Semarang's.
    fn token(&self, caller: Caller) -> Option<String> {
        match caller {
            Caller::Vendor => Some(vendor_token(&self.vendor[0])),
            other => token_of(other),
        }
    }

    /// Calls `operation` as `caller` on `target`'s thing.
    async fn call(
        &mut self,
        operation: &str,
        caller: Caller,
        target: Target,
    ) -> Result<(), Status> {
        let token = self.token(caller);
        let tok = token.as_deref();
        let which = usize::from(target == Target::Others);
        let regency = [SEMARANG, KENDAL][which];
        let (vendor, pending) = (self.vendor[which].clone(), self.pending[which].clone());
        let (product, order) = (self.product[which].clone(), self.order[which].clone());
        let serial = self.next();
        match operation {
            "VendorService.AddRegency" => {
                let add = ven::AddRegencyRequest {
                    code: format!("9{}.{:02}", serial % 10, serial % 100),
                    name: format!("Kabupaten Uji {serial}"),
                    kind: ven::RegencyKind::Kabupaten as i32,
                };
                self.vendors.add_regency(request(tok, add)).await.map(drop)
            }
            "VendorService.JoinRegency" => {
                let join = ven::JoinRegencyRequest {
                    code: "33.01".into(),
                };
                self.vendors
                    .join_regency(request(tok, join))
                    .await
                    .map(drop)
            }
            "VendorService.ListRegencies" => self
                .vendors
                .list_regencies(request(tok, ven::ListRegenciesRequest::default()))
                .await
                .map(drop),
            "VendorService.RegisterVendor" => self
                .vendors
                .register_vendor(request(tok, business(regency, serial)))
                .await
                .map(drop),
            "VendorService.VerifyVendor" => self
                .vendors
                .verify_vendor(request(
                    tok,
                    ven::VerifyVendorRequest {
                        vendor_id: pending,
                        note: String::new(),
                    },
                ))
                .await
                .map(drop),
            "VendorService.RejectVendor" => self
                .vendors
                .reject_vendor(request(
                    tok,
                    ven::RejectVendorRequest {
                        vendor_id: pending,
                        reason: "dokumen tidak lengkap".into(),
                    },
                ))
                .await
                .map(drop),
            "VendorService.SuspendVendor" => self
                .vendors
                .suspend_vendor(request(
                    tok,
                    ven::SuspendVendorRequest {
                        vendor_id: pending,
                        reason: "terlambat".into(),
                    },
                ))
                .await
                .map(drop),
            "VendorService.ReinstateVendor" => self
                .vendors
                .reinstate_vendor(request(
                    tok,
                    ven::ReinstateVendorRequest {
                        vendor_id: pending,
                        note: String::new(),
                    },
                ))
                .await
                .map(drop),
            "VendorService.RecordTraining" => self
                .vendors
                .record_training(request(
                    tok,
                    ven::RecordTrainingRequest {
                        vendor_id: pending,
                        topic: "Mengunggah produk".into(),
                        kind: ven::TrainingKind::Training as i32,
                        attended_on: "2026-11-20".into(),
                        organizer: "Dinkop UKM".into(),
                    },
                ))
                .await
                .map(drop),
            "VendorService.GetVendor" => self
                .vendors
                .get_vendor(request(
                    tok,
                    ven::GetVendorRequest {
                        vendor_id: vendor,
                        view: 0,
                    },
                ))
                .await
                .map(drop),
            "VendorService.ListVendors" => self
                .vendors
                .list_vendors(request(
                    tok,
                    ven::ListVendorsRequest {
                        regency_code: regency.into(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
            "CatalogService.ListCategories" => self
                .catalog
                .list_categories(request(tok, cat::ListCategoriesRequest::default()))
                .await
                .map(drop),
            "CatalogService.CreateProduct" => self
                .catalog
                .create_product(request(
                    tok,
                    cat::CreateProductRequest {
                        details: Some(nasi_kotak(regency)),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
            "CatalogService.UpdateProduct" => self
                .catalog
                .update_product(request(
                    tok,
                    cat::UpdateProductRequest {
                        product_id: product,
                        details: Some(nasi_kotak(regency)),
                    },
                ))
                .await
                .map(drop),
            "CatalogService.PublishProduct" => self
                .catalog
                .publish_product(request(
                    tok,
                    cat::PublishProductRequest {
                        product_id: product,
                    },
                ))
                .await
                .map(drop),
            "CatalogService.UnlistProduct" => {
                let product_id = match target {
                    Target::Own => self.to_unlist.clone(),
                    Target::Others => product,
                };
                self.catalog
                    .unlist_product(request(
                        tok,
                        cat::UnlistProductRequest {
                            product_id,
                            reason: "tidak sesuai".into(),
                        },
                    ))
                    .await
                    .map(drop)
            }
            "CatalogService.GetProduct" => self
                .catalog
                .get_product(request(
                    tok,
                    cat::GetProductRequest {
                        product_id: product,
                    },
                ))
                .await
                .map(drop),
            "CatalogService.SearchProducts" => self
                .catalog
                .search_products(request(
                    tok,
                    cat::SearchProductsRequest {
                        query: "nasi".into(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
            "CatalogService.QuotePrices" => self
                .catalog
                .quote_prices(request(
                    tok,
                    cat::QuotePricesRequest {
                        lines: vec![cat::QuoteLine {
                            product_id: product,
                            quantity: 1,
                        }],
                    },
                ))
                .await
                .map(drop),
            "CatalogService.ReserveStock" => {
                let reservation_id = uuid::Uuid::new_v4().to_string();
                let reserved = self
                    .catalog
                    .reserve_stock(request(
                        tok,
                        cat::ReserveStockRequest {
                            reservation_id: reservation_id.clone(),
                            lines: vec![cat::QuoteLine {
                                product_id: product,
                                quantity: 1,
                            }],
                        },
                    ))
                    .await;
                if reserved.is_ok() {
                    self.reservation = reservation_id;
                }
                reserved.map(drop)
            }
            "CatalogService.ReleaseStock" => {
                let reservation_id = if self.reservation.is_empty() {
                    uuid::Uuid::new_v4().to_string()
                } else {
                    self.reservation.clone()
                };
                self.catalog
                    .release_stock(request(tok, cat::ReleaseStockRequest { reservation_id }))
                    .await
                    .map(drop)
            }
            "OrderService.PlaceOrder" => {
                let place = self.one_line(&product);
                self.orders.place_order(request(tok, place)).await.map(drop)
            }
            "OrderService.GetOrder" => self
                .orders
                .get_order(request(tok, ord::GetOrderRequest { order_id: order }))
                .await
                .map(drop),
            "OrderService.ListOrders" => self
                .orders
                .list_orders(request(
                    tok,
                    ord::ListOrdersRequest {
                        vendor_id: vendor,
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
            "OrderService.AcceptOrder" => self
                .orders
                .accept_order(request(tok, step(order)))
                .await
                .map(drop),
            "OrderService.RejectOrder" => self
                .orders
                .reject_order(request(tok, step(order)))
                .await
                .map(drop),
            "OrderService.ShipOrder" => self
                .orders
                .ship_order(request(tok, step(order)))
                .await
                .map(drop),
            "OrderService.ReceiveOrder" => self
                .orders
                .receive_order(request(
                    tok,
                    ord::ReceiveOrderRequest {
                        order_id: order,
                        bast_number: format!("BAST/{serial:03}/2026"),
                        bast_date: "2026-11-20".into(),
                    },
                ))
                .await
                .map(drop),
            "OrderService.PayOrder" => self
                .orders
                .pay_order(request(
                    tok,
                    ord::PayOrderRequest {
                        order_id: order,
                        payment_reference: format!("SP2D-{serial:04}"),
                    },
                ))
                .await
                .map(drop),
            "OrderService.CompleteOrder" => self
                .orders
                .complete_order(request(tok, step(order)))
                .await
                .map(drop),
            "OrderService.CancelOrder" => self
                .orders
                .cancel_order(request(tok, step(order)))
                .await
                .map(drop),
            "ReportingService.GetSummary" => self
                .reports
                .get_summary(request(tok, rep::GetSummaryRequest {}))
                .await
                .map(drop),
            "ReportingService.GetBreakdown" => self
                .reports
                .get_breakdown(request(
                    tok,
                    rep::GetBreakdownRequest {
                        dimension: rep::Dimension::Category as i32,
                        period: None,
                    },
                ))
                .await
                .map(drop),
            "ReportingService.ListTransactions" => self
                .reports
                .list_transactions(request(tok, rep::ListTransactionsRequest::default()))
                .await
                .map(drop),
            "ReportingService.ExportOcds" => self
                .reports
                .export_ocds(request(tok, rep::ExportOcdsRequest::default()))
                .await
                .map(drop),
            other => panic!("the walk does not know how to call {other}"),
        }
    }
}

fn step(order_id: String) -> ord::TransitionRequest {
    ord::TransitionRequest {
        order_id,
        note: String::new(),
    }
}

/// `message`, with `token` as its bearer if there is one.
fn request<T>(token: Option<&str>, message: T) -> Request<T> {
    match token {
        Some(token) => with(token, message),
        None => Request::new(message),
    }
}

fn is_refusal(code: Code) -> bool {
    matches!(code, Code::PermissionDenied | Code::Unauthenticated)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_gets_what_the_authorization_table_says() {
    blangkon_testkit::init_tracing();
    let mut world = World::new().await;
    // Reporting has heard of the orders: its reads have something to say.
    let analyst = token_of(Caller::Analyst);
    eventually(
        "reporting hears of both orders",
        Duration::from_secs(30),
        || {
            let mut reports = world.reports.clone();
            let analyst = analyst.clone();
            async move {
                let ledger = reports
                    .list_transactions(request(
                        analyst.as_deref(),
                        rep::ListTransactionsRequest::default(),
                    ))
                    .await
                    .ok()?
                    .into_inner();
                (ledger.transactions.len() == 2).then_some(())
            }
        },
    )
    .await;

    let rows = rows();
    assert_eq!(rows.len(), served_operations().len(), "the table's rows");
    let mut wrong = Vec::new();
    let mut calls = 0;
    for (operation, cells) in rows {
        for (caller, cell) in CALLERS.into_iter().zip(cells) {
            let own = world.call(&operation, caller, Target::Own).await;
            calls += 1;
            let own_code = own.as_ref().err().map(Status::code);
            match cell {
                Cell::Yes | Cell::Own => {
                    if let Err(status) = &own
                        && is_refusal(status.code())
                    {
                        wrong.push(format!("{operation} as {caller:?}: refused, {status:?}"));
                    }
                }
                Cell::No => {
                    let expected = if caller == Caller::Anonymous {
                        Code::Unauthenticated
                    } else {
                        Code::PermissionDenied
                    };
                    if own_code != Some(expected) {
                        wrong.push(format!(
                            "{operation} as {caller:?}: {own_code:?}, not {expected:?}"
                        ));
                    }
                }
            }
            // Yes is on anybody's thing, own only on the caller's.
            if cell != Cell::No {
                let others = world.call(&operation, caller, Target::Others).await;
                calls += 1;
                let code = others.as_ref().err().map(Status::code);
                let refused = code.is_some_and(is_refusal);
                if cell == Cell::Yes && refused {
                    wrong.push(format!(
                        "{operation} as {caller:?} on somebody else's: refused, {others:?}"
                    ));
                }
                if cell == Cell::Own && code != Some(Code::PermissionDenied) {
                    wrong.push(format!(
                        "{operation} as {caller:?} on somebody else's: {code:?}, not PermissionDenied"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {calls} calls answered otherwise than docs/authorization.md says:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    eprintln!("authorization table: {calls} calls, each as the table says");
}
