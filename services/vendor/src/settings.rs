//! Settings of the vendor service: the platform sections plus the regencies
//! added by configuration.

use blangkon_platform::service::Section;
use blangkon_platform::settings::SettingsError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::regency::{NewRegency, RegencyKind};

/// The vendor service's settings (`BLANGKON_VENDOR__…`).
pub type Settings = blangkon_platform::service::Settings<crate::VendorService>;

/// Regencies beyond the seeded 35 of Central Java (another province, a new
/// code): added at start if missing. Set them in the config file:
/// `[[regencies]]` with `code`, `name`, `kind`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Regencies(pub Vec<RegencySetting>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegencySetting {
    pub code: String,
    pub name: String,
    pub kind: RegencyKind,
}

impl Regencies {
    /// The configured regencies, checked; an error names the entry's key
    /// (`regencies[0].code`).
    pub fn parse(&self) -> Result<Vec<NewRegency>, SettingsError> {
        self.0
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

impl Section for Regencies {
    const KEY: &'static str = "regencies";

    fn validate(&self, _key: &str) -> Result<(), SettingsError> {
        self.parse().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VendorService;
    use blangkon_platform::service::Service;
    use blangkon_platform::settings::load_from;

    const ISSUER: (&str, &str) = (
        "BLANGKON_VENDOR__AUTH__ISSUER",
        "https://sso.jatengprov.go.id/realms/jateng",
    );
    const CLIENT_SECRET: (&str, &str) = ("BLANGKON_VENDOR__AUTH__CLIENT__SECRET", "cl13nt-s3cret");

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_defaults_need_only_an_issuer() {
        let settings: Settings = load_from("vendor", None, env(&[ISSUER])).unwrap();
        assert_eq!(
            settings.platform.grpc.listen.port(),
            VendorService::ABOUT.default_port
        );
        assert!(settings.service.0.is_empty());
        assert_eq!(settings.platform.auth.audience, "urn:blangkon:vendor");
        assert_eq!(
            settings.platform.database.url.expose(),
            "postgres://postgres@127.0.0.1:5432/blangkon_vendor"
        );
    }

    #[test]
    fn without_an_issuer_the_service_does_not_start() {
        let err = load_from::<Settings>("vendor", None, env(&[])).unwrap_err();
        assert!(err.to_string().contains("auth.issuer"), "{err}");
    }

    #[test]
    fn the_secrets_never_show_in_debug_output() {
        let settings: Settings = load_from(
            "vendor",
            None,
            env(&[
                ISSUER,
                ("BLANGKON_VENDOR__AUTH__CLIENT__ID", "vendor-service"),
                CLIENT_SECRET,
                (
                    "BLANGKON_VENDOR__DATABASE__URL",
                    "postgres://vendor:hunter2-password@db/vendor",
                ),
            ]),
        )
        .unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains(CLIENT_SECRET.1), "{shown}");
        assert!(!shown.contains("hunter2-password"), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
    }

    #[test]
    fn an_unknown_section_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vendor.toml");
        std::fs::write(&path, "[catalog]\nmax_price = 1\n").unwrap();
        let err = load_from::<Settings>("vendor", Some(&path), env(&[ISSUER])).unwrap_err();
        assert!(
            err.to_string().contains("unknown section `catalog`"),
            "{err}"
        );
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
        let settings: Settings = load_from("vendor", Some(&path), env(&[ISSUER])).unwrap();
        let extra = settings.service.parse().unwrap();
        assert_eq!(extra[0].code.as_str(), "34.71");

        std::fs::write(
            &path,
            "[[regencies]]\ncode = \"3471\"\nname = \"Yogyakarta\"\nkind = \"kota\"\n",
        )
        .unwrap();
        let err = load_from::<Settings>("vendor", Some(&path), env(&[ISSUER])).unwrap_err();
        assert!(err.to_string().contains("regencies[0].code"), "{err}");
    }
}
