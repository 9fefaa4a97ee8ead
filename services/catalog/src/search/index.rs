//! The in-memory search index: an inverted index over product name,
//! category and description, with BM25 ranking, one-edit typo tolerance,
//! filters, category facets and keyset pagination.
//!
//! It is a projection of the catalog tables, so it answers the same on
//! PostgreSQL and SQLite: the database only supplies the rows.
//!
//! Built for half a million products and more: posting lists are sorted by
//! slot, so the words of a query are intersected by merging, without
//! hashing; documents keep only integers (ids, interned vendors,
//! categories and regencies), so filters, facets and sorting compare
//! numbers.

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

/// A document as stored: integers only.
struct Doc {
    id: u128,
    vendor: u32,
    category: u16,
    parent: u16,
    price: i64,
    /// Regency codes as numbers, "33.74" -> 3374.
    regencies: Box<[u16]>,
    /// Weighted length (sum of field-weighted term counts).
    length: f32,
    /// Weighted term frequencies, to undo document frequencies on removal.
    terms: Box<[(u32, f32)]>,
}

#[derive(Debug, Clone, Copy)]
struct Vendor {
    verified: bool,
    legal_form: u8,
    scale: u8,
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

/// Strings stored once and referred to by a small number.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }
}

/// The index. Writers hold it exclusively; queries share it.
#[derive(Default)]
pub struct SearchIndex {
    analyzer: Analyzer,
    slots: Vec<Option<Doc>>,
    slot_of: HashMap<u128, u32>,
    vendor_ids: Interner,
    vendors: Vec<Vendor>,
    /// Legal forms and scales, interned.
    labels: Interner,
    categories: Interner,
    term_ids: HashMap<String, u32>,
    terms: Vec<String>,
    /// Per term: (slot, weighted tf), in slot order. Entries of removed
    /// slots are skipped and dropped at the next compaction.
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

/// "33.74" -> 3374; anything else -> None.
fn regency_number(code: &str) -> Option<u16> {
    let b = code.as_bytes();
    if b.len() != 5 || b[2] != b'.' {
        return None;
    }
    code.replace('.', "").parse().ok()
}

fn uuid_number(id: &str) -> u128 {
    uuid::Uuid::parse_str(id).map(|u| u.as_u128()).unwrap_or(0)
}

/// Merges two slot-sorted match lists, keeping slots in both, adding scores.
fn intersect(a: &[(u32, f32)], b: &[(u32, f32)]) -> Vec<(u32, f32)> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out
}

impl SearchIndex {
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn vendor_index(&mut self, vendor_id: &str) -> u32 {
        let id = self.vendor_ids.id(vendor_id);
        if id as usize == self.vendors.len() {
            // Not heard of yet: hidden until the vendor is known verified.
            self.vendors.push(Vendor {
                verified: false,
                legal_form: u8::MAX,
                scale: u8::MAX,
            });
        }
        id
    }

    pub fn set_vendor(&mut self, vendor_id: &str, vendor: VendorDoc) {
        let id = self.vendor_index(vendor_id);
        let legal_form = self.labels.id(&vendor.legal_form) as u8;
        let scale = self.labels.id(&vendor.scale) as u8;
        self.vendors[id as usize] = Vendor {
            verified: vendor.verified,
            legal_form,
            scale,
        };
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
        let mut length = 0.0;
        for (text, weight) in [
            (&product.name, NAME_WEIGHT),
            (&product.category_name, CATEGORY_WEIGHT),
            (&product.description, DESCRIPTION_WEIGHT),
        ] {
            for term in self.analyzer.terms(text) {
                let id = self.term_id(&term);
                *weighted.entry(id).or_default() += weight;
                length += weight;
            }
        }
        // Slots only grow, so pushing keeps every posting list slot-sorted.
        let slot = self.slots.len() as u32;
        let terms: Box<[(u32, f32)]> = weighted.into_iter().collect();
        for (term, tf) in terms.iter() {
            self.postings[*term as usize].push((slot, *tf));
            self.df[*term as usize] += 1;
        }
        let id = uuid_number(&product.product_id);
        let doc = Doc {
            id,
            vendor: self.vendor_index(&product.vendor_id),
            category: self.categories.id(&product.category_code) as u16,
            parent: self.categories.id(&product.parent_category) as u16,
            price: product.price,
            regencies: product
                .delivery_regencies
                .iter()
                .filter_map(|r| regency_number(r))
                .collect(),
            length,
            terms,
        };
        self.slot_of.insert(id, slot);
        self.slots.push(Some(doc));
        self.live += 1;
        self.total_length += f64::from(length);
    }

    pub fn remove(&mut self, product_id: &str) {
        let Some(slot) = self.slot_of.remove(&uuid_number(product_id)) else {
            return;
        };
        if let Some(doc) = self.slots[slot as usize].take() {
            for (term, _) in doc.terms.iter() {
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

    /// Drops removed slots; renumbering keeps slot order, so posting
    /// lists stay sorted.
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
        for slot in self.slot_of.values_mut() {
            *slot = remap[*slot as usize];
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
        // A longer or same-length term shares a deletion with us, or has
        // us as one; a shorter term is one of our deletions.
        for key in std::iter::once(term.to_string()).chain(one_deletions(term)) {
            if let Some(ids) = self.deletes.get(&key) {
                candidates.extend(ids);
            }
            if let Some(id) = self.term_ids.get(&key) {
                candidates.insert(*id);
            }
        }
        for id in candidates {
            if out.iter().any(|(o, _)| *o == id) {
                continue;
            }
            if self.df[id as usize] > 0 && within_one_edit(term, &self.terms[id as usize]) {
                out.push((id, TYPO_FACTOR));
            }
        }
        out
    }

    /// Slot-sorted live matches of one query term, BM25-scored; a slot
    /// matched by several spellings keeps its best score.
    fn term_matches(&self, term: &str, n: f32, average: f32) -> Vec<(u32, f32)> {
        let mut lists: Vec<Vec<(u32, f32)>> = Vec::new();
        for (term_id, factor) in self.expand(term) {
            let df = self.df[term_id as usize] as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln() * factor;
            let list = self.postings[term_id as usize]
                .iter()
                .filter_map(|&(slot, tf)| {
                    let doc = self.slots[slot as usize].as_ref()?;
                    let norm = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * doc.length / average));
                    Some((slot, idf * norm))
                })
                .collect();
            lists.push(list);
        }
        match lists.len() {
            0 => Vec::new(),
            1 => lists.pop().unwrap_or_default(),
            _ => {
                let mut all: Vec<(u32, f32)> = lists.into_iter().flatten().collect();
                all.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
                all.dedup_by_key(|m| m.0);
                all
            }
        }
    }

    pub fn search(&self, query: &Query) -> SearchResult {
        let mut terms = self.analyzer.terms(&query.text);
        terms.sort();
        terms.dedup();
        let mut scored = self.matching(&terms);
        let facets = self.filter(query, &mut scored);
        let total_matches = scored.len();
        let (hits, next) = self.page(query, scored);
        SearchResult {
            hits,
            next,
            total_matches,
            facets,
        }
    }

    /// Every document that has all of `terms`, with its score; every
    /// document, unscored, when there are none.
    fn matching(&self, terms: &[String]) -> Vec<(u32, f32)> {
        if terms.is_empty() {
            self.slots
                .iter()
                .enumerate()
                .filter(|(_, d)| d.is_some())
                .map(|(slot, _)| (slot as u32, 0.0))
                .collect()
        } else {
            let n = self.live.max(1) as f32;
            let average = ((self.total_length / self.live.max(1) as f64) as f32).max(1.0);
            let mut lists: Vec<Vec<(u32, f32)>> = terms
                .iter()
                .map(|t| self.term_matches(t, n, average))
                .collect();
            lists.sort_by_key(Vec::len);
            let mut lists = lists.into_iter();
            let first = lists.next().unwrap_or_default();
            lists.fold(first, |acc, list| intersect(&acc, &list))
        }
    }

    /// Keeps what passes the query's filters and answers the category
    /// facets: counted over everything but the category filter.
    fn filter(&self, query: &Query, scored: &mut Vec<(u32, f32)>) -> Vec<(String, usize)> {
        // Filters compare integers; facets count by category id.
        let unknown = u32::MAX;
        let category = query
            .category
            .as_deref()
            .map(|c| self.categories.get(c).unwrap_or(unknown));
        let regency = query
            .delivery_regency
            .as_deref()
            .map(|r| regency_number(r).unwrap_or(u16::MAX));
        let legal_form = query
            .legal_form
            .as_deref()
            .map(|f| self.labels.get(f).unwrap_or(unknown));
        let scale = query
            .scale
            .as_deref()
            .map(|s| self.labels.get(s).unwrap_or(unknown));
        let mut facet_counts = vec![0usize; self.categories.names.len()];
        scored.retain(|(slot, _)| {
            let Some(doc) = &self.slots[*slot as usize] else {
                return false;
            };
            let vendor = self.vendors[doc.vendor as usize];
            let keep = vendor.verified
                && regency.is_none_or(|r| doc.regencies.contains(&r))
                && query.min_price.is_none_or(|m| doc.price >= m)
                && query.max_price.is_none_or(|m| doc.price <= m)
                && legal_form.is_none_or(|f| f == u32::from(vendor.legal_form))
                && scale.is_none_or(|s| s == u32::from(vendor.scale));
            if !keep {
                return false;
            }
            facet_counts[doc.category as usize] += 1;
            if doc.parent != doc.category {
                facet_counts[doc.parent as usize] += 1;
            }
            category.is_none_or(|c| c == u32::from(doc.category) || c == u32::from(doc.parent))
        });
        let mut facets: Vec<(String, usize)> = facet_counts
            .into_iter()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (self.categories.names[c].clone(), n))
            .collect();
        facets.sort();
        facets
    }

    /// The page of `scored` after the query's cursor, in its order, and
    /// the cursor of the next page when there is one.
    fn page(&self, query: &Query, mut scored: Vec<(u32, f32)>) -> (Vec<Hit>, Option<Cursor>) {
        // Keyset pagination: keep what sorts after the cursor, then take the
        // best page of it.
        let doc = |slot: u32| self.slots[slot as usize].as_ref();
        let key = |slot: u32| doc(slot).map_or((0i64, 0u128), |d| (d.price, d.id));
        if let Some(after) = &query.after {
            scored.retain(|(slot, score)| {
                let (price, id) = key(*slot);
                match after {
                    Cursor::Relevance {
                        score: s,
                        product_id,
                    } => {
                        let last = uuid_number(product_id);
                        *score < *s || (*score == *s && id > last)
                    }
                    Cursor::Price {
                        price: p,
                        product_id,
                    } => {
                        let last = uuid_number(product_id);
                        match query.sort {
                            SortOrder::PriceDescending => price < *p || (price == *p && id > last),
                            _ => price > *p || (price == *p && id > last),
                        }
                    }
                    Cursor::Newest { product_id } => id < uuid_number(product_id),
                }
            });
        }
        let order = |a: &(u32, f32), b: &(u32, f32)| {
            let ((pa, ia), (pb, ib)) = (key(a.0), key(b.0));
            match query.sort {
                SortOrder::Relevance => b.1.total_cmp(&a.1).then(ia.cmp(&ib)),
                SortOrder::PriceAscending => pa.cmp(&pb).then(ia.cmp(&ib)),
                SortOrder::PriceDescending => pb.cmp(&pa).then(ia.cmp(&ib)),
                SortOrder::Newest => ib.cmp(&ia),
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
                let (price, id) = key(*slot);
                Hit {
                    product_id: uuid::Uuid::from_u128(id).to_string(),
                    score: *score,
                    price,
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
        (hits, next)
    }
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
