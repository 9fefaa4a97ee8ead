//! Applies the domain events of all three services to the read model, each
//! once (the platform inbox records its id in the same transaction), and
//! writes the analyst streams through the outbox in that transaction too.
//!
//! Out-of-order delivery: each service publishes an aggregate's events in
//! order on one partition, but topics and partitions interleave freely and
//! a rebuild may meet them in any order. So every change is applied only
//! if it is newer than what the read model holds for that aggregate (an
//! order's version, a vendor's status time, a product's change time), and
//! nothing joins across topics at write time: an order carries its
//! vendor's legal form and scale itself; names are looked up when read.
//! The one count across topics, listed products by their vendor's regency,
//! is moved at a batch's end under the vendor's lock (see
//! `SharedMoves::write`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use blangkon_domain::vendor_events::{self, VendorState};
use blangkon_domain::{OrderStatus, VendorStatus};
use blangkon_platform::inbox::{EventHandler, HandlerError, ReceivedEvent};
use blangkon_platform::kafka::{TopicSpec, topics};
use blangkon_platform::outbox::{self, NewRecord, RelayWaker};
use blangkon_platform::time::from_timestamp;
use blangkon_proto::events as pb;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, DbErr};

use crate::domain::checks;
use crate::domain::figures::{self, ItemFacts, OrderFacts, PRODUCTS, VENDORS, top_category};
use crate::domain::records::{FlagNames, FlagState, RedFlagRecord, SummaryRecord, TransactionFact};
use crate::domain::red_flags::{RedFlag, Scope, Thresholds};
use crate::store::red_flags::{self, FlagChanges};
use crate::store::{self, product, regency, training, vendor};

/// The inbox name and consumer group of the projection.
pub const CONSUMER: &str = "reporting";

/// The domain topics reporting is built from.
pub const SOURCES: &[&str] = &[
    topics::VENDOR_EVENTS,
    topics::CATALOG_EVENTS,
    topics::ORDER_EVENTS,
];

/// The analyst streams this service writes, created at start when allowed.
pub const TOPICS: &[TopicSpec<'static>] = &[
    topics::REPORTING_TRANSACTIONS_SPEC,
    topics::REPORTING_SUMMARY_SPEC,
    topics::REPORTING_RED_FLAGS_SPEC,
];

/// The reporting service's event handler.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Whether to write the analyst streams: off while rebuilding, since
    /// analysts already received those facts.
    publish: bool,
    waker: Option<RelayWaker>,
    /// The red flags' thresholds, when flags follow each event; a rebuild
    /// computes them once at its end instead.
    red_flags: Option<Thresholds>,
}

impl Projection {
    /// The live projection: applies events, keeps the red flags, and
    /// publishes analyst records.
    pub fn new(waker: RelayWaker, red_flags: Thresholds) -> Self {
        Self {
            publish: true,
            waker: Some(waker),
            red_flags: Some(red_flags),
        }
    }

    /// The projection of a rebuild: the same rules, no analyst records,
    /// the red flags left to the rebuild's end.
    pub fn replaying() -> Self {
        Self {
            publish: false,
            waker: None,
            red_flags: None,
        }
    }

    /// This projection keeping the red flags with `thresholds` as it goes.
    pub fn with_red_flags(self, thresholds: Thresholds) -> Self {
        Self {
            red_flags: Some(thresholds),
            ..self
        }
    }
}

#[async_trait::async_trait]
impl EventHandler for Projection {
    /// Order events, the bulk of what reporting reads, are applied a run at
    /// a time: the run's orders read in one query, their changes worked out
    /// in memory in delivery order, then written a statement per table.
    /// Other events are applied one by one between the runs, so every event
    /// still sees what came before it. The figures, the listed counts, the
    /// red-flag marks, the watermark and the analyst records are written
    /// once for the whole batch, at its end.
    ///
    /// Replicas apply batches side by side. Before its end a batch writes
    /// only rows of its own partitions' aggregates (an order, a vendor, a
    /// product); the rows replicas share it takes at its end, in one order
    /// (the figures; the vendors' advisory locks; the listed counts; the
    /// summary's counts; the red-flag marks; the watermark), each in
    /// ascending key order, so two batches never wait for each other in a
    /// circle.
    async fn handle_batch(
        &self,
        txn: &DatabaseTransaction,
        events: &[ReceivedEvent],
    ) -> Result<(), HandlerError> {
        let mut steps = Vec::with_capacity(events.len());
        for event in events {
            steps.push(order_event(event)?);
        }
        let mut out = Outgoing::default();
        let mut moves = SharedMoves::default();
        let mut latest: Option<DateTime<Utc>> = None;
        let mut run: Vec<OrderEvent> = Vec::new();
        for (step, event) in steps.into_iter().zip(events) {
            if let Some(order) = step {
                latest = latest.max(Some(event.occurred_at()));
                run.push(order);
                continue;
            }
            if !run.is_empty() {
                self.apply_orders(txn, std::mem::take(&mut run), &mut moves, &mut out)
                    .await?;
            }
            if self.apply_other(txn, event, &mut moves, &mut out).await? {
                latest = latest.max(Some(event.occurred_at()));
            }
        }
        if !run.is_empty() {
            self.apply_orders(txn, run, &mut moves, &mut out).await?;
        }
        moves.write(txn, &mut out).await?;
        if self.publish {
            out.counted(txn).await?;
        }
        match latest {
            Some(at) => self.finish(txn, at, out).await,
            None => Ok(()),
        }
    }
}

/// What a batch moves in rows other replicas' batches move too, written
/// once at its end.
#[derive(Default)]
struct SharedMoves {
    contributions: Vec<figures::Contribution>,
    /// The time of the change that last moved each figure, for its summary
    /// record (as applying the events one by one would stamp it).
    moved_at: HashMap<(String, String), DateTime<Utc>>,
    /// Listed products to add to each (vendor, top-level category).
    listed: BTreeMap<(String, String), i64>,
    /// Vendors to add to each (dimension, key) of the summary's counts.
    vendors: BTreeMap<(&'static str, String), i64>,
    /// Vendors whose regency the batch moved (a new vendor's from `""`),
    /// with the regency each had before it: their listed products move
    /// with them.
    regency_from: BTreeMap<String, String>,
    /// Red-flag scopes to recompute.
    dirty: Vec<Scope>,
    /// Vendors whose verification date moved: every order of theirs is
    /// recomputed.
    verified: BTreeSet<String>,
}

impl SharedMoves {
    /// Adds the contributions to their figures (streaming each figure
    /// moved as it now stands); then, under the advisory locks of the
    /// vendors whose listings, regency, orders' scopes or verification
    /// moved (taken together in ascending order and held to the commit),
    /// the listed counts and the summary's counts, and marks the scopes.
    ///
    /// The locks are what keep the listed products by regency true when a
    /// vendor's products and its registration are applied by two replicas
    /// at once: each batch reads the vendor's regency, or its listed
    /// products, after the other's commit or before the other's writes, so
    /// every product is counted where the vendor ends up. They also keep an
    /// order's marking and a verification's listing of the vendor's orders
    /// from missing each other.
    async fn write(self, txn: &DatabaseTransaction, out: &mut Outgoing) -> Result<(), DbErr> {
        for total in store::add_to_totals(txn, &self.contributions).await? {
            let key = (total.dimension, total.figure_key);
            if let Some(&at) = self.moved_at.get(&key) {
                out.summary(SummaryRecord::orders(
                    &key.0,
                    &key.1,
                    total.orders,
                    total.value,
                    at,
                ))?;
            }
        }
        let listing: BTreeSet<&str> = self
            .listed
            .keys()
            .map(|(vendor_id, _)| vendor_id.as_str())
            .chain(self.regency_from.keys().map(String::as_str))
            .collect();
        let vendors: BTreeSet<&str> = self
            .dirty
            .iter()
            .filter_map(|scope| match scope {
                Scope::BuyerVendor { vendor_id, .. } => Some(vendor_id.as_str()),
                _ => None,
            })
            .chain(self.verified.iter().map(String::as_str))
            .chain(listing.iter().copied())
            .collect();
        red_flags::lock_vendors(txn, vendors).await?;
        if !listing.is_empty() || !self.vendors.is_empty() {
            self.count(txn, &listing).await?;
        }
        if self.dirty.is_empty() && self.verified.is_empty() {
            return Ok(());
        }
        let mut dirty = self.dirty;
        for vendor_id in &self.verified {
            dirty.extend(red_flags::order_scopes_of_vendor(txn, vendor_id).await?);
        }
        red_flags::mark_dirty(txn, &dirty).await
    }

    /// Moves the listed counts and the summary's counts, under the locks of
    /// the `listing` vendors.
    async fn count(
        &self,
        txn: &DatabaseTransaction,
        listing: &BTreeSet<&str>,
    ) -> Result<(), DbErr> {
        let regency_of = store::vendor_regencies(txn, listing).await?;
        let regency = |vendor_id: &str| regency_of.get(vendor_id).cloned().unwrap_or_default();
        let mut counts: BTreeMap<(&str, &str, String), i64> = BTreeMap::new();
        for ((dimension, key), delta) in &self.vendors {
            *counts
                .entry((VENDORS, *dimension, key.clone()))
                .or_default() += delta;
        }
        // What a vendor had listed before this batch moves with it, read
        // before the batch's own listings are added.
        let moved: Vec<&str> = self.regency_from.keys().map(String::as_str).collect();
        for (vendor_id, listed) in store::listed_of(txn, &moved).await? {
            let Some(from) = self.regency_from.get(&vendor_id) else {
                continue;
            };
            let to = regency(&vendor_id);
            if *from != to {
                *counts
                    .entry((PRODUCTS, "regency", from.clone()))
                    .or_default() -= listed;
                *counts.entry((PRODUCTS, "regency", to)).or_default() += listed;
            }
        }
        for ((vendor_id, category), delta) in &self.listed {
            *counts
                .entry((PRODUCTS, "category", category.clone()))
                .or_default() += delta;
            *counts
                .entry((PRODUCTS, "regency", regency(vendor_id)))
                .or_default() += delta;
        }
        store::add_listed(txn, &self.listed).await?;
        store::add_to_counts(txn, &counts).await
    }
}

impl Projection {
    /// Applies an event that is not an order's; false when it is of a kind
    /// reporting does not report on.
    async fn apply_other(
        &self,
        txn: &DatabaseTransaction,
        event: &ReceivedEvent,
        moves: &mut SharedMoves,
        out: &mut Outgoing,
    ) -> Result<bool, HandlerError> {
        let at = event.occurred_at();
        if let Some(change) = vendor_events::change_of(&event.envelope) {
            let change = change.map_err(HandlerError::Unusable)?;
            apply_vendor(
                txn,
                vendor_row(change, at),
                self.red_flags.is_some(),
                moves,
                out,
            )
            .await?;
            return Ok(true);
        }
        match event.envelope.event_type.as_str() {
            "blangkon.events.v1.RegencyJoined" => {
                let e: pb::RegencyJoined = event.message()?;
                checks::regency_joined(&e).map_err(HandlerError::Unusable)?;
                store::upsert_regency(
                    txn,
                    regency::Model {
                        code: e.regency_code,
                        name: e.regency_name,
                        joined_at: e.joined_at.as_ref().and_then(from_timestamp).unwrap_or(at),
                    },
                )
                .await?;
            }
            "blangkon.events.v1.VendorRegistered" => {
                let e: pb::VendorRegistered = event.message()?;
                checks::vendor_name(&e.name).map_err(HandlerError::Unusable)?;
                let registered = vendor::Model {
                    name: e.name.clone(),
                    ..vendor_row(
                        VendorState::registered(&e).map_err(HandlerError::Unusable)?,
                        at,
                    )
                };
                apply_vendor(txn, registered, self.red_flags.is_some(), moves, out).await?;
            }
            "blangkon.events.v1.TrainingRecorded" => {
                let e: pb::TrainingRecorded = event.message()?;
                checks::training(&e).map_err(HandlerError::Unusable)?;
                let trained_before = store::has_training(txn, &e.vendor_id).await?;
                let recorded = store::insert_training(
                    txn,
                    training::Model {
                        training_id: e.training_id,
                        vendor_id: e.vendor_id,
                        kind: e.kind,
                        attended_at: e
                            .attended_on
                            .as_ref()
                            .and_then(from_timestamp)
                            .unwrap_or(at),
                    },
                )
                .await?;
                // A vendor's trainings come in its own partition, one
                // batch at a time: its first is seen as the first.
                if recorded && !trained_before {
                    *moves.vendors.entry(("trained", String::new())).or_default() += 1;
                }
            }
            "blangkon.events.v1.ProductListed" => {
                let e: pb::ProductListed = event.message()?;
                apply_product(txn, e.product, Some(true), at, moves, out).await?;
            }
            "blangkon.events.v1.ProductUpdated" => {
                let e: pb::ProductUpdated = event.message()?;
                apply_product(txn, e.product, None, at, moves, out).await?;
            }
            "blangkon.events.v1.ProductUnlisted" => {
                let e: pb::ProductUnlisted = event.message()?;
                apply_product(txn, e.product, Some(false), at, moves, out).await?;
            }
            // Stock levels are no figure; events of newer kinds wait for a
            // newer reporting service (a rebuild then picks them up).
            other => {
                tracing::debug!(event_type = other, "event not reported on");
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl Projection {
    /// What every applied event ends with: the watermark moves, and the
    /// analyst records it produced are written (when publishing).
    async fn finish(
        &self,
        txn: &DatabaseTransaction,
        at: DateTime<Utc>,
        out: Outgoing,
    ) -> Result<(), HandlerError> {
        store::advance_watermark(txn, at).await?;
        if self.publish && !out.records.is_empty() {
            outbox::enqueue_records(txn, out.records).await?;
            if let Some(waker) = &self.waker {
                // The relay lingers a few milliseconds after a wake, by
                // which time this transaction has committed; if not, its
                // next poll takes the records.
                waker.wake();
            }
        }
        Ok(())
    }
}

/// Analyst records a batch of events produced, written if the projection
/// publishes.
#[derive(Default)]
struct Outgoing {
    records: Vec<NewRecord>,
    /// Where each summary figure's record is in `records`: the summary
    /// stream is compacted by figure, so a figure a batch moves twice is
    /// written once, as it ends.
    summaries: HashMap<String, usize>,
    /// The vendor and product counts the batch moved (measure, dimension,
    /// key), with the time of the change that last moved each: counted
    /// once, at the batch's end, when they stand as that change left them.
    counts: BTreeMap<(&'static str, &'static str, String), DateTime<Utc>>,
}

impl Outgoing {
    /// A record per flag raised, changed or cleared, with the names a
    /// reader needs.
    async fn red_flags(
        &mut self,
        txn: &DatabaseTransaction,
        changes: FlagChanges,
        t: &Thresholds,
        at: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        if changes.is_empty() {
            return Ok(());
        }
        let flags: Vec<(&RedFlag, FlagState)> = changes
            .raised
            .iter()
            .map(|f| (f, FlagState::Raised))
            .chain(changes.cleared.iter().map(|f| (f, FlagState::Cleared)))
            .collect();
        let vendors: Vec<String> = flags.iter().map(|(f, _)| f.vendor_id.clone()).collect();
        let regencies: Vec<String> = flags.iter().map(|(f, _)| f.buyer_regency.clone()).collect();
        let vendor_names = store::vendor_names(txn, &vendors).await?;
        let regency_names = store::regency_names(txn, &regencies).await?;
        for (flag, state) in flags {
            let record = RedFlagRecord::new(
                flag,
                state,
                FlagNames {
                    vendor: vendor_names
                        .get(&flag.vendor_id)
                        .cloned()
                        .unwrap_or_default(),
                    regency: regency_names
                        .get(&flag.buyer_regency)
                        .cloned()
                        .unwrap_or_default(),
                },
                t,
                at,
            );
            self.records.push(NewRecord::json(
                topics::REPORTING_RED_FLAGS,
                &flag.flag_id,
                record.schema,
                &record,
            )?);
        }
        Ok(())
    }

    fn count_moved(
        &mut self,
        measure: &'static str,
        dimension: &'static str,
        key: String,
        at: DateTime<Utc>,
    ) {
        self.counts.insert((measure, dimension, key), at);
    }

    /// A summary record for each count the batch moved, as it now stands.
    async fn counted(&mut self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        for ((measure, dimension, key), at) in std::mem::take(&mut self.counts) {
            let count = store::count_of(txn, measure, dimension, &key).await?;
            self.summary(SummaryRecord::count(measure, dimension, &key, count, at))?;
        }
        Ok(())
    }

    fn summary(&mut self, record: SummaryRecord) -> Result<(), DbErr> {
        let key = record.kafka_key();
        let record = NewRecord::json(topics::REPORTING_SUMMARY, &key, record.schema, &record)?;
        match self.summaries.get(&key) {
            Some(&at) => self.records[at] = record,
            None => {
                self.summaries.insert(key, self.records.len());
                self.records.push(record);
            }
        }
        Ok(())
    }
}

/// Recomputes every red flag when the thresholds in force are not the
/// ones the stored flags were computed with (the first start after the
/// migration that added them, or changed settings), publishing what
/// changed. Answers the number of flags raised and cleared, or `None`
/// when the stored flags stand.
pub async fn refresh_red_flags(
    db: &sea_orm::DatabaseConnection,
    t: &Thresholds,
) -> Result<Option<(usize, usize)>, DbErr> {
    if red_flags::rules_in_force(db).await? == Some(red_flags::rules_text(t)) {
        return Ok(None);
    }
    let txn = blangkon_platform::db::begin_write(db).await?;
    // Another replica may have done it meanwhile.
    if red_flags::rules_in_force(&txn).await? == Some(red_flags::rules_text(t)) {
        txn.rollback().await?;
        return Ok(None);
    }
    let changes = red_flags::recompute_all(&txn, t).await?;
    let counts = (changes.raised.len(), changes.cleared.len());
    let mut out = Outgoing::default();
    out.red_flags(&txn, changes, t, Utc::now()).await?;
    if !out.records.is_empty() {
        outbox::enqueue_records(&txn, out.records).await?;
    }
    txn.commit().await?;
    Ok(Some(counts))
}

/// Scopes one round of [`settle_red_flags`] recomputes at most.
pub const SETTLE_BATCH: u64 = 500;

/// The advisory lock a round holds: one replica computes at a time
/// ("blankond").
const SETTLE_LOCK: i64 = 0x626c_616e_6b6f_6e64;

/// One round of the flags' task: recomputes the scopes events marked (at
/// most [`SETTLE_BATCH`]), stores and streams what changed, and unmarks
/// them. Answers how many scopes it computed (0 when none were marked, or
/// another replica's round is under way).
pub async fn settle_red_flags(
    db: &sea_orm::DatabaseConnection,
    t: &Thresholds,
) -> Result<usize, DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let txn = blangkon_platform::db::begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock($1) AS locked",
                [SETTLE_LOCK.into()],
            ))
            .await?;
        let locked: bool = match row {
            Some(row) => row.try_get("", "locked")?,
            None => false,
        };
        if !locked {
            txn.rollback().await?;
            return Ok(0);
        }
    }
    match settle_round(&txn, t).await {
        Ok(0) => {
            txn.rollback().await?;
            Ok(0)
        }
        Ok(n) => {
            txn.commit().await?;
            Ok(n)
        }
        Err(e) => {
            // At once, not when the connection is next used: the round's
            // lock must not outlive it.
            txn.rollback().await.ok();
            Err(e)
        }
    }
}

async fn settle_round(txn: &DatabaseTransaction, t: &Thresholds) -> Result<usize, DbErr> {
    let marked = red_flags::dirty_scopes(txn, SETTLE_BATCH).await?;
    if marked.is_empty() {
        return Ok(0);
    }
    // A key this release cannot read (a newer replica's) is left to it.
    let scopes: Vec<Scope> = marked
        .iter()
        .filter_map(|(key, _)| Scope::from_key(key))
        .collect();
    let changes = red_flags::recompute(txn, &scopes, t).await?;
    let mut out = Outgoing::default();
    out.red_flags(txn, changes, t, Utc::now()).await?;
    if !out.records.is_empty() {
        outbox::enqueue_records(txn, out.records).await?;
    }
    red_flags::unmark(txn, &marked).await?;
    Ok(marked.len())
}

/// The flags' task: a round of [`settle_red_flags`] every half second, at
/// once again while scopes wait, until `shutdown`.
pub async fn keep_red_flags(
    db: sea_orm::DatabaseConnection,
    t: Thresholds,
    waker: RelayWaker,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut backoff = blangkon_platform::retry::Backoff::new(
        std::time::Duration::from_millis(500),
        std::time::Duration::from_secs(30),
    );
    loop {
        let wait = match settle_red_flags(&db, &t).await {
            Ok(n) => {
                backoff.reset();
                if n > 0 {
                    waker.wake();
                }
                if n as u64 == SETTLE_BATCH {
                    continue;
                }
                std::time::Duration::from_millis(500)
            }
            Err(e) => {
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "recomputing the red flags failed");
                wait
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Reporting's row of a vendor in `state` since `at`, without a name:
/// status events carry none (the registration's is kept).
fn vendor_row(state: VendorState, at: DateTime<Utc>) -> vendor::Model {
    vendor::Model {
        verified_at: (state.status == VendorStatus::Verified).then_some(at),
        legal_form: state.legal_form_code().to_string(),
        scale: state.scale_code().to_string(),
        vendor_id: state.vendor_id,
        name: String::new(),
        regency_code: state.regency_code,
        status: state.status,
        status_at: at,
    }
}

/// The vendor columns the summary stream counts by.
const VENDOR_DIMENSIONS: [(vendor::Column, &str); 4] = [
    (vendor::Column::LegalForm, "legal_form"),
    (vendor::Column::Scale, "scale"),
    (vendor::Column::Status, "status"),
    (vendor::Column::RegencyCode, "regency"),
];

fn vendor_key(row: &vendor::Model, column: vendor::Column) -> &str {
    match column {
        vendor::Column::LegalForm => &row.legal_form,
        vendor::Column::Scale => &row.scale,
        vendor::Column::Status => row.status.as_str(),
        _ => &row.regency_code,
    }
}

async fn apply_vendor(
    txn: &DatabaseTransaction,
    mut incoming: vendor::Model,
    keeps_red_flags: bool,
    moves: &mut SharedMoves,
    out: &mut Outgoing,
) -> Result<(), HandlerError> {
    let stored = store::find_vendor(txn, &incoming.vendor_id).await?;
    // The first verification whenever its event comes, even after a
    // newer status: the earliest verified status seen.
    let verified_at = [
        stored.as_ref().and_then(|s| s.verified_at),
        incoming.verified_at,
    ]
    .into_iter()
    .flatten()
    .min();
    let verification_moved = stored.as_ref().and_then(|s| s.verified_at) != verified_at;
    incoming.verified_at = verified_at;
    let newer_applied = stored
        .as_ref()
        .is_some_and(|s| s.status_at > incoming.status_at);
    if let Some(stored) = stored.as_ref().filter(|_| newer_applied) {
        // A newer status is already applied: take only the name a late
        // registration brings and the date of a late verification.
        let late_name = stored.name.is_empty() && !incoming.name.is_empty();
        if late_name || verification_moved {
            store::save_vendor(
                txn,
                vendor::Model {
                    name: if late_name {
                        incoming.name.clone()
                    } else {
                        stored.name.clone()
                    },
                    verified_at,
                    ..stored.clone()
                },
            )
            .await?;
        }
    } else {
        if let Some(stored) = &stored
            && incoming.name.is_empty()
        {
            incoming.name = stored.name.clone();
        }
        store::save_vendor(txn, incoming.clone()).await?;
    }
    // Orders to the vendor are new-vendor orders or not by its
    // verification date: theirs are recomputed when it moves.
    if verification_moved && keeps_red_flags {
        moves.verified.insert(incoming.vendor_id.clone());
    }
    if newer_applied {
        return Ok(());
    }
    let at = incoming.status_at;
    for (column, dimension) in VENDOR_DIMENSIONS {
        let now = vendor_key(&incoming, column).to_string();
        let before = stored.as_ref().map(|s| vendor_key(s, column).to_string());
        // Only keys whose count moved: a new vendor's, or both ends of a change.
        let moved: Vec<(String, i64)> = match before {
            None => vec![(now, 1)],
            Some(before) if before != now => vec![(before, -1), (now, 1)],
            Some(_) => Vec::new(),
        };
        for (key, delta) in moved {
            *moves.vendors.entry((dimension, key.clone())).or_default() += delta;
            out.count_moved(VENDORS, dimension, key, at);
        }
    }
    let regency_before = stored.as_ref().map(|s| s.regency_code.as_str());
    if regency_before != Some(incoming.regency_code.as_str()) {
        moves
            .regency_from
            .entry(incoming.vendor_id.clone())
            .or_insert_with(|| regency_before.unwrap_or_default().to_string());
    }
    Ok(())
}

async fn apply_product(
    txn: &DatabaseTransaction,
    product: Option<pb::CatalogProduct>,
    listed: Option<bool>,
    at: DateTime<Utc>,
    moves: &mut SharedMoves,
    out: &mut Outgoing,
) -> Result<(), HandlerError> {
    let product =
        product.ok_or_else(|| HandlerError::Unusable("product event without product".into()))?;
    checks::product(&product).map_err(HandlerError::Unusable)?;
    let stored = store::find_product(txn, &product.product_id).await?;
    if stored.as_ref().is_some_and(|s| s.changed_at > at) {
        return Ok(());
    }
    let listed = listed
        .or_else(|| stored.as_ref().map(|s| s.listed))
        .unwrap_or(false);
    let row = product::Model {
        product_id: product.product_id,
        vendor_id: product.vendor_id,
        category_code: product.category_code,
        listed,
        changed_at: at,
    };
    store::save_product(txn, row.clone()).await?;
    let counted = |p: &product::Model| {
        p.listed.then(|| {
            (
                p.vendor_id.clone(),
                top_category(&p.category_code).to_string(),
            )
        })
    };
    let (before, now) = (stored.as_ref().and_then(counted), counted(&row));
    if before != now {
        // -1 where it was counted, +1 where it is counted now.
        for (key, delta) in [(&before, -1), (&now, 1)] {
            if let Some(key) = key {
                *moves.listed.entry(key.clone()).or_default() += delta;
            }
        }
        let categories: BTreeSet<&str> = [&before, &now]
            .into_iter()
            .flatten()
            .map(|(_, category)| category.as_str())
            .collect();
        for category in categories {
            out.count_moved(PRODUCTS, "category", category.to_string(), at);
        }
    }
    Ok(())
}

fn order_facts(snapshot: pb::OrderSnapshot) -> Result<OrderFacts, HandlerError> {
    let time = |t: Option<prost_types::Timestamp>, name: &str| {
        t.as_ref()
            .and_then(from_timestamp)
            .ok_or_else(|| HandlerError::Unusable(format!("order snapshot without {name}")))
    };
    let placed_at = time(snapshot.placed_at, "placed_at")?;
    let changed_at = time(snapshot.changed_at, "changed_at")?;
    let status = OrderStatus::parse(&snapshot.status).ok_or_else(|| {
        HandlerError::Unusable(format!("unknown order status {:?}", snapshot.status))
    })?;
    Ok(OrderFacts {
        order_id: snapshot.order_id,
        version: snapshot.version,
        paid_at: (status == OrderStatus::Paid).then_some(changed_at),
        status,
        buyer_work_unit: snapshot.buyer_work_unit,
        buyer_regency: snapshot.buyer_regency,
        vendor_id: snapshot.vendor_id,
        vendor_name: snapshot.vendor_name,
        vendor_regency: snapshot.vendor_regency,
        legal_form: snapshot.vendor_legal_form,
        scale: snapshot.vendor_scale,
        total: snapshot.total,
        placed_at,
        changed_at,
        bast_date: snapshot.bast_date,
        items: snapshot
            .items
            .into_iter()
            .map(|i| ItemFacts {
                product_id: i.product_id,
                name: i.name,
                category_code: i.category_code,
                unit: i.unit,
                quantity: i.quantity,
                unit_price: i.unit_price,
                line_total: i.line_total,
            })
            .collect(),
    })
}

/// An order event as the projection applies it.
pub(crate) struct OrderEvent {
    pub(crate) event_id: String,
    pub(crate) previous_status: String,
    pub(crate) facts: OrderFacts,
}

/// What an order event does to the order as the read model holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderStep {
    /// The event's state is not newer than the stored one: nothing moves.
    Unchanged,
    /// Not newer, but it brings the moment of payment the stored state
    /// lacks (a `paid` event delivered after `completed`).
    Paid(DateTime<Utc>),
    /// The event's state supersedes the stored one, or there was none: it
    /// stands now.
    Supersedes,
}

/// How `incoming` applies to the order as `stored`. When it supersedes,
/// `incoming` takes the moment of payment already known: that moment is
/// kept from the `paid` event whenever it comes, even after `completed`.
/// The one rule of the live projection and of a rebuild's fold.
pub(crate) fn order_step(stored: Option<&OrderFacts>, incoming: &mut OrderFacts) -> OrderStep {
    let paid_at = stored.and_then(|s| s.paid_at).or(incoming.paid_at);
    match stored {
        Some(stored) if !incoming.supersedes(stored) => match paid_at {
            Some(at) if stored.paid_at.is_none() => OrderStep::Paid(at),
            _ => OrderStep::Unchanged,
        },
        _ => {
            incoming.paid_at = paid_at;
            OrderStep::Supersedes
        }
    }
}

/// `event` as an order event, checked; `None` for an event of another kind.
pub(crate) fn order_event(event: &ReceivedEvent) -> Result<Option<OrderEvent>, HandlerError> {
    let snapshot = match event.envelope.event_type.as_str() {
        "blangkon.events.v1.OrderPlaced" => event.message::<pb::OrderPlaced>()?.order,
        "blangkon.events.v1.OrderStatusChanged" => event.message::<pb::OrderStatusChanged>()?.order,
        _ => return Ok(None),
    };
    let snapshot =
        snapshot.ok_or_else(|| HandlerError::Unusable("order event without order".into()))?;
    let previous_status = snapshot.previous_status.clone();
    let facts = order_facts(snapshot)?;
    checks::order(&facts).map_err(HandlerError::Unusable)?;
    Ok(Some(OrderEvent {
        event_id: event.envelope.event_id.clone(),
        previous_status,
        facts,
    }))
}

impl Projection {
    /// Applies a run of order events, in order, as applying each alone
    /// would: every order of the run read once, its states worked out in
    /// memory, each table written once.
    async fn apply_orders(
        &self,
        txn: &DatabaseTransaction,
        run: Vec<OrderEvent>,
        moves: &mut SharedMoves,
        out: &mut Outgoing,
    ) -> Result<(), HandlerError> {
        let ids: BTreeSet<String> = run.iter().map(|e| e.facts.order_id.clone()).collect();
        let ids: Vec<String> = ids.into_iter().collect();
        let mut current = store::find_orders(txn, &ids).await?;
        let stored_before: BTreeSet<String> = current.keys().cloned().collect();
        // The state each order is left in, to be saved.
        let mut changed: BTreeMap<String, OrderFacts> = BTreeMap::new();
        let mut applied = Vec::with_capacity(run.len());
        for OrderEvent {
            event_id,
            previous_status,
            facts: mut incoming,
        } in run
        {
            let stored = current.get(&incoming.order_id);
            match order_step(stored, &mut incoming) {
                OrderStep::Unchanged => {}
                OrderStep::Paid(at) => {
                    if let Some(stored) = stored {
                        let mut kept = stored.clone();
                        kept.paid_at = Some(at);
                        changed.insert(kept.order_id.clone(), kept.clone());
                        current.insert(kept.order_id.clone(), kept);
                    }
                }
                OrderStep::Supersedes => {
                    for c in figures::change(stored, &incoming) {
                        let key = (c.dimension.as_str().to_string(), c.key.clone());
                        moves.moved_at.insert(key, incoming.changed_at);
                        moves.contributions.push(c);
                    }
                    // The rules count transactions: their flags move only
                    // when an order becomes one or stops being one, not
                    // with each step. Marked here, recomputed by the flags'
                    // task: a scope many events touch is computed once per
                    // round, not once per event.
                    let was = stored.map(|s| s.status.is_transaction());
                    if was != Some(incoming.status.is_transaction()) && self.red_flags.is_some() {
                        moves.dirty.extend(Scope::of_order(&incoming));
                    }
                    changed.insert(incoming.order_id.clone(), incoming.clone());
                    current.insert(incoming.order_id.clone(), incoming.clone());
                }
            }
            applied.push((event_id, previous_status, incoming));
        }
        let rows: Vec<(&OrderFacts, bool)> = changed
            .values()
            .map(|o| (o, !stored_before.contains(&o.order_id)))
            .collect();
        store::save_orders(txn, &rows).await?;
        // Every version is an OCDS release, a late one too: kept once, as
        // the order stood then.
        let versions: Vec<&OrderFacts> = applied.iter().map(|(_, _, o)| o).collect();
        store::save_order_versions(txn, &versions).await?;
        // Every change is a fact, a late one too: analysts keep the highest
        // version per order.
        let names = store::names_for_all(txn, &versions).await?;
        for ((event_id, previous_status, order), names) in applied.iter().zip(names) {
            let fact = TransactionFact::new(event_id, previous_status, order, names);
            out.records.push(NewRecord::json(
                topics::REPORTING_TRANSACTIONS,
                &order.order_id,
                fact.schema,
                &fact,
            )?);
        }
        Ok(())
    }
}

/// Entry point for the event decoder's fuzz target (`fuzz/`): a record's
/// bytes decoded as the consumer decodes them, and its event checked as
/// the projection checks it before touching the read model. Not an API:
/// hidden from the docs, and its only promise is to never panic.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    pub fn events(data: &[u8]) {
        let Ok(envelope) = blangkon_platform::inbox::decode(Some(data)) else {
            return;
        };
        let event = ReceivedEvent {
            envelope,
            topic: topics::ORDER_EVENTS.into(),
            partition: 0,
            offset: 0,
        };
        let _ = event.occurred_at();
        if let Some(change) = vendor_events::change_of(&event.envelope) {
            let _ = change.map(|state| vendor_row(state, event.occurred_at()));
            return;
        }
        let _ = check(&event);
    }

    fn check(event: &ReceivedEvent) -> Result<(), HandlerError> {
        match event.envelope.event_type.as_str() {
            "blangkon.events.v1.RegencyJoined" => {
                let e: pb::RegencyJoined = event.message()?;
                checks::regency_joined(&e).map_err(HandlerError::Unusable)
            }
            "blangkon.events.v1.VendorRegistered" => {
                let e: pb::VendorRegistered = event.message()?;
                checks::vendor_name(&e.name).map_err(HandlerError::Unusable)?;
                VendorState::registered(&e).map_err(HandlerError::Unusable)?;
                Ok(())
            }
            "blangkon.events.v1.TrainingRecorded" => {
                let e: pb::TrainingRecorded = event.message()?;
                checks::training(&e).map_err(HandlerError::Unusable)
            }
            "blangkon.events.v1.ProductListed" => {
                let e: pb::ProductListed = event.message()?;
                e.product
                    .as_ref()
                    .map_or(Ok(()), checks::product)
                    .map_err(HandlerError::Unusable)
            }
            "blangkon.events.v1.OrderPlaced" => {
                let e: pb::OrderPlaced = event.message()?;
                let Some(snapshot) = e.order else {
                    return Ok(());
                };
                let facts = order_facts(snapshot)?;
                checks::order(&facts).map_err(HandlerError::Unusable)
            }
            _ => Ok(()),
        }
    }
}
