//! The regency checks a vendor's documents and decides: verify or reject a
//! pending vendor, suspend a verified one, reinstate a suspended one. Every
//! decision is kept with its actor, role, time and reason, and announced.
//! Trainings the vendor attended are recorded here too.

use blangkon_domain::{Actor, VendorId};
use blangkon_platform::{db, outbox, time};

use crate::Vendors;
use crate::domain::vendor::{Decision, TrainingRecord, next_status};
use crate::error::{Result, VendorError};
use crate::events;
use crate::policy::{self, Visibility};
use crate::store::{self, status_history, training, vendor};

/// Another vendor with one of the same identifiers became active while
/// this decision was being made.
fn verified_meanwhile(e: sea_orm::DbErr) -> VendorError {
    if db::is_unique_violation(&e) {
        VendorError::NotNow(
            "another vendor with the same NIK, NIB or NPWP was verified meanwhile: reject this registration as a duplicate".into(),
        )
    } else {
        VendorError::Store(e)
    }
}

/// A decision on one vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decide {
    pub vendor_id: VendorId,
    pub decision: Decision,
    /// Checked by [`crate::domain::vendor::decision_reason`].
    pub reason: String,
}

/// A vendor as its caller may see it, with its history and trainings when
/// they were read.
#[derive(Debug, Clone)]
pub struct VendorView {
    pub vendor: vendor::Model,
    pub visibility: Visibility,
    pub history: Vec<status_history::Model>,
    pub trainings: Vec<training::Model>,
}

impl VendorView {
    /// The record alone.
    pub fn basic(vendor: vendor::Model, visibility: Visibility) -> Self {
        Self {
            vendor,
            visibility,
            history: Vec::new(),
            trainings: Vec::new(),
        }
    }
}

impl Vendors {
    pub async fn decide(&self, actor: &Actor, command: Decide) -> Result<VendorView> {
        let Decide {
            vendor_id,
            decision,
            reason,
        } = command;
        let action = format!("{} vendors", decision.as_str());
        policy::administer_vendors(actor, &action)?;
        let vendor_id = vendor_id.to_string();
        let txn = db::begin_write(&self.db).await?;
        let mut row = store::find_vendor(&txn, &vendor_id)
            .await?
            .ok_or_else(|| VendorError::NotFound(format!("vendor {vendor_id}")))?;
        policy::administer_vendor_of(actor, &row.regency_code, &action)?;
        let from = row.status;
        let to = next_status(from, decision)?;
        // One active vendor per NIK, NIB and NPWP: a duplicate registration
        // waits for the regency to reject it (or the other vendor).
        if decision == Decision::Verify
            && let Some((field, holder)) = store::active_holder(&txn, &row).await?
        {
            return Err(VendorError::NotNow(format!(
                "its {} belongs to vendor {holder}, which is active: reject this registration as a duplicate, or reject or suspend that vendor first",
                field.to_uppercase()
            )));
        }
        let now = time::occurred_now();
        let changed = store::change_status(&txn, &vendor_id, from, to, now)
            .await
            .map_err(verified_meanwhile)?;
        if !changed {
            return Err(VendorError::Changed(format!("vendor {vendor_id}")));
        }
        row.status = to;
        row.updated_at = now;
        store::record_history(
            &txn,
            store::HistoryEntry {
                vendor_id: &vendor_id,
                from: Some(from),
                to,
                actor: &actor.subject,
                actor_role: actor.role_name(),
                reason: &reason,
                at: now,
            },
        )
        .await?;
        outbox::enqueue(
            &txn,
            events::status_changed(&row, decision, from, to, &reason, now, actor),
        )
        .await?;
        txn.commit().await.map_err(verified_meanwhile)?;
        self.relay.wake();
        self.counts.reached(to.as_str());
        tracing::info!(%vendor_id, from = from.as_str(), to = to.as_str(), by = actor.role_name(), "vendor status changed");
        self.with_details(row, Visibility::Full).await
    }

    /// Records a training or mentoring session the vendor attended.
    pub async fn record_training(
        &self,
        actor: &Actor,
        vendor_id: VendorId,
        record: TrainingRecord,
    ) -> Result<training::Model> {
        policy::administer_vendors(actor, "record trainings")?;
        let vendor_id = vendor_id.to_string();
        let txn = db::begin_write(&self.db).await?;
        let vendor = store::find_vendor(&txn, &vendor_id)
            .await?
            .ok_or_else(|| VendorError::NotFound(format!("vendor {vendor_id}")))?;
        policy::administer_vendor_of(actor, &vendor.regency_code, "record trainings")?;
        let row = training::Model {
            id: uuid::Uuid::now_v7().to_string(),
            vendor_id,
            topic: record.topic,
            kind: record.kind.as_str().into(),
            attended_on: record.attended_on,
            organizer: record.organizer,
            recorded_by: actor.subject.clone(),
            recorded_at: time::occurred_now(),
        };
        store::insert_training(&txn, training::ActiveModel::from(row.clone())).await?;
        outbox::enqueue(
            &txn,
            events::training_recorded(&row, &vendor.regency_code, actor),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        Ok(row)
    }

    /// `row` with its history and trainings, for those who may see them:
    /// the entries name the people who acted and why (a rejection's or a
    /// suspension's reasons), which are not everyone's to read.
    pub(crate) async fn with_details(
        &self,
        row: vendor::Model,
        visibility: Visibility,
    ) -> Result<VendorView> {
        if !visibility.personal() {
            return Ok(VendorView::basic(row, visibility));
        }
        let history = store::history(&self.db, &row.id).await?;
        let trainings = store::trainings(&self.db, &row.id).await?;
        Ok(VendorView {
            vendor: row,
            visibility,
            history,
            trainings,
        })
    }
}
