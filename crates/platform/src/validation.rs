//! Invalid input, as every service reports it: one violation per bad field,
//! sent as `INVALID_ARGUMENT` with `google.rpc.BadRequest` details; and
//! requests the current state refuses, sent as `FAILED_PRECONDITION` with
//! `google.rpc.PreconditionFailure` details. Domain code builds
//! [`Violation`]s and [`Refusal`]s without knowing about gRPC; a service
//! that calls another reads them back with [`violations_of`] and
//! [`refusals_of`] to pass them on.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

pub use blangkon_domain::validation::{
    FieldViolationExt, MAX_LINES, Refusal, Violation, describe, describe_refusals, page_size,
    product_lines,
};

/// A status of `code` whose details name the offending fields.
pub fn status_with_fields(code: Code, message: String, violations: &[Violation]) -> Status {
    let details = ErrorDetails::with_bad_request(
        violations
            .iter()
            .map(|v| FieldViolation::new(v.field.clone(), v.description.clone()))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(code, message, details)
}

/// `INVALID_ARGUMENT` naming every bad field.
pub fn invalid_argument(violations: &[Violation]) -> Status {
    status_with_fields(
        Code::InvalidArgument,
        format!("invalid request: {}", describe(violations)),
        violations,
    )
}

/// The field violations a status carries, if any.
pub fn violations_of(status: &Status) -> Vec<Violation> {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| Violation::new(v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

/// `FAILED_PRECONDITION` naming every refused part of the request.
pub fn failed_precondition(refusals: &[Refusal]) -> Status {
    let message = describe_refusals(refusals);
    let details = ErrorDetails::with_precondition_failure(
        refusals
            .iter()
            .map(|r| {
                PreconditionViolation::new(r.kind.clone(), r.subject.clone(), r.description.clone())
            })
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(Code::FailedPrecondition, message, details)
}

/// The refusals a status carries, if any.
pub fn refusals_of(status: &Status) -> Vec<Refusal> {
    status
        .get_details_precondition_failure()
        .map(|p| {
            p.violations
                .into_iter()
                .map(|v| Refusal::new(v.r#type, v.subject, v.description))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_violation_reaches_the_details_and_the_message() {
        let status = invalid_argument(&[
            Violation::new("name", "is required"),
            Violation::new("price", "must be positive"),
        ]);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "invalid request: name is required; price must be positive"
        );
        let fields: Vec<String> = status
            .get_details_bad_request()
            .unwrap()
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["name", "price"]);
    }

    #[test]
    fn violations_and_refusals_survive_the_round_trip_through_a_status() {
        let invalid = invalid_argument(&[Violation::new("lines[1].quantity", "too small")]);
        assert_eq!(
            violations_of(&invalid),
            [Violation::new("lines[1].quantity", "too small")]
        );
        assert!(refusals_of(&invalid).is_empty());

        let refused = failed_precondition(&[
            Refusal::new("OUT_OF_STOCK", "lines[0]", "not enough stock"),
            Refusal::new("NOT_LISTED", "lines[2]", "the product is not listed"),
        ]);
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert_eq!(
            refused.message(),
            "lines[0]: not enough stock; lines[2]: the product is not listed"
        );
        assert_eq!(refusals_of(&refused).len(), 2);
        assert_eq!(refusals_of(&refused)[1].kind, "NOT_LISTED");
        assert!(violations_of(&refused).is_empty());
        assert!(refusals_of(&Status::failed_precondition("plain")).is_empty());
    }
}
