//! A verified vendor manages its products: creates them as drafts, edits
//! them, lists them for buyers (publish) and takes them down (unlist); the
//! province may take any product down. Reading one product is here too.

use blangkon_domain::validation::Refusal;
use blangkon_domain::{Actor, ProductId, VendorId, VendorStatus};
use blangkon_platform::{db, outbox, time};
use sea_orm::ConnectionTrait;

use crate::Catalog;
use crate::domain::product::{
    self as rules, DetailsInput, ProductDetails, ProductStatus, Unavailable,
};
use crate::error::{CatalogError, Result};
use crate::events;
use crate::policy::{self, Unlister};
use crate::store::{self, Changed, price_history, product};

/// Longest reason an unlisting may give.
const MAX_REASON: usize = 1000;

/// A product with its price history.
#[derive(Debug, Clone)]
pub struct ProductView {
    pub product: product::Model,
    pub price_history: Vec<price_history::Model>,
}

/// A new product, as its vendor submits it.
#[derive(Debug, Clone)]
pub struct CreateProduct {
    /// The vendor's key for this creation: a retry with it answers the
    /// product the first call made.
    pub key: Option<String>,
    /// Checked against the catalog's rules (price ceiling, categories).
    pub details: DetailsInput,
}

impl Catalog {
    pub async fn create_product(
        &self,
        actor: &Actor,
        command: CreateProduct,
    ) -> Result<ProductView> {
        let vendor_id = self.verified_vendor(&self.db, actor).await?;
        let details = self.check_details(&self.db, command.details).await?;
        let key = command.key;
        let now = time::occurred_now();
        let row = product::Model {
            creation_key: key.clone(),
            ..product_row(uuid::Uuid::now_v7().to_string(), vendor_id, details, now)
        };
        if let Some(key) = &key
            && let Some(first) =
                store::find_product_by_creation_key(&self.db, &row.vendor_id, key).await?
        {
            return self.with_history(first).await;
        }
        // A draft is private to its vendor: nothing to announce yet.
        match store::insert_product(&self.db, row.clone()).await {
            Ok(()) => {}
            // The same key, created by a concurrent call: that one counts.
            Err(e) if key.is_some() && db::is_unique_violation(&e) => {
                let first = store::find_product_by_creation_key(
                    &self.db,
                    &row.vendor_id,
                    key.as_deref().unwrap_or_default(),
                )
                .await?
                .ok_or(CatalogError::Store(e))?;
                return self.with_history(first).await;
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(product_id = %row.id, vendor_id = %row.vendor_id, "product created");
        Ok(ProductView {
            product: row,
            price_history: Vec::new(),
        })
    }

    pub async fn update_product(
        &self,
        actor: &Actor,
        product_id: ProductId,
        details: DetailsInput,
    ) -> Result<ProductView> {
        let product_id = product_id.to_string();
        let txn = db::begin_write(&self.db).await?;
        let vendor_id = self.verified_vendor(&txn, actor).await?;
        let details = self.check_details(&txn, details).await?;
        let before = self.own_product(&txn, &vendor_id, &product_id).await?;
        let now = time::occurred_now();
        let after = product::Model {
            status: before.status,
            version: before.version + 1,
            created_at: before.created_at,
            // The creation key stays: a retried creation must still find
            // this product, however often it was edited since.
            creation_key: before.creation_key.clone(),
            ..product_row(before.id.clone(), vendor_id, details, now)
        };
        if !store::update_product(&txn, after.clone()).await? {
            return Err(CatalogError::Changed(format!("product {product_id}")));
        }
        if after.price != before.price {
            store::record_price_change(
                &txn,
                &product_id,
                before.price,
                after.price,
                &actor.subject,
                now,
            )
            .await?;
        }
        store::record_search_change(&txn, Changed::Product, &product_id).await?;
        // Buyers and reporting hear about products once they were listed.
        if after.status != ProductStatus::Draft {
            outbox::enqueue(&txn, events::product_updated(&after, before.price)).await?;
            if after.stock != before.stock {
                outbox::enqueue(&txn, events::stock_changed(&after, before.stock)).await?;
            }
        }
        txn.commit().await?;
        self.committed();
        self.with_history(after).await
    }

    /// Lists a draft or unlisted product for buyers.
    pub async fn publish_product(
        &self,
        actor: &Actor,
        product_id: ProductId,
    ) -> Result<ProductView> {
        let product_id = product_id.to_string();
        let txn = db::begin_write(&self.db).await?;
        let vendor_id = self.verified_vendor(&txn, actor).await?;
        let before = self.own_product(&txn, &vendor_id, &product_id).await?;
        let to = rules::publish(before.status)?;
        let after = self.set_status(&txn, before, to).await?;
        outbox::enqueue(&txn, events::product_listed(&after)).await?;
        txn.commit().await?;
        self.committed();
        tracing::info!(%product_id, "product listed");
        self.with_history(after).await
    }

    /// Takes a listed product down; the province must say why.
    pub async fn unlist_product(
        &self,
        actor: &Actor,
        product_id: ProductId,
        reason: &str,
    ) -> Result<ProductView> {
        let unlister = policy::unlist(actor)?;
        let product_id = product_id.to_string();
        let reason = reason.trim();
        if reason.chars().count() > MAX_REASON {
            return Err(CatalogError::invalid(
                "reason",
                format!("must be at most {MAX_REASON} characters"),
            ));
        }
        if unlister == Unlister::Province && reason.is_empty() {
            return Err(CatalogError::invalid(
                "reason",
                "is required when the province unlists a product",
            ));
        }
        let txn = db::begin_write(&self.db).await?;
        let before = match unlister {
            // A vendor may take its own product down whatever its status.
            Unlister::Vendor(vendor_id) => self.own_product(&txn, &vendor_id, &product_id).await?,
            Unlister::Province => store::find_product(&txn, &product_id)
                .await?
                .ok_or_else(|| CatalogError::NotFound(format!("product {product_id}")))?,
        };
        let to = rules::unlist(before.status)?;
        let after = self.set_status(&txn, before, to).await?;
        outbox::enqueue(
            &txn,
            events::product_unlisted(&after, reason, &actor.subject),
        )
        .await?;
        txn.commit().await?;
        self.committed();
        self.with_history(after).await
    }

    pub async fn get_product(&self, actor: &Actor, product_id: ProductId) -> Result<ProductView> {
        policy::browse(actor)?;
        let product_id = product_id.to_string();
        let not_found = || CatalogError::NotFound(format!("product {product_id}"));
        let row = store::find_product(&self.db, &product_id)
            .await?
            .ok_or_else(not_found)?;
        if !policy::sees_every_product_of(actor, &row.vendor_id) {
            // Others see what buyers see: listed products of verified
            // vendors. The rest does not exist for them.
            let vendor_verified = store::find_vendor(&self.db, &row.vendor_id)
                .await?
                .is_some_and(|v| v.status == VendorStatus::Verified);
            if row.status != ProductStatus::Listed || !vendor_verified {
                return Err(not_found());
            }
        }
        self.with_history(row).await
    }

    /// The vendor a caller manages products for, if the catalog knows it
    /// as verified: only verified vendors manage products.
    async fn verified_vendor(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
    ) -> Result<VendorId> {
        let vendor_id = policy::manage_products(actor)?;
        // The catalog knows vendors from the vendor service's events: a
        // verification recorded a moment ago reaches it within seconds.
        let refused = |standing: String| {
            CatalogError::Refused(vec![Refusal::new(
                Unavailable::VendorNotVerified.kind(),
                format!("vendors/{vendor_id}"),
                format!("{standing}; only verified vendors manage products"),
            )])
        };
        let vendor = store::find_vendor(conn, &vendor_id.to_string())
            .await?
            .ok_or_else(|| {
                refused(
                    "the catalog knows of no such vendor yet (it hears of a registration and \
                     a verification from the vendor service within seconds: if they were just \
                     recorded, try again in a moment)"
                        .into(),
                )
            })?;
        if vendor.status != VendorStatus::Verified {
            return Err(refused(format!(
                "the catalog knows it as {}",
                vendor.status
            )));
        }
        Ok(vendor_id)
    }

    /// `details` checked against the catalog's rules and categories.
    async fn check_details(
        &self,
        conn: &impl ConnectionTrait,
        details: DetailsInput,
    ) -> Result<ProductDetails> {
        let details = ProductDetails::parse(details, self.max_price)?;
        if !store::category_exists(conn, &details.category_code).await? {
            return Err(CatalogError::invalid(
                "details.category_code",
                format!(
                    "`{}` is not a category; see ListCategories",
                    details.category_code
                ),
            ));
        }
        Ok(details)
    }

    /// The product, if `vendor_id` owns it.
    async fn own_product(
        &self,
        conn: &impl ConnectionTrait,
        vendor_id: &VendorId,
        product_id: &str,
    ) -> Result<product::Model> {
        let row = store::find_product(conn, product_id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("product {product_id}")))?;
        policy::own_product(vendor_id, &row.vendor_id)?;
        Ok(row)
    }

    /// Moves a product to `to` (already checked against the listing rules)
    /// and tells search, inside the caller's transaction.
    async fn set_status(
        &self,
        txn: &impl ConnectionTrait,
        before: product::Model,
        to: ProductStatus,
    ) -> Result<product::Model> {
        let after = product::Model {
            status: to,
            version: before.version + 1,
            updated_at: time::occurred_now(),
            ..before
        };
        if !store::update_product(txn, after.clone()).await? {
            return Err(CatalogError::Changed(format!("product {}", after.id)));
        }
        store::record_search_change(txn, Changed::Product, &after.id).await?;
        Ok(after)
    }

    async fn with_history(&self, row: product::Model) -> Result<ProductView> {
        let price_history = store::price_history(&self.db, &row.id).await?;
        Ok(ProductView {
            product: row,
            price_history,
        })
    }
}

/// The stored row of a new draft product of `vendor_id` with `details`,
/// as of `at`.
fn product_row(
    id: String,
    vendor_id: VendorId,
    details: ProductDetails,
    at: chrono::DateTime<chrono::Utc>,
) -> product::Model {
    product::Model {
        id,
        vendor_id: vendor_id.to_string(),
        category_code: details.category_code,
        name: details.name,
        description: details.description,
        unit: details.unit,
        price: details.price.get(),
        min_order_quantity: details.min_order_quantity,
        stock: details.stock,
        image_urls: details.image_urls.into(),
        delivery_regencies: details.delivery_regencies.into(),
        domestic_product: details.domestic_product,
        status: ProductStatus::Draft,
        version: 0,
        created_at: at,
        updated_at: at,
        creation_key: None,
    }
}
