//! Ids of the things that cross services — vendors, products, orders,
//! stock reservations — as UUIDs parsed once where a request brings them,
//! so that nothing further in is handed an id that is not one. Stored and
//! carried as their usual hyphenated text.

use std::fmt;
use std::str::FromStr;

use sea_orm::DeriveValueType;
use uuid::Uuid;

/// Why a text names no id of a kind: "must be a vendor id (UUID)".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be {0} id (UUID)")]
pub struct IdError(&'static str);

macro_rules! id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, DeriveValueType)]
        #[sea_orm(value_type = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// The id `text` names; blanks around it are ignored.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                Uuid::parse_str(text.trim())
                    .map(Self)
                    .map_err(|_| IdError($kind))
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(text: &str) -> Result<Self, IdError> {
                Self::parse(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id!(
    /// A vendor's id.
    VendorId,
    "a vendor"
);
id!(
    /// A product's id.
    ProductId,
    "a product"
);
id!(
    /// An order's id.
    OrderId,
    "an order"
);
id!(
    /// A stock reservation's id (an order's, derived from its idempotency
    /// key, or a caller's own).
    ReservationId,
    "a reservation"
);

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "01934a1e-0000-7000-8000-000000000001";

    #[test]
    fn an_id_reads_back_as_the_text_it_was_read_from() {
        let id = VendorId::parse(TEXT).unwrap();
        assert_eq!(id.to_string(), TEXT);
        assert_eq!(format!(" {TEXT} ").parse::<VendorId>(), Ok(id));
        assert_eq!(
            ProductId::parse("01934A1E-0000-7000-8000-000000000001")
                .unwrap()
                .to_string(),
            TEXT,
            "written as the hyphenated lower-case form"
        );
    }

    #[test]
    fn a_text_that_is_no_uuid_names_the_kind_of_id_wanted() {
        assert_eq!(
            OrderId::parse("order-1").unwrap_err().to_string(),
            "must be an order id (UUID)"
        );
        assert_eq!(
            VendorId::parse("").unwrap_err().to_string(),
            "must be a vendor id (UUID)"
        );
        assert!(ReservationId::parse("123").is_err());
    }
}
