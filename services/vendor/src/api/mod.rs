//! gRPC handlers of `blangkon.vendor.v1.VendorService`: authorise the
//! caller, parse the request into domain values, run the change and its
//! event in one transaction, and wake the outbox relay.

pub mod convert;
pub mod error;

use blangkon_domain::VendorId;
use blangkon_platform::auth::{Principal, Role, principal};
use blangkon_platform::db::{self, is_unique_violation};
use blangkon_platform::handle;
use blangkon_platform::metrics::StatusCounts;
use blangkon_platform::outbox::{self, RelayWaker};
use blangkon_platform::page::{self, AfterId};
use blangkon_platform::validation::FieldViolationExt;
use blangkon_proto::vendor as pb;
use blangkon_proto::vendor::vendor_service_server::VendorService;
use sea_orm::{DatabaseConnection, DbErr};
use tonic::{Request, Response, Status};

use crate::domain::Violation;
use crate::domain::identifiers::RegencyCode;
use crate::domain::regency::NewRegency;
use crate::domain::vendor::{
    Decision, LegalForm, Registration, Scale, TrainingInput, TrainingRecord, VendorStatus,
    next_status,
};
use crate::events;
use crate::store::{self, VendorFilter, training, vendor};
use convert::Visibility;
pub use error::ApiError;

const DEFAULT_PAGE_SIZE: u64 = 50;
const MAX_PAGE_SIZE: u64 = 500;
const MAX_REASON: usize = 1000;

/// The vendor service's gRPC API.
#[derive(Debug, Clone)]
pub struct VendorApi {
    db: DatabaseConnection,
    relay: RelayWaker,
    /// Vendors by the status they reached.
    counts: StatusCounts,
}

impl VendorApi {
    pub fn new(db: DatabaseConnection, relay: RelayWaker) -> Self {
        Self {
            db,
            relay,
            counts: StatusCounts::default(),
        }
    }

    /// Counts registrations and status changes into `counts`.
    pub fn counting(mut self, counts: StatusCounts) -> Self {
        self.counts = counts;
        self
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn require(principal: &Principal, roles: &[Role], action: &str) -> ApiResult<()> {
    if roles.contains(&principal.role) {
        Ok(())
    } else {
        Err(ApiError::denied(format!(
            "role {} may not {action}",
            principal.role
        )))
    }
}

/// Province admins act everywhere; a regency admin only on its regency.
fn require_admin_of(principal: &Principal, regency_code: &str, action: &str) -> ApiResult<()> {
    match principal.role {
        Role::ProvinceAdmin => Ok(()),
        Role::RegencyAdmin if principal.administers_regency(regency_code) => Ok(()),
        Role::RegencyAdmin => Err(ApiError::denied(format!(
            "a regency admin of {} may not {action} in regency {regency_code}",
            principal.regency.as_deref().unwrap_or("?")
        ))),
        role => Err(ApiError::denied(format!("role {role} may not {action}"))),
    }
}

fn parse_vendor_id(id: &str) -> ApiResult<String> {
    Ok(VendorId::parse(id).field("vendor_id")?.to_string())
}

/// A reason or note: required for some decisions, bounded for all.
fn parse_reason(field: &str, value: &str, required: bool) -> ApiResult<String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(ApiError::invalid(field, "is required"));
    }
    if value.chars().count() > MAX_REASON {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {MAX_REASON} characters"),
        ));
    }
    Ok(value.to_string())
}

fn conflict_on_unique(e: DbErr) -> ApiError {
    if is_unique_violation(&e) {
        ApiError::AlreadyExists {
            field: "nik".into(),
            message: "a vendor with this NIK, NIB or NPWP is already registered".into(),
        }
    } else {
        ApiError::Db(e)
    }
}

impl VendorApi {
    async fn do_add_regency(
        &self,
        who: &Principal,
        req: pb::AddRegencyRequest,
    ) -> ApiResult<pb::Regency> {
        require(who, &[Role::ProvinceAdmin], "add regencies")?;
        let new = NewRegency::parse(
            &req.code,
            &req.name,
            convert::regency_kind_from_proto(req.kind),
        )
        .map_err(ApiError::Invalid)?;
        if !store::add_regency(&self.db, &new, &who.subject).await? {
            return Err(ApiError::AlreadyExists {
                field: "code".into(),
                message: format!("regency {} is already known", new.code),
            });
        }
        let row = store::find_regency(&self.db, &new.code)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("regency {}", new.code)))?;
        Ok(convert::regency_to_proto(
            row,
            store::VendorCounts::default(),
        ))
    }

    async fn do_join_regency(
        &self,
        who: &Principal,
        req: pb::JoinRegencyRequest,
    ) -> ApiResult<pb::Regency> {
        require(who, &[Role::ProvinceAdmin], "let regencies join")?;
        let code = RegencyCode::parse(&req.code).field("code")?;
        let now = blangkon_platform::time::now();
        let txn = db::begin_write(&self.db).await?;
        let mut row = store::find_regency(&txn, &code).await?.ok_or_else(|| {
            ApiError::NotFound(format!("regency {code} is not known; add it first"))
        })?;
        if !store::join_regency(&txn, &code, now, &who.subject).await? {
            return Err(ApiError::AlreadyExists {
                field: "code".into(),
                message: format!("regency {code} has already joined"),
            });
        }
        row.joined_at = Some(now);
        row.joined_by = Some(who.subject.clone());
        outbox::enqueue(&txn, events::regency_joined(&row, now, who)).await?;
        let counts = store::vendor_counts(&txn, Some(&code)).await?;
        txn.commit().await?;
        self.relay.wake();
        tracing::info!(regency = %code, by = %who.subject, "regency joined");
        let counts = counts.get(code.as_str()).copied().unwrap_or_default();
        Ok(convert::regency_to_proto(row, counts))
    }

    async fn do_list_regencies(
        &self,
        _who: &Principal,
        req: pb::ListRegenciesRequest,
    ) -> ApiResult<pb::ListRegenciesResponse> {
        let province = req.province_code.trim();
        let is_province_code = province.len() == 2 && province.bytes().all(|b| b.is_ascii_digit());
        if !province.is_empty() && !is_province_code {
            return Err(ApiError::invalid(
                "province_code",
                "must be two digits, e.g. 33",
            ));
        }
        let rows = store::list_regencies(
            &self.db,
            (!province.is_empty()).then_some(province),
            req.joined_only,
        )
        .await?;
        Ok(pb::ListRegenciesResponse {
            regencies: rows
                .into_iter()
                .map(|(row, counts)| convert::regency_to_proto(row, counts))
                .collect(),
        })
    }

    async fn do_register_vendor(
        &self,
        who: &Principal,
        req: pb::RegisterVendorRequest,
    ) -> ApiResult<pb::Vendor> {
        require(
            who,
            &[Role::ProvinceAdmin, Role::RegencyAdmin, Role::Vendor],
            "register vendors",
        )?;
        let registration =
            Registration::parse(convert::registration_input(req)).map_err(ApiError::Invalid)?;
        let regency_code = registration.regency_code.clone();
        if who.role == Role::RegencyAdmin {
            require_admin_of(who, regency_code.as_str(), "register vendors")?;
        }
        if who.role == Role::Vendor
            && let Some(bound) = &who.vendor_id
        {
            return Err(ApiError::denied(format!(
                "this account already acts for vendor {bound}"
            )));
        }

        let txn = db::begin_write(&self.db).await?;
        registrable(&txn, who, &registration).await?;
        let now = blangkon_platform::time::now();
        let row = new_vendor(registration, who, now);
        store::insert_vendor(&txn, vendor::ActiveModel::from(row.clone()))
            .await
            .map_err(conflict_on_unique)?;
        store::record_history(
            &txn,
            store::HistoryEntry {
                vendor_id: &row.id,
                from: None,
                to: VendorStatus::Pending,
                actor: &who.subject,
                actor_role: who.role.as_str(),
                reason: "registered",
                at: now,
            },
        )
        .await?;
        outbox::enqueue(&txn, events::vendor_registered(&row, who)).await?;
        txn.commit().await.map_err(conflict_on_unique)?;
        self.relay.wake();
        self.counts.reached(VendorStatus::Pending.as_str());
        tracing::info!(vendor_id = %row.id, regency = %row.regency_code, by = %who.subject, "vendor registered");
        Ok(convert::vendor_to_proto(row, Visibility::Full))
    }

    async fn decide(
        &self,
        who: &Principal,
        vendor_id: &str,
        decision: Decision,
        reason: &str,
    ) -> ApiResult<pb::Vendor> {
        require(
            who,
            &[Role::ProvinceAdmin, Role::RegencyAdmin],
            &format!("{} vendors", decision.as_str()),
        )?;
        let vendor_id = parse_vendor_id(vendor_id)?;
        let field = if decision.needs_reason() {
            "reason"
        } else {
            "note"
        };
        let reason = parse_reason(field, reason, decision.needs_reason())?;

        let txn = db::begin_write(&self.db).await?;
        let mut row = store::find_vendor(&txn, &vendor_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("vendor {vendor_id}")))?;
        require_admin_of(
            who,
            &row.regency_code,
            &format!("{} vendors", decision.as_str()),
        )?;
        let from = row.status;
        let to = next_status(from, decision)?;
        let now = blangkon_platform::time::now();
        if !store::change_status(&txn, &vendor_id, from, to, now).await? {
            return Err(ApiError::FailedPrecondition(format!(
                "vendor {vendor_id} changed while this decision was made; reload it and decide again"
            )));
        }
        row.status = to;
        row.updated_at = now;
        store::record_history(
            &txn,
            store::HistoryEntry {
                vendor_id: &vendor_id,
                from: Some(from),
                to,
                actor: &who.subject,
                actor_role: who.role.as_str(),
                reason: &reason,
                at: now,
            },
        )
        .await?;
        outbox::enqueue(
            &txn,
            events::status_changed(&row, decision, from, to, &reason, now, who),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        self.counts.reached(to.as_str());
        tracing::info!(%vendor_id, from = from.as_str(), to = to.as_str(), by = %who.subject, "vendor status changed");
        self.vendor_with_details(row, Visibility::Full).await
    }

    async fn do_record_training(
        &self,
        who: &Principal,
        req: pb::RecordTrainingRequest,
    ) -> ApiResult<pb::Training> {
        require(
            who,
            &[Role::ProvinceAdmin, Role::RegencyAdmin],
            "record trainings",
        )?;
        let vendor_id = parse_vendor_id(&req.vendor_id)?;
        let record = TrainingRecord::parse(
            TrainingInput {
                topic: req.topic,
                kind: convert::training_kind_from_proto(req.kind),
                attended_on: req.attended_on,
                organizer: req.organizer,
            },
            blangkon_platform::time::now().date_naive(),
        )
        .map_err(ApiError::Invalid)?;

        let txn = db::begin_write(&self.db).await?;
        let vendor = store::find_vendor(&txn, &vendor_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("vendor {vendor_id}")))?;
        require_admin_of(who, &vendor.regency_code, "record trainings")?;
        let row = training::Model {
            id: uuid::Uuid::now_v7().to_string(),
            vendor_id: vendor_id.clone(),
            topic: record.topic,
            kind: record.kind.as_str().into(),
            attended_on: record.attended_on,
            organizer: record.organizer,
            recorded_by: who.subject.clone(),
            recorded_at: blangkon_platform::time::now(),
        };
        store::insert_training(&txn, training::ActiveModel::from(row.clone())).await?;
        outbox::enqueue(
            &txn,
            events::training_recorded(&row, &vendor.regency_code, who),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        Ok(convert::training_to_proto(row))
    }

    /// What `who` may see of `row`, or PERMISSION_DENIED.
    fn visibility(who: &Principal, row: &vendor::Model) -> ApiResult<Visibility> {
        match who.role {
            Role::ProvinceAdmin => Ok(Visibility::Full),
            Role::RegencyAdmin => {
                require_admin_of(who, &row.regency_code, "read vendors")?;
                Ok(Visibility::Full)
            }
            Role::Vendor => {
                let own = who.vendor_id.as_deref() == Some(row.id.as_str())
                    || row.owner_subject.as_deref() == Some(who.subject.as_str());
                if own {
                    Ok(Visibility::Full)
                } else {
                    Err(ApiError::denied("a vendor may read only its own record"))
                }
            }
            Role::Buyer | Role::Analyst | Role::Service => Ok(Visibility::Public),
        }
    }

    async fn vendor_with_details(
        &self,
        row: vendor::Model,
        visibility: Visibility,
    ) -> ApiResult<pb::Vendor> {
        let history = store::history(&self.db, &row.id).await?;
        let trainings = store::trainings(&self.db, &row.id).await?;
        let mut vendor = convert::vendor_to_proto(row, visibility);
        vendor.history = history.into_iter().map(convert::history_to_proto).collect();
        vendor.trainings = trainings
            .into_iter()
            .map(convert::training_to_proto)
            .collect();
        Ok(vendor)
    }

    async fn do_get_vendor(
        &self,
        who: &Principal,
        req: pb::GetVendorRequest,
    ) -> ApiResult<pb::Vendor> {
        let vendor_id = parse_vendor_id(&req.vendor_id)?;
        let view = pb::VendorView::try_from(req.view)
            .map_err(|_| ApiError::invalid("view", "is not a vendor view"))?;
        let row = store::find_vendor(&self.db, &vendor_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("vendor {vendor_id}")))?;
        let visibility = Self::visibility(who, &row)?;
        match view {
            pb::VendorView::Basic => Ok(convert::vendor_to_proto(row, visibility)),
            pb::VendorView::Unspecified | pb::VendorView::Full => {
                self.vendor_with_details(row, visibility).await
            }
        }
    }

    async fn do_list_vendors(
        &self,
        who: &Principal,
        req: pb::ListVendorsRequest,
    ) -> ApiResult<pb::ListVendorsResponse> {
        let mut violations = Vec::new();
        let page_size = blangkon_platform::validation::page_size(
            req.page_size,
            DEFAULT_PAGE_SIZE,
            MAX_PAGE_SIZE,
        )
        .unwrap_or_else(|violation| {
            violations.push(violation);
            DEFAULT_PAGE_SIZE
        });
        let after: Option<AfterId> = page::position(&req.page_token, &mut violations);
        let mut filter = VendorFilter::default();
        if !req.regency_code.trim().is_empty() {
            match RegencyCode::parse(&req.regency_code) {
                Ok(code) => filter.regency_code = Some(code),
                Err(e) => violations.push(Violation::new("regency_code", e.to_string())),
            }
        }
        filter.status = enum_filter(
            &mut violations,
            "status",
            req.status,
            VendorStatus::from_proto,
        );
        filter.legal_form = enum_filter(
            &mut violations,
            "legal_form",
            req.legal_form,
            LegalForm::from_proto,
        );
        filter.scale = enum_filter(&mut violations, "scale", req.scale, Scale::from_proto);
        let name = req.name_contains.trim().to_lowercase();
        if name.chars().count() > 200 {
            violations.push(Violation::new(
                "name_contains",
                "must be at most 200 characters",
            ));
        } else if !name.is_empty() {
            filter.name_contains = Some(name);
        }
        if !violations.is_empty() {
            return Err(ApiError::Invalid(violations));
        }

        let visibility = match who.role {
            Role::ProvinceAdmin => Visibility::Full,
            Role::RegencyAdmin => {
                let own = who.regency.as_deref().unwrap_or_default();
                match &filter.regency_code {
                    Some(code) if code.as_str() != own => {
                        return Err(ApiError::denied(format!(
                            "a regency admin of {own} may not list vendors of regency {code}"
                        )));
                    }
                    Some(_) => {}
                    None => {
                        let own = RegencyCode::parse(own).map_err(|_| {
                            ApiError::denied("the token of a regency admin names no regency")
                        })?;
                        filter.regency_code = Some(own);
                    }
                }
                Visibility::Full
            }
            Role::Vendor => return Err(ApiError::denied("a vendor may read only its own record")),
            Role::Buyer | Role::Analyst | Role::Service => Visibility::Public,
        };

        let limit = page_size as u64;
        let after = after.map(|a| a.0);
        let mut rows = store::list_vendors(&self.db, &filter, after.as_deref(), limit + 1).await?;
        let next_page_token = page::next_page(&mut rows, limit, |last| AfterId(last.id.clone()));
        Ok(pb::ListVendorsResponse {
            vendors: rows
                .into_iter()
                .map(|row| convert::vendor_to_proto(row, visibility))
                .collect(),
            next_page_token,
        })
    }
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
        let who = principal(&request)?;
        let req = request.into_inner();
        Ok(Response::new(
            self.decide(&who, &req.vendor_id, Decision::Verify, &req.note)
                .await?,
        ))
    }

    async fn reject_vendor(
        &self,
        request: Request<pb::RejectVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        let who = principal(&request)?;
        let req = request.into_inner();
        Ok(Response::new(
            self.decide(&who, &req.vendor_id, Decision::Reject, &req.reason)
                .await?,
        ))
    }

    async fn suspend_vendor(
        &self,
        request: Request<pb::SuspendVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        let who = principal(&request)?;
        let req = request.into_inner();
        Ok(Response::new(
            self.decide(&who, &req.vendor_id, Decision::Suspend, &req.reason)
                .await?,
        ))
    }

    async fn reinstate_vendor(
        &self,
        request: Request<pb::ReinstateVendorRequest>,
    ) -> Result<Response<pb::Vendor>, Status> {
        let who = principal(&request)?;
        let req = request.into_inner();
        Ok(Response::new(
            self.decide(&who, &req.vendor_id, Decision::Reinstate, &req.note)
                .await?,
        ))
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

/// Whether `registration` may be added now: its regency known and joined,
/// its NIK issued in a known regency, a self-registering account without a
/// vendor yet, and no vendor holding its identifiers.
async fn registrable(
    txn: &impl sea_orm::ConnectionTrait,
    who: &Principal,
    registration: &Registration,
) -> ApiResult<()> {
    let regency_code = &registration.regency_code;
    let regency = store::find_regency(txn, regency_code)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "regency_code",
                format!("{regency_code} is not a known regency"),
            )
        })?;
    if regency.joined_at.is_none() {
        return Err(ApiError::FailedPrecondition(format!(
            "regency {regency_code} ({}) has not joined Blangkon yet",
            regency.name
        )));
    }
    if let Some(nik) = &registration.nik {
        let issued_in = nik.regency_code();
        if store::find_regency(txn, issued_in).await?.is_none() {
            return Err(ApiError::invalid(
                "nik",
                format!(
                    "its first four digits name regency {issued_in}, which is not a known regency code"
                ),
            ));
        }
    }
    if who.role == Role::Vendor
        && let Some(existing) = store::owned_vendor(txn, &who.subject).await?
    {
        return Err(ApiError::AlreadyExists {
            field: "account".into(),
            message: format!("this account already registered vendor {existing}"),
        });
    }
    if let Some(field) = store::taken_identifier(txn, registration).await? {
        return Err(ApiError::AlreadyExists {
            field: field.into(),
            message: format!(
                "a vendor with this {} is already registered",
                field.to_uppercase()
            ),
        });
    }
    Ok(())
}

/// The stored row of a new, pending vendor.
fn new_vendor(
    registration: Registration,
    who: &Principal,
    now: chrono::DateTime<chrono::Utc>,
) -> vendor::Model {
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
        owner_subject: (who.role == Role::Vendor).then(|| who.subject.clone()),
        registered_by: who.subject.clone(),
        registered_at: now,
        updated_at: now,
    }
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
