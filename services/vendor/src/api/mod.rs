//! The gRPC adapter of `blangkon.vendor.v1.VendorService`: each method
//! decodes its request into a command of domain values, calls the use case
//! on [`Vendors`] with the caller's [`Actor`], and encodes the answer.
//! Errors become statuses in [`status`].

pub mod convert;
#[doc(hidden)]
pub mod fuzzing;
mod status;

use blangkon_domain::validation::{FieldViolationExt, Violation, page_size};
use blangkon_platform::auth::{Actor, actor};
use blangkon_platform::handle;
use blangkon_platform::page;
use blangkon_platform::time;
use blangkon_proto::vendor as pb;
use blangkon_proto::vendor::vendor_service_server::VendorService;
use tonic::{Request, Response, Status};

use crate::Vendors;
use crate::domain::identifiers::RegencyCode;
use crate::domain::regency::NewRegency;
use crate::domain::vendor::{
    Decision, LegalForm, Registration, Scale, TrainingInput, TrainingRecord, VendorStatus,
    decision_reason,
};
use crate::error::{Result, VendorError};
use crate::lookups::VendorListing;
use crate::regencies::RegencyListing;
use crate::verification::Decide;
use blangkon_domain::VendorId;
use convert::{regency_to_proto, training_to_proto, view_to_proto};

const DEFAULT_PAGE_SIZE: u64 = 50;
const MAX_PAGE_SIZE: u64 = 500;
const MAX_NAME_FILTER: usize = 200;

/// The vendor service's gRPC API.
#[derive(Debug, Clone)]
pub struct VendorApi {
    vendors: Vendors,
}

impl VendorApi {
    pub fn new(vendors: Vendors) -> Self {
        Self { vendors }
    }
}

fn vendor_id(id: &str) -> Result<VendorId> {
    Ok(VendorId::parse(id).field("vendor_id")?)
}

impl VendorApi {
    async fn do_add_regency(&self, who: &Actor, req: pb::AddRegencyRequest) -> Result<pb::Regency> {
        let kind = convert::regency_kind_from_proto(req.kind);
        let new = NewRegency::parse(&req.code, &req.name, kind)?;
        let view = self.vendors.add_regency(who, new).await?;
        Ok(regency_to_proto(view))
    }

    async fn do_join_regency(
        &self,
        who: &Actor,
        req: pb::JoinRegencyRequest,
    ) -> Result<pb::Regency> {
        let code = RegencyCode::parse(&req.code).field("code")?;
        Ok(regency_to_proto(
            self.vendors.join_regency(who, code).await?,
        ))
    }

    async fn do_list_regencies(
        &self,
        who: &Actor,
        req: pb::ListRegenciesRequest,
    ) -> Result<pb::ListRegenciesResponse> {
        let listing = RegencyListing::parse(&req.province_code, req.joined_only)?;
        let regencies = self.vendors.list_regencies(who, listing).await?;
        Ok(pb::ListRegenciesResponse {
            regencies: regencies.into_iter().map(regency_to_proto).collect(),
        })
    }

    async fn do_register_vendor(
        &self,
        who: &Actor,
        req: pb::RegisterVendorRequest,
    ) -> Result<pb::Vendor> {
        let registration = Registration::parse(convert::registration_input(req))?;
        let view = self.vendors.register_vendor(who, registration).await?;
        Ok(view_to_proto(view))
    }

    async fn decide(
        &self,
        who: &Actor,
        vendor_id_text: &str,
        decision: Decision,
        reason: &str,
    ) -> Result<pb::Vendor> {
        let field = if decision.needs_reason() {
            "reason"
        } else {
            "note"
        };
        let command = Decide {
            vendor_id: vendor_id(vendor_id_text)?,
            decision,
            reason: decision_reason(decision, field, reason)?,
        };
        Ok(view_to_proto(self.vendors.decide(who, command).await?))
    }

    async fn do_record_training(
        &self,
        who: &Actor,
        req: pb::RecordTrainingRequest,
    ) -> Result<pb::Training> {
        let vendor_id = vendor_id(&req.vendor_id)?;
        let record = TrainingRecord::parse(
            TrainingInput {
                topic: req.topic,
                kind: convert::training_kind_from_proto(req.kind),
                attended_on: req.attended_on,
                organizer: req.organizer,
            },
            time::occurred_now()
                .with_timezone(&time::wib())
                .date_naive(),
        )?;
        let row = self.vendors.record_training(who, vendor_id, record).await?;
        Ok(training_to_proto(row))
    }

    async fn do_get_vendor(&self, who: &Actor, req: pb::GetVendorRequest) -> Result<pb::Vendor> {
        let vendor_id = vendor_id(&req.vendor_id)?;
        let view = pb::VendorView::try_from(req.view)
            .map_err(|_| VendorError::invalid("view", "is not a vendor view"))?;
        let details = view != pb::VendorView::Basic;
        let view = self.vendors.get_vendor(who, vendor_id, details).await?;
        Ok(view_to_proto(view))
    }

    async fn do_list_vendors(
        &self,
        who: &Actor,
        req: pb::ListVendorsRequest,
    ) -> Result<pb::ListVendorsResponse> {
        let listing = vendor_listing(&req)?;
        let page = self.vendors.list_vendors(who, listing).await?;
        Ok(pb::ListVendorsResponse {
            vendors: page
                .vendors
                .into_iter()
                .map(|row| convert::vendor_to_proto(row, page.visibility))
                .collect(),
            next_page_token: page.next_page_token,
        })
    }
}

/// A list request's filters, every bad one named.
fn vendor_listing(req: &pb::ListVendorsRequest) -> Result<VendorListing> {
    let mut violations = Vec::new();
    let page_size =
        page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE).unwrap_or_else(|violation| {
            violations.push(violation);
            DEFAULT_PAGE_SIZE
        });
    let after = page::position(&req.page_token, &mut violations);
    let regency = match req.regency_code.trim() {
        "" => None,
        code => RegencyCode::parse(code)
            .field("regency_code")
            .map_err(|v| violations.push(v))
            .ok(),
    };
    let v = &mut violations;
    let status = enum_filter(v, "status", req.status, VendorStatus::from_proto);
    let legal_form = enum_filter(v, "legal_form", req.legal_form, LegalForm::from_proto);
    let scale = enum_filter(v, "scale", req.scale, Scale::from_proto);
    let name = req.name_contains.trim().to_lowercase();
    if name.chars().count() > MAX_NAME_FILTER {
        violations.push(Violation::new(
            "name_contains",
            format!("must be at most {MAX_NAME_FILTER} characters"),
        ));
    }
    if !violations.is_empty() {
        return Err(VendorError::Invalid(violations));
    }
    Ok(VendorListing {
        regency,
        status,
        legal_form,
        scale,
        name_contains: (!name.is_empty()).then_some(name),
        page_size,
        after,
    })
}

/// A list filter on an enum: none when UNSPECIFIED (0), a violation of
/// `field` when the number names no value.
fn enum_filter<T>(
    violations: &mut Vec<Violation>,
    field: &str,
    value: i32,
    from_proto: fn(i32) -> Option<T>,
) -> Option<T> {
    if value == 0 {
        return None;
    }
    let parsed = from_proto(value);
    if parsed.is_none() {
        violations.push(Violation::new(
            field,
            format!("{value} is not a valid value"),
        ));
    }
    parsed
}

/// A decision method: its request's vendor id and reason (or note) go to
/// [`VendorApi::decide`].
macro_rules! decide {
    ($self:ident, $request:ident, $decision:expr, $reason:ident) => {{
        let who = actor(&$request)?;
        let req = $request.into_inner();
        $self
            .decide(&who, &req.vendor_id, $decision, &req.$reason)
            .await
            .map(Response::new)
            .map_err(Status::from)
    }};
}

#[tonic::async_trait]
impl VendorService for VendorApi {
    async fn add_regency(
        &self,
        request: Request<pb::AddRegencyRequest>,
    ) -> Result<Response<pb::Regency>, Status> {
        handle!(self, request, do_add_regency)
    }

    async fn join_regency(
        &self,
        request: Request<pb::JoinRegencyRequest>,
    ) -> Result<Response<pb::Regency>, Status> {
        handle!(self, request, do_join_regency)
    }

    async fn list_regencies(
        &self,
        request: Request<pb::ListRegenciesRequest>,
    ) -> Result<Response<pb::ListRegenciesResponse>, Status> {
        handle!(self, request, do_list_regencies)
    }

    async fn register_vendor(
        &self,
        request: Request<pb::RegisterVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        handle!(self, request, do_register_vendor)
    }

    async fn verify_vendor(
        &self,
        request: Request<pb::VerifyVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        decide!(self, request, Decision::Verify, note)
    }

    async fn reject_vendor(
        &self,
        request: Request<pb::RejectVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        decide!(self, request, Decision::Reject, reason)
    }

    async fn suspend_vendor(
        &self,
        request: Request<pb::SuspendVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        decide!(self, request, Decision::Suspend, reason)
    }

    async fn reinstate_vendor(
        &self,
        request: Request<pb::ReinstateVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        decide!(self, request, Decision::Reinstate, note)
    }

    async fn record_training(
        &self,
        request: Request<pb::RecordTrainingRequest>,
    ) -> Result<Response<pb::Training>, Status> {
        handle!(self, request, do_record_training)
    }

    async fn get_vendor(
        &self,
        request: Request<pb::GetVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        handle!(self, request, do_get_vendor)
    }

    async fn list_vendors(
        &self,
        request: Request<pb::ListVendorsRequest>,
    ) -> Result<Response<pb::ListVendorsResponse>, Status> {
        handle!(self, request, do_list_vendors)
    }
}
