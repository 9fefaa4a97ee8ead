//! The in-memory search index: an inverted index over product name,
//! category and description, with BM25 ranking, one-edit typo tolerance,
//! filters, category facets and keyset pagination.
//!
//! It is a projection of the catalog tables, so it answers the same on
//! PostgreSQL and SQLite: the database only supplies the rows.

use std::collections::{HashMap, HashSet};

use super::analyzer::{Analyzer, within_one_edit};

/// Field weights: a word in the name counts three times one in the
/// description, a word of the category twice.
const NAME_WEIGHT: f32 = 3.0;
const CATEGORY_WEIGHT: f32 = 2.0;
const DESCRIPTION_WEIGHT: f32 = 1.0;
/// A term matched only through a typo counts half.
const TYPO_FACTOR: f32 = 0.5;
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// What the index needs of a product.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDoc {
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

struct Doc {
    product: ProductDoc,
    /// Weighted length (sum of field-weighted term counts).
    length: f32,
    /// Weighted term frequencies, to undo document frequencies on removal.
    terms: Vec<(u32, f32)>,
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

/// Where a page ended: the sort key and id of its last hit.
#[derive(Debug, Clone, PartialEq)]
pub enum Cursor {
    Relevance { score: f32, product_id: String },
    Price { price: i64, product_id: String },
    Newest { product_id: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub product_id: String,
    pub score: f32,
    pub price: i64,
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

/// The index. Writers hold it exclusively; queries share it.
#[derive(Default)]
pub struct SearchIndex {
    analyzer: Analyzer,
    slots: Vec<Option<Doc>>,
    slot_of: HashMap<String, u32>,
    vendors: HashMap<String, VendorDoc>,
    term_ids: HashMap<String, u32>,
    terms: Vec<String>,
    /// Per term: (slot, weighted tf). Entries of removed slots are skipped
    /// and dropped at the next compaction.
    postings: Vec<Vec<(u32, f32)>>,
    /// Live documents containing each term.
    df: Vec<u32>,
    /// One-deletion variants of every term (SymSpell), for typo lookup.
    deletes: HashMap<String, Vec<u32>>,
    live: usize,
    total_length: f64,
    dead_slots: usize,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("products", &self.live)
            .field("terms", &self.terms.len())
            .finish()
    }
}

fn one_deletions(term: &str) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    (0..chars.len())
        .map(|i| chars[..i].iter().chain(&chars[i + 1..]).collect())
        .collect()
}

impl SearchIndex {
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn set_vendor(&mut self, vendor_id: &str, vendor: VendorDoc) {
        self.vendors.insert(vendor_id.to_string(), vendor);
    }

    fn term_id(&mut self, term: &str) -> u32 {
        if let Some(id) = self.term_ids.get(term) {
            return *id;
        }
        let id = self.terms.len() as u32;
        self.terms.push(term.to_string());
        self.term_ids.insert(term.to_string(), id);
        self.postings.push(Vec::new());
        self.df.push(0);
        if term.chars().count() >= 4 {
            for variant in one_deletions(term) {
                self.deletes.entry(variant).or_default().push(id);
            }
        }
        id
    }

    /// Adds or replaces a product. Products that are not listed are only
    /// removed: buyers never see them.
    pub fn upsert(&mut self, product: ProductDoc) {
        self.remove(&product.product_id);
        if !product.listed {
            return;
        }
        let mut weighted: HashMap<u32, f32> = HashMap::new();
        let fields = [
            (product.name.clone(), NAME_WEIGHT),
            (product.category_name.clone(), CATEGORY_WEIGHT),
            (product.description.clone(), DESCRIPTION_WEIGHT),
        ];
        let mut length = 0.0;
        for (text, weight) in fields {
            for term in self.analyzer.terms(&text) {
                let id = self.term_id(&term);
                *weighted.entry(id).or_default() += weight;
                length += weight;
            }
        }
        let slot = self.slots.len() as u32;
        let terms: Vec<(u32, f32)> = weighted.into_iter().collect();
        for (term, tf) in &terms {
            self.postings[*term as usize].push((slot, *tf));
            self.df[*term as usize] += 1;
        }
        self.slot_of.insert(product.product_id.clone(), slot);
        self.slots.push(Some(Doc {
            product,
            length,
            terms,
        }));
        self.live += 1;
        self.total_length += f64::from(length);
    }

    pub fn remove(&mut self, product_id: &str) {
        let Some(slot) = self.slot_of.remove(product_id) else {
            return;
        };
        if let Some(doc) = self.slots[slot as usize].take() {
            for (term, _) in &doc.terms {
                self.df[*term as usize] -= 1;
            }
            self.live -= 1;
            self.total_length -= f64::from(doc.length);
            self.dead_slots += 1;
        }
        if self.dead_slots > 1024 && self.dead_slots > self.live {
            self.compact();
        }
    }

    /// Drops removed slots from the postings.
    fn compact(&mut self) {
        let mut remap = vec![u32::MAX; self.slots.len()];
        let mut slots = Vec::with_capacity(self.live);
        for (old, doc) in self.slots.drain(..).enumerate() {
            if let Some(doc) = doc {
                remap[old] = slots.len() as u32;
                slots.push(Some(doc));
            }
        }
        for list in &mut self.postings {
            list.retain_mut(|(slot, _)| {
                let new = remap[*slot as usize];
                *slot = new;
                new != u32::MAX
            });
        }
        for (id, slot) in self.slot_of.iter_mut() {
            *slot = remap[*slot as usize];
            debug_assert!(*slot != u32::MAX, "{id} remapped");
        }
        self.slots = slots;
        self.dead_slots = 0;
    }

    /// Term ids a query term matches, with their weight: itself, and terms
    /// one edit away when it has four letters or more.
    fn expand(&self, term: &str) -> Vec<(u32, f32)> {
        let mut out: Vec<(u32, f32)> = Vec::new();
        if let Some(id) = self.term_ids.get(term) {
            out.push((*id, 1.0));
        }
        if term.chars().count() < 4 {
            return out;
        }
        let mut candidates: HashSet<u32> = HashSet::new();
        // A term with one letter more, or the same length (substitution,
        // transposition), has a deletion equal to one of ours or to us.
        for key in std::iter::once(term.to_string()).chain(one_deletions(term)) {
            if let Some(ids) = self.deletes.get(&key) {
                candidates.extend(ids);
            }
            // A term with one letter less than ours is one of our deletions.
            if let Some(id) = self.term_ids.get(&key) {
                candidates.insert(*id);
            }
        }
        for id in candidates {
            if out.iter().any(|(o, _)| *o == id) {
                continue;
            }
            let candidate = &self.terms[id as usize];
            if self.df[id as usize] > 0 && within_one_edit(term, candidate) {
                out.push((id, TYPO_FACTOR));
            }
        }
        out
    }

    fn visible(&self, doc: &ProductDoc) -> Option<&VendorDoc> {
        self.vendors
            .get(&doc.vendor_id)
            .filter(|v| v.verified && doc.listed)
    }

    pub fn search(&self, query: &Query) -> SearchResult {
        let mut query_terms = self.analyzer.terms(&query.text);
        query_terms.sort();
        query_terms.dedup();

        // Score every document that matches all query terms.
        let mut scored: Vec<(u32, f32)> = if query_terms.is_empty() {
            self.slots
                .iter()
                .enumerate()
                .filter(|(_, d)| d.is_some())
                .map(|(slot, _)| (slot as u32, 0.0))
                .collect()
        } else {
            let n = self.live.max(1) as f32;
            let average = (self.total_length / self.live.max(1) as f64) as f32;
            let mut acc: HashMap<u32, (f32, u32)> = HashMap::new();
            for (i, term) in query_terms.iter().enumerate() {
                let mut best: HashMap<u32, f32> = HashMap::new();
                for (term_id, factor) in self.expand(term) {
                    let df = self.df[term_id as usize] as f32;
                    let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                    for &(slot, tf) in &self.postings[term_id as usize] {
                        let Some(doc) = &self.slots[slot as usize] else {
                            continue;
                        };
                        let norm = tf * (K1 + 1.0)
                            / (tf + K1 * (1.0 - B + B * doc.length / average.max(1.0)));
                        let s = idf * norm * factor;
                        let e = best.entry(slot).or_insert(0.0);
                        if s > *e {
                            *e = s;
                        }
                    }
                }
                for (slot, s) in best {
                    let e = acc.entry(slot).or_insert((0.0, 0));
                    if e.1 == i as u32 {
                        e.0 += s;
                        e.1 += 1;
                    }
                }
            }
            let all = query_terms.len() as u32;
            acc.into_iter()
                .filter(|(_, (_, matched))| *matched == all)
                .map(|(slot, (score, _))| (slot, score))
                .collect()
        };

        // Filters, and facets over everything but the category filter.
        let mut facets: HashMap<&str, usize> = HashMap::new();
        scored.retain(|(slot, _)| {
            let Some(doc) = &self.slots[*slot as usize] else {
                return false;
            };
            let p = &doc.product;
            let Some(vendor) = self.visible(p) else {
                return false;
            };
            let keep = query
                .delivery_regency
                .as_ref()
                .is_none_or(|r| p.delivery_regencies.contains(r))
                && query.min_price.is_none_or(|m| p.price >= m)
                && query.max_price.is_none_or(|m| p.price <= m)
                && query
                    .legal_form
                    .as_ref()
                    .is_none_or(|f| *f == vendor.legal_form)
                && query.scale.as_ref().is_none_or(|s| *s == vendor.scale);
            if !keep {
                return false;
            }
            *facets.entry(p.category_code.as_str()).or_default() += 1;
            if p.parent_category != p.category_code {
                *facets.entry(p.parent_category.as_str()).or_default() += 1;
            }
            query
                .category
                .as_ref()
                .is_none_or(|c| *c == p.category_code || *c == p.parent_category)
        });
        let mut facets: Vec<(String, usize)> = facets
            .into_iter()
            .map(|(c, n)| (c.to_string(), n))
            .collect();
        facets.sort();
        let total_matches = scored.len();

        let doc = |slot: u32| -> &ProductDoc {
            match &self.slots[slot as usize] {
                Some(d) => &d.product,
                None => unreachable_doc(),
            }
        };
        // Keyset pagination: keep what sorts after the cursor, then take the
        // best page of it.
        if let Some(after) = &query.after {
            scored.retain(|(slot, score)| {
                let p = doc(*slot);
                match after {
                    Cursor::Relevance {
                        score: s,
                        product_id,
                    } => *score < *s || (*score == *s && p.product_id > *product_id),
                    Cursor::Price { price, product_id } => match query.sort {
                        SortOrder::PriceDescending => {
                            p.price < *price || (p.price == *price && p.product_id > *product_id)
                        }
                        _ => p.price > *price || (p.price == *price && p.product_id > *product_id),
                    },
                    Cursor::Newest { product_id } => p.product_id < *product_id,
                }
            });
        }
        let order = |a: &(u32, f32), b: &(u32, f32)| {
            let (pa, pb) = (doc(a.0), doc(b.0));
            match query.sort {
                SortOrder::Relevance => {
                    b.1.total_cmp(&a.1)
                        .then_with(|| pa.product_id.cmp(&pb.product_id))
                }
                SortOrder::PriceAscending => pa
                    .price
                    .cmp(&pb.price)
                    .then_with(|| pa.product_id.cmp(&pb.product_id)),
                SortOrder::PriceDescending => pb
                    .price
                    .cmp(&pa.price)
                    .then_with(|| pa.product_id.cmp(&pb.product_id)),
                SortOrder::Newest => pb.product_id.cmp(&pa.product_id),
            }
        };
        let page = query.page_size.max(1);
        let more = scored.len() > page;
        if more {
            scored.select_nth_unstable_by(page, order);
            scored.truncate(page);
        }
        scored.sort_unstable_by(order);
        let hits: Vec<Hit> = scored
            .iter()
            .map(|(slot, score)| {
                let p = doc(*slot);
                Hit {
                    product_id: p.product_id.clone(),
                    score: *score,
                    price: p.price,
                }
            })
            .collect();
        let next = if more {
            hits.last().map(|h| match query.sort {
                SortOrder::Relevance => Cursor::Relevance {
                    score: h.score,
                    product_id: h.product_id.clone(),
                },
                SortOrder::PriceAscending | SortOrder::PriceDescending => Cursor::Price {
                    price: h.price,
                    product_id: h.product_id.clone(),
                },
                SortOrder::Newest => Cursor::Newest {
                    product_id: h.product_id.clone(),
                },
            })
        } else {
            None
        };
        SearchResult {
            hits,
            next,
            total_matches,
            facets,
        }
    }
}

#[cold]
fn unreachable_doc() -> &'static ProductDoc {
    // Only live slots are scored; a removed slot here is a bug worth
    // surfacing in tests rather than a panic on a request path.
    static EMPTY: std::sync::OnceLock<ProductDoc> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| ProductDoc {
        product_id: String::new(),
        vendor_id: String::new(),
        category_code: String::new(),
        parent_category: String::new(),
        category_name: String::new(),
        name: String::new(),
        description: String::new(),
        price: 0,
        delivery_regencies: Vec::new(),
        listed: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(i: usize, name: &str, price: i64) -> ProductDoc {
        ProductDoc {
            product_id: format!("00000000-0000-7000-8000-{i:012}"),
            vendor_id: "v".into(),
            category_code: "atk.kertas".into(),
            parent_category: "atk".into(),
            category_name: "Kertas".into(),
            name: name.into(),
            description: String::new(),
            price,
            delivery_regencies: vec!["33.74".into()],
            listed: true,
        }
    }

    fn index_with(n: usize) -> SearchIndex {
        let mut index = SearchIndex::default();
        index.set_vendor(
            "v",
            VendorDoc {
                verified: true,
                legal_form: "cv".into(),
                scale: "small".into(),
            },
        );
        for i in 0..n {
            index.upsert(doc(i, &format!("Kertas HVS nomor {i}"), 1000 + i as i64));
        }
        index
    }

    fn query(text: &str) -> Query {
        Query {
            text: text.into(),
            page_size: 10,
            ..Query::default()
        }
    }

    #[test]
    fn removing_most_documents_compacts_without_losing_the_rest() {
        let mut index = index_with(3000);
        for i in 0..2500 {
            index.remove(&doc(i, "", 0).product_id);
        }
        assert_eq!(index.len(), 500);
        assert!(index.dead_slots < 1024, "compacted");
        let result = index.search(&query("kertas"));
        assert_eq!(result.total_matches, 500);
        let hit = index.search(&query("2999")).hits;
        assert_eq!(hit[0].product_id, doc(2999, "", 0).product_id);
    }

    #[test]
    fn replacing_a_document_finds_only_its_new_words() {
        let mut index = index_with(1);
        index.upsert(doc(0, "Pulpen Gel", 1000));
        assert_eq!(index.search(&query("hvs")).total_matches, 0);
        assert_eq!(index.search(&query("pulpen")).total_matches, 1);
    }

    #[test]
    fn an_unverified_vendor_hides_its_products() {
        let mut index = index_with(3);
        index.set_vendor(
            "v",
            VendorDoc {
                verified: false,
                legal_form: "cv".into(),
                scale: "small".into(),
            },
        );
        assert_eq!(index.search(&query("kertas")).total_matches, 0);
    }

    #[test]
    fn price_pages_follow_each_other_without_gaps() {
        let index = index_with(25);
        let mut after = None;
        let mut seen = Vec::new();
        loop {
            let result = index.search(&Query {
                sort: SortOrder::PriceDescending,
                after: after.clone(),
                page_size: 7,
                ..Query::default()
            });
            seen.extend(result.hits.iter().map(|h| h.price));
            match result.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let expected: Vec<i64> = (0..25).rev().map(|i| 1000 + i).collect();
        assert_eq!(seen, expected);
    }
}
