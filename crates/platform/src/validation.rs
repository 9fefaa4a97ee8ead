//! Invalid input, as every service reports it: one violation per bad field,
//! sent as `INVALID_ARGUMENT` with `google.rpc.BadRequest` details. Domain
//! code builds [`Violation`]s without knowing about gRPC.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// One invalid field of a request, named the way the API names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// "name is required; price must be positive", for the status message.
pub fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

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
}
