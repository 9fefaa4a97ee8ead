//! Conversions between the protobuf contract and the domain and store types.

use blangkon_platform::time::to_timestamp;
use blangkon_proto::vendor as pb;

use crate::domain::regency::RegencyKind;
use crate::domain::vendor::{LegalForm, RegistrationInput, Scale, TrainingKind, VendorStatus};
use crate::policy::Visibility;
use crate::regencies::RegencyView;
use crate::store::{status_history, training, vendor};
use crate::verification::VendorView;

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

fn training_kind_of(stored: &str) -> pb::TrainingKind {
    match TrainingKind::parse(stored) {
        Some(TrainingKind::Training) => pb::TrainingKind::Training,
        Some(TrainingKind::Mentoring) => pb::TrainingKind::Mentoring,
        None => pb::TrainingKind::Unspecified,
    }
}

pub fn regency_to_proto(view: RegencyView) -> pb::Regency {
    let RegencyView {
        regency: row,
        vendors: counts,
    } = view;
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

pub fn vendor_to_proto(row: vendor::Model, visibility: Visibility) -> pb::Vendor {
    let full = visibility.personal();
    let keep = |value: String| if full { value } else { String::new() };
    // An individual's address is where a person lives: for those who
    // administer the record only. A business's address is public.
    let address = if full || row.legal_form != LegalForm::Individual {
        row.address
    } else {
        String::new()
    };
    pb::Vendor {
        legal_form: row.legal_form.to_proto() as i32,
        scale: row.scale.to_proto() as i32,
        status: row.status.to_proto() as i32,
        id: row.id,
        name: row.name,
        nik: keep(row.nik.unwrap_or_default()),
        // The NIB is a business's public licence number, shown to everyone.
        nib: row.nib.unwrap_or_default(),
        npwp: keep(row.npwp.unwrap_or_default()),
        address,
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
        duplicate_of: if visibility == Visibility::Full {
            row.duplicate_of.unwrap_or_default()
        } else {
            String::new()
        },
    }
}

pub fn history_to_proto(row: status_history::Model) -> pb::StatusChange {
    pb::StatusChange {
        from_status: row
            .from_status
            .map_or(pb::VendorStatus::Unspecified, VendorStatus::to_proto)
            as i32,
        to_status: row.to_status.to_proto() as i32,
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

/// A vendor with its history and trainings, as far as its caller may see.
pub fn view_to_proto(view: VendorView) -> pb::Vendor {
    let mut vendor = vendor_to_proto(view.vendor, view.visibility);
    vendor.history = view.history.into_iter().map(history_to_proto).collect();
    vendor.trainings = view.trainings.into_iter().map(training_to_proto).collect();
    vendor
}

/// A registration request as the domain reads it, fields still unchecked.
pub fn registration_input(req: pb::RegisterVendorRequest) -> RegistrationInput {
    let contact = req.contact.unwrap_or_default();
    let bank = req.bank_account.unwrap_or_default();
    RegistrationInput {
        name: req.name,
        legal_form: LegalForm::from_proto(req.legal_form),
        nik: req.nik,
        nib: req.nib,
        npwp: req.npwp,
        scale: Scale::from_proto(req.scale),
        address: req.address,
        regency_code: req.regency_code,
        phone: contact.phone,
        email: contact.email,
        bank_name: bank.bank_name,
        account_number: bank.account_number,
        account_holder: bank.account_holder,
    }
}
