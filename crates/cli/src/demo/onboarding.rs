//! The province lets regencies join, each regency onboards its vendors, and
//! vendors list their products.

use anyhow::{Context as _, bail};
use blangkon_proto::catalog as cat;
use blangkon_proto::vendor as ven;
use tonic::{Code, Status};

use super::calendar::{VendorDays, at};
use super::plan::VendorPlan;

use super::*;

impl Suite {
    pub(super) async fn join(
        &self,
        code: &str,
        moment: chrono::NaiveDateTime,
    ) -> anyhow::Result<()> {
        let token = self.province()?;
        let joined = self
            .call(
                "join",
                |_| false,
                || {
                    let mut client = self.vendor.clone();
                    let request = ven::JoinRegencyRequest { code: code.into() };
                    let token = token.clone();
                    let request = at(with_token(&token, request), moment);
                    async move { client.join_regency(request).await }
                },
            )
            .await;
        match joined {
            Ok(_) => Ok(()),
            Err(status) if status.code() == Code::AlreadyExists => Ok(()),
            Err(status) => bail!("joining regency {code}: {}", status.message()),
        }
    }

    /// Registers and verifies `v` (or finds it registered by an earlier
    /// run), records its training; answers its id.
    pub(super) async fn onboard(
        &self,
        v: &VendorPlan,
        days: &VendorDays,
    ) -> anyhow::Result<String> {
        let admin = self.regency_admin(&v.regency)?;
        let registration = ven::RegisterVendorRequest {
            name: v.name.clone(),
            legal_form: legal_form(v.legal_form) as i32,
            nik: v.nik.clone(),
            nib: v.nib.clone(),
            npwp: v.npwp.clone(),
            scale: scale(v.scale) as i32,
            address: v.address.clone(),
            regency_code: v.regency.clone(),
            contact: Some(ven::Contact {
                phone: v.phone.clone(),
                email: String::new(),
            }),
            bank_account: Some(ven::BankAccount {
                bank_name: v.bank.0.into(),
                account_number: v.bank.1.clone(),
                account_holder: v.bank.2.clone(),
            }),
        };
        // An earlier run's vendor is found first: a registration whose NIK
        // or NIB is taken would be accepted as a duplicate for review.
        let vendor = match self.registered(v, &admin).await? {
            Some(vendor) => vendor,
            None => {
                self.call(
                    "register",
                    |_| false,
                    || {
                        let mut client = self.vendor.clone();
                        let request = at(with_token(&admin, registration.clone()), days.registered);
                        async move { client.register_vendor(request).await }
                    },
                )
                .await
                .map_err(|status| anyhow::anyhow!("registering {}: {}", v.name, status.message()))?
            }
        };
        if !vendor.duplicate_of.is_empty() {
            bail!(
                "{} was registered as a duplicate of vendor {} (its NIK, NIB or NPWP is taken in \
                 another regency): another demo seed or real data uses it",
                v.name,
                vendor.duplicate_of
            );
        }
        if vendor.status == ven::VendorStatus::Pending as i32 {
            self.call(
                "verify",
                |_| false,
                || {
                    let mut client = self.vendor.clone();
                    let request = ven::VerifyVendorRequest {
                        vendor_id: vendor.id.clone(),
                        note: "berkas lengkap (demo)".into(),
                    };
                    let request = at(with_token(&admin, request), days.verified);
                    async move { client.verify_vendor(request).await }
                },
            )
            .await
            .with_context(|| format!("verifying {}", v.name))?;
        }
        if v.trained && vendor.trainings.is_empty() {
            self.call(
                "training",
                |_| false,
                || {
                    let mut client = self.vendor.clone();
                    let request = ven::RecordTrainingRequest {
                        vendor_id: vendor.id.clone(),
                        topic: "Mengunggah produk ke Blangkon".into(),
                        kind: ven::TrainingKind::Training as i32,
                        attended_on: days.trained_on.format("%Y-%m-%d").to_string(),
                        organizer: "Dinas Koperasi dan UKM Provinsi Jawa Tengah".into(),
                    };
                    let request = at(with_token(&admin, request), days.training_recorded);
                    async move { client.record_training(request).await }
                },
            )
            .await
            .with_context(|| format!("recording {}'s training", v.name))?;
        }
        Ok(vendor.id)
    }

    /// The vendor an earlier run registered as `v`, found by its name and
    /// its NIK or NIB, if there is one.
    async fn registered(&self, v: &VendorPlan, admin: &str) -> anyhow::Result<Option<ven::Vendor>> {
        let mut page_token = String::new();
        loop {
            let page = self
                .call(
                    "find vendor",
                    |_| false,
                    || {
                        let mut client = self.vendor.clone();
                        let request = ven::ListVendorsRequest {
                            regency_code: v.regency.clone(),
                            name_contains: v.name.clone(),
                            page_size: 500,
                            page_token: page_token.clone(),
                            ..Default::default()
                        };
                        let request = with_token(admin, request);
                        async move { client.list_vendors(request).await }
                    },
                )
                .await
                .with_context(|| format!("finding {}", v.name))?;
            let found = page.vendors.into_iter().find(|found| {
                (!v.nik.is_empty() && found.nik == v.nik)
                    || (!v.nib.is_empty() && found.nib == v.nib)
            });
            if let Some(found) = found {
                let full = self
                    .call(
                        "get vendor",
                        |_| false,
                        || {
                            let mut client = self.vendor.clone();
                            let request = ven::GetVendorRequest {
                                vendor_id: found.id.clone(),
                                view: ven::VendorView::Full as i32,
                            };
                            let request = with_token(admin, request);
                            async move { client.get_vendor(request).await }
                        },
                    )
                    .await?;
                return Ok(Some(full));
            }
            if page.next_page_token.is_empty() {
                return Ok(None);
            }
            page_token = page.next_page_token;
        }
    }

    /// Creates (or finds, by its key) and publishes product `p` of
    /// `vendor_id`; answers its id.
    pub(super) async fn list_product(
        &self,
        vendor_id: &str,
        p: &plan::ProductPlan,
        listed: chrono::NaiveDateTime,
    ) -> anyhow::Result<String> {
        let token = self.vendor_token(vendor_id)?;
        let details = cat::ProductDetails {
            name: p.name.clone(),
            description: p.description.clone(),
            category_code: p.category.clone(),
            unit: p.unit.clone(),
            price: p.price,
            min_order_quantity: 1,
            stock: 10_000_000,
            image_urls: Vec::new(),
            delivery_regencies: p.delivery_regencies.clone(),
            domestic_product: true,
        };
        // The catalog learns of the verification from the vendor events a
        // moment later: until then it refuses the vendor.
        let not_yet =
            |s: &Status| matches!(s.code(), Code::PermissionDenied | Code::FailedPrecondition);
        let product = self
            .call("create product", not_yet, || {
                let mut client = self.catalog.clone();
                let request = cat::CreateProductRequest {
                    details: Some(details.clone()),
                    idempotency_key: p.key.clone(),
                };
                let request = at(with_token(&token, request), listed);
                async move { client.create_product(request).await }
            })
            .await
            .with_context(|| format!("creating product {}", p.name))?;
        if product.status != cat::ProductStatus::Listed as i32 {
            self.call(
                "publish",
                |_| false,
                || {
                    let mut client = self.catalog.clone();
                    let request = cat::PublishProductRequest {
                        product_id: product.id.clone(),
                    };
                    let request = at(with_token(&token, request), listed);
                    async move { client.publish_product(request).await }
                },
            )
            .await
            .with_context(|| format!("publishing product {}", p.name))?;
        }
        Ok(product.id)
    }
}
