//! The public HTTP APIs of reporting and the catalog after the scripted
//! scenario: every route walked, every answer validated against the
//! OpenAPI document the service serves (by status and content type), the
//! figures equal to the gRPC ones, paging by `links.next`, CSV, problem
//! documents that name the parameter, and no personal data anywhere.

use super::*;

/// A service's OpenAPI document, and the answers it was checked against.
struct Described {
    base: String,
    doc: serde_json::Value,
    client: reqwest::Client,
    /// Every body read, for the leak check.
    bodies: String,
}

impl Described {
    async fn new(base: String) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let doc = client
            .get(format!("{base}/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            base,
            doc,
            client,
            bodies: String::new(),
        }
    }

    /// GETs `url` (under the base), expects `status`, and validates the
    /// body against what the document says `template` answers with that
    /// status and content type.
    async fn get(
        &mut self,
        template: &str,
        url: &str,
        status: u16,
    ) -> (reqwest::header::HeaderMap, String) {
        let full = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.base)
        };
        let mut answer = self.client.get(&full).send().await.unwrap();
        // The walk asks more than a visitor's burst: as a polite client
        // does, it waits as long as Retry-After says and asks again.
        while answer.status() == reqwest::StatusCode::TOO_MANY_REQUESTS && status != 429 {
            let wait: u64 = answer.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(wait <= 60, "Retry-After {wait}");
            tokio::time::sleep(Duration::from_secs(wait)).await;
            answer = self.client.get(&full).send().await.unwrap();
        }
        assert_eq!(answer.status().as_u16(), status, "GET {full}");
        let headers = answer.headers().clone();
        let body = answer.text().await.unwrap();
        self.bodies.push_str(&body);
        let content_type = headers["content-type"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let declared = &self.doc["paths"][template]["get"]["responses"][status.to_string()];
        assert!(
            declared.is_object(),
            "{template} does not declare {status} in its OpenAPI document"
        );
        let schema = &declared["content"][content_type.as_str()]["schema"];
        assert!(
            schema.is_object(),
            "{template} does not declare {content_type} for {status}"
        );
        if content_type.ends_with("json") {
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            let mut rooted = schema.clone();
            rooted["components"] = self.doc["components"].clone();
            let validator = jsonschema::draft202012::new(&rooted).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "GET {full}: {errors:#?}\n{body}");
        }
        (headers, body)
    }

    async fn json(&mut self, template: &str, url: &str) -> serde_json::Value {
        let (_, body) = self.get(template, url, 200).await;
        serde_json::from_str(&body).unwrap()
    }

    /// A refusal: its problem document's invalid parameters, by name.
    async fn refused(&mut self, template: &str, url: &str, status: u16) -> Vec<String> {
        let (_, body) = self.get(template, url, status).await;
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["status"], status);
        problem["invalid-params"]
            .as_array()
            .map(|params| {
                params
                    .iter()
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Walks reporting's and the catalog's public routes. `order` went the
/// whole way; `listed` is a listed product, `unlisted` one taken down.
pub async fn walk(s: &Suite, summary: &pb::Summary, order: &str, listed: &str, unlisted: &str) {
    let mut reporting = Described::new(s.http_base(Member::Reporting).unwrap()).await;
    let figures = reporting.json("/api/v1/summary", "/api/v1/summary").await;
    assert_eq!(figures["transactions"], summary.transactions);
    assert_eq!(figures["transaction_value"], summary.transaction_value);
    assert_eq!(figures["micro_small_value"], summary.micro_small_value);
    assert_eq!(figures["vendors_total"], summary.vendors_total);
    // Names beside codes, as the gRPC answer gives them.
    for (field, rows) in [
        ("vendors_by_status", &summary.vendors_by_status),
        ("products_by_category", &summary.products_by_category),
        ("vendors_by_regency", &summary.vendors_by_regency),
    ] {
        let named: Vec<(String, String, String)> = figures[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let text = |f: &str| r[f].as_str().unwrap().to_string();
                (text("key"), text("label"), text("label_en"))
            })
            .collect();
        let expected: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| (r.key.clone(), r.label.clone(), r.label_en.clone()))
            .collect();
        assert_eq!(named, expected, "{field}");
        assert!(
            named.iter().all(|(_, label, _)| !label.is_empty()),
            "{field}: {named:?}"
        );
    }
    assert_eq!(
        figures["top_categories"][0]["label"],
        summary.top_categories[0].label
    );

    for dimension in [
        "category",
        "subcategory",
        "regency",
        "buyer-regency",
        "month",
        "legal-form",
        "scale",
        "status",
        "work-unit",
        "vendor",
    ] {
        let template = "/api/v1/breakdowns/{dimension}";
        let breakdown = reporting
            .json(template, &format!("/api/v1/breakdowns/{dimension}"))
            .await;
        let rows = breakdown["rows"].as_array().unwrap();
        assert!(!rows.is_empty(), "{dimension}");
        if dimension != "status" {
            let value: i64 = rows.iter().map(|r| r["value"].as_i64().unwrap()).sum();
            assert_eq!(value, summary.transaction_value, "{dimension}");
        }
    }
    let (headers, csv) = reporting
        .get(
            "/api/v1/breakdowns/{dimension}",
            "/api/v1/breakdowns/category?format=csv",
            200,
        )
        .await;
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("blangkon-category.csv")
    );
    assert!(csv.starts_with("key,label,orders,value_rupiah\n"), "{csv}");
    assert!(csv.contains("mebel,"), "{csv}");
    assert!(
        reporting
            .refused(
                "/api/v1/breakdowns/{dimension}",
                "/api/v1/breakdowns/colour",
                404
            )
            .await
            .is_empty()
    );
    assert_eq!(
        reporting
            .refused(
                "/api/v1/breakdowns/{dimension}",
                "/api/v1/breakdowns/month?from=2026-13-01&cursor=nonsense",
                400
            )
            .await,
        ["from", "cursor"]
    );

    // The ledger: a page of everything, then the same in pages of two by
    // following links.next, then the CSV.
    let all = reporting
        .json("/api/v1/transactions", "/api/v1/transactions")
        .await;
    let ids: Vec<String> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["order_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(all["links"].get("next").is_none());
    let mut paged = Vec::new();
    let mut next = Some("/api/v1/transactions?page_size=2".to_string());
    while let Some(url) = next {
        let page = reporting.json("/api/v1/transactions", &url).await;
        paged.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["order_id"].as_str().unwrap().to_string()),
        );
        next = page["links"]["next"].as_str().map(str::to_string);
        if let Some(link) = &next {
            assert!(link.starts_with(&reporting.base), "{link}");
            assert!(link.contains("page_size=2"), "{link}");
        }
    }
    assert_eq!(paged, ids);
    let (_, csv) = reporting
        .get(
            "/api/v1/transactions",
            "/api/v1/transactions?format=csv",
            200,
        )
        .await;
    let lines: usize = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["items"].as_array().unwrap().len())
        .sum();
    assert_eq!(csv.lines().count(), lines + 1, "{csv}");
    let filtered = reporting
        .json(
            "/api/v1/transactions",
            "/api/v1/transactions?status=completed&regency=33.74",
        )
        .await;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["data"][0]["order_id"], order);
    assert_eq!(
        reporting
            .refused(
                "/api/v1/transactions",
                "/api/v1/transactions?status=lost&regency=3374",
                400
            )
            .await,
        ["status", "regency"]
    );
    assert_eq!(
        reporting
            .refused(
                "/api/v1/transactions",
                "/api/v1/transactions?colour=red",
                400
            )
            .await,
        ["colour"]
    );
    assert_eq!(
        reporting
            .refused(
                "/api/v1/transactions",
                "/api/v1/transactions?page_size=0",
                400
            )
            .await,
        ["page_size"]
    );
    let one = reporting
        .json(
            "/api/v1/transactions/{order_id}",
            &format!("/api/v1/transactions/{order}"),
        )
        .await;
    assert_eq!(one["total"], 1_750_000);
    assert_eq!(one["status"], "completed");
    assert_eq!(one["bast_date"], "2026-11-20");
    reporting
        .refused(
            "/api/v1/transactions/{order_id}",
            &format!("/api/v1/transactions/{}", uuid::Uuid::now_v7()),
            404,
        )
        .await;
    assert_eq!(
        reporting
            .refused(
                "/api/v1/transactions/{order_id}",
                "/api/v1/transactions/not-an-id",
                400
            )
            .await,
        ["order_id"]
    );

    // The red flags: the scenario's vendors were verified days before
    // their orders, so its transactions are to new vendors (the flags'
    // task computes them within a round of the orders' events).
    let base = reporting.base.clone();
    let client = reporting.client.clone();
    eventually("the red flags are raised", Duration::from_secs(30), || {
        let (url, client) = (format!("{base}/api/v1/red-flags"), client.clone());
        async move {
            let page: serde_json::Value =
                client.get(url).send().await.unwrap().json().await.unwrap();
            let n = page["data"].as_array().map_or(0, Vec::len);
            if n > 0 { Ok(()) } else { Err(n) }
        }
    })
    .await;
    let flags = reporting
        .json("/api/v1/red-flags", "/api/v1/red-flags")
        .await;
    let raised: Vec<serde_json::Value> = flags["data"].as_array().unwrap().clone();
    assert!(
        raised.iter().any(|f| f["kind"] == "new-vendor"),
        "{flags:#}"
    );
    for flag in &raised {
        for id in flag["order_ids"].as_array().unwrap() {
            assert!(ids.iter().any(|i| id == i.as_str()), "{flag:#}");
        }
        assert!(!flag["explanation"]["id"].as_str().unwrap().is_empty());
    }
    let counted: i64 = flags["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(counted, raised.len() as i64, "{flags:#}");
    let mut paged = Vec::new();
    let mut next = Some("/api/v1/red-flags?page_size=1".to_string());
    while let Some(url) = next {
        let page = reporting.json("/api/v1/red-flags", &url).await;
        paged.extend(page["data"].as_array().unwrap().iter().cloned());
        next = page["links"]["next"].as_str().map(str::to_string);
    }
    assert_eq!(paged, raised);
    let (_, csv) = reporting
        .get("/api/v1/red-flags", "/api/v1/red-flags?format=csv", 200)
        .await;
    assert!(csv.starts_with("flag_id,kind,basis,"), "{csv}");
    assert_eq!(csv.lines().count(), raised.len() + 1, "{csv}");
    let flag_id = raised[0]["flag_id"].as_str().unwrap();
    let one = reporting
        .json(
            "/api/v1/red-flags/{flag_id}",
            &format!("/api/v1/red-flags/{flag_id}"),
        )
        .await;
    assert_eq!(one, raised[0]);
    assert_eq!(
        reporting
            .refused(
                "/api/v1/red-flags",
                "/api/v1/red-flags?kind=bribery&regency=3374",
                400
            )
            .await,
        ["kind", "regency"]
    );
    reporting
        .refused(
            "/api/v1/red-flags/{flag_id}",
            "/api/v1/red-flags/new-vendor-0000000000000000",
            404,
        )
        .await;
    assert_eq!(
        reporting
            .refused(
                "/api/v1/red-flags/{flag_id}",
                "/api/v1/red-flags/not-a-flag",
                400
            )
            .await,
        ["flag_id"]
    );

    // The catalog's storefront, without a token.
    let mut catalog = Described::new(s.http_base(Member::Catalog).unwrap()).await;
    let categories = catalog
        .json("/api/v1/categories", "/api/v1/categories")
        .await;
    assert!(
        categories["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "katering.nasi-kotak")
    );
    // The suspended vendor's product leaves the search as the catalog
    // learns of the suspension.
    let visible = eventually(
        "the public search drops the suspended vendor",
        Duration::from_secs(30),
        || {
            let url = format!("{}/api/v1/products", catalog.base);
            let client = catalog.client.clone();
            async move {
                let page: serde_json::Value =
                    client.get(url).send().await.unwrap().json().await.unwrap();
                let count = page["total_matches"].as_i64().unwrap();
                if count == 3 { Ok(page) } else { Err(count) }
            }
        },
    )
    .await;
    assert_eq!(visible["data"].as_array().unwrap().len(), 3);
    let found = catalog
        .json(
            "/api/v1/products",
            "/api/v1/products?q=nasi%20kotak&page_size=1",
        )
        .await;
    assert_eq!(found["data"][0]["id"], listed);
    let product = catalog
        .json(
            "/api/v1/products/{product_id}",
            &format!("/api/v1/products/{listed}"),
        )
        .await;
    assert_eq!(product["price"], 25_000);
    catalog
        .refused(
            "/api/v1/products/{product_id}",
            &format!("/api/v1/products/{unlisted}"),
            404,
        )
        .await;
    assert_eq!(
        catalog
            .refused(
                "/api/v1/products",
                "/api/v1/products?legal_form=llc&regency=33",
                400
            )
            .await,
        ["legal_form"]
    );
    assert_eq!(
        catalog
            .refused(
                "/api/v1/products",
                "/api/v1/products?regency=33&max_price=-1",
                400
            )
            .await,
        ["regency", "max_price"]
    );

    let public = format!("{}{}", reporting.bodies, catalog.bodies);
    assert_eq!(leaks(&public), Vec::<&str>::new());
}

/// Runs `tests/tools/ocds_check.py <command>` on `json` with the project's
/// Python tools and the OCDS 1.1.5 schema kept with these tests.
fn ocds_check(command: &str, json: &str) -> serde_json::Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("package.json");
    std::fs::write(&file, json).unwrap();
    let output = std::process::Command::new(blangkon_testkit::python_tools().join("python"))
        .arg(root.join("tools/ocds_check.py"))
        .arg(command)
        .arg(root.join("data/ocds-schema-1.1.5.zip"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ocds_check.py {command} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn assert_valid(report: &serde_json::Value) {
    assert_eq!(
        report["validation_errors"],
        serde_json::json!([]),
        "{report:#}"
    );
    assert_eq!(
        report["additional_closed_codelist_values"],
        serde_json::json!({}),
        "{report:#}"
    );
}

/// OCDS at its URLs: the day packages hold every version of every order
/// once (13 releases for the scenario's five orders), page by
/// `links.next`, and validate; the record of the order that went the
/// whole way holds its six releases and a compiled release equal to the
/// reference implementation's; the year's bulk file holds the five
/// compiled releases.
pub async fn walk_ocds(s: &Suite, order: &str) {
    let mut reporting = Described::new(s.http_base(Member::Reporting).unwrap()).await;
    let ledger = reporting
        .json("/api/v1/transactions", "/api/v1/transactions")
        .await;
    // The WIB days the scenario's changes happened on (one, unless it ran
    // across midnight).
    let mut days: Vec<String> = ledger["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            [
                t["placed_at"].as_str().unwrap(),
                t["updated_at"].as_str().unwrap(),
            ]
        })
        .map(|at| {
            let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
            let wib = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
            at.with_timezone(&wib).format("%Y-%m-%d").to_string()
        })
        .collect();
    days.sort();
    days.dedup();
    let template = "/ocds/releases/{file}";
    let mut releases = Vec::new();
    for day in &days {
        let package = reporting
            .json(template, &format!("/ocds/releases/{day}.json"))
            .await;
        assert_valid(&validate_ocds(&package.to_string()));
        assert_eq!(package["version"], "1.1");
        assert!(
            package["publicationPolicy"]
                .as_str()
                .unwrap()
                .ends_with("/ocds/publication-policy")
        );
        releases.extend(package["releases"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(releases.len(), 13, "a release per version of each order");
    let mut ids: Vec<&str> = releases.iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 13, "each release once");
    // The same in pages of four, by links.next.
    let mut paged = Vec::new();
    for day in &days {
        let mut next = Some(format!("/ocds/releases/{day}.json?page_size=4"));
        while let Some(url) = next {
            let package = reporting.json(template, &url).await;
            paged.extend(package["releases"].as_array().unwrap().iter().cloned());
            next = package["links"]["next"].as_str().map(str::to_string);
            if next.is_some() {
                assert_eq!(
                    package["extensions"][0],
                    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_pagination_extension/master/extension.json"
                );
            }
        }
    }
    assert_eq!(paged, releases);
    let month = &days[0][..7];
    let monthly = reporting
        .json(
            template,
            &format!("/ocds/releases/{month}.json?page_size=250"),
        )
        .await;
    assert!(monthly["releases"].as_array().unwrap().len() >= releases.len() / days.len());
    reporting
        .refused(template, "/ocds/releases/2026-02-30.json", 404)
        .await;
    reporting
        .refused(template, "/ocds/releases/1999-01.json", 404)
        .await;
    assert_eq!(
        reporting
            .refused(
                template,
                &format!("/ocds/releases/{}.json?cursor=x", days[0]),
                400
            )
            .await,
        ["cursor"]
    );
    assert_eq!(
        reporting
            .refused(
                template,
                &format!("/ocds/releases/{}.json?page_size=251", days[0]),
                400
            )
            .await,
        ["page_size"]
    );

    // The record of the order that went the whole way.
    let ocid = format!("ocds-bkjtg1-{order}");
    let record_template = "/ocds/records/{file}";
    let package = reporting
        .json(record_template, &format!("/ocds/records/{ocid}.json"))
        .await;
    let record = &package["records"][0];
    assert_eq!(record["ocid"], ocid);
    let tags: Vec<&str> = record["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tag"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        [
            "award",
            "awardUpdate",
            "contractUpdate",
            "implementation",
            "implementation",
            "contractTermination"
        ]
    );
    let compiled = &record["compiledRelease"];
    assert_eq!(compiled["tag"], serde_json::json!(["compiled"]));
    assert_eq!(compiled["contracts"][0]["status"], "terminated");
    assert_valid(&ocds_check("validate", &package.to_string()));
    let reference = ocds_check("compile", &package.to_string());
    assert_eq!(
        &reference[0], compiled,
        "the compiled release, against ocdskit's"
    );
    reporting
        .refused(
            record_template,
            &format!("/ocds/records/ocds-bkjtg1-{}.json", uuid::Uuid::now_v7()),
            404,
        )
        .await;
    reporting
        .refused(record_template, "/ocds/records/ocds-other1-x.json", 404)
        .await;

    // A year in bulk: the compiled release of each order placed in it.
    let year = &days[0][..4];
    let answer = reporting
        .client
        .get(format!("{}/ocds/bulk/{year}.jsonl.gz", reporting.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/gzip");
    assert!(
        answer.headers().get("content-encoding").is_none(),
        "not gzipped twice"
    );
    let bytes = answer.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().any(|l| l == compiled));
    reporting
        .refused("/ocds/bulk/{file}", "/ocds/bulk/1999.jsonl.gz", 404)
        .await;
    assert_eq!(
        leaks(&format!("{}{text}", reporting.bodies)),
        Vec::<&str>::new()
    );
}
