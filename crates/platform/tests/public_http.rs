//! The public HTTP door over a real socket: the rate limit answers 429
//! with `Retry-After`, a full house 503 at once, a repeated read 304, an
//! unknown path a problem document, CORS and compression for reads, and
//! random paths share one metrics series.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use blangkon_platform::caller_limit::AnonymousLimit;
use blangkon_platform::http::{self, HttpSettings};
use blangkon_platform::metrics::Metrics;
use tokio_util::sync::CancellationToken;

struct Door {
    base: String,
    metrics: Metrics,
    shutdown: CancellationToken,
}

impl Drop for Door {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A route that answers a JSON document, and one that takes `pause`.
async fn door(settings: HttpSettings, pause: Duration) -> Door {
    let routes = Router::new()
        .route(
            "/api/v1/figures",
            get(|| async {
                axum::Json(serde_json::json!({
                    "transactions": 3,
                    "value": 4_800_000,
                    "note": "a document long enough to be worth compressing, ".repeat(4),
                }))
            }),
        )
        .route(
            "/api/v1/large",
            get(|| async { vec![b'x'; 17 * 1024 * 1024] }),
        )
        .route(
            "/api/v1/slow",
            get(move || async move {
                tokio::time::sleep(pause).await;
                "done"
            }),
        );
    let metrics = Metrics::default();
    let limit = AnonymousLimit::for_requests(&settings);
    let app = http::harden(routes, &settings, &metrics, limit);
    let listener = http::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    tokio::spawn(http::serve(listener, app, shutdown.clone()));
    Door {
        base,
        metrics,
        shutdown,
    }
}

fn settings() -> HttpSettings {
    HttpSettings {
        requests_per_second: 0,
        ..HttpSettings::with_port(0)
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn past_its_burst_an_address_is_answered_429_with_retry_after() {
    let door = door(
        HttpSettings {
            requests_per_second: 1,
            burst: 3,
            ..settings()
        },
        Duration::ZERO,
    )
    .await;
    let client = client();
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..6 {
        let answer = client
            .get(format!("{}/api/v1/figures", door.base))
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
        if answer.status() == 429 {
            refused = Some(answer);
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    let refused = refused.unwrap();
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(problem["status"], 429);
    assert!(problem["detail"].as_str().unwrap().contains("wait 1 s"));
}

#[tokio::test]
async fn a_full_house_answers_503_at_once_and_a_slow_answer_is_cut_at_the_deadline() {
    let door = door(
        HttpSettings {
            max_concurrent_requests: 1,
            max_request_secs: 1,
            ..settings()
        },
        Duration::from_secs(3),
    )
    .await;
    let client = client();
    let slow = {
        let (client, url) = (client.clone(), format!("{}/api/v1/slow", door.base));
        tokio::spawn(async move { client.get(url).send().await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let shed = client
        .get(format!("{}/api/v1/figures", door.base))
        .send()
        .await
        .unwrap();
    assert_eq!(shed.status(), 503);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "shed at once, not queued"
    );
    assert_eq!(shed.headers()["retry-after"], "1");
    let cut = slow.await.unwrap();
    assert_eq!(cut.status(), 503, "the deadline cut the slow answer");
    let problem: serde_json::Value = cut.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("too long"));
}

#[tokio::test]
async fn a_read_carries_an_etag_and_a_repeat_with_it_is_answered_304() {
    let door = door(settings(), Duration::ZERO).await;
    let client = client();
    let url = format!("{}/api/v1/figures", door.base);
    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "public, max-age=60");
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(tag.starts_with("W/\""), "{tag}");
    let again = client
        .get(&url)
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], tag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());
    let other = client
        .get(&url)
        .header("if-none-match", "W/\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    // An answer larger than the ETag is computed over goes out whole,
    // untagged.
    let large = client
        .get(format!("{}/api/v1/large", door.base))
        .send()
        .await
        .unwrap();
    assert_eq!(large.status(), 200);
    assert!(large.headers().get("etag").is_none());
    assert_eq!(large.headers()["x-content-type-options"], "nosniff");
    assert_eq!(large.bytes().await.unwrap().len(), 17 * 1024 * 1024);
}

#[tokio::test]
async fn reads_are_compressed_and_open_to_any_page() {
    let door = door(settings(), Duration::ZERO).await;
    let client = client();
    let url = format!("{}/api/v1/figures", door.base);
    let answer = client
        .get(&url)
        .header("accept-encoding", "gzip")
        .header("origin", "https://journalist.example")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-encoding"], "gzip");
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    let preflight = client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://journalist.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let methods = preflight.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        methods.contains("GET") && !methods.contains("POST"),
        "{methods}"
    );
}

#[tokio::test]
async fn unknown_paths_are_problems_and_share_one_metrics_series() {
    let door = door(settings(), Duration::ZERO).await;
    let client = client();
    for i in 0..500 {
        let answer = client
            .get(format!("{}/random/{i}/{}", door.base, uuid::Uuid::new_v4()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404);
        if i == 0 {
            assert_eq!(answer.headers()["content-type"], "application/problem+json");
            let problem: serde_json::Value = answer.json().await.unwrap();
            assert!(problem["detail"].as_str().unwrap().contains("openapi.json"));
        }
    }
    client
        .get(format!("{}/api/v1/figures", door.base))
        .send()
        .await
        .unwrap();
    let text = door.metrics.encode().await;
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("http_server_request_duration_seconds_count"))
        .collect();
    assert_eq!(series.len(), 2, "{series:#?}");
    assert!(
        series
            .iter()
            .any(|s| s.contains("http_route=\"unmatched\"") && s.ends_with(" 500")),
        "{series:#?}"
    );
    assert!(
        series
            .iter()
            .any(|s| s.contains("http_route=\"/api/v1/figures\"")),
        "{series:#?}"
    );
}
