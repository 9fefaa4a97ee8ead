//! The product rows search pages were answered with, kept for one poll of
//! the change feed, so that a page many buyers ask at once (the first
//! page of a category) is read from the table about once a poll while
//! nothing changes. Rows are kept by product: they answer any page or
//! search that holds the product.
//!
//! Search answers are already as old as one poll may leave them: the
//! index learns of a change from the change log within a poll. A row
//! answers for at most a poll from the moment its read began, and all are
//! dropped whenever the feed applies a change; a read that began before a
//! drop is not kept. Stock that orders take or give back is not in the
//! change log: a page may show it up to one poll late, never longer
//! (reserving reads the table itself).

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
    kept: Mutex<Kept>,
}

#[derive(Debug)]
struct Kept {
    /// Drops so far: a read that began before the last one is not kept.
    drops: u64,
    /// Each product's row and when its read began.
    rows: lru::LruCache<String, (Instant, product::Model)>,
}

/// What [`RecentRows::keep`] needs of the moment a read began.
#[derive(Debug, Clone, Copy)]
pub struct ReadBegan {
    at: Instant,
    drops: u64,
}

impl RecentRows {
    pub fn new(fresh_for: Duration) -> Self {
        Self {
            fresh_for,
            kept: Mutex::new(Kept {
                drops: 0,
                rows: lru::LruCache::new(
                    std::num::NonZeroUsize::new(ROWS).unwrap_or(std::num::NonZeroUsize::MIN),
                ),
            }),
        }
    }

    /// The rows of `ids` read within the last poll, the ids whose row must
    /// be read from the table, and the moment that read begins.
    pub fn fresh(&self, ids: &[String]) -> (Vec<product::Model>, Vec<String>, ReadBegan) {
        let mut kept = self.lock();
        let now = Instant::now();
        let (mut fresh, mut missing) = (Vec::with_capacity(ids.len()), Vec::new());
        for id in ids {
            match kept.rows.get(id) {
                Some((read, row)) if now.duration_since(*read) < self.fresh_for => {
                    fresh.push(row.clone());
                }
                _ => missing.push(id.clone()),
            }
        }
        let began = ReadBegan {
            at: now,
            drops: kept.drops,
        };
        (fresh, missing, began)
    }

    /// Keeps `rows`, whose read from the table began at `began`, unless
    /// the rows were dropped since: they may predate the change that was.
    pub fn keep(&self, began: ReadBegan, rows: &[product::Model]) {
        if self.fresh_for.is_zero() {
            return;
        }
        let mut kept = self.lock();
        if kept.drops != began.drops {
            return;
        }
        for row in rows {
            kept.rows.put(row.id.clone(), (began.at, row.clone()));
        }
    }

    /// Drops every row: the feed applied a change.
    pub fn clear(&self) {
        let mut kept = self.lock();
        kept.drops += 1;
        kept.rows.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
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
        let (_, _, began) = recent.fresh(&ids(&["a", "b"]));
        recent.keep(began, &[row("a", 5), row("b", 6)]);
        let (fresh, missing, _) = recent.fresh(&ids(&["a", "x", "b"]));
        assert_eq!(fresh, [row("a", 5), row("b", 6)]);
        assert_eq!(missing, ["x"]);
    }

    #[test]
    fn a_row_older_than_a_poll_is_read_again() {
        let recent = RecentRows::new(Duration::from_millis(20));
        let (_, _, began) = recent.fresh(&ids(&["a"]));
        recent.keep(began, &[row("a", 5)]);
        std::thread::sleep(Duration::from_millis(30));
        let (fresh, missing, _) = recent.fresh(&ids(&["a"]));
        assert!(fresh.is_empty());
        assert_eq!(missing, ["a"]);
    }

    #[test]
    fn a_change_the_feed_applied_drops_every_row() {
        let recent = RecentRows::new(Duration::from_secs(60));
        let (_, _, began) = recent.fresh(&ids(&["a"]));
        recent.keep(began, &[row("a", 5)]);
        recent.clear();
        assert_eq!(recent.fresh(&ids(&["a"])).1, ["a"]);
    }

    #[test]
    fn rows_whose_read_began_before_a_drop_are_not_kept() {
        let recent = RecentRows::new(Duration::from_secs(60));
        let (_, _, began) = recent.fresh(&ids(&["a"]));
        recent.clear();
        recent.keep(began, &[row("a", 5)]);
        assert_eq!(recent.fresh(&ids(&["a"])).1, ["a"]);
    }

    #[test]
    fn without_a_poll_nothing_is_kept() {
        let recent = RecentRows::new(Duration::ZERO);
        let (_, _, began) = recent.fresh(&ids(&["a"]));
        recent.keep(began, &[row("a", 5)]);
        assert_eq!(recent.fresh(&ids(&["a"])).1, ["a"]);
    }
}
