//! Settings of the reporting service: the platform sections plus its own.

use blangkon_platform::service::Section;
use blangkon_platform::settings::{SettingsError, is_http_url, require};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::red_flags::Thresholds;

/// The reporting service's settings (`BLANGKON_REPORTING__…`).
pub type Settings = blangkon_platform::service::Settings<crate::ReportingService>;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
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
    /// OCDS: most bytes of one release package's JSON; releases past it
    /// go to the next page (one always goes). Below the 4 MiB a gRPC
    /// client reads by default.
    pub ocds_package_max_bytes: usize,
    /// The auditors' red flags: thresholds and windows (defaults and their
    /// sources in docs/red-flags.md). Changing one recomputes every flag
    /// at the next start.
    #[serde(default)]
    pub red_flags: Thresholds,
}

impl Default for ReportingSettings {
    fn default() -> Self {
        Self {
            ocid_prefix: "ocds-bkjtg1".into(),
            publisher_name: "Pemerintah Provinsi Jawa Tengah (Blangkon)".into(),
            package_uri_base: "https://blangkon.jatengprov.go.id/ocds".into(),
            ocds_package_max_bytes: 3 * 1024 * 1024,
            red_flags: Thresholds::default(),
        }
    }
}

impl Section for ReportingSettings {
    const KEY: &'static str = "reporting";

    fn validate(&self, key: &str) -> Result<(), SettingsError> {
        let prefix = &self.ocid_prefix;
        require(
            prefix.len() == 11
                && prefix.starts_with("ocds-")
                && prefix[5..].chars().all(|c| c.is_ascii_alphanumeric()),
            key,
            "ocid_prefix",
            "must be `ocds-` and six letters or digits",
        )?;
        require(
            !self.publisher_name.trim().is_empty(),
            key,
            "publisher_name",
            "must not be empty",
        )?;
        require(
            is_http_url(&self.package_uri_base),
            key,
            "package_uri_base",
            "must be an http:// or https:// URL",
        )?;
        require(
            (1024..=64 * 1024 * 1024).contains(&self.ocds_package_max_bytes),
            key,
            "ocds_package_max_bytes",
            "must be 1 KiB to 64 MiB",
        )?;
        match self.red_flags.check() {
            Ok(()) => Ok(()),
            Err((field, rule)) => require(false, key, &format!("red_flags.{field}"), rule),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blangkon_platform::settings::Validate;

    #[test]
    fn defaults_are_valid_and_a_bad_prefix_is_named() {
        let mut settings = Settings::default();
        settings.platform.auth.issuer = "https://sso.jatengprov.go.id/realms/jateng".into();
        assert!(settings.validate().is_ok());
        settings.service.ocid_prefix = "ocds-x".into();
        let err = settings.validate().err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("reporting.ocid_prefix")));
    }

    #[test]
    fn a_red_flag_threshold_out_of_range_is_named() {
        let mut settings = Settings::default();
        settings.platform.auth.issuer = "https://sso.jatengprov.go.id/realms/jateng".into();
        settings.service.red_flags.just_under_percent = 0;
        let err = settings.validate().err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("reporting.red_flags.just_under_percent")),
            "{err:?}"
        );
    }
}
