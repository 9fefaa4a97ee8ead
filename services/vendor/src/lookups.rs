//! Reading vendors: one by id, or a filtered list in pages. What a caller
//! sees of each is the policy's to say.

use blangkon_domain::{Actor, LegalForm, RegencyCode, Scale, VendorId, VendorStatus};
use blangkon_platform::page::{self, AfterId};

use crate::Vendors;
use crate::error::{Result, VendorError};
use crate::policy::{self, VendorRef, Visibility};
use crate::store::{self, VendorFilter, vendor};
use crate::verification::VendorView;

/// Which vendors to list, every field checked by the adapter.
#[derive(Debug, Clone, Default)]
pub struct VendorListing {
    pub regency: Option<RegencyCode>,
    pub status: Option<VendorStatus>,
    pub legal_form: Option<LegalForm>,
    pub scale: Option<Scale>,
    /// Lower-case, at most 200 characters.
    pub name_contains: Option<String>,
    pub page_size: u64,
    pub after: Option<AfterId>,
}

/// A page of vendors.
#[derive(Debug, Clone)]
pub struct VendorPage {
    pub vendors: Vec<vendor::Model>,
    pub visibility: Visibility,
    pub next_page_token: String,
}

impl Vendors {
    /// One vendor; with its history and trainings when `details`.
    pub async fn get_vendor(
        &self,
        actor: &Actor,
        vendor_id: VendorId,
        details: bool,
    ) -> Result<VendorView> {
        let vendor_id = vendor_id.to_string();
        let row = store::find_vendor(&self.db, &vendor_id)
            .await?
            .ok_or_else(|| VendorError::NotFound(format!("vendor {vendor_id}")))?;
        let visibility = policy::read_vendor(
            actor,
            VendorRef {
                id: &row.id,
                regency: &row.regency_code,
                owner_subject: row.owner_subject.as_deref(),
            },
        )?;
        if details {
            self.with_details(row, visibility).await
        } else {
            Ok(VendorView::basic(row, visibility))
        }
    }

    pub async fn list_vendors(&self, actor: &Actor, listing: VendorListing) -> Result<VendorPage> {
        let (regency_code, visibility) = policy::list_vendors(actor, listing.regency)?;
        let filter = VendorFilter {
            regency_code,
            status: listing.status,
            legal_form: listing.legal_form,
            scale: listing.scale,
            name_contains: listing.name_contains,
        };
        let limit = listing.page_size;
        let after = listing.after.map(|a| a.0);
        let mut rows = store::list_vendors(&self.db, &filter, after.as_deref(), limit + 1).await?;
        let next_page_token = page::next_page(&mut rows, limit, |last| AfterId(last.id.clone()));
        Ok(VendorPage {
            vendors: rows,
            visibility,
            next_page_token,
        })
    }
}
