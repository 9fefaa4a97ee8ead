//! What the vendor service publishes to `blangkon.vendor.events.v1`. Events
//! carry what other services need to act and to report, never personal data
//! (no NIK, no bank account, no contact details).

use blangkon_platform::auth::Actor;
use blangkon_platform::kafka::{TopicSpec, topics};
use blangkon_platform::outbox::NewEvent;
use blangkon_proto::events as pb;
use chrono::{DateTime, Utc};

use crate::domain::vendor::{Decision, VendorStatus};
use crate::store::{regency, training, vendor};

pub const TOPIC: &str = topics::VENDOR_EVENTS;
const PRODUCER: &str = "vendor";

/// Topics this service writes, created at start when allowed.
pub const TOPICS: &[TopicSpec<'static>] = &[topics::VENDOR_EVENTS_SPEC];

fn actor(by: &Actor) -> pb::Actor {
    pb::Actor {
        subject: by.subject.clone(),
        role: by.role_name().to_string(),
    }
}

pub fn regency_joined(row: &regency::Model, at: DateTime<Utc>, by: &Actor) -> NewEvent {
    NewEvent::new(
        TOPIC,
        PRODUCER,
        "regency",
        &row.code,
        at,
        &pb::RegencyJoined {
            regency_code: row.code.clone(),
            regency_name: row.name.clone(),
            joined_at: Some(blangkon_platform::time::to_timestamp(at)),
            actor: Some(actor(by)),
        },
    )
}

pub fn vendor_registered(row: &vendor::Model, by: &Actor) -> NewEvent {
    vendor_event(
        row,
        row.registered_at,
        &pb::VendorRegistered {
            vendor_id: row.id.clone(),
            name: row.name.clone(),
            regency_code: row.regency_code.clone(),
            legal_form: row.legal_form.to_proto() as i32,
            scale: row.scale.to_proto() as i32,
            status: row.status.to_proto() as i32,
            actor: Some(actor(by)),
        },
    )
}

pub fn status_changed(
    row: &vendor::Model,
    decision: Decision,
    from: VendorStatus,
    to: VendorStatus,
    reason: &str,
    at: DateTime<Utc>,
    by: &Actor,
) -> NewEvent {
    let change = pb::VendorStatusChange {
        vendor_id: row.id.clone(),
        regency_code: row.regency_code.clone(),
        previous_status: from.to_proto() as i32,
        status: to.to_proto() as i32,
        reason: reason.to_string(),
        actor: Some(actor(by)),
        legal_form: row.legal_form.to_proto() as i32,
        scale: row.scale.to_proto() as i32,
    };
    let change = Some(change);
    match decision {
        Decision::Verify => vendor_event(row, at, &pb::VendorVerified { change }),
        Decision::Reject => vendor_event(row, at, &pb::VendorRejected { change }),
        Decision::Suspend => vendor_event(row, at, &pb::VendorSuspended { change }),
        Decision::Reinstate => vendor_event(row, at, &pb::VendorReinstated { change }),
    }
}

fn vendor_event<M: prost::Name>(row: &vendor::Model, at: DateTime<Utc>, payload: &M) -> NewEvent {
    NewEvent::new(TOPIC, PRODUCER, "vendor", &row.id, at, payload)
}

pub fn training_recorded(row: &training::Model, regency_code: &str, by: &Actor) -> NewEvent {
    NewEvent::new(
        TOPIC,
        PRODUCER,
        "vendor",
        &row.vendor_id,
        row.recorded_at,
        &pb::TrainingRecorded {
            vendor_id: row.vendor_id.clone(),
            regency_code: regency_code.to_string(),
            training_id: row.id.clone(),
            topic: row.topic.clone(),
            kind: row.kind.clone(),
            attended_on: row
                .attended_on
                .and_hms_opt(0, 0, 0)
                .map(|t| blangkon_platform::time::to_timestamp(t.and_utc())),
            actor: Some(actor(by)),
        },
    )
}
