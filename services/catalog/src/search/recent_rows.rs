//! The product rows search pages were answered with, kept for one poll of
//! the change feed, so that a page many buyers ask at once (the first
//! page of a category) is answered without reading its rows again.
//!
//! Search answers are already as old as one poll may leave them: the
//! index learns of a change from the change log within a poll. The rows
//! are kept no longer than that, and all are dropped whenever the feed
//! applies a change, so a page is never staler than its index. Stock that
//! orders take is not in the change log: a page may show it up to one
//! poll late, never longer (reserving reads the table itself).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::product;

/// Rows kept at most: the pages of the categories being browsed (20
/// rows each) and the searches asked again within a poll.
const ROWS: usize = 4096;

#[derive(Debug)]
pub struct RecentRows {
    /// How long a row read from the table may answer: the feed's poll.
    fresh_for: Duration,
    /// Each product's row and when it was read.
    rows: Mutex<lru::LruCache<String, (Instant, product::Model)>>,
}

impl RecentRows {
    pub fn new(fresh_for: Duration) -> Self {
        Self {
            fresh_for,
            rows: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(ROWS).unwrap_or(std::num::NonZeroUsize::MIN),
            )),
        }
    }

    /// The rows of `ids` read within the last poll, and the ids whose row
    /// must be read from the table.
    pub fn fresh(&self, ids: &[String]) -> (Vec<product::Model>, Vec<String>) {
        let mut rows = self.lock();
        let now = Instant::now();
        let (mut fresh, mut missing) = (Vec::with_capacity(ids.len()), Vec::new());
        for id in ids {
            match rows.get(id) {
                Some((read, row)) if now.duration_since(*read) < self.fresh_for => {
                    fresh.push(row.clone());
                }
                _ => missing.push(id.clone()),
            }
        }
        (fresh, missing)
    }

    /// Keeps `rows`, just read from the table.
    pub fn keep(&self, rows: &[product::Model]) {
        if self.fresh_for.is_zero() {
            return;
        }
        let mut kept = self.lock();
        let now = Instant::now();
        for row in rows {
            kept.put(row.id.clone(), (now, row.clone()));
        }
    }

    /// Drops every row: the feed applied a change.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, lru::LruCache<String, (Instant, product::Model)>> {
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use blangkon_domain::ProductStatus;
    use blangkon_platform::db::StringList;

    fn row(id: &str, stock: i64) -> product::Model {
        let at = chrono::DateTime::UNIX_EPOCH;
        product::Model {
            id: id.into(),
            vendor_id: "v".into(),
            category_code: "c".into(),
            name: "n".into(),
            description: String::new(),
            unit: "pcs".into(),
            price: 1,
            min_order_quantity: 1,
            stock,
            image_urls: StringList::default(),
            delivery_regencies: StringList::default(),
            domestic_product: true,
            status: ProductStatus::Listed,
            version: 1,
            created_at: at,
            updated_at: at,
            creation_key: None,
        }
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rows_read_within_a_poll_answer_and_the_others_are_named() {
        let recent = RecentRows::new(Duration::from_secs(60));
        recent.keep(&[row("a", 5), row("b", 6)]);
        let (fresh, missing) = recent.fresh(&ids(&["a", "x", "b"]));
        assert_eq!(fresh, [row("a", 5), row("b", 6)]);
        assert_eq!(missing, ["x"]);
    }

    #[test]
    fn a_row_older_than_a_poll_is_read_again() {
        let recent = RecentRows::new(Duration::from_millis(20));
        recent.keep(&[row("a", 5)]);
        std::thread::sleep(Duration::from_millis(30));
        let (fresh, missing) = recent.fresh(&ids(&["a"]));
        assert!(fresh.is_empty());
        assert_eq!(missing, ["a"]);
    }

    #[test]
    fn a_change_the_feed_applied_drops_every_row() {
        let recent = RecentRows::new(Duration::from_secs(60));
        recent.keep(&[row("a", 5)]);
        recent.clear();
        assert_eq!(recent.fresh(&ids(&["a"])).1, ["a"]);
    }

    #[test]
    fn without_a_poll_nothing_is_kept() {
        let recent = RecentRows::new(Duration::ZERO);
        recent.keep(&[row("a", 5)]);
        assert_eq!(recent.fresh(&ids(&["a"])).1, ["a"]);
    }
}
