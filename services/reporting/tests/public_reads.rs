//! Public reads need no token, refuse a bad one and name bad fields.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use blangkon_platform::auth::{LocalIssuer, Role, TokenRequest, audience_of};
use blangkon_proto::reporting as pb;
use blangkon_proto::reporting::reporting_service_client::ReportingServiceClient;
use blangkon_reporting::ReportingService;
use blangkon_testkit::fixtures::{issuer, token, with};
use blangkon_testkit::{TestDatabase, TestSuite, stop};
use tonic::{Code, Request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_endpoints_need_no_token_refuse_a_bad_one_and_name_bad_fields() {
    // Topics of its own: the figures must be those of no one's orders.
    let mut services = TestSuite::new();
    let kafka = &mut services.config.kafka;
    kafka.topic_prefix = format!("{}.", kafka.consumer_group_prefix);
    let db = TestDatabase::new().await;
    let reporting = services.start_on::<ReportingService>(&db).await;
    let mut client = ReportingServiceClient::connect(reporting.endpoint())
        .await
        .unwrap();

    let empty = client
        .get_summary(Request::new(pb::GetSummaryRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            empty.transactions,
            empty.transaction_value,
            empty.micro_small_share_bp
        ),
        (0, 0, 0)
    );
    assert!(!empty.micro_small_target_met);
    let analyst = token(
        Role::Analyst,
        TokenRequest {
            subject: "analyst".into(),
            ..TokenRequest::default()
        },
    );
    client
        .get_summary(with(&analyst, pb::GetSummaryRequest {}))
        .await
        .unwrap();
    // Signed with a key the issuer never published.
    let forged = LocalIssuer::generate(issuer().issuer())
        .issue(
            Role::Analyst,
            &TokenRequest {
                subject: "x".into(),
                ..Default::default()
            },
            &[audience_of("reporting")],
            Duration::from_secs(60),
        )
        .unwrap();
    let refused = client
        .get_summary(with(&forged, pb::GetSummaryRequest {}))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);

    let fields = |status: tonic::Status| -> Vec<String> {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        blangkon_platform::validation::violations_of(&status)
            .into_iter()
            .map(|v| v.field)
            .collect()
    };
    let bad = client
        .get_breakdown(Request::new(pb::GetBreakdownRequest {
            dimension: 0,
            period: Some(pb::Period {
                from_date: "2026-02-30".into(),
                until_date: String::new(),
            }),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(fields(bad), ["dimension", "period.from_date"]);
    let bad = client
        .list_transactions(Request::new(pb::ListTransactionsRequest {
            page_size: 9_999,
            page_token: "not-a-token".into(),
            status: "lost".into(),
            vendor_id: "v1".into(),
            regency_code: "3374".into(),
            category_code: "Katering!".into(),
            period: Some(pb::Period {
                from_date: "2026-03-01".into(),
                until_date: "2026-02-01".into(),
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        fields(bad),
        [
            "page_size",
            "page_token",
            "status",
            "vendor_id",
            "regency_code",
            "category_code",
            "period.until_date"
        ]
    );
    let bad = client
        .export_ocds(Request::new(pb::ExportOcdsRequest {
            page_size: -1,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(fields(bad), ["page_size"]);
    // OCDS has no empty package.
    let none = client
        .export_ocds(Request::new(pb::ExportOcdsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::NotFound);
    stop(reporting).await;
}
