//! Serving gRPC the same way in every service: health (`grpc.health.v1`)
//! and server reflection beside the service, a span per call whose parent is
//! the caller's W3C trace context, and a graceful shutdown that lets
//! in-flight calls finish within a grace period.

use std::net::SocketAddr;
use std::time::Duration;

use schemars::JsonSchema;
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic_health::ServingStatus;

use crate::settings::{SettingsError, require};

#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    #[error("cannot bind gRPC listener on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// A background task the service cannot run without stopped.
    #[error("the service's {0} stopped while it ran")]
    TaskDied(&'static str),
    #[error("invalid endpoint `{endpoint}`: {reason}")]
    Endpoint { endpoint: String, reason: String },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// Binds the listener first, so the real address (port 0 in tests) is known
/// and logged before serving starts.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, GrpcError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| GrpcError::Bind { addr, source })
}

/// How often readiness asks the database, and how long it waits for it.
const READINESS_CHECK: Duration = Duration::from_secs(2);

/// The health service name a liveness probe asks: SERVING for as long as
/// the server answers at all, whatever the database does, since restarting
/// a process does not bring a database back.
pub const LIVENESS: &str = "liveness";

/// What the health service reports on: the fully qualified gRPC names of
/// the services served, ready while `database` answers.
#[derive(Debug, Clone)]
pub struct Readiness<'a> {
    pub services: &'a [&'a str],
    pub database: DatabaseConnection,
}

/// Serves `routes` on `listener` until `shutdown` is cancelled, then drains
/// in-flight calls for at most `grace`. The health service reports each of
/// `readiness.services` SERVING while its database answers, NOT_SERVING
/// while it does not (a readiness probe then takes the replica out of
/// rotation; the outbox makes Kafka's absence harmless, so it does not
/// count), and NOT_SERVING for good from shutdown on. [`LIVENESS`] stays
/// SERVING throughout. Calls without a token are held to `anonymous`.
pub async fn serve(
    listener: TcpListener,
    readiness: Readiness<'_>,
    routes: Routes,
    metrics: &crate::metrics::Metrics,
    settings: &GrpcSettings,
    anonymous: crate::caller_limit::AnonymousLimit,
    shutdown: CancellationToken,
) -> Result<(), GrpcError> {
    let Readiness {
        services: service_names,
        database,
    } = readiness;
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(LIVENESS, ServingStatus::Serving)
        .await;
    for name in service_names {
        reporter
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    let readiness = tokio::spawn(follow_database(
        reporter.clone(),
        service_names.iter().map(|s| s.to_string()).collect(),
        database,
        shutdown.clone(),
    ));

    let names: Vec<String> = service_names.iter().map(|s| s.to_string()).collect();
    let signal = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            // Tell load balancers first, so new calls go elsewhere.
            for name in &names {
                reporter
                    .set_service_status(name.as_str(), ServingStatus::NotServing)
                    .await;
            }
            reporter
                .set_service_status("", ServingStatus::NotServing)
                .await;
        }
    };
    // Probes that cannot speak TLS (the kubelet's gRPC probe) ask a
    // plaintext listener that serves health and nothing else.
    let probes = match settings.health_listen {
        Some(addr) => {
            let listener = bind(addr).await?;
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            let stop = shutdown.clone();
            let server = Server::builder()
                .add_service(health.clone())
                .serve_with_incoming_shutdown(incoming, stop.cancelled_owned());
            Some(tokio::spawn(async move {
                if let Err(e) = server.await {
                    tracing::error!(error = %e, "the health listener stopped");
                }
            }))
        }
        None => None,
    };
    let mut routes = routes.add_service(health);
    if settings.reflection {
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(blangkon_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        // grpcurl and older tools still ask the v1alpha reflection service.
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(blangkon_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;
        routes = routes
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);
    }
    // Without TCP_NODELAY a small response waits for the client's delayed
    // ACK (~40 ms per call, measured with `blangkon bench catalog`).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let methods = crate::metrics::KnownMethods::of_the_suite();
    let span_methods = methods.clone();
    // One pool of permits for every connection: past it a call is shed at
    // once, before its token is verified or its message decoded.
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(settings.max_concurrent_calls));
    let mut builder = Server::builder();
    if let Some(tls) = &settings.tls {
        builder = builder.tls_config(tls.load("grpc.tls")?)?;
    }
    let server = builder
        .trace_fn(move |request| call_span(&span_methods, request))
        .concurrency_limit_per_connection(settings.max_concurrent_calls_per_connection)
        .load_shed(true)
        .max_concurrent_streams(settings.max_concurrent_streams)
        .timeout(Duration::from_secs(settings.max_call_secs))
        .http2_keepalive_interval(Some(Duration::from_secs(settings.keepalive_interval_secs)))
        .http2_keepalive_timeout(Some(Duration::from_secs(settings.keepalive_timeout_secs)))
        .layer(crate::metrics::CallTimer::new(metrics, methods))
        // Before the permits, so that a flood without tokens does not
        // take them from the callers who have one.
        .layer(anonymous)
        .layer(tower::ServiceBuilder::new().load_shed().layer(
            tower::limit::GlobalConcurrencyLimitLayer::with_semaphore(permits),
        ))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, signal);

    let served = tokio::select! {
        result = server => Ok(result?),
        _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight calls did not finish within the grace period");
            Ok(())
        }
    };
    readiness.abort();
    if let Some(probes) = probes {
        probes.abort();
    }
    served
}

/// Reports the service NOT_SERVING while its database does not answer a
/// ping within [`READINESS_CHECK`], and SERVING again when it does, until
/// shutdown (which reports NOT_SERVING itself).
async fn follow_database(
    reporter: tonic_health::server::HealthReporter,
    names: Vec<String>,
    database: DatabaseConnection,
    shutdown: CancellationToken,
) {
    let mut ready = true;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(READINESS_CHECK) => {}
        }
        let answers = matches!(
            tokio::time::timeout(READINESS_CHECK, database.ping()).await,
            Ok(Ok(()))
        );
        if answers == ready || shutdown.is_cancelled() {
            continue;
        }
        ready = answers;
        let status = if ready {
            tracing::warn!("the database answers again: reporting SERVING");
            ServingStatus::Serving
        } else {
            tracing::error!("the database does not answer: reporting NOT_SERVING until it does");
            ServingStatus::NotServing
        };
        for name in names.iter().map(String::as_str).chain([""]) {
            reporter.set_service_status(name, status).await;
        }
        if shutdown.is_cancelled() {
            // Shutdown came while this was reporting: it has the last word.
            for name in names.iter().map(String::as_str).chain([""]) {
                reporter
                    .set_service_status(name, ServingStatus::NotServing)
                    .await;
            }
            return;
        }
    }
}

fn call_span(methods: &crate::metrics::KnownMethods, request: &http::Request<()>) -> tracing::Span {
    let span = tracing::info_span!(
        "grpc",
        rpc.method = %methods.label(request.uri().path()),
        otel.kind = "server",
    );
    let headers = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)));
    crate::telemetry::set_parent_from(&span, headers);
    span
}

/// A client channel with a connect timeout and a per-call deadline. It
/// connects lazily, so a service can start before the ones it calls. An
/// `https://` endpoint is reached with `tls` (its files read now, named
/// by `tls_section` when they are wrong); an `http://` one in plaintext,
/// and only when `tls` is empty, since a TLS setting beside a plaintext
/// endpoint would send tokens in the clear by mistake.
pub fn channel(
    endpoint: &str,
    deadline: Duration,
    tls: &crate::tls::ClientTls,
    tls_section: &str,
) -> Result<Channel, GrpcError> {
    let invalid = |reason: String| GrpcError::Endpoint {
        endpoint: endpoint.to_string(),
        reason,
    };
    let mut built = Endpoint::from_shared(endpoint.to_string())
        .map_err(|e| invalid(e.to_string()))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(deadline);
    match built.uri().scheme_str() {
        Some("https") => built = built.tls_config(tls.load(tls_section)?)?,
        Some("http") if tls.is_set() => {
            return Err(invalid(format!(
                "{tls_section} is set, so the endpoint must be https://"
            )));
        }
        Some("http") => {}
        _ => return Err(invalid("must be an http:// or https:// URL".into())),
    }
    Ok(built.connect_lazy())
}

/// Client interceptor that carries the current trace context to the callee.
pub fn propagate_trace(
    mut request: tonic::Request<()>,
) -> Result<tonic::Request<()>, tonic::Status> {
    inject_trace(&mut request);
    Ok(request)
}

/// Puts the current trace context into an outgoing request's metadata.
pub fn inject_trace<T>(request: &mut tonic::Request<T>) {
    for (key, value) in crate::telemetry::current_trace_headers() {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            value.parse(),
        ) {
            request.metadata_mut().insert(key, value);
        }
    }
}

/// Cancelled on Ctrl-C or SIGTERM: the one shutdown signal of a process.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        trigger.cancel();
    });
    token
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrpcSettings {
    /// Honour a replaying client's clock ([`crate::time::REPLAY_AT_HEADER`])
    /// for the times of domain facts. Only the local suite sets it, in
    /// code: no config file or variable can, so a deployed service never
    /// lets a caller backdate an order.
    #[serde(skip)]
    #[schemars(skip)]
    pub replay_clock: bool,
    /// Address the gRPC server binds; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// How long in-flight calls may take to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Largest request message the server reads, in bytes; a larger one is
    /// refused (`OUT_OF_RANGE`, naming the limit) before it is decoded.
    pub max_message_bytes: usize,
    /// Calls served at once by this replica, over all connections; a call
    /// beyond is refused at once with `RESOURCE_EXHAUSTED` (load shedding)
    /// instead of waiting in a queue, so that the calls admitted keep their
    /// latency and a client retries elsewhere.
    pub max_concurrent_calls: usize,
    /// Calls served at once on one connection (one client), shed the same
    /// way beyond.
    pub max_concurrent_calls_per_connection: usize,
    /// HTTP/2 streams a client may open at once on one connection.
    pub max_concurrent_streams: u32,
    /// The longest a call may run: a caller's `grpc-timeout` is honoured up
    /// to this, and a call without one gets it.
    pub max_call_secs: u64,
    /// How often an idle connection is pinged (HTTP/2 keepalive), so that
    /// half-open connections do not pile up.
    pub keepalive_interval_secs: u64,
    /// How long the server waits for a ping's answer before it closes the
    /// connection.
    pub keepalive_timeout_secs: u64,
    /// Calls without a token that one client address may make per second
    /// on average (the public reads); past it and `anonymous_burst`, a
    /// call is refused at once with `RESOURCE_EXHAUSTED`. Health checks
    /// are never limited. 0 turns the limit off.
    pub anonymous_calls_per_second: u32,
    /// How many calls without a token one address may make at once above
    /// that rate.
    pub anonymous_burst: u32,
    /// Networks of the load balancers or ingress in front of this server:
    /// a call from them is counted against the address their
    /// `x-forwarded-for` names. Empty, every call counts against its peer.
    // An empty list is dropped when the defaults are layered: default it.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// TLS: the certificate served and, for mutual TLS, the CA of the
    /// callers' certificates. Absent, plaintext HTTP/2.
    pub tls: Option<crate::tls::ServerTls>,
    /// A second, plaintext listener serving only `grpc.health.v1`, for
    /// probes that cannot speak TLS (the kubelet's gRPC probe). Absent,
    /// health is asked on `listen` like every other service.
    pub health_listen: Option<SocketAddr>,
    /// Serve gRPC server reflection (what grpcurl lists and describes):
    /// on for the local suite and inside the cluster; off where the port
    /// faces callers who need not see the whole contract.
    pub reflection: bool,
}

impl GrpcSettings {
    pub fn with_port(port: u16) -> Self {
        Self {
            replay_clock: false,
            listen: SocketAddr::from(([0, 0, 0, 0], port)),
            shutdown_grace_secs: 20,
            // A hundred order lines are 10 kB; a product's details a few.
            max_message_bytes: 1024 * 1024,
            // Above what two cores serve at their best (see `make bench`).
            max_concurrent_calls: 256,
            max_concurrent_calls_per_connection: 64,
            max_concurrent_streams: 128,
            max_call_secs: 30,
            keepalive_interval_secs: 60,
            keepalive_timeout_secs: 20,
            // A person's browsing is a call or two a second; a script
            // reading the whole open data in pages, ten.
            anonymous_calls_per_second: 20,
            anonymous_burst: 40,
            trusted_proxies: Vec::new(),
            tls: None,
            health_listen: None,
            reflection: true,
        }
    }

    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        require(
            (1024..=64 * 1024 * 1024).contains(&self.max_message_bytes),
            section,
            "max_message_bytes",
            "must be 1 KiB to 64 MiB",
        )?;
        require(
            self.max_concurrent_calls >= 1,
            section,
            "max_concurrent_calls",
            "must be at least 1",
        )?;
        require(
            (1..=self.max_concurrent_calls).contains(&self.max_concurrent_calls_per_connection),
            section,
            "max_concurrent_calls_per_connection",
            "must be 1 to max_concurrent_calls",
        )?;
        require(
            self.max_concurrent_streams >= 1,
            section,
            "max_concurrent_streams",
            "must be at least 1",
        )?;
        require(
            (1..=3600).contains(&self.max_call_secs),
            section,
            "max_call_secs",
            "must be 1 to 3600",
        )?;
        require(
            self.keepalive_interval_secs >= 1 && self.keepalive_timeout_secs >= 1,
            section,
            "keepalive_interval_secs",
            "keepalive_interval_secs and keepalive_timeout_secs must be at least 1",
        )?;
        require(
            self.anonymous_calls_per_second == 0
                || self.anonymous_burst >= self.anonymous_calls_per_second,
            section,
            "anonymous_burst",
            "must be at least anonymous_calls_per_second",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_config_can_turn_on_the_replay_clock() {
        let settings = GrpcSettings::with_port(50051);
        assert!(!settings.replay_clock);
        let mut written = serde_json::to_value(&settings).unwrap();
        assert!(written.get("replay_clock").is_none(), "{written}");
        written["replay_clock"] = serde_json::Value::Bool(true);
        assert!(serde_json::from_value::<GrpcSettings>(written).is_err());
    }
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn calls_to_other_services_carry_the_current_trace() {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("place_order");
            let _entered = span.enter();
            let request = propagate_trace(tonic::Request::new(())).unwrap();
            let traceparent = request.metadata().get("traceparent").expect("traceparent");
            assert!(traceparent.to_str().unwrap().starts_with("00-"));
        });
        let outside = propagate_trace(tonic::Request::new(())).unwrap();
        assert!(outside.metadata().get("traceparent").is_none());
    }
}
