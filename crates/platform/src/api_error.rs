//! How failures become gRPC statuses, the same way in every service: the
//! helpers each service's one error mapping uses ([`database`],
//! [`already_exists`], [`internal`]), and [`ApiError`] for the reporting
//! service's reads, which have no error enum of their own yet. Unexpected
//! errors are logged here and leave as a bare `INTERNAL`, so no database
//! detail reaches a caller.

use crate::db::Transient;
use crate::validation::{self, Refusal, Violation};
use sea_orm::DbErr;
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {}", validation::describe(.0))]
    Invalid(Vec<Violation>),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    AlreadyExists { field: String, message: String },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    FailedPrecondition(String),
    /// The current state refuses named parts of the request.
    #[error("refused: {}", validation::describe_refusals(.0))]
    Refused(Vec<Refusal>),
    /// A concurrent call got in the way; retrying the same call will do.
    #[error("{0}")]
    Aborted(String),
    /// A service this one depends on cannot answer now; retrying later may.
    #[error("{0}")]
    Unavailable(String),
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// A broken invariant of the service's own (what it stored or built
    /// cannot be what it is): logged, answered as a bare `INTERNAL`.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(vec![Violation::new(field, description)])
    }

    pub fn denied(message: impl Into<String>) -> Self {
        Self::PermissionDenied(message.into())
    }
}

/// One bad field is a request refused as invalid.
impl From<Violation> for ApiError {
    fn from(violation: Violation) -> Self {
        ApiError::Invalid(vec![violation])
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        match &err {
            ApiError::Invalid(violations) => validation::invalid_argument(violations),
            ApiError::AlreadyExists { field, message } => already_exists(field, message),
            ApiError::NotFound(m) => Status::not_found(m.clone()),
            ApiError::PermissionDenied(m) => Status::permission_denied(m.clone()),
            ApiError::FailedPrecondition(m) => Status::failed_precondition(m.clone()),
            ApiError::Refused(refusals) => validation::failed_precondition(refusals),
            ApiError::Unavailable(m) => Status::unavailable(m.clone()),
            ApiError::Aborted(m) => Status::aborted(m.clone()),
            ApiError::Db(e) => database(e),
            ApiError::Internal(e) => internal(e),
        }
    }
}

/// `ALREADY_EXISTS`, naming the field that holds what exists.
pub fn already_exists(field: &str, message: &str) -> Status {
    validation::status_with_fields(
        Code::AlreadyExists,
        message.to_string(),
        &[Violation::new(field, message)],
    )
}

/// A database failure as a caller should see it: `UNAVAILABLE` while the
/// database cannot be reached, `ABORTED` when a concurrent change got in the
/// way (both worth a retry), else a bare `INTERNAL`. Logged here, so no
/// database detail reaches a caller.
pub fn database(e: &DbErr) -> Status {
    match crate::db::transient(e) {
        Some(Transient::Unavailable) => {
            tracing::warn!(error = %e, "database unreachable");
            Status::unavailable("database unavailable, retry later")
        }
        Some(Transient::Conflict) => {
            tracing::warn!(error = %e, "database conflict with a concurrent call");
            Status::aborted("a concurrent change got in the way; retry the call")
        }
        None => {
            tracing::error!(error = %e, "database error");
            Status::internal("internal error")
        }
    }
}

/// A broken invariant of the service's own: logged, answered as a bare
/// `INTERNAL`.
pub fn internal(e: &impl std::fmt::Display) -> Status {
    tracing::error!(error = %e, "broken invariant");
    Status::internal("internal error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_invariant_is_a_bare_internal_error() {
        let status = Status::from(ApiError::Internal("row 42 holds {corrupt".into()));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn an_unreachable_database_is_unavailable_and_other_database_errors_internal() {
        let down = Status::from(ApiError::Db(DbErr::Conn(sea_orm::RuntimeErr::Internal(
            "refused".into(),
        ))));
        assert_eq!(down.code(), Code::Unavailable);
        let dropped = sea_orm::sqlx::Error::Protocol("connection closed".into());
        let lost = Status::from(ApiError::Db(DbErr::Query(sea_orm::RuntimeErr::SqlxError(
            std::sync::Arc::new(dropped),
        ))));
        assert_eq!(lost.code(), Code::Unavailable);
        let broken = Status::from(ApiError::Db(DbErr::Custom("secret detail".into())));
        assert_eq!(broken.code(), Code::Internal);
        assert!(!broken.message().contains("secret"));
    }
}
