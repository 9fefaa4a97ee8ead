//! Entry points for the fuzz targets (`fuzz/`): every request the vendor
//! service reads, decoded from arbitrary bytes and checked as its API
//! checks it, before any database; and the identifiers a vendor registers
//! with. Not an API: hidden from the docs, and its only promise is to
//! never panic.

use prost::Message as _;

use super::*;
use crate::domain::identifiers::{Nib, Nik, Npwp};

/// The first byte picks the request type, the rest is its encoding.
pub fn requests(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 7 {
        0 => {
            if let Ok(req) = pb::RegisterVendorRequest::decode(bytes) {
                let _ = Registration::parse(convert::registration_input(req));
            }
        }
        1 => {
            if let Ok(req) = pb::AddRegencyRequest::decode(bytes) {
                let kind = convert::regency_kind_from_proto(req.kind);
                let _ = NewRegency::parse(&req.code, &req.name, kind);
            }
            if let Ok(req) = pb::JoinRegencyRequest::decode(bytes) {
                let _ = RegencyCode::parse(&req.code);
            }
        }
        2 => {
            if let Ok(req) = pb::ListRegenciesRequest::decode(bytes) {
                let _ = RegencyListing::parse(&req.province_code, req.joined_only);
            }
        }
        3 => {
            if let Ok(req) = pb::RecordTrainingRequest::decode(bytes) {
                let _ = vendor_id(&req.vendor_id);
                let input = TrainingInput {
                    topic: req.topic,
                    kind: convert::training_kind_from_proto(req.kind),
                    attended_on: req.attended_on,
                    organizer: req.organizer,
                };
                let _ = TrainingRecord::parse(input, time::now().date_naive());
            }
        }
        4 => {
            if let Ok(req) = pb::ListVendorsRequest::decode(bytes) {
                let _ = vendor_listing(&req);
            }
            if let Ok(req) = pb::GetVendorRequest::decode(bytes) {
                let _ = vendor_id(&req.vendor_id);
                let _ = pb::VendorView::try_from(req.view);
            }
        }
        5 => {
            if let Ok(req) = pb::RejectVendorRequest::decode(bytes) {
                let _ = vendor_id(&req.vendor_id);
                for decision in [Decision::Reject, Decision::Suspend] {
                    let _ = decision_reason(decision, "reason", &req.reason);
                }
            }
        }
        _ => {
            if let Ok(req) = pb::VerifyVendorRequest::decode(bytes) {
                let _ = vendor_id(&req.vendor_id);
                for decision in [Decision::Verify, Decision::Reinstate] {
                    let _ = decision_reason(decision, "note", &req.note);
                }
            }
        }
    }
}

/// NIK, NIB and NPWP as a registration brings them, from any text.
pub fn identifiers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(nik) = Nik::parse(&text) {
        // A NIK that parses names a regency and a sex, and reads back as
        // its sixteen digits.
        assert_eq!(nik.as_str().len(), 16);
        let _ = (nik.regency_code(), nik.sex());
    }
    if let Ok(nib) = Nib::parse(&text) {
        assert_eq!(nib.as_str().len(), 13);
    }
    if let Ok(npwp) = Npwp::parse(&text) {
        assert!(matches!(npwp.as_str().len(), 15 | 16));
    }
}
