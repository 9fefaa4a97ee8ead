//! The public site: the open data as pages a citizen, a journalist or a
//! council member can read on a phone, Indonesian first (`/`) and English
//! beside (`/en`). Pages are drawn on the server from templates compiled
//! into the binary (askama), charts are SVG, and every table and filter
//! works without JavaScript (the site sends none, and its content security
//! policy allows none). It reads through the same use cases as the JSON
//! API ([`OpenData`]) and checks filters with the same functions, so a
//! page and the API can never disagree on a figure; the platform's public
//! door in front adds the rate limit, caching and compression.

mod chart;
mod format;
mod pages;
mod text;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use blangkon_domain::validation::Violation;
use blangkon_proto::reporting as pb;

use crate::domain::calendar::Period;
use crate::domain::figures::Dimension;
use crate::domain::red_flags::{FlagKind, Lang};
use crate::error::ReportingError;
use crate::open_data::{FlagAfter, OpenData};
use crate::store::red_flags::FlagFilter;
use chart::{BarChart, Row, ShareGauge, share_bp};
use pages::*;
use text::Text;

/// What every page reads.
#[derive(Clone)]
struct Site {
    open_data: OpenData,
}

/// The stylesheet, compiled in like the templates.
const STYLESHEET: &str = include_str!("../../static/site.css");

/// No script, no frame, nothing from elsewhere: the pages need none, and
/// vendors' words are shown on them.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Rows of a ledger page; most rows a chart draws.
const LEDGER_PAGE: i32 = 25;
const CHART_ROWS: usize = 10;
/// Months the chart by month shows, the latest.
const CHART_MONTHS: usize = 24;
const FLAGS_PAGE: u64 = 25;
/// Orders a flag's page lists by link.
const FLAG_ORDERS_SHOWN: usize = 200;
/// The share of spending regulation reserves for micro and small
/// businesses and cooperatives, in basis points.
const TARGET_SHARE_BP: i64 = 4_000;

/// The site's routes: each page in Indonesian and in English.
pub fn routes(open_data: OpenData) -> Router {
    let in_both = |router: Router<Site>, id: &str, en: &str, make: fn(Lang) -> _| {
        router.route(id, make(Lang::Id)).route(en, make(Lang::En))
    };
    let mut router = Router::new().route("/site.css", get(stylesheet));
    router = in_both(router, "/", "/en", |lang| {
        get(move |site: State<Site>| home(site, lang))
    });
    router = in_both(router, "/transaksi", "/en/transactions", |lang| {
        get(move |site: State<Site>, uri: Uri| ledger(site, uri, lang))
    });
    router = in_both(router, "/transaksi/{id}", "/en/transactions/{id}", |lang| {
        get(move |site: State<Site>, id: Path<String>| transaction(site, id, lang))
    });
    router = in_both(router, "/penyedia/{id}", "/en/vendors/{id}", |lang| {
        get(move |site: State<Site>, id: Path<String>| vendor(site, id, lang))
    });
    router = in_both(router, "/tanda-bahaya", "/en/red-flags", |lang| {
        get(move |site: State<Site>, uri: Uri| red_flags(site, uri, lang))
    });
    router = in_both(router, "/tanda-bahaya/{id}", "/en/red-flags/{id}", |lang| {
        get(move |site: State<Site>, id: Path<String>| red_flag(site, id, lang))
    });
    router = in_both(router, "/data-terbuka", "/en/open-data", |lang| {
        get(move |site: State<Site>| open_data_page(site, lang))
    });
    router.with_state(Site { open_data })
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            // Changes only with a release; a day is short enough.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Where each page is, in each language.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paths(Lang);

impl Paths {
    fn prefix(self) -> &'static str {
        match self.0 {
            Lang::Id => "",
            Lang::En => "/en",
        }
    }

    fn slug(self, section: Section) -> &'static str {
        match (section, self.0) {
            (Section::Home, _) => "",
            (Section::Ledger, Lang::Id) => "/transaksi",
            (Section::Ledger, Lang::En) => "/transactions",
            (Section::Vendor, Lang::Id) => "/penyedia",
            (Section::Vendor, Lang::En) => "/vendors",
            (Section::RedFlags, Lang::Id) => "/tanda-bahaya",
            (Section::RedFlags, Lang::En) => "/red-flags",
            (Section::OpenData, Lang::Id) => "/data-terbuka",
            (Section::OpenData, Lang::En) => "/open-data",
        }
    }

    pub fn of(self, section: Section) -> String {
        let path = format!("{}{}", self.prefix(), self.slug(section));
        if path.is_empty() { "/".into() } else { path }
    }

    pub fn item(self, section: Section, id: &str) -> String {
        format!("{}/{}", self.of(section), url_escape(id))
    }

    pub fn query(self, section: Section, query: &[(&str, String)]) -> String {
        with_query(&self.of(section), query)
    }
}

/// The sections of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Home,
    Ledger,
    Vendor,
    RedFlags,
    OpenData,
}

/// `path?name=value&…`, its values escaped and the empty ones left out;
/// `path` alone when none is left.
fn with_query(path: &str, query: &[(&str, String)]) -> String {
    let pairs: Vec<String> = query
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_escape(v)))
        .collect();
    if pairs.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

fn url_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// What a page's frame shows: the title, the menu, the other language.
/// `current` is the section whose own page this is (none for a page
/// within a section, such as one transaction, or an error).
fn layout(lang: Lang, current: Option<Section>, title: String, other_href: String) -> Layout {
    let t = Text::of(lang);
    let paths = Paths(lang);
    let nav = [
        (Section::Home, t.nav_home),
        (Section::Ledger, t.nav_ledger),
        (Section::RedFlags, t.nav_red_flags),
        (Section::OpenData, t.nav_open_data),
    ]
    .into_iter()
    .map(|(s, label)| NavItem {
        label,
        href: paths.of(s),
        current: Some(s) == current,
    })
    .collect();
    Layout {
        t,
        title,
        home_href: paths.of(Section::Home),
        nav,
        other_href,
    }
}

fn other(lang: Lang) -> Lang {
    match lang {
        Lang::Id => Lang::En,
        Lang::En => Lang::Id,
    }
}

/// A drawn page, or an error page in the reader's language.
fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page of the public site could not be drawn");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page that could not be answered: not found, or a failure.
fn error_page(lang: Lang, status: StatusCode, message: String) -> Response {
    let t = Text::of(lang);
    let page = ErrorPage {
        l: layout(
            lang,
            None,
            t.error_title.into(),
            Paths(other(lang)).of(Section::Home),
        ),
        message,
    };
    render(status, &page)
}

fn failed(lang: Lang, err: ReportingError) -> Response {
    tracing::error!(error = %err, "a page of the public site failed");
    let message = match lang {
        Lang::Id => "Halaman ini tidak dapat dibuka sekarang. Coba lagi sebentar lagi.",
        Lang::En => "This page cannot be shown right now. Please try again shortly.",
    };
    error_page(lang, StatusCode::INTERNAL_SERVER_ERROR, message.into())
}

fn not_found(lang: Lang, message: &str) -> Response {
    error_page(lang, StatusCode::NOT_FOUND, message.into())
}

/// The query of a page: the last value of each name. Unknown names are
/// ignored (a shared link may carry a tracker's); known ones are checked.
struct Query(HashMap<String, String>);

impl Query {
    fn parse(uri: &Uri) -> Self {
        Self(
            url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.trim().chars().take(200).collect()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> String {
        self.0.get(name).cloned().unwrap_or_default()
    }
}

/// A refused filter as the reader's language says it.
fn filter_error(lang: Lang, violation: &Violation) -> (String, String) {
    let field = crate::http::param_of(&violation.field).to_string();
    let message = match lang {
        Lang::En => violation.description.clone(),
        Lang::Id => match field.as_str() {
            "from" | "until" => "Isi tanggal yang ada di kalender (TTTT-BB-HH); tanggal awal tidak boleh sesudah tanggal akhir.".into(),
            "status" => "Pilih salah satu status dari daftar.".into(),
            "regency" => "Pilih kabupaten/kota dari daftar (kode seperti 33.74).".into(),
            "category" => "Kode kategori hanya berisi huruf kecil, angka, titik dan tanda hubung.".into(),
            "vendor" => "Ini bukan nomor penyedia.".into(),
            "kind" => "Pilih salah satu jenis dari daftar.".into(),
            "cursor" => "Tautan halaman ini tidak berlaku lagi; mulai dari halaman pertama.".into(),
            _ => violation.description.clone(),
        },
    };
    (field, message)
}

/// The filters a page refused, by field, in the reader's words.
struct Refusals(Vec<(String, String)>);

impl Refusals {
    fn of(lang: Lang, violations: &[Violation]) -> Self {
        Self(violations.iter().map(|v| filter_error(lang, v)).collect())
    }

    fn at(&self, field: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, message)| message.clone())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// 400 when a filter was refused: the page then shows the form again.
    fn status(&self) -> StatusCode {
        if self.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        }
    }

    fn messages(&self) -> Vec<String> {
        self.0.iter().map(|(_, message)| message.clone()).collect()
    }
}

/// A `<select>`'s options: "any" first, then `choices` (value, label),
/// `chosen` selected. A value the list does not hold stays chosen, so the
/// form shows what was asked (and its error).
fn options(
    any: &str,
    choices: impl IntoIterator<Item = (String, String)>,
    chosen: &str,
) -> Vec<SelectOption> {
    let mut options: Vec<SelectOption> = std::iter::once((String::new(), any.to_string()))
        .chain(choices)
        .map(|(value, label)| SelectOption {
            selected: value == chosen,
            value,
            label,
        })
        .collect();
    if !options.iter().any(|o| o.selected) {
        options.push(SelectOption {
            value: chosen.to_string(),
            label: chosen.to_string(),
            selected: true,
        });
    }
    options
}

/// The regencies as a `<select>` offers them.
fn regency_choices(regencies: &[(String, String)]) -> Vec<(String, String)> {
    regencies
        .iter()
        .map(|(code, name)| (code.clone(), format!("{name} ({code})")))
        .collect()
}

/// Breakdown rows of all time, the highest value first.
async fn rows_of(
    site: &Site,
    dimension: Dimension,
    size: u64,
) -> Result<pb::Breakdown, ReportingError> {
    site.open_data
        .breakdown(dimension, &Period::default(), None, size)
        .await
}

fn chart_rows(
    lang: Lang,
    rows: &[pb::KeyValue],
    total: i64,
    label: impl Fn(&pb::KeyValue) -> String,
) -> Vec<Row> {
    rows.iter()
        .map(|r| Row {
            label: label(r),
            value: r.value,
            value_text: format::rupiah_short(r.value, lang),
            orders_text: format::number(r.orders, lang),
            share_text: format::percent_bp(share_bp(r.value, total), lang),
        })
        .collect()
}

/// What a screen reader hears for a chart: its largest rows, by value
/// (the months' chart is drawn in calendar order).
fn chart_description(lang: Lang, rows: &[Row]) -> String {
    let mut largest: Vec<&Row> = rows.iter().collect();
    largest.sort_by_key(|r| std::cmp::Reverse(r.value));
    let parts: Vec<String> = largest
        .iter()
        .take(5)
        .map(|r| format!("{} {}", r.label, r.value_text))
        .collect();
    match lang {
        Lang::Id => format!("Nilai terbesar: {}.", parts.join("; ")),
        Lang::En => format!("Largest values: {}.", parts.join("; ")),
    }
}

async fn home(State(site): State<Site>, lang: Lang) -> Response {
    match home_page(&site, lang).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(e) => failed(lang, e),
    }
}

async fn home_page(site: &Site, lang: Lang) -> Result<HomePage, ReportingError> {
    let t = Text::of(lang);
    let paths = Paths(lang);
    let summary = site.open_data.summary().await?;
    let by_category = rows_of(site, Dimension::Category, CHART_ROWS as u64).await?;
    let by_regency = rows_of(site, Dimension::Regency, CHART_ROWS as u64).await?;
    let mut by_month = rows_of(site, Dimension::Month, 1_000).await?;
    by_month.rows.sort_by(|a, b| a.key.cmp(&b.key));
    let skip = by_month.rows.len().saturating_sub(CHART_MONTHS);
    by_month.rows.drain(..skip);

    // The charts count transactions (accepted and on) by the vendor's
    // regency; the ledger lists every order by either side's regency, so
    // a row does not link to a ledger that would not add up to it.
    let category_rows = chart_rows(lang, &by_category.rows, by_category.value_total, |r| {
        format::category(&r.key)
    });
    let regency_rows = chart_rows(lang, &by_regency.rows, by_regency.value_total, |r| {
        if r.label.is_empty() {
            r.key.clone()
        } else {
            r.label.clone()
        }
    });
    let month_rows = chart_rows(lang, &by_month.rows, by_month.value_total, |r| {
        format::month(&r.key, lang)
    });
    let charts = vec![
        BarChart::new(
            "by-category",
            t.by_category.into(),
            t.col_category,
            chart_description(lang, &category_rows),
            category_rows,
            "/api/v1/breakdowns/category?format=csv&page_size=1000".into(),
        ),
        BarChart::new(
            "by-regency",
            t.by_regency.into(),
            t.col_regency,
            chart_description(lang, &regency_rows),
            regency_rows,
            "/api/v1/breakdowns/regency?format=csv&page_size=1000".into(),
        ),
        BarChart::new(
            "by-month",
            t.by_month.into(),
            t.col_month,
            chart_description(lang, &month_rows),
            month_rows,
            "/api/v1/breakdowns/month?format=csv&page_size=1000".into(),
        ),
    ];
    let flag_counts = flag_count_views(lang, site.open_data.red_flag_counts().await?);
    let share = i64::from(summary.micro_small_share_bp);
    let as_of = format::from_timestamp(summary.as_of.as_ref()).map(|at| format::moment(at, lang));
    Ok(HomePage {
        l: layout(
            lang,
            Some(Section::Home),
            t.home_title.into(),
            Paths(other(lang)).of(Section::Home),
        ),
        as_of,
        figures: vec![
            Figure {
                id: "transaction-value",
                label: t.fig_transaction_value,
                value: summary.transaction_value,
                text: format::rupiah_short(summary.transaction_value, lang),
                detail: format::rupiah(summary.transaction_value, lang),
            },
            Figure {
                id: "transactions",
                label: t.fig_transactions,
                value: summary.transactions,
                text: format::number(summary.transactions, lang),
                detail: String::new(),
            },
            Figure {
                id: "vendors",
                label: t.fig_vendors,
                value: summary.vendors_total,
                text: format::number(summary.vendors_total, lang),
                detail: format!(
                    "{} {}",
                    format::number(summary.vendors_individual, lang),
                    t.fig_vendors_detail
                ),
            },
            Figure {
                id: "products",
                label: t.fig_products,
                value: summary.products_listed,
                text: format::number(summary.products_listed, lang),
                detail: String::new(),
            },
            Figure {
                id: "regencies",
                label: t.fig_regencies,
                value: summary.regencies_transacting,
                text: format::number(summary.regencies_transacting, lang),
                detail: format!(
                    "{} {}",
                    format::number(summary.regencies_joined, lang),
                    t.fig_regencies_detail
                ),
            },
        ],
        share_bp: share,
        share_text: format::percent_bp(share, lang),
        share_value_text: format::rupiah(summary.micro_small_value, lang),
        share_met: summary.micro_small_target_met,
        gauge: ShareGauge::new(share, TARGET_SHARE_BP),
        charts,
        flag_counts,
        flags_href: paths.of(Section::RedFlags),
    })
}

/// The ledger's filters as the reader gave them.
#[derive(Debug, Clone, Default)]
struct LedgerFilters {
    from: String,
    until: String,
    status: String,
    regency: String,
    category: String,
    vendor: String,
}

impl LedgerFilters {
    fn read(query: &Query) -> Self {
        Self {
            from: query.get("from"),
            until: query.get("until"),
            status: query.get("status"),
            regency: query.get("regency"),
            category: query.get("category"),
            vendor: query.get("vendor"),
        }
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("from", self.from.clone()),
            ("until", self.until.clone()),
            ("status", self.status.clone()),
            ("regency", self.regency.clone()),
            ("category", self.category.clone()),
            ("vendor", self.vendor.clone()),
        ]
    }
}

async fn ledger(State(site): State<Site>, uri: Uri, lang: Lang) -> Response {
    match ledger_page(&site, &uri, lang).await {
        Ok((status, page)) => render(status, &page),
        Err(e) => failed(lang, e),
    }
}

async fn ledger_page(
    site: &Site,
    uri: &Uri,
    lang: Lang,
) -> Result<(StatusCode, LedgerPage), ReportingError> {
    let t = Text::of(lang);
    let paths = Paths(lang);
    let query = Query::parse(uri);
    let filters = LedgerFilters::read(&query);
    let cursor = query.get("cursor");
    let request = pb::ListTransactionsRequest {
        period: Some(pb::Period {
            from_date: filters.from.clone(),
            until_date: filters.until.clone(),
        }),
        status: filters.status.clone(),
        vendor_id: filters.vendor.clone(),
        regency_code: filters.regency.clone(),
        category_code: filters.category.clone(),
        page_size: LEDGER_PAGE,
        page_token: cursor.clone(),
    };
    let mut errors = Refusals(Vec::new());
    let (rows, next_token) = match crate::api::transactions_query(&request) {
        Ok((filter, after, size)) => {
            let answer = site
                .open_data
                .transactions(&filter, after.as_ref(), size)
                .await?;
            (answer.transactions, answer.next_page_token)
        }
        Err(ReportingError::Invalid(violations)) => {
            errors = Refusals::of(lang, &violations);
            (Vec::new(), String::new())
        }
        Err(e) => return Err(e),
    };
    let rows = transaction_rows(site, lang, rows).await?;
    let regencies = site.open_data.regencies().await?;
    let mut categories: Vec<String> = rows_of(site, Dimension::Category, 1_000)
        .await?
        .rows
        .into_iter()
        .chain(rows_of(site, Dimension::Subcategory, 1_000).await?.rows)
        .map(|r| r.key)
        .collect();
    categories.sort();
    categories.dedup();
    let vendor_name = if filters.vendor.is_empty() || !errors.is_empty() {
        String::new()
    } else {
        site.open_data
            .vendor_profile(&filters.vendor)
            .await?
            .map(|v| v.name)
            .unwrap_or_default()
    };

    let pairs = filters.pairs();
    let status_options = options(
        t.filter_any,
        text::STATUSES.map(|s| (s.to_string(), text::status_label(s, lang).to_string())),
        &filters.status,
    );
    let regency_options = options(t.filter_any, regency_choices(&regencies), &filters.regency);
    let category_options = options(
        t.filter_any,
        categories
            .iter()
            .map(|code| (code.clone(), format::category(code))),
        &filters.category,
    );
    let fields = LedgerFields {
        from: Field::new("from", &filters.from, errors.at("from")),
        until: Field::new("until", &filters.until, errors.at("until")),
        status: Field::new("status", &filters.status, errors.at("status")),
        regency: Field::new("regency", &filters.regency, errors.at("regency")),
        category: Field::new("category", &filters.category, errors.at("category")),
        vendor: Field::new("vendor", &filters.vendor, errors.at("vendor")),
        status_options,
        regency_options,
        category_options,
        vendor_name,
    };
    let mut next_query = pairs.clone();
    next_query.push(("cursor", next_token.clone()));
    // The downloads start at the first row, 500 to a page (the API's
    // most), each page linking the next.
    let mut csv_query = pairs.clone();
    csv_query.push(("format", "csv".into()));
    csv_query.push(("page_size", "500".into()));
    let mut json_query = pairs.clone();
    json_query.push(("page_size", "500".into()));
    let filtered = pairs.iter().any(|(_, v)| !v.is_empty());
    Ok((
        errors.status(),
        LedgerPage {
            l: layout(
                lang,
                Some(Section::Ledger),
                t.ledger_title.into(),
                Paths(other(lang)).query(Section::Ledger, &pairs),
            ),
            action: paths.of(Section::Ledger),
            fields,
            errors: errors.messages(),
            rows,
            next_href: (!next_token.is_empty()).then(|| paths.query(Section::Ledger, &next_query)),
            first_href: (!cursor.is_empty()).then(|| paths.query(Section::Ledger, &pairs)),
            clear_href: filtered.then(|| paths.of(Section::Ledger)),
            csv_href: with_query("/api/v1/transactions", &csv_query),
            json_href: with_query("/api/v1/transactions", &json_query),
        },
    ))
}

/// Ledger rows with the names a reader needs.
async fn transaction_rows(
    site: &Site,
    lang: Lang,
    transactions: Vec<pb::Transaction>,
) -> Result<Vec<TransactionRow>, ReportingError> {
    let paths = Paths(lang);
    let codes: Vec<String> = transactions
        .iter()
        .map(|t| t.buyer_regency.clone())
        .collect();
    let names = site.open_data.regency_names(&codes).await?;
    Ok(transactions
        .into_iter()
        .map(|tx| {
            let placed = format::from_timestamp(tx.placed_at.as_ref());
            let first_item = tx.items.first().map(|i| i.name.clone()).unwrap_or_default();
            let more = tx.items.len().saturating_sub(1);
            TransactionRow {
                href: paths.item(Section::Ledger, &tx.order_id),
                date_iso: placed.map(format::iso_day).unwrap_or_default(),
                date_text: placed
                    .map(|at| format::day(at.with_timezone(&wib()).date_naive(), lang))
                    .unwrap_or_default(),
                buyer: tx.buyer_work_unit.clone(),
                buyer_regency: names
                    .get(&tx.buyer_regency)
                    .cloned()
                    .unwrap_or_else(|| tx.buyer_regency.clone()),
                vendor_href: paths.item(Section::Vendor, &tx.vendor_id),
                vendor: tx.vendor_name.clone(),
                items: if more > 0 {
                    format!("{first_item} (+{more} {})", Text::of(lang).more_items)
                } else {
                    first_item
                },
                total: tx.total,
                total_text: format::rupiah(tx.total, lang),
                status: text::status_label(&tx.status, lang),
            }
        })
        .collect())
}

fn wib() -> chrono::FixedOffset {
    use chrono::Offset;
    chrono::FixedOffset::east_opt(7 * 3600).unwrap_or(chrono::Utc.fix())
}

async fn transaction(State(site): State<Site>, Path(id): Path<String>, lang: Lang) -> Response {
    let t = Text::of(lang);
    if uuid::Uuid::parse_str(&id).is_err() {
        return not_found(lang, t.not_found);
    }
    match transaction_page(&site, &id, lang).await {
        Ok(Some(page)) => render(StatusCode::OK, &page),
        Ok(None) => not_found(lang, t.not_found),
        Err(e) => failed(lang, e),
    }
}

async fn transaction_page(
    site: &Site,
    id: &str,
    lang: Lang,
) -> Result<Option<TransactionPage>, ReportingError> {
    let t = Text::of(lang);
    let paths = Paths(lang);
    let Some(tx) = site.open_data.transaction(id).await? else {
        return Ok(None);
    };
    let names = site
        .open_data
        .regency_names(&[tx.buyer_regency.clone(), tx.vendor_regency.clone()])
        .await?;
    let name_of = |code: &str| {
        names
            .get(code)
            .map_or_else(|| code.to_string(), |n| format!("{n} ({code})"))
    };
    let moment = |ts: Option<&prost_types::Timestamp>| {
        format::from_timestamp(ts).map(|at| format::moment(at, lang))
    };
    // Flags about this vendor whose orders include this one.
    let filter = FlagFilter {
        vendor_id: tx.vendor_id.clone(),
        ..FlagFilter::default()
    };
    let (flags, _) = site.open_data.red_flags(&filter, None, 500).await?;
    let flags = flags
        .into_iter()
        .filter(|f| f.flag.order_ids.iter().any(|o| o == id))
        .map(|f| flag_row(lang, f))
        .collect();
    let items = tx
        .items
        .iter()
        .map(|i| ItemRow {
            name: i.name.clone(),
            category: format::category(&i.category_code),
            quantity: format!("{} {}", format::number(i.quantity, lang), i.unit),
            unit_price: format::rupiah(i.unit_price, lang),
            line_total: format::rupiah(i.line_total, lang),
        })
        .collect();
    Ok(Some(TransactionPage {
        l: layout(
            lang,
            None,
            format!("{} {}", t.transaction_title, short_id(id)),
            Paths(other(lang)).item(Section::Ledger, id),
        ),
        order_id: tx.order_id.clone(),
        status: text::status_label(&tx.status, lang),
        buyer: tx.buyer_work_unit.clone(),
        buyer_regency: name_of(&tx.buyer_regency),
        vendor: tx.vendor_name.clone(),
        vendor_href: paths.item(Section::Vendor, &tx.vendor_id),
        vendor_regency: name_of(&tx.vendor_regency),
        vendor_kind: format!(
            "{}, {}",
            text::legal_form_label(&tx.vendor_legal_form, lang),
            text::scale_label(&tx.vendor_scale, lang)
        ),
        placed_at: moment(tx.placed_at.as_ref()).unwrap_or_default(),
        updated_at: moment(tx.updated_at.as_ref()).unwrap_or_default(),
        bast_date: Some(&tx.bast_date)
            .filter(|d| !d.is_empty())
            .map(|d| format::day_text(d, lang)),
        paid_at: moment(tx.paid_at.as_ref()),
        items,
        total: tx.total,
        total_text: format::rupiah(tx.total, lang),
        json_href: format!("/api/v1/transactions/{}", url_escape(id)),
        ocds_href: format!(
            "/ocds/records/{}.json",
            url_escape(&site.open_data.ocid_of(id))
        ),
        flags,
    }))
}

/// The first part of an id: enough to tell orders apart on a page.
fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

async fn vendor(State(site): State<Site>, Path(id): Path<String>, lang: Lang) -> Response {
    let t = Text::of(lang);
    if blangkon_domain::VendorId::parse(&id).is_err() {
        return not_found(lang, t.not_found);
    }
    match vendor_page(&site, &id, lang).await {
        Ok(Some(page)) => render(StatusCode::OK, &page),
        Ok(None) => not_found(lang, t.not_found),
        Err(e) => failed(lang, e),
    }
}

async fn vendor_page(
    site: &Site,
    id: &str,
    lang: Lang,
) -> Result<Option<VendorPage>, ReportingError> {
    let paths = Paths(lang);
    let Some(profile) = site.open_data.vendor_profile(id).await? else {
        return Ok(None);
    };
    let request = pb::ListTransactionsRequest {
        vendor_id: id.to_string(),
        page_size: 10,
        ..Default::default()
    };
    let (filter, _, size) = crate::api::transactions_query(&request)?;
    let latest = site.open_data.transactions(&filter, None, size).await?;
    // A vendor the public has no order of is nobody's business here: a
    // registration still pending, or refused, may name a person.
    if latest.transactions.is_empty() {
        return Ok(None);
    }
    let latest = transaction_rows(site, lang, latest.transactions).await?;
    let flag_filter = FlagFilter {
        vendor_id: id.to_string(),
        ..FlagFilter::default()
    };
    let (flags, _) = site.open_data.red_flags(&flag_filter, None, 100).await?;
    Ok(Some(VendorPage {
        l: layout(
            lang,
            None,
            profile.name.clone(),
            Paths(other(lang)).item(Section::Vendor, id),
        ),
        name: profile.name.clone(),
        regency: if profile.regency_name.is_empty() {
            profile.regency_code.clone()
        } else {
            format!("{} ({})", profile.regency_name, profile.regency_code)
        },
        legal_form: text::legal_form_label(&profile.legal_form, lang),
        scale: text::scale_label(&profile.scale, lang),
        status: text::vendor_status_label(&profile.status, lang),
        verified_at: profile.verified_at.map(|at| format::moment(at, lang)),
        transactions: profile.transactions,
        transactions_text: format::number(profile.transactions, lang),
        value: profile.transaction_value,
        value_text: format::rupiah(profile.transaction_value, lang),
        latest,
        all_href: paths.query(Section::Ledger, &[("vendor", id.to_string())]),
        flags: flags.into_iter().map(|f| flag_row(lang, f)).collect(),
    }))
}

/// How many flags of each kind are raised, each linking to its list.
fn flag_count_views(lang: Lang, counts: Vec<(FlagKind, i64)>) -> Vec<FlagCountView> {
    counts
        .into_iter()
        .map(|(kind, n)| FlagCountView {
            label: kind.label(lang).into(),
            count_text: format::number(n, lang),
            href: Paths(lang).query(Section::RedFlags, &[("kind", kind.code().into())]),
        })
        .collect()
}

fn flag_row(lang: Lang, f: crate::open_data::FlagView) -> FlagRow {
    let paths = Paths(lang);
    let explanation = match lang {
        Lang::Id => f.explanation_id,
        Lang::En => f.explanation_en,
    };
    let buyer = if f.flag.buyer_work_unit.is_empty() {
        f.regency_name.clone()
    } else {
        format!("{}, {}", f.flag.buyer_work_unit, f.regency_name)
    };
    FlagRow {
        href: paths.item(Section::RedFlags, &f.flag.flag_id),
        kind: f.flag.kind.label(lang),
        explanation,
        vendor: f.vendor_name,
        vendor_href: paths.item(Section::Vendor, &f.flag.vendor_id),
        buyer,
        orders_text: format::number(f.flag.order_count, lang),
        raised_iso: format::iso_day(f.flag.raised_at),
        raised_text: format::day(f.flag.raised_at.with_timezone(&wib()).date_naive(), lang),
    }
}

async fn red_flags(State(site): State<Site>, uri: Uri, lang: Lang) -> Response {
    match red_flags_page(&site, &uri, lang).await {
        Ok((status, page)) => render(status, &page),
        Err(e) => failed(lang, e),
    }
}

async fn red_flags_page(
    site: &Site,
    uri: &Uri,
    lang: Lang,
) -> Result<(StatusCode, RedFlagsPage), ReportingError> {
    let t = Text::of(lang);
    let paths = Paths(lang);
    let query = Query::parse(uri);
    let (kind_text, regency, cursor) =
        (query.get("kind"), query.get("regency"), query.get("cursor"));
    let mut violations = Vec::new();
    let kind = Some(kind_text.as_str())
        .filter(|k| !k.is_empty())
        .and_then(|k| {
            let parsed = FlagKind::parse(k);
            if parsed.is_none() {
                violations.push(Violation::new("kind", "must be one of the kinds listed"));
            }
            parsed
        });
    if !regency.is_empty() && blangkon_domain::regency::RegencyCode::parse(&regency).is_err() {
        violations.push(Violation::new(
            "regency",
            "must be a regency code such as 33.74",
        ));
    }
    let after = Some(cursor.as_str())
        .filter(|c| !c.is_empty())
        .and_then(|c| {
            let read = blangkon_platform::page::read::<FlagAfter>(c);
            if read.is_none() {
                violations.push(Violation::new("cursor", "is not a cursor this site gave"));
            }
            read
        });
    let errors = Refusals::of(lang, &violations);
    let (flags, next_token) = if errors.is_empty() {
        let filter = FlagFilter {
            kind,
            regency_code: regency.clone(),
            vendor_id: String::new(),
        };
        site.open_data
            .red_flags(&filter, after.as_ref(), FLAGS_PAGE)
            .await?
    } else {
        (Vec::new(), String::new())
    };
    let counts = site.open_data.red_flag_counts().await?;
    let regencies = site.open_data.regencies().await?;
    let pairs = vec![("kind", kind_text.clone()), ("regency", regency.clone())];
    let mut next_query = pairs.clone();
    next_query.push(("cursor", next_token.clone()));
    let kind_options = options(
        t.filter_any,
        FlagKind::ALL.map(|k| (k.code().to_string(), k.label(lang).to_string())),
        &kind_text,
    );
    let regency_options = options(t.filter_any, regency_choices(&regencies), &regency);
    let mut csv_query = pairs.clone();
    csv_query.push(("format", "csv".into()));
    csv_query.push(("page_size", "500".into()));
    let filtered = pairs.iter().any(|(_, v)| !v.is_empty());
    Ok((
        errors.status(),
        RedFlagsPage {
            l: layout(
                lang,
                Some(Section::RedFlags),
                t.red_flags_title.into(),
                Paths(other(lang)).query(Section::RedFlags, &pairs),
            ),
            action: paths.of(Section::RedFlags),
            counts: flag_count_views(lang, counts),
            kind: Field::new("kind", &kind_text, errors.at("kind")),
            regency: Field::new("regency", &regency, errors.at("regency")),
            kind_options,
            regency_options,
            errors: errors.messages(),
            flags: flags.into_iter().map(|f| flag_row(lang, f)).collect(),
            next_href: (!next_token.is_empty())
                .then(|| paths.query(Section::RedFlags, &next_query)),
            first_href: (!cursor.is_empty()).then(|| paths.query(Section::RedFlags, &pairs)),
            clear_href: filtered.then(|| paths.of(Section::RedFlags)),
            csv_href: with_query("/api/v1/red-flags", &csv_query),
        },
    ))
}

async fn red_flag(State(site): State<Site>, Path(id): Path<String>, lang: Lang) -> Response {
    let t = Text::of(lang);
    if !crate::http::is_flag_id(&id) {
        return not_found(lang, t.not_found);
    }
    let found = match site.open_data.red_flag(&id).await {
        Ok(found) => found,
        Err(e) => return failed(lang, e),
    };
    let Some(view) = found else {
        let message = match lang {
            Lang::Id => "Tanda bahaya ini tidak ada lagi: ia hilang ketika pesanannya berubah.",
            Lang::En => "This red flag is not raised now: it was cleared when its orders changed.",
        };
        return not_found(lang, message);
    };
    let paths = Paths(lang);
    let flag = &view.flag;
    let orders: Vec<OrderLink> = flag
        .order_ids
        .iter()
        .take(FLAG_ORDERS_SHOWN)
        .map(|o| OrderLink {
            href: paths.item(Section::Ledger, o),
            text: o.clone(),
        })
        .collect();
    let more = (flag.order_count as usize).saturating_sub(orders.len());
    let (measured, against) = measures(lang, flag);
    let page = RedFlagPage {
        l: layout(
            lang,
            None,
            format!("{}: {}", flag.kind.label(lang), view.vendor_name),
            Paths(other(lang)).item(Section::RedFlags, &id),
        ),
        json_href: format!("/api/v1/red-flags/{}", url_escape(&id)),
        measured,
        against,
        orders,
        more_text: (more > 0).then(|| format::number(more as i64, lang)),
        row: flag_row(lang, view.clone()),
    };
    render(StatusCode::OK, &page)
}

/// What a flag measured and against what, as a reader reads the figures.
fn measures(lang: Lang, flag: &crate::domain::red_flags::RedFlag) -> (String, String) {
    match flag.kind {
        FlagKind::VendorConcentration => (
            format::percent_bp(flag.amount, lang),
            format::rupiah(flag.reference, lang),
        ),
        FlagKind::NewVendor => (
            format::rupiah(flag.amount, lang),
            match lang {
                Lang::Id => format!("{} hari", format::number(flag.reference, lang)),
                Lang::En => format!("{} days", format::number(flag.reference, lang)),
            },
        ),
        _ => (
            format::rupiah(flag.amount, lang),
            format::rupiah(flag.reference, lang),
        ),
    }
}

async fn open_data_page(State(site): State<Site>, lang: Lang) -> Response {
    let t = Text::of(lang);
    let months = match rows_of(&site, Dimension::Month, 1_000).await {
        Ok(b) => b.rows,
        Err(e) => return failed(lang, e),
    };
    let mut months: Vec<String> = months.into_iter().map(|r| r.key).collect();
    months.sort();
    let mut years: Vec<String> = months
        .iter()
        .filter_map(|m| m.get(..4))
        .map(String::from)
        .collect();
    years.dedup();
    let page = OpenDataPage {
        l: layout(
            lang,
            Some(Section::OpenData),
            t.open_data_title.into(),
            Paths(other(lang)).of(Section::OpenData),
        ),
        months: months
            .iter()
            .rev()
            .map(|m| OrderLink {
                href: format!("/ocds/releases/{m}.json"),
                text: format::month(m, lang),
            })
            .collect(),
        years: years
            .iter()
            .rev()
            .map(|y| OrderLink {
                href: format!("/ocds/bulk/{y}.jsonl.gz"),
                text: y.clone(),
            })
            .collect(),
    };
    render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_page_has_its_place_in_each_language() {
        let (id, en) = (Paths(Lang::Id), Paths(Lang::En));
        assert_eq!(id.of(Section::Home), "/");
        assert_eq!(en.of(Section::Home), "/en");
        assert_eq!(id.item(Section::Ledger, "abc"), "/transaksi/abc");
        assert_eq!(en.item(Section::Vendor, "v1"), "/en/vendors/v1");
        assert_eq!(
            id.query(
                Section::Ledger,
                &[("from", "2024-01-01".into()), ("status", String::new())]
            ),
            "/transaksi?from=2024-01-01"
        );
        assert_eq!(en.query(Section::RedFlags, &[]), "/en/red-flags");
    }
}
