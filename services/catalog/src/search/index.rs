//! The search index: a tantivy index of the listed products, in a
//! directory of this replica's own (memory-mapped files), beside a small
//! in-memory table of vendors.
//!
//! Words (name, category name, description) go through the Indonesian
//! analyzer into inverted indexes; everything a filter, facet or sort
//! reads (vendor, category, price, regencies, id) is a fast field holding
//! a number. Vendors stay out of the documents: a suspension changes one
//! entry of the vendor table and hides every product of the vendor at
//! once, without rewriting them.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use tantivy::query::TermQuery;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::analyzer;
use super::attributes::Attributes;
use super::browse::{Browse, BrowseOrders};
use super::collect::{Filters, Found, IdOrders, PageCollector, UNKNOWN};
use super::directory::{DirectoryError, IndexDirectory};
use super::documents::Vendor;
pub use super::documents::{Cursor, Hit, ProductDoc, Query, SearchResult, SortOrder, VendorDoc};
use super::query;

/// Field weights: a word in the name counts three times one in the
/// description, a word of the category twice. The three go into one
/// field, their words each as many times as its weight: BM25 over the
/// weighted term frequencies and lengths (BM25F), with one posting list per
/// word, so a query walks one list per word instead of a union of three.
/// Each text is analysed once and its words repeated
/// ([`analyzer::weighted`]).
const NAME_WEIGHT: u8 = 3;
const CATEGORY_WEIGHT: u8 = 2;
const DESCRIPTION_WEIGHT: u8 = 1;
/// Memory for the writer that keeps the index current: tantivy's least.
const FEED_WRITER_BYTES: usize = 15_000_000;
/// Memory per thread for the writer that builds the index at start: at
/// 1.5 million products, a few segments per thread.
const BUILD_WRITER_BYTES_PER_THREAD: usize = 64_000_000;
/// The build writer's memory in all, whatever the threads: the chart
/// gives a replica 512 MiB.
const BUILD_WRITER_BYTES: usize = 128_000_000;
/// Segments a build may leave unmerged: merging them into one took 4 s
/// of a 1.5 million product build and saved searches little. Fewer than
/// the 8 of one size the feed writer's merge policy would merge at its
/// first commit.
const BUILD_SEGMENTS_KEPT: usize = 7;

/// The fast fields' names.
pub(super) mod fast {
    pub const ID_HIGH: &str = "id_high";
    pub const ID_LOW: &str = "id_low";
    pub const VENDOR: &str = "vendor";
    pub const CATEGORY: &str = "category";
    pub const PARENT: &str = "parent";
    pub const PRICE: &str = "price";
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    /// Name, category name and description, weighted.
    words: Field,
    id_high: Field,
    id_low: Field,
    vendor: Field,
    category: Field,
    parent: Field,
    regency: Field,
    price: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    // Words: term frequencies and field lengths for BM25, no positions (no
    // phrase queries), nothing stored (hits are read from the database).
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer::NAME)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        // The UUID's 16 bytes, to replace and delete a product by.
        id: builder.add_bytes_field("id", INDEXED),
        words: builder.add_text_field("words", words),
        id_high: builder.add_u64_field(fast::ID_HIGH, FAST),
        id_low: builder.add_u64_field(fast::ID_LOW, FAST),
        vendor: builder.add_u64_field(fast::VENDOR, FAST),
        category: builder.add_u64_field(fast::CATEGORY, FAST),
        parent: builder.add_u64_field(fast::PARENT, FAST),
        // Indexed, not a fast field: the delivery filter joins the query,
        // so tantivy skips what does not deliver there.
        regency: builder.add_u64_field("regency", INDEXED),
        price: builder.add_i64_field(fast::PRICE, FAST),
    };
    (builder.build(), fields)
}

/// "33.74" -> 3374; anything else -> None.
fn regency_number(code: &str) -> Option<u64> {
    let b = code.as_bytes();
    if b.len() != 5 || b[2] != b'.' {
        return None;
    }
    code.replace('.', "").parse().ok()
}

pub(super) fn uuid_number(id: &str) -> u128 {
    uuid::Uuid::parse_str(id).map(|u| u.as_u128()).unwrap_or(0)
}

/// Most answers [`Browsed`] keeps: the first pages of the categories and
/// sorts buyers browse.
const BROWSED_ANSWERS: usize = 256;

/// What a browse without words is remembered by (`None` for a search
/// with words): the query's debug form, which holds all it asks.
fn browsing_key(query: &Query) -> Option<String> {
    query.text.trim().is_empty().then(|| format!("{query:?}"))
}

/// The answers of searches without words — browsing the catalog by
/// category, price or newest, which match every listed product of a
/// verified vendor and would walk the whole index each time — kept for as
/// long as what they were read from holds: the same commit (searcher
/// generation) and the same vendors' attributes (each change makes a new
/// `Arc`, since this one holds a clone).
struct Browsed {
    generation: u64,
    attributes: Arc<Attributes>,
    answers: lru::LruCache<String, SearchResult>,
}

/// The index. Writing (the feed, one at a time) and searching (any number
/// at once) share it; a search sees what the last commit held.
pub struct SearchIndex {
    index: Index,
    fields: Fields,
    /// None only while the build writer gives way to the feed's.
    writer: Mutex<Option<IndexWriter>>,
    reader: IndexReader,
    /// Each segment's product id order; also one of the reader's warmers.
    id_orders: Arc<IdOrders>,
    /// Each segment's browsing order; the other warmer.
    browse_orders: Arc<BrowseOrders>,
    analyzer: TextAnalyzer,
    attributes: RwLock<Arc<Attributes>>,
    /// Changes written since the last commit.
    uncommitted: AtomicUsize,
    /// The analyzer's stemmer, for the figures of its cache.
    stemmer: analyzer::SastrawiStemmer,
    /// Answers of searches without words, while they hold.
    browsed: Mutex<Option<Browsed>>,
    /// Searches that ran over the index (those [`Browsed`] answered did
    /// not).
    scans: std::sync::atomic::AtomicU64,
    /// Last, so that the index's files close before it goes.
    directory: IndexDirectory,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("directory", &self.directory.path())
            .field("products", &self.len())
            .finish()
    }
}

/// How long the end of a build took, by step.
#[derive(Debug, Clone, Copy)]
pub struct BuildFinish {
    /// The segments the build's threads wrote.
    pub segments: usize,
    pub commit: std::time::Duration,
    pub merge: std::time::Duration,
    /// Computing the new segment's id and browsing orders.
    pub warm: std::time::Duration,
}

/// Why the index failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// Only after a build whose writer could not be replaced.
    #[error("search index: no writer, the build did not finish")]
    NoWriter,
}

impl SearchIndex {
    /// An empty index in `directory` (a temporary one when none), with a
    /// writer for building it with `threads` threads.
    pub fn create(directory: Option<&Path>, threads: usize) -> Result<Self, IndexError> {
        let (directory, path) = IndexDirectory::open(directory)?;
        let (schema, fields) = schema();
        let index = Index::create_in_dir(&path, schema)?;
        let stemmer = analyzer::SastrawiStemmer::default();
        let analyzer = analyzer::analyzer(stemmer.clone());
        index
            .tokenizers()
            .register(analyzer::NAME, analyzer::weighted(analyzer.clone()));
        let threads = threads.max(1);
        let writer: IndexWriter = index.writer_with_num_threads(
            threads,
            (threads * BUILD_WRITER_BYTES_PER_THREAD).min(BUILD_WRITER_BYTES),
        )?;
        // The build merges at its end if it must; a merge started on the way
        // would take segments from under that one.
        writer.set_merge_policy(Box::new(tantivy::merge_policy::NoMergePolicy));
        let id_orders = Arc::new(IdOrders::id_orders());
        let browse_orders = Arc::new(BrowseOrders::new(id_orders.clone()));
        let warmers: [Arc<dyn tantivy::Warmer>; 2] = [id_orders.clone(), browse_orders.warmer()];
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .warmers(warmers.iter().map(Arc::downgrade).collect())
            .try_into()?;
        Ok(Self {
            index,
            fields,
            writer: Mutex::new(Some(writer)),
            reader,
            id_orders,
            browse_orders,
            analyzer,
            stemmer,
            browsed: Mutex::new(None),
            scans: std::sync::atomic::AtomicU64::new(0),
            attributes: RwLock::new(Arc::default()),
            uncommitted: AtomicUsize::new(0),
            directory,
        })
    }

    /// Ends the build: commits, merges what the build threads wrote into
    /// one segment if they wrote many (fewer, larger segments answer
    /// faster), and hands over
    /// to a single-threaded writer with tantivy's least memory for the
    /// trickle of changes that follows.
    pub fn finish_build(&self) -> Result<BuildFinish, IndexError> {
        let mut slot = self.writer();
        let started = std::time::Instant::now();
        let (mut committed, mut merged) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        let mut built_segments = 0;
        if let Some(mut writer) = slot.take() {
            writer.commit()?;
            committed = started.elapsed();
            let segments = self.index.searchable_segment_ids()?;
            built_segments = segments.len();
            if segments.len() > BUILD_SEGMENTS_KEPT {
                writer.merge(&segments).wait()?;
            }
            writer.wait_merging_threads()?;
            merged = started.elapsed() - committed;
        }
        *slot = Some(self.index.writer_with_num_threads(1, FEED_WRITER_BYTES)?);
        self.uncommitted.store(0, Ordering::Relaxed);
        let reloading = std::time::Instant::now();
        // Reloading warms the segment: its id and browsing orders.
        self.reader.reload()?;
        Ok(BuildFinish {
            segments: built_segments,
            commit: committed,
            merge: merged,
            warm: reloading.elapsed(),
        })
    }

    fn writer(&self) -> MutexGuard<'_, Option<IndexWriter>> {
        // A panic while holding the lock leaves the writer as tantivy left
        // it: every operation is queued whole or not at all.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn attributes(&self) -> Arc<Attributes> {
        self.attributes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn change_attributes<T>(&self, change: impl FnOnce(&mut Attributes) -> T) -> T {
        let mut attributes = self.attributes.write().unwrap_or_else(|e| e.into_inner());
        change(Arc::make_mut(&mut attributes))
    }

    /// Listed products the last commit holds, of any vendor.
    pub fn len(&self) -> usize {
        usize::try_from(self.reader.searcher().num_docs()).unwrap_or(usize::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The segments searches walk (one after the build; the feed's commits
    /// add small ones, which tantivy merges in the background).
    pub fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Records a category, so that filters and facets know it before any
    /// product has it.
    pub fn add_category(&self, code: &str) {
        self.change_attributes(|a| a.category(code));
    }

    /// Sets what search knows of a vendor. Takes effect at once, without a
    /// commit.
    pub fn set_vendor(&self, vendor_id: &str, vendor: VendorDoc) {
        self.change_attributes(|a| {
            let id = a.vendor(vendor_id) as usize;
            let (legal_form, scale) = (a.label(&vendor.legal_form), a.label(&vendor.scale));
            a.vendors[id] = Vendor {
                verified: vendor.verified,
                legal_form,
                scale,
            };
        });
    }

    /// The numbers of a product's vendor, category and top-level category.
    fn numbers(&self, product: &ProductDoc) -> (u32, u32, u32) {
        let known = {
            let a = self.attributes.read().unwrap_or_else(|e| e.into_inner());
            (
                a.vendor_ids.get(&product.vendor_id),
                a.categories_interned.get(&product.category_code),
                a.categories_interned.get(&product.parent_category),
            )
        };
        match known {
            (Some(v), Some(c), Some(p)) => (v, c, p),
            _ => self.change_attributes(|a| {
                (
                    a.vendor(&product.vendor_id),
                    a.category(&product.category_code),
                    a.category(&product.parent_category),
                )
            }),
        }
    }

    /// Adds a product the index does not hold yet (the build): no delete
    /// goes before it. A product that is not listed is skipped.
    pub fn insert(&self, product: &ProductDoc) -> Result<(), IndexError> {
        if !product.listed {
            return Ok(());
        }
        let doc = self.document(product);
        self.write(|writer| writer.add_document(doc).map(|_| ()))
    }

    /// Adds or replaces a product; one that is not listed is only removed:
    /// buyers never see it. Searches see it after the next commit.
    pub fn upsert(&self, product: &ProductDoc) -> Result<(), IndexError> {
        let document = product.listed.then(|| self.document(product));
        let id = self.id_term(&product.product_id);
        self.write(|writer| {
            // A delete applies to what was added before it, so the new
            // version added after it stays.
            writer.delete_term(id);
            match document {
                Some(doc) => writer.add_document(doc).map(|_| ()),
                None => Ok(()),
            }
        })
    }

    fn document(&self, product: &ProductDoc) -> TantivyDocument {
        let id = uuid_number(&product.product_id);
        let (vendor, category, parent) = self.numbers(product);
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_bytes(f.id, &id.to_be_bytes());
        // Marked with their weights: the writer's threads analyse each
        // once (a pre-tokenized value would cross to them as JSON).
        for (text, weight) in [
            (&product.name, NAME_WEIGHT),
            (&product.category_name, CATEGORY_WEIGHT),
            (&product.description, DESCRIPTION_WEIGHT),
        ] {
            doc.add_text(f.words, analyzer::with_weight(text, weight));
        }
        doc.add_u64(f.id_high, (id >> 64) as u64);
        doc.add_u64(f.id_low, id as u64);
        doc.add_u64(f.vendor, u64::from(vendor));
        doc.add_u64(f.category, u64::from(category));
        doc.add_u64(f.parent, u64::from(parent));
        for regency in product
            .delivery_regencies
            .iter()
            .filter_map(|r| regency_number(r))
        {
            doc.add_u64(f.regency, regency);
        }
        doc.add_i64(f.price, product.price);
        doc
    }

    /// Removes a product (after the next commit).
    pub fn remove(&self, product_id: &str) -> Result<(), IndexError> {
        let id = self.id_term(product_id);
        self.write(|writer| {
            writer.delete_term(id);
            Ok(())
        })
    }

    /// The term a product is replaced and deleted by.
    fn id_term(&self, product_id: &str) -> Term {
        Term::from_field_bytes(self.fields.id, &uuid_number(product_id).to_be_bytes())
    }

    /// One change through the writer, counted for the next commit.
    fn write(
        &self,
        change: impl FnOnce(&IndexWriter) -> tantivy::Result<()>,
    ) -> Result<(), IndexError> {
        let slot = self.writer();
        change(slot.as_ref().ok_or(IndexError::NoWriter)?)?;
        self.uncommitted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Makes every change written so far visible to searches. Returns
    /// whether there was anything to commit.
    pub fn commit(&self) -> Result<bool, IndexError> {
        let mut slot = self.writer();
        let pending = self.uncommitted.swap(0, Ordering::Relaxed);
        if pending == 0 {
            return Ok(false);
        }
        let committed = match slot.as_mut() {
            Some(writer) => writer.commit().map(|_| ()),
            None => Ok(()),
        }
        .and_then(|()| self.reader.reload());
        if let Err(e) = committed {
            // Still pending: the next commit tries again.
            self.uncommitted.fetch_add(pending, Ordering::Relaxed);
            return Err(e.into());
        }
        Ok(true)
    }

    /// What the stem cache holds and how well it serves.
    pub fn stem_cache(&self) -> analyzer::StemCacheFigures {
        self.stemmer.figures()
    }

    /// Searches that walked the index (a repeated search without words
    /// does not).
    pub fn scans(&self) -> u64 {
        self.scans.load(Ordering::Relaxed)
    }

    /// The answer a browse without words was last given on the index as
    /// it is now, if it is remembered: a lookup, cheap enough for the
    /// caller's own thread.
    pub fn remembered(&self, query: &Query) -> Option<SearchResult> {
        let key = browsing_key(query)?;
        let generation = self.reader.searcher().generation().generation_id();
        self.browsed_answer(generation, &self.attributes(), &key)
    }

    pub fn search(&self, query: &Query) -> Result<SearchResult, IndexError> {
        let searcher = self.reader.searcher();
        let generation = searcher.generation().generation_id();
        let attributes = self.attributes();
        let browsing = browsing_key(query);
        if let Some(key) = &browsing
            && let Some(answer) = self.browsed_answer(generation, &attributes, key)
        {
            return Ok(answer);
        }
        let answer = self.search_in(&searcher, query, attributes.clone(), true)?;
        if let Some(key) = browsing {
            self.remember_browsed(generation, attributes, key, answer.clone());
        }
        Ok(answer)
    }

    fn browsed_answer(
        &self,
        generation: u64,
        attributes: &Arc<Attributes>,
        key: &str,
    ) -> Option<SearchResult> {
        let mut browsed = self.browsed.lock().unwrap_or_else(|e| e.into_inner());
        let browsed = browsed.as_mut()?;
        if browsed.generation != generation || !Arc::ptr_eq(&browsed.attributes, attributes) {
            return None;
        }
        browsed.answers.get(key).cloned()
    }

    fn remember_browsed(
        &self,
        generation: u64,
        attributes: Arc<Attributes>,
        key: String,
        answer: SearchResult,
    ) {
        let mut browsed = self.browsed.lock().unwrap_or_else(|e| e.into_inner());
        let current = browsed
            .as_ref()
            .is_some_and(|b| b.generation == generation && Arc::ptr_eq(&b.attributes, &attributes));
        if !current {
            *browsed = Some(Browsed {
                generation,
                attributes,
                answers: lru::LruCache::new(
                    std::num::NonZeroUsize::new(BROWSED_ANSWERS)
                        .unwrap_or(std::num::NonZeroUsize::MIN),
                ),
            });
        }
        if let Some(browsed) = browsed.as_mut() {
            browsed.answers.put(key, answer);
        }
    }

    /// Searches the searcher's commit; a search without words goes by the
    /// browsing order unless `by_browsing` is false (the tests compare the
    /// two ways).
    fn search_in(
        &self,
        searcher: &tantivy::Searcher,
        query: &Query,
        attributes: Arc<Attributes>,
        by_browsing: bool,
    ) -> Result<SearchResult, IndexError> {
        self.scans.fetch_add(1, Ordering::Relaxed);
        let mut terms = analyzer::terms(&mut self.analyzer.clone(), &query.text);
        terms.sort();
        terms.dedup();
        let page = query.page_size.max(1);
        let regency = query
            .delivery_regency
            .as_deref()
            .map(|code| regency_number(code).unwrap_or(UNKNOWN));
        let found = if terms.is_empty() && by_browsing {
            self.browse_orders.browse(
                searcher,
                &Browse {
                    sort: query.sort,
                    keep: page + 1,
                    after: query.after.as_ref().map(Cursor::rank),
                    filters: filters(query, &attributes),
                    attributes: &attributes,
                    regency,
                    regency_field: self.fields.regency,
                },
            )?
        } else {
            self.walk(searcher, query, &terms, regency, attributes.clone())?
        };
        let mut hits: Vec<Hit> = found
            .best
            .iter()
            .map(|rank| Hit {
                product_id: uuid::Uuid::from_u128(rank.id).to_string(),
                score: rank.score,
                price: rank.price,
                partial: rank.partial,
            })
            .collect();
        let next = if hits.len() > page {
            hits.truncate(page);
            hits.last().map(|hit| Cursor::after(query.sort, hit))
        } else {
            None
        };
        let mut facets: Vec<(String, usize)> = found
            .facets
            .into_iter()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .filter_map(|(c, n)| Some((attributes.categories.get(c)?.clone(), n)))
            .collect();
        facets.sort();
        Ok(SearchResult {
            hits,
            next,
            total_matches: found.matches,
            facets,
        })
    }
}

impl SearchIndex {
    /// Walks every document the query matches (with words, or a regency
    /// to deliver to), collecting the page, total and facets.
    fn walk(
        &self,
        searcher: &tantivy::Searcher,
        query: &Query,
        terms: &[String],
        regency: Option<u64>,
        attributes: Arc<Attributes>,
    ) -> Result<Found, IndexError> {
        // The delivery filter joins the query, so that tantivy skips what
        // does not deliver there.
        let delivery: Vec<Box<dyn tantivy::query::Query>> = match regency {
            None => Vec::new(),
            Some(number) => vec![Box::new(TermQuery::new(
                Term::from_field_u64(self.fields.regency, number),
                IndexRecordOption::Basic,
            ))],
        };
        let plan = query::plan(searcher, self.fields.words, terms, delivery)?;
        let collector = PageCollector {
            id_orders: self.id_orders.clone(),
            sort: query.sort,
            page: query.page_size.max(1),
            after: query.after.as_ref().map(Cursor::rank),
            filters: filters(query, &attributes),
            attributes,
            scored: plan.scored,
            partial: plan.partial,
        };
        Ok(searcher.search(&*plan.matching, &collector)?)
    }
}

/// The query's filters as numbers; a name the index has never seen
/// becomes a number nothing has.
fn filters(query: &Query, attributes: &Attributes) -> Filters {
    let category = |code: &str| {
        attributes
            .categories_interned
            .get(code)
            .map_or(UNKNOWN, u64::from)
    };
    let label = |label: &str| attributes.labels.get(label).map_or(UNKNOWN, u64::from);
    Filters {
        category: query.category.as_deref().map(category),
        min_price: query.min_price,
        max_price: query.max_price,
        legal_form: query.legal_form.as_deref().map(label),
        scale: query.scale.as_deref().map(label),
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

    fn verified(index: &SearchIndex, verified: bool) {
        index.set_vendor(
            "v",
            VendorDoc {
                verified,
                legal_form: "cv".into(),
                scale: "small".into(),
            },
        );
    }

    fn index_with(n: usize) -> SearchIndex {
        let index = SearchIndex::create(None, 1).unwrap();
        verified(&index, true);
        for i in 0..n {
            index
                .insert(&doc(i, &format!("Kertas HVS nomor {i}"), 1000 + i as i64))
                .unwrap();
        }
        index.finish_build().unwrap();
        index
    }

    fn query(text: &str) -> Query {
        Query {
            text: text.into(),
            page_size: 10,
            ..Query::default()
        }
    }

    fn total(index: &SearchIndex, text: &str) -> usize {
        index.search(&query(text)).unwrap().total_matches
    }

    #[test]
    fn changes_show_after_the_commit_and_not_before() {
        let index = index_with(3);
        index.upsert(&doc(0, "Pulpen Gel", 1000)).unwrap();
        index.remove(&doc(1, "", 0).product_id).unwrap();
        assert_eq!(total(&index, "pulpen"), 0, "not committed yet");
        assert_eq!(total(&index, "kertas"), 3);
        assert!(index.commit().unwrap());
        assert!(!index.commit().unwrap(), "nothing left to commit");
        assert_eq!(total(&index, "pulpen"), 1);
        assert_eq!(total(&index, "hvs"), 1, "only the untouched product");
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn a_word_of_the_name_weighs_more_than_one_of_the_description() {
        let index = SearchIndex::create(None, 1).unwrap();
        verified(&index, true);
        // Unweighted, both would hold "kursi" once in as many words.
        for (i, name, description) in [(1, "Meja Kayu", "kursi"), (2, "Kursi Kayu", "")] {
            index
                .insert(&ProductDoc {
                    description: description.into(),
                    category_name: String::new(),
                    ..doc(i, name, 1000)
                })
                .unwrap();
        }
        index.finish_build().unwrap();
        let hits = index.search(&query("kursi")).unwrap().hits;
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].product_id, doc(2, "", 0).product_id);
        assert!(hits[0].score > hits[1].score * 1.5, "{hits:?}");
    }

    #[test]
    fn a_product_no_longer_listed_leaves() {
        let index = index_with(2);
        index
            .upsert(&ProductDoc {
                listed: false,
                ..doc(0, "Kertas HVS nomor 0", 1000)
            })
            .unwrap();
        index.commit().unwrap();
        assert_eq!(total(&index, "kertas"), 1);
    }

    #[test]
    fn a_vendor_change_takes_effect_without_a_commit() {
        let index = index_with(3);
        verified(&index, false);
        assert_eq!(total(&index, "kertas"), 0);
        verified(&index, true);
        assert_eq!(total(&index, "kertas"), 3);
    }

    #[test]
    fn browsing_again_is_answered_without_walking_the_index_until_something_changes() {
        let index = index_with(5);
        let browse = |category: Option<&str>| {
            index
                .search(&Query {
                    category: category.map(String::from),
                    ..query("")
                })
                .unwrap()
        };
        let first = browse(None);
        assert_eq!(first.total_matches, 5);
        let scans = index.scans();
        for _ in 0..100 {
            assert_eq!(browse(None).total_matches, 5);
        }
        assert_eq!(index.scans(), scans, "the same browse, answered as it was");
        // Another browse is its own answer; a search with words always walks.
        browse(Some("atk"));
        total(&index, "kertas");
        assert_eq!(index.scans(), scans + 2);
        // A vendor change, then a commit, each make it read afresh.
        verified(&index, false);
        assert_eq!(browse(None).total_matches, 0);
        verified(&index, true);
        assert_eq!(browse(None).total_matches, 5);
        index.upsert(&doc(9, "Kertas Buram", 500)).unwrap();
        index.commit().unwrap();
        assert_eq!(browse(None).total_matches, 6);
        assert_eq!(index.scans(), scans + 5);
    }

    #[test]
    fn a_vendor_not_heard_of_hides_its_products() {
        let index = index_with(1);
        index
            .upsert(&ProductDoc {
                vendor_id: "new".into(),
                ..doc(7, "Kertas Buram", 500)
            })
            .unwrap();
        index.commit().unwrap();
        assert_eq!(total(&index, "buram"), 0);
        assert_eq!(index.len(), 2, "held, not shown");
    }

    #[test]
    fn price_pages_follow_each_other_without_gaps() {
        let index = index_with(25);
        let mut after = None;
        let mut seen = Vec::new();
        loop {
            let result = index
                .search(&Query {
                    sort: SortOrder::PriceDescending,
                    after: after.clone(),
                    page_size: 7,
                    ..Query::default()
                })
                .unwrap();
            seen.extend(result.hits.iter().map(|h| h.price));
            match result.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let expected: Vec<i64> = (0..25).rev().map(|i| 1000 + i).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn filters_by_an_unknown_name_find_nothing() {
        let index = index_with(3);
        let nothing = |q: Query| index.search(&q).unwrap().total_matches;
        assert_eq!(
            nothing(Query {
                category: Some("senjata".into()),
                ..query("")
            }),
            0
        );
        assert_eq!(
            nothing(Query {
                legal_form: Some("pt".into()),
                ..query("")
            }),
            0
        );
        assert_eq!(
            nothing(Query {
                delivery_regency: Some("33.99".into()),
                ..query("")
            }),
            0
        );
        assert_eq!(nothing(query("")), 3);
    }

    #[test]
    fn a_given_directory_is_emptied_and_kept_from_a_second_index() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("left-over"), "stale").unwrap();
        std::fs::create_dir(dir.path().join("index")).unwrap();
        std::fs::write(dir.path().join("index").join("meta.json"), "{}").unwrap();
        let first = SearchIndex::create(Some(dir.path()), 1).unwrap();
        assert!(!dir.path().join("left-over").exists());
        let second = SearchIndex::create(Some(dir.path()), 1).unwrap_err();
        assert!(
            second.to_string().contains("in use by another process"),
            "{second}"
        );
        drop(first);
        SearchIndex::create(Some(dir.path()), 1).unwrap();
    }

    #[test]
    fn a_temporary_directory_goes_with_the_index() {
        let index = index_with(1);
        let path = index.directory.path().to_path_buf();
        assert!(path.exists());
        drop(index);
        assert!(!path.exists());
    }

    #[test]
    fn a_directory_that_cannot_be_made_is_named() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let err = SearchIndex::create(Some(&file.path().join("sub")), 1).unwrap_err();
        assert!(
            err.to_string().contains(&file.path().display().to_string()),
            "{err}"
        );
    }

    /// A small random number generator: the same catalog every run.
    struct Dice(u64);

    impl Dice {
        fn roll(&mut self, sides: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % sides
        }

        fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
            of[self.roll(of.len() as u64) as usize]
        }
    }

    #[test]
    fn browsing_answers_what_walking_the_documents_answers() {
        const CATEGORIES: [(&str, &str); 5] = [
            ("atk.kertas", "atk"),
            ("atk.pena", "atk"),
            ("atk", "atk"),
            ("mebel.kursi", "mebel"),
            ("mebel.meja", "mebel"),
        ];
        const REGENCIES: [&str; 3] = ["33.74", "33.01", "33.02"];
        let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
        let index = SearchIndex::create(None, 2).unwrap();
        let set_vendor = |index: &SearchIndex, dice: &mut Dice, v: u64| {
            index.set_vendor(
                &format!("v{v}"),
                VendorDoc {
                    verified: dice.roll(5) != 0,
                    legal_form: dice.pick(&["cv", "pt"]).into(),
                    scale: dice.pick(&["small", "micro"]).into(),
                },
            )
        };
        for v in 0..6 {
            set_vendor(&index, &mut dice, v);
        }
        let product = |dice: &mut Dice, i: u64| {
            let (category, parent) = CATEGORIES[dice.roll(5) as usize];
            ProductDoc {
                product_id: format!("00000000-0000-7000-8000-{i:012}"),
                // v6 is never heard of: its products stay hidden.
                vendor_id: format!("v{}", dice.roll(7)),
                category_code: category.into(),
                parent_category: parent.into(),
                category_name: String::new(),
                name: "Barang".into(),
                description: String::new(),
                // Few prices: many ties, broken by id.
                price: 1000 * (1 + dice.roll(10) as i64),
                delivery_regencies: REGENCIES
                    .iter()
                    .filter(|_| dice.roll(2) == 0)
                    .map(|r| r.to_string())
                    .collect(),
                listed: dice.roll(10) != 0,
            }
        };
        for i in 0..400 {
            index.insert(&product(&mut dice, i)).unwrap();
        }
        index.finish_build().unwrap();
        // Two more commits: replaced and removed products (deletes in the
        // segments before) and new ones (segments of their own).
        for round in 0..2 {
            for _ in 0..60 {
                let i = dice.roll(450 + 50 * round);
                if dice.roll(4) == 0 {
                    index
                        .remove(&format!("00000000-0000-7000-8000-{i:012}"))
                        .unwrap();
                } else {
                    index.upsert(&product(&mut dice, i)).unwrap();
                }
            }
            index.commit().unwrap();
        }
        set_vendor(&index, &mut dice, 2);
        let searcher = index.reader.searcher();
        assert!(searcher.segment_readers().len() > 1);
        let attributes = index.attributes();
        let answer = |query: &Query, by_browsing: bool| {
            index
                .search_in(&searcher, query, attributes.clone(), by_browsing)
                .unwrap()
        };
        let sorts = [
            SortOrder::Relevance,
            SortOrder::PriceAscending,
            SortOrder::PriceDescending,
            SortOrder::Newest,
        ];
        let (mut pages, mut hits) = (0, 0);
        for _ in 0..300 {
            let maybe = |dice: &mut Dice, value: &str| (dice.roll(2) == 0).then(|| value.into());
            let category = dice.pick(&["atk", "atk.kertas", "atk", "mebel.meja", "senjata"]);
            let regency = dice.pick(&["33.74", "33.01", "33.99"]);
            let mut query = Query {
                category: maybe(&mut dice, category),
                delivery_regency: maybe(&mut dice, regency),
                min_price: (dice.roll(3) == 0).then_some(3000),
                max_price: (dice.roll(3) == 0).then(|| 4000 + 1000 * dice.roll(5) as i64),
                legal_form: maybe(&mut dice, "cv"),
                scale: maybe(&mut dice, "small"),
                sort: sorts[dice.roll(4) as usize],
                page_size: 1 + dice.roll(12) as usize,
                ..Query::default()
            };
            // Now and then a cursor of another order, or made up.
            if dice.roll(8) == 0 {
                query.after = Some(Cursor::Price {
                    partial: false,
                    price: 1000 * dice.roll(12) as i64,
                    product_id: format!("00000000-0000-7000-8000-{:012}", dice.roll(500)),
                });
            }
            loop {
                let (browsed, walked) = (answer(&query, true), answer(&query, false));
                assert_eq!(browsed.hits, walked.hits, "{query:?}");
                assert_eq!(browsed.next, walked.next, "{query:?}");
                assert_eq!(browsed.total_matches, walked.total_matches, "{query:?}");
                assert_eq!(browsed.facets, walked.facets, "{query:?}");
                pages += 1;
                hits += browsed.hits.len();
                match browsed.next {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
        }
        // The catalog is not so filtered that the comparison is empty.
        assert!(pages > 1000 && hits > 5000, "{pages} pages, {hits} hits");
    }
}
