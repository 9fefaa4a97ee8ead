//! The vendor service over real gRPC, against a fresh database per test
//! (PostgreSQL when `BLANGKON_TEST_DATABASE_URL` is set, else SQLite) and a
//! Kafka-protocol broker (`BLANGKON_TEST_KAFKA`, else librdkafka's mock).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod events;
mod onboarding;
mod serving;
#[path = "../support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::Duration;

use blangkon_platform::auth::{LocalIssuer, Role, TokenRequest, audience_of};
use blangkon_platform::kafka::topics;
use blangkon_proto::vendor as pb;
use blangkon_testkit::{EventReader, TestKafka};
use sea_orm::{ConnectionTrait, Statement};
use support::*;
use tonic::{Code, Request};

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
