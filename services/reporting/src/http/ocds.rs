//! OCDS at stable URLs, as the OCDS hosting guidance asks: a release
//! package per day and per month (`/ocds/releases/2026-11-20.json`,
//! `/ocds/releases/2026-11.json`, paged with `links.next`), a record
//! package per `ocid` (`/ocds/records/<ocid>.json`, every release of the
//! order and its compiled release) and a year's compiled releases in bulk
//! (`/ocds/bulk/2026.jsonl.gz`, one per line, gzipped, streamed).

use std::io::Write as _;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use blangkon_platform::http::{Problem, QueryParams, public_link};
use blangkon_platform::page;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::{Web, problem};
use crate::open_data::ReleaseDays;
use crate::store::ReleaseAfter;

/// Orders whose compiled releases one step of a bulk download reads.
const BULK_STEP: u64 = 500;

/// The OCDS base URL as the public reaches it.
fn base(web: &Web, headers: &HeaderMap) -> String {
    public_link(&web.http, headers, "/ocds")
}

fn json(value: &serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(value).unwrap_or_default(),
    )
        .into_response()
}

/// The query parameters of a release package, for the document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ReleasesQuery {
    /// Releases per page, 1 to 250 (100 by default).
    page_size: Option<u32>,
    /// Where the page starts: the `cursor` of the previous page's
    /// `links.next`.
    cursor: Option<String>,
}

/// The OCDS release package of a day or a month (WIB): every release of
/// the orders that changed then, in the order they happened.
#[utoipa::path(
    get,
    path = "/ocds/releases/{file}",
    tag = "ocds",
    params(
        ("file" = String, Path, description = "`2026-11-20.json` (a day) or `2026-11.json` (a month)"),
        ReleasesQuery
    ),
    responses(
        (status = 200, description = "An OCDS 1.1 release package; `links.next` names the next page", body = Object),
        (status = 400, description = "A parameter is wrong; `invalid-params` names it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a day or a month, or nothing happened then", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn releases(
    State(web): State<Web>,
    Path(file): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Some(days) = file.strip_suffix(".json").and_then(ReleaseDays::parse) else {
        return Err(Problem::not_found(
            "no such package: ask for a day (2026-11-20.json) or a month (2026-11.json)",
        ));
    };
    let mut params = QueryParams::parse(uri.query());
    // An order of a hundred lines is a release of some 90 kB: 250 of them
    // are the most one answer holds.
    let page_size = params.page_size("page_size", 100, 250)?;
    let after: Option<ReleaseAfter> = params.parsed("cursor", |text| {
        page::read::<ReleaseAfter>(text).ok_or_else(|| "is not a cursor this API gave".to_string())
    })?;
    params.finish()?;
    let base = base(&web, &headers);
    let this = public_link(&web.http, &headers, &path_and_query(&uri));
    let next_uri = |at: &ReleaseAfter| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("page_size", &page_size.to_string())
            .append_pair("cursor", &page::token(at))
            .finish();
        public_link(&web.http, &headers, &format!("{}?{query}", uri.path()))
    };
    match web
        .open_data
        .release_page(&days, after.as_ref(), page_size, (&base, this), next_uri)
        .await
        .map_err(problem)?
    {
        Some(page) => Ok(json(&page.package)),
        None => Err(Problem::not_found(
            "no order changed in this period (or after this cursor)",
        )),
    }
}

/// The OCDS record package of one order: every release, oldest first,
/// and the compiled release.
#[utoipa::path(
    get,
    path = "/ocds/records/{file}",
    tag = "ocds",
    params(("file" = String, Path, description = "`<ocid>.json`, such as `ocds-bkjtg1-0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.json`")),
    responses(
        (status = 200, description = "An OCDS 1.1 record package of one record", body = Object),
        (status = 404, description = "No order with this ocid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn record(
    State(web): State<Web>,
    Path(file): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    QueryParams::parse(uri.query()).finish()?;
    let not_found = || {
        Problem::not_found(
            "no order has this ocid: the ledger's transactions link to their records",
        )
    };
    let order_id = file
        .strip_suffix(".json")
        .and_then(|ocid| web.open_data.order_of(ocid))
        .ok_or_else(not_found)?;
    let base = base(&web, &headers);
    let this = public_link(&web.http, &headers, uri.path());
    web.open_data
        .record(&order_id, (&base, this))
        .await
        .map_err(problem)?
        .map(|package| json(&package))
        .ok_or_else(not_found)
}

/// Every compiled release of the orders placed in a year (WIB), one JSON
/// object per line, gzipped: the year's data for a download.
#[utoipa::path(
    get,
    path = "/ocds/bulk/{file}",
    tag = "ocds",
    params(("file" = String, Path, description = "`2026.jsonl.gz`")),
    responses(
        (status = 200, description = "Compiled releases, one per line, gzipped", content_type = "application/gzip", body = String),
        (status = 404, description = "Not a year, or no order was placed in it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Other downloads of a year are under way: see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address: see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn bulk(
    State(web): State<Web>,
    Path(file): Path<String>,
    uri: Uri,
) -> Result<Response, Problem> {
    QueryParams::parse(uri.query()).finish()?;
    let not_found =
        || Problem::not_found("no orders were placed in this year (ask for 2026.jsonl.gz)");
    let year = file
        .strip_suffix(".jsonl.gz")
        .and_then(|y| y.parse::<i32>().ok())
        .filter(|y| (2000..=2999).contains(y))
        .ok_or_else(not_found)?;
    // The first step answers whether there is anything at all, before the
    // answer starts.
    // A year's download reads and compresses every order of the year, and
    // streams longer than a request's deadline: a few at a time per
    // replica, each holding its permit until its last byte.
    let Ok(permit) = web.bulk_downloads.clone().try_acquire_owned() else {
        return Err(Problem::unavailable(
            "the server is preparing other downloads of a whole year: try again in a minute",
            60,
        ));
    };
    let (first, after) = web
        .open_data
        .compiled_lines(year, None, BULK_STEP)
        .await
        .map_err(problem)?;
    if after.is_none() {
        return Err(not_found());
    }
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    gzip.write_all(first.as_bytes())
        .map_err(|_| Problem::internal())?;
    let open_data = web.open_data.clone();
    let chunks = futures::stream::unfold(Some((after, gzip, permit)), move |state| {
        let open_data = open_data.clone();
        async move {
            let (after, mut gzip, permit) = state?;
            let next = match after {
                Some(after) => {
                    open_data
                        .compiled_lines(year, Some(&after), BULK_STEP)
                        .await
                }
                None => Ok((String::new(), None)),
            };
            let step = match next {
                Ok((lines, after)) => gzip.write_all(lines.as_bytes()).map(|()| after),
                Err(e) => {
                    // The download ends short; the client sees it truncated.
                    tracing::error!(error = %e, year, "a bulk download stopped");
                    return Some((
                        Err(std::io::Error::other("the bulk download stopped")),
                        None,
                    ));
                }
            };
            match step {
                Ok(Some(after)) => {
                    let chunk = std::mem::take(gzip.get_mut());
                    Some((
                        Ok::<_, std::io::Error>(chunk),
                        Some((Some(after), gzip, permit)),
                    ))
                }
                Ok(None) => Some((gzip.finish(), None)),
                Err(e) => Some((Err(e), None)),
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"blangkon-ocds-{year}.jsonl.gz\""),
            ),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// The publication policy the packages' `publicationPolicy` names.
pub(super) async fn publication_policy() -> Response {
    (
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        include_str!("../../../../docs/ocds-publication-policy.md"),
    )
        .into_response()
}

fn path_and_query(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string())
}
