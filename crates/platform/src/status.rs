//! How failures become gRPC statuses, the same way in every service: the
//! helpers each service's one error mapping (its `api/status.rs`) uses.
//! Unexpected errors are logged here and leave as a bare `INTERNAL`, so no
//! database detail reaches a caller.

use crate::db::Transient;
use crate::validation::{self, Violation};
use sea_orm::DbErr;
use tonic::{Code, Status};

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
        let status = internal(&"row 42 holds {corrupt");
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn an_unreachable_database_is_unavailable_and_other_database_errors_internal() {
        let down = database(&DbErr::Conn(sea_orm::RuntimeErr::Internal(
            "refused".into(),
        )));
        assert_eq!(down.code(), Code::Unavailable);
        let dropped = sea_orm::sqlx::Error::Protocol("connection closed".into());
        let lost = database(&DbErr::Query(sea_orm::RuntimeErr::SqlxError(
            std::sync::Arc::new(dropped),
        )));
        assert_eq!(lost.code(), Code::Unavailable);
        let broken = database(&DbErr::Custom("secret detail".into()));
        assert_eq!(broken.code(), Code::Internal);
        assert!(!broken.message().contains("secret"));
    }
}
