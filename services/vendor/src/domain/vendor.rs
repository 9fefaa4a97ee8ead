//! Vendors: what a registration must contain, and the verification state
//! machine.

use chrono::NaiveDate;

use super::Violation;
use super::identifiers::{Nib, Nik, Npwp, RegencyCode};

pub use blangkon_domain::{LegalForm, Scale, VendorStatus};

/// A verification decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Decision {
    Verify,
    Reject,
    Suspend,
    Reinstate,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Rejections and suspensions must say why: the vendor is told, and the
    /// decision is public record.
    pub fn needs_reason(self) -> bool {
        matches!(self, Decision::Reject | Decision::Suspend)
    }
}

/// Longest reason or note a decision may carry.
pub const MAX_REASON: usize = 1000;

/// The reason (or note) of `decision`, as the caller wrote it in `field`:
/// required where the decision needs one, at most [`MAX_REASON`]
/// characters, blanks around it dropped.
pub fn decision_reason(decision: Decision, field: &str, value: &str) -> Result<String, Violation> {
    let value = value.trim();
    if decision.needs_reason() && value.is_empty() {
        return Err(Violation::new(field, "is required"));
    }
    if value.chars().count() > MAX_REASON {
        return Err(Violation::new(
            field,
            format!("must be at most {MAX_REASON} characters"),
        ));
    }
    Ok(value.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {} vendor cannot be {}", from.as_str(), match decision {
    Decision::Verify => "verified",
    Decision::Reject => "rejected",
    Decision::Suspend => "suspended",
    Decision::Reinstate => "reinstated",
})]
pub struct InvalidTransition {
    pub from: VendorStatus,
    pub decision: Decision,
}

/// The verification state machine, as one table:
///
/// | from      | verify   | reject   | suspend   | reinstate |
/// |-----------|----------|----------|-----------|-----------|
/// | pending   | verified | rejected | —         | —         |
/// | verified  | —        | —        | suspended | —         |
/// | suspended | —        | —        | —         | verified  |
/// | rejected  | —        | —        | —         | —         |
///
/// A rejected vendor registers again with corrected data.
pub fn next_status(
    from: VendorStatus,
    decision: Decision,
) -> Result<VendorStatus, InvalidTransition> {
    use Decision::*;
    use VendorStatus::*;
    match (from, decision) {
        (Pending, Verify) => Ok(Verified),
        (Pending, Reject) => Ok(Rejected),
        (Verified, Suspend) => Ok(Suspended),
        (Suspended, Reinstate) => Ok(Verified),
        _ => Err(InvalidTransition { from, decision }),
    }
}

/// A registration as submitted, fields still unchecked.
#[derive(Debug, Clone, Default)]
pub struct RegistrationInput {
    pub name: String,
    pub legal_form: Option<LegalForm>,
    pub nik: String,
    pub nib: String,
    pub npwp: String,
    pub scale: Option<Scale>,
    pub address: String,
    pub regency_code: String,
    pub phone: String,
    pub email: String,
    pub bank_name: String,
    pub account_number: String,
    pub account_holder: String,
}

/// A registration whose every field is valid on its own. Whether the
/// regency is known and joined is checked against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub name: String,
    pub legal_form: LegalForm,
    pub nik: Option<Nik>,
    pub nib: Option<Nib>,
    pub npwp: Option<Npwp>,
    pub scale: Scale,
    pub address: String,
    pub regency_code: RegencyCode,
    pub phone: String,
    pub email: String,
    pub bank_name: String,
    pub account_number: String,
    pub account_holder: String,
}

const MAX_TEXT: usize = 200;
const MAX_ADDRESS: usize = 500;

/// Checks a required free-text field, collecting a violation if needed.
fn text(field: &str, value: &str, max: usize, violations: &mut Vec<Violation>) -> String {
    let value = value.trim();
    if value.is_empty() {
        violations.push(Violation::new(field, "is required"));
    } else if value.chars().count() > max {
        violations.push(Violation::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    value.to_string()
}

impl Registration {
    /// Validates every field and reports every problem at once, so a form
    /// can show them all.
    pub fn parse(input: RegistrationInput) -> Result<Self, Vec<Violation>> {
        let mut v = Vec::new();
        let name = text("name", &input.name, MAX_TEXT, &mut v);
        let address = text("address", &input.address, MAX_ADDRESS, &mut v);
        let bank_name = text("bank_account.bank_name", &input.bank_name, MAX_TEXT, &mut v);
        let account_holder = text(
            "bank_account.account_holder",
            &input.account_holder,
            MAX_TEXT,
            &mut v,
        );
        let account_number = account_number(&input.account_number, &mut v);
        let phone = phone(&input.phone, &mut v);
        let email = input.email.trim().to_lowercase();
        if !email.is_empty() && !is_plausible_email(&email) {
            v.push(Violation::new("contact.email", "is not an email address"));
        }

        let regency_code = match RegencyCode::parse(&input.regency_code) {
            Ok(code) => Some(code),
            Err(e) => {
                v.push(Violation::new("regency_code", e.to_string()));
                None
            }
        };
        if input.scale.is_none() {
            v.push(Violation::new("scale", "must be micro, small or medium"));
        }

        let (nik, nib, npwp) = identifiers(&input, &mut v);

        match (input.legal_form, input.scale, regency_code) {
            (Some(legal_form), Some(scale), Some(regency_code)) if v.is_empty() => Ok(Self {
                name,
                legal_form,
                nik,
                nib,
                npwp,
                scale,
                address,
                regency_code,
                phone,
                email,
                bank_name,
                account_number,
                account_holder,
            }),
            _ => Err(v),
        }
    }
}

/// A bank account number: 5 to 34 digits.
fn account_number(input: &str, v: &mut Vec<Violation>) -> String {
    let number = input.trim().to_string();
    if number.len() < 5 || number.len() > 34 || !number.chars().all(|c| c.is_ascii_digit()) {
        v.push(Violation::new(
            "bank_account.account_number",
            "must be 5 to 34 digits",
        ));
    }
    number
}

/// A phone number without its spaces and dashes: 8 to 15 digits, maybe
/// after a `+`.
fn phone(input: &str, v: &mut Vec<Violation>) -> String {
    let phone: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = phone.strip_prefix('+').unwrap_or(&phone);
    if digits.len() < 8 || digits.len() > 15 || !digits.chars().all(|c| c.is_ascii_digit()) {
        v.push(Violation::new(
            "contact.phone",
            "must be 8 to 15 digits, optionally starting with +",
        ));
    }
    phone
}

/// The identifiers a vendor of its legal form must give (an individual
/// its NIK; a business entity its NIB and NPWP) and may not give, each
/// parsed where given.
fn identifiers(
    input: &RegistrationInput,
    v: &mut Vec<Violation>,
) -> (Option<Nik>, Option<Nib>, Option<Npwp>) {
    let (mut nik, mut nib, mut npwp) = (None, None, None);
    match input.legal_form {
        None => v.push(Violation::new("legal_form", "is required")),
        Some(LegalForm::Individual) => {
            if input.nik.trim().is_empty() {
                v.push(Violation::new(
                    "nik",
                    "is required for an individual (perorangan)",
                ));
            }
            if !input.nib.trim().is_empty() {
                v.push(Violation::new(
                    "nib",
                    "applies to business entities; an individual registers with a NIK",
                ));
            }
        }
        Some(_) => {
            if input.nib.trim().is_empty() {
                v.push(Violation::new("nib", "is required for a business entity"));
            }
            if !input.nik.trim().is_empty() {
                v.push(Violation::new(
                    "nik",
                    "applies to individuals; a business entity registers with a NIB",
                ));
            }
            if input.npwp.trim().is_empty() {
                v.push(Violation::new("npwp", "is required for a business entity"));
            }
        }
    }
    if !input.nik.trim().is_empty() {
        match Nik::parse(&input.nik) {
            Ok(n) => nik = Some(n),
            Err(e) => v.push(Violation::new("nik", e.to_string())),
        }
    }
    if !input.nib.trim().is_empty() {
        match Nib::parse(&input.nib) {
            Ok(n) => nib = Some(n),
            Err(e) => v.push(Violation::new("nib", e.to_string())),
        }
    }
    if !input.npwp.trim().is_empty() {
        match Npwp::parse(&input.npwp) {
            Ok(n) => npwp = Some(n),
            Err(e) => v.push(Violation::new("npwp", e.to_string())),
        }
    }
    (nik, nib, npwp)
}

fn is_plausible_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && email.len() <= 254
        }
        None => false,
    }
}

/// Kind of capacity building a vendor attended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum TrainingKind {
    /// *Pelatihan*, e.g. how to upload products.
    Training,
    /// *Pendampingan*.
    Mentoring,
}

impl TrainingKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

#[derive(Debug, Clone, Default)]
pub struct TrainingInput {
    pub topic: String,
    pub kind: Option<TrainingKind>,
    pub attended_on: String,
    pub organizer: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingRecord {
    pub topic: String,
    pub kind: TrainingKind,
    pub attended_on: NaiveDate,
    pub organizer: String,
}

impl TrainingRecord {
    /// `today` bounds the date: a session cannot be attended in the future.
    pub fn parse(input: TrainingInput, today: NaiveDate) -> Result<Self, Vec<Violation>> {
        let mut v = Vec::new();
        let topic = text("topic", &input.topic, MAX_TEXT, &mut v);
        let organizer = input.organizer.trim().to_string();
        if organizer.chars().count() > MAX_TEXT {
            v.push(Violation::new(
                "organizer",
                format!("must be at most {MAX_TEXT} characters"),
            ));
        }
        if input.kind.is_none() {
            v.push(Violation::new("kind", "must be training or mentoring"));
        }
        let attended_on = match NaiveDate::parse_from_str(input.attended_on.trim(), "%Y-%m-%d") {
            Ok(d) if d > today => {
                v.push(Violation::new("attended_on", "must not be in the future"));
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                v.push(Violation::new("attended_on", "must be a date YYYY-MM-DD"));
                None
            }
        };
        match (input.kind, attended_on) {
            (Some(kind), Some(attended_on)) if v.is_empty() => Ok(Self {
                topic,
                kind,
                attended_on,
                organizer,
            }),
            _ => Err(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blangkon_domain::VariantArray;

    fn individual() -> RegistrationInput {
        RegistrationInput {
            name: "Katering Bu Sri".into(),
            legal_form: Some(LegalForm::Individual),
            nik: "3374015708800002".into(),
            scale: Some(Scale::Micro),
            address: "Jl. Pandanaran 12, Semarang".into(),
            regency_code: "33.74".into(),
            phone: "+62 812-2500-1234".into(),
            email: "sri@example.id".into(),
            bank_name: "Bank Jateng".into(),
            account_number: "2010123456".into(),
            account_holder: "Sri Wahyuni".into(),
            ..RegistrationInput::default()
        }
    }

    fn company() -> RegistrationInput {
        RegistrationInput {
            name: "CV Batik Lasem Jaya".into(),
            legal_form: Some(LegalForm::Cv),
            nik: String::new(),
            nib: "9120001234567".into(),
            npwp: "01.234.567.8-507.000".into(),
            scale: Some(Scale::Small),
            regency_code: "33.17".into(),
            ..individual()
        }
    }

    fn fields(violations: &[Violation]) -> Vec<&str> {
        violations.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn an_individual_with_a_nik_registers() {
        let r = Registration::parse(individual()).unwrap();
        assert_eq!(r.nik.unwrap().as_str(), "3374015708800002");
        assert_eq!(r.phone, "+6281225001234");
    }

    #[test]
    fn a_business_entity_with_nib_and_npwp_registers() {
        let r = Registration::parse(company()).unwrap();
        assert_eq!(r.npwp.unwrap().as_str(), "012345678507000");
        assert!(r.legal_form.is_business_entity());
    }

    #[test]
    fn an_individual_without_a_nik_is_refused_on_the_nik_field() {
        let input = RegistrationInput {
            nik: String::new(),
            ..individual()
        };
        assert_eq!(fields(&Registration::parse(input).unwrap_err()), ["nik"]);
    }

    #[test]
    fn an_individual_giving_a_nib_is_told_to_use_the_nik() {
        let input = RegistrationInput {
            nib: "9120001234567".into(),
            ..individual()
        };
        assert_eq!(fields(&Registration::parse(input).unwrap_err()), ["nib"]);
    }

    #[test]
    fn a_business_entity_with_a_nik_instead_of_a_nib_is_refused_on_both() {
        let input = RegistrationInput {
            nib: String::new(),
            nik: "3374015708800002".into(),
            ..company()
        };
        assert_eq!(
            fields(&Registration::parse(input).unwrap_err()),
            ["nib", "nik"]
        );
    }

    #[test]
    fn a_business_entity_needs_an_npwp() {
        let input = RegistrationInput {
            npwp: String::new(),
            ..company()
        };
        assert_eq!(fields(&Registration::parse(input).unwrap_err()), ["npwp"]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let input = RegistrationInput {
            name: " ".into(),
            nik: "123".into(),
            scale: None,
            regency_code: "Semarang".into(),
            phone: "call me".into(),
            email: "not-an-email".into(),
            account_number: "12".into(),
            ..individual()
        };
        let violations = Registration::parse(input).unwrap_err();
        let mut got = fields(&violations);
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "bank_account.account_number",
                "contact.email",
                "contact.phone",
                "name",
                "nik",
                "regency_code",
                "scale"
            ]
        );
    }

    #[test]
    fn a_missing_legal_form_is_reported() {
        let input = RegistrationInput {
            legal_form: None,
            ..individual()
        };
        assert_eq!(
            fields(&Registration::parse(input).unwrap_err()),
            ["legal_form"]
        );
    }

    #[test]
    fn the_state_machine_allows_exactly_its_table() {
        use Decision::*;
        use VendorStatus::*;
        let allowed = [
            (Pending, Verify, Verified),
            (Pending, Reject, Rejected),
            (Verified, Suspend, Suspended),
            (Suspended, Reinstate, Verified),
        ];
        for &from in VendorStatus::VARIANTS {
            for decision in [Verify, Reject, Suspend, Reinstate] {
                let expected = allowed
                    .iter()
                    .find(|(f, d, _)| *f == from && *d == decision)
                    .map(|(_, _, to)| *to);
                assert_eq!(
                    next_status(from, decision).ok(),
                    expected,
                    "{from:?} {decision:?}"
                );
            }
        }
    }

    #[test]
    fn a_wrong_transition_says_what_was_tried() {
        let err = next_status(VendorStatus::Rejected, Decision::Verify).unwrap_err();
        assert_eq!(err.to_string(), "a rejected vendor cannot be verified");
    }

    #[test]
    fn training_in_the_future_is_refused() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let input = TrainingInput {
            topic: "Unggah produk".into(),
            kind: Some(TrainingKind::Training),
            attended_on: "2026-12-01".into(),
            organizer: "Dinkop UKM Jateng".into(),
        };
        let err = TrainingRecord::parse(input.clone(), today).unwrap_err();
        assert_eq!(fields(&err), ["attended_on"]);
        let ok = TrainingRecord::parse(
            TrainingInput {
                attended_on: "2026-11-20".into(),
                ..input
            },
            today,
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn a_rejection_must_say_why_and_no_reason_runs_past_a_thousand_characters() {
        assert_eq!(
            decision_reason(Decision::Reject, "reason", "  "),
            Err(Violation::new("reason", "is required"))
        );
        assert_eq!(
            decision_reason(Decision::Suspend, "reason", " late deliveries "),
            Ok("late deliveries".into())
        );
        assert_eq!(decision_reason(Decision::Verify, "note", ""), Ok("".into()));
        let most = "é".repeat(MAX_REASON);
        assert_eq!(
            decision_reason(Decision::Reinstate, "note", &most),
            Ok(most)
        );
        let err = decision_reason(Decision::Verify, "note", &"x".repeat(MAX_REASON + 1));
        assert_eq!(err.unwrap_err().field, "note");
    }

    #[test]
    fn decisions_and_training_kinds_are_stored_by_their_names() {
        let decisions = [
            Decision::Verify,
            Decision::Reject,
            Decision::Suspend,
            Decision::Reinstate,
        ];
        let names: Vec<&str> = decisions.iter().map(|d| d.as_str()).collect();
        assert_eq!(names, ["verify", "reject", "suspend", "reinstate"]);
        for (kind, name) in [
            (TrainingKind::Training, "training"),
            (TrainingKind::Mentoring, "mentoring"),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(TrainingKind::parse(name), Some(kind));
        }
        assert_eq!(TrainingKind::parse("Training"), None);
        assert_eq!(
            super::super::regency::RegencyKind::parse("kota"),
            Some(super::super::regency::RegencyKind::Kota)
        );
        assert_eq!(
            super::super::regency::RegencyKind::Kabupaten.as_str(),
            "kabupaten"
        );
    }
}
