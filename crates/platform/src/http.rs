//! The public HTTP door: a read-only JSON (and CSV) API beside a service's
//! gRPC port, for callers with a browser, `curl` or a spreadsheet instead
//! of a gRPC client. A service publishes an axum [`Router`] of its use
//! cases (`ServiceHost::publish`); this module serves it with what every
//! public read needs, the same for every service:
//!
//! - a rate limit per client address (the same keying as the gRPC
//!   anonymous limit: IPv6 by /64, `x-forwarded-for` only from trusted
//!   proxies), answering `429` with `Retry-After`;
//! - a bound on requests served at once, past which a request is answered
//!   `503` with `Retry-After` at once instead of queueing, and a deadline
//!   per request;
//! - a weak `ETag` on every successful read, answering a matching
//!   `If-None-Match` with `304`, and `Cache-Control` for shared caches;
//! - gzip compression and CORS for reads from any page;
//! - errors as RFC 9457 problem documents (`application/problem+json`)
//!   that name the offending parameter;
//! - `http_server_request_duration_seconds` by route template (a path no
//!   route matches shares one label, so random paths add no series).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::caller_limit::AnonymousLimit;
use crate::metrics::Metrics;
use crate::settings::{SettingsError, require};

/// Largest answer the `ETag` is computed over; a larger one goes out
/// without (no read of this API comes near it: pages are capped).
const MAX_TAGGED_BYTES: usize = 16 * 1024 * 1024;

/// The `http` section: the public HTTP API's listener and limits.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Serve the public HTTP API: on by default for the services that
    /// publish one (catalog, reporting); the others have none to serve.
    pub enabled: bool,
    /// Address it binds, `host:port`; port 0 picks a free port (tests).
    #[schemars(with = "String")]
    pub listen: SocketAddr,
    /// The address the public reaches the API at (`https://host`), for the
    /// links answers carry (`links.next`). Unset, links name the host the
    /// request was sent to.
    pub public_url: Option<String>,
    /// Requests one client address may make per second on average; past
    /// it and `burst`, a request is answered `429` with `Retry-After`.
    /// 0 turns the limit off.
    pub requests_per_second: u32,
    /// Requests one address may make at once above that rate.
    pub burst: u32,
    /// Requests served at once by this replica; a request beyond is
    /// answered `503` with `Retry-After` at once rather than queued.
    pub max_concurrent_requests: usize,
    /// The longest a request may take before it is answered `503`.
    pub max_request_secs: u64,
    /// `Cache-Control: max-age` of a successful read, in seconds: how long
    /// a browser or a CDN may reuse an answer without asking again. Open
    /// data changes as orders do, so a minute by default.
    pub cache_max_age_secs: u32,
    /// Origins whose pages may read the API from a browser (CORS); `*`,
    /// any page (open data is for anyone to build on).
    #[serde(default)]
    pub cors_allow_origins: Vec<String>,
    /// Networks of the ingress or load balancers in front of the API: a
    /// request from them is counted against the address their
    /// `x-forwarded-for` names. Empty, every request counts against its
    /// peer.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl HttpSettings {
    /// Off: no listener.
    pub fn off() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            public_url: None,
            // A person's browsing is a few pages a second, each a handful
            // of requests; a script paging through the ledger, ten.
            requests_per_second: 10,
            burst: 40,
            max_concurrent_requests: 128,
            max_request_secs: 15,
            cache_max_age_secs: 60,
            cors_allow_origins: vec!["*".into()],
            trusted_proxies: Vec::new(),
        }
    }

    /// On `port` of every interface.
    pub fn with_port(port: u16) -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([0, 0, 0, 0], port)),
            ..Self::off()
        }
    }

    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        require(
            self.public_url.as_deref().is_none_or(|u| {
                crate::settings::is_http_url(u)
                    && url::Url::parse(u).is_ok_and(|u| u.query().is_none())
            }),
            section,
            "public_url",
            "must be an http:// or https:// URL without a query",
        )?;
        require(
            self.requests_per_second == 0 || self.burst >= 1,
            section,
            "burst",
            "must be at least 1 while requests_per_second is set",
        )?;
        require(
            self.max_concurrent_requests >= 1,
            section,
            "max_concurrent_requests",
            "must be at least 1",
        )?;
        require(
            (1..=600).contains(&self.max_request_secs),
            section,
            "max_request_secs",
            "must be 1 to 600",
        )?;
        require(
            self.cors_allow_origins
                .iter()
                .all(|o| o == "*" || (crate::settings::is_http_url(o) && !o.ends_with('/'))),
            section,
            "cors_allow_origins",
            "must each be `*` or an origin such as https://data.jatengprov.go.id (no path)",
        )
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self::off()
    }
}

/// A problem document (RFC 9457): what went wrong, for a person and a
/// program. Every refusal of the public API is one; a bad parameter is
/// named in `invalid-params`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "about:blank",
    "title": "Bad Request",
    "status": 400,
    "detail": "page_size must be 1 to 500",
    "invalid-params": [{"name": "page_size", "reason": "must be 1 to 500"}]
}))]
pub struct Problem {
    /// `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, and what to do about it.
    pub detail: String,
    /// The parameters refused, each with why.
    #[serde(
        rename = "invalid-params",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub invalid_params: Vec<InvalidParam>,
    /// Seconds to wait before asking again (also in `Retry-After`).
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
}

/// A parameter a request got wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvalidParam {
    pub name: String,
    pub reason: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            invalid_params: Vec::new(),
            retry_after_secs: None,
        }
    }

    /// `400`: parameter `name` is wrong, `reason` says how.
    pub fn invalid_param(name: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            invalid_params: vec![InvalidParam {
                name: name.into(),
                reason: reason.clone(),
            }],
            ..Self::new(StatusCode::BAD_REQUEST, format!("{name} {reason}"))
        }
    }

    /// `400` for the fields a use case's checks refused, each under the
    /// name the HTTP API gives it (`http_name` maps the checks' field
    /// names, which are the gRPC request's).
    pub fn invalid_fields(
        violations: &[blangkon_domain::validation::Violation],
        http_name: impl Fn(&str) -> &str,
    ) -> Self {
        let params: Vec<InvalidParam> = violations
            .iter()
            .map(|v| InvalidParam {
                name: http_name(&v.field).to_string(),
                reason: v.description.clone(),
            })
            .collect();
        let detail = params
            .iter()
            .map(|p| format!("{} {}", p.name, p.reason))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            invalid_params: params,
            ..Self::new(StatusCode::BAD_REQUEST, detail)
        }
    }

    /// `404`: nothing at this URL.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// `500`: the fault is ours; the cause goes to the log, not the answer.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not answer; try again later",
        )
    }

    /// `503` with `Retry-After`.
    pub fn unavailable(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, detail)
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (
            status,
            [
                (header::CONTENT_TYPE, "application/problem+json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A request's query parameters, taken one by one by name so that a bad
/// one is refused naming it, and one the route does not know is refused
/// too (a misspelt filter would otherwise widen the answer silently).
#[derive(Debug, Default)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
    known: BTreeSet<&'static str>,
}

impl QueryParams {
    /// The parameters of `query` (the URI's query, percent-encoded).
    pub fn parse(query: Option<&str>) -> Self {
        let pairs = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self {
            pairs,
            known: BTreeSet::new(),
        }
    }

    /// Parameter `name` as text: `None` when absent or empty; refused when
    /// given twice or longer than `max_chars`.
    pub fn text(
        &mut self,
        name: &'static str,
        max_chars: usize,
    ) -> Result<Option<String>, Problem> {
        self.known.insert(name);
        let mut values = self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(Problem::invalid_param(name, "is given more than once"));
        }
        if value.chars().count() > max_chars {
            return Err(Problem::invalid_param(
                name,
                format!("is longer than {max_chars} characters"),
            ));
        }
        Ok((!value.is_empty()).then(|| value.clone()))
    }

    /// Parameter `name` parsed with `parse`, whose error says what the
    /// parameter must be.
    pub fn parsed<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, Problem> {
        match self.text(name, 200)? {
            None => Ok(None),
            Some(text) => parse(&text)
                .map(Some)
                .map_err(|reason| Problem::invalid_param(name, reason)),
        }
    }

    /// A page size: `default` when absent, else 1 to `max`.
    pub fn page_size(
        &mut self,
        name: &'static str,
        default: u64,
        max: u64,
    ) -> Result<u64, Problem> {
        let size = self.parsed(name, |text| {
            text.parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| format!("must be a whole number from 1 to {max}"))
        })?;
        Ok(size.unwrap_or(default))
    }

    /// Refuses a parameter none of the calls above asked for.
    pub fn finish(self) -> Result<(), Problem> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !self.known.contains(k.as_str()))
        {
            None => Ok(()),
            Some((unknown, _)) => {
                let known: Vec<&str> = self.known.iter().copied().collect();
                let expected = if known.is_empty() {
                    "this URL takes no parameters".to_string()
                } else {
                    format!("this URL takes {}", known.join(", "))
                };
                Err(Problem::invalid_param(
                    // The name as sent, at most a sane length.
                    &unknown.chars().take(64).collect::<String>(),
                    format!("is not a parameter here: {expected}"),
                ))
            }
        }
    }
}

/// The absolute URL of `path_and_query` as the public sees it: under
/// `http.public_url` when set, else on the host the request named.
pub fn public_link(settings: &HttpSettings, headers: &HeaderMap, path_and_query: &str) -> String {
    if let Some(base) = &settings.public_url {
        return format!("{}{path_and_query}", base.trim_end_matches('/'));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("http://{host}{path_and_query}")
}

/// The URL of the page after this request's: its path and query with
/// `cursor` set to `token`; `None` when `token` is empty (the last page).
pub fn next_link(
    settings: &HttpSettings,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    token: &str,
) -> Option<String> {
    if token.is_empty() {
        return None;
    }
    let kept = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .filter(|(k, _)| k != "cursor")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect::<Vec<_>>();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .append_pair("cursor", token)
        .finish();
    Some(public_link(
        settings,
        headers,
        &format!("{}?{query}", uri.path()),
    ))
}

/// `response` with `next` in a `Link` header too (RFC 8288), for clients
/// that page without reading the body (CSV).
pub fn with_next_link(mut response: Response, next: Option<&str>) -> Response {
    if let Some(value) =
        next.and_then(|n| HeaderValue::from_str(&format!("<{n}>; rel=\"next\"")).ok())
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// A route answering `document` (JSON rendered once, such as the API's
/// OpenAPI document) to every `GET`.
pub fn json_document<S: Clone + Send + Sync + 'static>(
    document: String,
) -> axum::routing::MethodRouter<S> {
    let document: Arc<str> = document.into();
    axum::routing::get(move || {
        let document = document.clone();
        async move {
            (
                [(header::CONTENT_TYPE, "application/json")],
                document.to_string(),
            )
        }
    })
}

/// What the layers share.
#[derive(Clone)]
struct Door {
    limit: AnonymousLimit,
    permits: Arc<Semaphore>,
    deadline: Duration,
    cache_control: HeaderValue,
    durations: Family<[(&'static str, String); 3], Histogram>,
}

/// `routes` with every layer of the public door, in order from the
/// outside: timing, CORS, the rate limit, the bound on requests at once
/// with its deadline, compression, then ETag and caching headers.
pub fn harden(
    routes: Router,
    settings: &HttpSettings,
    metrics: &Metrics,
    limit: AnonymousLimit,
) -> Router {
    let durations = Family::<[(&'static str, String); 3], Histogram>::new_with_constructor(|| {
        // 1 ms to about 16 s.
        Histogram::new(exponential_buckets(0.001, 2.0, 15))
    });
    metrics.register_seconds(
        "http_server_request_duration",
        "Duration of public HTTP requests served, by method, route and status",
        durations.clone(),
    );
    let door = Door {
        limit,
        permits: Arc::new(Semaphore::new(settings.max_concurrent_requests)),
        deadline: Duration::from_secs(settings.max_request_secs),
        cache_control: HeaderValue::from_str(&format!(
            "public, max-age={}",
            settings.cache_max_age_secs
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("no-cache")),
        durations,
    };
    routes
        .fallback(|| async { Problem::not_found("no such page: see /api/v1/openapi.json") })
        .layer(middleware::from_fn_with_state(door.clone(), tag_and_cache))
        .layer(compression())
        .layer(middleware::from_fn_with_state(door.clone(), bound))
        .layer(middleware::from_fn_with_state(door.clone(), rate_limit))
        .layer(cors(settings))
        .layer(middleware::from_fn_with_state(door, time))
}

/// gzip for clients that ask, except what is compressed already (a bulk
/// download in `application/gzip`).
fn compression()
-> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{NotForContentType, Predicate};
    use tower_http::compression::{CompressionLayer, DefaultPredicate};
    CompressionLayer::new().compress_when(
        DefaultPredicate::new().and(NotForContentType::const_new("application/gzip")),
    )
}

fn cors(settings: &HttpSettings) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins = if settings.cors_allow_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            settings
                .cors_allow_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::HEAD])
        .expose_headers([header::ETAG, header::RETRY_AFTER, header::LINK])
        .max_age(Duration::from_secs(86_400))
}

async fn time(State(door): State<Door>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = match *request.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "_OTHER",
    };
    // The route template, never the path: a path no route matches would
    // otherwise add a series per path. (These layers run after routing,
    // so the template is known.)
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let mut response = next.run(request).await;
    // Vendors' words are served as JSON, CSV and text: never as anything
    // a browser guesses.
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    door.durations
        .get_or_create(&[
            ("http_request_method", method.to_string()),
            ("http_route", route),
            (
                "http_response_status_code",
                response.status().as_u16().to_string(),
            ),
        ])
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn rate_limit(State(door): State<Door>, request: Request, next: Next) -> Response {
    let peer: Option<IpAddr> = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Err(wait) = door.limit.admit_client(peer, request.headers()) {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut problem = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many requests from your address: wait {secs} s, then go on more slowly"),
        );
        problem.retry_after_secs = Some(secs);
        return problem.into_response();
    }
    next.run(request).await
}

async fn bound(State(door): State<Door>, request: Request, next: Next) -> Response {
    let Ok(_permit) = door.permits.try_acquire() else {
        return Problem::unavailable("the server is busy: try again in a second", 1)
            .into_response();
    };
    match tokio::time::timeout(door.deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Problem::unavailable(
            "the answer took too long; try again later, or ask for a smaller page",
            5,
        )
        .into_response(),
    }
}

/// A weak `ETag` over the body of every successful `GET` (weak, since the
/// compression outside may encode it differently), `304` for a matching
/// `If-None-Match`, and `Cache-Control` unless the route set its own. A
/// streamed answer (a bulk download, whose size is not known before it is
/// written) goes out untagged, as it streams.
async fn tag_and_cache(State(door): State<Door>, request: Request, next: Next) -> Response {
    let reading = matches!(*request.method(), Method::GET | Method::HEAD);
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let mut response = next.run(request).await;
    if !reading || response.status() != StatusCode::OK {
        return response;
    }
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, door.cache_control.clone());
    }
    use http_body::Body as _;
    let small = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|size| size <= MAX_TAGGED_BYTES as u64);
    if !small {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_TAGGED_BYTES).await else {
        return Problem::internal().into_response();
    };
    let digest = Sha256::digest(&bytes);
    let tag = format!("W/\"{}\"", hex(&digest[..16]));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        parts.headers.insert(header::ETAG, value);
    }
    if if_none_match.is_some_and(|sent| matches_tag(&sent, &tag)) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::CONTENT_TYPE);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// `If-None-Match` matches `tag` (weak comparison, RFC 9110 13.1.2).
fn matches_tag(sent: &HeaderValue, tag: &str) -> bool {
    let Ok(sent) = sent.to_str() else {
        return false;
    };
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    sent.trim() == "*" || sent.split(',').any(|t| opaque(t) == opaque(tag))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Binds the public HTTP listener.
pub async fn bind(listen: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(listen).await
}

/// Serves `app` (already [`harden`]ed) on `listener` until `shutdown`,
/// then lets requests in flight finish.
pub async fn serve(listener: TcpListener, app: Router, shutdown: CancellationToken) {
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, service)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
    {
        tracing::error!(error = %e, "the public HTTP listener stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_taken_by_name_and_the_unknown_and_repeated_are_refused() {
        let mut params = QueryParams::parse(Some("page_size=20&regency=33.74&q=beras%20merah"));
        assert_eq!(params.page_size("page_size", 50, 500).unwrap(), 20);
        assert_eq!(
            params.text("q", 100).unwrap().as_deref(),
            Some("beras merah")
        );
        let unknown = params.finish().unwrap_err();
        assert_eq!(unknown.invalid_params[0].name, "regency");
        assert!(
            unknown.detail.contains("page_size, q"),
            "{}",
            unknown.detail
        );

        let mut params = QueryParams::parse(Some("page_size=0"));
        let refused = params.page_size("page_size", 50, 500).unwrap_err();
        assert_eq!(refused.status, 400);
        assert_eq!(refused.invalid_params[0].name, "page_size");
        assert!(refused.detail.contains("1 to 500"));

        let mut params = QueryParams::parse(Some("q=a&q=b"));
        assert!(
            params
                .text("q", 10)
                .unwrap_err()
                .detail
                .contains("more than once")
        );
        let mut params = QueryParams::parse(Some("q=aaaa"));
        assert!(params.text("q", 3).is_err());
        let mut params = QueryParams::parse(Some("q="));
        assert_eq!(params.text("q", 3).unwrap(), None);
        assert!(QueryParams::parse(None).finish().is_ok());
    }

    #[test]
    fn a_problem_is_a_problem_document_with_retry_after_when_it_has_one() {
        let response = Problem::unavailable("busy", 3).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let json = serde_json::to_value(Problem::invalid_param("from", "must be a date")).unwrap();
        assert_eq!(json["type"], "about:blank");
        assert_eq!(json["title"], "Bad Request");
        assert_eq!(json["invalid-params"][0]["name"], "from");
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_the_wildcard() {
        let tag = "W/\"abc\"";
        for sent in ["W/\"abc\"", "\"abc\"", "\"x\", W/\"abc\"", "*"] {
            assert!(matches_tag(&HeaderValue::from_static(sent), tag), "{sent}");
        }
        assert!(!matches_tag(&HeaderValue::from_static("\"abd\""), tag));
    }

    #[test]
    fn settings_name_the_bad_key() {
        assert!(HttpSettings::with_port(8080).validate("http").is_ok());
        let bad = |change: fn(&mut HttpSettings)| {
            let mut settings = HttpSettings::with_port(8080);
            change(&mut settings);
            settings.validate("http").unwrap_err().to_string()
        };
        assert!(bad(|s| s.public_url = Some("ftp://x".into())).contains("http.public_url"));
        assert!(bad(|s| s.max_concurrent_requests = 0).contains("http.max_concurrent_requests"));
        assert!(bad(|s| s.max_request_secs = 0).contains("http.max_request_secs"));
        assert!(
            bad(|s| s.cors_allow_origins = vec!["https://a.example/".into()])
                .contains("http.cors_allow_origins")
        );
    }

    #[test]
    fn links_use_the_public_url_else_the_requests_host() {
        let mut settings = HttpSettings::off();
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8054"));
        assert_eq!(
            public_link(&settings, &headers, "/api/v1/x?a=1"),
            "http://127.0.0.1:8054/api/v1/x?a=1"
        );
        headers.insert(header::HOST, HeaderValue::from_static("evil\"<x>"));
        assert_eq!(public_link(&settings, &headers, "/p"), "http://localhost/p");
        settings.public_url = Some("https://data.jatengprov.go.id/".into());
        assert_eq!(
            public_link(&settings, &headers, "/p"),
            "https://data.jatengprov.go.id/p"
        );
    }
}
