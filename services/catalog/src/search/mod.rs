//! Product search on tantivy. Every replica holds its own index, in a
//! directory of its own, built from the catalog tables at start and kept
//! current by tailing the `search_changes` log that product writes and
//! vendor-status changes add to in their own transactions. Search thus
//! answers in about a millisecond, the same on PostgreSQL and SQLite, and a
//! suspension reaches every replica within one poll.
//!
//! - [`analyzer`]: the Indonesian analyzer chain (Sastrawi stemming);
//! - [`index`]: the schema, writing documents and searching;
//! - `documents`: products, vendors, queries, cursors and hits;
//! - `attributes`: what documents refer to by number (the vendor table);
//! - `directory`: the directory of this replica's own an index lives in;
//! - [`query`]: a buyer's words as a query (typos, partial matches);
//! - [`collect`]: filters, facets and the page after a cursor;
//! - `browse`: the same without words, from each segment's browsing order;
//! - [`recent_rows`]: the product rows pages were answered with, for a poll;
//! - here: building from the tables and tailing the change log.

pub mod analyzer;
mod attributes;
mod browse;
mod collect;
mod directory;
mod documents;
pub mod index;
mod query;
pub mod recent_rows;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use blangkon_domain::{ProductStatus, VendorStatus};
use blangkon_platform::CancellationToken;
use blangkon_platform::metrics::Histogram;
use chrono::Utc;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Notify;

use crate::store::{self, vendor};
pub use index::{
    Cursor, Hit, IndexError, ProductDoc, Query, SearchIndex, SearchResult, SortOrder, VendorDoc,
};

/// How long a change stays in the log, and how far back each poll looks
/// for changes whose transaction committed after a later-numbered one.
const LATE_COMMIT_WINDOW: Duration = Duration::from_secs(5);
const RETENTION: chrono::TimeDelta = chrono::TimeDelta::minutes(30);
/// Changes the feed reads at once.
const CHANGES_PER_READ: u64 = 5000;
/// Products read from the database at once while building: the build's
/// memory stays that of one page, whatever the catalog's size.
const PRODUCTS_PER_READ: usize = 5000;

/// Why the search index could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading the catalog: {0}")]
    Db(#[from] DbErr),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// The shared search index and what it needs to turn rows into documents.
#[derive(Debug)]
pub struct Search {
    index: SearchIndex,
    /// code -> (name, top-level code)
    categories: HashMap<String, (String, String)>,
    wake: Notify,
    /// When the feed last read the change log to its end (Unix ms): the
    /// index holds every change committed before then.
    caught_up_ms: AtomicI64,
    /// Queries run at once, each on a blocking thread: a search holds a
    /// core for its length, which would stall the async threads (and the
    /// calls they carry) if it ran on them.
    queries: tokio::sync::Semaphore,
    /// The rows pages were answered with, dropped at every change applied.
    recent_rows: recent_rows::RecentRows,
}

fn vendor_doc(row: &vendor::Model) -> VendorDoc {
    VendorDoc {
        verified: row.status == VendorStatus::Verified,
        legal_form: row.legal_form.clone(),
        scale: row.scale.clone(),
    }
}

impl Search {
    /// Builds the index from the database, in `directory` (a temporary
    /// one when none). Returns it with the change sequence number to tail
    /// from. `poll` is how often the feed will read the change log: how
    /// long the rows a page was answered with may answer again.
    pub async fn load(
        db: &DatabaseConnection,
        directory: Option<&Path>,
        query_threads: usize,
        poll: Duration,
    ) -> Result<(Arc<Self>, i64), LoadError> {
        // Read the log position first: changes made while loading are then
        // applied again, which is harmless, rather than missed.
        let started = Utc::now();
        let from = store::last_search_change(db).await?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let index = SearchIndex::create(directory, threads)?;
        let categories: HashMap<String, (String, String)> = store::categories(db)
            .await?
            .into_iter()
            .map(|c| {
                let top = c.parent_code.clone().unwrap_or_else(|| c.code.clone());
                (c.code, (c.name, top))
            })
            .collect();
        let mut codes: Vec<&String> = categories.keys().collect();
        codes.sort();
        for code in codes {
            index.add_category(code);
        }
        for v in store::all_vendors(db).await? {
            index.set_vendor(&v.vendor_id, vendor_doc(&v));
        }
        let search = Self {
            index,
            categories,
            wake: Notify::new(),
            caught_up_ms: AtomicI64::new(started.timestamp_millis()),
            queries: tokio::sync::Semaphore::new(query_threads.max(1)),
            recent_rows: recent_rows::RecentRows::new(poll),
        };
        let search = Arc::new(search);
        // Each page goes to the writer while the next one is read: the
        // database and the writer's threads work at once.
        let mut listed = store::ListedProducts::open(db, PRODUCTS_PER_READ).await?;
        let mut page = listed.next_page().await?;
        let mut indexing = Duration::ZERO;
        while let Some(rows) = page {
            let indexer = search.clone();
            let indexed = tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                indexer.insert_page(rows).map(|()| started.elapsed())
            });
            let (next, indexed) = tokio::join!(listed.next_page(), indexed);
            indexing += indexed.map_err(|e| {
                IndexError::Tantivy(tantivy::TantivyError::SystemError(e.to_string()))
            })??;
            page = next?;
        }
        let loaded = Utc::now();
        // Committing and merging take seconds at national scale: off the
        // async threads.
        let finishing = search.clone();
        let finish = tokio::task::spawn_blocking(move || finishing.index.finish_build())
            .await
            .map_err(|e| {
                IndexError::Tantivy(tantivy::TantivyError::SystemError(e.to_string()))
            })??;
        tracing::info!(
            products = search.index.len(),
            segments = search.index.segments(),
            seconds = (Utc::now() - started).as_seconds_f64(),
            read_and_index_seconds = (loaded - started).as_seconds_f64(),
            index_seconds = indexing.as_secs_f64(),
            built_segments = finish.segments,
            commit_seconds = finish.commit.as_secs_f64(),
            merge_seconds = finish.merge.as_secs_f64(),
            warm_seconds = finish.warm.as_secs_f64(),
            "search index built"
        );
        Ok((search, from))
    }

    pub fn search(&self, query: &Query) -> Result<SearchResult, IndexError> {
        self.index.search(query)
    }

    /// Inserts a page of products (the build): each comes once, nothing
    /// to replace. The writer's threads analyse them.
    fn insert_page(&self, rows: Vec<store::SearchedProduct>) -> Result<(), IndexError> {
        rows.into_iter()
            .try_for_each(|row| self.index.insert(&self.doc(row, true)))
    }

    /// [`Search::search`] on a blocking thread, at most `query_threads` at
    /// once; the others wait their turn (the server's concurrency limit
    /// bounds how many). A browse answered from memory is answered here,
    /// without the hop to a blocking thread and back.
    pub async fn search_off_the_runtime(
        self: &Arc<Self>,
        query: Query,
    ) -> Result<SearchResult, IndexError> {
        if let Some(answer) = self.index.remembered(&query) {
            return Ok(answer);
        }
        let _turn = self.queries.acquire().await.map_err(|_| {
            IndexError::Tantivy(tantivy::TantivyError::SystemError(
                "the search pool is closed".into(),
            ))
        })?;
        let search = Arc::clone(self);
        tokio::task::spawn_blocking(move || search.index.search(&query))
            .await
            .map_err(|e| IndexError::Tantivy(tantivy::TantivyError::SystemError(e.to_string())))?
    }

    /// The product rows pages were answered with within the last poll.
    pub fn recent_rows(&self) -> &recent_rows::RecentRows {
        &self.recent_rows
    }

    /// What the stem cache holds and how well it serves.
    pub fn stem_cache(&self) -> analyzer::StemCacheFigures {
        self.index.stem_cache()
    }

    /// Searches that walked the index (a repeated browse does not).
    pub fn scans(&self) -> u64 {
        self.index.scans()
    }

    /// Listed products the index holds, of any vendor (search shows those
    /// of verified vendors).
    pub fn products(&self) -> usize {
        self.index.len()
    }

    /// How long ago the index last held every committed change: below the
    /// poll interval while the feed keeps up, growing while it cannot read
    /// the change log.
    pub fn behind(&self) -> Duration {
        let since = Utc::now().timestamp_millis() - self.caught_up_ms.load(Ordering::Relaxed);
        Duration::from_millis(u64::try_from(since).unwrap_or(0))
    }

    /// Asks the feed to look for changes now (after a local commit).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn has_category(&self, code: &str) -> bool {
        self.categories.contains_key(code)
    }

    fn doc(&self, row: store::SearchedProduct, listed: bool) -> ProductDoc {
        let (category_name, parent) = self
            .categories
            .get(&row.category_code)
            .cloned()
            .unwrap_or_else(|| (String::new(), row.category_code.clone()));
        ProductDoc {
            listed,
            delivery_regencies: row.delivery_regencies.0,
            product_id: row.id,
            vendor_id: row.vendor_id,
            parent_category: parent,
            category_code: row.category_code,
            category_name,
            name: row.name,
            description: row.description,
            price: row.price,
        }
    }

    async fn apply(
        &self,
        db: &DatabaseConnection,
        change: &store::search_change::Model,
    ) -> Result<(), LoadError> {
        // Whatever changed, no page answers from the rows read before.
        self.recent_rows.clear();
        match change.entity.as_str() {
            "product" => match store::find_product(db, &change.entity_id).await? {
                Some(row) => {
                    let listed = row.status == ProductStatus::Listed;
                    self.index.upsert(&self.doc(row.into(), listed))?
                }
                None => self.index.remove(&change.entity_id)?,
            },
            "vendor" => {
                if let Some(row) = store::find_vendor(db, &change.entity_id).await? {
                    self.index.set_vendor(&row.vendor_id, vendor_doc(&row));
                }
            }
            other => tracing::warn!(entity = other, "unknown search change"),
        }
        Ok(())
    }

    /// Tails the change log until `shutdown`, committing what it applied
    /// after each read, and observing into `refresh_lag` how long each
    /// change took from its commit in the database to this replica's
    /// searches.
    pub async fn follow(
        self: Arc<Self>,
        db: DatabaseConnection,
        mut last_seq: i64,
        poll: Duration,
        refresh_lag: Histogram,
        shutdown: CancellationToken,
    ) {
        let mut recent: HashMap<i64, chrono::DateTime<Utc>> = HashMap::new();
        let mut last_prune = Utc::now();
        // When each change applied but not yet committed was made.
        let mut uncommitted: Vec<chrono::DateTime<Utc>> = Vec::new();
        loop {
            let since =
                Utc::now() - chrono::TimeDelta::from_std(LATE_COMMIT_WINDOW).unwrap_or_default();
            let reading = Utc::now();
            let mut caught_up = false;
            match store::search_changes_since(&db, last_seq, since, CHANGES_PER_READ).await {
                Ok(changes) => {
                    caught_up = changes.len() < CHANGES_PER_READ as usize;
                    for change in changes {
                        if recent.contains_key(&change.seq) {
                            continue;
                        }
                        if let Err(e) = self.apply(&db, &change).await {
                            tracing::warn!(error = %e, "search change not applied; retrying");
                            caught_up = false;
                            break;
                        }
                        uncommitted.push(change.changed_at);
                        last_seq = last_seq.max(change.seq);
                        recent.insert(change.seq, change.changed_at);
                    }
                    recent.retain(|_, at| *at > since - chrono::TimeDelta::seconds(1));
                }
                Err(e) => tracing::warn!(error = %e, "reading search changes failed"),
            }
            if !uncommitted.is_empty() {
                match self.clone().commit().await {
                    Ok(()) => {
                        let now = Utc::now();
                        for changed_at in uncommitted.drain(..) {
                            let lag = (now - changed_at).to_std().unwrap_or_default();
                            refresh_lag.observe(lag.as_secs_f64());
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "search index commit failed; retrying");
                        caught_up = false;
                    }
                }
            }
            if caught_up {
                self.caught_up_ms
                    .store(reading.timestamp_millis(), Ordering::Relaxed);
            }
            if Utc::now() - last_prune > chrono::TimeDelta::minutes(1) {
                last_prune = Utc::now();
                if let Err(e) = store::prune_search_changes(&db, Utc::now() - RETENTION).await {
                    tracing::warn!(error = %e, "pruning search changes failed");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Commits what the feed wrote, off the async threads (a commit writes
    /// and syncs files).
    async fn commit(self: Arc<Self>) -> Result<(), IndexError> {
        tokio::task::spawn_blocking(move || self.index.commit().map(|_| ()))
            .await
            .map_err(|e| IndexError::Tantivy(tantivy::TantivyError::SystemError(e.to_string())))?
    }
}
