//! The four vendor status events (`VendorVerified`, `VendorRejected`,
//! `VendorSuspended`, `VendorReinstated`) carry the same change; the
//! services that project vendors (the catalog, reporting) read it here
//! instead of matching each type.

use blangkon_proto::events::{
    EventEnvelope, VendorRegistered, VendorReinstated, VendorRejected, VendorStatusChange,
    VendorSuspended, VendorVerified,
};
use prost::Name as _;

use crate::validation::{FieldViolationExt, describe};
use crate::{LegalForm, RegencyCode, Scale, VendorId, VendorStatus};

/// A vendor's state after a registration or a status change. A legal form
/// or scale this build does not know is `None` (the vendor service may be
/// newer); an unknown status is an error, since who may sell depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorState {
    pub vendor_id: String,
    pub regency_code: String,
    pub legal_form: Option<LegalForm>,
    pub scale: Option<Scale>,
    pub status: VendorStatus,
}

impl TryFrom<VendorStatusChange> for VendorState {
    type Error = String;

    fn try_from(change: VendorStatusChange) -> Result<Self, String> {
        let status = VendorStatus::from_proto(change.status)
            .ok_or_else(|| format!("unknown vendor status {}", change.status))?;
        Self::checked(
            &change.vendor_id,
            &change.regency_code,
            change.legal_form,
            change.scale,
            status,
        )
    }
}

impl VendorState {
    /// A newly registered vendor's state; one registered without a status
    /// is pending. An error names the field that is not valid.
    pub fn registered(event: &VendorRegistered) -> Result<Self, String> {
        let status = VendorStatus::from_proto(event.status).unwrap_or(VendorStatus::Pending);
        Self::checked(
            &event.vendor_id,
            &event.regency_code,
            event.legal_form,
            event.scale,
            status,
        )
    }

    /// The state an event tells, its ids checked as the domain parses
    /// them, so that no read model stores a vendor id or regency code
    /// that is none.
    fn checked(
        vendor_id: &str,
        regency_code: &str,
        legal_form: i32,
        scale: i32,
        status: VendorStatus,
    ) -> Result<Self, String> {
        let vendor_id = VendorId::parse(vendor_id)
            .field("vendor_id")
            .map_err(|v| describe(&[v]))?;
        let regency_code = RegencyCode::parse(regency_code)
            .field("regency_code")
            .map_err(|v| describe(&[v]))?;
        Ok(Self {
            vendor_id: vendor_id.to_string(),
            regency_code: regency_code.as_str().to_string(),
            legal_form: LegalForm::from_proto(legal_form),
            scale: Scale::from_proto(scale),
            status,
        })
    }

    /// The legal form's stored code; empty when unknown.
    pub fn legal_form_code(&self) -> &'static str {
        self.legal_form.map_or("", LegalForm::as_str)
    }

    /// The scale's stored code; empty when unknown.
    pub fn scale_code(&self) -> &'static str {
        self.scale.map_or("", Scale::as_str)
    }
}

/// What a vendor projection learns from one event: the vendor's state
/// after it, and its name when the event is its registration (status
/// changes do not carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projected {
    pub state: VendorState,
    pub name: Option<String>,
}

/// What `envelope` tells a vendor projection if it is a vendor's
/// registration or status change; `None` for other events (regencies
/// joining, trainings); an error if it cannot be read or names no valid
/// vendor.
pub fn projected(envelope: &EventEnvelope) -> Option<Result<Projected, String>> {
    if let Some(change) = change_of(envelope) {
        return Some(change.map(|state| Projected { state, name: None }));
    }
    if envelope.event_type != VendorRegistered::full_name() {
        return None;
    }
    Some(
        decode::<VendorRegistered, _>(envelope, Some).and_then(|registered| {
            Ok(Projected {
                state: VendorState::registered(&registered)?,
                name: Some(registered.name.trim().to_string()),
            })
        }),
    )
}

/// The vendor's state `envelope` tells if it is a vendor status event;
/// `None` for events of other types; an error if it cannot be read.
pub fn change_of(envelope: &EventEnvelope) -> Option<Result<VendorState, String>> {
    change_in(envelope).map(|change| change.and_then(VendorState::try_from))
}

fn change_in(envelope: &EventEnvelope) -> Option<Result<VendorStatusChange, String>> {
    let t = envelope.event_type.as_str();
    let decoded = if t == VendorVerified::full_name() {
        decode::<VendorVerified, _>(envelope, |e| e.change)
    } else if t == VendorRejected::full_name() {
        decode::<VendorRejected, _>(envelope, |e| e.change)
    } else if t == VendorSuspended::full_name() {
        decode::<VendorSuspended, _>(envelope, |e| e.change)
    } else if t == VendorReinstated::full_name() {
        decode::<VendorReinstated, _>(envelope, |e| e.change)
    } else {
        return None;
    };
    Some(decoded)
}

/// The `M` in `envelope`, and what `part` takes of it.
fn decode<M: prost::Name + Default, T>(
    envelope: &EventEnvelope,
    part: fn(M) -> Option<T>,
) -> Result<T, String> {
    let payload = envelope.payload.as_ref().ok_or("event without payload")?;
    let event: M = payload.to_msg().map_err(|e| e.to_string())?;
    part(event).ok_or_else(|| "status event without its change".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use blangkon_proto::vendor as pb;

    fn envelope<M: prost::Name>(event: &M) -> EventEnvelope {
        EventEnvelope {
            event_type: M::full_name(),
            payload: Some(prost_types::Any::from_msg(event).unwrap()),
            ..Default::default()
        }
    }

    const VENDOR: &str = "01934a1e-0000-7000-8000-000000000001";

    #[test]
    fn status_events_give_the_vendors_state_and_others_none() {
        let change = VendorStatusChange {
            vendor_id: VENDOR.into(),
            regency_code: "33.74".into(),
            legal_form: pb::LegalForm::Cv as i32,
            scale: 0,
            status: pb::VendorStatus::Suspended as i32,
            ..Default::default()
        };
        let suspended = envelope(&VendorSuspended {
            change: Some(change.clone()),
        });
        let state = VendorState {
            vendor_id: VENDOR.into(),
            regency_code: "33.74".into(),
            legal_form: Some(LegalForm::Cv),
            scale: None,
            status: VendorStatus::Suspended,
        };
        assert_eq!(change_of(&suspended), Some(Ok(state.clone())));
        assert_eq!((state.legal_form_code(), state.scale_code()), ("cv", ""));
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
    fn a_projection_learns_the_name_from_the_registration_only() {
        let registered = envelope(&VendorRegistered {
            vendor_id: VENDOR.into(),
            name: "  Katering Bu Sri ".into(),
            regency_code: "33.74".into(),
            ..Default::default()
        });
        let learnt = projected_of(&registered);
        assert_eq!(learnt.name.as_deref(), Some("Katering Bu Sri"));
        assert_eq!(learnt.state.status, crate::VendorStatus::Pending);
        let suspended = envelope(&VendorSuspended {
            change: Some(VendorStatusChange {
                vendor_id: VENDOR.into(),
                regency_code: "33.74".into(),
                status: pb::VendorStatus::Suspended as i32,
                ..Default::default()
            }),
        });
        let learnt = projected_of(&suspended);
        assert_eq!(learnt.name, None);
        assert_eq!(learnt.state.status, crate::VendorStatus::Suspended);
        let nameless = envelope(&VendorRegistered {
            regency_code: "33.74".into(),
            ..Default::default()
        });
        assert!(matches!(projected(&nameless), Some(Err(e)) if e.contains("vendor_id")));
        let training = envelope(&blangkon_proto::events::TrainingRecorded::default());
        assert_eq!(projected(&training), None);
    }

    fn projected_of(envelope: &EventEnvelope) -> Projected {
        projected(envelope).unwrap().unwrap()
    }

    #[test]
    fn each_of_the_four_status_events_is_read() {
        let change = Some(VendorStatusChange {
            vendor_id: VENDOR.into(),
            regency_code: "33.74".into(),
            status: pb::VendorStatus::Verified as i32,
            ..Default::default()
        });
        for event in [
            envelope(&VendorVerified {
                change: change.clone(),
            }),
            envelope(&VendorRejected {
                change: change.clone(),
            }),
            envelope(&VendorSuspended {
                change: change.clone(),
            }),
            envelope(&VendorReinstated { change }),
        ] {
            assert!(matches!(change_of(&event), Some(Ok(_))), "{event:?}");
        }
    }

    #[test]
    fn a_registration_without_a_status_is_pending() {
        let state = VendorState::registered(&VendorRegistered {
            vendor_id: VENDOR.into(),
            regency_code: " 33.74".into(),
            scale: pb::Scale::Micro as i32,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            state,
            VendorState {
                vendor_id: VENDOR.into(),
                regency_code: "33.74".into(),
                legal_form: None,
                scale: Some(Scale::Micro),
                status: VendorStatus::Pending,
            }
        );
        assert_eq!((state.legal_form_code(), state.scale_code()), ("", "micro"));
    }

    #[test]
    fn an_event_whose_ids_are_none_is_refused_naming_the_field() {
        let registered = |vendor_id: &str, regency_code: &str| {
            VendorState::registered(&VendorRegistered {
                vendor_id: vendor_id.into(),
                regency_code: regency_code.into(),
                ..Default::default()
            })
        };
        assert_eq!(
            registered("", "33.74"),
            Err("vendor_id must be a vendor id (UUID)".into())
        );
        // 45 characters where a regency code has five.
        let long = "33.74".repeat(9);
        assert_eq!(
            registered(VENDOR, &long),
            Err("regency_code must be a regency code like 33.74".into())
        );
        let change = VendorStatusChange {
            vendor_id: VENDOR.into(),
            regency_code: "3374".into(),
            status: pb::VendorStatus::Verified as i32,
            ..Default::default()
        };
        let verified = envelope(&VendorVerified {
            change: Some(change),
        });
        assert!(matches!(change_of(&verified), Some(Err(e)) if e.starts_with("regency_code")));
    }
}
