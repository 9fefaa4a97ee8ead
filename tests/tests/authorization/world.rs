//! The services under the walk, with two of everything: the caller's own
//! and somebody else's.

use super::*;

/// The services with two of everything: regencies 33.74 (Kota Semarang,
/// the regency admin's) and 33.24 (Kendal); in each a verified vendor with
/// a listed product, a pending vendor, and an order by a work unit named
/// "Dinas Pendidikan".
pub(crate) struct World {
    /// The four services, stocked: Semarang joined, with a verified vendor
    /// and its listed product.
    _shop: Shop,
    vendors: VendorServiceClient<Channel>,
    catalog: CatalogServiceClient<Channel>,
    orders: OrderServiceClient<Channel>,
    pub(crate) reports: ReportingServiceClient<Channel>,
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
    tokens: Tokens,
}

/// Where the callers' tokens come from.
enum Tokens {
    /// The test issuer the services trust from the start.
    Local,
    /// A real OpenID provider, once the services trust it instead: a token
    /// per caller and service, as the provider grants them (`None` where
    /// it grants none, as for the order service's client outside its
    /// calls).
    Provider {
        provider: TestProvider,
        held: std::collections::HashMap<(String, &'static str), Option<String>>,
    },
}

/// The service an operation belongs to, `VendorService.X` → `vendor`.
pub(crate) fn service_of(operation: &str) -> &'static str {
    ["vendor", "catalog", "order", "reporting"]
        .into_iter()
        .find(|s| operation.to_lowercase().starts_with(s))
        .unwrap_or_else(|| panic!("{operation} is of no service"))
}

const SEMARANG: &str = "33.74";
const KENDAL: &str = "33.24";
const WORK_UNIT: &str = "Dinas Pendidikan";

pub(crate) fn token_of(caller: Caller) -> Option<String> {
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
    pub(crate) async fn new() -> Self {
        let shop = Shop::open_on(own_topics(None).await).await;
        let mut world = Self {
            vendors: shop.vendors().await,
            catalog: shop.catalog().await,
            orders: shop.orders().await,
            reports: shop.reports().await,
            vendor: Default::default(),
            pending: Default::default(),
            product: [shop.product_id.clone(), String::new()],
            to_unlist: String::new(),
            order: Default::default(),
            reservation: String::new(),
            serial: 0,
            tokens: Tokens::Local,
            _shop: shop,
        };
        world.furnish().await;
        world
    }

    /// Semarang's vendor and product come with the shop; Kendal joins and
    /// gets the same; each regency gets a pending vendor and an order by
    /// its "Dinas Pendidikan".
    async fn furnish(&mut self) {
        let province = token_of(Caller::ProvinceAdmin).unwrap();
        let stocked = self
            .catalog
            .get_product(with(
                &province,
                cat::GetProductRequest {
                    product_id: self.product[0].clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        self.vendor[0] = stocked.vendor_id;
        let seller = vendor_token(&self.vendor[0]);
        self.to_unlist = listed_product(&mut self.catalog, &seller, nasi_kotak(SEMARANG)).await;
        let join = ven::JoinRegencyRequest {
            code: KENDAL.into(),
        };
        self.vendors
            .join_regency(with(&province, join))
            .await
            .unwrap();
        let kendal = self.register(&province, KENDAL).await.unwrap();
        let verify = ven::VerifyVendorRequest {
            vendor_id: kendal.clone(),
            note: String::new(),
        };
        self.vendors
            .verify_vendor(with(&province, verify))
            .await
            .unwrap();
        self.product[1] = listed_product(
            &mut self.catalog,
            &vendor_token(&kendal),
            nasi_kotak(KENDAL),
        )
        .await;
        self.vendor[1] = kendal;
        for (i, regency) in [SEMARANG, KENDAL].into_iter().enumerate() {
            self.pending[i] = self.register(&province, regency).await.unwrap();
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

    /// From now on the services trust `provider` only (each restarted
    /// over its database), and the callers sign in there: the accounts
    /// the provider's administrator made for them, with the same bindings.
    pub(crate) async fn trust(&mut self, provider: TestProvider) {
        provider
            .add_account(
                "ppk@disdik",
                serde_json::json!({"role": "buyer", "regency": SEMARANG, "work_unit": WORK_UNIT}),
            )
            .await;
        provider
            .add_account(
                "umkm-semarang",
                serde_json::json!({"role": "vendor", "vendor_id": self.vendor[0]}),
            )
            .await;
        provider.trusted_by(&mut self._shop.services.config);
        for member in Member::ALL {
            self._shop.stop(member).await;
            self._shop.start(member).await;
        }
        self.tokens = Tokens::Provider {
            provider,
            held: Default::default(),
        };
    }

    /// The caller's token for `service`: the table's vendor is Semarang's.
    pub(crate) async fn token(&mut self, caller: Caller, service: &'static str) -> Option<String> {
        let Tokens::Provider { provider, held } = &mut self.tokens else {
            return match caller {
                Caller::Vendor => Some(vendor_token(&self.vendor[0])),
                other => token_of(other),
            };
        };
        let key = (format!("{caller:?}"), service);
        if let Some(token) = held.get(&key) {
            return token.clone();
        }
        let account = match caller {
            Caller::ProvinceAdmin => Some(PROVINCE_ADMIN),
            Caller::RegencyAdmin => Some(SEMARANG_ADMIN),
            Caller::Vendor => Some("umkm-semarang"),
            Caller::Buyer => Some("ppk@disdik"),
            Caller::Analyst => Some(ANALYST),
            Caller::Service | Caller::Anonymous => None,
        };
        let token = match (caller, account) {
            (_, Some(account)) => Some(provider.sign_in(account, service).await.access_token),
            (Caller::Service, None) => provider.client_token(ORDER_CLIENT, service).await.ok(),
            _ => None,
        };
        held.insert(key, token.clone());
        token
    }

    /// Calls `operation` as `caller` on `target`'s thing.
    pub(crate) async fn call(
        &mut self,
        operation: &str,
        caller: Caller,
        target: Target,
    ) -> Result<(), Status> {
        let token = self.token(caller, service_of(operation)).await;
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
                        ..Default::default()
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
