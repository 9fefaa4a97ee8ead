//! The gRPC adapter of `blangkon.catalog.v1.CatalogService`: each method
//! decodes its request into a command of domain values, calls the use case
//! on [`Catalog`] with the caller's [`Actor`], and encodes the answer.
//! Errors become statuses in [`status`].

mod convert;
#[doc(hidden)]
pub mod fuzzing;
mod status;

use blangkon_domain::ReservationId;
use blangkon_domain::validation::{FieldViolationExt, product_lines};
use blangkon_platform::auth::Actor;
use blangkon_platform::handle;
use blangkon_platform::page;
use blangkon_proto::catalog as pb;
use blangkon_proto::catalog::catalog_service_server::CatalogService;
use tonic::{Request, Response, Status};

use crate::Catalog;
use crate::error::{CatalogError, Result};
use crate::products::CreateProduct;
use crate::stock::Lines;
use convert::{
    details_input, parse_creation_key, parse_product_id, product_to_proto, quote_to_proto,
    reservation_to_proto, search_query, view_to_proto,
};

/// The catalog service's gRPC API.
#[derive(Debug, Clone)]
pub struct CatalogApi {
    catalog: Catalog,
}

impl CatalogApi {
    pub fn new(catalog: Catalog) -> Self {
        Self { catalog }
    }
}

/// A request's lines, checked; the same product twice is refused so a
/// reservation line is one product.
fn request_lines(lines: &[pb::QuoteLine]) -> Result<Lines> {
    Ok(product_lines(
        lines.iter().map(|l| (l.product_id.as_str(), l.quantity)),
    )?)
}

impl CatalogApi {
    pub(crate) async fn do_list_categories(
        &self,
        who: &Actor,
        _req: pb::ListCategoriesRequest,
    ) -> Result<pb::ListCategoriesResponse> {
        let categories = self.catalog.list_categories(who).await?;
        Ok(pb::ListCategoriesResponse {
            categories: categories
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
        who: &Actor,
        req: pb::CreateProductRequest,
    ) -> Result<pb::Product> {
        let command = CreateProduct {
            key: parse_creation_key(&req.idempotency_key)?,
            details: details_input(req.details),
        };
        Ok(view_to_proto(
            self.catalog.create_product(who, command).await?,
        ))
    }

    async fn do_update_product(
        &self,
        who: &Actor,
        req: pb::UpdateProductRequest,
    ) -> Result<pb::Product> {
        let product_id = parse_product_id(&req.product_id)?;
        let details = details_input(req.details);
        let view = self
            .catalog
            .update_product(who, product_id, details)
            .await?;
        Ok(view_to_proto(view))
    }

    async fn do_publish_product(
        &self,
        who: &Actor,
        req: pb::PublishProductRequest,
    ) -> Result<pb::Product> {
        let product_id = parse_product_id(&req.product_id)?;
        Ok(view_to_proto(
            self.catalog.publish_product(who, product_id).await?,
        ))
    }

    async fn do_unlist_product(
        &self,
        who: &Actor,
        req: pb::UnlistProductRequest,
    ) -> Result<pb::Product> {
        let product_id = parse_product_id(&req.product_id)?;
        let view = self
            .catalog
            .unlist_product(who, product_id, &req.reason)
            .await?;
        Ok(view_to_proto(view))
    }

    pub(crate) async fn do_get_product(
        &self,
        who: &Actor,
        req: pb::GetProductRequest,
    ) -> Result<pb::Product> {
        let product_id = parse_product_id(&req.product_id)?;
        let mut product = view_to_proto(self.catalog.get_product(who, product_id).await?);
        if !crate::policy::sees_who_changed_prices(who) {
            for change in &mut product.price_history {
                change.changed_by.clear();
            }
        }
        Ok(product)
    }

    pub(crate) async fn do_search_products(
        &self,
        who: &Actor,
        req: pb::SearchProductsRequest,
    ) -> Result<pb::SearchProductsResponse> {
        let query = search_query(&req, |code| self.catalog.has_category(code))?;
        let page = self.catalog.search_products(who, query).await?;
        Ok(pb::SearchProductsResponse {
            hits: page
                .hits
                .into_iter()
                .map(|(row, score)| pb::SearchHit {
                    product: Some(product_to_proto(row, Vec::new())),
                    score,
                })
                .collect(),
            next_page_token: page.next.as_ref().map(page::token).unwrap_or_default(),
            total_matches: page.total_matches as i64,
            facets: page
                .facets
                .into_iter()
                .map(|(category_code, count)| pb::CategoryFacet {
                    category_code,
                    count: count as i64,
                })
                .collect(),
        })
    }

    async fn do_quote_prices(
        &self,
        who: &Actor,
        req: pb::QuotePricesRequest,
    ) -> Result<pb::QuotePricesResponse> {
        let lines = request_lines(&req.lines)?;
        let quotes = self.catalog.quote_prices(who, lines).await?;
        Ok(pb::QuotePricesResponse {
            quotes: quotes.into_iter().map(quote_to_proto).collect(),
        })
    }

    async fn do_reserve_stock(
        &self,
        who: &Actor,
        req: pb::ReserveStockRequest,
    ) -> Result<pb::Reservation> {
        let id = ReservationId::parse(&req.reservation_id).map_err(|_| {
            CatalogError::invalid("reservation_id", "must be a UUID chosen by the caller")
        })?;
        let lines = request_lines(&req.lines)?;
        Ok(reservation_to_proto(
            self.catalog.reserve_stock(who, id, lines).await?,
        ))
    }

    async fn do_release_stock(
        &self,
        who: &Actor,
        req: pb::ReleaseStockRequest,
    ) -> Result<pb::Reservation> {
        let id = ReservationId::parse(&req.reservation_id).field("reservation_id")?;
        Ok(reservation_to_proto(
            self.catalog.release_stock(who, id).await?,
        ))
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
