//! The order service: government work units buy from one vendor at the
//! listed price, and every step to payment is recorded.
//!
//! Use cases, each callable from gRPC and tests alike with a typed command
//! and the acting caller:
//! - [`placing`]: placing an order (the saga over the catalog and vendor
//!   services);
//! - [`fulfilment`]: accepting, shipping, receiving (BAST), paying,
//!   completing, rejecting and cancelling;
//! - [`lookups`]: reading one order or a list.
//!
//! Around them: [`policy`] (who may do what), [`error`] (what can stop a
//! use case), [`domain`] (the lifecycle table and money arithmetic),
//! [`store`] (orders, items, history, idempotency keys), [`api`] (the gRPC
//! adapter), [`peers`] (calls to vendor and catalog), [`events`] (one event
//! per step to `blangkon.order.events.v1`), [`vendors`] (the projection of
//! vendor events placing checks vendors with), [`sweeper`] (gives back stock
//! that a placing reserved and never used) and [`app`] (the service as the
//! platform's skeleton runs it).

pub mod api;
pub mod app;
pub mod domain;
pub mod error;
pub mod events;
pub mod fulfilment;
pub mod lookups;
pub mod peers;
pub mod placing;
pub mod policy;
pub mod settings;
pub mod store;
pub mod sweeper;
pub mod vendors;

use blangkon_platform::metrics::StatusCounts;
use blangkon_platform::outbox::RelayWaker;
use sea_orm::DatabaseConnection;

pub use error::OrderError;
pub use settings::Settings;

/// The order service, as the platform's skeleton runs it ([`app`]).
#[derive(Debug)]
pub struct OrderService;

/// The order service's use cases, over its database and its peers; each
/// module above adds the ones it is named for.
#[derive(Debug, Clone)]
pub struct Orders {
    db: DatabaseConnection,
    /// Woken after each commit that wrote an event.
    relay: RelayWaker,
    /// The catalog, to give stock back when an order ends unfulfilled.
    peers: peers::Peers,
    placer: placing::Placer,
    /// Orders by the status they reached.
    counts: StatusCounts,
}

impl Orders {
    /// The use cases over `db`, placing orders with `placer`; steps call
    /// `peers` to give stock back and wake `relay` after each commit.
    pub fn new(
        db: DatabaseConnection,
        relay: RelayWaker,
        peers: peers::Peers,
        placer: placing::Placer,
    ) -> Self {
        Self {
            db,
            relay,
            peers,
            placer,
            counts: StatusCounts::default(),
        }
    }

    /// Counts the steps it commits into `counts`.
    pub fn counting(mut self, counts: StatusCounts) -> Self {
        self.counts = counts;
        self
    }

    /// Places `request` for the buyer `actor` is ([`placing`]).
    pub async fn place_order(
        &self,
        actor: &blangkon_domain::Actor,
        request: &placing::PlaceOrder,
    ) -> error::Result<placing::OrderRecord> {
        self.placer.place(actor, request).await
    }
}
