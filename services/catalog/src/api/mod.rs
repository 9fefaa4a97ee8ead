//! gRPC handlers of `blangkon.catalog.v1.CatalogService`: authorise the
//! caller, parse the request into domain values, write the change and its
//! event in one transaction, and wake the outbox relay.

mod convert;
mod stock;

use std::collections::HashMap;
use std::sync::Arc;

use blangkon_domain::{Rupiah, VendorStatus};
use blangkon_platform::api_error::ApiError;
use blangkon_platform::auth::{Principal, Role};
use blangkon_platform::db;
use blangkon_platform::handle;
use blangkon_platform::outbox::{self, RelayWaker};
use blangkon_platform::page;
use blangkon_proto::catalog as pb;
use blangkon_proto::catalog::catalog_service_server::CatalogService;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tonic::{Request, Response, Status};

use crate::domain::product::{self as rules, ProductDetails, ProductStatus};
use crate::events;
use crate::search::Search;
use crate::store::{self, Changed, product};
use convert::{
    details_input, parse_creation_key, parse_product_id, product_row, product_to_proto,
    search_query,
};

type ApiResult<T> = Result<T, ApiError>;

/// The catalog service's gRPC API.
#[derive(Debug, Clone)]
pub struct CatalogApi {
    db: DatabaseConnection,
    relay: RelayWaker,
    search: Arc<Search>,
    /// Highest price per unit a product may carry, in rupiah.
    max_price: Rupiah,
}

impl CatalogApi {
    pub fn new(
        db: DatabaseConnection,
        relay: RelayWaker,
        search: Arc<Search>,
        max_price: Rupiah,
    ) -> Self {
        Self {
            db,
            relay,
            search,
            max_price,
        }
    }

    /// After a commit: publish its events and refresh search now.
    fn committed(&self) {
        self.relay.wake();
        self.search.wake();
    }
}

impl CatalogApi {
    /// The vendor a `vendor` token acts for, if the catalog knows it as
    /// verified: only verified vendors manage products.
    async fn verified_vendor(
        &self,
        conn: &impl ConnectionTrait,
        who: &Principal,
    ) -> ApiResult<String> {
        if who.role != Role::Vendor {
            return Err(ApiError::denied(format!(
                "role {} may not manage products",
                who.role
            )));
        }
        let vendor_id = who.vendor_id.clone().ok_or_else(|| {
            ApiError::denied("this vendor token is not bound to a vendor (no vendor_id claim)")
        })?;
        let vendor = store::find_vendor(conn, &vendor_id).await?.ok_or_else(|| {
            ApiError::FailedPrecondition(format!(
                "vendor {vendor_id} is not known to the catalog; it must be registered and verified first"
            ))
        })?;
        if vendor.status != VendorStatus::Verified {
            return Err(ApiError::FailedPrecondition(format!(
                "vendor {vendor_id} is {}; only verified vendors manage products",
                vendor.status
            )));
        }
        Ok(vendor_id)
    }

    async fn parse_details(
        &self,
        conn: &impl ConnectionTrait,
        details: Option<pb::ProductDetails>,
    ) -> ApiResult<ProductDetails> {
        let details = ProductDetails::parse(details_input(details), self.max_price)
            .map_err(ApiError::Invalid)?;
        if !store::category_exists(conn, &details.category_code).await? {
            return Err(ApiError::invalid(
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
        vendor_id: &str,
        product_id: &str,
    ) -> ApiResult<product::Model> {
        let row = store::find_product(conn, product_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("product {product_id}")))?;
        if row.vendor_id != vendor_id {
            return Err(ApiError::denied(
                "a vendor may manage only its own products",
            ));
        }
        Ok(row)
    }

    /// Moves a product to `to` (already checked against the listing rules)
    /// and tells search, inside the caller's transaction.
    async fn set_status(
        &self,
        txn: &impl ConnectionTrait,
        before: product::Model,
        to: ProductStatus,
    ) -> ApiResult<product::Model> {
        let after = product::Model {
            status: to,
            version: before.version + 1,
            updated_at: blangkon_platform::time::now(),
            ..before
        };
        if !store::update_product(txn, after.clone()).await? {
            return Err(ApiError::FailedPrecondition(format!(
                "product {} changed meanwhile; reload it and try again",
                after.id
            )));
        }
        store::record_search_change(txn, Changed::Product, &after.id).await?;
        Ok(after)
    }

    async fn with_history(&self, row: product::Model) -> ApiResult<pb::Product> {
        let history = store::price_history(&self.db, &row.id).await?;
        Ok(product_to_proto(row, history))
    }

    async fn do_list_categories(
        &self,
        _who: &Principal,
        _req: pb::ListCategoriesRequest,
    ) -> ApiResult<pb::ListCategoriesResponse> {
        Ok(pb::ListCategoriesResponse {
            categories: store::categories(&self.db)
                .await?
                .into_iter()
                .map(|c| pb::Category {
                    code: c.code,
                    name: c.name,
                    parent_code: c.parent_code.unwrap_or_default(),
                })
                .collect(),
        })
    }

    async fn do_create_product(
        &self,
        who: &Principal,
        req: pb::CreateProductRequest,
    ) -> ApiResult<pb::Product> {
        let key = parse_creation_key(&req.idempotency_key)?;
        let vendor_id = self.verified_vendor(&self.db, who).await?;
        let details = self.parse_details(&self.db, req.details).await?;
        let now = blangkon_platform::time::now();
        let id = uuid::Uuid::now_v7().to_string();
        let row = product::Model {
            creation_key: key.clone(),
            ..product_row(id, vendor_id, details, ProductStatus::Draft, now)
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
                .ok_or(ApiError::Db(e))?;
                return self.with_history(first).await;
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(product_id = %row.id, vendor_id = %row.vendor_id, "product created");
        Ok(product_to_proto(row, Vec::new()))
    }

    async fn do_update_product(
        &self,
        who: &Principal,
        req: pb::UpdateProductRequest,
    ) -> ApiResult<pb::Product> {
        let product_id = parse_product_id(&req.product_id)?;
        let txn = db::begin_write(&self.db).await?;
        let vendor_id = self.verified_vendor(&txn, who).await?;
        let details = self.parse_details(&txn, req.details).await?;
        let before = self.own_product(&txn, &vendor_id, &product_id).await?;
        let status = before.status;
        let now = blangkon_platform::time::now();
        let after = product::Model {
            version: before.version + 1,
            created_at: before.created_at,
            ..product_row(before.id.clone(), vendor_id, details, status, now)
        };
        if !store::update_product(&txn, after.clone()).await? {
            return Err(ApiError::FailedPrecondition(format!(
                "product {product_id} changed while this update was made; reload it and try again"
            )));
        }
        if after.price != before.price {
            store::record_price_change(
                &txn,
                &product_id,
                before.price,
                after.price,
                &who.subject,
                now,
            )
            .await?;
        }
        // Buyers and reporting hear about products once they were listed.
        store::record_search_change(&txn, Changed::Product, &product_id).await?;
        if status != ProductStatus::Draft {
            outbox::enqueue(&txn, events::product_updated(&after, before.price)).await?;
            if after.stock != before.stock {
                outbox::enqueue(&txn, events::stock_changed(&after, before.stock)).await?;
            }
        }
        txn.commit().await?;
        self.committed();
        self.with_history(after).await
    }

    async fn do_publish_product(
        &self,
        who: &Principal,
        req: pb::PublishProductRequest,
    ) -> ApiResult<pb::Product> {
        let product_id = parse_product_id(&req.product_id)?;
        let txn = db::begin_write(&self.db).await?;
        let vendor_id = self.verified_vendor(&txn, who).await?;
        let before = self.own_product(&txn, &vendor_id, &product_id).await?;
        let to = rules::publish(before.status)?;
        let after = self.set_status(&txn, before, to).await?;
        outbox::enqueue(&txn, events::product_listed(&after)).await?;
        txn.commit().await?;
        self.committed();
        tracing::info!(%product_id, "product listed");
        self.with_history(after).await
    }

    async fn do_unlist_product(
        &self,
        who: &Principal,
        req: pb::UnlistProductRequest,
    ) -> ApiResult<pb::Product> {
        let product_id = parse_product_id(&req.product_id)?;
        let reason = req.reason.trim().to_string();
        if reason.chars().count() > 1000 {
            return Err(ApiError::invalid(
                "reason",
                "must be at most 1000 characters",
            ));
        }
        let txn = db::begin_write(&self.db).await?;
        let before = match who.role {
            // A vendor may take its own product down whatever its status.
            Role::Vendor => {
                let vendor_id = who.vendor_id.clone().ok_or_else(|| {
                    ApiError::denied("this vendor token is not bound to a vendor")
                })?;
                self.own_product(&txn, &vendor_id, &product_id).await?
            }
            Role::ProvinceAdmin => {
                if reason.is_empty() {
                    return Err(ApiError::invalid(
                        "reason",
                        "is required when the province unlists a product",
                    ));
                }
                store::find_product(&txn, &product_id)
                    .await?
                    .ok_or_else(|| ApiError::NotFound(format!("product {product_id}")))?
            }
            role => {
                return Err(ApiError::denied(format!(
                    "role {role} may not unlist products"
                )));
            }
        };
        let to = rules::unlist(before.status)?;
        let after = self.set_status(&txn, before, to).await?;
        outbox::enqueue(
            &txn,
            events::product_unlisted(&after, &reason, &who.subject),
        )
        .await?;
        txn.commit().await?;
        self.committed();
        self.with_history(after).await
    }

    async fn do_get_product(
        &self,
        who: &Principal,
        req: pb::GetProductRequest,
    ) -> ApiResult<pb::Product> {
        let product_id = parse_product_id(&req.product_id)?;
        let not_found = || ApiError::NotFound(format!("product {product_id}"));
        let row = store::find_product(&self.db, &product_id)
            .await?
            .ok_or_else(not_found)?;
        let sees_everything = matches!(
            who.role,
            Role::ProvinceAdmin | Role::Analyst | Role::Service
        ) || (who.role == Role::Vendor
            && who.vendor_id.as_deref() == Some(row.vendor_id.as_str()));
        if !sees_everything {
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
}

impl CatalogApi {
    async fn do_search_products(
        &self,
        _who: &Principal,
        req: pb::SearchProductsRequest,
    ) -> ApiResult<pb::SearchProductsResponse> {
        let query =
            search_query(&req, |code| self.search.has_category(code)).map_err(ApiError::Invalid)?;
        let result = self
            .search
            .search(&query)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let ids: Vec<String> = result.hits.iter().map(|h| h.product_id.clone()).collect();
        let mut rows: HashMap<String, product::Model> = store::products_by_ids(&self.db, &ids)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let hits = result
            .hits
            .iter()
            .filter_map(|h| {
                rows.remove(&h.product_id).map(|row| pb::SearchHit {
                    product: Some(product_to_proto(row, Vec::new())),
                    score: h.score,
                })
            })
            .collect();
        Ok(pb::SearchProductsResponse {
            hits,
            next_page_token: result.next.as_ref().map(page::token).unwrap_or_default(),
            total_matches: result.total_matches as i64,
            facets: result
                .facets
                .into_iter()
                .map(|(category_code, count)| pb::CategoryFacet {
                    category_code,
                    count: count as i64,
                })
                .collect(),
        })
    }
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn list_categories(
        &self,
        request: Request<pb::ListCategoriesRequest>,
    ) -> Result<Response<pb::ListCategoriesResponse>, Status> {
        handle!(self, request, do_list_categories)
    }

    async fn create_product(
        &self,
        request: Request<pb::CreateProductRequest>,
    ) -> Result<Response<pb::Product>, Status> {
        handle!(self, request, do_create_product)
    }

    async fn update_product(
        &self,
        request: Request<pb::UpdateProductRequest>,
    ) -> Result<Response<pb::Product>, Status> {
        handle!(self, request, do_update_product)
    }

    async fn publish_product(
        &self,
        request: Request<pb::PublishProductRequest>,
    ) -> Result<Response<pb::Product>, Status> {
        handle!(self, request, do_publish_product)
    }

    async fn unlist_product(
        &self,
        request: Request<pb::UnlistProductRequest>,
    ) -> Result<Response<pb::Product>, Status> {
        handle!(self, request, do_unlist_product)
    }

    async fn get_product(
        &self,
        request: Request<pb::GetProductRequest>,
    ) -> Result<Response<pb::Product>, Status> {
        handle!(self, request, do_get_product)
    }

    async fn search_products(
        &self,
        request: Request<pb::SearchProductsRequest>,
    ) -> Result<Response<pb::SearchProductsResponse>, Status> {
        handle!(self, request, do_search_products)
    }

    async fn quote_prices(
        &self,
        request: Request<pb::QuotePricesRequest>,
    ) -> Result<Response<pb::QuotePricesResponse>, Status> {
        handle!(self, request, do_quote_prices)
    }

    async fn reserve_stock(
        &self,
        request: Request<pb::ReserveStockRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        handle!(self, request, do_reserve_stock)
    }

    async fn release_stock(
        &self,
        request: Request<pb::ReleaseStockRequest>,
    ) -> Result<Response<pb::Reservation>, Status> {
        handle!(self, request, do_release_stock)
    }
}
