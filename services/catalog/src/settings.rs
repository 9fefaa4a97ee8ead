//! Settings of the catalog service: the platform sections plus its own.

use blangkon_platform::settings::{
    AuthSettings, DatabaseSettings, GrpcSettings, KafkaSettings, SettingsError, TelemetrySettings,
    Validate,
};
use serde::{Deserialize, Serialize};

/// Default gRPC port of the catalog service.
pub const DEFAULT_PORT: u16 = 50052;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub grpc: GrpcSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    pub catalog: CatalogSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogSettings {
    /// Highest price per unit a product may carry, in rupiah. Default: the
    /// Rp200,000,000 direct-purchase limit.
    pub max_price: i64,
    /// How often each replica looks for product and vendor changes made
    /// elsewhere to bring its search index up to date.
    pub search_poll_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc: GrpcSettings::with_port(DEFAULT_PORT),
            database: DatabaseSettings {
                url: "postgres://postgres@127.0.0.1:5432/blangkon_catalog".into(),
                max_connections: 10,
                migrate_on_start: true,
            },
            kafka: KafkaSettings {
                client_id: "blangkon-catalog".into(),
                ..KafkaSettings::default()
            },
            auth: AuthSettings::default(),
            telemetry: TelemetrySettings::default(),
            catalog: CatalogSettings {
                max_price: 200_000_000,
                search_poll_ms: 250,
            },
        }
    }
}

impl Validate for Settings {
    fn validate(&self) -> Result<(), SettingsError> {
        self.database.validate("database")?;
        self.kafka.validate("kafka")?;
        self.auth.validate("auth")?;
        self.telemetry.validate("telemetry")?;
        if self.catalog.max_price <= 0 {
            return Err(SettingsError::invalid(
                "catalog.max_price",
                "must be positive",
            ));
        }
        Ok(())
    }
}
