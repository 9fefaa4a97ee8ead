//! Buyers browse the catalog: the category taxonomy, and search over the
//! listed products of verified vendors.

use std::collections::HashMap;

use blangkon_domain::Actor;

use crate::Catalog;
use crate::domain::product::ProductStatus;
use crate::error::{CatalogError, Result};
use crate::policy;
use crate::search::{self, Query};
use crate::store::{self, category, product};

/// A page of search results, best first.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// Each product with its score.
    pub hits: Vec<(product::Model, f32)>,
    /// Where the next page starts, if more hits follow.
    pub next: Option<search::Cursor>,
    pub total_matches: usize,
    /// Matches per category code, ignoring the category filter.
    pub facets: Vec<(String, usize)>,
}

impl Catalog {
    pub async fn list_categories(&self, actor: &Actor) -> Result<Vec<category::Model>> {
        policy::browse(actor)?;
        Ok(store::categories(&self.db).await?)
    }

    /// Whether `code` is one of the catalog's categories.
    pub fn has_category(&self, code: &str) -> bool {
        self.search.has_category(code)
    }

    pub async fn search_products(&self, actor: &Actor, query: Query) -> Result<SearchPage> {
        policy::browse(actor)?;
        let result = self
            .search
            .search_off_the_runtime(query)
            .await
            .map_err(|e| CatalogError::Search(e.to_string()))?;
        let ids: Vec<String> = result.hits.iter().map(|h| h.product_id.clone()).collect();
        // Rows read for a page within the last poll answer again (a page
        // many buyers browse at once); the others are read now.
        let recent = self.search.recent_rows();
        let (fresh, unread, began) = recent.fresh(&ids);
        let mut rows: HashMap<String, product::Model> =
            fresh.into_iter().map(|r| (r.id.clone(), r)).collect();
        if !unread.is_empty() {
            let read = store::products_by_ids(&self.db, &unread).await?;
            recent.keep(began, &read);
            rows.extend(read.into_iter().map(|r| (r.id.clone(), r)));
        }
        // A product the index still holds but the table no longer does is
        // left out of this page rather than failing it; so is one unlisted
        // since the index last heard of it, for those who see only what is
        // listed (the public among them).
        let hits = result
            .hits
            .iter()
            .filter_map(|h| rows.remove(&h.product_id).map(|row| (row, h.score)))
            .filter(|(row, _)| {
                row.status == ProductStatus::Listed
                    || policy::sees_every_product_of(actor, &row.vendor_id)
            })
            .collect();
        Ok(SearchPage {
            hits,
            next: result.next,
            total_matches: result.total_matches,
            facets: result.facets,
        })
    }
}
