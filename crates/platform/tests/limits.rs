//! A server's limits hold under load: calls past its concurrency are shed
//! at once with `RESOURCE_EXHAUSTED` (not queued), the server recovers as
//! soon as the load passes, and no call outlives the longest deadline.
//! Counts, not timings, decide: the held calls sleep long enough that the
//! others meet them whatever the machine's pace.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use blangkon_platform::grpc::GrpcSettings;
use common::{call, connect, serve, sleep_call};
use tonic::Code;
use tonic::client::Grpc;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

#[tokio::test]
async fn calls_past_the_servers_concurrency_are_shed_at_once_and_it_recovers() {
    let settings = GrpcSettings {
        max_concurrent_calls: 2,
        ..GrpcSettings::with_port(0)
    };
    let server = serve(Duration::from_secs(3), settings).await;
    // Five clients, two calls each: ten at once where two are served.
    let mut channels = Vec::new();
    for _ in 0..5 {
        channels.push(connect(&server.address).await);
    }
    let calls = channels
        .iter()
        .flat_map(|c| [c.clone(), c.clone()])
        .map(|channel| {
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                (sleep_call(channel, None).await, started.elapsed())
            })
        })
        .collect::<Vec<_>>();
    let mut served = 0;
    for call in calls {
        let (answer, took) = call.await.unwrap();
        match answer {
            Ok(()) => served += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                // Refused, not queued behind the three-second calls.
                assert!(took < Duration::from_secs(3), "shed after {took:?}");
            }
        }
    }
    assert_eq!(served, 2);
    // The load has passed: the next call is served.
    sleep_call(channels[0].clone(), None).await.unwrap();
    server.shutdown.cancel();
    server.serving.await.unwrap();
}

#[tokio::test]
async fn one_client_cannot_take_the_whole_server() {
    let settings = GrpcSettings {
        max_concurrent_calls_per_connection: 2,
        ..GrpcSettings::with_port(0)
    };
    let server = serve(Duration::from_secs(3), settings).await;
    let greedy = connect(&server.address).await;
    let calls: Vec<_> = (0..6)
        .map(|_| tokio::spawn(sleep_call(greedy.clone(), None)))
        .collect();
    // Another client is served while the greedy one is held to two.
    let other = connect(&server.address).await;
    sleep_call(other, None).await.unwrap();
    let mut served = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(()) => served += 1,
            Err(status) => assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}"),
        }
    }
    assert_eq!(served, 2);
    server.shutdown.cancel();
    server.serving.await.unwrap();
}

#[tokio::test]
async fn no_call_outlives_the_longest_deadline_and_a_callers_shorter_one_is_kept() {
    let settings = GrpcSettings {
        max_call_secs: 1,
        ..GrpcSettings::with_port(0)
    };
    let server = serve(Duration::from_secs(30), settings).await;
    let channel = connect(&server.address).await;
    // No deadline of its own, a longer one, a shorter one: each ends well
    // before the thirty-second call would.
    for timeout in [
        None,
        Some(Duration::from_secs(60)),
        Some(Duration::from_millis(200)),
    ] {
        let started = std::time::Instant::now();
        let status = sleep_call(channel.clone(), timeout).await.unwrap_err();
        assert!(
            matches!(status.code(), Code::Cancelled | Code::DeadlineExceeded),
            "{status:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(20), "{timeout:?}");
    }
    server.shutdown.cancel();
    server.serving.await.unwrap();
}

#[tokio::test]
async fn reflection_is_served_only_where_it_is_on() {
    const REFLECTION: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    for on in [true, false] {
        let settings = GrpcSettings {
            reflection: on,
            ..GrpcSettings::with_port(0)
        };
        let server = serve(Duration::ZERO, settings).await;
        let channel = connect(&server.address).await;
        let answer = call(channel.clone(), REFLECTION).await;
        let unimplemented = matches!(&answer, Err(s) if s.code() == Code::Unimplemented);
        assert_eq!(unimplemented, !on, "reflection {on}: {answer:?}");
        // Health is served either way.
        let health = call(channel, "/grpc.health.v1.Health/Check").await;
        assert!(
            !matches!(&health, Err(s) if s.code() == Code::Unimplemented),
            "{health:?}"
        );
        server.shutdown.cancel();
        server.serving.await.unwrap();
    }
}

/// Sleep calls from one connection, with a token or without: how many
/// were served and how many shed.
async fn anonymous_round(channel: &Channel, calls: usize, token: bool) -> (usize, usize) {
    let (mut served, mut shed) = (0, 0);
    for _ in 0..calls {
        let mut grpc = Grpc::new(channel.clone());
        grpc.ready().await.unwrap();
        let mut request = tonic::Request::new(());
        if token {
            // The limit does not judge tokens (the service does): any
            // bearer takes the call out of the anonymous budget.
            request
                .metadata_mut()
                .insert("authorization", "Bearer not-checked-here".parse().unwrap());
        }
        let answer = grpc
            .unary(
                request,
                http::uri::PathAndQuery::from_static("/blangkon.test.v1.Slow/Sleep"),
                ProstCodec::<(), ()>::default(),
            )
            .await;
        match answer {
            Ok(_) => served += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(status.message().contains("without a token"), "{status:?}");
                shed += 1;
            }
        }
    }
    (served, shed)
}

#[tokio::test]
async fn one_address_without_a_token_gets_its_burst_and_no_more() {
    let settings = GrpcSettings {
        // One call a second refills, and a dozen calls take a few
        // milliseconds: the burst is about all an address gets.
        anonymous_calls_per_second: 1,
        anonymous_burst: 5,
        ..GrpcSettings::with_port(0)
    };
    let server = serve(Duration::ZERO, settings).await;
    let channel = connect(&server.address).await;
    let (served, shed) = anonymous_round(&channel, 12, false).await;
    // The burst, and at most a call or two refilled while the test ran.
    assert!((5..=7).contains(&served), "served {served}");
    assert_eq!(served + shed, 12);
    // Callers with a token are not counted against the address.
    assert_eq!(anonymous_round(&channel, 10, true).await, (10, 0));
    // Health checks never are: a flood does not fail the probes.
    for _ in 0..10 {
        let health = call(channel.clone(), "/grpc.health.v1.Health/Check").await;
        assert!(
            !matches!(&health, Err(s) if s.code() == Code::ResourceExhausted),
            "{health:?}"
        );
    }
    server.stop().await;
}
