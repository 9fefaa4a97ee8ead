//! The vendor service: regencies join Blangkon, and onboard and verify their
//! local businesses (UMKM) here.
//!
//! Use cases, each callable from gRPC and tests alike with a typed command
//! and the acting caller:
//! - [`regencies`]: the province adds regencies and lets them join;
//! - [`onboarding`]: registering a vendor;
//! - [`verification`]: verifying, rejecting, suspending, reinstating, and
//!   recording trainings;
//! - [`lookups`]: reading one vendor or a list.
//!
//! Around them: [`policy`] (who may do what), [`error`] (what can stop a use
//! case), [`domain`] (identifiers, registrations, the verification state
//! machine), [`store`] (tables, queries, migrations), [`api`] (the gRPC
//! adapter), [`events`] (what goes to `blangkon.vendor.events.v1`) and
//! [`app`] (the service as the platform's skeleton runs it).

pub mod api;
pub mod app;
pub mod domain;
pub mod error;
pub mod events;
pub mod lookups;
pub mod onboarding;
pub mod policy;
pub mod regencies;
pub mod settings;
pub mod store;
pub mod verification;

use blangkon_platform::metrics::StatusCounts;
use blangkon_platform::outbox::RelayWaker;
use sea_orm::DatabaseConnection;

pub use error::VendorError;
pub use settings::Settings;

/// The vendor service, as the platform's skeleton runs it ([`app`]).
#[derive(Debug)]
pub struct VendorService;

/// The vendor service's use cases, over its database; each module above
/// adds the ones it is named for.
#[derive(Debug, Clone)]
pub struct Vendors {
    db: DatabaseConnection,
    /// Woken after each commit that wrote an event.
    relay: RelayWaker,
    /// Vendors by the status they reached.
    counts: StatusCounts,
}

impl Vendors {
    pub fn new(db: DatabaseConnection, relay: RelayWaker) -> Self {
        Self {
            db,
            relay,
            counts: StatusCounts::default(),
        }
    }

    /// Counts registrations and status changes into `counts`.
    pub fn counting(mut self, counts: StatusCounts) -> Self {
        self.counts = counts;
        self
    }
}
