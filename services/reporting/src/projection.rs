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

use std::collections::BTreeSet;

use blangkon_domain::OrderStatus;
use blangkon_domain::vendor_events::{self, VendorState};
use blangkon_platform::inbox::{EventHandler, HandlerError, ReceivedEvent};
use blangkon_platform::kafka::{TopicSpec, topics};
use blangkon_platform::outbox::{self, NewRecord, RelayWaker};
use blangkon_platform::time::from_timestamp;
use blangkon_proto::events as pb;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, DbErr};

use crate::domain::checks;
use crate::domain::figures::{self, ItemFacts, OrderFacts, top_category};
use crate::domain::records::{SummaryRecord, TransactionFact};
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
];

/// The reporting service's event handler.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Whether to write the analyst streams: off while rebuilding, since
    /// analysts already received those facts.
    publish: bool,
    waker: Option<RelayWaker>,
}

impl Projection {
    /// The live projection: applies events and publishes analyst records.
    pub fn new(waker: RelayWaker) -> Self {
        Self {
            publish: true,
            waker: Some(waker),
        }
    }

    /// The projection of a rebuild: the same rules, no analyst records.
    pub fn replaying() -> Self {
        Self {
            publish: false,
            waker: None,
        }
    }
}

#[async_trait::async_trait]
impl EventHandler for Projection {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        let at = event.occurred_at();
        let mut out = Outgoing::default();
        if let Some(change) = vendor_events::change_of(&event.envelope) {
            let change = change.map_err(HandlerError::Unusable)?;
            apply_vendor(txn, vendor_row(change, at), &mut out).await?;
            return self.finish(txn, at, out).await;
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
                apply_vendor(txn, registered, &mut out).await?;
            }
            "blangkon.events.v1.TrainingRecorded" => {
                let e: pb::TrainingRecorded = event.message()?;
                checks::training(&e).map_err(HandlerError::Unusable)?;
                store::insert_training(
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
            }
            "blangkon.events.v1.ProductListed" => {
                let e: pb::ProductListed = event.message()?;
                apply_product(txn, e.product, Some(true), at, &mut out).await?;
            }
            "blangkon.events.v1.ProductUpdated" => {
                let e: pb::ProductUpdated = event.message()?;
                apply_product(txn, e.product, None, at, &mut out).await?;
            }
            "blangkon.events.v1.ProductUnlisted" => {
                let e: pb::ProductUnlisted = event.message()?;
                apply_product(txn, e.product, Some(false), at, &mut out).await?;
            }
            "blangkon.events.v1.OrderPlaced" => {
                let e: pb::OrderPlaced = event.message()?;
                apply_order(txn, &event.envelope.event_id, e.order, &mut out).await?;
            }
            "blangkon.events.v1.OrderStatusChanged" => {
                let e: pb::OrderStatusChanged = event.message()?;
                apply_order(txn, &event.envelope.event_id, e.order, &mut out).await?;
            }
            // Stock levels are no figure; events of newer kinds wait for a
            // newer reporting service (a rebuild then picks them up).
            other => {
                tracing::debug!(event_type = other, "event not reported on");
                return Ok(());
            }
        }
        self.finish(txn, at, out).await
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

/// Analyst records an event produced, written if the projection publishes.
#[derive(Default)]
struct Outgoing {
    records: Vec<NewRecord>,
}

impl Outgoing {
    fn summary(&mut self, record: SummaryRecord) -> Result<(), DbErr> {
        self.records.push(NewRecord::json(
            topics::REPORTING_SUMMARY,
            &record.kafka_key(),
            record.schema,
            &record,
        )?);
        Ok(())
    }
}

/// Reporting's row of a vendor in `state` since `at`, without a name:
/// status events carry none (the registration's is kept).
fn vendor_row(state: VendorState, at: DateTime<Utc>) -> vendor::Model {
    vendor::Model {
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
    out: &mut Outgoing,
) -> Result<(), HandlerError> {
    let stored = store::find_vendor(txn, &incoming.vendor_id).await?;
    if let Some(stored) = &stored {
        if incoming.name.is_empty() {
            incoming.name = stored.name.clone();
        }
        if stored.status_at > incoming.status_at {
            // A newer status is already applied: take only the name a late
            // registration brings.
            if stored.name.is_empty() && !incoming.name.is_empty() {
                store::save_vendor(
                    txn,
                    vendor::Model {
                        name: incoming.name,
                        ..stored.clone()
                    },
                )
                .await?;
            }
            return Ok(());
        }
    }
    store::save_vendor(txn, incoming.clone()).await?;
    let at = incoming.status_at;
    for (column, dimension) in VENDOR_DIMENSIONS {
        let now = vendor_key(&incoming, column).to_string();
        let before = stored.as_ref().map(|s| vendor_key(s, column).to_string());
        // Only keys whose count moved: a new vendor's, or both ends of a change.
        let keys: BTreeSet<String> = match before {
            None => BTreeSet::from([now]),
            Some(before) if before != now => BTreeSet::from([before, now]),
            Some(_) => BTreeSet::new(),
        };
        for key in keys {
            let count = store::vendors_with(txn, column, &key).await?;
            out.summary(SummaryRecord::count("vendors", dimension, &key, count, at))?;
        }
    }
    Ok(())
}

async fn apply_product(
    txn: &DatabaseTransaction,
    product: Option<pb::CatalogProduct>,
    listed: Option<bool>,
    at: DateTime<Utc>,
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
        store::move_listed(
            txn,
            before.as_ref().map(|(v, c)| (v.as_str(), c.as_str())),
            now.as_ref().map(|(v, c)| (v.as_str(), c.as_str())),
        )
        .await?;
        let categories: BTreeSet<&str> = [&before, &now]
            .into_iter()
            .flatten()
            .map(|(_, category)| category.as_str())
            .collect();
        for category in categories {
            let count = store::products_listed_in(txn, category).await?;
            out.summary(SummaryRecord::count(
                "products", "category", category, count, at,
            ))?;
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

async fn apply_order(
    txn: &DatabaseTransaction,
    event_id: &str,
    snapshot: Option<pb::OrderSnapshot>,
    out: &mut Outgoing,
) -> Result<(), HandlerError> {
    let snapshot =
        snapshot.ok_or_else(|| HandlerError::Unusable("order event without order".into()))?;
    let previous_status = snapshot.previous_status.clone();
    let mut incoming = order_facts(snapshot)?;
    checks::order(&incoming).map_err(HandlerError::Unusable)?;
    let stored = store::find_order(txn, &incoming.order_id).await?;
    // The moment of payment is kept from the `paid` event whenever it
    // comes, even after `completed`.
    let paid_at = stored.as_ref().and_then(|s| s.paid_at).or(incoming.paid_at);
    match &stored {
        Some(stored) if !incoming.supersedes(stored) => {
            if stored.paid_at.is_none() && paid_at.is_some() {
                let mut kept = stored.clone();
                kept.paid_at = paid_at;
                store::save_order(txn, &kept, false).await?;
            }
        }
        _ => {
            incoming.paid_at = paid_at;
            let change = figures::change(stored.as_ref(), &incoming);
            store::save_order(txn, &incoming, stored.is_none()).await?;
            for total in store::add_to_totals(txn, &change).await? {
                out.summary(SummaryRecord::orders(
                    &total.dimension,
                    &total.figure_key,
                    total.orders,
                    total.value,
                    incoming.changed_at,
                ))?;
            }
        }
    }
    // Every version is an OCDS release, a late one too: kept once, as the
    // order stood then.
    store::save_order_version(txn, &incoming).await?;
    // Every change is a fact, a late one too: analysts keep the highest
    // version per order.
    let names = store::names_for(txn, &incoming).await?;
    let fact = TransactionFact::new(event_id, &previous_status, &incoming, names);
    out.records.push(NewRecord::json(
        topics::REPORTING_TRANSACTIONS,
        &incoming.order_id,
        fact.schema,
        &fact,
    )?);
    Ok(())
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
