//! A server's limits hold under load: calls past its concurrency are shed
//! at once with `RESOURCE_EXHAUSTED` (not queued), the server recovers as
//! soon as the load passes, and no call outlives the longest deadline.
//! Counts, not timings, decide: the held calls sleep long enough that the
//! others meet them whatever the machine's pace.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use blangkon_platform::grpc::{self, GrpcSettings};
use blangkon_platform::metrics::Metrics;
use blangkon_platform::{CancellationToken, db};
use blangkon_testkit::TestDatabase;
use futures::future::BoxFuture;
use tonic::body::Body;
use tonic::client::Grpc;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_prost::ProstCodec;

/// `blangkon.test.v1.Slow/Sleep`: answers an empty message after a pause.
#[derive(Clone)]
struct Slow {
    pause: Duration,
}

impl tonic::server::NamedService for Slow {
    const NAME: &'static str = "blangkon.test.v1.Slow";
}

struct Sleep(Duration);

impl tonic::server::UnaryService<()> for Sleep {
    type Response = ();
    type Future = BoxFuture<'static, Result<tonic::Response<()>, Status>>;

    fn call(&mut self, _: tonic::Request<()>) -> Self::Future {
        let pause = self.0;
        Box::pin(async move {
            tokio::time::sleep(pause).await;
            Ok(tonic::Response::new(()))
        })
    }
}

impl tower::Service<http::Request<Body>> for Slow {
    type Response = http::Response<Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let pause = self.pause;
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<(), ()>::default());
            Ok(grpc.unary(Sleep(pause), request).await)
        })
    }
}

struct Server {
    address: String,
    shutdown: CancellationToken,
    serving: tokio::task::JoinHandle<()>,
    _db: TestDatabase,
}

async fn serve(pause: Duration, settings: GrpcSettings) -> Server {
    let test_db = TestDatabase::sqlite();
    let database = db::connect(&db::DatabaseSettings {
        url: test_db.url.as_str().into(),
        max_connections: 2,
        migrate_on_start: false,
    })
    .await
    .unwrap();
    let listener = grpc::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let routes = tonic::service::Routes::new(Slow { pause });
    let stop = shutdown.clone();
    let serving = tokio::spawn(async move {
        grpc::serve(
            listener,
            &[],
            routes,
            database,
            &Metrics::default(),
            &settings,
            stop,
        )
        .await
        .unwrap();
    });
    Server {
        address,
        shutdown,
        serving,
        _db: test_db,
    }
}

async fn connect(address: &str) -> Channel {
    Channel::from_shared(address.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn sleep_call(channel: Channel, timeout: Option<Duration>) -> Result<(), Status> {
    let mut grpc = Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut request = tonic::Request::new(());
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    grpc.unary(
        request,
        http::uri::PathAndQuery::from_static("/blangkon.test.v1.Slow/Sleep"),
        ProstCodec::<(), ()>::default(),
    )
    .await
    .map(|_| ())
}

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

async fn call(channel: Channel, path: &'static str) -> Result<(), Status> {
    let mut grpc = Grpc::new(channel);
    grpc.ready().await.unwrap();
    grpc.unary(
        tonic::Request::new(()),
        http::uri::PathAndQuery::from_static(path),
        ProstCodec::<(), ()>::default(),
    )
    .await
    .map(|_| ())
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
