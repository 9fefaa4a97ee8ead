//! Browsing without words: a category, filters and an order, as buyers walk
//! the catalog. Such a browse matches every listed product of a verified
//! vendor, so walking the documents ([`super::collect`]) costs the whole
//! index each time: about 30 ms at 1.5 million products.
//!
//! Instead each segment keeps its documents in a second order — by
//! category, then price, then id ([`BrowseOrder`], computed once per
//! segment, like the id order) — so that a category is a run of places and
//! a price range a run inside it. What a browse filters by besides becomes
//! bits by place: alive (deletes), the vendor shown (verified, legal form,
//! scale) and the delivery regency, each computed once and kept while it
//! holds. A browse then ANDs three bit sets, counts bits per category run
//! for the total and the facets, and reads only the places its page needs:
//! tens of microseconds rather than a walk.
//!
//! It answers exactly what the walk answers (the tests compare the two on
//! random catalogs, pages and cursors).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Searcher, SegmentReader, TERMINATED, Term, Warmer};

use super::attributes::Attributes;
use super::collect::{self, Filters, Found, IdOrder, IdOrders, PerSegment, Rank, UNKNOWN};
use super::index::{SortOrder, fast};

/// Vendor masks a segment keeps: one per recent (vendors, legal form,
/// scale) asked.
const VENDOR_MASKS: usize = 4;
/// Regency masks a segment keeps, the least recently used going first:
/// every regency of a province, while anyone may ask for any code.
const REGENCY_MASKS: usize = 64;

/// Bits by place.
#[derive(Debug, Clone)]
struct Bits {
    words: Box<[u64]>,
}

/// The bits of a word from `bit` up.
fn from_bit(bit: usize) -> u64 {
    u64::MAX << bit
}

/// The bits of a word up to `bit`, inclusive.
fn through_bit(bit: usize) -> u64 {
    u64::MAX >> (63 - bit)
}

impl Bits {
    fn zeros(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)].into_boxed_slice(),
        }
    }

    fn ones(len: usize) -> Self {
        let mut bits = Self {
            words: vec![u64::MAX; len.div_ceil(64)].into_boxed_slice(),
        };
        if !len.is_multiple_of(64)
            && let Some(last) = bits.words.last_mut()
        {
            *last = through_bit(len % 64 - 1);
        }
        bits
    }

    fn set(&mut self, at: usize) {
        self.words[at / 64] |= 1 << (at % 64);
    }

    fn clear(&mut self, at: usize) {
        self.words[at / 64] &= !(1 << (at % 64));
    }

    fn get(&self, at: usize) -> bool {
        (self.words[at / 64] >> (at % 64)) & 1 == 1
    }

    fn and(&mut self, other: &Bits) {
        for (a, b) in self.words.iter_mut().zip(other.words.iter()) {
            *a &= b;
        }
    }

    /// The bits set in `from..to`.
    fn count(&self, from: usize, to: usize) -> usize {
        if from >= to {
            return 0;
        }
        let (first, last) = (from / 64, (to - 1) / 64);
        let (head, tail) = (from_bit(from % 64), through_bit((to - 1) % 64));
        if first == last {
            return (self.words[first] & head & tail).count_ones() as usize;
        }
        let middle: u32 = self.words[first + 1..last]
            .iter()
            .map(|w| w.count_ones())
            .sum();
        ((self.words[first] & head).count_ones() + middle + (self.words[last] & tail).count_ones())
            as usize
    }

    /// The last bit set in `from..to`.
    fn prev(&self, from: usize, to: usize) -> Option<usize> {
        if from >= to {
            return None;
        }
        let mut word = (to - 1) / 64;
        let mut bits = self.words[word] & through_bit((to - 1) % 64);
        loop {
            if bits != 0 {
                let at = word * 64 + 63 - bits.leading_zeros() as usize;
                return (at >= from).then_some(at);
            }
            if word * 64 <= from {
                return None;
            }
            word -= 1;
            bits = self.words[word];
        }
    }

    /// The first bit set in `from..to`.
    fn next(&self, from: usize, to: usize) -> Option<usize> {
        if from >= to {
            return None;
        }
        let mut word = from / 64;
        let mut bits = self.words[word] & from_bit(from % 64);
        loop {
            if bits != 0 {
                let at = word * 64 + bits.trailing_zeros() as usize;
                return (at < to).then_some(at);
            }
            word += 1;
            if word * 64 >= to {
                return None;
            }
            bits = self.words[word];
        }
    }
}

/// The first place in `from..to` where `past` holds, given that it holds
/// for a suffix of that range.
fn first_where(from: usize, to: usize, past: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (from, to);
    while low < high {
        let middle = low + (high - low) / 2;
        if past(middle) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    low
}

/// The places of one category (and top-level category).
#[derive(Debug, Clone, Copy)]
struct Shelf {
    category: u64,
    parent: u64,
    start: usize,
    end: usize,
}

/// Masks computed from a segment and kept while they hold.
#[derive(Default)]
struct Masks {
    /// With the count of deleted documents they were computed at: deletes
    /// only add up, so an equal count means the same documents.
    alive: Option<(u32, Arc<Bits>)>,
    /// By regency number; a regency no product delivers to is not kept.
    regencies: Option<lru::LruCache<u64, Arc<Bits>>>,
    /// No place: what every such regency gets.
    none: Option<Arc<Bits>>,
    /// The most recent first.
    vendors: VecDeque<VendorMask>,
}

struct VendorMask {
    /// The vendor table it was computed from; a change makes a new one.
    attributes: Arc<Attributes>,
    legal_form: Option<u64>,
    scale: Option<u64>,
    bits: Arc<Bits>,
}

/// One segment's documents by category, then price, then id: the
/// browsing order. A document's index in it is its place.
pub(super) struct BrowseOrder {
    doc_at: Box<[DocId]>,
    vendor_at: Box<[u32]>,
    price_at: Box<[i64]>,
    /// Each place's document's place in the segment's id order.
    id_at: Box<[u32]>,
    shelves: Box<[Shelf]>,
    /// Each shelf's places again, in id order (for the orders by id).
    by_id: Box<[u32]>,
    masks: Mutex<Masks>,
}

/// What one browse asks of each segment.
pub(super) struct Browse<'a> {
    pub sort: SortOrder,
    /// A page and one more.
    pub keep: usize,
    pub after: Option<Rank>,
    pub filters: Filters,
    pub attributes: &'a Arc<Attributes>,
    /// The regency number products must deliver to.
    pub regency: Option<u64>,
    pub regency_field: Field,
}

impl BrowseOrder {
    fn of(reader: &SegmentReader, id_order: &IdOrder) -> tantivy::Result<Self> {
        let columns = reader.fast_fields();
        let (vendor, category, parent, price) = (
            columns.u64(fast::VENDOR)?,
            columns.u64(fast::CATEGORY)?,
            columns.u64(fast::PARENT)?,
            columns.i64(fast::PRICE)?,
        );
        // Read as the walk reads them, so that both see the same values.
        let mut rows: Vec<(u64, u64, i64, u32, DocId)> = (0..reader.max_doc())
            .map(|doc| {
                (
                    category.first(doc).unwrap_or(UNKNOWN),
                    parent.first(doc).unwrap_or(UNKNOWN),
                    price.first(doc).unwrap_or_default(),
                    id_order.place_of(doc),
                    doc,
                )
            })
            .collect();
        rows.sort_unstable();
        let mut shelves: Vec<Shelf> = Vec::new();
        for (at, (category, parent, ..)) in rows.iter().enumerate() {
            match shelves.last_mut() {
                Some(shelf) if shelf.category == *category && shelf.parent == *parent => {
                    shelf.end = at + 1;
                }
                _ => shelves.push(Shelf {
                    category: *category,
                    parent: *parent,
                    start: at,
                    end: at + 1,
                }),
            }
        }
        let mut by_id: Vec<u32> = (0..rows.len())
            .map(|at| u32::try_from(at).unwrap_or(u32::MAX))
            .collect();
        for shelf in &shelves {
            by_id[shelf.start..shelf.end].sort_unstable_by_key(|at| rows[*at as usize].3);
        }
        Ok(Self {
            vendor_at: rows
                .iter()
                .map(|r| {
                    vendor
                        .first(r.4)
                        .and_then(|v| u32::try_from(v).ok())
                        .unwrap_or(u32::MAX)
                })
                .collect(),
            doc_at: rows.iter().map(|r| r.4).collect(),
            price_at: rows.iter().map(|r| r.2).collect(),
            id_at: rows.iter().map(|r| r.3).collect(),
            shelves: shelves.into_boxed_slice(),
            by_id: by_id.into_boxed_slice(),
            masks: Mutex::default(),
        })
    }

    fn len(&self) -> usize {
        self.doc_at.len()
    }

    fn masks(&self) -> std::sync::MutexGuard<'_, Masks> {
        self.masks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The places whose document the reader's segment still holds.
    fn alive(&self, reader: &SegmentReader) -> Arc<Bits> {
        let deleted = reader.num_deleted_docs();
        if let Some((at, bits)) = &self.masks().alive
            && *at == deleted
        {
            return bits.clone();
        }
        let mut bits = Bits::ones(self.len());
        if let Some(alive) = reader.alive_bitset() {
            for (at, doc) in self.doc_at.iter().enumerate() {
                if alive.is_deleted(*doc) {
                    bits.clear(at);
                }
            }
        }
        let bits = Arc::new(bits);
        self.masks().alive = Some((deleted, bits.clone()));
        bits
    }

    /// The places whose vendor buyers see, of the legal form and scale
    /// asked.
    fn vendors(&self, attributes: &Arc<Attributes>, filters: &Filters) -> Arc<Bits> {
        let (legal_form, scale) = (filters.legal_form, filters.scale);
        let same = |m: &VendorMask| {
            Arc::ptr_eq(&m.attributes, attributes) && m.legal_form == legal_form && m.scale == scale
        };
        if let Some(mask) = self.masks().vendors.iter().find(|m| same(m)) {
            return mask.bits.clone();
        }
        let shown: Vec<bool> = attributes
            .vendors
            .iter()
            .map(|v| {
                v.verified
                    && legal_form.is_none_or(|f| f == u64::from(v.legal_form))
                    && scale.is_none_or(|s| s == u64::from(v.scale))
            })
            .collect();
        let mut bits = Bits::zeros(self.len());
        for (at, vendor) in self.vendor_at.iter().enumerate() {
            if shown.get(*vendor as usize).copied().unwrap_or(false) {
                bits.set(at);
            }
        }
        let bits = Arc::new(bits);
        let mut masks = self.masks();
        masks.vendors.retain(|m| !same(m));
        masks.vendors.push_front(VendorMask {
            attributes: attributes.clone(),
            legal_form,
            scale,
            bits: bits.clone(),
        });
        masks.vendors.truncate(VENDOR_MASKS);
        bits
    }

    /// The places whose product delivers to the regency.
    fn regency(
        &self,
        reader: &SegmentReader,
        field: Field,
        regency: u64,
    ) -> tantivy::Result<Arc<Bits>> {
        if let Some(bits) = self
            .masks()
            .regencies
            .as_mut()
            .and_then(|kept| kept.get(&regency))
        {
            return Ok(bits.clone());
        }
        let mut by_doc = Bits::zeros(reader.max_doc() as usize);
        let term = Term::from_field_u64(field, regency);
        let Some(mut postings) = reader
            .inverted_index(field)?
            .read_postings(&term, IndexRecordOption::Basic)?
        else {
            let len = self.len();
            return Ok(self
                .masks()
                .none
                .get_or_insert_with(|| Arc::new(Bits::zeros(len)))
                .clone());
        };
        let mut doc = postings.doc();
        while doc != TERMINATED {
            by_doc.set(doc as usize);
            doc = postings.advance();
        }
        let mut bits = Bits::zeros(self.len());
        for (at, doc) in self.doc_at.iter().enumerate() {
            if by_doc.get(*doc as usize) {
                bits.set(at);
            }
        }
        let bits = Arc::new(bits);
        self.masks()
            .regencies
            .get_or_insert_with(|| {
                lru::LruCache::new(
                    std::num::NonZeroUsize::new(REGENCY_MASKS)
                        .unwrap_or(std::num::NonZeroUsize::MIN),
                )
            })
            .put(regency, bits.clone());
        Ok(bits)
    }

    fn rank(&self, at: usize) -> Rank {
        Rank {
            partial: false,
            score: 0.0,
            price: self.price_at[at],
            // As the walk numbers ids inside a segment: one more than the
            // id place.
            id: u128::from(self.id_at[at]) + 1,
            doc: self.doc_at[at],
        }
    }

    /// What the segment holds for `browse`: its total, facets and best
    /// hits, their ids in id places (the caller gives them real ones).
    fn browse(
        &self,
        reader: &SegmentReader,
        browse: &Browse<'_>,
        after: Option<Rank>,
    ) -> tantivy::Result<Found> {
        let mut shown = Bits::clone(&self.alive(reader));
        shown.and(&self.vendors(browse.attributes, &browse.filters));
        if let Some(regency) = browse.regency {
            shown.and(&*self.regency(reader, browse.regency_field, regency)?);
        }
        let mut found = Found {
            facets: vec![0; browse.attributes.categories.len()],
            ..Found::default()
        };
        let filters = browse.filters;
        for shelf in self.shelves.iter() {
            // The shelf's places within the price range.
            let from = match filters.min_price {
                Some(min) => first_where(shelf.start, shelf.end, |at| self.price_at[at] >= min),
                None => shelf.start,
            };
            let to = match filters.max_price {
                Some(max) => first_where(from, shelf.end, |at| self.price_at[at] > max),
                None => shelf.end,
            };
            let count = shown.count(from, to);
            if count == 0 {
                continue;
            }
            add_facet(&mut found.facets, shelf.category, count);
            if shelf.parent != shelf.category {
                add_facet(&mut found.facets, shelf.parent, count);
            }
            if filters
                .category
                .is_some_and(|c| c != shelf.category && c != shelf.parent)
            {
                continue;
            }
            found.matches += count;
            self.best_of_shelf(shelf, from..to, &shown, browse, after, &mut found.best);
        }
        collect::keep_best(browse.sort, &mut found.best, browse.keep);
        Ok(found)
    }

    /// Adds to `best` the first `keep` shown places of the shelf in the
    /// browse's order after the cursor (`priced`: its places within the
    /// price range).
    fn best_of_shelf(
        &self,
        shelf: &Shelf,
        priced: std::ops::Range<usize>,
        shown: &Bits,
        browse: &Browse<'_>,
        after: Option<Rank>,
        best: &mut Vec<Rank>,
    ) {
        let sort = browse.sort;
        let past_cursor = |at: usize| {
            after.is_none_or(|after| {
                collect::order(sort, &self.rank(at), &after) == std::cmp::Ordering::Greater
            })
        };
        let mut taken = 0;
        let mut take = |at: usize| {
            best.push(self.rank(at));
            taken += 1;
            taken < browse.keep
        };
        match sort {
            // Places run in this order: from the first past the cursor.
            SortOrder::PriceAscending => {
                let mut at = first_where(priced.start, priced.end, past_cursor);
                while let Some(next) = shown.next(at, priced.end) {
                    if !take(next) {
                        break;
                    }
                    at = next + 1;
                }
            }
            // Prices from the highest, each price's places (in id order)
            // from the lowest id; prices without a place shown are
            // passed over whole.
            SortOrder::PriceDescending => {
                let mut high = match after {
                    Some(after) => first_where(priced.start, priced.end, |at| {
                        self.price_at[at] > after.price
                    }),
                    None => priced.end,
                };
                'prices: while let Some(top) = shown.prev(priced.start, high) {
                    let price = self.price_at[top];
                    let low = first_where(priced.start, top, |at| self.price_at[at] >= price);
                    let mut at = low;
                    while let Some(next) = shown.next(at, top + 1) {
                        if past_cursor(next) && !take(next) {
                            break 'prices;
                        }
                        at = next + 1;
                    }
                    high = low;
                }
            }
            // Without words every score is the same: by id, the lowest
            // first (relevance) or the highest (newest).
            SortOrder::Relevance | SortOrder::Newest => {
                let ids = &self.by_id[shelf.start..shelf.end];
                let fits = |at: usize| priced.contains(&at) && shown.get(at);
                if sort == SortOrder::Relevance {
                    let from = first_where(0, ids.len(), |i| past_cursor(ids[i] as usize));
                    for at in ids[from..].iter().map(|at| *at as usize) {
                        if fits(at) && !take(at) {
                            break;
                        }
                    }
                } else {
                    let to = first_where(0, ids.len(), |i| !past_cursor(ids[i] as usize));
                    for at in ids[..to].iter().rev().map(|at| *at as usize) {
                        if fits(at) && !take(at) {
                            break;
                        }
                    }
                }
            }
        }
    }
}

fn add_facet(facets: &mut Vec<usize>, category: u64, count: usize) {
    let Ok(slot) = usize::try_from(category) else {
        return;
    };
    if slot >= facets.len() {
        facets.resize(slot + 1, 0);
    }
    facets[slot] += count;
}

/// The browsing order of every segment searches can see, made from the
/// id orders.
pub(super) struct BrowseOrders {
    id_orders: Arc<IdOrders>,
    orders: Arc<PerSegment<BrowseOrder>>,
}

impl BrowseOrders {
    pub fn new(id_orders: Arc<IdOrders>) -> Self {
        let ids = id_orders.clone();
        Self {
            id_orders,
            orders: Arc::new(PerSegment::new(move |reader: &SegmentReader| {
                let id_order = ids.of(reader)?;
                BrowseOrder::of(reader, &id_order)
            })),
        }
    }

    /// What keeps the orders current: the reader's warmer.
    pub fn warmer(&self) -> Arc<dyn Warmer> {
        self.orders.clone()
    }

    /// Browses every segment of the searcher.
    pub fn browse(&self, searcher: &Searcher, browse: &Browse<'_>) -> tantivy::Result<Found> {
        let mut segments = Vec::new();
        for reader in searcher.segment_readers() {
            let id_order = self.id_orders.of(reader)?;
            let after = collect::cursor_in_segment(browse.sort, browse.after, &id_order, reader)?;
            let mut found = self.orders.of(reader)?.browse(reader, browse, after)?;
            collect::give_real_ids(reader, &mut found.best)?;
            segments.push(found);
        }
        Ok(collect::merge(browse.sort, browse.keep, segments))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_count_and_find_across_word_edges() {
        for len in [1, 63, 64, 65, 200] {
            let mut bits = Bits::zeros(len);
            let set: Vec<usize> = (0..len).filter(|i| i % 3 == 0 || i % 7 == 0).collect();
            for i in &set {
                bits.set(*i);
            }
            for from in 0..len {
                for to in from..=len {
                    let expected: Vec<usize> = set
                        .iter()
                        .copied()
                        .filter(|i| (from..to).contains(i))
                        .collect();
                    assert_eq!(bits.count(from, to), expected.len(), "{len} {from}..{to}");
                    assert_eq!(bits.next(from, to), expected.first().copied());
                    assert_eq!(bits.prev(from, to), expected.last().copied());
                }
            }
            let ones = Bits::ones(len);
            assert_eq!(ones.count(0, len), len);
            assert_eq!(
                ones.words
                    .iter()
                    .map(|w| w.count_ones() as usize)
                    .sum::<usize>(),
                len
            );
        }
    }

    #[test]
    fn the_first_place_past_is_found_at_every_edge() {
        for len in 0..10 {
            for cut in 0..=len {
                assert_eq!(first_where(0, len, |at| at >= cut), cut);
            }
        }
    }
}
