//! Collecting one page of results: the filters tantivy's query does not
//! apply (vendor, price, category: the facets count what the category
//! filter leaves out), the category facets, the total, and the best hits
//! after the cursor, in the requested order.
//!
//! Everything is read from fast fields and the in-memory vendor table, so
//! the stored documents are never touched.
//!
//! Ties (equal scores are common: BM25 over short names quantises; so are
//! equal prices) are broken by product id. Inside a segment a hit carries
//! its place in the segment's id order instead ([`IdOrders`], computed
//! once per segment), so a tie costs an array read rather than two column
//! reads; the hits kept get their real ids at the end of the segment.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::index::SegmentId;
use tantivy::query::{Scorer, Weight};
use tantivy::{
    DocId, DocSet, Score, Searcher, SearcherGeneration, SegmentOrdinal, SegmentReader, TERMINATED,
    Warmer,
};

use super::attributes::Attributes;
use super::index::{SortOrder, fast};
use super::query;

/// A matching product's place in the order of results. Full matches come
/// before partial ones in every order; within each, the sort order
/// decides, and the product id breaks ties.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Rank {
    pub partial: bool,
    pub score: f32,
    pub price: i64,
    /// The product id; inside a segment collector, one more than the
    /// document's place in the segment's id order.
    pub id: u128,
    /// The document, inside its segment.
    pub doc: DocId,
}

/// A product id from its two fast fields.
fn product_id(high: &Column<u64>, low: &Column<u64>, doc: DocId) -> u128 {
    (u128::from(high.first(doc).unwrap_or_default()) << 64)
        | u128::from(low.first(doc).unwrap_or_default())
}

/// One segment's documents in product id order.
pub(super) struct IdOrder {
    /// The documents, by id.
    by_id: Box<[DocId]>,
    /// Each document's place in `by_id`.
    place: Box<[u32]>,
}

impl IdOrder {
    fn of(reader: &SegmentReader) -> tantivy::Result<Self> {
        let columns = reader.fast_fields();
        let (high, low) = (columns.u64(fast::ID_HIGH)?, columns.u64(fast::ID_LOW)?);
        let ids: Vec<u128> = (0..reader.max_doc())
            .map(|doc| product_id(&high, &low, doc))
            .collect();
        let mut by_id: Box<[DocId]> = (0..reader.max_doc()).collect();
        by_id.sort_unstable_by_key(|doc| ids[*doc as usize]);
        let mut place = vec![0u32; by_id.len()].into_boxed_slice();
        for (at, doc) in by_id.iter().enumerate() {
            place[*doc as usize] = u32::try_from(at).unwrap_or(u32::MAX);
        }
        Ok(Self { by_id, place })
    }

    /// The document's place in the id order.
    pub(super) fn place_of(&self, doc: DocId) -> u32 {
        self.place.get(doc as usize).copied().unwrap_or(u32::MAX)
    }

    /// How many documents of the segment have an id below `id` (or, with
    /// `or_equal`, not above it).
    fn count_below(
        &self,
        reader: &SegmentReader,
        id: u128,
        or_equal: bool,
    ) -> tantivy::Result<u128> {
        let columns = reader.fast_fields();
        let (high, low) = (columns.u64(fast::ID_HIGH)?, columns.u64(fast::ID_LOW)?);
        let below = self.by_id.partition_point(|doc| {
            let this = product_id(&high, &low, *doc);
            this < id || (or_equal && this == id)
        });
        Ok(below as u128)
    }
}

/// What is computed once per segment (its id order, its browsing order)
/// for every segment searches can see, kept current by tantivy as a
/// warmer: computed when a segment appears (after a commit or a merge),
/// dropped when no searcher holds it.
pub(super) struct PerSegment<T> {
    make: Box<Make<T>>,
    segments: RwLock<HashMap<SegmentId, Arc<T>>>,
}

/// How a segment's value is computed.
type Make<T> = dyn Fn(&SegmentReader) -> tantivy::Result<T> + Send + Sync;

/// Each segment's id order.
pub(super) type IdOrders = PerSegment<IdOrder>;

impl<T> PerSegment<T> {
    pub fn new(
        make: impl Fn(&SegmentReader) -> tantivy::Result<T> + Send + Sync + 'static,
    ) -> Self {
        Self {
            make: Box::new(make),
            segments: RwLock::default(),
        }
    }

    pub fn of(&self, reader: &SegmentReader) -> tantivy::Result<Arc<T>> {
        let id = reader.segment_id();
        if let Some(made) = self
            .segments
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            return Ok(made.clone());
        }
        let made = Arc::new((self.make)(reader)?);
        self.segments
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, made.clone());
        Ok(made)
    }
}

impl IdOrders {
    pub fn id_orders() -> Self {
        Self::new(IdOrder::of)
    }
}

impl<T: Send + Sync + 'static> Warmer for PerSegment<T> {
    fn warm(&self, searcher: &Searcher) -> tantivy::Result<()> {
        for reader in searcher.segment_readers() {
            self.of(reader)?;
        }
        Ok(())
    }

    fn garbage_collect(&self, live: &[&SearcherGeneration]) {
        let live: HashSet<&SegmentId> = live.iter().flat_map(|g| g.segments().keys()).collect();
        self.segments
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|id, _| live.contains(id));
    }
}

/// Whether `a` comes before (`Less`) or after `b` in results sorted by
/// `sort`.
pub(super) fn order(sort: SortOrder, a: &Rank, b: &Rank) -> Ordering {
    a.partial.cmp(&b.partial).then_with(|| match sort {
        SortOrder::Relevance => b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)),
        SortOrder::PriceAscending => a.price.cmp(&b.price).then(a.id.cmp(&b.id)),
        SortOrder::PriceDescending => b.price.cmp(&a.price).then(a.id.cmp(&b.id)),
        SortOrder::Newest => b.id.cmp(&a.id),
    })
}

/// Whether `a` comes after `b` in `sort` order whatever their ids.
fn after_whatever_the_ids(sort: SortOrder, a: &Rank, b: &Rank) -> bool {
    a.partial.cmp(&b.partial).then_with(|| match sort {
        SortOrder::Relevance => b.score.total_cmp(&a.score),
        SortOrder::PriceAscending => a.price.cmp(&b.price),
        SortOrder::PriceDescending => b.price.cmp(&a.price),
        SortOrder::Newest => Ordering::Equal,
    }) == Ordering::Greater
}

/// A label or code the catalog has never seen: filtering by it finds
/// nothing.
pub(super) const UNKNOWN: u64 = u64::MAX;

/// The query's filters as the numbers the index stores.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Filters {
    /// A category number; matches the leaf or the top level.
    pub category: Option<u64>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub legal_form: Option<u64>,
    pub scale: Option<u64>,
}

/// Collects a page: `page` hits after `after`, in `sort` order.
pub(super) struct PageCollector {
    pub id_orders: Arc<IdOrders>,
    pub sort: SortOrder,
    pub page: usize,
    pub after: Option<Rank>,
    pub filters: Filters,
    pub attributes: Arc<Attributes>,
    /// Whether the query scores (it has words).
    pub scored: bool,
    /// Whether the query finds partial matches too.
    pub partial: bool,
}

/// What one segment, then all of them, found.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Products passing every filter.
    pub matches: usize,
    /// Per category number, products passing every filter but the
    /// category's.
    pub facets: Vec<usize>,
    /// The best of them after the cursor, at most a page and one more.
    pub best: Vec<Rank>,
}

impl Collector for PageCollector {
    type Fruit = Found;
    type Child = SegmentPage;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentPage> {
        let columns = reader.fast_fields();
        let u64s = |name: &str| columns.u64(name);
        let id_order = self.id_orders.of(reader)?;
        let after = cursor_in_segment(self.sort, self.after, &id_order, reader)?;
        Ok(SegmentPage {
            sort: self.sort,
            keep: self.page + 1,
            after,
            id_order,
            filters: self.filters,
            attributes: self.attributes.clone(),
            scored: self.scored,
            id_high: u64s(fast::ID_HIGH)?,
            id_low: u64s(fast::ID_LOW)?,
            vendor: u64s(fast::VENDOR)?,
            category: u64s(fast::CATEGORY)?,
            parent: u64s(fast::PARENT)?,
            price: columns.i64(fast::PRICE)?,
            found: Found {
                facets: vec![0; self.attributes.categories.len()],
                ..Found::default()
            },
            worst_kept: None,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scored
    }

    /// With partial matches, walks the query's scorer itself rather than
    /// through tantivy's loop, to ask it of each hit whether it matched
    /// every word.
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Found> {
        let mut page = self.for_segment(segment, reader)?;
        let alive = reader.alive_bitset();
        let is_alive = |doc: DocId| alive.is_none_or(|a| a.is_alive(doc));
        if !self.partial {
            if self.scored {
                weight.for_each(reader, &mut |doc, score| {
                    if is_alive(doc) {
                        page.hit(doc, score, true);
                    }
                })?;
            } else {
                weight.for_each_no_score(reader, &mut |docs| {
                    for doc in docs.iter().copied().filter(|d| is_alive(*d)) {
                        page.hit(doc, 0.0, true);
                    }
                })?;
            }
            return Ok(page.harvest());
        }
        let mut scorer = weight.scorer(reader, 1.0)?;
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if is_alive(doc) {
                let full = query::full_match(scorer.as_ref());
                page.hit(doc, scorer.score(), full);
            }
            doc = scorer.advance();
        }
        Ok(page.harvest())
    }

    /// Every segment's best, with their real ids.
    fn merge_fruits(&self, segments: Vec<Found>) -> tantivy::Result<Found> {
        Ok(merge(self.sort, self.page + 1, segments))
    }
}

/// The cursor in a segment's id places: a hit with place + 1 = `id`
/// compares with it as the real ids would.
pub(super) fn cursor_in_segment(
    sort: SortOrder,
    after: Option<Rank>,
    id_order: &IdOrder,
    reader: &SegmentReader,
) -> tantivy::Result<Option<Rank>> {
    let Some(after) = after else {
        return Ok(None);
    };
    let id = match sort {
        // Newest: after the cursor means a lower id.
        SortOrder::Newest => id_order.count_below(reader, after.id, false)? + 1,
        _ => id_order.count_below(reader, after.id, true)?,
    };
    Ok(Some(Rank { id, ..after }))
}

/// Gives hits numbered by id place their real product ids.
pub(super) fn give_real_ids(reader: &SegmentReader, ranks: &mut [Rank]) -> tantivy::Result<()> {
    let columns = reader.fast_fields();
    let (high, low) = (columns.u64(fast::ID_HIGH)?, columns.u64(fast::ID_LOW)?);
    for rank in ranks {
        rank.id = product_id(&high, &low, rank.doc);
    }
    Ok(())
}

/// Every segment's findings as one: totals and facets added up, the
/// `keep` best hits in order.
pub(super) fn merge(sort: SortOrder, keep: usize, segments: Vec<Found>) -> Found {
    let mut all = Found::default();
    for found in segments {
        all.matches += found.matches;
        if all.facets.len() < found.facets.len() {
            all.facets.resize(found.facets.len(), 0);
        }
        for (total, n) in all.facets.iter_mut().zip(found.facets) {
            *total += n;
        }
        all.best.extend(found.best);
    }
    keep_best(sort, &mut all.best, keep);
    all.best.sort_unstable_by(|a, b| order(sort, a, b));
    all
}

/// Keeps the `keep` first of `ranks` in `sort` order, in no order.
pub(super) fn keep_best(sort: SortOrder, ranks: &mut Vec<Rank>, keep: usize) {
    if ranks.len() > keep {
        ranks.select_nth_unstable_by(keep - 1, |a, b| order(sort, a, b));
        ranks.truncate(keep);
    }
}

pub(super) struct SegmentPage {
    sort: SortOrder,
    keep: usize,
    /// In id places, like the hits.
    after: Option<Rank>,
    id_order: Arc<IdOrder>,
    filters: Filters,
    attributes: Arc<Attributes>,
    scored: bool,
    id_high: Column<u64>,
    id_low: Column<u64>,
    vendor: Column<u64>,
    category: Column<u64>,
    parent: Column<u64>,
    price: Column<i64>,
    found: Found,
    /// The last of the best kept so far, once they are a page: a hit after
    /// it can be passed over.
    worst_kept: Option<Rank>,
}

impl SegmentPage {
    fn count_facet(&mut self, category: u64) {
        let Ok(slot) = usize::try_from(category) else {
            return;
        };
        if slot >= self.found.facets.len() {
            self.found.facets.resize(slot + 1, 0);
        }
        self.found.facets[slot] += 1;
    }
}

impl SegmentCollector for SegmentPage {
    type Fruit = Found;

    /// tantivy's loop, unused: [`PageCollector::collect_segment`] calls
    /// [`SegmentPage::hit`] itself.
    fn collect(&mut self, doc: DocId, score: Score) {
        self.hit(doc, score, true);
    }

    fn harvest(mut self) -> Found {
        keep_best(self.sort, &mut self.found.best, self.keep);
        for rank in &mut self.found.best {
            rank.id = product_id(&self.id_high, &self.id_low, rank.doc);
        }
        self.found
    }
}

impl SegmentPage {
    /// A hit, `full` if it matched every word.
    fn hit(&mut self, doc: DocId, score: Score, full: bool) {
        let filters = self.filters;
        let vendor = self
            .vendor
            .first(doc)
            .and_then(|v| usize::try_from(v).ok())
            .and_then(|v| self.attributes.vendors.get(v));
        let Some(vendor) = vendor.filter(|v| v.verified) else {
            return;
        };
        if filters
            .legal_form
            .is_some_and(|f| f != u64::from(vendor.legal_form))
            || filters.scale.is_some_and(|s| s != u64::from(vendor.scale))
        {
            return;
        }
        let price = self.price.first(doc).unwrap_or_default();
        if filters.min_price.is_some_and(|m| price < m)
            || filters.max_price.is_some_and(|m| price > m)
        {
            return;
        }
        let category = self.category.first(doc).unwrap_or(UNKNOWN);
        let parent = self.parent.first(doc).unwrap_or(UNKNOWN);
        self.count_facet(category);
        if parent != category {
            self.count_facet(parent);
        }
        if filters
            .category
            .is_some_and(|c| c != category && c != parent)
        {
            return;
        }
        self.found.matches += 1;
        let mut rank = Rank {
            partial: !full,
            score: if self.scored { score } else { 0.0 },
            price,
            id: 0,
            doc,
        };
        // Most hits fall behind the page kept so far on their score or
        // price alone: pass them over before looking up their id place (a
        // likely cache miss on a large segment).
        if let Some(worst) = &self.worst_kept
            && after_whatever_the_ids(self.sort, &rank, worst)
        {
            return;
        }
        rank.id = u128::from(self.id_order.place_of(doc)) + 1;
        if self
            .worst_kept
            .is_some_and(|worst| order(self.sort, &rank, &worst) == Ordering::Greater)
        {
            return;
        }
        if self
            .after
            .is_some_and(|after| order(self.sort, &rank, &after) != Ordering::Greater)
        {
            return;
        }
        self.found.best.push(rank);
        // Trim now and then rather than keeping a heap: cheaper per hit.
        if self.found.best.len() >= 4 * self.keep.max(64) {
            keep_best(self.sort, &mut self.found.best, self.keep);
            let sort = self.sort;
            self.worst_kept = self
                .found
                .best
                .iter()
                .copied()
                .max_by(|a, b| order(sort, a, b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(partial: bool, score: f32, price: i64, id: u128) -> Rank {
        Rank {
            partial,
            score,
            price,
            id,
            doc: 0,
        }
    }

    #[test]
    fn a_partial_match_ranks_after_every_full_one_in_every_order() {
        let full = rank(false, 1.0, 900, 1);
        let partial = rank(true, 50.0, 10, 2);
        for sort in [
            SortOrder::Relevance,
            SortOrder::PriceAscending,
            SortOrder::PriceDescending,
            SortOrder::Newest,
        ] {
            assert_eq!(order(sort, &full, &partial), Ordering::Less, "{sort:?}");
        }
    }

    #[test]
    fn ties_are_broken_by_id_so_pages_never_overlap() {
        let (a, b) = (rank(false, 2.0, 100, 1), rank(false, 2.0, 100, 2));
        assert_eq!(order(SortOrder::Relevance, &a, &b), Ordering::Less);
        assert_eq!(order(SortOrder::PriceAscending, &a, &b), Ordering::Less);
        assert_eq!(order(SortOrder::PriceDescending, &a, &b), Ordering::Less);
        assert_eq!(order(SortOrder::Newest, &a, &b), Ordering::Greater);
    }

    #[test]
    fn keeping_the_best_keeps_exactly_the_first_in_order() {
        let mut ranks: Vec<Rank> = (0..100)
            .map(|i| rank(i % 3 == 0, (i % 7) as f32, i, i as u128))
            .collect();
        let mut sorted = ranks.clone();
        sorted.sort_by(|a, b| order(SortOrder::Relevance, a, b));
        keep_best(SortOrder::Relevance, &mut ranks, 10);
        ranks.sort_by(|a, b| order(SortOrder::Relevance, a, b));
        assert_eq!(ranks, sorted[..10]);
    }
}
