//! Blangkon's contracts: the gRPC APIs and the Kafka event payloads, generated
//! from `proto/blangkon/**`. Modules mirror the protobuf package tree.

/// Encoded `FileDescriptorSet` of every Blangkon proto, for server reflection
/// and for tools that decode events without the `.proto` files.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/blangkon_descriptor.bin"));

pub mod blangkon {
    pub mod vendor {
        pub mod v1 {
            tonic::include_proto!("blangkon.vendor.v1");
        }
    }
    pub mod catalog {
        pub mod v1 {
            tonic::include_proto!("blangkon.catalog.v1");
        }
    }
    pub mod order {
        pub mod v1 {
            tonic::include_proto!("blangkon.order.v1");
        }
    }
    pub mod reporting {
        pub mod v1 {
            tonic::include_proto!("blangkon.reporting.v1");
        }
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("blangkon.events.v1");
        }
    }
}

pub use blangkon::catalog::v1 as catalog;
pub use blangkon::events::v1 as events;
pub use blangkon::order::v1 as order;
pub use blangkon::reporting::v1 as reporting;
pub use blangkon::vendor::v1 as vendor;

/// The short lowercase codes read models and reports use for the vendor
/// enums: `LEGAL_FORM_PT` → `pt`, `SCALE_MICRO` → `micro`. `None` for
/// unspecified or unknown values.
pub mod codes {
    use crate::vendor::{LegalForm, Scale, VendorStatus};

    fn code(name: &str, prefix: &str) -> Option<String> {
        let short = name.strip_prefix(prefix)?;
        (short != "UNSPECIFIED").then(|| short.to_ascii_lowercase())
    }

    pub fn legal_form(value: i32) -> Option<String> {
        code(
            LegalForm::try_from(value).ok()?.as_str_name(),
            "LEGAL_FORM_",
        )
    }

    pub fn scale(value: i32) -> Option<String> {
        code(Scale::try_from(value).ok()?.as_str_name(), "SCALE_")
    }

    pub fn vendor_status(value: i32) -> Option<String> {
        code(
            VendorStatus::try_from(value).ok()?.as_str_name(),
            "VENDOR_STATUS_",
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn codes_are_short_and_unspecified_is_none() {
            assert_eq!(legal_form(LegalForm::Pt as i32).as_deref(), Some("pt"));
            assert_eq!(
                legal_form(LegalForm::Individual as i32).as_deref(),
                Some("individual")
            );
            assert_eq!(scale(Scale::Micro as i32).as_deref(), Some("micro"));
            assert_eq!(
                vendor_status(VendorStatus::Suspended as i32).as_deref(),
                Some("suspended")
            );
            assert_eq!(legal_form(0), None);
            assert_eq!(scale(99), None);
        }
    }
}
