//! A vendor joins Blangkon: its regency's admin (or the province, or the
//! vendor's own account) registers it, and it waits, pending, for the
//! regency's verification.

use blangkon_domain::{Actor, Role, VendorStatus};
use blangkon_platform::db::{self, is_unique_violation};
use blangkon_platform::{outbox, time};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::Vendors;
use crate::domain::vendor::Registration;
use crate::error::{Result, VendorError};
use crate::events;
use crate::policy::{self, VendorRef};
use crate::store::{self, vendor};
use crate::verification::VendorView;

impl Vendors {
    /// Registers a new vendor, pending verification.
    pub async fn register_vendor(
        &self,
        actor: &Actor,
        registration: Registration,
    ) -> Result<VendorView> {
        policy::register_in(actor, &registration.regency_code)?;
        let txn = db::begin_write(&self.db).await?;
        registrable(&txn, actor, &registration).await?;
        // Taken identifiers are not refused here, which would tell anyone
        // registering whose NIK is registered: the registration waits for
        // the regency's review like any other, marked as a duplicate.
        let duplicate_of = store::taken_identifier(&txn, &registration)
            .await?
            .map(|(_, holder)| holder);
        let now = time::occurred_now();
        let mut row = new_vendor(registration, actor, now);
        row.duplicate_of = duplicate_of;
        store::insert_vendor(&txn, vendor::ActiveModel::from(row.clone()))
            .await
            .map_err(conflict_on_unique)?;
        store::record_history(
            &txn,
            store::HistoryEntry {
                vendor_id: &row.id,
                from: None,
                to: VendorStatus::Pending,
                actor: &actor.subject,
                actor_role: actor.role_name(),
                reason: "registered",
                at: now,
            },
        )
        .await?;
        outbox::enqueue(&txn, events::vendor_registered(&row, actor)).await?;
        txn.commit().await.map_err(conflict_on_unique)?;
        self.relay.wake();
        self.counts.reached(VendorStatus::Pending.as_str());
        tracing::info!(
            vendor_id = %row.id,
            regency = %row.regency_code,
            by = actor.role_name(),
            duplicate = row.duplicate_of.is_some(),
            "vendor registered"
        );
        let visibility = policy::read_vendor(actor, VendorRef::of(&row))?;
        Ok(VendorView::basic(row, visibility))
    }
}

/// A concurrent self-registration of the same account committed first
/// (the one unique key a registration still has).
fn conflict_on_unique(e: DbErr) -> VendorError {
    if is_unique_violation(&e) {
        VendorError::AlreadyExists {
            field: "account",
            message: "this account already registered a vendor".into(),
        }
    } else {
        VendorError::Store(e)
    }
}

/// Whether `registration` may be added now: its regency known and joined,
/// its NIK issued in a known regency, and a self-registering account
/// without a vendor yet.
async fn registrable(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    registration: &Registration,
) -> Result<()> {
    let regency_code = &registration.regency_code;
    let regency = store::find_regency(txn, regency_code)
        .await?
        .ok_or_else(|| {
            VendorError::invalid(
                "regency_code",
                format!("{regency_code} is not a known regency"),
            )
        })?;
    if regency.joined_at.is_none() {
        return Err(VendorError::NotNow(format!(
            "regency {regency_code} ({}) has not joined Blangkon yet",
            regency.name
        )));
    }
    if let Some(nik) = &registration.nik {
        let issued_in = nik.regency_code();
        if store::find_regency(txn, issued_in).await?.is_none() {
            return Err(VendorError::invalid(
                "nik",
                format!(
                    "its first four digits name regency {issued_in}, which is not a known regency code"
                ),
            ));
        }
    }
    if actor.role() == Some(Role::Vendor)
        && let Some(existing) = store::owned_vendor(txn, &actor.subject).await?
    {
        return Err(VendorError::AlreadyExists {
            field: "account",
            message: format!("this account already registered vendor {existing}"),
        });
    }
    Ok(())
}

/// The stored row of a new, pending vendor.
fn new_vendor(registration: Registration, actor: &Actor, now: DateTime<Utc>) -> vendor::Model {
    let regency_code = registration.regency_code.as_str().to_string();
    vendor::Model {
        id: uuid::Uuid::now_v7().to_string(),
        name_search: registration.name.to_lowercase(),
        name: registration.name,
        legal_form: registration.legal_form,
        nik: registration.nik.map(|n| n.as_str().into()),
        nib: registration.nib.map(|n| n.as_str().into()),
        npwp: registration.npwp.map(|n| n.as_str().into()),
        scale: registration.scale,
        address: registration.address,
        regency_code,
        phone: registration.phone,
        email: registration.email,
        bank_name: registration.bank_name,
        bank_account_number: registration.account_number,
        bank_account_holder: registration.account_holder,
        status: VendorStatus::Pending,
        owner_subject: (actor.role() == Some(Role::Vendor)).then(|| actor.subject.clone()),
        registered_by: actor.subject.clone(),
        registered_at: now,
        updated_at: now,
        duplicate_of: None,
    }
}
