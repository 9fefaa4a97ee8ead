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

/// The four vendor status events (`VendorVerified`, `VendorRejected`,
/// `VendorSuspended`, `VendorReinstated`) carry the same change; consumers
/// that treat them alike read it here instead of matching each type.
pub mod vendor_status {
    use prost::Name as _;

    use crate::events::{
        EventEnvelope, VendorRegistered, VendorReinstated, VendorRejected, VendorStatusChange,
        VendorSuspended, VendorVerified,
    };

    /// A vendor's state after a status change, in the short codes the
    /// services store (see [`crate::codes`]). A legal form or scale the
    /// consumer does not know is empty; an unknown status is an error.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct VendorState {
        pub vendor_id: String,
        pub regency_code: String,
        pub legal_form: String,
        pub scale: String,
        pub status: String,
    }

    impl TryFrom<VendorStatusChange> for VendorState {
        type Error = String;

        fn try_from(change: VendorStatusChange) -> Result<Self, String> {
            let status = crate::codes::vendor_status(change.status)
                .ok_or_else(|| format!("unknown vendor status {}", change.status))?;
            Ok(Self {
                vendor_id: change.vendor_id,
                regency_code: change.regency_code,
                legal_form: crate::codes::legal_form(change.legal_form).unwrap_or_default(),
                scale: crate::codes::scale(change.scale).unwrap_or_default(),
                status,
            })
        }
    }

    impl VendorState {
        /// A newly registered vendor's state; one registered without a
        /// status is pending.
        pub fn registered(event: &VendorRegistered) -> Self {
            Self {
                vendor_id: event.vendor_id.clone(),
                regency_code: event.regency_code.clone(),
                legal_form: crate::codes::legal_form(event.legal_form).unwrap_or_default(),
                scale: crate::codes::scale(event.scale).unwrap_or_default(),
                status: crate::codes::vendor_status(event.status)
                    .unwrap_or_else(|| "pending".into()),
            }
        }
    }

    /// The vendor's state `envelope` tells if it is a vendor status event;
    /// `None` for events of other types; an error if it cannot be read.
    pub fn change_of(envelope: &EventEnvelope) -> Option<Result<VendorState, String>> {
        change_in(envelope).map(|change| change.and_then(VendorState::try_from))
    }

    fn change_in(envelope: &EventEnvelope) -> Option<Result<VendorStatusChange, String>> {
        let t = envelope.event_type.as_str();
        let decoded = if t == VendorVerified::full_name() {
            decode::<VendorVerified>(envelope, |e| e.change)
        } else if t == VendorRejected::full_name() {
            decode::<VendorRejected>(envelope, |e| e.change)
        } else if t == VendorSuspended::full_name() {
            decode::<VendorSuspended>(envelope, |e| e.change)
        } else if t == VendorReinstated::full_name() {
            decode::<VendorReinstated>(envelope, |e| e.change)
        } else {
            return None;
        };
        Some(decoded)
    }

    fn decode<M: prost::Name + Default>(
        envelope: &EventEnvelope,
        change: fn(M) -> Option<VendorStatusChange>,
    ) -> Result<VendorStatusChange, String> {
        let payload = envelope.payload.as_ref().ok_or("event without payload")?;
        let event: M = payload.to_msg().map_err(|e| e.to_string())?;
        change(event).ok_or_else(|| "status event without its change".to_string())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn envelope<M: prost::Name>(event: &M) -> EventEnvelope {
            EventEnvelope {
                event_type: M::full_name(),
                payload: Some(prost_types::Any::from_msg(event).unwrap()),
                ..Default::default()
            }
        }

        #[test]
        fn status_events_give_the_vendors_state_and_others_none() {
            let change = VendorStatusChange {
                vendor_id: "v".into(),
                regency_code: "33.74".into(),
                legal_form: crate::vendor::LegalForm::Cv as i32,
                scale: 0,
                status: crate::vendor::VendorStatus::Suspended as i32,
                ..Default::default()
            };
            let suspended = envelope(&VendorSuspended {
                change: Some(change.clone()),
            });
            assert_eq!(
                change_of(&suspended),
                Some(Ok(VendorState {
                    vendor_id: "v".into(),
                    regency_code: "33.74".into(),
                    legal_form: "cv".into(),
                    scale: String::new(),
                    status: "suspended".into(),
                }))
            );
            let unknown = envelope(&VendorVerified {
                change: Some(VendorStatusChange {
                    status: 99,
                    ..change
                }),
            });
            assert_eq!(
                change_of(&unknown),
                Some(Err("unknown vendor status 99".to_string()))
            );
            let empty = envelope(&VendorVerified { change: None });
            assert!(matches!(change_of(&empty), Some(Err(_))));
            let registered = envelope(&VendorRegistered::default());
            assert_eq!(change_of(&registered), None);
        }

        #[test]
        fn a_registration_without_a_status_is_pending() {
            let state = VendorState::registered(&VendorRegistered {
                vendor_id: "v".into(),
                regency_code: "33.74".into(),
                scale: crate::vendor::Scale::Micro as i32,
                ..Default::default()
            });
            assert_eq!(
                state,
                VendorState {
                    vendor_id: "v".into(),
                    regency_code: "33.74".into(),
                    legal_form: String::new(),
                    scale: "micro".into(),
                    status: "pending".into(),
                }
            );
        }
    }
}
