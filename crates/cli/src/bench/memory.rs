//! `blangkon bench memory`: the resident memory of each service as its own
//! process, as a cluster runs it — idle after start, after buyers placed
//! orders for a while, and the catalog's again once it holds a national
//! catalogue (its search index: memory-mapped files and what it keeps
//! beside them).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use blangkon_catalog::CatalogService;
use blangkon_order::OrderService;
use blangkon_platform::auth::{AuthSettings, audience_of};
use blangkon_platform::service::Service as _;
use blangkon_platform::suite::service_client;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_reporting::ReportingService;
use blangkon_vendor::VendorService;
use clap::Args;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::catalog::{load_products, queries};
use super::lag::{Load, load};
use super::order::{Endpoints, buyer_token, issuer, seed, with};
use super::{Broker, Figure, Infrastructure, fresh_database};

#[derive(Args)]
pub struct MemoryBench {
    /// The embedded mock cluster, without --kafka, is reached by the
    /// service processes over TCP.
    #[command(flatten)]
    pub(super) at: Infrastructure,
    /// Seconds of load between the idle and the loaded figures.
    #[arg(long, default_value_t = 10)]
    pub(super) seconds: u64,
    /// Buyers placing orders at once, as fast as they can.
    #[arg(long, default_value_t = 4)]
    pub(super) buyers: usize,
    /// Products in the catalog for its last figure.
    #[arg(long, default_value_t = 500_000)]
    pub(super) products: u64,
}

const SERVICES: [&str; 4] = ["vendor", "catalog", "order", "reporting"];

/// A service binary running as a process of its own.
struct Process {
    name: &'static str,
    port: u16,
    env: Vec<(String, String)>,
    child: Child,
}

impl Process {
    fn start(name: &'static str, port: u16, env: Vec<(String, String)>) -> anyhow::Result<Self> {
        let child = spawn(name, &env)?;
        Ok(Self {
            name,
            port,
            env,
            child,
        })
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Resident memory, in MiB, from /proc.
    fn rss_mib(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .with_context(|| format!("blangkon-{} exited", self.name))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmRSS")?;
        Ok(kib / 1024.0)
    }

    /// Waits until the service reports SERVING.
    async fn serving(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("blangkon-{} exited at start: {status}", self.name);
            }
            let answer = async {
                let channel = tonic::transport::Endpoint::from_shared(self.endpoint())
                    .ok()?
                    .connect()
                    .await
                    .ok()?;
                let mut health = HealthClient::new(channel);
                let status = health
                    .check(HealthCheckRequest::default())
                    .await
                    .ok()?
                    .into_inner()
                    .status;
                Some(status == ServingStatus::Serving as i32)
            };
            if answer.await == Some(true) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(600) {
                bail!("blangkon-{} did not serve within 10 minutes", self.name);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then the exit.
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
    }

    /// Starts it again after [`Process::stop`].
    fn start_again(&mut self) -> anyhow::Result<()> {
        self.child = spawn(self.name, &self.env)?;
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `blangkon-<name>` beside this executable: `cargo build --release
/// --workspace --bins` puts them there (make bench-memory does).
fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let binary = exe
        .parent()
        .map(|dir| dir.join(format!("blangkon-{name}")))
        .context("no directory of the running executable")?;
    if !binary.exists() {
        bail!(
            "{} is missing: build the services beside blangkon first (cargo build --release \
             --workspace --bins; make bench-memory does)",
            binary.display()
        );
    }
    Ok(binary)
}

/// The allocator's setting the images ship (deploy/docker/Dockerfile):
/// arenas committed on demand. Set in the environment, it is measured as
/// given instead (`2` for mimalloc's default).
const ARENA_EAGER_COMMIT: &str = "MIMALLOC_ARENA_EAGER_COMMIT";

/// The value of [`ARENA_EAGER_COMMIT`] the services run with.
fn arena_eager_commit() -> std::ffi::OsString {
    std::env::var_os(ARENA_EAGER_COMMIT).unwrap_or_else(|| "0".into())
}

fn spawn(name: &str, env: &[(String, String)]) -> anyhow::Result<Child> {
    Command::new(binary(name)?)
        .env(ARENA_EAGER_COMMIT, arena_eager_commit())
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting blangkon-{name}"))
}

/// The machine's memory in MiB, from /proc/meminfo.
pub(super) fn machine_mib() -> anyhow::Result<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")?;
    let kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no MemTotal in /proc/meminfo")?;
    Ok(kib / 1024.0)
}

/// The catalog benchmark's buyer searches, one after another, for `how_long`;
/// returns how many.
async fn search_for_a_while(endpoint: &str, how_long: Duration) -> anyhow::Result<usize> {
    let token = buyer_token("bench-memory")?;
    let mut client = CatalogServiceClient::connect(endpoint.to_string()).await?;
    let queries = queries();
    let deadline = Instant::now() + how_long;
    let mut made = 0;
    while Instant::now() < deadline {
        let query = queries[made % queries.len()].clone();
        client.search_products(with(&token, query)?).await?;
        made += 1;
    }
    Ok(made)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// How the service `name` verifies tokens: the benchmark's issuer, and
/// the order service's client for its calls.
fn auth_of(name: &str) -> anyhow::Result<AuthSettings> {
    let issuer = issuer()?;
    let about = match name {
        "vendor" => VendorService::ABOUT,
        "catalog" => CatalogService::ABOUT,
        "order" => OrderService::ABOUT,
        _ => ReportingService::ABOUT,
    };
    Ok(AuthSettings {
        issuer: issuer.issuer().to_string(),
        audience: audience_of(name),
        client: service_client(&issuer, &about).unwrap_or_default(),
        ..AuthSettings::default()
    })
}

pub async fn run(bench: MemoryBench) -> anyhow::Result<Vec<Figure>> {
    let broker = Broker::new(bench.at.kafka.as_deref())?;
    let bootstrap = broker.bootstrap.clone();
    let group = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let ports = [free_port()?, free_port()?, free_port()?, free_port()?];
    let mut processes = Vec::new();
    for (i, name) in SERVICES.into_iter().enumerate() {
        let database =
            fresh_database(&bench.at.server, &format!("blangkon_bench_memory_{name}")).await?;
        let key = |k: &str| format!("BLANGKON_{}__{k}", name.to_uppercase());
        let mut env = vec![
            (key("GRPC__LISTEN"), format!("127.0.0.1:{}", ports[i])),
            (key("METRICS__ENABLED"), "false".into()),
            (key("DATABASE__URL"), database.url.expose().to_string()),
            (key("KAFKA__BOOTSTRAP_SERVERS"), bootstrap.clone()),
            (key("KAFKA__CREATE_TOPICS"), broker.is_real().to_string()),
            (key("KAFKA__CONSUMER_GROUP_PREFIX"), group.clone()),
            (key("TELEMETRY__LOG_FILTER"), "warn".into()),
        ];
        env.extend(auth_of(name)?.environment(name));
        if name == "order" {
            env.push((
                key("ORDER__VENDOR_ENDPOINT"),
                format!("http://127.0.0.1:{}", ports[0]),
            ));
            env.push((
                key("ORDER__CATALOG_ENDPOINT"),
                format!("http://127.0.0.1:{}", ports[1]),
            ));
        }
        processes.push(Process::start(name, ports[i], env)?);
    }
    for process in &mut processes {
        process.serving().await?;
    }
    // Let start-up settle (pools, consumer groups) before the first figure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle: Vec<f64> = processes
        .iter()
        .map(Process::rss_mib)
        .collect::<Result<_, _>>()?;

    let at = Endpoints {
        vendor: processes[0].endpoint(),
        catalog: processes[1].endpoint(),
        order: processes[2].endpoint(),
    };
    let (_, products) = seed(&at).await?;
    let shape = Load {
        buyers: bench.buyers,
        seconds: bench.seconds,
        rate: 0.0,
        sample_every: u64::MAX,
    };
    let (samples, _unused) = tokio::sync::mpsc::unbounded_channel();
    let (_, placed, seconds) = load(&at, shape, Arc::clone(&products), samples).await?;
    // The events settle into reporting and the relays go quiet.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let loaded: Vec<f64> = processes
        .iter()
        .map(Process::rss_mib)
        .collect::<Result<_, _>>()?;

    // The catalog again, on a national catalogue.
    let catalog = &mut processes[1];
    catalog.stop();
    let catalog_db = fresh_database(&bench.at.server, "blangkon_bench_memory_catalog").await?;
    load_products(&catalog_db, bench.products, false).await?;
    catalog.start_again()?;
    let built = catalog.serving().await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let national = catalog.rss_mib()?;
    // Its index is memory-mapped: what searches touch becomes resident.
    let searches = search_for_a_while(&catalog.endpoint(), Duration::from_secs(5)).await?;
    let searched = catalog.rss_mib()?;

    println!();
    println!(
        "resident memory (VmRSS) of each service as its own process ({ARENA_EAGER_COMMIT}={}); \
         load: {} buyers for {:.0} s ({} orders, {:.0}/s); broker: {}",
        arena_eager_commit().to_string_lossy(),
        bench.buyers,
        seconds,
        placed,
        placed as f64 / seconds,
        broker.name()
    );
    println!(
        "{:<10} {:>10} {:>16}",
        "service", "idle MiB", "after load MiB"
    );
    for (i, name) in SERVICES.into_iter().enumerate() {
        println!("{name:<10} {:>10.0} {:>16.0}", idle[i], loaded[i]);
    }
    println!(
        "catalog with {} products: {national:.0} MiB (search index built in {:.1} s), \
         {searched:.0} MiB after {searches} searches",
        bench.products,
        built.as_secs_f64()
    );
    for process in &mut processes {
        process.stop();
    }
    // The limit of memory is the machine's: each figure as a share of it.
    let machine = machine_mib()?;
    let of_machine = |figure: Figure| figure.beside("the machine's memory (MemTotal)", machine);
    let mut figures = Vec::new();
    for (i, name) in SERVICES.into_iter().enumerate() {
        figures.push(of_machine(Figure::new(
            format!("{name} resident memory, idle"),
            idle[i],
            "MiB",
        )));
        figures.push(of_machine(Figure::new(
            format!("{name} resident memory, after load"),
            loaded[i],
            "MiB",
        )));
    }
    figures.push(of_machine(Figure::new(
        format!("catalog resident memory, {} products", bench.products),
        national,
        "MiB",
    )));
    figures.push(of_machine(Figure::new(
        format!(
            "catalog resident memory, {} products, after 5 s of searches",
            bench.products
        ),
        searched,
        "MiB",
    )));
    Ok(figures)
}
