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
    // An empty list vanishes from the merged defaults, so it needs its own.
    #[serde(default)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use blangkon_platform::settings::load_from;

    const SECRET: (&str, &str) = (
        "BLANGKON_VENDOR__AUTH__JWT_SECRET",
        "0123456789abcdef0123456789abcdef",
    );

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_defaults_need_only_a_secret() {
        let settings: Settings = load_from("vendor", None, env(&[SECRET])).unwrap();
        assert_eq!(settings.grpc.listen.port(), DEFAULT_PORT);
        assert!(settings.regencies.is_empty());
    }

    #[test]
    fn without_a_secret_the_service_does_not_start() {
        let err = load_from::<Settings>("vendor", None, env(&[])).unwrap_err();
        assert!(err.to_string().contains("auth.jwt_secret"), "{err}");
    }

    #[test]
    fn regencies_of_other_provinces_come_from_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vendor.toml");
        std::fs::write(
            &path,
            "[[regencies]]\ncode = \"34.71\"\nname = \"Yogyakarta\"\nkind = \"kota\"\n",
        )
        .unwrap();
        let settings: Settings = load_from("vendor", Some(&path), env(&[SECRET])).unwrap();
        let extra = settings.extra_regencies().unwrap();
        assert_eq!(extra[0].code.as_str(), "34.71");

        std::fs::write(
            &path,
            "[[regencies]]\ncode = \"3471\"\nname = \"Yogyakarta\"\nkind = \"kota\"\n",
        )
        .unwrap();
        let err = load_from::<Settings>("vendor", Some(&path), env(&[SECRET])).unwrap_err();
        assert!(err.to_string().contains("regencies[0].code"), "{err}");
    }
}
