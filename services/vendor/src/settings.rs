//! Settings of the vendor service: the platform sections plus the regencies
//! added by configuration.

use blangkon_platform::settings::{
    AuthSettings, DatabaseSettings, GrpcSettings, KafkaSettings, SettingsError, TelemetrySettings,
    Validate,
};
use serde::{Deserialize, Serialize};

use crate::domain::regency::{NewRegency, RegencyKind};

/// Default gRPC port of the vendor service.
pub const DEFAULT_PORT: u16 = 50051;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub grpc: GrpcSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    /// Regencies beyond the seeded 35 of Central Java (another province, a
    /// new code): added at start if missing. Set them in the config file:
    /// `[[regencies]]` with `code`, `name`, `kind`.
    pub regencies: Vec<RegencySetting>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegencySetting {
    pub code: String,
    pub name: String,
    pub kind: RegencyKind,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc: GrpcSettings::with_port(DEFAULT_PORT),
            database: DatabaseSettings {
                url: "postgres://postgres@127.0.0.1:5432/blangkon_vendor".into(),
                max_connections: 10,
                migrate_on_start: true,
            },
            kafka: KafkaSettings {
                client_id: "blangkon-vendor".into(),
                ..KafkaSettings::default()
            },
            auth: AuthSettings::default(),
            telemetry: TelemetrySettings::default(),
            regencies: Vec::new(),
        }
    }
}

impl Settings {
    /// The configured extra regencies, checked.
    pub fn extra_regencies(&self) -> Result<Vec<NewRegency>, SettingsError> {
        self.regencies
            .iter()
            .enumerate()
            .map(|(i, r)| {
                NewRegency::parse(&r.code, &r.name, Some(r.kind)).map_err(|v| {
                    SettingsError::invalid(
                        format!("regencies[{i}].{}", v[0].field),
                        v[0].description.clone(),
                    )
                })
            })
            .collect()
    }
}

impl Validate for Settings {
    fn validate(&self) -> Result<(), SettingsError> {
        self.database.validate("database")?;
        self.kafka.validate("kafka")?;
        self.auth.validate("auth")?;
        self.telemetry.validate("telemetry")?;
        self.extra_regencies().map(|_| ())
    }
}
