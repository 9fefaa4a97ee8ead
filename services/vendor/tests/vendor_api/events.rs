//! Every change publishes its event, also when the broker was away.

use super::*;
use blangkon_testkit::eventually;

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
        "the join event is published",
        Duration::from_secs(20),
        || async { (outbox_attempts(&db).await == [(true, 0)]).then_some(()) },
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
        "a failed delivery is recorded",
        Duration::from_secs(30),
        || async {
            (outbox_attempts(&db)
                .await
                .get(1)
                .is_some_and(|(_, attempts)| *attempts >= 1))
            .then_some(())
        },
    )
    .await;
    assert_eq!(
        blangkon_platform::outbox::pending_count(&db).await.unwrap(),
        1
    );

    app.kafka.broker_up();
    eventually(
        "the queued event is published",
        Duration::from_secs(60),
        || async {
            (blangkon_platform::outbox::pending_count(&db).await.unwrap() == 0).then_some(())
        },
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
