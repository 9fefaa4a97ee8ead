//! Settings of the catalog service: the platform sections plus its own.

use std::path::PathBuf;

use blangkon_domain::Rupiah;
use blangkon_platform::service::Section;
use blangkon_platform::settings::{SettingsError, require_positive};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The catalog service's settings (`BLANGKON_CATALOG__…`).
pub type Settings = blangkon_platform::service::Settings<crate::CatalogService>;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogSettings {
    /// Highest price per unit a product may carry. Default: the
    /// Rp200,000,000 direct-purchase limit.
    pub max_price: Rupiah,
    /// How often each replica looks for product and vendor changes made
    /// elsewhere to bring its search index up to date.
    pub search_poll_ms: u64,
    /// The directory this replica keeps its search index in (memory-mapped
    /// files, about 60 bytes per product). It is emptied at start, since
    /// the index is rebuilt from the catalog tables, and it must be this
    /// replica's own. Unset: a new temporary directory, removed at exit.
    pub search_index_dir: Option<PathBuf>,
    /// Searches run at once, each on a thread of its own off the async
    /// runtime; 0: one per core.
    pub search_threads: usize,
}

impl Section for CatalogSettings {
    const KEY: &'static str = "catalog";

    fn validate(&self, key: &str) -> Result<(), SettingsError> {
        require_positive(key, "max_price", self.max_price.get())
    }
}

impl Default for CatalogSettings {
    fn default() -> Self {
        Self {
            max_price: Rupiah::DIRECT_PURCHASE_LIMIT,
            search_poll_ms: 250,
            search_index_dir: None,
            search_threads: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blangkon_platform::settings::load_from;

    #[test]
    fn a_price_ceiling_below_one_rupiah_is_named() {
        let err = load_from::<Settings>(
            "catalog",
            None,
            [
                (
                    "BLANGKON_CATALOG__AUTH__ISSUER".to_string(),
                    "https://sso.jatengprov.go.id/realms/jateng".to_string(),
                ),
                ("BLANGKON_CATALOG__CATALOG__MAX_PRICE".into(), "0".into()),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("catalog.max_price"), "{err}");
    }
}
