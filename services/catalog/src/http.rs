//! The public HTTP adapter: the catalog's storefront for anyone, as JSON
//! (categories, search, a product). Each request is read into the gRPC
//! request it stands for and answered by the same adapter method as a
//! gRPC call from [`Actor::public`], so the search behaves exactly as
//! for a signed-in buyer and the catalog's policy decides what the public
//! sees: listed products of verified vendors, nothing else. The platform's
//! public door ([`blangkon_platform::http`]) adds the rate limit, caching
//! headers, compression and CORS.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use blangkon_domain::validation::Violation;
use blangkon_domain::{LegalForm, Scale};
use blangkon_platform::auth::Actor;
use blangkon_platform::http::{
    HttpSettings, InvalidParam, Problem, QueryParams, json_document, next_link, with_next_link,
};
use blangkon_platform::time::rfc3339_of;
use blangkon_proto::catalog as pb;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::api::CatalogApi;
use crate::error::CatalogError;

#[derive(Clone)]
struct Web {
    api: CatalogApi,
    http: HttpSettings,
}

/// The routes of the catalog's public HTTP API.
pub fn routes(api: CatalogApi, http: HttpSettings) -> Router {
    Router::new()
        .route("/api/v1/categories", get(categories))
        .route("/api/v1/products", get(products))
        .route("/api/v1/products/{product_id}", get(product))
        .route("/api/v1/openapi.json", json_document(openapi_json()))
        .with_state(Web { api, http })
}

/// The OpenAPI document of this API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Blangkon catalog",
        description = "What local businesses sell to the province through the Blangkon \
            e-catalog: the categories, search over every listed product of a verified vendor, \
            and each product with its price history. Open to anyone, no key. Prices are whole \
            rupiah. Errors are RFC 9457 problem documents; a client that asks too often is \
            answered 429 with Retry-After.",
        license(name = "CC-BY-4.0", url = "https://creativecommons.org/licenses/by/4.0/")
    ),
    paths(categories, products, product),
    components(schemas(Problem, InvalidParam)),
    tags((name = "catalog", description = "The storefront"))
)]
pub struct ApiDoc;

/// The document as served.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}

/// A category of the taxonomy.
#[derive(Debug, Serialize, ToSchema)]
pub struct Category {
    pub code: String,
    pub name: String,
    /// The parent's code; absent for a top-level category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_code: Option<String>,
}

/// Every category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryList {
    pub data: Vec<Category>,
}

/// A price change of a product.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceChange {
    pub old_price: i64,
    pub new_price: i64,
    pub changed_at: String,
}

/// A listed product, as the storefront shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Product {
    pub id: String,
    pub vendor_id: String,
    pub name: String,
    pub description: String,
    pub category_code: String,
    pub unit: String,
    /// Rupiah per unit.
    pub price: i64,
    pub min_order_quantity: i64,
    /// Units the vendor can deliver now.
    pub stock: i64,
    pub image_urls: Vec<String>,
    /// Regency codes the vendor delivers to.
    pub delivery_regencies: Vec<String>,
    /// Made in Indonesia (*produk dalam negeri*).
    pub domestic_product: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Oldest first; empty in search results.
    pub price_history: Vec<PriceChange>,
}

/// A page of search results, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    pub data: Vec<Product>,
    /// Products matching, over every page.
    pub total_matches: i64,
    /// Matches per category, ignoring the category filter.
    pub facets: Vec<Facet>,
    pub links: Links,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Facet {
    pub category_code: String,
    pub count: i64,
}

/// Where to go from this document.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Links {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The category taxonomy.
#[utoipa::path(
    get,
    path = "/api/v1/categories",
    tag = "catalog",
    responses(
        (status = 200, description = "Every category", body = CategoryList),
        (status = 400, description = "A parameter was given (this URL takes none)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn categories(State(web): State<Web>, uri: Uri) -> Result<Response, Problem> {
    QueryParams::parse(uri.query()).finish()?;
    let answer = web
        .api
        .do_list_categories(&Actor::public(), pb::ListCategoriesRequest {})
        .await
        .map_err(problem)?;
    let data = answer
        .categories
        .into_iter()
        .map(|c| Category {
            code: c.code,
            name: c.name,
            parent_code: Some(c.parent_code).filter(|p| !p.is_empty()),
        })
        .collect();
    Ok(axum::Json(CategoryList { data }).into_response())
}

/// The query parameters of a search, for the document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SearchQuery {
    /// Words to look for in names and descriptions (Indonesian stems and
    /// small misspellings match).
    q: Option<String>,
    /// A category code (`katering`) or subcategory (`katering.nasi-kotak`).
    category: Option<String>,
    /// Only products delivered to this regency (Kemendagri code, `33.74`).
    regency: Option<String>,
    /// Lowest price, rupiah.
    min_price: Option<i64>,
    /// Highest price, rupiah.
    max_price: Option<i64>,
    /// Vendors of this legal form: individual, pt, cv, koperasi, ud, firma.
    legal_form: Option<String>,
    /// Vendors of this scale: micro, small, medium.
    scale: Option<String>,
    /// relevance (the default with words), price-ascending,
    /// price-descending or newest (the default without).
    sort: Option<String>,
    /// Products per page, 1 to 100 (20 by default).
    page_size: Option<u32>,
    /// Where the page starts: the `cursor` of the previous page's
    /// `links.next`.
    cursor: Option<String>,
}

/// Search every listed product of a verified vendor.
#[utoipa::path(
    get,
    path = "/api/v1/products",
    tag = "catalog",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of products, best first", body = ProductPage),
        (status = 400, description = "A parameter is wrong; `invalid-params` names it", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn products(
    State(web): State<Web>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let mut params = QueryParams::parse(uri.query());
    let price = |name: &'static str, params: &mut QueryParams| {
        params.parsed(name, |text| {
            text.parse::<i64>()
                .map_err(|_| "must be a whole number of rupiah".to_string())
        })
    };
    let request = pb::SearchProductsRequest {
        query: params.text("q", 400)?.unwrap_or_default(),
        category_code: params.text("category", 200)?.unwrap_or_default(),
        delivery_regency: params.text("regency", 40)?.unwrap_or_default(),
        min_price: price("min_price", &mut params)?.unwrap_or(0),
        max_price: price("max_price", &mut params)?.unwrap_or(0),
        vendor_legal_form: params
            .parsed("legal_form", |text| {
                text.parse::<LegalForm>()
                    .map(|f| f.to_proto() as i32)
                    .map_err(|_| "must be individual, pt, cv, koperasi, ud or firma".into())
            })?
            .unwrap_or(0),
        vendor_scale: params
            .parsed("scale", |text| {
                text.parse::<Scale>()
                    .map(|s| s.to_proto() as i32)
                    .map_err(|_| "must be micro, small or medium".into())
            })?
            .unwrap_or(0),
        sort: params
            .parsed("sort", |text| match text {
                "relevance" => Ok(pb::SortOrder::Relevance as i32),
                "price-ascending" => Ok(pb::SortOrder::PriceAscending as i32),
                "price-descending" => Ok(pb::SortOrder::PriceDescending as i32),
                "newest" => Ok(pb::SortOrder::Newest as i32),
                _ => Err("must be relevance, price-ascending, price-descending or newest".into()),
            })?
            .unwrap_or(0),
        page_size: params
            .parsed("page_size", |text| {
                text.parse::<i32>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| "must be a whole number, 1 or more".to_string())
            })?
            .unwrap_or(0),
        page_token: params.text("cursor", 1_000)?.unwrap_or_default(),
    };
    params.finish()?;
    let answer = web
        .api
        .do_search_products(&Actor::public(), request)
        .await
        .map_err(problem)?;
    let next = next_link(&web.http, &headers, &uri, &answer.next_page_token);
    let page = ProductPage {
        data: answer
            .hits
            .into_iter()
            .filter_map(|hit| hit.product)
            .map(public_product)
            .collect(),
        total_matches: answer.total_matches,
        facets: answer
            .facets
            .into_iter()
            .map(|f| Facet {
                category_code: f.category_code,
                count: f.count,
            })
            .collect(),
        links: Links { next: next.clone() },
    };
    Ok(with_next_link(
        axum::Json(page).into_response(),
        next.as_deref(),
    ))
}

/// One listed product, with its price history.
#[utoipa::path(
    get,
    path = "/api/v1/products/{product_id}",
    tag = "catalog",
    params(("product_id" = String, Path, description = "The product's id (a UUID)")),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 400, description = "The id is not a product id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No listed product with this id", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn product(
    State(web): State<Web>,
    Path(product_id): Path<String>,
    uri: Uri,
) -> Result<Response, Problem> {
    QueryParams::parse(uri.query()).finish()?;
    let answer = web
        .api
        .do_get_product(&Actor::public(), pb::GetProductRequest { product_id })
        .await
        .map_err(problem)?;
    Ok(axum::Json(public_product(answer)).into_response())
}

fn time(t: Option<&prost_types::Timestamp>) -> String {
    rfc3339_of(t).unwrap_or_default()
}

/// A product as the public sees it: who changed a price (an account's
/// subject) is not published.
fn public_product(p: pb::Product) -> Product {
    let details = p.details.unwrap_or_default();
    Product {
        id: p.id,
        vendor_id: p.vendor_id,
        name: details.name,
        description: details.description,
        category_code: details.category_code,
        unit: details.unit,
        price: details.price,
        min_order_quantity: details.min_order_quantity,
        stock: details.stock,
        image_urls: details.image_urls,
        delivery_regencies: details.delivery_regencies,
        domestic_product: details.domestic_product,
        created_at: time(p.created_at.as_ref()),
        updated_at: time(p.updated_at.as_ref()),
        price_history: p
            .price_history
            .into_iter()
            .map(|c| PriceChange {
                old_price: c.old_price,
                new_price: c.new_price,
                changed_at: time(c.changed_at.as_ref()),
            })
            .collect(),
    }
}

/// The HTTP name of a gRPC request field the shared checks named.
fn param_of(field: &str) -> &str {
    match field {
        "query" => "q",
        "category_code" => "category",
        "delivery_regency" => "regency",
        "vendor_legal_form" => "legal_form",
        "vendor_scale" => "scale",
        "page_token" => "cursor",
        other => other,
    }
}

/// A refusal of the shared use cases as a problem document.
fn problem(err: CatalogError) -> Problem {
    match err {
        CatalogError::Invalid(violations) => invalid(&violations),
        CatalogError::NotFound(what) => Problem::not_found(format!(
            "{what} not found: it is not a listed product of a verified vendor"
        )),
        CatalogError::Denied(denied) => {
            Problem::new(axum::http::StatusCode::FORBIDDEN, denied.to_string())
        }
        e => {
            tracing::error!(error = %e, "a public catalog read failed");
            Problem::internal()
        }
    }
}

fn invalid(violations: &[Violation]) -> Problem {
    Problem::invalid_fields(violations, param_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_describes_every_route() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        for path in [
            "/api/v1/categories",
            "/api/v1/products",
            "/api/v1/products/{product_id}",
        ] {
            assert!(doc["paths"][path]["get"].is_object(), "{path}");
        }
        assert!(doc["components"]["schemas"]["Product"].is_object());
    }

    #[test]
    fn who_changed_a_price_is_not_published() {
        let product = public_product(pb::Product {
            price_history: vec![pb::PriceChange {
                old_price: 1,
                new_price: 2,
                changed_by: "vendor-subject-123".into(),
                changed_at: None,
            }],
            ..Default::default()
        });
        let json = serde_json::to_string(&product).unwrap();
        assert!(!json.contains("vendor-subject-123"));
        assert!(json.contains("\"new_price\":2"));
    }
}
