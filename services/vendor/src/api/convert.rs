//! Conversions between the protobuf contract and the domain and store types.

use blangkon_platform::time::to_timestamp;
use blangkon_proto::vendor as pb;

use crate::domain::regency::RegencyKind;
use crate::domain::vendor::{LegalForm, Scale, TrainingKind, VendorStatus};
use crate::store::{VendorCounts, regency, status_history, training, vendor};

pub fn legal_form_from_proto(value: i32) -> Option<LegalForm> {
    match pb::LegalForm::try_from(value).ok()? {
        pb::LegalForm::Unspecified => None,
        pb::LegalForm::Individual => Some(LegalForm::Individual),
        pb::LegalForm::Pt => Some(LegalForm::Pt),
        pb::LegalForm::Cv => Some(LegalForm::Cv),
        pb::LegalForm::Koperasi => Some(LegalForm::Koperasi),
        pb::LegalForm::Ud => Some(LegalForm::Ud),
        pb::LegalForm::Firma => Some(LegalForm::Firma),
    }
}

pub fn legal_form_to_proto(value: LegalForm) -> pb::LegalForm {
    match value {
        LegalForm::Individual => pb::LegalForm::Individual,
        LegalForm::Pt => pb::LegalForm::Pt,
        LegalForm::Cv => pb::LegalForm::Cv,
        LegalForm::Koperasi => pb::LegalForm::Koperasi,
        LegalForm::Ud => pb::LegalForm::Ud,
        LegalForm::Firma => pb::LegalForm::Firma,
    }
}

pub fn scale_from_proto(value: i32) -> Option<Scale> {
    match pb::Scale::try_from(value).ok()? {
        pb::Scale::Unspecified => None,
        pb::Scale::Micro => Some(Scale::Micro),
        pb::Scale::Small => Some(Scale::Small),
        pb::Scale::Medium => Some(Scale::Medium),
    }
}

pub fn scale_to_proto(value: Scale) -> pb::Scale {
    match value {
        Scale::Micro => pb::Scale::Micro,
        Scale::Small => pb::Scale::Small,
        Scale::Medium => pb::Scale::Medium,
    }
}

pub fn status_from_proto(value: i32) -> Option<VendorStatus> {
    match pb::VendorStatus::try_from(value).ok()? {
        pb::VendorStatus::Unspecified => None,
        pb::VendorStatus::Pending => Some(VendorStatus::Pending),
        pb::VendorStatus::Verified => Some(VendorStatus::Verified),
        pb::VendorStatus::Rejected => Some(VendorStatus::Rejected),
        pb::VendorStatus::Suspended => Some(VendorStatus::Suspended),
    }
}

pub fn status_to_proto(value: VendorStatus) -> pb::VendorStatus {
    match value {
        VendorStatus::Pending => pb::VendorStatus::Pending,
        VendorStatus::Verified => pb::VendorStatus::Verified,
        VendorStatus::Rejected => pb::VendorStatus::Rejected,
        VendorStatus::Suspended => pb::VendorStatus::Suspended,
    }
}

pub fn training_kind_from_proto(value: i32) -> Option<TrainingKind> {
    match pb::TrainingKind::try_from(value).ok()? {
        pb::TrainingKind::Unspecified => None,
        pb::TrainingKind::Training => Some(TrainingKind::Training),
        pb::TrainingKind::Mentoring => Some(TrainingKind::Mentoring),
    }
}

pub fn regency_kind_from_proto(value: i32) -> Option<RegencyKind> {
    match pb::RegencyKind::try_from(value).ok()? {
        pb::RegencyKind::Unspecified => None,
        pb::RegencyKind::Kabupaten => Some(RegencyKind::Kabupaten),
        pb::RegencyKind::Kota => Some(RegencyKind::Kota),
    }
}

// Stored names back to protobuf. Stored values are written only by this
// service from the domain enums, so an unknown name means UNSPECIFIED.

pub fn legal_form_of(stored: &str) -> pb::LegalForm {
    LegalForm::parse(stored).map_or(pb::LegalForm::Unspecified, legal_form_to_proto)
}

pub fn scale_of(stored: &str) -> pb::Scale {
    Scale::parse(stored).map_or(pb::Scale::Unspecified, scale_to_proto)
}

pub fn status_of(stored: &str) -> pb::VendorStatus {
    VendorStatus::parse(stored).map_or(pb::VendorStatus::Unspecified, status_to_proto)
}

fn training_kind_of(stored: &str) -> pb::TrainingKind {
    match TrainingKind::parse(stored) {
        Some(TrainingKind::Training) => pb::TrainingKind::Training,
        Some(TrainingKind::Mentoring) => pb::TrainingKind::Mentoring,
        None => pb::TrainingKind::Unspecified,
    }
}

pub fn regency_to_proto(row: regency::Model, counts: VendorCounts) -> pb::Regency {
    let kind = match RegencyKind::parse(&row.kind) {
        Some(RegencyKind::Kabupaten) => pb::RegencyKind::Kabupaten,
        Some(RegencyKind::Kota) => pb::RegencyKind::Kota,
        None => pb::RegencyKind::Unspecified,
    };
    pb::Regency {
        code: row.code,
        name: row.name,
        kind: kind as i32,
        joined: row.joined_at.is_some(),
        joined_at: row.joined_at.map(to_timestamp),
        vendor_count: counts.total,
        verified_vendor_count: counts.verified,
    }
}

/// How much of a vendor record a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Admins in scope and the vendor itself: everything.
    Full,
    /// Everyone else: no NIK, NPWP, bank account or contact.
    Public,
}

pub fn vendor_to_proto(row: vendor::Model, visibility: Visibility) -> pb::Vendor {
    let full = visibility == Visibility::Full;
    let keep = |value: String| if full { value } else { String::new() };
    pb::Vendor {
        legal_form: legal_form_of(&row.legal_form) as i32,
        scale: scale_of(&row.scale) as i32,
        status: status_of(&row.status) as i32,
        id: row.id,
        name: row.name,
        nik: keep(row.nik.unwrap_or_default()),
        // The NIB is a business's public licence number, shown to everyone.
        nib: row.nib.unwrap_or_default(),
        npwp: keep(row.npwp.unwrap_or_default()),
        address: row.address,
        regency_code: row.regency_code,
        contact: full.then_some(pb::Contact {
            phone: row.phone,
            email: row.email,
        }),
        bank_account: full.then_some(pb::BankAccount {
            bank_name: row.bank_name,
            account_number: row.bank_account_number,
            account_holder: row.bank_account_holder,
        }),
        registered_at: Some(to_timestamp(row.registered_at)),
        updated_at: Some(to_timestamp(row.updated_at)),
        history: Vec::new(),
        trainings: Vec::new(),
    }
}

pub fn history_to_proto(row: status_history::Model) -> pb::StatusChange {
    pb::StatusChange {
        from_status: row
            .from_status
            .as_deref()
            .map_or(pb::VendorStatus::Unspecified, status_of) as i32,
        to_status: status_of(&row.to_status) as i32,
        actor: row.actor,
        actor_role: row.actor_role,
        reason: row.reason,
        changed_at: Some(to_timestamp(row.changed_at)),
    }
}

pub fn training_to_proto(row: training::Model) -> pb::Training {
    pb::Training {
        kind: training_kind_of(&row.kind) as i32,
        id: row.id,
        vendor_id: row.vendor_id,
        topic: row.topic,
        attended_on: row.attended_on.format("%Y-%m-%d").to_string(),
        organizer: row.organizer,
        recorded_by: row.recorded_by,
        recorded_at: Some(to_timestamp(row.recorded_at)),
    }
}
