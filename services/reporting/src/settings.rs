//! Settings of the reporting service: the platform sections plus its own.

use blangkon_platform::settings::{
    AuthSettings, DatabaseSettings, GrpcSettings, KafkaSettings, SettingsError, TelemetrySettings,
    Validate,
};
use serde::{Deserialize, Serialize};

/// Default gRPC port of the reporting service.
pub const DEFAULT_PORT: u16 = 50054;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub grpc: GrpcSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    pub reporting: ReportingSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingSettings {
    /// OCDS: the publisher's registered ocid prefix, `ocds-` and six
    /// characters (register one with the Open Contracting Partnership
    /// before publishing for real).
    pub ocid_prefix: String,
    /// OCDS: who publishes the data.
    pub publisher_name: String,
    /// OCDS: where the release packages are published; a package's `uri`
    /// is this plus its period.
    pub package_uri_base: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc: GrpcSettings::with_port(DEFAULT_PORT),
            database: DatabaseSettings {
                url: "postgres://postgres@127.0.0.1:5432/blangkon_reporting".into(),
                max_connections: 10,
                migrate_on_start: true,
            },
            kafka: KafkaSettings {
                client_id: "blangkon-reporting".into(),
                ..KafkaSettings::default()
            },
            auth: AuthSettings::default(),
            telemetry: TelemetrySettings::default(),
            reporting: ReportingSettings::default(),
        }
    }
}

impl Default for ReportingSettings {
    fn default() -> Self {
        Self {
            ocid_prefix: "ocds-bkjtg1".into(),
            publisher_name: "Pemerintah Provinsi Jawa Tengah (Blangkon)".into(),
            package_uri_base: "https://blangkon.jatengprov.go.id/ocds".into(),
        }
    }
}

impl Validate for Settings {
    fn validate(&self) -> Result<(), SettingsError> {
        self.database.validate("database")?;
        self.kafka.validate("kafka")?;
        self.auth.validate("auth")?;
        self.telemetry.validate("telemetry")?;
        let prefix = &self.reporting.ocid_prefix;
        let valid_prefix = prefix.len() == 11
            && prefix.starts_with("ocds-")
            && prefix[5..].chars().all(|c| c.is_ascii_alphanumeric());
        if !valid_prefix {
            return Err(SettingsError::invalid(
                "reporting.ocid_prefix",
                "must be `ocds-` and six letters or digits",
            ));
        }
        if self.reporting.publisher_name.trim().is_empty() {
            return Err(SettingsError::invalid(
                "reporting.publisher_name",
                "must not be empty",
            ));
        }
        let uri = &self.reporting.package_uri_base;
        if !(uri.starts_with("https://") || uri.starts_with("http://")) {
            return Err(SettingsError::invalid(
                "reporting.package_uri_base",
                "must be an http:// or https:// URL",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_a_bad_prefix_is_named() {
        let mut settings = Settings::default();
        settings.auth.jwt_secret = "a-secret-of-at-least-thirty-two-bytes".into();
        assert!(settings.validate().is_ok());
        settings.reporting.ocid_prefix = "ocds-x".into();
        let err = settings.validate().err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("reporting.ocid_prefix")));
    }
}
