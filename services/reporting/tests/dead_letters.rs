//! The binary's `dead-letters` commands, as an operator runs them in a
//! pod: the projection sets a damaged event aside, `list` shows where it
//! was read and why, `replay` asks the running consumer to apply it again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use blangkon_platform::inbox::{self, Applied, ReceivedEvent};
use blangkon_platform::outbox::NewEvent;
use blangkon_proto::events::RegencyJoined;
use blangkon_reporting::projection::{CONSUMER, Projection};
use blangkon_reporting::store::migrations::Migrator;
use blangkon_testkit::TestDatabase;

const BIN: &str = env!("CARGO_BIN_EXE_blangkon-reporting");

fn run(database_url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BLANGKON_REPORTING__DATABASE__URL", database_url)
        .env(
            "BLANGKON_REPORTING__AUTH__ISSUER",
            blangkon_testkit::fixtures::issuer().issuer(),
        )
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn an_operator_lists_dead_letters_and_asks_for_their_replay() {
    let test_db = TestDatabase::new().await;
    let db = test_db.connect().await;
    blangkon_platform::db::migrate::<Migrator>(&db)
        .await
        .unwrap();
    assert_eq!(
        stdout(&run(&test_db.url, &["dead-letters", "list"])),
        "no dead letters\n"
    );

    // A regency code of 45 characters where one has five.
    let joined = RegencyJoined {
        regency_code: "33.74".repeat(9),
        regency_name: "Kota Semarang".into(),
        ..Default::default()
    };
    let event = NewEvent::new(
        "blangkon.vendor.events.v1",
        "vendor",
        "regency",
        "33.74",
        chrono::Utc::now(),
        &joined,
    );
    let received = ReceivedEvent {
        envelope: event.envelope,
        topic: "blangkon.vendor.events.v1".into(),
        partition: 2,
        offset: 41,
    };
    let applied = inbox::apply(&db, CONSUMER, &Projection::replaying(), &received)
        .await
        .unwrap();
    assert_eq!(applied, Applied::DeadLettered);

    let listed = stdout(&run(&test_db.url, &["dead-letters", "list"]));
    for part in [
        "#1 ",
        " reporting blangkon.vendor.events.v1[2]@41 blangkon.events.v1.RegencyJoined ",
        ": waiting\n",
        "    reason: regency_code must be a regency code like 33.74\n",
    ] {
        assert!(listed.contains(part), "{part:?} not in:\n{listed}");
    }
    assert!(listed.contains(&received.envelope.event_id));

    let asked = stdout(&run(&test_db.url, &["dead-letters", "replay", "1"]));
    assert!(
        asked.starts_with("replay asked for 1 dead letter(s)"),
        "{asked}"
    );
    let listed = stdout(&run(&test_db.url, &["dead-letters", "list"]));
    assert!(listed.contains(": replay asked for\n"), "{listed}");
    // Neither ids nor --all: refused, naming what is missing.
    let neither = run(&test_db.url, &["dead-letters", "replay"]);
    assert!(!neither.status.success());
    assert!(String::from_utf8_lossy(&neither.stderr).contains("<IDS>"));
    // Every waiting one.
    let all = stdout(&run(&test_db.url, &["dead-letters", "replay", "--all"]));
    assert!(
        all.starts_with("replay asked for 1 dead letter(s)"),
        "{all}"
    );
}
