//! Request fields into query values.

use blangkon_platform::validation::{self, Violation};
use blangkon_proto::reporting as pb;

use crate::domain::calendar::Period;

pub(super) fn optional(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

pub(super) fn page_size(
    requested: i32,
    default: u64,
    max: u64,
    violations: &mut Vec<Violation>,
) -> u64 {
    validation::page_size(requested, default, max).unwrap_or_else(|violation| {
        violations.push(violation);
        default
    })
}

pub(super) fn period_of(
    period: Option<&pb::Period>,
    violations: &mut Vec<Violation>,
) -> Option<Period> {
    let (from, until) = period.map_or(("", ""), |p| (p.from_date.as_str(), p.until_date.as_str()));
    match Period::parse("period", from, until) {
        Ok(p) => Some(p),
        Err(v) => {
            violations.extend(v);
            None
        }
    }
}
