//! The reporting service: Blangkon's figures and its open data, built only
//! from the domain event topics.
//!
//! - [`projection`]: applies vendor, catalog and order events to the read
//!   model, each once, and writes the analyst streams through the outbox;
//! - [`domain`]: what an order contributes to which figure, WIB days and
//!   periods, the analyst records, the OCDS release of an order;
//! - [`store`]: the read model's tables and the queries behind the figures;
//! - [`open_data`]: the reads (summary, breakdowns, ledger, OCDS export),
//!   no gRPC; [`error`]: what can stop them;
//! - [`api`]: the public gRPC adapter; [`http`]: the public HTTP adapter
//!   (JSON, CSV, the OpenAPI document); [`site`]: the public site (HTML
//!   pages in Indonesian and English over the same reads); [`rebuild`]: replays the topics from
//!   the start into an empty read model; [`app`]: the service as the
//!   platform's skeleton runs it.

pub mod api;
pub mod app;
pub mod domain;
pub mod error;
pub mod http;
pub mod open_data;
pub mod projection;
pub mod rebuild;
pub mod settings;
pub mod site;
pub mod store;

pub use settings::Settings;

/// The reporting service, as the platform's skeleton runs it ([`app`]).
#[derive(Debug)]
pub struct ReportingService;
