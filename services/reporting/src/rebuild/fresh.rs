//! A rebuild into fresh tables (PostgreSQL).
//!
//! The fresh read model is built in a schema of its own beside the one in
//! use (`<schema>_rebuild`), by the service's own migrations, and swapped
//! in at the end in one transaction: each read-model table in use moves to
//! `<schema>_retired`, its fresh twin takes its place, and the retired
//! ones are dropped. Until the swap the read model in use stands
//! untouched, so a rebuild that fails or is killed leaves it as it was (a
//! killed one leaves its schema, which the next rebuild drops).
//!
//! Order events, nearly all of a year's records, take the fast path. As
//! they are read each is staged with COPY into an unlogged table; at the
//! end the staged events are read back an order at a time, in delivery
//! order, and folded by the live projection's rules ([`order_step`],
//! [`figures::change`]): a repeated event id skipped as the inbox skips
//! it, each version kept once, and the order's last state, items, versions
//! and inbox records written with COPY; the figures are summed in memory
//! (their number is bounded by the days and keys, not by the orders) and
//! written once. Other events (regencies, vendors, trainings, products: a
//! small share, with rules of their own) go through the live projection
//! and inbox into the fresh tables as they arrive. The two never meet at
//! write time: an order carries its vendor's facts itself.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use blangkon_platform::bulk;
use blangkon_platform::inbox::{self, ReceivedEvent};
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use prost::Message as _;
use sea_orm::sqlx::postgres::{PgPool, PgPoolOptions};
use sea_orm::sqlx::{self, Row as _};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, RuntimeErr, SqlxPostgresConnector,
    Statement, TransactionTrait, Value,
};

use super::{PROGRESS_EVERY, RebuildError, RebuildOutcome};
use crate::domain::figures::{self, Contribution, Dimension, OrderFacts};
use crate::domain::red_flags::Thresholds;
use crate::projection::{CONSUMER, OrderStep, Projection, order_event, order_step};
use crate::store::{self, migrations::Migrator};

/// The staged order events: each as read, in delivery order (`seq`).
const STAGED: &str = "rebuild_order_events";
const STAGED_COLUMNS: [&str; 6] = ["seq", "order_id", "topic", "partition", "offset", "record"];
/// Orders folded between two COPYs of their rows.
const ORDERS_PER_WRITE: usize = 20_000;
/// Connections of the fresh schema's pool: the staged events' reader, a
/// COPY, and the live projection's transactions.
const CONNECTIONS: u32 = 4;

pub(super) struct FreshLoad {
    /// The read model in use, and its schema.
    live: DatabaseConnection,
    live_schema: String,
    /// The fresh schema, and connections whose `search_path` is it: every
    /// statement of the projection and of the migrations resolves its
    /// tables there.
    schema: String,
    pool: PgPool,
    db: DatabaseConnection,
    projection: Projection,
    /// Order events staged so far; the next one's place in delivery order.
    staged: i64,
}

impl FreshLoad {
    /// Creates the fresh schema beside `live`'s and its tables, by the
    /// service's migrations. `live` must be a PostgreSQL connection.
    pub(super) async fn begin(live: &DatabaseConnection) -> Result<Self, RebuildError> {
        let live_schema = current_schema(live).await?;
        let schema = format!("{live_schema}_rebuild");
        for leftover in [schema.as_str(), &retired_schema(&live_schema)] {
            if schema_exists(live, leftover).await? {
                tracing::warn!(
                    schema = leftover,
                    "a rebuild that did not finish left its tables; dropping them"
                );
                drop_schema(live, leftover).await?;
            }
        }
        live.execute_unprepared(&format!("CREATE SCHEMA {}", quoted(&schema)))
            .await?;
        match Self::prepare(live, live_schema, schema.clone()).await {
            Ok(load) => Ok(load),
            Err(e) => {
                drop_schema(live, &schema).await.ok();
                Err(e)
            }
        }
    }

    async fn prepare(
        live: &DatabaseConnection,
        live_schema: String,
        schema: String,
    ) -> Result<Self, RebuildError> {
        // Commits in the fresh schema need not wait for their WAL flush:
        // nothing reads those tables until the swap, whose own commit
        // (synchronous, on the live connection) flushes the WAL before it,
        // and a crash before the swap means rebuilding again anyway.
        let options = (*live.get_postgres_connection_pool().connect_options())
            .clone()
            .options([
                ("search_path", quoted(&schema)),
                ("synchronous_commit", "off".to_string()),
            ]);
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(sqlx_err)?;
        let db = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
        blangkon_platform::db::migrate::<Migrator>(&db).await?;
        // Unlogged: written once, read once, dropped before the swap; a
        // crash empties it, and the rebuild starts again anyway.
        db.execute_unprepared(&format!(
            "CREATE UNLOGGED TABLE {STAGED} (seq bigint NOT NULL, order_id text NOT NULL, \
             topic text NOT NULL, partition integer NOT NULL, \"offset\" bigint NOT NULL, \
             record bytea NOT NULL)"
        ))
        .await?;
        tracing::info!(schema, "rebuilding into fresh tables");
        Ok(Self {
            live: live.clone(),
            live_schema,
            schema,
            pool,
            db,
            projection: Projection::replaying(),
            staged: 0,
        })
    }

    /// Stages the order events of `events` and applies the others through
    /// the live projection. An order event the projection would refuse goes
    /// that way too, to be set aside as a dead letter as the live consumer
    /// sets it aside.
    pub(super) async fn take(
        &mut self,
        events: Vec<ReceivedEvent>,
        outcome: &mut RebuildOutcome,
    ) -> Result<(), RebuildError> {
        let mut staged = Vec::new();
        let mut others = Vec::new();
        for event in events {
            match order_event(&event) {
                Ok(Some(order)) => {
                    staged.push(vec![
                        Value::BigInt(Some(self.staged)),
                        Value::String(Some(order.facts.order_id)),
                        Value::String(Some(event.topic)),
                        Value::Int(Some(event.partition)),
                        Value::BigInt(Some(event.offset)),
                        Value::Bytes(Some(event.envelope.encode_to_vec())),
                    ]);
                    self.staged += 1;
                }
                Ok(None) | Err(_) => others.push(event),
            }
        }
        if !staged.is_empty() {
            bulk::copy_rows(&self.pool, STAGED, &STAGED_COLUMNS, staged).await?;
        }
        if !others.is_empty() {
            for applied in inbox::apply_batch(&self.db, CONSUMER, &self.projection, &others).await?
            {
                outcome.count(applied);
            }
        }
        Ok(())
    }

    /// Folds the staged orders, computes the red flags and swaps the fresh
    /// tables in; on failure, drops them.
    pub(super) async fn finish(
        self,
        red_flags: &Thresholds,
        outcome: &mut RebuildOutcome,
    ) -> Result<(), RebuildError> {
        match self.complete(red_flags, outcome).await {
            Ok(()) => {
                self.pool.close().await;
                Ok(())
            }
            Err(e) => {
                self.abandon().await;
                Err(e)
            }
        }
    }

    async fn complete(
        &self,
        red_flags: &Thresholds,
        outcome: &mut RebuildOutcome,
    ) -> Result<(), RebuildError> {
        self.fold_orders(outcome).await?;
        self.db
            .execute_unprepared(&format!("DROP TABLE {STAGED}"))
            .await?;
        let txn = blangkon_platform::db::begin_write(&self.db).await?;
        let flags = store::red_flags::recompute_all(&txn, red_flags).await?;
        txn.commit().await?;
        outcome.red_flags = flags.raised.len() as u64;
        // The planner's statistics, before the first read needs them; and
        // a vacuum, so that the first reads neither set every copied row's
        // hint bits (writing each page they touch) nor visit the table for
        // what an index holds. Outside a transaction, as VACUUM must be.
        for table in store::READ_MODEL_TABLES {
            self.db
                .execute_unprepared(&format!("VACUUM (ANALYZE) {}", quoted(table)))
                .await?;
        }
        self.swap().await?;
        Ok(())
    }

    /// Gives the rebuild up: the fresh schema is dropped, the read model in
    /// use stands as it was.
    pub(super) async fn abandon(self) {
        self.pool.close().await;
        if let Err(e) = drop_schema(&self.live, &self.schema).await {
            tracing::warn!(schema = self.schema, error = %e, "dropping the abandoned rebuild's tables failed; the next rebuild drops them");
        }
    }

    /// Reads the staged order events back an order at a time, in delivery
    /// order, and writes each order's rows (a COPY per table every
    /// [`ORDERS_PER_WRITE`] orders), then the figures and the watermark.
    async fn fold_orders(&self, outcome: &mut RebuildOutcome) -> Result<(), RebuildError> {
        let started = Instant::now();
        let mut last_said = Instant::now();
        let mut folded = 0u64;
        // "C" collation: grouping needs only equal ids together, and byte
        // order sorts fastest. (The table is STAGED.)
        let mut rows = sqlx::query(
            "SELECT order_id, topic, partition, \"offset\", record FROM rebuild_order_events \
             ORDER BY order_id COLLATE \"C\", seq",
        )
        .fetch(&self.pool);
        let mut fold = OrderFold::default();
        let mut out = Rows::default();
        let mut totals = Totals::default();
        let mut latest: Option<DateTime<Utc>> = None;
        while let Some(row) = rows.try_next().await.map_err(sqlx_err)? {
            let order_id: String = row.try_get("order_id").map_err(sqlx_err)?;
            if fold.order_id.as_deref() != Some(order_id.as_str()) {
                fold.close(&mut out);
                if out.orders.len() >= ORDERS_PER_WRITE {
                    out.write(&self.pool).await?;
                }
                fold.order_id = Some(order_id);
            }
            let record: Vec<u8> = row.try_get("record").map_err(sqlx_err)?;
            let event = ReceivedEvent {
                envelope: inbox::decode(Some(record.as_slice())).map_err(staged_unreadable)?,
                topic: row.try_get("topic").map_err(sqlx_err)?,
                partition: row.try_get("partition").map_err(sqlx_err)?,
                offset: row.try_get("offset").map_err(sqlx_err)?,
            };
            let facts = match order_event(&event) {
                Ok(Some(order)) => order.facts,
                // It was checked when staged.
                Ok(None) => return Err(staged_unreadable("not an order event").into()),
                Err(e) => return Err(staged_unreadable(e).into()),
            };
            let at = event.occurred_at();
            if fold.apply(event, facts, &mut out, &mut totals) {
                outcome.applied += 1;
                latest = latest.max(Some(at));
            } else {
                outcome.duplicates += 1;
            }
            folded += 1;
            if last_said.elapsed() >= PROGRESS_EVERY {
                last_said = Instant::now();
                tracing::info!(
                    folded,
                    of = self.staged,
                    "rebuilding: {folded} of {} order events folded ({:.0}/s)",
                    self.staged,
                    folded as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
        fold.close(&mut out);
        out.write(&self.pool).await?;
        drop(rows);
        // In one call, so that each month's, year's and all-time row is
        // written once (a call sums what it is given by figure first), and
        // the days' rows go to the table a day at a time.
        store::add_to_totals(&self.db, &totals.contributions()).await?;
        if let Some(at) = latest {
            store::advance_watermark(&self.db, at).await?;
        }
        Ok(())
    }

    /// Puts the fresh tables in place of those in use, in one transaction:
    /// a reader sees the old read model or the new one, never a mix.
    async fn swap(&self) -> Result<(), DbErr> {
        let live = quoted(&self.live_schema);
        let fresh = quoted(&self.schema);
        let retired_name = retired_schema(&self.live_schema);
        let retired = quoted(&retired_name);
        let txn = self.live.begin().await?;
        txn.execute_unprepared(&format!("CREATE SCHEMA {retired}"))
            .await?;
        for table in store::READ_MODEL_TABLES {
            let table = quoted(table);
            txn.execute_unprepared(&format!("ALTER TABLE {live}.{table} SET SCHEMA {retired}"))
                .await?;
            txn.execute_unprepared(&format!("ALTER TABLE {fresh}.{table} SET SCHEMA {live}"))
                .await?;
        }
        // What the rebuild set aside joins the service's dead letters
        // (where the live consumer set the same records aside already, they
        // are there once).
        txn.execute_unprepared(&format!(
            "INSERT INTO {live}.dead_letters (consumer, topic, partition, \"offset\", event_id, \
             event_type, reason, record, dead_lettered_at) \
             SELECT consumer, topic, partition, \"offset\", event_id, event_type, reason, record, \
             dead_lettered_at FROM {fresh}.dead_letters ON CONFLICT DO NOTHING"
        ))
        .await?;
        txn.commit().await?;
        for schema in [retired_name.as_str(), self.schema.as_str()] {
            if let Err(e) = drop_schema(&self.live, schema).await {
                tracing::warn!(schema, error = %e, "dropping the replaced tables failed; the next rebuild drops them");
            }
        }
        Ok(())
    }
}

/// One order's staged events as they are folded.
#[derive(Default)]
struct OrderFold {
    order_id: Option<String>,
    /// The order as the events so far leave it.
    order: Option<OrderFacts>,
    /// Event ids applied: one seen again is a duplicate, as in the inbox.
    events: HashSet<String>,
    /// Versions kept: a version delivered again under a new event id (a
    /// producer's retry) is kept once, as the live projection keeps it.
    versions: HashSet<i64>,
}

impl OrderFold {
    /// Applies one event of the order as the live projection would; false
    /// when its id was applied already.
    fn apply(
        &mut self,
        event: ReceivedEvent,
        mut incoming: OrderFacts,
        out: &mut Rows,
        totals: &mut Totals,
    ) -> bool {
        if !self.events.insert(event.envelope.event_id.clone()) {
            return false;
        }
        match order_step(self.order.as_ref(), &mut incoming) {
            OrderStep::Unchanged => {}
            OrderStep::Paid(at) => {
                if let Some(order) = &mut self.order {
                    order.paid_at = Some(at);
                }
            }
            OrderStep::Supersedes => {
                totals.add(figures::change(self.order.as_ref(), &incoming));
                if self.order.is_none() {
                    // Lines never change after placing: written with the
                    // order's first state.
                    out.items.extend(store::item_rows(&incoming));
                }
                self.order = Some(incoming.clone());
            }
        }
        if self.versions.insert(incoming.version) {
            out.versions.push(store::version_row(&incoming));
        }
        out.inbox.push(event);
        true
    }

    /// Ends the order: its last state joins the rows to write.
    fn close(&mut self, out: &mut Rows) {
        if let Some(order) = self.order.take() {
            out.orders.push(store::order_row(&order));
        }
        self.order_id = None;
        self.events.clear();
        self.versions.clear();
    }
}

/// Folded rows waiting for their COPY.
#[derive(Default)]
struct Rows {
    orders: Vec<store::order::Model>,
    items: Vec<store::order_item::Model>,
    versions: Vec<store::order_version::Model>,
    inbox: Vec<ReceivedEvent>,
}

impl Rows {
    async fn write(&mut self, pool: &PgPool) -> Result<(), DbErr> {
        bulk::copy_models::<store::order::Entity>(pool, std::mem::take(&mut self.orders)).await?;
        bulk::copy_models::<store::order_item::Entity>(pool, std::mem::take(&mut self.items))
            .await?;
        bulk::copy_models::<store::order_version::Entity>(pool, std::mem::take(&mut self.versions))
            .await?;
        inbox::record_copied(pool, CONSUMER, &self.inbox).await?;
        self.inbox.clear();
        Ok(())
    }
}

/// The figures' net changes, summed per figure and day. A figure an order
/// moved and moved back is kept at zero, as the live projection keeps it.
#[derive(Default)]
struct Totals(BTreeMap<(Dimension, String, String), (i64, i64)>);

impl Totals {
    fn add(&mut self, changes: Vec<Contribution>) {
        for c in changes {
            let sum = self.0.entry((c.dimension, c.key, c.day)).or_default();
            sum.0 = sum.0.saturating_add(c.orders);
            sum.1 = sum.1.saturating_add(c.value);
        }
    }

    fn contributions(&self) -> Vec<Contribution> {
        self.0
            .iter()
            .map(|((dimension, key, day), (orders, value))| Contribution {
                dimension: *dimension,
                key: key.clone(),
                day: day.clone(),
                orders: *orders,
                value: *value,
            })
            .collect()
    }
}

fn retired_schema(live_schema: &str) -> String {
    format!("{live_schema}_retired")
}

/// `name` as a quoted identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn current_schema(db: &DatabaseConnection) -> Result<String, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_schema() AS name",
        ))
        .await?;
    let name: Option<String> = match row {
        Some(row) => row.try_get("", "name")?,
        None => None,
    };
    name.ok_or_else(|| {
        DbErr::Custom("the connection's search_path names no schema that exists".into())
    })
}

async fn schema_exists(db: &DatabaseConnection, name: &str) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1",
            [name.into()],
        ))
        .await?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(n > 0)
}

async fn drop_schema(db: &DatabaseConnection, name: &str) -> Result<(), DbErr> {
    db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS {} CASCADE", quoted(name)))
        .await?;
    Ok(())
}

fn sqlx_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e.into()))
}

/// A staged event that no longer reads as it did when staged: the staging
/// table was changed under the rebuild.
fn staged_unreadable(reason: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("a staged order event is unreadable: {reason}"))
}
