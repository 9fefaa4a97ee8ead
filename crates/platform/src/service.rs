//! The one skeleton of every Blangkon service. A service says what it is —
//! who it is ([`About`]: name, default port, gRPC services, topics), its
//! settings section, its migrator, its routes and background tasks — by
//! implementing [`Service`]; this module does the rest the same way for all
//! four: settings ([`Settings`]), start-up ([`Application`]) and the
//! binary's command line ([`main`], or [`main_with`] for a service with
//! commands of its own).
//!
//! ```text
//! #[tokio::main]
//! async fn main() -> anyhow::Result<()> {
//!     blangkon_platform::service::main::<blangkon_vendor::VendorService>().await
//! }
//! ```

use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::dead_letters::{self, Showing};
use crate::host::{HostError, ServiceHost};
use crate::kafka::TopicSpec;
use crate::settings::{PlatformSettings, SettingsError, Validate};
use crate::{db, grpc, telemetry};

/// What makes a service itself; everything else is the skeleton's.
pub trait Service: Sized + Send + Sync + 'static {
    /// Who the service is.
    const ABOUT: About;

    /// The service's own settings section.
    type Section: Section;
    type Migrator: MigratorTrait;

    /// Builds the API and starts nothing yet: background tasks are handed
    /// to `host` (`ServiceHost::run_beside`), which starts them with the
    /// server. Returns the routes to serve.
    fn build(
        host: &mut ServiceHost,
        settings: &Settings<Self>,
    ) -> impl Future<Output = Result<Routes, StartError>> + Send;
}

/// Who a service is: what the skeleton must know of it before building it.
#[derive(Debug, Clone, Copy)]
pub struct About {
    /// `vendor`, `catalog`, ...: names the binary (`blangkon-<name>`), the
    /// environment (`BLANGKON_<NAME>__…`), the default database and the logs.
    pub name: &'static str,
    /// gRPC port when none is configured.
    pub default_port: u16,
    /// The gRPC services whose health the server reports.
    pub grpc_services: &'static [&'static str],
    /// Topics the service publishes to, created at start when allowed.
    pub topics: &'static [TopicSpec<'static>],
    /// Port of its public HTTP API by default, if it publishes one.
    pub default_http_port: Option<u16>,
    /// The services it calls over gRPC, each with a token of its own
    /// client for that service's audience.
    pub calls: &'static [&'static str],
}

impl About {
    pub const fn new(
        name: &'static str,
        default_port: u16,
        grpc_services: &'static [&'static str],
        topics: &'static [TopicSpec<'static>],
    ) -> Self {
        Self {
            name,
            default_port,
            grpc_services,
            topics,
            calls: &[],
            default_http_port: None,
        }
    }

    /// A service that publishes a public HTTP API, on `port` by default.
    pub const fn publishing(self, port: u16) -> Self {
        Self {
            default_http_port: Some(port),
            ..self
        }
    }

    /// The same service, calling `services` over gRPC.
    pub const fn calling(self, services: &'static [&'static str]) -> Self {
        Self {
            calls: services,
            ..self
        }
    }
}

/// A service's own settings section.
pub trait Section:
    std::fmt::Debug + Clone + Default + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// Its key among the settings (`catalog`, `order`, ...).
    const KEY: &'static str;

    /// Checks the section; `key` is its name, for the messages.
    fn validate(&self, key: &str) -> Result<(), SettingsError>;
}

/// A service-specific command of the binary, such as reporting's `rebuild`.
pub trait ServiceCommand<S: Service>: Subcommand + Send {
    fn run(self, settings: Settings<S>) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The command set of a service without commands of its own.
#[derive(Debug, Clone, Copy)]
pub enum NoCommand {}

impl FromArgMatches for NoCommand {
    fn from_arg_matches(_: &ArgMatches) -> Result<Self, clap::Error> {
        Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))
    }

    fn update_from_arg_matches(&mut self, _: &ArgMatches) -> Result<(), clap::Error> {
        match *self {}
    }
}

impl Subcommand for NoCommand {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        cmd
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        cmd
    }

    fn has_subcommand(_: &str) -> bool {
        false
    }
}

impl<S: Service> ServiceCommand<S> for NoCommand {
    async fn run(self, _: Settings<S>) -> anyhow::Result<()> {
        match self {}
    }
}

/// A service's settings: the platform sections plus its own, under the key
/// [`Section::KEY`]. In a file or the environment they read as one
/// table (`[database]`, `[catalog]`; `BLANGKON_CATALOG__CATALOG__MAX_PRICE`);
/// a key that is not a setting is refused.
pub struct Settings<S: Service> {
    pub platform: PlatformSettings,
    pub service: S::Section,
}

impl<S: Service> Default for Settings<S> {
    fn default() -> Self {
        Self {
            platform: PlatformSettings::for_service(
                S::ABOUT.name,
                S::ABOUT.default_port,
                S::ABOUT.default_http_port,
            ),
            service: S::Section::default(),
        }
    }
}

impl<S: Service> Clone for Settings<S> {
    fn clone(&self) -> Self {
        Self {
            platform: self.platform.clone(),
            service: self.service.clone(),
        }
    }
}

impl<S: Service> std::fmt::Debug for Settings<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("platform", &self.platform)
            .field(S::Section::KEY, &self.service)
            .finish()
    }
}

impl<S: Service> Validate for Settings<S> {
    fn validate(&self) -> Result<(), SettingsError> {
        self.platform.validate()?;
        self.service.validate(S::Section::KEY)
    }
}

const PLATFORM_SECTIONS: [&str; 7] = [
    "grpc",
    "http",
    "database",
    "kafka",
    "auth",
    "telemetry",
    "metrics",
];

impl<S: Service> Serialize for Settings<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        let p = &self.platform;
        let mut map = serializer.serialize_map(Some(PLATFORM_SECTIONS.len() + 1))?;
        map.serialize_entry("grpc", &p.grpc)?;
        map.serialize_entry("http", &p.http)?;
        map.serialize_entry("database", &p.database)?;
        map.serialize_entry("kafka", &p.kafka)?;
        map.serialize_entry("auth", &p.auth)?;
        map.serialize_entry("telemetry", &p.telemetry)?;
        map.serialize_entry("metrics", &p.metrics)?;
        map.serialize_entry(S::Section::KEY, &self.service)?;
        map.end()
    }
}

impl<'de, S: Service> Deserialize<'de> for Settings<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SettingsVisitor(PhantomData))
    }
}

struct SettingsVisitor<S>(PhantomData<S>);

impl<'de, S: Service> Visitor<'de> for SettingsVisitor<S> {
    type Value = Settings<S>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the settings of the {} service", S::ABOUT.name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Settings<S>, A::Error> {
        let (mut grpc, mut http, mut database, mut kafka, mut auth, mut telemetry, mut metrics) =
            (None, None, None, None, None, None, None);
        // An empty list vanishes from the merged defaults, so a section
        // that is a list (the vendor's regencies) may be absent.
        let mut service = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "grpc" => grpc = Some(map.next_value()?),
                "http" => http = Some(map.next_value()?),
                "database" => database = Some(map.next_value()?),
                "kafka" => kafka = Some(map.next_value()?),
                "auth" => auth = Some(map.next_value()?),
                "telemetry" => telemetry = Some(map.next_value()?),
                "metrics" => metrics = Some(map.next_value()?),
                key if key == S::Section::KEY => service = Some(map.next_value()?),
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown section `{other}`, expected one of {}, {}",
                        PLATFORM_SECTIONS.join(", "),
                        S::Section::KEY
                    )));
                }
            }
        }
        Ok(Settings {
            platform: PlatformSettings {
                grpc: grpc.ok_or_else(|| de::Error::missing_field("grpc"))?,
                http: http.ok_or_else(|| de::Error::missing_field("http"))?,
                database: database.ok_or_else(|| de::Error::missing_field("database"))?,
                kafka: kafka.ok_or_else(|| de::Error::missing_field("kafka"))?,
                auth: auth.ok_or_else(|| de::Error::missing_field("auth"))?,
                telemetry: telemetry.ok_or_else(|| de::Error::missing_field("telemetry"))?,
                metrics: metrics.ok_or_else(|| de::Error::missing_field("metrics"))?,
            },
            service: service.unwrap_or_default(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("kafka: {0}")]
    Kafka(#[from] crate::kafka::KafkaError),
    /// A start-up step of the service's own failed.
    #[error("{step}: {source}")]
    Step {
        step: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StartError {
    /// A failure of the service's own start-up `step` ("building the
    /// search index").
    pub fn step(
        step: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Step {
            step,
            source: Box::new(source),
        }
    }
}

/// A service bound to its port, ready to run.
pub struct Application<S: Service> {
    host: ServiceHost,
    routes: Routes,
    service: PhantomData<S>,
}

impl<S: Service> std::fmt::Debug for Application<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("service", &S::ABOUT.name)
            .field("host", &self.host)
            .finish()
    }
}

impl<S: Service> Application<S> {
    /// Checks the settings, connects, migrates (if configured), creates
    /// missing topics, binds the gRPC listener and builds the service.
    /// Nothing is served until [`Application::run`].
    pub async fn build(settings: Settings<S>) -> Result<Self, StartError> {
        settings.validate()?;
        let mut host =
            ServiceHost::start::<S::Migrator>(S::ABOUT.name, &settings.platform, S::ABOUT.topics)
                .await?;
        let routes = S::build(&mut host, &settings).await?;
        Ok(Self {
            host,
            routes,
            service: PhantomData,
        })
    }

    /// The bound address (the real port when configured with port 0).
    pub fn address(&self) -> SocketAddr {
        self.host.address()
    }

    pub fn database(&self) -> &DatabaseConnection {
        self.host.database()
    }

    /// Where `/metrics` is served, if it is.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.host.metrics_address()
    }

    /// Where the public HTTP API is served, if it is.
    pub fn http_address(&self) -> Option<SocketAddr> {
        self.host.http_address()
    }

    /// Serves until `shutdown`; then drains calls, lets the background
    /// tasks finish their last round (the outbox is flushed, consumers
    /// commit their offsets) and closes the database.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartError> {
        self.host
            .serve(S::ABOUT.grpc_services, self.routes, shutdown)
            .await
            .map_err(|e| StartError::Host(HostError::Grpc(e)))
    }
}

/// Applies the pending migrations of `S` to its configured database.
pub async fn migrate<S: Service>(settings: &Settings<S>) -> Result<(), db::DbError> {
    let db = db::connect(&settings.platform.database).await?;
    let migrated = db::migrate::<S::Migrator>(&db).await;
    db.close().await.ok();
    migrated
}

#[derive(Parser)]
#[command(version)]
struct Cli<C: Subcommand> {
    /// Optional TOML file between the defaults and the environment.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command<C>>,
}

#[derive(Subcommand)]
enum Command<C: Subcommand> {
    /// Serve gRPC (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// The records the service's consumers set aside: list them, or ask
    /// for them to be applied again.
    #[command(subcommand)]
    DeadLetters(DeadLetterCommand),
    #[command(flatten)]
    Service(C),
}

#[derive(Subcommand)]
enum DeadLetterCommand {
    /// List the dead letters no replay has applied, oldest first.
    List {
        /// Those a replay applied too.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Ask the running service to apply dead letters again: within seconds
    /// each is applied (and resolved) or keeps waiting with its new reason.
    Replay {
        /// The dead letters' ids, as `list` shows them.
        #[arg(required_unless_present = "all")]
        ids: Vec<i64>,
        /// Every one that waits.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

impl DeadLetterCommand {
    async fn run(self, database: &db::DatabaseSettings) -> anyhow::Result<()> {
        let db = db::connect(database).await?;
        match self {
            DeadLetterCommand::List { all, limit } => {
                let showing = if all { Showing::All } else { Showing::Waiting };
                let letters = dead_letters::list(&db, showing, limit).await?;
                if letters.is_empty() {
                    println!("no dead letters");
                }
                for letter in letters {
                    println!("{letter}");
                }
            }
            DeadLetterCommand::Replay { ids, all: _ } => {
                let asked = dead_letters::request_replay(&db, &ids).await?;
                println!(
                    "replay asked for {asked} dead letter(s); `dead-letters list` shows what remains"
                );
            }
        }
        db.close().await.ok();
        Ok(())
    }
}

/// The binary of service `S`: `serve` (the default) and `migrate`.
/// Settings are read once: the defaults, then the file given by `--config`
/// or `BLANGKON_<NAME>_CONFIG`, then the environment.
pub async fn main<S: Service>() -> anyhow::Result<()> {
    main_with::<S, NoCommand>().await
}

/// [`main`] with commands `C` of the service's own beside `serve` and
/// `migrate`, such as reporting's `rebuild`.
pub async fn main_with<S: Service, C: ServiceCommand<S>>() -> anyhow::Result<()> {
    let config_env = format!("BLANGKON_{}_CONFIG", S::ABOUT.name.to_uppercase());
    let matches = Cli::<C>::command()
        .name(format!("blangkon-{}", S::ABOUT.name))
        .about(format!("Blangkon {} service", S::ABOUT.name))
        .mut_arg("config", |arg| {
            arg.help(format!(
                "Optional TOML file between the defaults and BLANGKON_{}__* variables [env: {config_env}]",
                S::ABOUT.name.to_uppercase()
            ))
        })
        .get_matches();
    let cli = Cli::<C>::from_arg_matches(&matches)?;
    let config = cli
        .config
        .or_else(|| std::env::var_os(&config_env).map(PathBuf::from));
    let settings: Settings<S> = crate::settings::load(S::ABOUT.name, config.as_deref())?;
    let _telemetry = telemetry::init(S::ABOUT.name, &settings.platform.telemetry)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            migrate(&settings).await?;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            let app = Application::build(settings)
                .await
                .with_context(|| format!("starting the {} service", S::ABOUT.name))?;
            app.run(grpc::shutdown_on_signals()).await?;
        }
        Command::DeadLetters(command) => command.run(&settings.platform.database).await?,
        Command::Service(command) => command.run(settings).await?,
    }
    Ok(())
}
