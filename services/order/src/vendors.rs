//! What the order service knows of vendors. It keeps its own projection of
//! the vendor service's events (`blangkon.vendor.events.v1`), as the
//! catalog does, so that placing checks the vendor and stamps the order
//! with who sold without a call per order. The vendor service stays the
//! authority: placing asks it whenever the projection cannot say yes.

use std::collections::BTreeMap;

use blangkon_domain::vendor_events::{self, VendorState};
use blangkon_domain::{LegalForm, Scale, VendorStatus};
use blangkon_platform::inbox::{EventHandler, HandlerError, ReceivedEvent};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::error::OrderError;
use crate::peers::Peers;
use crate::store::{self, vendor};

/// Consumer group (and inbox name) of the vendor projection.
pub const VENDOR_PROJECTION: &str = "order-vendor-projection";

/// A vendor as an order records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    pub vendor_id: String,
    pub name: String,
    pub regency_code: String,
    /// Stored codes; empty when this build does not know them.
    pub legal_form: String,
    pub scale: String,
}

/// How many vendor checks each source answered, for the metrics: a
/// projection that has stopped shows as checks moving to the vendor
/// service.
#[derive(Debug, Default)]
pub struct CheckCounts {
    pub by_projection: std::sync::atomic::AtomicU64,
    pub by_vendor_service: std::sync::atomic::AtomicU64,
}

impl CheckCounts {
    pub fn count(&self, by: AnsweredBy) {
        let counter = match by {
            AnsweredBy::Projection => &self.by_projection,
            AnsweredBy::VendorService => &self.by_vendor_service,
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How a vendor check was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnsweredBy {
    /// The order service's own projection: no call.
    Projection,
    /// The vendor service, asked because the projection had not heard of
    /// the vendor, lacked its name, or did not hold it verified.
    VendorService,
}

/// The seller `vendor_id` if it may take an order now.
///
/// A vendor the projection holds verified is answered from it. Any other
/// answer is the vendor service's to give: the projection may not have
/// heard yet of a verification or a reinstatement that the catalog, which
/// has already held the stock, has. So a refusal is never the
/// projection's alone, and a suspension stops orders once the projection
/// applies it: the vendor service's relay, the broker and this consumer,
/// tens of milliseconds in operation (`make bench-order` measures it).
/// While the vendor events do not flow (the broker down, the vendor
/// service's relay stuck, this consumer behind) a suspension waits with
/// them, as it does in the catalog: their alerts are the operators' cue
/// (deploy/RUNBOOK.md).
pub async fn verified_seller(
    db: &impl ConnectionTrait,
    peers: &Peers,
    vendor_id: &str,
) -> Result<(Seller, AnsweredBy), OrderError> {
    if let Some(row) = store::find_vendor(db, vendor_id).await?
        && row.status == VendorStatus::Verified
        && !row.name.is_empty()
    {
        return Ok((
            Seller {
                vendor_id: row.vendor_id,
                name: row.name,
                regency_code: row.regency_code,
                legal_form: row.legal_form,
                scale: row.scale,
            },
            AnsweredBy::Projection,
        ));
    }
    let vendor = peers.vendor(vendor_id).await?;
    if VendorStatus::from_proto(vendor.status) != Some(VendorStatus::Verified) {
        return Err(OrderError::NotNow(format!(
            "vendor {vendor_id} is not verified and cannot take orders"
        )));
    }
    Ok((
        Seller {
            vendor_id: vendor_id.to_string(),
            // As the projection stores it.
            name: vendor.name.trim().to_string(),
            regency_code: vendor.regency_code,
            legal_form: LegalForm::from_proto(vendor.legal_form)
                .map_or("", LegalForm::as_str)
                .to_string(),
            scale: Scale::from_proto(vendor.scale)
                .map_or("", Scale::as_str)
                .to_string(),
        },
        AnsweredBy::VendorService,
    ))
}

/// Keeps `vendors` in step with the vendor service's events.
#[derive(Debug, Clone, Copy, Default)]
pub struct VendorProjection;

#[async_trait::async_trait]
impl EventHandler for VendorProjection {
    /// A batch's vendors are written together, each as its last event left
    /// it (a vendor's events come in order, on one partition), in vendor
    /// order; a name heard earlier in the batch is kept.
    async fn handle_batch(
        &self,
        txn: &DatabaseTransaction,
        events: &[ReceivedEvent],
    ) -> Result<(), HandlerError> {
        let mut changed: BTreeMap<String, vendor::Model> = BTreeMap::new();
        for event in events {
            let Some(mut row) = vendor_change(event)? else {
                continue;
            };
            tracing::debug!(vendor_id = %row.vendor_id, status = %row.status, "vendor status projected");
            if let Some(earlier) = changed.remove(&row.vendor_id)
                && row.name.is_empty()
            {
                row.name = earlier.name;
            }
            changed.insert(row.vendor_id.clone(), row);
        }
        if changed.is_empty() {
            return Ok(());
        }
        store::upsert_vendors(txn, changed.into_values().collect()).await?;
        Ok(())
    }
}

/// The vendor row `event` leaves, if it is a vendor's registration or
/// status change (without a name: status changes do not carry it).
fn vendor_change(event: &ReceivedEvent) -> Result<Option<vendor::Model>, HandlerError> {
    let Some(projected) = vendor_events::projected(&event.envelope) else {
        return Ok(None);
    };
    let projected = projected.map_err(HandlerError::Unusable)?;
    Ok(Some(vendor_row(
        projected.state,
        projected.name.unwrap_or_default(),
        event.occurred_at(),
    )))
}

fn vendor_row(state: VendorState, name: String, at: DateTime<Utc>) -> vendor::Model {
    vendor::Model {
        legal_form: state.legal_form_code().to_string(),
        scale: state.scale_code().to_string(),
        vendor_id: state.vendor_id,
        name,
        regency_code: state.regency_code,
        status: state.status,
        status_at: at,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use blangkon_platform::inbox::{Applied, apply_batch};
    use blangkon_platform::kafka::topics;
    use blangkon_platform::outbox::NewEvent;
    use blangkon_proto::events as pb;
    use blangkon_proto::vendor as ven;
    use chrono::TimeZone as _;

    const VENDOR: &str = "01934a1e-0000-7000-8000-000000000001";

    fn event<M: prost::Name>(minute: u32, message: &M) -> ReceivedEvent {
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

    fn registered() -> ReceivedEvent {
        event(
            0,
            &pb::VendorRegistered {
                vendor_id: VENDOR.into(),
                name: " Katering Bu Sri ".into(),
                regency_code: "33.74".into(),
                legal_form: ven::LegalForm::Cv as i32,
                scale: ven::Scale::Micro as i32,
                status: ven::VendorStatus::Pending as i32,
                actor: None,
            },
        )
    }

    fn change(minute: u32, status: ven::VendorStatus) -> pb::VendorStatusChange {
        pb::VendorStatusChange {
            vendor_id: VENDOR.into(),
            regency_code: "33.74".into(),
            status: status as i32,
            legal_form: ven::LegalForm::Cv as i32,
            scale: ven::Scale::Small as i32,
            reason: format!("minute {minute}"),
            ..Default::default()
        }
    }

    fn verified(minute: u32) -> ReceivedEvent {
        event(
            minute,
            &pb::VendorVerified {
                change: Some(change(minute, ven::VendorStatus::Verified)),
            },
        )
    }

    fn suspended(minute: u32) -> ReceivedEvent {
        event(
            minute,
            &pb::VendorSuspended {
                change: Some(change(minute, ven::VendorStatus::Suspended)),
            },
        )
    }

    async fn apply(db: &sea_orm::DatabaseConnection, events: &[ReceivedEvent]) -> Vec<Applied> {
        apply_batch(db, VENDOR_PROJECTION, &VendorProjection, events)
            .await
            .unwrap()
    }

    async fn db() -> sea_orm::DatabaseConnection {
        blangkon_testkit::fixtures::memory_database::<crate::store::migrations::Migrator>().await
    }

    #[tokio::test]
    async fn a_vendor_keeps_its_registered_name_through_its_status_changes() {
        let db = db().await;
        // In one batch, and one event at a time: the same row.
        let batched = db;
        assert_eq!(
            apply(&batched, &[registered(), verified(1), suspended(2)]).await,
            vec![Applied::Handled; 3]
        );
        let one_by_one = self::db().await;
        for e in [registered(), verified(1), suspended(2)] {
            assert_eq!(apply(&one_by_one, &[e]).await, vec![Applied::Handled]);
        }
        for db in [&batched, &one_by_one] {
            let row = store::find_vendor(db, VENDOR).await.unwrap().unwrap();
            assert_eq!(row.name, "Katering Bu Sri");
            assert_eq!(row.status, VendorStatus::Suspended);
            assert_eq!(row.scale, "small", "the latest change's scale");
            assert_eq!(row.legal_form, "cv");
            assert_eq!(row.regency_code, "33.74");
            assert_eq!(
                row.status_at,
                Utc.with_ymd_and_hms(2026, 3, 2, 1, 2, 0).unwrap()
            );
        }
    }

    #[tokio::test]
    async fn an_older_state_applied_late_does_not_replace_a_newer_one() {
        // A dead letter replayed after the events behind it: the vendor
        // verified at minute 1, suspended at minute 2, and the
        // verification applied again last.
        let db = db().await;
        apply(&db, &[registered(), suspended(2)]).await;
        assert_eq!(apply(&db, &[verified(1)]).await, vec![Applied::Handled]);
        let row = store::find_vendor(&db, VENDOR).await.unwrap().unwrap();
        assert_eq!(row.status, VendorStatus::Suspended);
        assert_eq!(row.name, "Katering Bu Sri");
    }

    #[tokio::test]
    async fn a_status_change_without_its_registration_leaves_a_row_without_a_name() {
        // The registration fell out of the topic's retention: the vendor
        // is known verified, but not who it is, so placing asks the
        // vendor service (`verified_seller` needs a name).
        let db = db().await;
        apply(&db, &[verified(1)]).await;
        let row = store::find_vendor(&db, VENDOR).await.unwrap().unwrap();
        assert_eq!(row.status, VendorStatus::Verified);
        assert!(row.name.is_empty());
    }

    #[tokio::test]
    async fn events_that_are_not_the_vendors_change_nothing_and_bad_ones_are_set_aside() {
        let db = db().await;
        let training = event(
            3,
            &pb::TrainingRecorded {
                vendor_id: VENDOR.into(),
                regency_code: "33.74".into(),
                training_id: "01934a1e-0000-7000-8000-0000000000aa".into(),
                topic: "Pemasaran digital".into(),
                kind: "training".into(),
                attended_on: None,
                actor: None,
            },
        );
        let mut bad = change(4, ven::VendorStatus::Verified);
        bad.regency_code = "99.99.99".into();
        let bad = event(4, &pb::VendorVerified { change: Some(bad) });
        let applied = apply(&db, &[registered(), training, bad]).await;
        assert_eq!(
            applied,
            vec![Applied::Handled, Applied::Handled, Applied::DeadLettered]
        );
        let row = store::find_vendor(&db, VENDOR).await.unwrap().unwrap();
        assert_eq!(
            row.status,
            VendorStatus::Pending,
            "the bad change was not applied"
        );
    }
}
