//! The gRPC adapter of `blangkon.reporting.v1.ReportingService`: each
//! method decodes its request (every bad field named), asks [`OpenData`]
//! and answers. Errors become statuses in [`status`]. Every answer is open
//! data: nothing here needs a token.

mod convert;
#[doc(hidden)]
pub mod fuzzing;
mod status;

use blangkon_domain::validation::{FieldViolationExt, Violation};
use blangkon_domain::{OrderStatus, RegencyCode, VendorId};
use blangkon_platform::page;
use blangkon_proto::reporting as pb;
use blangkon_proto::reporting::reporting_service_server::ReportingService;
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::domain::calendar::Period;
use crate::domain::figures::Dimension;
use crate::error::{ReportingError, Result};
use crate::open_data::OpenData;
use crate::settings::ReportingSettings;
use crate::store::{After, OrderFilter, RowAfter};
use convert::{optional, page_size, period_of};

#[derive(Debug, Clone)]
pub struct ReportingApi {
    open_data: OpenData,
}

impl ReportingApi {
    pub fn new(db: DatabaseConnection, settings: ReportingSettings) -> Self {
        Self {
            open_data: OpenData::new(db, settings),
        }
    }

    async fn breakdown(&self, req: pb::GetBreakdownRequest) -> Result<pb::Breakdown> {
        let (dimension, period, after, page_size) = breakdown_query(&req)?;
        let breakdown = self
            .open_data
            .breakdown(dimension, &period, after.as_ref(), page_size)
            .await?;
        Ok(pb::Breakdown {
            dimension: req.dimension,
            period: req.period,
            ..breakdown
        })
    }

    async fn transactions(
        &self,
        req: pb::ListTransactionsRequest,
    ) -> Result<pb::ListTransactionsResponse> {
        let (filter, after, page_size) = transactions_query(&req)?;
        self.open_data
            .transactions(&filter, after.as_ref(), page_size)
            .await
    }

    async fn ocds(&self, req: pb::ExportOcdsRequest) -> Result<pb::OcdsPackage> {
        let (period, after, page_size) = ocds_query(&req)?;
        self.open_data
            .ocds(&period, after.as_ref(), page_size, &req.page_token)
            .await
    }
}

/// A breakdown request read: its dimension, period, position and page size.
pub(crate) fn breakdown_query(
    req: &pb::GetBreakdownRequest,
) -> Result<(Dimension, Period, Option<RowAfter>, u64)> {
    let mut violations = Vec::new();
    let dimension = match pb::Dimension::try_from(req.dimension) {
        Ok(pb::Dimension::Category) => Some(Dimension::Category),
        Ok(pb::Dimension::Subcategory) => Some(Dimension::Subcategory),
        Ok(pb::Dimension::Regency) => Some(Dimension::Regency),
        Ok(pb::Dimension::BuyerRegency) => Some(Dimension::BuyerRegency),
        Ok(pb::Dimension::Month) => Some(Dimension::Month),
        Ok(pb::Dimension::LegalForm) => Some(Dimension::LegalForm),
        Ok(pb::Dimension::Scale) => Some(Dimension::Scale),
        Ok(pb::Dimension::Status) => Some(Dimension::Status),
        Ok(pb::Dimension::BuyerUnit) => Some(Dimension::BuyerUnit),
        Ok(pb::Dimension::Vendor) => Some(Dimension::Vendor),
        Ok(pb::Dimension::Unspecified) | Err(_) => {
            violations.push(Violation::new("dimension", "must name a dimension"));
            None
        }
    };
    let period = period_of(req.period.as_ref(), &mut violations);
    let page_size = page_size(req.page_size, 100, 1_000, &mut violations);
    let after: Option<RowAfter> = page::position(&req.page_token, &mut violations);
    let (Some(dimension), Some(period), true) = (dimension, period, violations.is_empty()) else {
        return Err(ReportingError::Invalid(violations));
    };
    Ok((dimension, period, after, page_size))
}

/// A ledger request read: its filter, position and page size.
pub(crate) fn transactions_query(
    req: &pb::ListTransactionsRequest,
) -> Result<(OrderFilter, Option<After>, u64)> {
    let mut violations = Vec::new();
    let page_size = page_size(req.page_size, 50, 500, &mut violations);
    let after: Option<After> = page::position(&req.page_token, &mut violations);
    let status = optional(&req.status).and_then(|s| {
            let parsed = OrderStatus::parse(&s);
            if parsed.is_none() {
                violations.push(Violation::new(
                    "status",
                    "must be placed, accepted, rejected, shipped, received, paid, completed or cancelled",
                ));
            }
            parsed
        });
    let vendor_id = optional(&req.vendor_id).and_then(|id| {
        VendorId::parse(&id)
            .field("vendor_id")
            .map_err(|violation| violations.push(violation))
            .ok()
            .map(|id| id.to_string())
    });
    let regency_code = optional(&req.regency_code);
    if let Some(code) = &regency_code
        && RegencyCode::parse(code).is_err()
    {
        violations.push(Violation::new(
            "regency_code",
            "must be a Kemendagri regency code such as 33.74",
        ));
    }
    let category_code = optional(&req.category_code);
    if let Some(code) = &category_code
        && !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        violations.push(Violation::new(
            "category_code",
            "must be a category code such as katering or katering.nasi-kotak",
        ));
    }
    let period = period_of(req.period.as_ref(), &mut violations);
    let (Some(period), true) = (period, violations.is_empty()) else {
        return Err(ReportingError::Invalid(violations));
    };
    let filter = OrderFilter {
        order_id: None,
        status,
        vendor_id,
        regency_code,
        category_code,
        from_day: period.from_day(),
        until_day: period.until_day(),
    };
    Ok((filter, after, page_size))
}

/// An OCDS export request read: its period, position and page size.
fn ocds_query(req: &pb::ExportOcdsRequest) -> Result<(Period, Option<After>, u64)> {
    let mut violations = Vec::new();
    let page_size = page_size(req.page_size, 1_000, 5_000, &mut violations);
    let after: Option<After> = page::position(&req.page_token, &mut violations);
    let period = period_of(req.period.as_ref(), &mut violations);
    let (Some(period), true) = (period, violations.is_empty()) else {
        return Err(ReportingError::Invalid(violations));
    };
    Ok((period, after, page_size))
}

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    async fn get_summary(
        &self,
        _request: Request<pb::GetSummaryRequest>,
    ) -> Result<Response<pb::Summary>, Status> {
        Ok(Response::new(self.open_data.summary().await?))
    }

    async fn get_breakdown(
        &self,
        request: Request<pb::GetBreakdownRequest>,
    ) -> Result<Response<pb::Breakdown>, Status> {
        Ok(Response::new(self.breakdown(request.into_inner()).await?))
    }

    async fn list_transactions(
        &self,
        request: Request<pb::ListTransactionsRequest>,
    ) -> Result<Response<pb::ListTransactionsResponse>, Status> {
        Ok(Response::new(
            self.transactions(request.into_inner()).await?,
        ))
    }

    async fn export_ocds(
        &self,
        request: Request<pb::ExportOcdsRequest>,
    ) -> Result<Response<pb::OcdsPackage>, Status> {
        Ok(Response::new(self.ocds(request.into_inner()).await?))
    }
}

/// The handlers called directly, on an empty read model in memory: no
/// network, no broker.
#[cfg(test)]
mod tests {
    use blangkon_testkit::fixtures::{memory_database, violated_fields};
    use tonic::Code;

    use super::*;
    use crate::store::migrations::Migrator;

    async fn api() -> ReportingApi {
        let db = memory_database::<Migrator>().await;
        ReportingApi::new(db, ReportingSettings::default())
    }

    #[tokio::test]
    async fn a_ledger_request_names_every_bad_field_at_once() {
        let refused = api()
            .await
            .list_transactions(Request::new(pb::ListTransactionsRequest {
                page_size: 501,
                page_token: "not a token".into(),
                status: "lost".into(),
                vendor_id: "vendor-1".into(),
                regency_code: "3374".into(),
                period: Some(pb::Period {
                    from_date: "2026-13-01".into(),
                    until_date: String::new(),
                }),
                ..Default::default()
            }))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(
            violated_fields(&refused),
            [
                "page_size",
                "page_token",
                "period.from_date",
                "regency_code",
                "status",
                "vendor_id"
            ]
        );
    }

    #[tokio::test]
    async fn an_empty_ledger_is_an_empty_page_and_a_good_filter_is_taken() {
        let page = api()
            .await
            .list_transactions(Request::new(pb::ListTransactionsRequest {
                status: "paid".into(),
                regency_code: "33.74".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(page.transactions.is_empty());
        assert!(page.next_page_token.is_empty());
    }

    #[tokio::test]
    async fn a_breakdown_needs_a_dimension() {
        let refused = api()
            .await
            .get_breakdown(Request::new(pb::GetBreakdownRequest::default()))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&refused), ["dimension"]);
    }
}
