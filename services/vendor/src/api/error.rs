//! The one place where the vendor service's failures become gRPC statuses.
//! Unexpected errors are logged here and leave as a bare `INTERNAL`, so no
//! database detail reaches a caller.

use sea_orm::DbErr;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::domain::Violation;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<Violation>),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    AlreadyExists { field: String, message: String },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl ApiError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(vec![Violation::new(field, description)])
    }

    pub fn denied(message: impl Into<String>) -> Self {
        Self::PermissionDenied(message.into())
    }
}

fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

fn bad_request(violations: &[Violation]) -> ErrorDetails {
    ErrorDetails::with_bad_request(
        violations
            .iter()
            .map(|v| FieldViolation::new(v.field.clone(), v.description.clone()))
            .collect::<Vec<_>>(),
    )
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        match &err {
            ApiError::Invalid(violations) => Status::with_error_details(
                Code::InvalidArgument,
                err.to_string(),
                bad_request(violations),
            ),
            ApiError::AlreadyExists { field, message } => Status::with_error_details(
                Code::AlreadyExists,
                message.clone(),
                bad_request(&[Violation::new(field.clone(), message.clone())]),
            ),
            ApiError::NotFound(m) => Status::not_found(m.clone()),
            ApiError::PermissionDenied(m) => Status::permission_denied(m.clone()),
            ApiError::FailedPrecondition(m) => Status::failed_precondition(m.clone()),
            ApiError::Db(DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) => {
                tracing::warn!(error = %err, "vendor database unreachable");
                Status::unavailable("database unavailable, retry later")
            }
            ApiError::Db(e) => {
                tracing::error!(error = %e, "vendor service database error");
                Status::internal("internal error")
            }
        }
    }
}
