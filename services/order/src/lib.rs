//! The order service: government work units buy from one vendor at the
//! listed price, and every step to payment is recorded.
//!
//! - [`domain`]: the lifecycle table and money arithmetic;
//! - [`store`]: orders, items, history, idempotency keys;
//! - [`placing`]: placing an order (the saga over the catalog and vendor
//!   services), without gRPC;
//! - [`api`]: the gRPC handlers; [`peers`]: calls to vendor and catalog;
//! - [`events`]: one event per transition to `blangkon.order.events.v1`;
//! - [`sweeper`]: gives back stock that a placing reserved and never used;
//! - [`app`]: the service as the platform's skeleton runs it.

pub mod api;
pub mod app;
pub mod domain;
pub mod events;
pub mod peers;
pub mod placing;
pub mod settings;
pub mod store;
pub mod sweeper;

pub use settings::Settings;

/// The order service, as the platform's skeleton runs it ([`app`]).
#[derive(Debug)]
pub struct OrderService;
