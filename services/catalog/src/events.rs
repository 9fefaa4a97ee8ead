//! What the catalog publishes to `blangkon.catalog.events.v1`, and how it
//! keeps its projection of vendor status from `blangkon.vendor.events.v1`.

use std::collections::BTreeMap;

use blangkon_domain::vendor_events::{self, VendorState};
use blangkon_platform::inbox::{EventHandler, HandlerError, ReceivedEvent};
use blangkon_platform::kafka::{TopicSpec, topics};
use blangkon_platform::outbox::NewEvent;
use blangkon_proto::events as pb;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use crate::store::{self, product, vendor};

pub const TOPIC: &str = topics::CATALOG_EVENTS;
const PRODUCER: &str = "catalog";

/// Topics this service writes, created at start when allowed.
pub const TOPICS: &[TopicSpec<'static>] = &[topics::CATALOG_EVENTS_SPEC];

/// Consumer group (and inbox name) of the vendor-status projection.
pub const VENDOR_PROJECTION: &str = "catalog-vendor-projection";

fn catalog_product(row: &product::Model) -> pb::CatalogProduct {
    pb::CatalogProduct {
        product_id: row.id.clone(),
        vendor_id: row.vendor_id.clone(),
        category_code: row.category_code.clone(),
        name: row.name.clone(),
        unit: row.unit.clone(),
        price: row.price,
        stock: row.stock,
        delivery_regencies: row.delivery_regencies.0.clone(),
        domestic_product: row.domestic_product,
    }
}

fn product_event<M: prost::Name>(row: &product::Model, at: DateTime<Utc>, payload: &M) -> NewEvent {
    NewEvent::new(TOPIC, PRODUCER, "product", &row.id, at, payload)
}

pub fn product_listed(row: &product::Model) -> NewEvent {
    product_event(
        row,
        row.updated_at,
        &pb::ProductListed {
            product: Some(catalog_product(row)),
        },
    )
}

pub fn product_updated(row: &product::Model, old_price: i64) -> NewEvent {
    product_event(
        row,
        row.updated_at,
        &pb::ProductUpdated {
            product: Some(catalog_product(row)),
            old_price,
            new_price: row.price,
        },
    )
}

pub fn product_unlisted(row: &product::Model, reason: &str, actor: &str) -> NewEvent {
    product_event(
        row,
        row.updated_at,
        &pb::ProductUnlisted {
            product: Some(catalog_product(row)),
            reason: reason.to_string(),
            actor: actor.to_string(),
        },
    )
}

pub fn stock_changed(row: &product::Model, old_stock: i64) -> NewEvent {
    product_event(
        row,
        row.updated_at,
        &pb::StockChanged {
            product_id: row.id.clone(),
            vendor_id: row.vendor_id.clone(),
            old_stock,
            new_stock: row.stock,
        },
    )
}

/// Keeps `vendors` in step with the vendor service, so that only verified
/// vendors manage and sell products.
#[derive(Debug, Clone, Copy, Default)]
pub struct VendorProjection;

#[async_trait::async_trait]
impl EventHandler for VendorProjection {
    /// A batch's vendors are written together, each as its last event left
    /// it (a vendor's events come in order, on one partition), in vendor
    /// order, and their search entries noted for refreshing together.
    async fn handle_batch(
        &self,
        txn: &DatabaseTransaction,
        events: &[ReceivedEvent],
    ) -> Result<(), HandlerError> {
        let mut changed: BTreeMap<String, vendor::Model> = BTreeMap::new();
        for event in events {
            let Some(row) = vendor_change(event)? else {
                continue;
            };
            tracing::info!(vendor_id = %row.vendor_id, status = %row.status, "vendor status projected");
            changed.insert(row.vendor_id.clone(), row);
        }
        if changed.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = changed.keys().cloned().collect();
        store::upsert_vendors(txn, changed.into_values().collect()).await?;
        store::record_search_changes(txn, store::Changed::Vendor, &ids).await?;
        Ok(())
    }
}

/// The vendor row `event` leaves, if it is a vendor's registration or
/// status change: regencies joining and trainings do not concern the
/// catalog.
fn vendor_change(event: &ReceivedEvent) -> Result<Option<vendor::Model>, HandlerError> {
    let Some(projected) = vendor_events::projected(&event.envelope) else {
        return Ok(None);
    };
    let projected = projected.map_err(HandlerError::Unusable)?;
    Ok(Some(vendor_row(projected.state, event.occurred_at())))
}

/// The catalog's row of a vendor in `state` since `at`.
fn vendor_row(state: VendorState, at: DateTime<Utc>) -> vendor::Model {
    vendor::Model {
        legal_form: state.legal_form_code().to_string(),
        scale: state.scale_code().to_string(),
        vendor_id: state.vendor_id,
        regency_code: state.regency_code,
        status: state.status,
        status_at: at,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use blangkon_domain::VendorStatus;
    use blangkon_platform::inbox::{Applied, apply_batch};
    use blangkon_proto::vendor as ven;
    use chrono::TimeZone as _;
    use sea_orm::EntityTrait as _;

    const VENDOR: &str = "01934a1e-0000-7000-8000-000000000001";

    fn status_event<M: prost::Name>(minute: u32, message: &M) -> ReceivedEvent {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 1, minute, 0).unwrap();
        let new = NewEvent::new(
            topics::VENDOR_EVENTS,
            "vendor",
            "vendor",
            VENDOR,
            at,
            message,
        );
        ReceivedEvent {
            envelope: new.envelope,
            topic: topics::VENDOR_EVENTS.into(),
            partition: 0,
            offset: i64::from(minute),
        }
    }

    fn change(status: ven::VendorStatus) -> Option<pb::VendorStatusChange> {
        Some(pb::VendorStatusChange {
            vendor_id: VENDOR.into(),
            regency_code: "33.74".into(),
            status: status as i32,
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn an_older_state_applied_late_does_not_replace_a_newer_one() {
        let db =
            blangkon_testkit::fixtures::memory_database::<crate::store::migrations::Migrator>()
                .await;
        let suspended = status_event(
            2,
            &pb::VendorSuspended {
                change: change(ven::VendorStatus::Suspended),
            },
        );
        // The verification before it, replayed late (a dead letter).
        let verified = status_event(
            1,
            &pb::VendorVerified {
                change: change(ven::VendorStatus::Verified),
            },
        );
        for event in [suspended, verified] {
            let applied = apply_batch(&db, VENDOR_PROJECTION, &VendorProjection, &[event])
                .await
                .unwrap();
            assert_eq!(applied, vec![Applied::Handled]);
        }
        let row = vendor::Entity::find_by_id(VENDOR.to_string())
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, VendorStatus::Suspended);
    }
}
