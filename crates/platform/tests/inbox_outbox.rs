//! The outbox relay and the inbox consumer against a real database and a
//! Kafka-protocol broker: events go out in order once, a consumer applies
//! each event once however often it is delivered, and sets aside what it
//! cannot apply (on PostgreSQL and SQLite) without stopping its partition.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use blangkon_platform::dead_letters::{self, Showing};
use blangkon_platform::inbox::{
    self, Applied, EachEvent, EventHandler, HandlerError, InboxConsumer, ReceivedEvent,
};
use blangkon_platform::migration::{CreateDeadLetters, CreateInbox, CreateOutbox};
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
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateInbox),
            Box::new(CreateDeadLetters),
        ]
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
    let conn = db::connect(&DatabaseSettings::new(test_db.url.as_str(), 5))
        .await
        .unwrap();
    db::migrate::<PlatformOnly>(&conn).await.unwrap();
    // The check holds on SQLite too, which does not enforce VARCHAR(5).
    conn.execute_unprepared(
        "CREATE TABLE joined_count (regency VARCHAR(5) PRIMARY KEY CHECK (length(regency) <= 5), \
         n BIGINT NOT NULL)",
    )
    .await
    .unwrap();
    conn
}

fn kafka_settings(kafka: &TestKafka) -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: kafka.bootstrap.clone(),
        properties: kafka.client_properties(),
        client_id: "platform-test".into(),
        relay_poll_ms: 100,
        delivery_timeout_ms: 3000,
        ..KafkaSettings::default()
    }
}

/// The relay of the outbox in `conn`, publishing to `kafka`.
fn relay(conn: &DatabaseConnection, kafka: &TestKafka) -> Relay {
    Relay::new(
        "platform-test",
        conn.clone(),
        &kafka_settings(kafka),
        RelayWaker::default(),
    )
    .unwrap()
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
impl EachEvent for CountJoins {
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
    let oldest = outbox::oldest_pending(&conn).await.unwrap().unwrap();
    assert!(oldest <= chrono::Utc::now());

    let relay = relay(&conn, &kafka);
    assert_eq!(relay.publish_pending().await.unwrap(), 25);
    assert_eq!(outbox::pending_count(&conn).await.unwrap(), 0);
    assert_eq!(outbox::oldest_pending(&conn).await.unwrap(), None);
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

/// A consumer that resumes inside what the relay published in one round
/// (after a rebalance, a rejoin of its group or a restart it fetches from
/// its committed offset) reads every record from there on. On the tests'
/// tansu this holds because their clients send one record a batch
/// (`TestKafka::client_properties`); without that, a fetch from inside a
/// batch answers nothing of it.
#[tokio::test]
async fn a_consumer_resuming_inside_a_published_round_reads_every_later_record() {
    const EVENTS: i64 = 30;
    let test_db = TestDatabase::new().await;
    let kafka = TestKafka::new();
    let conn = database(&test_db).await;
    let topic = topic();
    kafka.create_topic(&topic, 1).await;
    for _ in 0..EVENTS {
        outbox::enqueue(&conn, joined(&topic, "33.74"))
            .await
            .unwrap();
    }
    let relay = relay(&conn, &kafka);
    // One round: the producer is handed all of them at once.
    assert_eq!(relay.publish_pending().await.unwrap(), EVENTS as usize);

    for resume_at in [0, 1, 12, EVENTS - 1] {
        let read = offsets_from(&kafka, &topic, resume_at, EVENTS - resume_at).await;
        assert_eq!(
            read,
            (resume_at..EVENTS).collect::<Vec<_>>(),
            "resuming at offset {resume_at}"
        );
    }
}

/// The offsets a consumer reads from partition 0 of `topic`, starting at
/// `offset`, until it has `count` of them or 10 s passed.
async fn offsets_from(kafka: &TestKafka, topic: &str, offset: i64, count: i64) -> Vec<i64> {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::{Message, Offset, TopicPartitionList};
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.bootstrap)
        .set("broker.address.family", "v4")
        .set(
            "group.id",
            format!("resume-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Offset(offset))
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut offsets = Vec::new();
    while (offsets.len() as i64) < count && tokio::time::Instant::now() < deadline {
        let wait = tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await;
        if let Ok(Ok(message)) = wait {
            offsets.push(message.offset());
        }
    }
    offsets
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
    let relay = relay(&conn, &kafka);
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
    // A record that is not an envelope is set aside, not retried forever.
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
        &kafka_settings(&kafka),
        &[topic.as_str()],
        Arc::new(CountJoins),
    )
    .unwrap()
    .counted(counts.clone());
    let task = tokio::spawn(consumer.run(shutdown.clone()));

    // Every one of the five records taken, whatever became of it.
    let taken = || {
        ["applied", "duplicate", "dead_lettered"]
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
    let letters = dead_letters::list(&conn, Showing::All, 10).await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].record, "not protobuf \u{1}\u{2}".as_bytes());
    assert!(
        letters[0].reason.starts_with("not an event envelope"),
        "{}",
        letters[0].reason
    );

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
impl EachEvent for Refuses {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        CountJoins.handle(txn, event).await?;
        Err(HandlerError::Unusable("refused after writing".into()))
    }
}

/// Both backends, for what must hold on each: the server CI names (or a
/// SQLite file where none is), and a SQLite file.
async fn both_backends() -> Vec<TestDatabase> {
    let first = TestDatabase::new().await;
    let second = TestDatabase::sqlite();
    if first.is_postgres() {
        vec![first, second]
    } else {
        vec![first]
    }
}

fn received(envelope: blangkon_proto::events::EventEnvelope, offset: i64) -> ReceivedEvent {
    ReceivedEvent {
        envelope,
        topic: "t".into(),
        partition: 0,
        offset,
    }
}

#[tokio::test]
async fn an_event_its_handler_refuses_is_set_aside_without_its_partial_changes() {
    for test_db in both_backends().await {
        let conn = database(&test_db).await;
        let event = received(joined("t", "33.74").envelope, 3);
        assert_eq!(
            inbox::apply(&conn, "c", &Refuses, &event).await.unwrap(),
            Applied::DeadLettered
        );
        assert_eq!(count_of(&conn, "33.74").await, 0);
        let letters = dead_letters::list(&conn, Showing::Waiting, 10)
            .await
            .unwrap();
        assert_eq!(letters.len(), 1);
        let letter = &letters[0];
        assert_eq!(
            (
                letter.consumer.as_str(),
                letter.offset,
                letter.reason.as_str()
            ),
            ("c", 3, "refused after writing")
        );
        assert_eq!(letter.event_type, "blangkon.events.v1.RegencyJoined");
        // Set aside once, however often it is delivered.
        assert_eq!(
            inbox::apply(&conn, "c", &Refuses, &event).await.unwrap(),
            Applied::DeadLettered
        );
        assert_eq!(test_db.count("dead_letters").await, 1);
        // Its DeadLettered event waits in the outbox for the consumer's
        // dead-letter topic.
        assert_eq!(outbox::pending_count(&conn).await.unwrap(), 1);
        // Not recorded in the inbox: a fixed handler applies it.
        assert_eq!(
            inbox::apply(&conn, "c", &CountJoins, &event).await.unwrap(),
            Applied::Handled
        );
        // Another consumer in the same database keeps its own inbox.
        assert_eq!(
            inbox::apply(&conn, "other", &CountJoins, &event)
                .await
                .unwrap(),
            Applied::Handled
        );
        assert_eq!(count_of(&conn, "33.74").await, 2);
    }
}

#[tokio::test]
async fn an_event_the_database_refuses_for_good_is_set_aside_on_both_backends() {
    for test_db in both_backends().await {
        let conn = database(&test_db).await;
        // 45 characters where the column holds five: a check constraint.
        let long = "33.74".repeat(9);
        let event = received(joined("t", &long).envelope, 7);
        assert_eq!(
            inbox::apply(&conn, "c", &CountJoins, &event).await.unwrap(),
            Applied::DeadLettered,
            "{}",
            test_db.url
        );
        let letter = &dead_letters::list(&conn, Showing::Waiting, 10)
            .await
            .unwrap()[0];
        assert!(
            letter.reason.starts_with("the database refused it"),
            "{}",
            letter.reason
        );
        assert_eq!(test_db.count("joined_count").await, 0);
        assert_eq!(test_db.count("inbox").await, 0);
    }
}

#[tokio::test]
async fn an_event_without_a_valid_id_is_refused_at_decoding() {
    use prost::Message as _;
    let mut envelope = joined("t", "33.74").envelope;
    assert!(inbox::decode(Some(&envelope.encode_to_vec())).is_ok());
    for bad in ["", "not-a-uuid", &"1".repeat(50)] {
        envelope.event_id = bad.to_string();
        assert_eq!(
            inbox::decode(Some(&envelope.encode_to_vec())).unwrap_err(),
            "event_id must be a UUID"
        );
    }
    assert_eq!(inbox::decode(None).unwrap_err(), "a record without a value");
    // Nor does one reach an inbox when applied directly: two events with
    // an empty id are two dead letters, neither a duplicate of the other.
    for test_db in both_backends().await {
        let conn = database(&test_db).await;
        for offset in [1, 2] {
            let mut event = received(joined("t", "33.74").envelope, offset);
            event.envelope.event_id = String::new();
            assert_eq!(
                inbox::apply(&conn, "c", &CountJoins, &event).await.unwrap(),
                Applied::DeadLettered
            );
        }
        assert_eq!(test_db.count("dead_letters").await, 2);
        assert_eq!(count_of(&conn, "33.74").await, 0);
    }
}

/// Fails as a database does while it restarts, `failures` times, then
/// applies as [`CountJoins`] does.
struct Flaky {
    failures: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl EachEvent for Flaky {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        use std::sync::atomic::Ordering;
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(HandlerError::Db(sea_orm::DbErr::ConnectionAcquire(
                sea_orm::ConnAcquireErr::Timeout,
            )));
        }
        CountJoins.handle(txn, event).await
    }
}

#[tokio::test]
async fn a_failure_that_may_pass_is_retried_not_set_aside() {
    for test_db in both_backends().await {
        let conn = database(&test_db).await;
        let event = received(joined("t", "33.74").envelope, 1);
        let flaky = Flaky { failures: 1.into() };
        assert!(inbox::apply(&conn, "c", &flaky, &event).await.is_err());
        assert_eq!(test_db.count("dead_letters").await, 0);
        assert_eq!(
            inbox::apply(&conn, "c", &flaky, &event).await.unwrap(),
            Applied::Handled
        );
        assert_eq!(count_of(&conn, "33.74").await, 1);
    }
}

/// Refuses the regencies of one province (`33.*`) until `fixed`: a bug an
/// operator fixes before replaying.
struct RefusesUntilFixed {
    fixed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl EachEvent for RefusesUntilFixed {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        let joined: RegencyJoined = event.message()?;
        if joined.regency_code.starts_with("33.")
            && !self.fixed.load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(HandlerError::Unusable(
                "a province this build refuses".into(),
            ));
        }
        CountJoins.handle(txn, event).await
    }
}

#[tokio::test]
async fn a_poison_event_does_not_hold_up_its_partition_and_is_replayed_once_fixed() {
    let test_db = TestDatabase::new().await;
    let kafka = TestKafka::new();
    let conn = database(&test_db).await;
    // One partition: the valid event is behind the poison one.
    let topic = topic();
    kafka.create_topic(&topic, 1).await;
    let group = format!("inbox-test-{}", uuid::Uuid::new_v4().simple());
    kafka.create_topic(&dead_letters::topic(&group), 1).await;
    let poison = joined(&topic, "33.74");
    let valid = joined(&topic, "34.71");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.bootstrap)
        .set("broker.address.family", "v4")
        .create()
        .unwrap();
    use prost::Message as _;
    for event in [&poison, &valid] {
        let payload = event.envelope.encode_to_vec();
        producer
            .send(
                FutureRecord::to(&topic).key("one").payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }

    let handler = Arc::new(RefusesUntilFixed {
        fixed: false.into(),
    });
    let metrics = blangkon_platform::metrics::Metrics::default();
    metrics.watch_dead_letters(conn.clone());
    let counts = metrics.consumers();
    let shutdown = CancellationToken::new();
    let consumer = InboxConsumer::new(
        &group,
        conn.clone(),
        &kafka_settings(&kafka),
        &[topic.as_str()],
        handler.clone(),
    )
    .unwrap()
    .counted(counts.clone());
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    eventually(
        "the valid event behind the poison one applied",
        Duration::from_secs(30),
        || async { (count_of(&conn, "34.71").await == 1).then_some(()) },
    )
    .await;
    let letters = dead_letters::list(&conn, Showing::Waiting, 10)
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].event_id, poison.envelope.event_id);
    assert_eq!(letters[0].topic, topic);
    assert_eq!((letters[0].partition, letters[0].offset), (0, 0));
    assert_eq!(letters[0].record, poison.envelope.encode_to_vec());
    let text = metrics.encode().await;
    assert!(
        text.contains(&format!(
            "blangkon_consumer_events_total{{consumer=\"{group}\",outcome=\"dead_lettered\"}} 1"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "blangkon_dead_letters_waiting{{consumer=\"{group}\"}} 1"
        )),
        "{text}"
    );

    // The DeadLettered event goes out on the consumer's dead-letter topic.
    let relay = relay(&conn, &kafka);
    assert_eq!(relay.publish_pending().await.unwrap(), 1);
    let reader = EventReader::new(&kafka.bootstrap, &dead_letters::topic(&group));
    let published = reader
        .read_until(Duration::from_secs(30), |e| !e.is_empty())
        .await;
    let told: blangkon_proto::events::DeadLettered = published[0]
        .envelope
        .payload
        .as_ref()
        .unwrap()
        .to_msg()
        .unwrap();
    assert_eq!(told.event_id, poison.envelope.event_id);
    assert_eq!(told.reason, "a province this build refuses");
    assert_eq!(told.dead_letter_id, letters[0].id);

    // Fixed; the operator asks for a replay, the running consumer applies
    // it within a round, once.
    handler
        .fixed
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(dead_letters::request_replay(&conn, &[]).await.unwrap(), 1);
    // The replay applies the event, then marks its letter resolved: wait
    // for both (the gate once read between the two).
    eventually(
        "the dead letter replayed and resolved",
        Duration::from_secs(30),
        || async {
            let resolved = dead_letters::list(&conn, Showing::All, 10)
                .await
                .unwrap()
                .first()
                .is_some_and(|letter| letter.resolved_at.is_some());
            (resolved && count_of(&conn, "33.74").await == 1).then_some(())
        },
    )
    .await;
    assert!(
        dead_letters::list(&conn, Showing::Waiting, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Asking again changes nothing: it is resolved.
    assert_eq!(
        dead_letters::request_replay(&conn, &[letters[0].id])
            .await
            .unwrap(),
        0
    );
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(count_of(&conn, "33.74").await, 1);
}

/// Applies as [`CountJoins`] does, noting the size of each batch it is
/// handed.
#[derive(Default)]
struct NotesBatches {
    sizes: std::sync::Mutex<Vec<usize>>,
}

#[async_trait::async_trait]
impl EventHandler for NotesBatches {
    async fn handle_batch(
        &self,
        txn: &DatabaseTransaction,
        events: &[ReceivedEvent],
    ) -> Result<(), HandlerError> {
        self.sizes.lock().unwrap().push(events.len());
        for event in events {
            CountJoins.handle(txn, event).await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_batch_applies_each_new_event_once_in_one_transaction() {
    for test_db in both_backends().await {
        let conn = database(&test_db).await;
        let before = received(joined("t", "33.74").envelope, 1);
        assert_eq!(
            inbox::apply(&conn, "c", &CountJoins, &before)
                .await
                .unwrap(),
            Applied::Handled
        );
        let second = received(joined("t", "33.01").envelope, 2);
        let third = received(joined("t", "33.02").envelope, 3);
        let handler = NotesBatches::default();
        // Applied before, new, the same again (a broker may deliver a
        // record twice in a row), new.
        let batch = [before.clone(), second.clone(), second.clone(), third];
        let applied = inbox::apply_batch(&conn, "c", &handler, &batch)
            .await
            .unwrap();
        assert_eq!(
            applied,
            [
                Applied::Duplicate,
                Applied::Handled,
                Applied::Duplicate,
                Applied::Handled
            ],
            "{}",
            test_db.url
        );
        // The two new events reached the handler together, once.
        assert_eq!(*handler.sizes.lock().unwrap(), [2]);
        for regency in ["33.74", "33.01", "33.02"] {
            assert_eq!(count_of(&conn, regency).await, 1, "{regency}");
        }
        assert_eq!(test_db.count("inbox").await, 3);
        // Applied again, all of it is a duplicate and the handler is not
        // called.
        let again = inbox::apply_batch(&conn, "c", &handler, &batch)
            .await
            .unwrap();
        assert!(again.iter().all(|a| *a == Applied::Duplicate), "{again:?}");
        assert_eq!(handler.sizes.lock().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_batch_with_an_event_refused_for_good_sets_aside_that_event_alone() {
    for test_db in both_backends().await {
        let conn = database(&test_db).await;
        let refuses = RefusesUntilFixed {
            fixed: false.into(),
        };
        // Refused by the handler (33.*) and by the database (too long for
        // its column), each between events that apply.
        let batch = [
            received(joined("t", "34.71").envelope, 1),
            received(joined("t", "33.74").envelope, 2),
            received(joined("t", "34.72").envelope, 3),
            received(joined("t", &"34.73".repeat(9)).envelope, 4),
            received(joined("t", "34.74").envelope, 5),
        ];
        let applied = inbox::apply_batch(&conn, "c", &refuses, &batch)
            .await
            .unwrap();
        assert_eq!(
            applied,
            [
                Applied::Handled,
                Applied::DeadLettered,
                Applied::Handled,
                Applied::DeadLettered,
                Applied::Handled
            ],
            "{}",
            test_db.url
        );
        for (regency, count) in [("34.71", 1), ("33.74", 0), ("34.72", 1), ("34.74", 1)] {
            assert_eq!(count_of(&conn, regency).await, count, "{regency}");
        }
        let letters = dead_letters::list(&conn, Showing::Waiting, 10)
            .await
            .unwrap();
        let offsets: Vec<i64> = letters.iter().map(|l| l.offset).collect();
        assert_eq!(offsets.len(), 2);
        assert!(offsets.contains(&2) && offsets.contains(&4), "{offsets:?}");
        assert_eq!(test_db.count("inbox").await, 3);
    }
}

/// Fails once as a restarting database does, on the regency 33.01, after
/// applying what came before it.
struct FlakyOnSecond {
    failed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl EachEvent for FlakyOnSecond {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &ReceivedEvent,
    ) -> Result<(), HandlerError> {
        let joined: RegencyJoined = event.message()?;
        if joined.regency_code == "33.01"
            && !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(HandlerError::Db(sea_orm::DbErr::ConnectionAcquire(
                sea_orm::ConnAcquireErr::Timeout,
            )));
        }
        CountJoins.handle(txn, event).await
    }
}

#[tokio::test]
async fn a_failure_that_may_pass_leaves_nothing_of_a_batch() {
    for test_db in both_backends().await {
        let conn = database(&test_db).await;
        let flaky = FlakyOnSecond {
            failed: false.into(),
        };
        let batch = [
            received(joined("t", "33.74").envelope, 1),
            received(joined("t", "33.01").envelope, 2),
        ];
        // The first event is applied, the second fails: nothing kept,
        // nothing set aside, the batch is for the caller to retry.
        assert!(
            inbox::apply_batch(&conn, "c", &flaky, &batch)
                .await
                .is_err()
        );
        assert_eq!(test_db.count("inbox").await, 0);
        assert_eq!(test_db.count("dead_letters").await, 0);
        assert_eq!(count_of(&conn, "33.74").await, 0);
        let applied = inbox::apply_batch(&conn, "c", &flaky, &batch)
            .await
            .unwrap();
        assert_eq!(applied, [Applied::Handled, Applied::Handled]);
        assert_eq!(count_of(&conn, "33.74").await, 1);
    }
}

#[tokio::test]
async fn a_consumer_behind_applies_what_waits_in_batches_each_event_once() {
    let test_db = TestDatabase::new().await;
    let kafka = TestKafka::new();
    let conn = database(&test_db).await;
    let topic = topic();
    kafka.create_topic(&topic, 1).await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.bootstrap)
        .set("broker.address.family", "v4")
        .create()
        .unwrap();
    use prost::Message as _;
    // A backlog: 300 events, each regency once, waiting before the
    // consumer starts.
    const EVENTS: usize = 300;
    for n in 0..EVENTS {
        let event = joined(&topic, &format!("r{n:03}"));
        let payload = event.envelope.encode_to_vec();
        producer
            .send(
                FutureRecord::to(&topic).key("one").payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    let handler = Arc::new(NotesBatches::default());
    let group = format!("inbox-test-{}", uuid::Uuid::new_v4().simple());
    let shutdown = CancellationToken::new();
    let consumer = InboxConsumer::new(
        &group,
        conn.clone(),
        &kafka_settings(&kafka),
        &[topic.as_str()],
        handler.clone(),
    )
    .unwrap();
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    eventually("the backlog applied", Duration::from_secs(60), || async {
        (test_db.count("inbox").await == EVENTS as i64).then_some(())
    })
    .await;
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(test_db.count("joined_count").await, EVENTS as i64);
    let sum: i64 = {
        let row = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT CAST(SUM(n) AS BIGINT) AS n FROM joined_count",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    };
    assert_eq!(sum, EVENTS as i64, "each event once");
    let sizes = handler.sizes.lock().unwrap().clone();
    assert_eq!(sizes.iter().sum::<usize>(), EVENTS);
    assert!(
        sizes.iter().any(|&n| n > 1),
        "a consumer behind takes what waits together: {sizes:?}"
    );
    assert!(sizes.iter().all(|&n| n <= inbox::MAX_BATCH));
}
