//! Regencies and cities join Blangkon: the province adds the ones it knows
//! (or configuration does at start) and lets them join; anyone signed in
//! may read which have.

use blangkon_domain::{Actor, RegencyCode};
use blangkon_platform::{db, outbox, time};

use crate::Vendors;
use crate::domain::regency::NewRegency;
use crate::error::{Result, VendorError};
use crate::events;
use crate::policy;
use crate::store::{self, VendorCounts, regency};

/// A regency with its vendor counts.
#[derive(Debug, Clone)]
pub struct RegencyView {
    pub regency: regency::Model,
    pub vendors: VendorCounts,
}

/// Which regencies to list.
#[derive(Debug, Clone, Default)]
pub struct RegencyListing {
    /// Two digits (`33`), checked by [`RegencyListing::parse`].
    pub province_code: Option<String>,
    pub joined_only: bool,
}

impl RegencyListing {
    pub fn parse(province_code: &str, joined_only: bool) -> Result<Self> {
        let province = province_code.trim();
        if province.is_empty() {
            return Ok(Self {
                province_code: None,
                joined_only,
            });
        }
        if province.len() != 2 || !province.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VendorError::invalid(
                "province_code",
                "must be two digits, e.g. 33",
            ));
        }
        Ok(Self {
            province_code: Some(province.to_string()),
            joined_only,
        })
    }
}

impl Vendors {
    /// Adds a regency the province did not know yet (not joined).
    pub async fn add_regency(&self, actor: &Actor, new: NewRegency) -> Result<RegencyView> {
        policy::manage_regencies(actor, "add regencies")?;
        if !store::add_regency(&self.db, &new, &actor.subject).await? {
            return Err(VendorError::AlreadyExists {
                field: "code",
                message: format!("regency {} is already known", new.code),
            });
        }
        let regency = store::find_regency(&self.db, &new.code)
            .await?
            .ok_or_else(|| VendorError::NotFound(format!("regency {}", new.code)))?;
        Ok(RegencyView {
            regency,
            vendors: VendorCounts::default(),
        })
    }

    /// Lets a known regency join: from now on it onboards its vendors.
    pub async fn join_regency(&self, actor: &Actor, code: RegencyCode) -> Result<RegencyView> {
        policy::manage_regencies(actor, "let regencies join")?;
        let now = time::occurred_now();
        let txn = db::begin_write(&self.db).await?;
        let mut row = store::find_regency(&txn, &code).await?.ok_or_else(|| {
            VendorError::NotFound(format!("regency {code} is not known; add it first"))
        })?;
        if !store::join_regency(&txn, &code, now, &actor.subject).await? {
            return Err(VendorError::AlreadyExists {
                field: "code",
                message: format!("regency {code} has already joined"),
            });
        }
        row.joined_at = Some(now);
        row.joined_by = Some(actor.subject.clone());
        outbox::enqueue(&txn, events::regency_joined(&row, now, actor)).await?;
        let counts = store::vendor_counts(&txn, Some(&code)).await?;
        txn.commit().await?;
        self.relay.wake();
        tracing::info!(regency = %code, by = actor.role_name(), "regency joined");
        Ok(RegencyView {
            regency: row,
            vendors: counts.get(code.as_str()).copied().unwrap_or_default(),
        })
    }

    pub async fn list_regencies(
        &self,
        actor: &Actor,
        listing: RegencyListing,
    ) -> Result<Vec<RegencyView>> {
        policy::list_regencies(actor)?;
        let rows = store::list_regencies(
            &self.db,
            listing.province_code.as_deref(),
            listing.joined_only,
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(regency, vendors)| RegencyView { regency, vendors })
            .collect())
    }
}
