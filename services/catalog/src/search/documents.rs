//! What goes into the index and what a search answers: products and
//! vendors as the index needs them, queries, cursors and hits.

use super::collect::Rank;
use super::index::uuid_number;

/// What the index needs of a product.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDoc {
    /// A UUID.
    pub product_id: String,
    pub vendor_id: String,
    pub category_code: String,
    /// Top-level category (the code itself for a top-level one).
    pub parent_category: String,
    /// Category name, searchable like the product's own words.
    pub category_name: String,
    pub name: String,
    pub description: String,
    pub price: i64,
    pub delivery_regencies: Vec<String>,
    pub listed: bool,
}

/// What the index needs of a vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorDoc {
    pub verified: bool,
    pub legal_form: String,
    pub scale: String,
}

/// Order of results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Relevance,
    PriceAscending,
    PriceDescending,
    /// Newest first: product ids are UUIDv7, so id order is creation order.
    Newest,
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: String,
    /// A category code; a top-level code includes its subcategories.
    pub category: Option<String>,
    pub delivery_regency: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub legal_form: Option<String>,
    pub scale: Option<String>,
    pub sort: SortOrder,
    pub page_size: usize,
    pub after: Option<Cursor>,
}

/// Where a page ended: the sort key and id of its last hit, and whether
/// that hit matched only some of the words (partial matches follow the
/// full ones).
#[derive(Debug, Clone, PartialEq)]
pub enum Cursor {
    Relevance {
        partial: bool,
        score: f32,
        product_id: String,
    },
    Price {
        partial: bool,
        price: i64,
        product_id: String,
    },
    Newest {
        partial: bool,
        product_id: String,
    },
}

impl Cursor {
    pub(super) fn rank(&self) -> Rank {
        let (partial, score, price, id) = match self {
            Cursor::Relevance {
                partial,
                score,
                product_id,
            } => (*partial, *score, 0, product_id),
            Cursor::Price {
                partial,
                price,
                product_id,
            } => (*partial, 0.0, *price, product_id),
            Cursor::Newest {
                partial,
                product_id,
            } => (*partial, 0.0, 0, product_id),
        };
        Rank {
            partial,
            score,
            price,
            id: uuid_number(id),
            doc: 0,
        }
    }

    pub(super) fn after(sort: SortOrder, hit: &Hit) -> Self {
        let (partial, product_id) = (hit.partial, hit.product_id.clone());
        match sort {
            SortOrder::Relevance => Cursor::Relevance {
                partial,
                score: hit.score,
                product_id,
            },
            SortOrder::PriceAscending | SortOrder::PriceDescending => Cursor::Price {
                partial,
                price: hit.price,
                product_id,
            },
            SortOrder::Newest => Cursor::Newest {
                partial,
                product_id,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub product_id: String,
    pub score: f32,
    pub price: i64,
    /// It matched most of the query's words, not all.
    pub partial: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SearchResult {
    pub hits: Vec<Hit>,
    /// Set when more hits follow.
    pub next: Option<Cursor>,
    pub total_matches: usize,
    /// Matches per category code (leaf and top level), ignoring the
    /// category filter, so a buyer sees where else the query finds things.
    pub facets: Vec<(String, usize)>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Vendor {
    pub verified: bool,
    pub legal_form: u8,
    pub scale: u8,
}
