//! How the client commands print: readable text by default, JSON with
//! `--json`, and errors that name the offending fields.

use blangkon_proto::vendor as pb;
use serde_json::{Value, json};
use tonic_types::StatusExt;

pub fn time(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(blangkon_platform::time::from_timestamp)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn enum_name(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

pub fn legal_form(v: i32) -> String {
    pb::LegalForm::try_from(v).map_or("?".into(), |e| enum_name(e.as_str_name(), "LEGAL_FORM_"))
}

pub fn scale(v: i32) -> String {
    pb::Scale::try_from(v).map_or("?".into(), |e| enum_name(e.as_str_name(), "SCALE_"))
}

pub fn status(v: i32) -> String {
    pb::VendorStatus::try_from(v)
        .map_or("?".into(), |e| enum_name(e.as_str_name(), "VENDOR_STATUS_"))
}

fn training_kind(v: i32) -> String {
    pb::TrainingKind::try_from(v)
        .map_or("?".into(), |e| enum_name(e.as_str_name(), "TRAINING_KIND_"))
}

fn regency_kind(v: i32) -> String {
    pb::RegencyKind::try_from(v).map_or("?".into(), |e| enum_name(e.as_str_name(), "REGENCY_KIND_"))
}

pub fn regency_json(r: &pb::Regency) -> Value {
    json!({
        "code": r.code,
        "name": r.name,
        "kind": regency_kind(r.kind),
        "joined": r.joined,
        "joined_at": time(&r.joined_at),
        "vendor_count": r.vendor_count,
        "verified_vendor_count": r.verified_vendor_count,
    })
}

pub fn training_json(t: &pb::Training) -> Value {
    json!({
        "id": t.id,
        "vendor_id": t.vendor_id,
        "topic": t.topic,
        "kind": training_kind(t.kind),
        "attended_on": t.attended_on,
        "organizer": t.organizer,
        "recorded_by": t.recorded_by,
        "recorded_at": time(&t.recorded_at),
    })
}

pub fn vendor_json(v: &pb::Vendor) -> Value {
    let contact = v.contact.clone().unwrap_or_default();
    let bank = v.bank_account.clone().unwrap_or_default();
    json!({
        "id": v.id,
        "name": v.name,
        "legal_form": legal_form(v.legal_form),
        "nik": v.nik,
        "nib": v.nib,
        "npwp": v.npwp,
        "scale": scale(v.scale),
        "address": v.address,
        "regency_code": v.regency_code,
        "contact": {"phone": contact.phone, "email": contact.email},
        "bank_account": {
            "bank_name": bank.bank_name,
            "account_number": bank.account_number,
            "account_holder": bank.account_holder,
        },
        "status": status(v.status),
        "registered_at": time(&v.registered_at),
        "updated_at": time(&v.updated_at),
        "history": v.history.iter().map(|h| json!({
            "from": status(h.from_status),
            "to": status(h.to_status),
            "actor": h.actor,
            "actor_role": h.actor_role,
            "reason": h.reason,
            "at": time(&h.changed_at),
        })).collect::<Vec<_>>(),
        "trainings": v.trainings.iter().map(training_json).collect::<Vec<_>>(),
    })
}

/// Rupiah as Indonesians write it: `Rp15.000.000`.
pub fn rupiah(value: i64) -> String {
    blangkon_domain::money::grouped_rupiah(value, '.')
}

/// The ids in a command's JSON answer, for `--quiet`: its `id` (a
/// regency's `code`, a ledger row's `order_id`), or those of each item of
/// its list or of its page's one list; `None` when it holds none (figures,
/// a breakdown).
pub fn ids(value: &Value) -> Option<Vec<String>> {
    let id = |item: &Value| {
        ["id", "code", "order_id"]
            .iter()
            .find_map(|key| item.get(key))
            .and_then(Value::as_str)
            .map(String::from)
    };
    match value {
        Value::Array(items) => items.iter().map(id).collect(),
        Value::Object(object) => match id(value) {
            Some(id) => Some(vec![id]),
            None => match object
                .values()
                .filter_map(Value::as_array)
                .collect::<Vec<_>>()[..]
            {
                [items] => items.iter().map(id).collect(),
                _ => None,
            },
        },
        _ => None,
    }
}

pub fn print_json(value: &Value) {
    say!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|e| e.to_string())
    );
}

pub fn print_vendor(v: &pb::Vendor) {
    say!("{}  {}", v.id, v.name);
    say!("  status       {}", status(v.status));
    say!(
        "  legal form   {}   scale {}",
        legal_form(v.legal_form),
        scale(v.scale)
    );
    say!("  regency      {}", v.regency_code);
    for (label, value) in [("NIK", &v.nik), ("NIB", &v.nib), ("NPWP", &v.npwp)] {
        if !value.is_empty() {
            say!("  {label:<12} {value}");
        }
    }
    say!("  address      {}", v.address);
    if let Some(c) = &v.contact {
        say!("  contact      {} {}", c.phone, c.email);
    }
    if let Some(b) = &v.bank_account {
        say!(
            "  bank         {} {} a.n. {}",
            b.bank_name,
            b.account_number,
            b.account_holder
        );
    }
    say!("  registered   {}", time(&v.registered_at));
    if !v.history.is_empty() {
        say!("  history");
        for h in &v.history {
            let from = if h.from_status == 0 {
                "-".to_string()
            } else {
                status(h.from_status)
            };
            say!(
                "    {}  {} -> {}  by {} ({}){}",
                time(&h.changed_at),
                from,
                status(h.to_status),
                h.actor,
                h.actor_role,
                if h.reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", h.reason)
                }
            );
        }
    }
    if !v.trainings.is_empty() {
        say!("  trainings");
        for t in &v.trainings {
            say!(
                "    {}  {}  {} ({})",
                t.attended_on,
                training_kind(t.kind),
                t.topic,
                t.organizer
            );
        }
    }
}

pub fn print_vendor_row(v: &pb::Vendor) {
    say!(
        "{:<36}  {:<9}  {:<10}  {:<6}  {:<5}  {}",
        v.id,
        status(v.status),
        legal_form(v.legal_form),
        scale(v.scale),
        v.regency_code,
        v.name
    );
}

pub fn print_regency(r: &pb::Regency) {
    say!(
        "{}  {:<9}  {:<24}  {:<6}  vendors {:>5}  verified {:>5}",
        r.code,
        regency_kind(r.kind),
        r.name,
        if r.joined { "joined" } else { "-" },
        r.vendor_count,
        r.verified_vendor_count
    );
}

/// A call a service refused (or could not take), as the CLI reports it:
/// the status's code and message, every bad field, and what to do where
/// the CLI knows.
#[derive(Debug, Clone)]
pub struct Refused {
    pub code: tonic::Code,
    message: String,
}

impl Refused {
    /// A refusal the CLI itself found, classed as the gRPC `code` would be.
    pub fn new(code: tonic::Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

/// Turns a gRPC status into an error message that lists every bad field.
pub fn status_error(status: tonic::Status) -> anyhow::Error {
    let mut message = format!("{:?}: {}", status.code(), status.message());
    if let Some(bad) = status.get_details_bad_request() {
        for v in bad.field_violations {
            message.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    if status.code() == tonic::Code::Unauthenticated {
        message.push_str(
            "\n  the service did not accept the token. A token from `blangkon token` is signed \
             with the key in the data directory it ran in (--data-dir, BLANGKON_DATA_DIR; \
             .blangkon by default): mint it in the directory `blangkon dev` runs in, or sign \
             in with `blangkon login`",
        );
    }
    anyhow::Error::new(Refused {
        code: status.code(),
        message,
    })
}

/// How a command failed, as its exit code for scripts: 3 when a service
/// could not be reached, 4 when a call was refused for who asked or what
/// stands (not signed in, not allowed, not found, already done, busy), 5
/// when input was refused as invalid, 1 for anything else (clap answers 2
/// for a command line it cannot read).
pub fn exit_code(error: &anyhow::Error) -> u8 {
    use tonic::Code;
    let code = error.chain().find_map(|cause| {
        cause.downcast_ref::<Refused>().map(|r| r.code).or_else(|| {
            cause
                .downcast_ref::<tonic::Status>()
                .map(tonic::Status::code)
        })
    });
    match code {
        Some(Code::Unavailable | Code::DeadlineExceeded) => UNREACHABLE,
        Some(
            Code::Unauthenticated
            | Code::PermissionDenied
            | Code::NotFound
            | Code::AlreadyExists
            | Code::FailedPrecondition
            | Code::Aborted
            | Code::ResourceExhausted,
        ) => REFUSED,
        Some(Code::InvalidArgument | Code::OutOfRange) => INVALID,
        _ => 1,
    }
}

pub const UNREACHABLE: u8 = 3;
pub const REFUSED: u8 = 4;
pub const INVALID: u8 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_prints_the_ids_of_an_answer_its_list_or_its_page() {
        use serde_json::json;
        let ids = |value: Value| ids(&value);
        assert_eq!(
            ids(json!({"id": "v-1", "name": "Bu Sri"})).unwrap(),
            ["v-1"]
        );
        assert_eq!(
            ids(json!({"code": "33.74", "name": "Kota Semarang"})).unwrap(),
            ["33.74"]
        );
        assert_eq!(
            ids(json!([{"code": "33.74"}, {"code": "33.71"}])).unwrap(),
            ["33.74", "33.71"]
        );
        assert_eq!(
            ids(json!({"orders": [{"id": "o-1"}, {"id": "o-2"}], "next_page_token": ""})).unwrap(),
            ["o-1", "o-2"]
        );
        assert_eq!(
            ids(json!({"transactions": [{"order_id": "o-1"}], "next_page_token": ""})).unwrap(),
            ["o-1"]
        );
        assert!(
            ids(json!({"vendors": [], "next_page_token": ""}))
                .unwrap()
                .is_empty()
        );
        // Figures and breakdowns hold no ids.
        assert_eq!(
            ids(json!({"rows": [{"key": "katering"}], "value_total": 3})),
            None
        );
        assert_eq!(
            ids(json!({"top_categories": [], "orders_by_status": []})),
            None
        );
        assert_eq!(ids(json!({"total": 3})), None);
    }

    #[test]
    fn each_class_of_failure_has_its_exit_code() {
        let refused = |code| exit_code(&status_error(tonic::Status::new(code, "no")));
        assert_eq!(refused(tonic::Code::Unavailable), UNREACHABLE);
        assert_eq!(refused(tonic::Code::PermissionDenied), REFUSED);
        assert_eq!(refused(tonic::Code::Unauthenticated), REFUSED);
        assert_eq!(refused(tonic::Code::InvalidArgument), INVALID);
        assert_eq!(refused(tonic::Code::Internal), 1);
        let wrapped =
            anyhow::Error::new(tonic::Status::invalid_argument("bad")).context("placing the order");
        assert_eq!(exit_code(&wrapped), INVALID, "found under context too");
        assert_eq!(exit_code(&anyhow::anyhow!("no file")), 1);
    }

    #[test]
    fn rupiah_groups_thousands_with_dots() {
        assert_eq!(rupiah(0), "Rp0");
        assert_eq!(rupiah(15_000_000_000), "Rp15.000.000.000");
        assert_eq!(rupiah(-2_500), "-Rp2.500");
    }
}
