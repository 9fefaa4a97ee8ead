//! The catalog service: categories, products, prices and stock, and a
//! projection of vendor status so that only verified vendors sell.
//!
//! Use cases, each callable from gRPC and tests alike with a typed command
//! and the acting caller:
//! - [`products`]: a vendor creates, edits, lists and unlists products;
//! - [`browsing`]: the taxonomy and search;
//! - [`stock`]: price quotes, and the stock the order service holds.
//!
//! Around them: [`policy`] (who may do what), [`error`] (what can stop a
//! use case), [`domain`] (the taxonomy, product rules, the listing state
//! machine), [`store`] (tables, queries, migrations), [`api`] (the gRPC
//! adapter), [`http`] (the public storefront's HTTP adapter), [`events`] (what goes to `blangkon.catalog.events.v1`, and the
//! vendor projection fed by `blangkon.vendor.events.v1`), [`search`] (the
//! index each replica keeps) and [`app`] (the service as the platform's
//! skeleton runs it).

pub mod api;
pub mod app;
pub mod browsing;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod policy;
pub mod products;
pub mod search;
pub mod settings;
pub mod stock;
pub mod store;

use std::sync::Arc;

use blangkon_domain::Rupiah;
use blangkon_platform::outbox::RelayWaker;
use sea_orm::DatabaseConnection;

pub use error::CatalogError;
pub use settings::Settings;

/// The catalog service, as the platform's skeleton runs it ([`app`]).
#[derive(Debug)]
pub struct CatalogService;

/// The catalog's use cases, over its database and this replica's search
/// index; each module above adds the ones it is named for.
#[derive(Debug, Clone)]
pub struct Catalog {
    db: DatabaseConnection,
    /// Woken after each commit that wrote an event.
    relay: RelayWaker,
    search: Arc<search::Search>,
    /// Highest price per unit a product may carry, in rupiah.
    max_price: Rupiah,
}

impl Catalog {
    pub fn new(
        db: DatabaseConnection,
        relay: RelayWaker,
        search: Arc<search::Search>,
        max_price: Rupiah,
    ) -> Self {
        Self {
            db,
            relay,
            search,
            max_price,
        }
    }

    /// After a commit: publish its events and refresh search now.
    fn committed(&self) {
        self.relay.wake();
        self.search.wake();
    }
}
