//! Layered service configuration: built-in defaults, then an optional file,
//! then environment variables `BLANGKON_<SERVICE>__SECTION__KEY`.
//!
//! Every service's settings are [`PlatformSettings`] (the sections below)
//! plus a section of its own (`crate::service::Settings`). Loading checks
//! every value; a bad one stops the service with a message that names the
//! key. Secrets are [`Secret`]s, which `Debug` and logs never show.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key `{key}`: {problem}")]
    Invalid { key: String, problem: String },
}

impl SettingsError {
    pub fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// `Ok` when `amount` (rupiah, a count) is more than zero; else the error
/// naming `section.field`.
pub fn require_positive(section: &str, field: &str, amount: i64) -> Result<(), SettingsError> {
    require(amount > 0, section, field, "must be positive")
}

/// `Ok` when `holds`; else the error naming `section.field` and `problem`.
pub fn require(
    holds: bool,
    section: &str,
    field: &str,
    problem: impl Into<String>,
) -> Result<(), SettingsError> {
    if holds {
        Ok(())
    } else {
        Err(SettingsError::invalid(
            format!("{section}.{field}"),
            problem,
        ))
    }
}

/// Whether `url` is an `http://` or `https://` URL.
pub fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Implemented by each service's top-level settings, so the loader can check
/// the values after they are merged.
pub trait Validate {
    fn validate(&self) -> Result<(), SettingsError>;
}

/// Loads `T` for `service` ("vendor", "catalog", ...): defaults from
/// `T::default()`, then `file` if given, then the environment.
pub fn load<T>(service: &str, file: Option<&Path>) -> Result<T, SettingsError>
where
    T: Default + Serialize + DeserializeOwned + Validate,
{
    load_from(service, file, std::env::vars())
}

/// [`load`] with an explicit environment, so tests need not touch the
/// process environment.
pub fn load_from<T>(
    service: &str,
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, SettingsError>
where
    T: Default + Serialize + DeserializeOwned + Validate,
{
    let prefix = format!("BLANGKON_{}", service.to_uppercase());
    let env: config::Map<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(&format!("{prefix}__")))
        .collect();
    let mut builder =
        config::Config::builder().add_source(config::Config::try_from(&T::default())?);
    if let Some(file) = file {
        builder = builder.add_source(config::File::from(file).required(true));
    }
    builder = builder.add_source(
        config::Environment::with_prefix(&prefix)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("auth.issuers")
            .source(Some(env)),
    );
    let settings: T = builder.build()?.try_deserialize()?;
    settings.validate()?;
    Ok(settings)
}

/// A setting that is a secret: a JWT key, a database URL with its
/// password. `Debug` shows `Secret([REDACTED])`, so neither a logged
/// settings struct nor an error message can leak it; the value is wiped
/// from memory when dropped. Read it with [`Secret::expose`], only where it
/// is handed to the library that needs it.
#[derive(Clone)]
pub struct Secret(secrecy::SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(secrecy::SecretString::from(value.into()))
    }

    pub fn expose(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
    }

    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl Default for Secret {
    fn default() -> Self {
        Self::new(String::new())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

/// Serialises the value itself: the loader merges the built-in defaults
/// under the file and the environment by serialising them, and that is
/// the only place settings are serialised.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

/// A string, in the settings' JSON Schema.
impl JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// The sections every service has. Built once per service by
/// [`PlatformSettings::for_service`], checked by one
/// [`PlatformSettings::validate`]. Read and written as part of a service's
/// settings (`crate::service::Settings`), section by section.
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    pub grpc: GrpcSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    pub metrics: MetricsSettings,
}

impl PlatformSettings {
    /// The defaults of the service `name` ("vendor", ...): gRPC on `port`,
    /// its own database `blangkon_<name>` on the local PostgreSQL, Kafka
    /// client ids `blangkon-<name>-*`.
    pub fn for_service(name: &str, port: u16) -> Self {
        Self {
            grpc: GrpcSettings::with_port(port),
            database: DatabaseSettings {
                url: Secret::new(format!(
                    "postgres://postgres@127.0.0.1:5432/blangkon_{name}"
                )),
                max_connections: 10,
                migrate_on_start: true,
            },
            kafka: KafkaSettings {
                client_id: format!("blangkon-{name}"),
                ..KafkaSettings::default()
            },
            auth: AuthSettings::default(),
            telemetry: TelemetrySettings::default(),
            metrics: MetricsSettings::default(),
        }
    }

    /// Checks every section; the error names the first bad key.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.database.validate("database")?;
        self.kafka.validate("kafka")?;
        self.auth.validate("auth")?;
        self.telemetry.validate("telemetry")
    }
}

/// The Prometheus endpoint: `GET /metrics` in the OpenMetrics text format.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Serve it at all.
    pub enabled: bool,
    /// Address it binds; port 0 picks a free port (the local suite, tests).
    pub listen: SocketAddr,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([0, 0, 0, 0], 9464)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrpcSettings {
    /// Address the gRPC server binds; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// How long in-flight calls may take to finish on shutdown.
    pub shutdown_grace_secs: u64,
}

impl GrpcSettings {
    pub fn with_port(port: u16) -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], port)),
            shutdown_grace_secs: 20,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host/db` in production,
    /// `sqlite://path?mode=rwc` locally. A secret: it may hold a password.
    pub url: Secret,
    /// Connections of the service's pool, at most; a replica holds up to
    /// this many on the server.
    pub max_connections: u32,
    /// Apply pending migrations when the service starts. Turn off when a
    /// deployment runs `migrate` as a separate job.
    pub migrate_on_start: bool,
}

impl DatabaseSettings {
    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        let url = self.url.expose();
        require(
            ["postgres://", "postgresql://", "sqlite:"]
                .iter()
                .any(|scheme| url.starts_with(scheme)),
            section,
            "url",
            "must start with postgres://, postgresql:// or sqlite:",
        )?;
        require(
            self.max_connections >= 1,
            section,
            "max_connections",
            "must be at least 1",
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// Prefix for client and consumer-group ids.
    pub client_id: String,
    /// How often the outbox relay looks for unpublished events when nobody
    /// woke it (another replica wrote them, or a publish failed).
    pub relay_poll_ms: u64,
    /// Events the relay publishes per round.
    pub relay_batch_size: u64,
    /// How long the relay waits after a commit woke it before it publishes,
    /// so that commits close together share one round (Kafka's linger.ms,
    /// for the outbox): every round costs a few statements whatever its
    /// size. 0 publishes at once.
    pub relay_linger_ms: u64,
    /// When the oldest unpublished event is this old, the service logs at
    /// ERROR that its events are stuck (once, and once more when they flow
    /// again).
    pub relay_alert_after_secs: u64,
    /// How long the producer keeps trying one message before the relay gives
    /// the round up and retries later.
    pub delivery_timeout_ms: u64,
    /// Create missing topics at start. Turn off where topics are managed
    /// by the cluster's operators.
    pub create_topics: bool,
    /// Replication factor of topics created at start (3 on a real cluster).
    pub replication_factor: i32,
    /// Consumer groups are named `<prefix>.<consumer>`; separate installs
    /// (or tests) sharing one cluster use different prefixes.
    pub consumer_group_prefix: String,
    /// Put before every topic name, e.g. `staging.` for
    /// `staging.blangkon.order.events.v1`: installs (or tests) that share
    /// one cluster keep apart. Empty by default.
    pub topic_prefix: String,
    /// How the clients authenticate and encrypt.
    #[serde(default)]
    pub security: KafkaSecurity,
    /// Any other librdkafka property, for every client of the service
    /// (`"socket.keepalive.enable" = "true"`). In the environment
    /// underscores stand for the dots: `…__KAFKA__PROPERTIES__SOCKET_KEEPALIVE_ENABLE`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// librdkafka's `security.protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }

    fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }
}

/// TLS and SASL for the brokers: what a Strimzi listener with `tls: true`
/// and `scram-sha-512` or `tls` authentication, or a managed Kafka, asks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSecurity {
    /// `plaintext` (default), `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub protocol: SecurityProtocol,
    /// With a `sasl_` protocol: `SCRAM-SHA-512`, `SCRAM-SHA-256` or `PLAIN`.
    pub sasl_mechanism: String,
    /// The SASL user (Strimzi: the KafkaUser's name).
    pub sasl_username: String,
    pub sasl_password: Secret,
    /// PEM file of the CA that signed the brokers' certificates (Strimzi's
    /// cluster CA); empty: the system's trust store.
    pub ssl_ca_location: String,
    /// Client certificate and key (PEM files) for mutual TLS, as
    /// Strimzi's `tls` authentication uses.
    pub ssl_certificate_location: String,
    pub ssl_key_location: String,
    pub ssl_key_password: Secret,
}

impl KafkaSecurity {
    /// The librdkafka properties these settings stand for.
    pub fn properties(&self) -> Vec<(&'static str, String)> {
        let mut properties = vec![("security.protocol", self.protocol.as_str().to_string())];
        let mut set = |key: &'static str, value: &str| {
            if !value.is_empty() {
                properties.push((key, value.to_string()));
            }
        };
        if self.protocol.uses_sasl() {
            set("sasl.mechanism", &self.sasl_mechanism);
            set("sasl.username", &self.sasl_username);
            set("sasl.password", self.sasl_password.expose());
        }
        if self.protocol.uses_tls() {
            set("ssl.ca.location", &self.ssl_ca_location);
            set("ssl.certificate.location", &self.ssl_certificate_location);
            set("ssl.key.location", &self.ssl_key_location);
            set("ssl.key.password", self.ssl_key_password.expose());
        }
        properties
    }

    fn validate(&self, section: &str) -> Result<(), SettingsError> {
        let field = format!("{section}.security");
        if self.protocol.uses_sasl() {
            require(
                ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"].contains(&self.sasl_mechanism.as_str()),
                &field,
                "sasl_mechanism",
                "must be SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN with a sasl_ protocol",
            )?;
            require(
                !self.sasl_username.is_empty() && !self.sasl_password.is_empty(),
                &field,
                "sasl_username",
                "and sasl_password are required with a sasl_ protocol",
            )?;
        }
        require(
            self.ssl_certificate_location.is_empty() == self.ssl_key_location.is_empty(),
            &field,
            "ssl_key_location",
            "and ssl_certificate_location go together (mutual TLS)",
        )?;
        for (name, path) in [
            ("ssl_ca_location", &self.ssl_ca_location),
            ("ssl_certificate_location", &self.ssl_certificate_location),
            ("ssl_key_location", &self.ssl_key_location),
        ] {
            require(
                path.is_empty() || std::path::Path::new(path).is_file(),
                &field,
                name,
                format!("`{path}` is not a readable file"),
            )?;
        }
        Ok(())
    }
}

impl KafkaSettings {
    /// The name `topic` has on the cluster.
    pub fn topic(&self, topic: &str) -> String {
        format!("{}{topic}", self.topic_prefix)
    }

    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        require(
            self.topic_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
            section,
            "topic_prefix",
            "may hold only letters, digits, `.`, `_` and `-`",
        )?;
        require(
            !self.bootstrap_servers.trim().is_empty(),
            section,
            "bootstrap_servers",
            "must name at least one host:port",
        )?;
        for server in self.bootstrap_servers.split(',') {
            let ok = server
                .trim()
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            require(
                ok,
                section,
                "bootstrap_servers",
                format!("`{server}` is not host:port"),
            )?;
        }
        require(
            self.relay_batch_size >= 1,
            section,
            "relay_batch_size",
            "must be at least 1",
        )?;
        require_positive(
            section,
            "relay_alert_after_secs",
            self.relay_alert_after_secs as i64,
        )?;
        require(
            self.replication_factor >= 1,
            section,
            "replication_factor",
            "must be at least 1",
        )?;
        require(
            self.delivery_timeout_ms >= 1000,
            section,
            "delivery_timeout_ms",
            "must be at least 1000",
        )?;
        self.security.validate(section)
    }

    /// The pass-through librdkafka properties, with the dots an
    /// environment variable could not carry.
    pub fn librdkafka_properties(&self) -> impl Iterator<Item = (String, &str)> {
        self.properties
            .iter()
            .map(|(key, value)| (key.replace('_', "."), value.as_str()))
    }
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            bootstrap_servers: "127.0.0.1:9092".into(),
            client_id: "blangkon".into(),
            relay_poll_ms: 1000,
            relay_batch_size: 500,
            relay_linger_ms: 5,
            relay_alert_after_secs: 60,
            delivery_timeout_ms: 10_000,
            create_topics: true,
            replication_factor: 1,
            consumer_group_prefix: "blangkon".into(),
            topic_prefix: String::new(),
            security: KafkaSecurity::default(),
            properties: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC secret (HS256) that signs bearer tokens. Required, at least 32
    /// bytes. Rotate by moving the old one to `previous_secret`.
    pub jwt_secret: Secret,
    /// A secret that is still accepted while tokens signed with it expire.
    pub previous_secret: Secret,
    /// Accepted `iss` values; empty accepts any issuer. In the environment:
    /// a comma-separated list.
    // An empty list vanishes from the merged defaults, so it needs its own.
    #[serde(default)]
    pub issuers: Vec<String>,
}

impl AuthSettings {
    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        require(
            self.jwt_secret.expose().len() >= 32,
            section,
            "jwt_secret",
            "must be set to a secret of at least 32 bytes",
        )?;
        require(
            self.previous_secret.is_empty() || self.previous_secret.expose().len() >= 32,
            section,
            "previous_secret",
            "must be empty or at least 32 bytes",
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `human`: readable lines for a terminal; `json`: one object per
    /// line, for log collectors.
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info,blangkon_vendor=debug`.
    pub log_filter: String,
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`. Empty: traces
    /// stay in-process (trace context is still propagated).
    pub otlp_endpoint: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Human,
            log_filter: "info".into(),
            otlp_endpoint: String::new(),
        }
    }
}

impl TelemetrySettings {
    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log_filter) {
            return Err(SettingsError::invalid(
                format!("{section}.log_filter"),
                e.to_string(),
            ));
        }
        require(
            self.otlp_endpoint.is_empty() || is_http_url(&self.otlp_endpoint),
            section,
            "otlp_endpoint",
            "must be an http:// or https:// URL",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Demo {
        kafka: KafkaSettings,
        telemetry: TelemetrySettings,
        auth: AuthSettings,
    }

    impl Validate for Demo {
        fn validate(&self) -> Result<(), SettingsError> {
            self.kafka.validate("kafka")?;
            self.telemetry.validate("telemetry")
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kafka_tls_and_scram_come_from_the_environment_and_stay_secret() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        let ca_path = ca.path().to_str().unwrap();
        let demo: Demo = load_from(
            "demo",
            None,
            env(&[
                ("BLANGKON_DEMO__KAFKA__SECURITY__PROTOCOL", "sasl_ssl"),
                (
                    "BLANGKON_DEMO__KAFKA__SECURITY__SASL_MECHANISM",
                    "SCRAM-SHA-512",
                ),
                (
                    "BLANGKON_DEMO__KAFKA__SECURITY__SASL_USERNAME",
                    "blangkon-order",
                ),
                (
                    "BLANGKON_DEMO__KAFKA__SECURITY__SASL_PASSWORD",
                    "s3cret-scram",
                ),
                ("BLANGKON_DEMO__KAFKA__SECURITY__SSL_CA_LOCATION", ca_path),
                (
                    "BLANGKON_DEMO__KAFKA__PROPERTIES__SOCKET_KEEPALIVE_ENABLE",
                    "true",
                ),
            ]),
        )
        .unwrap();
        demo.validate().unwrap();
        let properties = demo.kafka.security.properties();
        for expected in [
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "blangkon-order"),
            ("sasl.password", "s3cret-scram"),
            ("ssl.ca.location", ca_path),
        ] {
            assert!(
                properties.iter().any(|(k, v)| (*k, v.as_str()) == expected),
                "{expected:?} in {properties:?}"
            );
        }
        let passed: Vec<(String, &str)> = demo.kafka.librdkafka_properties().collect();
        assert_eq!(passed, [("socket.keepalive.enable".to_string(), "true")]);
        assert!(!format!("{demo:?}").contains("s3cret-scram"));
    }

    #[test]
    fn incomplete_kafka_security_is_refused_naming_the_field() {
        let refused = |pairs: &[(&str, &str)]| {
            load_from::<Demo>("demo", None, env(pairs))
                .unwrap_err()
                .to_string()
        };
        let sasl = ("BLANGKON_DEMO__KAFKA__SECURITY__PROTOCOL", "sasl_plaintext");
        assert!(refused(&[sasl]).contains("kafka.security.sasl_mechanism"));
        assert!(
            refused(&[
                sasl,
                ("BLANGKON_DEMO__KAFKA__SECURITY__SASL_MECHANISM", "PLAIN"),
            ])
            .contains("kafka.security.sasl_username")
        );
        assert!(
            refused(&[(
                "BLANGKON_DEMO__KAFKA__SECURITY__SSL_CA_LOCATION",
                "/nonexistent/ca.crt"
            )])
            .contains("kafka.security.ssl_ca_location")
        );
        assert!(
            refused(&[(
                "BLANGKON_DEMO__KAFKA__SECURITY__SSL_CERTIFICATE_LOCATION",
                "/etc/hostname"
            )])
            .contains("kafka.security.ssl_key_location")
        );
    }

    #[test]
    fn a_list_setting_may_be_left_empty_or_given_comma_separated() {
        let demo: Demo = load_from("demo", None, env(&[])).unwrap();
        assert!(demo.auth.issuers.is_empty());
        let demo: Demo = load_from(
            "demo",
            None,
            env(&[(
                "BLANGKON_DEMO__AUTH__ISSUERS",
                "https://sso.a,https://sso.b",
            )]),
        )
        .unwrap();
        assert_eq!(demo.auth.issuers, ["https://sso.a", "https://sso.b"]);
    }

    #[test]
    fn defaults_apply_when_nothing_is_configured() {
        let demo: Demo = load_from("demo", None, env(&[])).unwrap();
        assert_eq!(demo.kafka.relay_batch_size, 500);
    }

    #[test]
    fn environment_overrides_nested_keys_of_its_own_service_only() {
        let demo: Demo = load_from(
            "demo",
            None,
            env(&[
                ("BLANGKON_DEMO__KAFKA__RELAY_BATCH_SIZE", "7"),
                ("BLANGKON_OTHER__KAFKA__RELAY_BATCH_SIZE", "9"),
            ]),
        )
        .unwrap();
        assert_eq!(demo.kafka.relay_batch_size, 7);
    }

    #[test]
    fn a_file_sits_between_defaults_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.toml");
        std::fs::write(
            &path,
            "[kafka]\nrelay_batch_size = 3\nclient_id = \"from-file\"\n",
        )
        .unwrap();
        let demo: Demo = load_from(
            "demo",
            Some(&path),
            env(&[("BLANGKON_DEMO__KAFKA__CLIENT_ID", "from-env")]),
        )
        .unwrap();
        assert_eq!(demo.kafka.relay_batch_size, 3);
        assert_eq!(demo.kafka.client_id, "from-env");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key() {
        let err = load_from::<Demo>(
            "demo",
            None,
            env(&[("BLANGKON_DEMO__KAFKA__RELAY_BATCH_SIZE", "lots")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("relay_batch_size"), "{err}");
    }

    #[test]
    fn a_value_that_fails_its_check_names_its_key() {
        let err = load_from::<Demo>(
            "demo",
            None,
            env(&[("BLANGKON_DEMO__KAFKA__BOOTSTRAP_SERVERS", "nohost")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("kafka.bootstrap_servers"), "{err}");
    }

    #[test]
    fn an_unknown_key_in_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.toml");
        std::fs::write(&path, "[kafka]\nbootstrap_server = \"x:1\"\n").unwrap();
        let err = load_from::<Demo>("demo", Some(&path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("bootstrap_server"), "{err}");
    }
}
