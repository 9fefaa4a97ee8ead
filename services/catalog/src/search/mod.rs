//! Product search. Every replica holds the search index in memory, built
//! from the catalog tables at start and kept current by tailing the
//! `search_changes` log that product writes and vendor-status changes add
//! to in their own transactions. Search thus answers in microseconds, the
//! same on PostgreSQL and SQLite, and a suspension reaches every replica
//! within one poll.

pub mod analyzer;
pub mod index;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use blangkon_domain::{ProductStatus, VendorStatus};
use blangkon_platform::CancellationToken;
use blangkon_platform::metrics::Histogram;
use chrono::Utc;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Notify;

use crate::store::{self, product, vendor};
pub use index::{Cursor, Hit, ProductDoc, Query, SearchIndex, SearchResult, SortOrder, VendorDoc};

/// How long a change stays in the log, and how far back each poll looks
/// for changes whose transaction committed after a later-numbered one.
const LATE_COMMIT_WINDOW: Duration = Duration::from_secs(5);
const RETENTION: chrono::TimeDelta = chrono::TimeDelta::minutes(30);
/// Changes the feed reads at once.
const CHANGES_PER_READ: u64 = 5000;

/// The shared search index and what it needs to turn rows into documents.
#[derive(Debug)]
pub struct Search {
    index: RwLock<SearchIndex>,
    /// code -> (name, top-level code)
    categories: HashMap<String, (String, String)>,
    wake: Notify,
    /// When the feed last read the change log to its end (Unix ms): the
    /// index holds every change committed before then.
    caught_up_ms: AtomicI64,
}

fn vendor_doc(row: &vendor::Model) -> VendorDoc {
    VendorDoc {
        verified: row.status == VendorStatus::Verified,
        legal_form: row.legal_form.clone(),
        scale: row.scale.clone(),
    }
}

impl Search {
    /// Builds the index from the database. Returns it with the change
    /// sequence number to tail from.
    pub async fn load(db: &DatabaseConnection) -> Result<(Arc<Self>, i64), DbErr> {
        // Read the log position first: changes made while loading are then
        // applied again, which is harmless, rather than missed.
        let started = Utc::now();
        let from = store::last_search_change(db).await?;
        let categories = store::categories(db)
            .await?
            .into_iter()
            .map(|c| {
                let top = c.parent_code.clone().unwrap_or_else(|| c.code.clone());
                (c.code, (c.name, top))
            })
            .collect();
        let search = Arc::new(Self {
            index: RwLock::new(SearchIndex::default()),
            categories,
            wake: Notify::new(),
            caught_up_ms: AtomicI64::new(started.timestamp_millis()),
        });
        let vendors = store::all_vendors(db).await?;
        let products = store::listed_products(db).await?;
        {
            let mut index = search.write();
            for v in &vendors {
                index.set_vendor(&v.vendor_id, vendor_doc(v));
            }
            for p in products {
                index.upsert(search.doc(p));
            }
            tracing::info!(products = index.len(), "search index built");
        }
        Ok((search, from))
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, SearchIndex> {
        // A panic while holding the lock leaves a usable index: every
        // mutation is complete or not started per document.
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn search(&self, query: &Query) -> SearchResult {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .search(query)
    }

    /// Listed products the index holds, of any vendor (search shows those
    /// of verified vendors).
    pub fn products(&self) -> usize {
        self.index.read().unwrap_or_else(|e| e.into_inner()).len()
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

    fn doc(&self, row: product::Model) -> ProductDoc {
        let (category_name, parent) = self
            .categories
            .get(&row.category_code)
            .cloned()
            .unwrap_or_else(|| (String::new(), row.category_code.clone()));
        ProductDoc {
            listed: row.status == ProductStatus::Listed,
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
    ) -> Result<(), DbErr> {
        match change.entity.as_str() {
            "product" => {
                let row = store::find_product(db, &change.entity_id).await?;
                let mut index = self.write();
                match row {
                    Some(row) => index.upsert(self.doc(row)),
                    None => index.remove(&change.entity_id),
                }
            }
            "vendor" => {
                if let Some(row) = store::find_vendor(db, &change.entity_id).await? {
                    self.write().set_vendor(&row.vendor_id, vendor_doc(&row));
                }
            }
            other => tracing::warn!(entity = other, "unknown search change"),
        }
        Ok(())
    }

    /// Tails the change log until `shutdown`, observing into `refresh_lag`
    /// how long each change took from its commit to this replica's index.
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
        loop {
            let since =
                Utc::now() - chrono::TimeDelta::from_std(LATE_COMMIT_WINDOW).unwrap_or_default();
            let reading = Utc::now();
            match store::search_changes_since(&db, last_seq, since, CHANGES_PER_READ).await {
                Ok(changes) => {
                    let mut caught_up = changes.len() < CHANGES_PER_READ as usize;
                    for change in changes {
                        if recent.contains_key(&change.seq) {
                            continue;
                        }
                        if let Err(e) = self.apply(&db, &change).await {
                            tracing::warn!(error = %e, "search change not applied; retrying");
                            caught_up = false;
                            break;
                        }
                        let lag = (Utc::now() - change.changed_at)
                            .to_std()
                            .unwrap_or_default();
                        refresh_lag.observe(lag.as_secs_f64());
                        last_seq = last_seq.max(change.seq);
                        recent.insert(change.seq, change.changed_at);
                    }
                    if caught_up {
                        self.caught_up_ms
                            .store(reading.timestamp_millis(), Ordering::Relaxed);
                    }
                    recent.retain(|_, at| *at > since - chrono::TimeDelta::seconds(1));
                }
                Err(e) => tracing::warn!(error = %e, "reading search changes failed"),
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
}
