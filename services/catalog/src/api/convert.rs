//! Requests into domain values and stored products into answers.

use blangkon_platform::api_error::ApiError;
use blangkon_platform::page::Position;
use blangkon_platform::time::to_timestamp;
use blangkon_proto::catalog as pb;

use super::ApiResult;
use crate::domain::product::{DetailsInput, ListingError};
use crate::search;
use crate::store::{self, product};

pub(super) fn parse_product_id(id: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| ApiError::invalid("product_id", "must be a product id (UUID)"))
}

pub(super) fn details_input(details: Option<pb::ProductDetails>) -> DetailsInput {
    let d = details.unwrap_or_default();
    DetailsInput {
        name: d.name,
        description: d.description,
        category_code: d.category_code,
        unit: d.unit,
        price: d.price,
        min_order_quantity: d.min_order_quantity,
        stock: d.stock,
        image_urls: d.image_urls,
        delivery_regencies: d.delivery_regencies,
        domestic_product: d.domestic_product,
    }
}

pub fn product_to_proto(
    row: product::Model,
    history: Vec<store::price_history::Model>,
) -> pb::Product {
    let status = row.status.to_proto();
    pb::Product {
        id: row.id,
        vendor_id: row.vendor_id,
        details: Some(pb::ProductDetails {
            name: row.name,
            description: row.description,
            category_code: row.category_code,
            unit: row.unit,
            price: row.price,
            min_order_quantity: row.min_order_quantity,
            stock: row.stock,
            image_urls: row.image_urls.0,
            delivery_regencies: row.delivery_regencies.0,
            domestic_product: row.domestic_product,
        }),
        status: status as i32,
        created_at: Some(to_timestamp(row.created_at)),
        updated_at: Some(to_timestamp(row.updated_at)),
        price_history: history
            .into_iter()
            .map(|h| pb::PriceChange {
                old_price: h.old_price,
                new_price: h.new_price,
                changed_by: h.changed_by,
                changed_at: Some(to_timestamp(h.changed_at)),
            })
            .collect(),
    }
}

/// Where a page of search results ended, in a page token:
/// `kind:value:product_id`, the kind naming the sort order it belongs to.
impl Position for search::Cursor {
    fn to_text(&self) -> String {
        match self {
            search::Cursor::Relevance { score, product_id } => {
                format!("r:{}:{product_id}", score.to_bits())
            }
            search::Cursor::Price { price, product_id } => format!("p:{price}:{product_id}"),
            search::Cursor::Newest { product_id } => format!("n:0:{product_id}"),
        }
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, ':');
        let (kind, value, product_id) = (parts.next()?, parts.next()?, parts.next()?.to_string());
        uuid::Uuid::parse_str(&product_id).ok()?;
        Some(match kind {
            "r" => search::Cursor::Relevance {
                score: f32::from_bits(value.parse().ok()?),
                product_id,
            },
            "p" => search::Cursor::Price {
                price: value.parse().ok()?,
                product_id,
            },
            "n" => search::Cursor::Newest { product_id },
            _ => return None,
        })
    }
}

/// Whether `cursor` is a position in results sorted by `sort`.
pub(super) fn cursor_fits(cursor: &search::Cursor, sort: search::SortOrder) -> bool {
    matches!(
        (cursor, sort),
        (
            search::Cursor::Relevance { .. },
            search::SortOrder::Relevance
        ) | (
            search::Cursor::Price { .. },
            search::SortOrder::PriceAscending | search::SortOrder::PriceDescending
        ) | (search::Cursor::Newest { .. }, search::SortOrder::Newest)
    )
}

/// A listing step the product's status does not allow.
impl From<ListingError> for ApiError {
    fn from(e: ListingError) -> Self {
        ApiError::FailedPrecondition(e.to_string())
    }
}
