//! The public HTTP adapter: the open data as JSON (and CSV for every
//! table), beside the gRPC adapter in `api/` and over the same use cases
//! ([`OpenData`]) with the same checks (each query is read into the gRPC
//! request it stands for and checked by the same function, so the two
//! doors cannot disagree on what a good request is). The platform's
//! public door ([`blangkon_platform::http`]) adds the rate limit, caching
//! headers, compression and CORS; this module answers, and describes
//! itself in the OpenAPI document it serves at `/api/v1/openapi.json`.

mod csv;
pub mod json;
mod ocds;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use blangkon_domain::validation::Violation;
use blangkon_platform::http::{
    HttpSettings, InvalidParam, Problem, QueryParams, json_document, next_link, with_next_link,
};
use blangkon_proto::reporting as pb;
use utoipa::OpenApi;

use crate::domain::red_flags::FlagKind;
use crate::error::ReportingError;
use crate::open_data::{FlagAfter, OpenData};
use crate::store::red_flags::FlagFilter;

/// What every handler reads.
#[derive(Clone)]
pub(crate) struct Web {
    open_data: OpenData,
    http: HttpSettings,
    /// Downloads of a whole year's OCDS under way at once, at most.
    bulk_downloads: std::sync::Arc<tokio::sync::Semaphore>,
}

/// Years' bulk downloads one replica streams at once.
const BULK_DOWNLOADS: usize = 2;

/// The routes of the reporting service's public HTTP API.
pub fn routes(open_data: OpenData, http: HttpSettings) -> Router {
    Router::new()
        .route("/api/v1/summary", get(summary))
        .route("/api/v1/breakdowns/{dimension}", get(breakdown))
        .route("/api/v1/transactions", get(transactions))
        .route("/api/v1/transactions/{order_id}", get(transaction))
        .route("/api/v1/red-flags", get(red_flags))
        .route("/api/v1/red-flags/{flag_id}", get(red_flag))
        .route("/api/v1/openapi.json", json_document(openapi_json()))
        .route("/ocds/releases/{file}", get(ocds::releases))
        .route("/ocds/records/{file}", get(ocds::record))
        .route("/ocds/bulk/{file}", get(ocds::bulk))
        .route("/ocds/publication-policy", get(ocds::publication_policy))
        .with_state(Web {
            open_data,
            http,
            bulk_downloads: std::sync::Arc::new(tokio::sync::Semaphore::new(BULK_DOWNLOADS)),
        })
}

/// The OpenAPI document of this API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Blangkon open data",
        description = "What the province bought from local businesses through the Blangkon \
            e-catalog: headline figures, spending by category, regency and month, and every \
            transaction. Open data: no key, no account. Money is in whole rupiah; days are \
            in Western Indonesian Time (WIB). Errors are RFC 9457 problem documents; a client \
            that asks too often is answered 429 with Retry-After.",
        license(name = "CC-BY-4.0", url = "https://creativecommons.org/licenses/by/4.0/")
    ),
    paths(
        summary,
        breakdown,
        transactions,
        transaction,
        red_flags,
        red_flag,
        ocds::releases,
        ocds::record,
        ocds::bulk
    ),
    components(schemas(Problem, InvalidParam)),
    tags(
        (name = "figures", description = "Headline figures and breakdowns"),
        (name = "ledger", description = "Every transaction, newest first"),
        (name = "red-flags", description = "Patterns auditors look at first (split purchases, \
            orders just under the direct-purchase ceiling, vendor concentration, price outliers, \
            orders to new vendors), each with the orders that raised it and a plain explanation. \
            A flag asks a person to look; it is never a finding."),
        (name = "ocds", description = "Open Contracting Data Standard 1.1: a release per change \
            of an order, release packages by day and month, a record per order, a year in bulk")
    )
)]
pub struct ApiDoc;

/// The document as served.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}

/// How a table is answered: `format=json` (the default) or `format=csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

fn format(params: &mut QueryParams) -> Result<Format, Problem> {
    let format = params.parsed("format", |text| match text {
        "json" => Ok(Format::Json),
        "csv" => Ok(Format::Csv),
        _ => Err("must be json or csv".into()),
    })?;
    Ok(format.unwrap_or(Format::Json))
}

/// The headline figures.
#[utoipa::path(
    get,
    path = "/api/v1/summary",
    tag = "figures",
    responses(
        (status = 200, description = "The headline figures, from one snapshot", body = json::Summary),
        (status = 400, description = "A parameter was given (this URL takes none)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn summary(State(web): State<Web>, uri: Uri) -> Result<Response, Problem> {
    QueryParams::parse(uri.query()).finish()?;
    let summary = web.open_data.summary().await.map_err(problem)?;
    Ok(axum::Json(json::Summary::from(summary)).into_response())
}

/// The query parameters of a breakdown, for the document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct BreakdownQuery {
    /// First day of the period (WIB), `YYYY-MM-DD`.
    from: Option<String>,
    /// Last day of the period (WIB), `YYYY-MM-DD`.
    until: Option<String>,
    /// Rows per page, 1 to 1000 (100 by default).
    page_size: Option<u32>,
    /// Where the page starts: the `cursor` of the previous page's
    /// `links.next`.
    cursor: Option<String>,
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

/// Orders and value by category, subcategory, vendor's regency, buyer's
/// regency, month, legal form, scale, status, work unit or vendor.
#[utoipa::path(
    get,
    path = "/api/v1/breakdowns/{dimension}",
    tag = "figures",
    params(
        ("dimension" = String, Path, description = "category, subcategory, regency, buyer-regency, month, legal-form, scale, status, work-unit or vendor"),
        BreakdownQuery
    ),
    responses(
        (status = 200, description = "A page of rows, highest value first", content(
            (json::Breakdown = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is wrong; `invalid-params` names it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dimension", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn breakdown(
    State(web): State<Web>,
    Path(dimension): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Some(pb_dimension) = dimension_named(&dimension) else {
        return Err(Problem::not_found(format!(
            "no dimension `{}`: ask for one of {}",
            dimension.chars().take(40).collect::<String>(),
            DIMENSIONS.map(|(name, _)| name).join(", ")
        )));
    };
    let mut params = QueryParams::parse(uri.query());
    let format = format(&mut params)?;
    let period = period(&mut params)?;
    let request = pb::GetBreakdownRequest {
        dimension: pb_dimension as i32,
        period: Some(period.clone()),
        page_size: page_size(&mut params)?,
        page_token: params.text("cursor", 1_000)?.unwrap_or_default(),
    };
    params.finish()?;
    let (dimension_read, period_read, after, size) =
        crate::api::breakdown_query(&request).map_err(problem)?;
    let answer = web
        .open_data
        .breakdown(dimension_read, &period_read, after.as_ref(), size)
        .await
        .map_err(problem)?;
    let next = next_link(&web.http, &headers, &uri, &answer.next_page_token);
    let document = json::Breakdown {
        dimension,
        from: Some(period.from_date).filter(|d| !d.is_empty()),
        until: Some(period.until_date).filter(|d| !d.is_empty()),
        rows: json::key_values(answer.rows),
        orders_total: answer.orders_total,
        value_total: answer.value_total,
        links: json::Links { next: next.clone() },
    };
    let response = match format {
        Format::Json => axum::Json(document).into_response(),
        Format::Csv => csv::breakdown(&document)?,
    };
    Ok(with_next_link(response, next.as_deref()))
}

/// The query parameters of the ledger, for the document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct LedgerQuery {
    /// First day the orders were placed (WIB), `YYYY-MM-DD`.
    from: Option<String>,
    /// Last day the orders were placed (WIB), `YYYY-MM-DD`.
    until: Option<String>,
    /// placed, accepted, rejected, shipped, received, paid, completed or
    /// cancelled.
    status: Option<String>,
    /// Orders of this vendor (its id).
    vendor: Option<String>,
    /// Orders whose vendor or buyer is in this regency (Kemendagri code,
    /// `33.74`).
    regency: Option<String>,
    /// Orders with a line in this category or its subcategories
    /// (`katering`, `katering.nasi-kotak`).
    category: Option<String>,
    /// Orders per page, 1 to 500 (50 by default).
    page_size: Option<u32>,
    /// Where the page starts: the `cursor` of the previous page's
    /// `links.next`.
    cursor: Option<String>,
    /// `json` (the default) or `csv` (a row per order line).
    format: Option<String>,
}

/// The public ledger: every order, newest first, filtered.
#[utoipa::path(
    get,
    path = "/api/v1/transactions",
    tag = "ledger",
    params(LedgerQuery),
    responses(
        (status = 200, description = "A page of transactions, newest first", content(
            (json::TransactionPage = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is wrong; `invalid-params` names it", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn transactions(
    State(web): State<Web>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let mut params = QueryParams::parse(uri.query());
    let format = format(&mut params)?;
    let request = pb::ListTransactionsRequest {
        period: Some(period(&mut params)?),
        status: params.text("status", 40)?.unwrap_or_default(),
        vendor_id: params.text("vendor", 100)?.unwrap_or_default(),
        regency_code: params.text("regency", 40)?.unwrap_or_default(),
        category_code: params.text("category", 200)?.unwrap_or_default(),
        page_size: page_size(&mut params)?,
        page_token: params.text("cursor", 1_000)?.unwrap_or_default(),
    };
    params.finish()?;
    let (filter, after, size) = crate::api::transactions_query(&request).map_err(problem)?;
    let answer = web
        .open_data
        .transactions(&filter, after.as_ref(), size)
        .await
        .map_err(problem)?;
    let next = next_link(&web.http, &headers, &uri, &answer.next_page_token);
    let page = json::TransactionPage {
        data: answer.transactions.into_iter().map(Into::into).collect(),
        links: json::Links { next: next.clone() },
    };
    let response = match format {
        Format::Json => axum::Json(page).into_response(),
        Format::Csv => csv::transactions(&page)?,
    };
    Ok(with_next_link(response, next.as_deref()))
}

/// One transaction.
#[utoipa::path(
    get,
    path = "/api/v1/transactions/{order_id}",
    tag = "ledger",
    params(("order_id" = String, Path, description = "The order's id (a UUID)")),
    responses(
        (status = 200, description = "The transaction", body = json::Transaction),
        (status = 400, description = "The id is not an order id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order in the ledger", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn transaction(
    State(web): State<Web>,
    Path(order_id): Path<String>,
    uri: Uri,
) -> Result<Response, Problem> {
    QueryParams::parse(uri.query()).finish()?;
    if uuid::Uuid::parse_str(&order_id).is_err() {
        return Err(Problem::invalid_param(
            "order_id",
            "must be an order id, a UUID such as 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        ));
    }
    match web
        .open_data
        .transaction(&order_id)
        .await
        .map_err(problem)?
    {
        Some(found) => Ok(axum::Json(json::Transaction::from(found)).into_response()),
        None => Err(Problem::not_found(
            "no order with this id is in the ledger (yet: a new order shows within seconds)",
        )),
    }
}

/// The query parameters of the red flags, for the document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct RedFlagQuery {
    /// split-purchase, just-under-ceiling, vendor-concentration,
    /// price-outlier or new-vendor.
    kind: Option<String>,
    /// Flags of buyers in this regency (Kemendagri code, `33.74`).
    regency: Option<String>,
    /// Flags about this vendor (its id).
    vendor: Option<String>,
    /// Flags per page, 1 to 500 (50 by default).
    page_size: Option<u32>,
    /// Where the page starts: the `cursor` of the previous page's
    /// `links.next`.
    cursor: Option<String>,
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

/// Most red flags one page holds, and how many when not asked.
const FLAGS_PAGE_MAX: u64 = 500;
const FLAGS_PAGE_DEFAULT: u64 = 50;

/// The red flags raised now, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/red-flags",
    tag = "red-flags",
    params(RedFlagQuery),
    responses(
        (status = 200, description = "A page of red flags, newest first", content(
            (json::RedFlagPage = "application/json"),
            (String = "text/csv")
        )),
        (status = 400, description = "A parameter is wrong; `invalid-params` names it", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn red_flags(
    State(web): State<Web>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let mut params = QueryParams::parse(uri.query());
    let format = format(&mut params)?;
    let kind = params.text("kind", 40)?;
    let regency_code = params.text("regency", 40)?.unwrap_or_default();
    let vendor_id = params.text("vendor", 100)?.unwrap_or_default();
    let size = params.text("page_size", 20)?;
    let cursor = params.text("cursor", 1_000)?;
    params.finish()?;
    // Every parameter checked before answering, so that one answer names
    // all the wrong ones.
    let mut wrong = Vec::new();
    let kind = kind.and_then(|text| {
        let parsed = FlagKind::parse(&text);
        if parsed.is_none() {
            let kinds = FlagKind::ALL.map(FlagKind::code).join(", ");
            wrong.push(Violation::new("kind", format!("must be one of {kinds}")));
        }
        parsed
    });
    if !regency_code.is_empty()
        && blangkon_domain::regency::RegencyCode::parse(&regency_code).is_err()
    {
        wrong.push(Violation::new(
            "regency",
            "must be a regency code such as 33.74",
        ));
    }
    let size = match size.map(|text| text.parse::<u64>()) {
        None => FLAGS_PAGE_DEFAULT,
        Some(Ok(n)) if (1..=FLAGS_PAGE_MAX).contains(&n) => n,
        Some(_) => {
            wrong.push(Violation::new(
                "page_size",
                format!("must be a whole number from 1 to {FLAGS_PAGE_MAX}"),
            ));
            FLAGS_PAGE_DEFAULT
        }
    };
    let after = cursor.and_then(|text| {
        let read = blangkon_platform::page::read::<FlagAfter>(&text);
        if read.is_none() {
            wrong.push(Violation::new("cursor", "is not a cursor this API gave"));
        }
        read
    });
    if !wrong.is_empty() {
        return Err(Problem::invalid_fields(&wrong, |field| field));
    }
    let filter = FlagFilter {
        kind,
        regency_code,
        vendor_id,
    };
    let (flags, next_token) = web
        .open_data
        .red_flags(&filter, after.as_ref(), size)
        .await
        .map_err(problem)?;
    let counts = web.open_data.red_flag_counts().await.map_err(problem)?;
    let next = next_link(&web.http, &headers, &uri, &next_token);
    let page = json::RedFlagPage {
        counts: json::flag_counts(counts),
        data: flags.into_iter().map(Into::into).collect(),
        links: json::Links { next: next.clone() },
    };
    let response = match format {
        Format::Json => axum::Json(page).into_response(),
        Format::Csv => csv::red_flags(&page)?,
    };
    Ok(with_next_link(response, next.as_deref()))
}

/// One red flag, with the orders that raised it.
#[utoipa::path(
    get,
    path = "/api/v1/red-flags/{flag_id}",
    tag = "red-flags",
    params(("flag_id" = String, Path, description = "The flag's id, its kind and 16 hexadecimal digits")),
    responses(
        (status = 200, description = "The red flag", body = json::RedFlag),
        (status = 400, description = "The id is not a flag id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such flag is raised now (a flag whose orders changed may have been cleared)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn red_flag(
    State(web): State<Web>,
    Path(flag_id): Path<String>,
    uri: Uri,
) -> Result<Response, Problem> {
    QueryParams::parse(uri.query()).finish()?;
    if !is_flag_id(&flag_id) {
        return Err(Problem::invalid_param(
            "flag_id",
            "must be a flag id such as split-purchase-0123456789abcdef",
        ));
    }
    match web.open_data.red_flag(&flag_id).await.map_err(problem)? {
        Some(found) => Ok(axum::Json(json::RedFlag::from(found)).into_response()),
        None => Err(Problem::not_found(
            "no such flag is raised now: it may have been cleared when its orders changed",
        )),
    }
}

/// Whether `text` has the shape of a flag id: a kind, `-`, 16 hex digits.
pub(crate) fn is_flag_id(text: &str) -> bool {
    text.rsplit_once('-').is_some_and(|(kind, hex)| {
        FlagKind::parse(kind).is_some()
            && hex.len() == 16
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The dimensions by their URL names.
const DIMENSIONS: [(&str, pb::Dimension); 10] = [
    ("category", pb::Dimension::Category),
    ("subcategory", pb::Dimension::Subcategory),
    ("regency", pb::Dimension::Regency),
    ("buyer-regency", pb::Dimension::BuyerRegency),
    ("month", pb::Dimension::Month),
    ("legal-form", pb::Dimension::LegalForm),
    ("scale", pb::Dimension::Scale),
    ("status", pb::Dimension::Status),
    ("work-unit", pb::Dimension::BuyerUnit),
    ("vendor", pb::Dimension::Vendor),
];

fn dimension_named(name: &str) -> Option<pb::Dimension> {
    DIMENSIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, dimension)| *dimension)
}

fn period(params: &mut QueryParams) -> Result<pb::Period, Problem> {
    Ok(pb::Period {
        from_date: params.text("from", 40)?.unwrap_or_default(),
        until_date: params.text("until", 40)?.unwrap_or_default(),
    })
}

fn page_size(params: &mut QueryParams) -> Result<i32, Problem> {
    let size = params.parsed("page_size", |text| {
        text.parse::<i32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| "must be a whole number, 1 or more".to_string())
    })?;
    Ok(size.unwrap_or(0))
}

/// The HTTP name of a gRPC request field the shared checks named.
pub(crate) fn param_of(field: &str) -> &str {
    match field {
        "period.from_date" | "period" => "from",
        "period.until_date" => "until",
        "page_token" => "cursor",
        "vendor_id" => "vendor",
        "regency_code" => "regency",
        "category_code" => "category",
        other => other,
    }
}

/// A refusal of the shared use cases as a problem document.
pub(crate) fn problem(err: ReportingError) -> Problem {
    match err {
        ReportingError::Invalid(violations) => invalid(&violations),
        e @ ReportingError::NothingPlaced => Problem::not_found(e.to_string()),
        e @ (ReportingError::Encode(_) | ReportingError::Store(_)) => {
            tracing::error!(error = %e, "a public HTTP read failed");
            Problem::internal()
        }
    }
}

fn invalid(violations: &[Violation]) -> Problem {
    Problem::invalid_fields(violations, param_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_describes_every_route_and_the_problem() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
        for path in [
            "/api/v1/summary",
            "/api/v1/breakdowns/{dimension}",
            "/api/v1/transactions",
            "/api/v1/transactions/{order_id}",
            "/api/v1/red-flags",
            "/api/v1/red-flags/{flag_id}",
        ] {
            assert!(doc["paths"][path]["get"].is_object(), "{path}");
        }
        for schema in [
            "Problem",
            "Summary",
            "Breakdown",
            "TransactionPage",
            "Transaction",
            "RedFlagPage",
            "RedFlag",
        ] {
            assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
        }
    }

    #[test]
    fn every_field_the_shared_checks_name_has_its_http_name() {
        assert_eq!(param_of("period.from_date"), "from");
        assert_eq!(param_of("page_token"), "cursor");
        assert_eq!(param_of("page_size"), "page_size");
        let problem = invalid(&[Violation::new("regency_code", "must be a code")]);
        assert_eq!(problem.invalid_params[0].name, "regency");
        assert_eq!(problem.status, 400);
    }
}
