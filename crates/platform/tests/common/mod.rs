//! A server for the platform's serving tests: `blangkon.test.v1.Slow/Sleep`
//! answers an empty message after a pause, behind `grpc::serve` with the
//! settings a test gives (limits, TLS).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use blangkon_platform::grpc::{self, GrpcSettings};
use blangkon_platform::metrics::Metrics;
use blangkon_platform::{CancellationToken, db};
use blangkon_testkit::TestDatabase;
use futures::future::BoxFuture;
use tonic::Status;
use tonic::body::Body;
use tonic::client::Grpc;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

/// `blangkon.test.v1.Slow/Sleep`: answers an empty message after a pause.
#[derive(Clone)]
pub struct Slow {
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

pub struct Server {
    /// `http://127.0.0.1:port`, or `https://` when the server has TLS.
    pub address: String,
    pub shutdown: CancellationToken,
    pub serving: tokio::task::JoinHandle<()>,
    _db: TestDatabase,
}

impl Server {
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.serving.await.unwrap();
    }
}

pub async fn serve(pause: Duration, settings: GrpcSettings) -> Server {
    let test_db = TestDatabase::sqlite();
    let database = db::connect(&db::DatabaseSettings::new(test_db.url.as_str(), 2))
        .await
        .unwrap();
    let listener = grpc::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let address = format!("{scheme}://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let routes = tonic::service::Routes::new(Slow { pause });
    let stop = shutdown.clone();
    let serving = tokio::spawn(async move {
        grpc::serve(
            listener,
            grpc::Readiness {
                services: &[],
                database,
            },
            routes,
            &Metrics::default(),
            &settings,
            blangkon_platform::caller_limit::AnonymousLimit::for_calls(&settings),
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

pub async fn connect(address: &str) -> Channel {
    Channel::from_shared(address.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

pub async fn sleep_call(channel: Channel, timeout: Option<Duration>) -> Result<(), Status> {
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

pub async fn call(channel: Channel, path: &'static str) -> Result<(), Status> {
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
