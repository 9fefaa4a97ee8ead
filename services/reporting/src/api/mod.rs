//! The public gRPC API: figures, breakdowns, the ledger and the OCDS
//! export, read from the read model. Every answer is open data: nothing in
//! the read model is personal, and nothing here needs a token.

mod convert;

use blangkon_domain::{OrderStatus, RegencyCode, VendorId};
use blangkon_platform::api_error::ApiError;
use blangkon_platform::db;
use blangkon_platform::page;
use blangkon_platform::time::{now, to_timestamp};
use blangkon_platform::validation::{FieldViolationExt, Violation};
use blangkon_proto::reporting as pb;
use blangkon_proto::reporting::reporting_service_server::ReportingService;
use sea_orm::{DatabaseConnection, DbErr};
use tonic::{Request, Response, Status};

use crate::domain::figures::{Dimension, INDIVIDUAL, MICRO_SMALL_COOPERATIVE};
use crate::domain::ocds::{self, Publisher};
use crate::settings::ReportingSettings;
use crate::store::{self, After, OrderFilter, vendor};
use convert::{optional, page_size, period_of, position_after, transaction};

type ApiResult<T> = Result<T, ApiError>;

/// Share of spending regulation reserves for micro and small businesses
/// and cooperatives, in basis points.
const TARGET_SHARE_BP: i64 = 4_000;
const TOP_CATEGORIES: usize = 5;

#[derive(Debug, Clone)]
pub struct ReportingApi {
    db: DatabaseConnection,
    publisher: Publisher,
}

impl ReportingApi {
    pub fn new(db: DatabaseConnection, settings: ReportingSettings) -> Self {
        Self {
            db,
            publisher: Publisher {
                ocid_prefix: settings.ocid_prefix,
                name: settings.publisher_name,
                package_uri_base: settings.package_uri_base,
            },
        }
    }

    async fn summary(&self) -> ApiResult<pb::Summary> {
        // One snapshot: the projection commits while the figures are read,
        // and a summary whose status counts already hold an order that its
        // transaction count does not yet would contradict itself.
        let snapshot = db::begin_snapshot(&self.db).await?;
        let db = &snapshot;
        let counts = |rows: Vec<(String, i64)>| -> Vec<pb::KeyCount> {
            rows.into_iter()
                .map(|(key, count)| pb::KeyCount { key, count })
                .collect()
        };
        let by_legal_form = store::vendors_by(db, vendor::Column::LegalForm).await?;
        let vendors_total: i64 = by_legal_form.iter().map(|(_, n)| n).sum();
        let vendors_individual: i64 = by_legal_form
            .iter()
            .filter(|(form, _)| form == INDIVIDUAL)
            .map(|(_, n)| n)
            .sum();
        let (transactions, transaction_value) = store::total_of(db, Dimension::All, "").await?;
        let (_, micro_small_value) =
            store::total_of(db, Dimension::TargetGroup, MICRO_SMALL_COOPERATIVE).await?;
        let share_bp = if transaction_value > 0 {
            // i128: value × 10,000 overflows i64 above ~Rp922 trillion.
            (i128::from(micro_small_value) * 10_000 / i128::from(transaction_value)) as i64
        } else {
            0
        };
        let mut top_categories = store::totals_by_key(db, Dimension::Category, None, None).await?;
        top_categories.truncate(TOP_CATEGORIES);
        let regencies_transacting = store::totals_by_key(db, Dimension::Regency, None, None)
            .await?
            .iter()
            .filter(|(_, orders, _)| *orders > 0)
            .count() as i64;
        let summary = pb::Summary {
            vendors_total,
            vendors_individual,
            vendors_business_entity: vendors_total - vendors_individual,
            vendors_by_legal_form: counts(by_legal_form),
            vendors_by_status: counts(store::vendors_by(db, vendor::Column::Status).await?),
            vendors_by_scale: counts(store::vendors_by(db, vendor::Column::Scale).await?),
            products_listed: store::products_listed(db).await?,
            vendors_by_regency: counts(store::vendors_by(db, vendor::Column::RegencyCode).await?),
            products_by_category: counts(store::products_listed_by_category(db).await?),
            products_by_regency: counts(store::products_listed_by_regency(db).await?),
            transactions,
            transaction_value,
            top_categories: self.rows(Dimension::Category, top_categories).await?,
            orders_by_status: self
                .rows(
                    Dimension::Status,
                    store::totals_by_key(db, Dimension::Status, None, None).await?,
                )
                .await?,
            regencies_joined: store::regencies_joined(db).await?,
            regencies_transacting,
            vendors_trained: store::vendors_trained(db).await?,
            micro_small_value,
            micro_small_share_bp: share_bp as i32,
            micro_small_target_met: transaction_value > 0 && share_bp >= TARGET_SHARE_BP,
            as_of: store::last_event_at(db).await?.map(to_timestamp),
        };
        snapshot.commit().await?;
        Ok(summary)
    }

    /// Rows with the names reporting knows for their keys.
    async fn rows(
        &self,
        dimension: Dimension,
        totals: Vec<(String, i64, i64)>,
    ) -> Result<Vec<pb::KeyValue>, DbErr> {
        let keys: Vec<String> = totals.iter().map(|(k, _, _)| k.clone()).collect();
        let labels = match dimension {
            Dimension::Regency | Dimension::BuyerRegency => {
                store::regency_names(&self.db, &keys).await?
            }
            Dimension::Vendor => store::vendor_names(&self.db, &keys).await?,
            _ => Default::default(),
        };
        Ok(totals
            .into_iter()
            .map(|(key, orders, value)| pb::KeyValue {
                label: labels.get(&key).cloned().unwrap_or_default(),
                key,
                orders,
                value,
            })
            .collect())
    }

    async fn breakdown(&self, req: pb::GetBreakdownRequest) -> ApiResult<pb::Breakdown> {
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
        let (Some(dimension), Some(period), true) = (dimension, period, violations.is_empty())
        else {
            return Err(ApiError::Invalid(violations));
        };
        let (from, until) = (period.from_day(), period.until_day());
        let totals =
            store::totals_by_key(&self.db, dimension, from.as_deref(), until.as_deref()).await?;
        // The totals: every order for the status dimension, transactions
        // otherwise.
        let (orders_total, value_total) = if dimension == Dimension::Status {
            totals
                .iter()
                .fold((0, 0), |(o, v), (_, orders, value)| (o + orders, v + value))
        } else {
            store::totals_by_key(&self.db, Dimension::All, from.as_deref(), until.as_deref())
                .await?
                .first()
                .map(|(_, o, v)| (*o, *v))
                .unwrap_or((0, 0))
        };
        Ok(pb::Breakdown {
            dimension: req.dimension,
            period: req.period,
            rows: self.rows(dimension, totals).await?,
            orders_total,
            value_total,
        })
    }

    async fn transactions(
        &self,
        req: pb::ListTransactionsRequest,
    ) -> ApiResult<pb::ListTransactionsResponse> {
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
            return Err(ApiError::Invalid(violations));
        };
        let filter = OrderFilter {
            status,
            vendor_id,
            regency_code,
            category_code,
            from_day: period.from_day(),
            until_day: period.until_day(),
        };
        let mut rows =
            store::orders_page(&self.db, &filter, after.as_ref(), true, page_size + 1).await?;
        let next_page_token = page::next_page(&mut rows, page_size, position_after);
        let names = store::names_for_all(&self.db, &rows).await?;
        Ok(pb::ListTransactionsResponse {
            transactions: rows
                .into_iter()
                .zip(names)
                .map(|(o, names)| transaction(names.vendor, o))
                .collect(),
            next_page_token,
        })
    }

    async fn ocds(&self, req: pb::ExportOcdsRequest) -> ApiResult<pb::OcdsPackage> {
        let mut violations = Vec::new();
        let page_size = page_size(req.page_size, 1_000, 5_000, &mut violations);
        let after: Option<After> = page::position(&req.page_token, &mut violations);
        let period = period_of(req.period.as_ref(), &mut violations);
        let (Some(period), true) = (period, violations.is_empty()) else {
            return Err(ApiError::Invalid(violations));
        };
        let filter = OrderFilter {
            from_day: period.from_day(),
            until_day: period.until_day(),
            ..OrderFilter::default()
        };
        let mut rows =
            store::orders_page(&self.db, &filter, after.as_ref(), false, page_size + 1).await?;
        let next_page_token = page::next_page(&mut rows, page_size, position_after);
        if rows.is_empty() {
            // OCDS has no empty package: it holds at least one release.
            return Err(ApiError::NotFound(
                "no orders were placed in this period (or after this page token)".into(),
            ));
        }
        let names = store::names_for_all(&self.db, &rows).await?;
        let releases: Vec<_> = rows
            .iter()
            .zip(&names)
            .map(|(order, names)| ocds::release(&self.publisher, order, names))
            .collect();
        let count = releases.len() as i32;
        let package = ocds::package(
            &self.publisher,
            &period.slug(),
            &req.page_token,
            now(),
            releases,
        );
        Ok(pb::OcdsPackage {
            json: serde_json::to_string_pretty(&package)
                .map_err(|e| ApiError::Internal(format!("the OCDS package: {e}")))?,
            releases: count,
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    async fn get_summary(
        &self,
        _request: Request<pb::GetSummaryRequest>,
    ) -> Result<Response<pb::Summary>, Status> {
        Ok(Response::new(self.summary().await?))
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
