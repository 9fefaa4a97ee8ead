//! The vendor service over real gRPC, against a fresh database per test
//! (PostgreSQL when `BLANGKON_TEST_DATABASE_URL` is set, else SQLite) and a
//! Kafka-protocol broker (`BLANGKON_TEST_KAFKA`, else librdkafka's mock).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::time::Duration;

use blangkon_platform::auth::{Role, TokenIssuer, TokenRequest};
use blangkon_platform::kafka::topics;
use blangkon_proto::vendor as pb;
use blangkon_testkit::{EventReader, TestKafka};
use sea_orm::{ConnectionTrait, Statement};
use support::*;
use tonic::{Code, Request};

#[tokio::test]
async fn every_change_publishes_exactly_one_event_keyed_by_its_aggregate() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    app.join(SEMARANG).await;
    let sri = client
        .register_vendor(app.as_regency(SEMARANG, individual(SEMARANG, 1)))
        .await
        .unwrap()
        .into_inner();
    let id = sri.id.clone();
    client
        .verify_vendor(app.as_regency(
            SEMARANG,
            pb::VerifyVendorRequest {
                vendor_id: id.clone(),
                note: "documents checked".into(),
            },
        ))
        .await
        .unwrap();
    client
        .suspend_vendor(app.as_province(pb::SuspendVendorRequest {
            vendor_id: id.clone(),
            reason: "late deliveries".into(),
        }))
        .await
        .unwrap();
    client
        .reinstate_vendor(app.as_province(pb::ReinstateVendorRequest {
            vendor_id: id.clone(),
            note: String::new(),
        }))
        .await
        .unwrap();
    client
        .record_training(app.as_regency(
            SEMARANG,
            pb::RecordTrainingRequest {
                vendor_id: id.clone(),
                topic: "Unggah produk ke katalog".into(),
                kind: pb::TrainingKind::Training as i32,
                attended_on: "2026-03-25".into(),
                organizer: "Dinkop UKM Jateng".into(),
            },
        ))
        .await
        .unwrap();
    let batik = client
        .register_vendor(app.as_province(company(SEMARANG, 2)))
        .await
        .unwrap()
        .into_inner();
    client
        .reject_vendor(app.as_regency(
            SEMARANG,
            pb::RejectVendorRequest {
                vendor_id: batik.id.clone(),
                reason: "NIB does not match the deed".into(),
            },
        ))
        .await
        .unwrap();

    // What this test's changes put into its own outbox...
    let db = app.database().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT event_id, event_type, message_key FROM outbox ORDER BY id",
        ))
        .await
        .unwrap();
    let expected: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "event_id").unwrap(),
                r.try_get("", "event_type").unwrap(),
                r.try_get("", "message_key").unwrap(),
            )
        })
        .collect();
    let types: Vec<&str> = expected.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "blangkon.events.v1.RegencyJoined",
            "blangkon.events.v1.VendorRegistered",
            "blangkon.events.v1.VendorVerified",
            "blangkon.events.v1.VendorSuspended",
            "blangkon.events.v1.VendorReinstated",
            "blangkon.events.v1.TrainingRecorded",
            "blangkon.events.v1.VendorRegistered",
            "blangkon.events.v1.VendorRejected",
        ]
    );

    // ...arrives on the topic once each, under the aggregate's key. The
    // reader keeps going two seconds past the last one to catch duplicates.
    let reader = EventReader::new(&app.kafka.bootstrap, topics::VENDOR_EVENTS);
    let wanted: HashMap<&str, &str> = expected
        .iter()
        .map(|(e, _, k)| (e.as_str(), k.as_str()))
        .collect();
    let mut all_seen_at = None;
    let events = reader
        .read_until(Duration::from_secs(30), |events| {
            let seen = events
                .iter()
                .filter(|e| wanted.contains_key(e.envelope.event_id.as_str()))
                .count();
            if seen >= wanted.len() && all_seen_at.is_none() {
                all_seen_at = Some(std::time::Instant::now());
            }
            all_seen_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2))
        })
        .await;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for event in &events {
        if let Some(key) = wanted.get(event.envelope.event_id.as_str()) {
            *counts.entry(event.envelope.event_id.as_str()).or_default() += 1;
            assert_eq!(event.key, *key);
            assert_eq!(event.envelope.producer, "vendor");
            assert_eq!(
                event.headers.get("event-id").map(String::as_str),
                Some(event.envelope.event_id.as_str())
            );
        }
    }
    for (event_id, event_type, _) in &expected {
        assert_eq!(
            counts.get(event_id.as_str()),
            Some(&1),
            "{event_type} {event_id}"
        );
    }
    assert_eq!(expected[1].2, id);
    assert_eq!(expected[0].2, SEMARANG);
    app.stop().await;
}

/// Polls `probe` until it holds or `within` passes.
async fn eventually<F, Fut>(within: Duration, what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + within;
    while !probe().await {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn outbox_attempts(db: &sea_orm::DatabaseConnection) -> Vec<(bool, i32)> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT published_at IS NOT NULL AS published, attempts FROM outbox ORDER BY id",
    ))
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.try_get("", "published").unwrap(),
            r.try_get("", "attempts").unwrap(),
        )
    })
    .collect()
}

#[tokio::test]
async fn a_change_committed_while_the_broker_is_down_is_published_when_it_returns() {
    // Taking a broker down on command needs the in-process mock cluster.
    let app = spawn_with(
        blangkon_testkit::TestDatabase::new().await,
        TestKafka::mock(),
    )
    .await;
    let db = app.database().await;
    app.join(SEMARANG).await;
    eventually(
        Duration::from_secs(20),
        "the join event is published",
        || async { outbox_attempts(&db).await == [(true, 0)] },
    )
    .await;

    app.kafka.broker_down();
    let vendor = app
        .client()
        .await
        .register_vendor(app.as_regency(SEMARANG, individual(SEMARANG, 7)))
        .await
        .expect("the change commits although Kafka is down")
        .into_inner();
    // The relay tries, the delivery times out (3 s), the event stays queued.
    eventually(
        Duration::from_secs(30),
        "a failed delivery is recorded",
        || async {
            outbox_attempts(&db)
                .await
                .get(1)
                .is_some_and(|(_, attempts)| *attempts >= 1)
        },
    )
    .await;
    assert_eq!(
        blangkon_platform::outbox::pending_count(&db).await.unwrap(),
        1
    );

    app.kafka.broker_up();
    eventually(
        Duration::from_secs(60),
        "the queued event is published",
        || async { blangkon_platform::outbox::pending_count(&db).await.unwrap() == 0 },
    )
    .await;
    let reader = EventReader::new(&app.kafka.bootstrap, topics::VENDOR_EVENTS);
    let events = reader
        .read_until(Duration::from_secs(30), |events| events.len() >= 2)
        .await;
    let registered: Vec<_> = events.iter().filter(|e| e.key == vendor.id).collect();
    assert_eq!(
        registered.len(),
        1,
        "published once after the broker returned"
    );
    assert_eq!(
        registered[0].envelope.event_type,
        "blangkon.events.v1.VendorRegistered"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_regency_admin_cannot_act_on_another_regencys_vendor() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let vendor = app.joined_vendor(3).await;
    app.join(CILACAP).await;

    let verify = client
        .verify_vendor(app.as_regency(
            CILACAP,
            pb::VerifyVendorRequest {
                vendor_id: vendor.id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(verify.code(), Code::PermissionDenied);
    let get = client
        .get_vendor(app.as_regency(
            CILACAP,
            pb::GetVendorRequest {
                vendor_id: vendor.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(get.code(), Code::PermissionDenied);
    let list = client
        .list_vendors(app.as_regency(
            CILACAP,
            pb::ListVendorsRequest {
                regency_code: SEMARANG.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(list.code(), Code::PermissionDenied);
    let register = client
        .register_vendor(app.as_regency(CILACAP, individual(SEMARANG, 4)))
        .await
        .unwrap_err();
    assert_eq!(register.code(), Code::PermissionDenied);
    let training = client
        .record_training(app.as_regency(
            CILACAP,
            pb::RecordTrainingRequest {
                vendor_id: vendor.id.clone(),
                topic: "Foto produk".into(),
                kind: pb::TrainingKind::Training as i32,
                attended_on: "2026-01-10".into(),
                organizer: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(training.code(), Code::PermissionDenied);

    // Listing without a filter shows Cilacap's admin only Cilacap.
    let own = client
        .list_vendors(app.as_regency(CILACAP, pb::ListVendorsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(own.vendors.is_empty());

    // Nothing changed: the vendor is still pending with one history line.
    let still = client
        .get_vendor(app.as_province(pb::GetVendorRequest {
            vendor_id: vendor.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(still.status, pb::VendorStatus::Pending as i32);
    assert_eq!(still.history.len(), 1);

    // The basic view is the same vendor without history and trainings.
    let basic = client
        .get_vendor(app.as_province(pb::GetVendorRequest {
            vendor_id: vendor.id.clone(),
            view: pb::VendorView::Basic as i32,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        basic,
        pb::Vendor {
            history: Vec::new(),
            trainings: Vec::new(),
            ..still
        }
    );
    let bad_view = client
        .get_vendor(app.as_province(pb::GetVendorRequest {
            vendor_id: vendor.id,
            view: 99,
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_view.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&bad_view), ["view"]);
    app.stop().await;
}

#[tokio::test]
async fn roles_that_do_not_administer_vendors_are_refused() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let vendor = app.joined_vendor(5).await;
    for role in [Role::Buyer, Role::Analyst, Role::Service, Role::Vendor] {
        let status = client
            .verify_vendor(app.as_role(
                role,
                pb::VerifyVendorRequest {
                    vendor_id: vendor.id.clone(),
                    note: String::new(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{role}");
        let status = client
            .join_regency(app.as_role(
                role,
                pb::JoinRegencyRequest {
                    code: CILACAP.into(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{role}");
    }
    let status = client
        .join_regency(app.as_regency(
            SEMARANG,
            pb::JoinRegencyRequest {
                code: CILACAP.into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn a_missing_or_bad_token_is_unauthenticated() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let list = || pb::ListRegenciesRequest::default();

    let none = client
        .list_regencies(Request::new(list()))
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated);

    let mut garbage = Request::new(list());
    garbage
        .metadata_mut()
        .insert("authorization", "Bearer not.a.jwt".parse().unwrap());
    assert_eq!(
        client.list_regencies(garbage).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    let forged = TokenIssuer::new("some-other-secret-some-other-secret", None)
        .issue(
            Role::ProvinceAdmin,
            TokenRequest::default(),
            Duration::from_secs(60),
        )
        .unwrap();
    let mut forged_request = Request::new(list());
    forged_request
        .metadata_mut()
        .insert("authorization", format!("Bearer {forged}").parse().unwrap());
    assert_eq!(
        client
            .list_regencies(forged_request)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );

    let mut basic = Request::new(list());
    basic
        .metadata_mut()
        .insert("authorization", "Basic YWRtaW46YWRtaW4=".parse().unwrap());
    assert_eq!(
        client.list_regencies(basic).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    // The same call with a good token works.
    let ok = client
        .list_regencies(app.as_province(list()))
        .await
        .unwrap();
    assert_eq!(ok.into_inner().regencies.len(), 35);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_every_bad_field_named_and_nothing_written() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    app.join(SEMARANG).await;
    let outbox_before = app.count("outbox").await;

    let bad = pb::RegisterVendorRequest {
        name: "   ".into(),
        nik: "33740117084".into(),
        scale: 0,
        regency_code: "Semarang".into(),
        contact: Some(pb::Contact {
            phone: "call me".into(),
            email: "sri-at-example".into(),
        }),
        ..individual(SEMARANG, 8)
    };
    let status = client
        .register_vendor(app.as_regency(SEMARANG, bad))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "contact.email",
            "contact.phone",
            "name",
            "nik",
            "regency_code",
            "scale"
        ]
    );
    assert!(
        status.message().contains("nik must be 16 digits"),
        "{}",
        status.message()
    );

    // An enum value outside the contract, and the NIK's own regency code.
    let status = client
        .register_vendor(app.as_regency(
            SEMARANG,
            pb::RegisterVendorRequest {
                legal_form: 42,
                ..individual(SEMARANG, 9)
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["legal_form"]);
    let status = client
        .register_vendor(app.as_regency(
            SEMARANG,
            pb::RegisterVendorRequest {
                nik: "9999011708800001".into(),
                ..individual(SEMARANG, 10)
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["nik"]);

    let status = client
        .reject_vendor(app.as_regency(
            SEMARANG,
            pb::RejectVendorRequest {
                vendor_id: "not-a-uuid".into(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["vendor_id"]);
    let status = client
        .list_vendors(app.as_province(pb::ListVendorsRequest {
            page_size: 10_000,
            page_token: "%%%".into(),
            status: 99,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["page_size", "page_token", "status"]
    );

    assert_eq!(app.count("vendors").await, 0);
    assert_eq!(app.count("vendor_status_history").await, 0);
    assert_eq!(app.count("outbox").await, outbox_before);
    app.stop().await;
}

#[tokio::test]
async fn a_duplicate_nik_nib_or_npwp_is_already_exists() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    app.join(SEMARANG).await;
    client
        .register_vendor(app.as_regency(SEMARANG, individual(SEMARANG, 11)))
        .await
        .unwrap();
    client
        .register_vendor(app.as_regency(SEMARANG, company(SEMARANG, 12)))
        .await
        .unwrap();

    let same_nik = client
        .register_vendor(app.as_regency(
            SEMARANG,
            pb::RegisterVendorRequest {
                name: "Someone else".into(),
                ..individual(SEMARANG, 11)
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(same_nik.code(), Code::AlreadyExists);
    assert_eq!(violated_fields(&same_nik), ["nik"]);

    let same_nib = client
        .register_vendor(app.as_regency(
            SEMARANG,
            pb::RegisterVendorRequest {
                npwp: "098765432109876".into(),
                ..company(SEMARANG, 12)
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&same_nib), ["nib"]);

    let same_npwp = client
        .register_vendor(app.as_regency(
            SEMARANG,
            pb::RegisterVendorRequest {
                nib: "9120099999999".into(),
                ..company(SEMARANG, 12)
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&same_npwp), ["npwp"]);
    assert_eq!(app.count("vendors").await, 2);
    app.stop().await;
}

#[tokio::test]
async fn the_verification_state_machine_is_enforced_and_every_step_is_recorded() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let vendor = app.joined_vendor(13).await;
    let id = vendor.id.clone();
    assert_eq!(vendor.status, pb::VendorStatus::Pending as i32);

    let reinstate_pending = client
        .reinstate_vendor(app.as_province(pb::ReinstateVendorRequest {
            vendor_id: id.clone(),
            note: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(reinstate_pending.code(), Code::FailedPrecondition);
    assert!(
        reinstate_pending
            .message()
            .contains("pending vendor cannot be reinstated")
    );

    let no_reason = client
        .suspend_vendor(app.as_province(pb::SuspendVendorRequest {
            vendor_id: id.clone(),
            reason: " ".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&no_reason), ["reason"]);

    client
        .verify_vendor(app.as_regency(
            SEMARANG,
            pb::VerifyVendorRequest {
                vendor_id: id.clone(),
                note: "KTP and bank book checked".into(),
            },
        ))
        .await
        .unwrap();
    let twice = client
        .verify_vendor(app.as_regency(
            SEMARANG,
            pb::VerifyVendorRequest {
                vendor_id: id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let reject_verified = client
        .reject_vendor(app.as_regency(
            SEMARANG,
            pb::RejectVendorRequest {
                vendor_id: id.clone(),
                reason: "too late".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(reject_verified.code(), Code::FailedPrecondition);

    let suspended = client
        .suspend_vendor(app.as_regency(
            SEMARANG,
            pb::SuspendVendorRequest {
                vendor_id: id.clone(),
                reason: "complaint about food safety".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(suspended.status, pb::VendorStatus::Suspended as i32);
    let history: Vec<(i32, i32, String, String)> = suspended
        .history
        .iter()
        .map(|h| {
            (
                h.from_status,
                h.to_status,
                h.actor.clone(),
                h.reason.clone(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (
                0,
                pb::VendorStatus::Pending as i32,
                "admin@33.74".into(),
                "registered".into()
            ),
            (
                pb::VendorStatus::Pending as i32,
                pb::VendorStatus::Verified as i32,
                "admin@33.74".into(),
                "KTP and bank book checked".into()
            ),
            (
                pb::VendorStatus::Verified as i32,
                pb::VendorStatus::Suspended as i32,
                "admin@33.74".into(),
                "complaint about food safety".into()
            ),
        ]
    );
    assert!(
        suspended
            .history
            .iter()
            .all(|h| h.actor_role == "regency_admin" && h.changed_at.is_some())
    );

    let unknown = client
        .verify_vendor(app.as_province(pb::VerifyVendorRequest {
            vendor_id: uuid::Uuid::now_v7().to_string(),
            note: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn a_vendor_registers_itself_only_into_a_joined_regency_and_sees_only_itself() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let not_joined = client
        .register_vendor(app.as_vendor("umkm-1", None, individual(CILACAP, 14)))
        .await
        .unwrap_err();
    assert_eq!(not_joined.code(), Code::FailedPrecondition);
    assert!(not_joined.message().contains("has not joined"));

    app.join(CILACAP).await;
    let own = client
        .register_vendor(app.as_vendor("umkm-1", None, individual(CILACAP, 14)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.status, pb::VendorStatus::Pending as i32);
    let again = client
        .register_vendor(app.as_vendor("umkm-1", None, individual(CILACAP, 15)))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);

    let seen = client
        .get_vendor(app.as_vendor(
            "umkm-1",
            None,
            pb::GetVendorRequest {
                vendor_id: own.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.nik, own.nik);
    let other = client
        .register_vendor(app.as_regency(CILACAP, individual(CILACAP, 16)))
        .await
        .unwrap()
        .into_inner();
    let refused = client
        .get_vendor(app.as_vendor(
            "umkm-1",
            Some(&own.id),
            pb::GetVendorRequest {
                vendor_id: other.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // A buyer sees the public record only: no NIK, contact or bank account.
    let public = client
        .get_vendor(app.as_role(
            Role::Buyer,
            pb::GetVendorRequest {
                vendor_id: other.id,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(public.nik.is_empty() && public.contact.is_none() && public.bank_account.is_none());
    assert_eq!(public.name, "Katering Bu Sri 16");
    app.stop().await;
}

#[tokio::test]
async fn listing_filters_and_pages_without_skipping_or_repeating() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    app.join(SEMARANG).await;
    app.join(CILACAP).await;
    let mut semarang_ids = Vec::new();
    for serial in 20..33 {
        let regency = if serial % 3 == 0 { CILACAP } else { SEMARANG };
        let request = if serial % 2 == 0 {
            individual(regency, serial)
        } else {
            company(regency, serial)
        };
        let v = client
            .register_vendor(app.as_province(request))
            .await
            .unwrap()
            .into_inner();
        if regency == SEMARANG {
            semarang_ids.push(v.id);
        }
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_vendors(app.as_regency(
                SEMARANG,
                pb::ListVendorsRequest {
                    page_size: 3,
                    page_token: token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        seen.extend(page.vendors.into_iter().map(|v| v.id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(
        seen, semarang_ids,
        "every Semarang vendor once, in registration order"
    );
    assert_eq!(pages, semarang_ids.len().div_ceil(3));

    let companies = client
        .list_vendors(app.as_province(pb::ListVendorsRequest {
            legal_form: pb::LegalForm::Cv as i32,
            scale: pb::Scale::Small as i32,
            regency_code: CILACAP.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(companies.vendors.len(), 2); // serials 21 and 27
    let by_name = client
        .list_vendors(app.as_province(pb::ListVendorsRequest {
            name_contains: "batik lasem 2".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_name.vendors.len(), 5); // 21, 23, 25, 27, 29
    let regencies = client
        .list_regencies(app.as_role(
            Role::Analyst,
            pb::ListRegenciesRequest {
                joined_only: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let counts: Vec<(String, i64)> = regencies
        .regencies
        .iter()
        .map(|r| (r.code.clone(), r.vendor_count))
        .collect();
    assert_eq!(
        counts,
        [(CILACAP.to_string(), 4), (SEMARANG.to_string(), 9)]
    );
    app.stop().await;
}

#[tokio::test]
async fn data_survives_a_restart() {
    let app = spawn_app().await;
    let vendor = app.joined_vendor(40).await;
    let (db, kafka) = app.stop().await;

    let app = spawn_with(db, kafka).await;
    let again = app
        .client()
        .await
        .get_vendor(app.as_province(pb::GetVendorRequest {
            vendor_id: vendor.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.name, vendor.name);
    assert_eq!(again.nik, vendor.nik);
    let regencies = app
        .client()
        .await
        .list_regencies(app.as_province(pb::ListRegenciesRequest {
            joined_only: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(regencies.regencies.len(), 1);
    assert_eq!(regencies.regencies[0].verified_vendor_count, 0);
    assert_eq!(regencies.regencies[0].vendor_count, 1);
    app.stop().await;
}

#[tokio::test]
async fn regencies_can_be_added_by_api_and_by_configuration() {
    let db = blangkon_testkit::TestDatabase::new().await;
    let app = spawn_with_settings(db, TestKafka::new(), |s| {
        s.service.0.push(blangkon_vendor::settings::RegencySetting {
            code: "31.71".into(),
            name: "Jakarta Selatan".into(),
            kind: blangkon_vendor::domain::regency::RegencyKind::Kota,
        });
    })
    .await;
    let mut client = app.client().await;
    let added = client
        .add_regency(app.as_province(pb::AddRegencyRequest {
            code: "34.71".into(),
            name: "Yogyakarta".into(),
            kind: pb::RegencyKind::Kota as i32,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(!added.joined);
    let twice = client
        .add_regency(app.as_province(pb::AddRegencyRequest {
            code: "34.71".into(),
            name: "Yogyakarta".into(),
            kind: pb::RegencyKind::Kota as i32,
        }))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists);
    let all = client
        .list_regencies(app.as_province(pb::ListRegenciesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.regencies.len(), 37);
    // A NIK from the configured Jakarta code is now a real code.
    app.join(SEMARANG).await;
    client
        .register_vendor(app.as_regency(
            SEMARANG,
            pb::RegisterVendorRequest {
                nik: "3171011708800001".into(),
                ..individual(SEMARANG, 41)
            },
        ))
        .await
        .unwrap();
    app.stop().await;
}

#[tokio::test]
async fn health_and_reflection_are_served_beside_the_api() {
    use tonic_health::pb::health_client::HealthClient;
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel().await);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "blangkon.vendor.v1.VendorService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_request::MessageRequest,
        server_reflection_response::MessageResponse,
    };
    let mut reflection = ServerReflectionClient::new(app.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"blangkon.vendor.v1.VendorService".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );
    app.stop().await;
}
