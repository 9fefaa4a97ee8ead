//! Layered service configuration: built-in defaults, then an optional file,
//! then environment variables `BLANGKON_<SERVICE>__SECTION__KEY`.
//!
//! Every service's settings are [`PlatformSettings`] (the sections of the
//! platform's subsystems, each defined beside the code that reads it) plus
//! a section of its own (`crate::service::Settings`). Loading checks
//! every value; a bad one stops the service with a message that names the
//! key. Secrets are [`Secret`]s, which `Debug` and logs never show.

use std::path::Path;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

// Each section lives beside the subsystem that reads it.
pub use crate::auth::AuthSettings;
pub use crate::db::DatabaseSettings;
pub use crate::grpc::GrpcSettings;
pub use crate::http::HttpSettings;
pub use crate::kafka::{KafkaSecurity, KafkaSettings, SecurityProtocol};
pub use crate::metrics::MetricsSettings;
pub use crate::telemetry::{LogFormat, TelemetrySettings};

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

/// Whether `text` is an `http://` or `https://` URL with a host.
pub fn is_http_url(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
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
            // The one list a variable holds, comma-separated (the charts
            // join lists so); every other value stays a string.
            .list_separator(",")
            .with_list_parse_key("grpc.trusted_proxies")
            .with_list_parse_key("http.trusted_proxies")
            .with_list_parse_key("http.cors_allow_origins")
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
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    pub metrics: MetricsSettings,
}

impl PlatformSettings {
    /// The defaults of the service `name` ("vendor", ...): gRPC on `port`,
    /// the public HTTP API on `http_port` if it has one, its own database
    /// `blangkon_<name>` on the local PostgreSQL, Kafka client ids
    /// `blangkon-<name>-*`.
    pub fn for_service(name: &str, port: u16, http_port: Option<u16>) -> Self {
        Self {
            grpc: GrpcSettings::with_port(port),
            http: http_port.map_or_else(HttpSettings::off, HttpSettings::with_port),
            database: DatabaseSettings::new(
                format!("postgres://postgres@127.0.0.1:5432/blangkon_{name}"),
                10,
            ),
            kafka: KafkaSettings {
                client_id: format!("blangkon-{name}"),
                ..KafkaSettings::default()
            },
            auth: AuthSettings {
                audience: crate::auth::audience_of(name),
                ..AuthSettings::default()
            },
            telemetry: TelemetrySettings::default(),
            metrics: MetricsSettings::default(),
        }
    }

    /// Checks every section; the error names the first bad key.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.grpc.validate("grpc")?;
        self.http.validate("http")?;
        self.database.validate("database")?;
        self.kafka.validate("kafka")?;
        self.auth.validate("auth")?;
        self.telemetry.validate("telemetry")
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
    fn the_claim_mapping_and_client_come_from_the_environment() {
        let demo: Demo = load_from(
            "demo",
            None,
            env(&[
                ("BLANGKON_DEMO__AUTH__ISSUER", "https://sso.a/realms/jateng"),
                ("BLANGKON_DEMO__AUTH__CLAIMS__ROLE", "realm_access.roles"),
                ("BLANGKON_DEMO__AUTH__CLAIMS__ROLE_PREFIX", "blangkon:"),
                ("BLANGKON_DEMO__AUTH__CLIENT__ID", "order-service"),
                ("BLANGKON_DEMO__AUTH__CLIENT__SECRET", "client-s3cret"),
            ]),
        )
        .unwrap();
        assert_eq!(demo.auth.issuer, "https://sso.a/realms/jateng");
        assert_eq!(demo.auth.claims.role, "realm_access.roles");
        assert_eq!(demo.auth.claims.role_prefix, "blangkon:");
        assert_eq!(demo.auth.claims.regency, "regency");
        assert_eq!(demo.auth.client.id, "order-service");
        assert!(!format!("{demo:?}").contains("client-s3cret"));
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
    fn a_url_setting_must_be_a_whole_url() {
        assert!(is_http_url("http://otel-collector:4317"));
        assert!(is_http_url("https://sso.jatengprov.go.id/realms/jateng"));
        for bad in ["https://", "http//otel:4317", "otel:4317", "ftp://otel", ""] {
            assert!(!is_http_url(bad), "{bad}");
        }
        let database = |url: &str| DatabaseSettings::new(url, 1);
        for good in [
            "postgres://u:p@db:5432/blangkon",
            "postgresql://db/blangkon",
            "sqlite://data/v.db?mode=rwc",
            "sqlite::memory:",
        ] {
            assert!(database(good).validate("database").is_ok(), "{good}");
        }
        for bad in ["postgres://", "mysql://db/x", "postgres:db", "data/v.db"] {
            let err = database(bad).validate("database").unwrap_err().to_string();
            assert!(err.contains("database.url"), "{err}");
        }
        let secret = database("postgres://u:hunter2@")
            .validate("database")
            .unwrap_err()
            .to_string();
        assert!(!secret.contains("hunter2"), "{secret}");
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
