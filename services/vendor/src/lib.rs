//! The vendor service: regencies join Blangkon, and onboard and verify their
//! local businesses (UMKM) here.
//!
//! - [`domain`]: identifiers, registrations, the verification state machine;
//! - [`store`]: tables, queries and migrations;
//! - [`api`]: the gRPC handlers;
//! - [`events`]: what goes to `blangkon.vendor.events.v1`;
//! - [`app`]: the service as the platform's skeleton runs it.

pub mod api;
pub mod app;
pub mod domain;
pub mod events;
pub mod settings;
pub mod store;

pub use settings::Settings;

/// The vendor service, as the platform's skeleton runs it ([`app`]).
#[derive(Debug)]
pub struct VendorService;
