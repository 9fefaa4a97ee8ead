//! Starts services in this process, the one way `blangkon dev`, the
//! benchmarks and the tests do it: a [`Suite`] holds what the services of
//! one run share (broker, identity provider, telemetry, the address they
//! listen on), makes each service's settings from its defaults, and runs
//! each on a task of its own until [`Running::stop`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::auth::{AuthSettings, ClientSettings, LocalIssuer, Role, audience_of};
use crate::service::{About, Application, Service, Settings, StartError};
use crate::settings::{KafkaSettings, Secret, TelemetrySettings};

/// What the services of one run share.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The broker and how the services use it. Each service keeps its own
    /// client id (`blangkon-<name>`).
    pub kafka: KafkaSettings,
    /// How every service verifies tokens; each has its own audience.
    pub auth: AuthSettings,
    /// The issuer the services trust, which also grants the clients of
    /// services that call others. Whoever made the suite serves it.
    pub issuer: Arc<LocalIssuer>,
    /// Clients of another identity provider, by service name, used instead
    /// of registering clients at `issuer`.
    pub clients: Vec<(&'static str, ClientSettings)>,
    pub telemetry: TelemetrySettings,
    /// Where the services listen.
    pub host: IpAddr,
    /// How long a service may drain its calls on stop.
    pub shutdown_grace_secs: u64,
    /// Each service's database pool size.
    pub max_connections: u32,
}

impl Suite {
    /// Services on loopback, trusting `issuer` (found by discovery, so it
    /// must be served at its URL), on the broker at `bootstrap_servers`.
    pub fn new(bootstrap_servers: impl Into<String>, issuer: Arc<LocalIssuer>) -> Self {
        Self {
            kafka: KafkaSettings {
                bootstrap_servers: bootstrap_servers.into(),
                ..KafkaSettings::default()
            },
            auth: AuthSettings {
                issuer: issuer.issuer().to_string(),
                // The issuer's keys do not change while the suite runs.
                keys_refresh_min_secs: 1,
                ..AuthSettings::default()
            },
            issuer,
            clients: Vec::new(),
            telemetry: TelemetrySettings::default(),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            shutdown_grace_secs: 5,
            max_connections: 5,
        }
    }

    /// The settings of `S` in this suite: its defaults, with its database
    /// at `database_url` and its gRPC port `port` (0: any free port).
    pub fn settings<S: Service>(&self, database_url: impl Into<Secret>, port: u16) -> Settings<S> {
        let mut settings = Settings::<S>::default();
        let platform = &mut settings.platform;
        platform.grpc.listen = SocketAddr::new(self.host, port);
        // Services sharing a host cannot share the metrics port.
        platform.metrics.listen = SocketAddr::new(self.host, 0);
        // Services sharing a host cannot share a public HTTP port either
        // (`blangkon dev` sets its own).
        platform.http.listen = SocketAddr::new(self.host, 0);
        platform.grpc.shutdown_grace_secs = self.shutdown_grace_secs;
        // The local suite replays histories (`blangkon demo`): a call may
        // name the moment its facts happened.
        platform.grpc.replay_clock = true;
        platform.database.url = database_url.into();
        platform.database.max_connections = self.max_connections;
        platform.kafka = KafkaSettings {
            client_id: platform.kafka.client_id.clone(),
            ..self.kafka.clone()
        };
        platform.auth = self.auth_of(&S::ABOUT);
        platform.telemetry = self.telemetry.clone();
        settings
    }

    /// How the service `about` verifies tokens in this suite: its own
    /// audience, and a client of the suite's issuer if it calls others.
    pub fn auth_of(&self, about: &About) -> AuthSettings {
        AuthSettings {
            audience: audience_of(about.name),
            client: match self.clients.iter().find(|(name, _)| *name == about.name) {
                Some((_, client)) => client.clone(),
                None => service_client(&self.issuer, about).unwrap_or_default(),
            },
            ..self.auth.clone()
        }
    }

    /// Builds `S` from `settings` and runs it on a task of its own.
    pub async fn start<S: Service>(&self, settings: Settings<S>) -> Result<Running<S>, StartError> {
        let app = Application::<S>::build(settings).await?;
        Ok(Running::spawn(app))
    }
}

/// Registers the client of the service `about` at `issuer`, if it calls
/// other services: a `service` identity for their audiences only.
pub fn service_client(issuer: &LocalIssuer, about: &About) -> Option<ClientSettings> {
    if about.calls.is_empty() {
        return None;
    }
    let audiences: Vec<String> = about.calls.iter().map(|s| audience_of(s)).collect();
    Some(issuer.register_client(
        &format!("{}-service", about.name),
        Role::Service,
        &audiences,
    ))
}

/// A service running on a task of its own.
pub struct Running<S: Service> {
    address: SocketAddr,
    metrics_address: Option<SocketAddr>,
    http_address: Option<SocketAddr>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), StartError>>,
    service: std::marker::PhantomData<S>,
}

impl<S: Service> std::fmt::Debug for Running<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("service", &S::ABOUT.name)
            .field("address", &self.address)
            .finish()
    }
}

/// Why a service did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error("the {0} service did not stop within {1:?}")]
    TimedOut(&'static str, Duration),
    #[error("the {0} service's task failed: {1}")]
    Panicked(&'static str, tokio::task::JoinError),
    #[error("the {0} service stopped with an error: {1}")]
    Failed(&'static str, StartError),
}

impl<S: Service> Running<S> {
    /// Runs a built service until [`Running::stop`].
    pub fn spawn(app: Application<S>) -> Self {
        let shutdown = CancellationToken::new();
        Self {
            address: app.address(),
            metrics_address: app.metrics_address(),
            http_address: app.http_address(),
            task: tokio::spawn(app.run(shutdown.clone())),
            shutdown,
            service: std::marker::PhantomData,
        }
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where `/metrics` is served, if it is.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// Where the public HTTP API is served, if it is.
    pub fn http_address(&self) -> Option<SocketAddr> {
        self.http_address
    }

    /// `http://<http address>`, the public HTTP API's base URL, if served.
    pub fn http_base(&self) -> Option<String> {
        self.http_address.map(|a| format!("http://{a}"))
    }

    /// `http://<address>`, for a gRPC client or a peer's endpoint setting.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Signals shutdown and waits, `within` at most, for the service to
    /// drain its calls and finish its background tasks.
    pub async fn stop(self, within: Duration) -> Result<(), StopError> {
        self.shutdown.cancel();
        match tokio::time::timeout(within, self.task).await {
            Err(_) => Err(StopError::TimedOut(S::ABOUT.name, within)),
            Ok(Err(e)) => Err(StopError::Panicked(S::ABOUT.name, e)),
            Ok(Ok(Err(e))) => Err(StopError::Failed(S::ABOUT.name, e)),
            Ok(Ok(Ok(()))) => Ok(()),
        }
    }
}
