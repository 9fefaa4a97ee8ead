//! Settings of the order service: the platform sections plus its own.

use blangkon_platform::settings::{
    AuthSettings, DatabaseSettings, GrpcSettings, KafkaSettings, SettingsError, TelemetrySettings,
    Validate,
};
use serde::{Deserialize, Serialize};

/// Default gRPC port of the order service.
pub const DEFAULT_PORT: u16 = 50053;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub grpc: GrpcSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub auth: AuthSettings,
    pub telemetry: TelemetrySettings,
    pub order: OrderSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSettings {
    /// Highest total of one order in rupiah: the direct-purchase limit.
    pub max_order_total: i64,
    pub vendor_endpoint: String,
    pub catalog_endpoint: String,
    /// Deadline of every call to the vendor and catalog services.
    pub call_timeout_ms: u64,
    /// A placing that reserved stock and has neither written its order nor
    /// given the stock back after this long was abandoned (the process
    /// stopped in between); its stock is released. Far longer than any
    /// call may take.
    pub abandoned_placing_secs: u64,
}

impl OrderSettings {
    /// How long a placing may run: three calls and its writes. A second
    /// call with the same key is refused with ABORTED for that long, then
    /// takes over from a placing that stopped (14 s by default).
    pub fn placing_lease(&self) -> std::time::Duration {
        std::time::Duration::from_millis(3 * self.call_timeout_ms)
            + std::time::Duration::from_secs(5)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc: GrpcSettings::with_port(DEFAULT_PORT),
            database: DatabaseSettings {
                url: "postgres://postgres@127.0.0.1:5432/blangkon_order".into(),
                max_connections: 10,
                migrate_on_start: true,
            },
            kafka: KafkaSettings {
                client_id: "blangkon-order".into(),
                ..KafkaSettings::default()
            },
            auth: AuthSettings::default(),
            telemetry: TelemetrySettings::default(),
            order: OrderSettings {
                max_order_total: 200_000_000,
                vendor_endpoint: "http://127.0.0.1:50051".into(),
                catalog_endpoint: "http://127.0.0.1:50052".into(),
                call_timeout_ms: 3_000,
                abandoned_placing_secs: 300,
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
        if self.order.max_order_total <= 0 {
            return Err(SettingsError::invalid(
                "order.max_order_total",
                "must be positive",
            ));
        }
        for (key, url) in [
            ("order.vendor_endpoint", &self.order.vendor_endpoint),
            ("order.catalog_endpoint", &self.order.catalog_endpoint),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(SettingsError::invalid(
                    key,
                    "must be an http:// or https:// URL",
                ));
            }
        }
        if !(100..=60_000).contains(&self.order.call_timeout_ms) {
            return Err(SettingsError::invalid(
                "order.call_timeout_ms",
                "must be 100 to 60000",
            ));
        }
        // An attempt younger than its lease may be live.
        if std::time::Duration::from_secs(self.order.abandoned_placing_secs)
            < 2 * self.order.placing_lease()
        {
            return Err(SettingsError::invalid(
                "order.abandoned_placing_secs",
                "must be at least twice the placing lease (3 call timeouts + 5 s)",
            ));
        }
        Ok(())
    }
}
