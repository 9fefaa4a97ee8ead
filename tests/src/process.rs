//! The services as their own binaries, beside the test's.

use blangkon_platform::service::{About, Service as _};
use blangkon_testkit::{TestSuite, eventually};
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::{Child, Command};

/// A service running as its own binary, `blangkon-<name>`, beside the
/// test's (both built by `cargo test --workspace`).
pub struct ServiceProcess {
    pub(crate) name: String,
    pub(crate) port: u16,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) child: Child,
}

impl ServiceProcess {
    pub(crate) async fn start(name: &str, port: u16, env: Vec<(String, String)>) -> Self {
        let child = spawn_service(name, &env);
        let mut process = Self {
            name: name.to_string(),
            port,
            env,
            child,
        };
        process.wait_listening().await;
        process
    }

    /// SIGKILL: no drain, no final commit.
    pub(crate) async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, as a deployment stops a pod; SIGKILL after 30 s.
    pub(crate) async fn terminate(&mut self) {
        crate::broker::signal(self.child.id(), nix::sys::signal::Signal::SIGTERM);
        let stopped = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
        if stopped.is_err() {
            self.kill().await;
        }
    }

    pub(crate) async fn restart(&mut self) {
        self.child = spawn_service(&self.name, &self.env);
        self.wait_listening().await;
    }

    pub(crate) async fn wait_listening(&mut self) {
        let address = format!("127.0.0.1:{}", self.port);
        let what = format!("blangkon-{} listens on {address}", self.name);
        let (name, child) = (&self.name, &mut self.child);
        eventually(&what, Duration::from_secs(60), || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("blangkon-{name} exited at start: {status}");
            }
            let address = address.clone();
            async move { tokio::net::TcpStream::connect(address).await.ok() }
        })
        .await;
    }
}

pub(crate) fn spawn_service(name: &str, env: &[(String, String)]) -> Child {
    let binary = service_binary(name);
    // Its log, for a failing scenario: where the service says why.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::env::temp_dir().join(format!("blangkon-faults-{name}.log")))
        .unwrap();
    let filter = format!("BLANGKON_{}__TELEMETRY__LOG_FILTER", name.to_uppercase());
    Command::new(binary)
        .envs(env.iter().cloned())
        .env(filter, "warn,blangkon_platform=info")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        // A test that fails midway leaves no service behind.
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// The environment that runs service `name` as its own process, a binary
/// or a container, on the host's network: gRPC on `grpc_port` and metrics on
/// `metrics_port` of 127.0.0.1 (0: any free port), its database at
/// `database_url`, the broker and consumer groups of `services`.
pub fn service_env(
    services: &TestSuite,
    name: &str,
    grpc_port: u16,
    metrics_port: u16,
    database_url: &str,
) -> Vec<(String, String)> {
    let kafka = &services.config.kafka;
    let key = |k: &str| format!("BLANGKON_{}__{k}", name.to_uppercase());
    let mut env = vec![
        (key("GRPC__LISTEN"), format!("127.0.0.1:{grpc_port}")),
        (key("METRICS__LISTEN"), format!("127.0.0.1:{metrics_port}")),
        (key("DATABASE__URL"), database_url.into()),
        (key("DATABASE__MAX_CONNECTIONS"), "5".into()),
        (
            key("KAFKA__BOOTSTRAP_SERVERS"),
            kafka.bootstrap_servers.clone(),
        ),
        (
            key("KAFKA__CONSUMER_GROUP_PREFIX"),
            kafka.consumer_group_prefix.clone(),
        ),
        (key("KAFKA__CREATE_TOPICS"), kafka.create_topics.to_string()),
        (key("KAFKA__RELAY_POLL_MS"), "200".into()),
        (key("KAFKA__DELIVERY_TIMEOUT_MS"), "3000".into()),
    ];
    for (property, value) in &kafka.properties {
        let variable = property.replace('.', "_").to_uppercase();
        env.push((
            key(&format!("KAFKA__PROPERTIES__{variable}")),
            value.clone(),
        ));
    }
    // The test issuer, and the order service's client of it.
    env.extend(services.config.auth_of(&about(name)).environment(name));
    env
}

/// Who the service `name` is.
fn about(name: &str) -> About {
    match name {
        "vendor" => blangkon_vendor::VendorService::ABOUT,
        "catalog" => blangkon_catalog::CatalogService::ABOUT,
        "order" => blangkon_order::OrderService::ABOUT,
        "reporting" => blangkon_reporting::ReportingService::ABOUT,
        other => panic!("no service is called {other}"),
    }
}

/// The binary of service `name`, `blangkon-<name>`, beside the running
/// test's own: `cargo test --workspace` builds both.
pub fn service_binary(name: &str) -> PathBuf {
    // The test runs from target/<profile>/deps; the binaries sit one up.
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join(format!("blangkon-{name}")))
        .unwrap();
    assert!(
        binary.exists(),
        "{} is missing: build the services first (cargo test --workspace builds them)",
        binary.display()
    );
    binary
}
