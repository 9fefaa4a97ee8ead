//! The outbox relay and the inbox consumer against a real database and a
//! Kafka-protocol broker: events go out in order once, and a consumer
//! applies each event once however often it is delivered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use blangkon_platform::inbox::{
    self, Applied, EventHandler, HandlerError, InboxConsumer, ReceivedEvent,
};
use blangkon_platform::migration::{CreateInbox, CreateOutbox};
use blangkon_platform::outbox::{self, NewEvent, Relay, RelayWaker};
use blangkon_platform::settings::{DatabaseSettings, KafkaSettings};
use blangkon_platform::{CancellationToken, db};
use blangkon_proto::events::{Actor, RegencyJoined};
use blangkon_testkit::{EventReader, TestDatabase, TestKafka, eventually};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

struct PlatformOnly;

#[async_trait::async_trait]
impl MigratorTrait for PlatformOnly {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateOutbox), Box::new(CreateInbox)]
    }
}

fn topic() -> String {
    format!("platform-test-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh topic; created explicitly because not every broker auto-creates.
async fn topic_on(kafka: &TestKafka) -> String {
    let name = topic();
    kafka.create_topic(&name, 3).await;
    name
}

async fn database(test_db: &TestDatabase) -> DatabaseConnection {
    let conn = db::connect(&DatabaseSettings {
        url: test_db.url.as_str().into(),
        max_connections: 5,
        migrate_on_start: true,
    })
    .await
    .unwrap();
    db::migrate::<PlatformOnly>(&conn).await.unwrap();
    conn.execute_unprepared(
        "CREATE TABLE joined_count (regency VARCHAR(5) PRIMARY KEY, n BIGINT NOT NULL)",
    )
    .await
    .unwrap();
    conn
}

fn kafka_settings(bootstrap: &str) -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: bootstrap.into(),
        client_id: "platform-test".into(),
        relay_poll_ms: 100,
        delivery_timeout_ms: 3000,
        ..KafkaSettings::default()
    }
}

fn joined(topic: &str, code: &str) -> NewEvent {
    NewEvent::new(
        topic,
        "test",
        "regency",
        code,
        chrono::Utc::now(),
        &RegencyJoined {
            regency_code: code.into(),
            regency_name: format!("Regency {code}"),
            joined_at: None,
            actor: Some(Actor {
                subject: "t".into(),
                role: "province_admin".into(),
            }),
        },
    )
}

/// Counts RegencyJoined events per regency: the read model under test.
struct CountJoins;

#[async_trait::async_trait]
impl EventHandler for CountJoins {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        let payload = event
            .envelope
            .payload
            .as_ref()
            .ok_or_else(|| HandlerError::Unusable("no payload".into()))?;
        let joined: RegencyJoined = payload
            .to_msg()
            .map_err(|e| HandlerError::Unusable(e.to_string()))?;
        let backend = txn.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO joined_count (regency, n) VALUES ($1, 1) ON CONFLICT (regency) DO UPDATE SET n = joined_count.n + 1"
            }
            _ => {
                "INSERT INTO joined_count (regency, n) VALUES (?, 1) ON CONFLICT (regency) DO UPDATE SET n = joined_count.n + 1"
            }
        };
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [joined.regency_code.into()],
        ))
        .await?;
        Ok(())
    }
}

async fn count_of(conn: &DatabaseConnection, regency: &str) -> i64 {
    let backend = conn.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "SELECT n FROM joined_count WHERE regency = $1",
        _ => "SELECT n FROM joined_count WHERE regency = ?",
    };
    conn.query_one_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [regency.into()],
    ))
    .await
    .unwrap()
    .map(|r| r.try_get::<i64>("", "n").unwrap())
    .unwrap_or(0)
}

#[tokio::test]
async fn the_relay_publishes_committed_events_in_order_and_marks_them() {
    let test_db = TestDatabase::new().await;
    let kafka = TestKafka::new();
    let conn = database(&test_db).await;
    let topic = topic_on(&kafka).await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(
            outbox::enqueue(&conn, joined(&topic, "33.74"))
                .await
                .unwrap(),
        );
        // An aborted transaction leaves nothing behind to publish.
        if i == 10 {
            use sea_orm::TransactionTrait;
            let txn = conn.begin().await.unwrap();
            outbox::enqueue(&txn, joined(&topic, "33.74"))
                .await
                .unwrap();
            txn.rollback().await.unwrap();
        }
    }
    assert_eq!(outbox::pending_count(&conn).await.unwrap(), 25);

    let relay = Relay::new(
        "platform-test",
        conn.clone(),
        &kafka_settings(&kafka.bootstrap),
        RelayWaker::default(),
    )
    .unwrap();
    assert_eq!(relay.publish_pending().await.unwrap(), 25);
    assert_eq!(outbox::pending_count(&conn).await.unwrap(), 0);
    assert_eq!(
        relay.publish_pending().await.unwrap(),
        0,
        "nothing is published twice"
    );

    let reader = EventReader::new(&kafka.bootstrap, &topic);
    let events = reader
        .read_until(Duration::from_secs(30), |e| e.len() >= 25)
        .await;
    let got: Vec<String> = events.iter().map(|e| e.envelope.event_id.clone()).collect();
    assert_eq!(got, ids, "one key, one partition: commit order is kept");
    assert!(events.iter().all(|e| e.key == "33.74"));
}

#[tokio::test]
async fn a_fatally_failed_producer_is_replaced_and_every_event_still_goes_out_once_in_order() {
    let test_db = TestDatabase::new().await;
    // Fault injection needs the mock cluster, whatever broker CI names.
    let kafka = TestKafka::mock();
    let conn = database(&test_db).await;
    let topic = topic_on(&kafka).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(
            outbox::enqueue(&conn, joined(&topic, "33.74"))
                .await
                .unwrap(),
        );
    }
    let relay = Relay::new(
        "platform-test",
        conn.clone(),
        &kafka_settings(&kafka.bootstrap),
        RelayWaker::default(),
    )
    .unwrap();
    let health = relay.health();

    // The broker fences the producer: librdkafka declares an idempotent
    // producer that meets this fatally failed, and it never sends again.
    use rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER as OUT_OF_ORDER;
    kafka.fail_produce_requests(&[OUT_OF_ORDER; 3]);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(relay.run(shutdown.clone()));
    // Drained, and the round that drained it recorded (just after its
    // commit): a recovered relay.
    eventually("the relay recovers", Duration::from_secs(60), || async {
        let drained = outbox::pending_count(&conn).await.unwrap() == 0;
        let recovered =
            health.consecutive_failures() == 0 && health.oldest_unpublished_age() == Duration::ZERO;
        (drained && recovered).then_some(())
    })
    .await;
    assert!(health.producers_replaced() >= 1, "{health:?}");
    shutdown.cancel();
    running.await.unwrap();

    let reader = EventReader::new(&kafka.bootstrap, &topic);
    let events = reader
        .read_until(Duration::from_secs(30), |e| e.len() >= ids.len())
        .await;
    let mut got: Vec<String> = events.iter().map(|e| e.envelope.event_id.clone()).collect();
    // A duplicate is allowed (consumers deduplicate by id), a gap or a
    // reordering is not.
    got.dedup();
    assert_eq!(got, ids);
}

#[tokio::test]
async fn redelivered_events_are_applied_once() {
    let test_db = TestDatabase::new().await;
    let kafka = TestKafka::new();
    let conn = database(&test_db).await;
    let topic = topic_on(&kafka).await;
    let first = joined(&topic, "33.74");
    let second = joined(&topic, "33.01");

    // The broker delivers the first event three times (a producer retry, a
    // replay, a rebalance), the second once.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.bootstrap)
        .set("broker.address.family", "v4")
        .create()
        .unwrap();
    use prost::Message as _;
    for event in [&first, &first, &second, &first] {
        let payload = event.envelope.encode_to_vec();
        producer
            .send(
                FutureRecord::to(&topic)
                    .key(&event.envelope.aggregate_id)
                    .payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    // A record that is not an envelope is skipped, not retried forever.
    producer
        .send(
            FutureRecord::to(&topic)
                .key("x")
                .payload("not protobuf \u{1}\u{2}"),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();

    let shutdown = CancellationToken::new();
    let group = format!("inbox-test-{}", uuid::Uuid::new_v4().simple());
    let counts = blangkon_platform::metrics::ConsumerMetrics::default();
    let consumer = InboxConsumer::new(
        &group,
        conn.clone(),
        &kafka_settings(&kafka.bootstrap),
        &[topic.as_str()],
        Arc::new(CountJoins),
    )
    .unwrap()
    .counted(counts.clone());
    let task = tokio::spawn(consumer.run(shutdown.clone()));

    // Every one of the five records taken, whatever became of it.
    let taken = || {
        ["applied", "duplicate", "skipped", "undecodable"]
            .into_iter()
            .map(|outcome| {
                let labels = [
                    ("consumer", group.clone()),
                    ("outcome", outcome.to_string()),
                ];
                counts.events.get_or_create(&labels).get()
            })
            .sum::<u64>()
    };
    eventually(
        "all five records taken",
        Duration::from_secs(30),
        || async { (taken() >= 5).then_some(()) },
    )
    .await;
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(count_of(&conn, "33.74").await, 1);
    assert_eq!(count_of(&conn, "33.01").await, 1);

    // Applying an already-recorded event directly is a no-op as well.
    let replay = ReceivedEvent {
        envelope: first.envelope.clone(),
        topic: topic.clone(),
        partition: 0,
        offset: 0,
    };
    assert_eq!(
        inbox::apply(&conn, &group, &CountJoins, &replay)
            .await
            .unwrap(),
        Applied::Duplicate
    );
    assert_eq!(count_of(&conn, "33.74").await, 1);
}

/// A handler that fails for good leaves no partial change, and the event is
/// not retried forever.
struct Refuses;

#[async_trait::async_trait]
impl EventHandler for Refuses {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        CountJoins.handle(txn, event).await?;
        Err(HandlerError::Unusable("refused after writing".into()))
    }
}

#[tokio::test]
async fn an_unusable_event_is_recorded_without_its_partial_changes() {
    let test_db = TestDatabase::new().await;
    let conn = database(&test_db).await;
    let event = ReceivedEvent {
        envelope: joined("t", "33.74").envelope,
        topic: "t".into(),
        partition: 0,
        offset: 3,
    };
    assert_eq!(
        inbox::apply(&conn, "c", &Refuses, &event).await.unwrap(),
        Applied::Skipped
    );
    assert_eq!(count_of(&conn, "33.74").await, 0);
    assert_eq!(
        inbox::apply(&conn, "c", &CountJoins, &event).await.unwrap(),
        Applied::Duplicate
    );
    // Another consumer in the same database keeps its own inbox.
    assert_eq!(
        inbox::apply(&conn, "other", &CountJoins, &event)
            .await
            .unwrap(),
        Applied::Handled
    );
    assert_eq!(count_of(&conn, "33.74").await, 1);
}
