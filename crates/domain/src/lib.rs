//! Domain values that cross modules and services, each parsed once at the
//! boundary and then trusted:
//!
//! - [`VendorId`], [`ProductId`], [`OrderId`], [`ReservationId`]: UUIDs
//!   parsed once where a request brings them;
//! - [`Rupiah`]: money, with checked arithmetic and the direct-purchase
//!   limit;
//! - [`RegencyCode`]: a Kemendagri regency or city code (`33.74`);
//! - [`LegalForm`], [`Scale`], [`VendorStatus`]: what every service knows
//!   of a vendor;
//! - [`OrderStatus`]: where an order is in its lifecycle;
//! - [`ProductStatus`]: whether buyers see a product;
//! - [`category`]: the category taxonomy and its names;
//! - [`vendor_events`]: a vendor's state as its status events tell it;
//! - [`validation`]: violations, refusals and the request rules services
//!   share;
//! - [`Actor`]: who calls a use case, in which [`Role`] and bound to what.
//!
//! Each stored value maps to its database column (a sea-orm active enum or
//! value type, stored as the same text or number as before) and, where the
//! API carries it, to its protobuf enum, here and nowhere else.

/// For an enum stored as a code (its `strum` names, the same text as its
/// sea-orm values, which each enum's tests check): `parse` from the code.
macro_rules! stored_code {
    ($($code:ty),*) => {$(
        impl $code {
            /// The value whose stored code is `code`, if any.
            pub fn parse(code: &str) -> Option<Self> {
                code.parse().ok()
            }
        }
    )*};
}

pub mod actor;
pub mod category;
pub mod ids;
pub mod money;
pub mod order;
pub mod product;
pub mod regency;
pub mod validation;
pub mod vendor;
pub mod vendor_events;

pub use actor::{Actor, Denied, Role, Standing, WorkUnit};
pub use ids::{IdError, OrderId, ProductId, ReservationId, VendorId};
pub use money::Rupiah;
pub use order::OrderStatus;
pub use product::ProductStatus;
pub use regency::RegencyCode;
/// `X::VARIANTS`: every value of a domain enum, in declaration order.
pub use strum::VariantArray;
pub use vendor::{LegalForm, Scale, VendorStatus};
