//! Settings of the order service: the platform sections plus its own.

use std::time::Duration;

use blangkon_domain::Rupiah;
use blangkon_platform::service::Section;
use blangkon_platform::settings::{SettingsError, is_http_url, require, require_positive};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The order service's settings (`BLANGKON_ORDER__…`).
pub type Settings = blangkon_platform::service::Settings<crate::OrderService>;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderSettings {
    /// Highest total of one order: the direct-purchase limit by default.
    pub max_order_total: Rupiah,
    /// The vendor service's gRPC endpoint, `http://host:port`, or
    /// `https://host:port` when it serves TLS.
    pub vendor_endpoint: String,
    /// The catalog service's gRPC endpoint, as `vendor_endpoint`.
    pub catalog_endpoint: String,
    /// How this service reaches `https://` peers: the CA their
    /// certificates chain to, and its own certificate when they ask for
    /// one (mutual TLS). Must stay empty for `http://` peers.
    #[serde(default)]
    pub peer_tls: blangkon_platform::tls::ClientTls,
    /// The vendor service's audience: what this service's tokens for it
    /// name (its `auth.audience`).
    pub vendor_audience: String,
    /// The catalog service's audience.
    pub catalog_audience: String,
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
    pub fn placing_lease(&self) -> Duration {
        Duration::from_millis(3 * self.call_timeout_ms) + Duration::from_secs(5)
    }
}

impl Default for OrderSettings {
    fn default() -> Self {
        Self {
            max_order_total: Rupiah::DIRECT_PURCHASE_LIMIT,
            vendor_endpoint: "http://127.0.0.1:50051".into(),
            catalog_endpoint: "http://127.0.0.1:50052".into(),
            peer_tls: Default::default(),
            vendor_audience: blangkon_platform::auth::audience_of("vendor"),
            catalog_audience: blangkon_platform::auth::audience_of("catalog"),
            call_timeout_ms: 3_000,
            abandoned_placing_secs: 300,
        }
    }
}

impl Section for OrderSettings {
    const KEY: &'static str = "order";

    fn validate(&self, key: &str) -> Result<(), SettingsError> {
        require_positive(key, "max_order_total", self.max_order_total.get())?;
        for (field, url) in [
            ("vendor_endpoint", &self.vendor_endpoint),
            ("catalog_endpoint", &self.catalog_endpoint),
        ] {
            require(
                is_http_url(url),
                key,
                field,
                "must be an http:// or https:// URL",
            )?;
        }
        self.peer_tls.validate(&format!("{key}.peer_tls"))?;
        require(
            (100..=60_000).contains(&self.call_timeout_ms),
            key,
            "call_timeout_ms",
            "must be 100 to 60000",
        )?;
        // An attempt younger than its lease may be live.
        require(
            Duration::from_secs(self.abandoned_placing_secs) >= 2 * self.placing_lease(),
            key,
            "abandoned_placing_secs",
            "must be at least twice the placing lease (3 call timeouts + 5 s)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert!(OrderSettings::default().validate("order").is_ok());
    }

    type Spoil = fn(&mut OrderSettings);

    #[test]
    fn each_bad_value_is_named() {
        let bad: [(&str, Spoil); 4] = [
            ("order.max_order_total", |s| {
                s.max_order_total = Rupiah::ZERO
            }),
            ("order.catalog_endpoint", |s| {
                s.catalog_endpoint = "127.0.0.1:50052".into()
            }),
            ("order.call_timeout_ms", |s| s.call_timeout_ms = 99),
            ("order.abandoned_placing_secs", |s| {
                s.abandoned_placing_secs = 27
            }),
        ];
        for (key, spoil) in bad {
            let mut settings = OrderSettings::default();
            spoil(&mut settings);
            let err = settings.validate("order").unwrap_err();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
    }
}
