//! What every service does around its own API: connect and migrate its
//! database, create its topics, bind its gRPC port, run its outbox relay
//! and background tasks, serve, and on shutdown drain calls, let the tasks
//! finish their last round and close the database.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::auth::{AuthError, Authenticated, TokenVerifier};
use crate::db::{self, DbError};
use crate::grpc::{self, GrpcError};
use crate::inbox::{EventHandler, InboxConsumer};
use crate::kafka::{self, KafkaError, TopicSpec};
use crate::metrics::{self, Metrics};
use crate::outbox::{Relay, RelayWaker};
use crate::settings::{KafkaSettings, PlatformSettings};

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Grpc(#[from] GrpcError),
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("metrics.listen: cannot bind {addr}: {source}")]
    MetricsBind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot bind the public HTTP API on {addr}: {source}")]
    HttpBind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

type Task = Box<dyn FnOnce(CancellationToken) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// The parts of a service every service has, bound and ready to run.
pub struct ServiceHost {
    name: &'static str,
    metrics: Metrics,
    metrics_listener: Option<TcpListener>,
    listener: TcpListener,
    /// The public HTTP API's listener (`http.listen`) and what it serves,
    /// once the service has published its routes.
    http_listener: Option<TcpListener>,
    http: crate::http::HttpSettings,
    published: Option<axum::Router>,
    address: SocketAddr,
    db: DatabaseConnection,
    relay: Relay,
    waker: RelayWaker,
    verifier: Arc<TokenVerifier>,
    kafka: KafkaSettings,
    grpc: crate::grpc::GrpcSettings,
    tasks: Vec<(&'static str, Task)>,
}

impl std::fmt::Debug for ServiceHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHost")
            .field("name", &self.name)
            .field("address", &self.address)
            .finish()
    }
}

impl ServiceHost {
    /// Connects, migrates with `M` (if configured), creates missing
    /// `topics` (if allowed) and binds the gRPC listener. Nothing is served
    /// until [`ServiceHost::serve`].
    pub async fn start<M: MigratorTrait>(
        name: &'static str,
        settings: &PlatformSettings,
        topics: &[TopicSpec<'_>],
    ) -> Result<Self, HostError> {
        let PlatformSettings {
            grpc: grpc_settings,
            http: http_settings,
            database,
            kafka: kafka_settings,
            auth,
            telemetry: _,
            metrics: metrics_settings,
        } = settings;
        let db = db::connect(database).await?;
        if database.migrate_on_start {
            db::migrate::<M>(&db).await?;
        }
        if kafka_settings.create_topics
            && let Err(e) = kafka::ensure_topics(kafka_settings, topics).await
        {
            // Not fatal: the outbox keeps events until the broker is back,
            // and brokers that auto-create topics need none of this.
            tracing::warn!(error = %e, "could not create topics at start");
        }
        let waker = RelayWaker::default();
        let relay = Relay::new(name, db.clone(), kafka_settings, waker.clone())?;
        let listener = grpc::bind(grpc_settings.listen).await?;
        let address = listener.local_addr().map_err(|source| GrpcError::Bind {
            addr: grpc_settings.listen,
            source,
        })?;
        tracing::info!(service = name, %address, "listening");
        let metrics = Metrics::default();
        metrics.watch_relay(relay.health());
        metrics.watch_pool(db.clone());
        metrics.watch_outbox(db.clone());
        metrics.watch_dead_letters(db.clone());
        let metrics_listener = if metrics_settings.enabled {
            let listener = metrics::bind(metrics_settings.listen)
                .await
                .map_err(|source| HostError::MetricsBind {
                    addr: metrics_settings.listen,
                    source,
                })?;
            if let Ok(address) = listener.local_addr() {
                tracing::info!(service = name, %address, "metrics at /metrics");
            }
            Some(listener)
        } else {
            None
        };
        let http_listener = if http_settings.enabled {
            let addr = http_settings.listen;
            let listener = crate::http::bind(addr)
                .await
                .map_err(|source| HostError::HttpBind { addr, source })?;
            Some(listener)
        } else {
            None
        };
        Ok(Self {
            name,
            metrics,
            metrics_listener,
            listener,
            http_listener,
            http: http_settings.clone(),
            published: None,
            address,
            db,
            relay,
            waker,
            verifier: {
                let verifier = TokenVerifier::new(auth)?;
                verifier.prefetch();
                Arc::new(verifier)
            },
            kafka: kafka_settings.clone(),
            grpc: grpc_settings.clone(),
            tasks: Vec::new(),
        })
    }

    /// The bound address (the real port when configured with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn database(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The service's metrics, to register its own beside the platform's.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Where the public HTTP API is served, if it is (`http.enabled`).
    pub fn http_address(&self) -> Option<SocketAddr> {
        self.http_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The `http` settings, for the links a published route writes.
    pub fn http_settings(&self) -> &crate::http::HttpSettings {
        &self.http
    }

    /// Serves `routes` as the public HTTP API on `http.listen`, behind the
    /// public door's layers (rate limit, bound, caching, problems; see
    /// [`crate::http`]). With `http.enabled` off they are not served.
    pub fn publish(&mut self, routes: axum::Router) {
        self.published = Some(match self.published.take() {
            Some(earlier) => earlier.merge(routes),
            None => routes,
        });
    }

    /// Where `/metrics` is served, if it is.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Wakes the outbox relay after a commit.
    pub fn waker(&self) -> RelayWaker {
        self.waker.clone()
    }

    /// Largest request message a service's server should decode
    /// (`grpc.max_message_bytes`): give it to the generated server's
    /// `max_decoding_message_size`.
    pub fn max_message_bytes(&self) -> usize {
        self.grpc.max_message_bytes
    }

    /// `service` with every call authenticated first.
    pub fn authenticated<S>(&self, service: S) -> Authenticated<S> {
        Authenticated::new(service, self.verifier.clone()).replaying(self.grpc.replay_clock)
    }

    /// `service` as a public open-data service: tokens optional, checked
    /// when sent.
    pub fn open<S>(&self, service: S) -> Authenticated<S> {
        Authenticated::open(service, self.verifier.clone()).replaying(self.grpc.replay_clock)
    }

    /// `service` with `methods` open to calls without a token (as
    /// [`crate::auth::Actor::public`], for the service's policy to decide
    /// on), and every other method authenticated.
    pub fn with_public_methods<S: tonic::server::NamedService>(
        &self,
        service: S,
        methods: &'static [&'static str],
    ) -> Authenticated<S> {
        Authenticated::public_methods(service, self.verifier.clone(), S::NAME, methods)
            .replaying(self.grpc.replay_clock)
    }

    /// A background task (a consumer, a feed) started by `serve` and told
    /// to stop by the same shutdown signal.
    pub fn run_beside<F, Fut>(&mut self, name: &'static str, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks
            .push((name, Box::new(move |token| Box::pin(task(token)))));
    }

    /// Applies the events of `topics` with `handler` beside the server, as
    /// the inbox consumer `name` (its consumer group and inbox records).
    pub fn consume(
        &mut self,
        name: &'static str,
        topics: &[&str],
        handler: Arc<dyn EventHandler>,
    ) -> Result<(), KafkaError> {
        let consumer = InboxConsumer::new(name, self.db.clone(), &self.kafka, topics, handler)?
            .counted(self.metrics.consumers());
        // In a cluster services start in any order: a consumer that starts
        // before the service writing its topics creates them (the same
        // specs the writer uses; creating is idempotent), so that it reads
        // from their start instead of waiting for a metadata refresh.
        let specs: Vec<TopicSpec<'static>> = topics
            .iter()
            .filter_map(|t| kafka::topics::spec(t))
            .collect();
        let settings = self.kafka.clone();
        // Where it publishes what it sets aside: one partition, keyed by
        // the consumer's name, since dead letters are rare.
        let dead_letters = crate::dead_letters::topic(name);
        self.run_beside(name, move |shutdown| async move {
            let mut specs: Vec<TopicSpec<'_>> = specs;
            specs.push(TopicSpec::new(&dead_letters, 1));
            if settings.create_topics
                && let Err(e) = kafka::ensure_topics(&settings, &specs).await
            {
                tracing::warn!(consumer = name, error = %e, "could not create the topics it reads");
            }
            consumer.run(shutdown).await
        });
        Ok(())
    }

    /// Serves `routes` until `shutdown`; then drains calls, lets the relay
    /// and the background tasks finish their last round, and closes the
    /// database. Every background task is watched: one that ends or panics
    /// before shutdown ends the service (health turns NOT_SERVING at once,
    /// the process exits with an error naming it, and its orchestrator
    /// starts it afresh), since a service without its relay or consumer
    /// would answer calls while its events stop. Shutdown has one deadline,
    /// `grpc.shutdown_grace_secs` from the signal: what has not finished by
    /// then is abandoned, and said.
    pub async fn serve(
        self,
        service_names: &[&str],
        routes: Routes,
        shutdown: CancellationToken,
    ) -> Result<(), GrpcError> {
        let mut tasks = JoinSet::new();
        let mut names = HashMap::new();
        let mut start = |name: &'static str, task: Pin<Box<dyn Future<Output = ()> + Send>>| {
            names.insert(tasks.spawn(task).id(), name);
        };
        start("outbox relay", Box::pin(self.relay.run(shutdown.clone())));
        for (name, task) in self.tasks {
            start(name, task(shutdown.clone()));
        }
        if let Some(listener) = self.metrics_listener {
            let serving = metrics::serve(listener, self.metrics.clone(), shutdown.clone());
            start("metrics endpoint", Box::pin(serving));
        }
        match (self.http_listener, self.published) {
            (Some(listener), Some(routes)) => {
                let limit = crate::caller_limit::AnonymousLimit::for_requests(&self.http);
                start(
                    "public HTTP rate limit",
                    Box::pin(limit.forget_idle(shutdown.clone())),
                );
                let app = crate::http::harden(routes, &self.http, &self.metrics, limit);
                if let Ok(address) = listener.local_addr() {
                    tracing::info!(service = self.name, %address, "public HTTP API listening");
                }
                let serving = crate::http::serve(listener, app, shutdown.clone());
                start("public HTTP API", Box::pin(serving));
            }
            (Some(_), None) => {
                tracing::info!(
                    service = self.name,
                    "http.enabled is on, but this service publishes no HTTP API"
                );
            }
            (None, _) => {}
        }
        let anonymous = crate::caller_limit::AnonymousLimit::for_calls(&self.grpc);
        start(
            "anonymous rate limit",
            Box::pin(anonymous.forget_idle(shutdown.clone())),
        );
        let grace = Duration::from_secs(self.grpc.shutdown_grace_secs);
        let server = grpc::serve(
            self.listener,
            grpc::Readiness {
                services: service_names,
                database: self.db.clone(),
            },
            routes,
            &self.metrics,
            &self.grpc,
            anonymous,
            shutdown.clone(),
        );
        tokio::pin!(server);
        let mut died = None;
        let served = loop {
            tokio::select! {
                served = &mut server => break served,
                Some(ended) = tasks.join_next_with_id() => {
                    let (id, failure) = match ended {
                        Ok((id, ())) => (id, None),
                        Err(e) => (e.id(), Some(e)),
                    };
                    let name = names.remove(&id).unwrap_or("a background task");
                    if shutdown.is_cancelled() {
                        // Its last round, as asked.
                        if let Some(e) = failure {
                            tracing::error!(service = self.name, task = name, error = %e, "{name} failed on shutdown");
                        }
                        continue;
                    }
                    let how = failure.map_or_else(|| "ended".to_string(), |e| format!("failed: {e}"));
                    tracing::error!(service = self.name, task = name, "{name} {how} while the service ran; stopping the service");
                    died.get_or_insert(name);
                    shutdown.cancel();
                }
            }
        };
        shutdown.cancel();
        // What is left of the one deadline, counted from now at the latest.
        let deadline = tokio::time::Instant::now() + grace;
        while !tasks.is_empty() {
            match tokio::time::timeout_at(deadline, tasks.join_next_with_id()).await {
                Ok(Some(Ok((id, ())))) => {
                    names.remove(&id);
                }
                Ok(Some(Err(e))) => {
                    let name = names.remove(&e.id()).unwrap_or("a background task");
                    tracing::error!(service = self.name, task = name, error = %e, "{name} failed on shutdown");
                }
                Ok(None) => break,
                Err(_) => {
                    let mut left: Vec<&str> = names.values().copied().collect();
                    left.sort_unstable();
                    tracing::error!(
                        service = self.name,
                        grace_secs = grace.as_secs(),
                        "shutdown deadline passed: abandoning {}",
                        left.join(", ")
                    );
                    tasks.abort_all();
                    break;
                }
            }
        }
        self.db.close_by_ref().await.ok();
        match died {
            Some(task) => Err(GrpcError::TaskDied(task)),
            None => served,
        }
    }
}
