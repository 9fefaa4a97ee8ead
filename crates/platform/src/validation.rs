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

/// Most violations or refusals a status names. A status travels in
/// trailers, which clients cap (8 KiB in grpc-java, 16 KiB in grpc-go)
/// and answer `RESOURCE_EXHAUSTED` past: a hundred duplicated lines would
/// otherwise take 8 kB twice over, in the message and in the details.
pub const MAX_REPORTED: usize = 20;

/// The first [`MAX_REPORTED`] of `all`, and how many more there were.
fn reported<T>(all: &[T]) -> (&[T], usize) {
    let shown = &all[..all.len().min(MAX_REPORTED)];
    (shown, all.len() - shown.len())
}

/// " (and 3 more)" after a list that names `more` fewer than it had.
fn and_more(more: usize) -> String {
    if more == 0 {
        String::new()
    } else {
        format!(" (and {more} more)")
    }
}

/// A status of `code` whose details name the offending fields (the first
/// [`MAX_REPORTED`] of them; `message` is the caller's to keep short).
pub fn status_with_fields(code: Code, message: String, violations: &[Violation]) -> Status {
    let (shown, _) = reported(violations);
    let details = ErrorDetails::with_bad_request(
        shown
            .iter()
            .map(|v| FieldViolation::new(v.field.clone(), v.description.clone()))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(code, message, details)
}

/// `INVALID_ARGUMENT` naming every bad field, up to [`MAX_REPORTED`].
pub fn invalid_argument(violations: &[Violation]) -> Status {
    let (shown, more) = reported(violations);
    status_with_fields(
        Code::InvalidArgument,
        format!("invalid request: {}{}", describe(shown), and_more(more)),
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

/// `FAILED_PRECONDITION` naming every refused part of the request, up to
/// [`MAX_REPORTED`].
pub fn failed_precondition(refusals: &[Refusal]) -> Status {
    let (shown, more) = reported(refusals);
    let message = format!("{}{}", describe_refusals(shown), and_more(more));
    let details = ErrorDetails::with_precondition_failure(
        shown
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
    fn a_status_names_a_bounded_number_of_violations() {
        let many: Vec<Violation> = (0..10_000)
            .map(|i| Violation::new(format!("lines[{i}].product_id"), "appears twice"))
            .collect();
        let status = invalid_argument(&many);
        assert_eq!(violations_of(&status).len(), MAX_REPORTED);
        assert!(
            status.message().ends_with("(and 9980 more)"),
            "{}",
            status.message()
        );
        // Message and details together stay well inside the 8 KiB that
        // clients accept in trailers.
        let size = status.message().len() + status.details().len();
        assert!(size < 4096, "{size} bytes");
        assert!(
            !invalid_argument(&many[..MAX_REPORTED])
                .message()
                .contains("more")
        );

        let refusals: Vec<Refusal> = (0..500)
            .map(|i| Refusal::new("OUT_OF_STOCK", format!("lines[{i}]"), "not enough stock"))
            .collect();
        let refused = failed_precondition(&refusals);
        assert_eq!(refusals_of(&refused).len(), MAX_REPORTED);
        assert!(refused.message().ends_with("(and 480 more)"));
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
