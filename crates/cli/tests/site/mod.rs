//! The public site in a real browser (headless Chromium through
//! ChromeDriver): each page loaded from the running suite, what it shows
//! checked against the JSON API's figures, its filters used as a person
//! uses them (the form, the keyboard), axe-core's WCAG 2.1 A/AA check on
//! every page, a phone's screen without sideways scrolling, and a
//! screenshot of each page kept under the target directory.

use std::path::PathBuf;

use blangkon_testkit::browser::{Screen, Session, TestBrowser};
use serde_json::Value;

use super::*;

/// Where the screenshots are kept.
fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("site-screenshots")
}

/// The site and its API, read as a polite client reads them.
struct Site {
    base: String,
    http: reqwest::Client,
}

impl Site {
    /// GETs `path`, waiting as long as `Retry-After` says past the limit.
    async fn answer(&self, path: &str) -> reqwest::Response {
        loop {
            let answer = self
                .http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap();
            if answer.status() != 429 {
                return answer;
            }
            let wait: u64 = answer.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    async fn api(&self, path: &str) -> Value {
        let answer = self.answer(path).await;
        assert_eq!(answer.status(), 200, "GET {path}");
        answer.json().await.unwrap()
    }

    /// Loads `path` in the browser; a page answered 429 (the browser made
    /// too many requests with the API's) is asked again after a pause.
    async fn visit(&self, browser: &Session, path: &str) {
        for _ in 0..30 {
            browser.go(&format!("{}{path}", self.base)).await;
            let limited = browser
                .script(
                    "return document.contentType === 'application/problem+json' \
                     && document.body.innerText.includes('too many requests')",
                    serde_json::json!([]),
                )
                .await;
            if limited != true {
                return;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        panic!("{path} stayed refused");
    }

    /// Waits until reporting has taken in everything the demo did: the
    /// summary and the red flags stay the same over two reads a few
    /// seconds apart (the projection and the red flags' rounds are done).
    async fn settled(&self) {
        let state = async || {
            (
                self.api("/api/v1/summary").await,
                self.api("/api/v1/red-flags?page_size=500").await,
            )
        };
        let mut last = state().await;
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let now = state().await;
            if now == last {
                return;
            }
            last = now;
        }
        panic!("reporting did not settle within a minute");
    }

    /// Loads `path`, checks it against WCAG 2.1 A and AA, sends no script,
    /// and keeps a screenshot named `name`.
    async fn check(&self, browser: &Session, path: &str, name: &str) {
        self.visit(browser, path).await;
        self.checked(browser, name).await;
    }

    /// The page the browser is on: accessible, scriptless, kept.
    async fn checked(&self, browser: &Session, name: &str) {
        let scripts = browser
            .script("return document.scripts.length", serde_json::json!([]))
            .await;
        assert_eq!(scripts, 0, "{name}: a page needs no script");
        let violations = browser.accessibility_violations().await;
        assert!(
            violations.is_empty(),
            "{name} ({}): WCAG 2.1 AA violations:\n{}",
            browser.current_url().await,
            violations.join("\n")
        );
        browser
            .screenshot(&screenshots().join(format!("{name}.png")))
            .await;
    }
}

/// A `<data value>` on the page, as a number.
async fn data_value(browser: &Session, css: &str) -> i64 {
    browser
        .attribute(css, "value")
        .await
        .unwrap_or_else(|| panic!("no value at `{css}`"))
        .parse()
        .unwrap()
}

/// The values of every `<data>` a column of a table shows, in order.
async fn column_values(browser: &Session, css: &str) -> Vec<i64> {
    let values = browser
        .script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(d => d.getAttribute('value'))",
            serde_json::json!([css]),
        )
        .await;
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().parse().unwrap())
        .collect()
}

fn values_of(rows: &Value, field: &str) -> Vec<i64> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_i64().unwrap())
        .collect()
}

/// Walks the site over whatever the suite holds.
pub async fn walk(reporting: &str) {
    let Some(driver) = TestBrowser::start("the public site in a browser").await else {
        return;
    };
    let site = Site {
        base: reporting.to_string(),
        http: reqwest::Client::new(),
    };
    site.settled().await;
    let browser = driver.session(Screen::Desktop).await;

    // The overview: the headline figures are the API's.
    let summary = site.api("/api/v1/summary").await;
    site.check(&browser, "/", "home-id").await;
    assert_eq!(
        browser.attribute("html", "lang").await.as_deref(),
        Some("id")
    );
    for (id, field) in [
        ("#fig-transactions", "transactions"),
        ("#fig-transaction-value", "transaction_value"),
        ("#fig-vendors", "vendors_total"),
        ("#fig-products", "products_listed"),
        ("#fig-regencies", "regencies_transacting"),
        ("#fig-micro-small-share", "micro_small_share_bp"),
    ] {
        assert_eq!(
            data_value(&browser, id).await,
            summary[field].as_i64().unwrap(),
            "{id} against the summary's {field}"
        );
    }
    assert!(
        summary["transactions"].as_i64().unwrap() > 0,
        "the demo made transactions"
    );
    // Each chart's table holds the breakdown's first rows, highest first;
    // the months' holds the latest months, in order.
    for (chart, dimension) in [("by-category", "category"), ("by-regency", "regency")] {
        let rows = site
            .api(&format!("/api/v1/breakdowns/{dimension}?page_size=10"))
            .await;
        assert_eq!(
            column_values(&browser, &format!("#{chart}-table tbody data")).await,
            values_of(&rows["rows"], "value"),
            "the chart of {dimension}"
        );
        assert_eq!(
            browser
                .count(&format!("svg[aria-labelledby^=\"{chart}\"] rect.bar"))
                .await,
            rows["rows"].as_array().unwrap().len(),
            "a bar for each row of {dimension}"
        );
    }
    let months = site.api("/api/v1/breakdowns/month?page_size=1000").await;
    let mut by_month: Vec<(String, i64)> = months["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["value"].as_i64().unwrap(),
            )
        })
        .collect();
    by_month.sort();
    // The demo's year, Blangkon Jateng's first (March 2021 to February
    // 2022), spread over its months rather than one instant.
    assert!(by_month.len() >= 8, "a year of purchasing: {by_month:?}");
    assert!(
        by_month
            .iter()
            .all(|(month, _)| ("2021-03"..="2022-02").contains(&month.as_str())),
        "{by_month:?}"
    );
    assert_eq!(
        column_values(&browser, "#by-month-table tbody data").await,
        by_month.iter().map(|(_, v)| *v).collect::<Vec<_>>()
    );
    let flags = site.api("/api/v1/red-flags?page_size=25").await;
    assert_eq!(
        browser.count(".counts li").await,
        5,
        "every kind of flag counted"
    );
    // The keyboard: the first Tab reaches the link past the menu.
    browser.keys("\u{E004}").await;
    let focused = browser
        .script(
            "return document.activeElement.className",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(focused, "skip", "the first Tab lands on the skip link");

    // The same page in English, through its link.
    browser.follow("a[hreflang=\"en\"]").await;
    assert!(browser.current_url().await.ends_with("/en"));
    site.checked(&browser, "home-en").await;
    assert_eq!(
        browser.attribute("html", "lang").await.as_deref(),
        Some("en")
    );
    assert_eq!(
        data_value(&browser, "#fig-transactions").await,
        summary["transactions"].as_i64().unwrap()
    );

    // The ledger: the API's first page, row for row.
    let ledger = site.api("/api/v1/transactions?page_size=25").await;
    site.check(&browser, "/transaksi", "ledger-id").await;
    assert_eq!(
        column_values(&browser, "#transactions tbody data").await,
        values_of(&ledger["data"], "total")
    );
    assert_eq!(
        browser.count("#next-page").await,
        usize::from(ledger["links"]["next"].is_string())
    );
    // Filtered through the form, as a person does.
    let status = ledger["data"][0]["status"].as_str().unwrap().to_string();
    browser.choose("#f-status", &status).await;
    browser.follow("form.filters button[type=submit]").await;
    assert!(
        browser
            .current_url()
            .await
            .contains(&format!("status={status}")),
        "the form asks for the status"
    );
    let filtered = site
        .api(&format!(
            "/api/v1/transactions?page_size=25&status={status}"
        ))
        .await;
    assert_eq!(
        column_values(&browser, "#transactions tbody data").await,
        values_of(&filtered["data"], "total")
    );
    site.checked(&browser, "ledger-filtered-id").await;
    // A day not in the calendar: refused, named at its field, in words.
    site.check(&browser, "/transaksi?from=2024-02-30", "ledger-refused-id")
        .await;
    assert_eq!(
        browser
            .attribute("#f-from", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    assert!(!browser.text("#f-from-error").await.is_empty());
    assert_eq!(browser.count("#transactions").await, 0);
    let refused = site.answer("/transaksi?from=2024-02-30").await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    // One transaction, reached from the ledger by its link.
    site.visit(&browser, "/transaksi").await;
    browser
        .follow("#transactions tbody tr:first-child td:first-child a")
        .await;
    let first = &ledger["data"][0];
    let order_id = first["order_id"].as_str().unwrap();
    assert_eq!(browser.text("#order-id").await, order_id);
    assert_eq!(
        data_value(&browser, "#total").await,
        first["total"].as_i64().unwrap()
    );
    assert_eq!(
        browser.count("#items tbody tr").await,
        first["items"].as_array().unwrap().len()
    );
    site.checked(&browser, "transaction-id").await;
    assert_eq!(
        site.answer(&format!("/ocds/records/ocds-bkjtg1-{order_id}.json"))
            .await
            .status(),
        200,
        "the transaction's OCDS record link"
    );

    // Its vendor, with the vendor breakdown's figures.
    browser.follow("#vendor-link").await;
    let vendor_id = first["vendor_id"].as_str().unwrap();
    let vendors = site.api("/api/v1/breakdowns/vendor?page_size=1000").await;
    let row = vendors["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == vendor_id)
        .expect("the vendor in the breakdown");
    assert_eq!(
        browser.text("h1").await,
        first["vendor_name"].as_str().unwrap()
    );
    assert_eq!(
        data_value(&browser, "#fig-vendor-value").await,
        row["value"].as_i64().unwrap()
    );
    assert_eq!(
        data_value(&browser, "#fig-vendor-transactions").await,
        row["orders"].as_i64().unwrap()
    );
    site.checked(&browser, "vendor-id").await;

    // The red flags, and one of them.
    site.check(&browser, "/tanda-bahaya", "red-flags-id").await;
    let raised = flags["data"].as_array().unwrap();
    assert_eq!(browser.count("#flags tbody tr").await, raised.len());
    assert!(!raised.is_empty(), "the demo's year raises red flags");
    {
        let flag = &raised[0];
        browser
            .follow("#flags tbody tr:first-child td:first-child a")
            .await;
        assert_eq!(
            browser.text("#explanation").await,
            flag["explanation"]["id"].as_str().unwrap()
        );
        assert_eq!(
            browser.count("#flag-orders li").await,
            flag["order_ids"].as_array().unwrap().len().min(200)
        );
        site.checked(&browser, "red-flag-id").await;
        browser.follow("a[hreflang=\"en\"]").await;
        assert_eq!(
            browser.text("#explanation").await,
            flag["explanation"]["en"].as_str().unwrap()
        );
    }
    site.check(&browser, "/en/red-flags?kind=new-vendor", "red-flags-en")
        .await;

    // The open data: a package per month the API has, and every link
    // answers.
    site.check(&browser, "/data-terbuka", "open-data-id").await;
    assert_eq!(browser.count("#months li").await, by_month.len());
    let links = browser
        .script(
            "return Array.from(document.querySelectorAll('main a')).map(a => a.getAttribute('href'))",
            serde_json::json!([]),
        )
        .await;
    for link in links.as_array().unwrap() {
        let link = link.as_str().unwrap();
        assert_eq!(site.answer(link).await.status(), 200, "the link {link}");
    }

    // What a visitor types is refused at its field and shown back
    // escaped, never as markup; every page carries the content security
    // policy that allows no script.
    let typed = "/transaksi?category=%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let refused = site.answer(typed).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .split(';')
            .next(),
        Some("default-src 'none'")
    );
    let body = refused.text().await.unwrap();
    assert!(!body.contains("<script>"));
    assert!(body.contains("&#60;script&#62;") || body.contains("&lt;script&gt;"));
    let refused = site.answer("/tanda-bahaya?kind=nonsense").await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("id=\"f-kind-error\"")
    );

    // What is not there says so, in the reader's language, answered 404.
    site.check(
        &browser,
        "/en/transactions/00000000-0000-7000-8000-000000000000",
        "not-found-en",
    )
    .await;
    assert!(!browser.text("#message").await.is_empty());
    assert_eq!(
        site.answer("/transaksi/00000000-0000-7000-8000-000000000000")
            .await
            .status(),
        404
    );
    browser.close().await;

    // On a phone: nothing scrolls sideways but a table in its own box.
    let phone = driver.session(Screen::Phone).await;
    for (path, name) in [("/", "home-id-phone"), ("/transaksi", "ledger-id-phone")] {
        site.check(&phone, path, name).await;
        let fits = phone
            .script(
                "return document.documentElement.scrollWidth <= window.innerWidth",
                serde_json::json!([]),
            )
            .await;
        assert_eq!(fits, true, "{path} fits a phone's width");
    }
    phone.close().await;
    eprintln!("screenshots of the site: {}", screenshots().display());
}
