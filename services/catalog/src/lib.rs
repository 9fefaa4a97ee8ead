//! The catalog service: categories, products, prices and stock, and a
//! projection of vendor status so that only verified vendors sell.
//!
//! - [`domain`]: the taxonomy, product rules, the listing state machine;
//! - [`store`]: tables, queries and migrations;
//! - [`api`]: the gRPC handlers;
//! - [`events`]: what goes to `blangkon.catalog.events.v1`, and the vendor
//!   projection fed by `blangkon.vendor.events.v1`;
//! - [`search`]: the search index each replica keeps;
//! - [`app`]: the service as the platform's skeleton runs it.

pub mod api;
pub mod app;
pub mod domain;
pub mod events;
pub mod search;
pub mod settings;
pub mod store;

pub use settings::Settings;

/// The catalog service, as the platform's skeleton runs it ([`app`]).
#[derive(Debug)]
pub struct CatalogService;
