//! The one place where the order service's errors become gRPC statuses.

use blangkon_platform::status::{already_exists, database};
use blangkon_platform::validation::Violation;
use blangkon_platform::validation::{failed_precondition, invalid_argument};
use tonic::Status;

use crate::error::OrderError;

impl From<OrderError> for Status {
    fn from(err: OrderError) -> Self {
        match err {
            OrderError::Invalid(violations) => invalid_argument(&violations),
            OrderError::Denied(denied) => Status::permission_denied(denied.0),
            OrderError::NotFound(what) => Status::not_found(what),
            OrderError::AlreadyExists { field, message } => already_exists(field, &message),
            OrderError::NotNow(message) => Status::failed_precondition(message),
            OrderError::Transition(e) => Status::failed_precondition(e.to_string()),
            OrderError::Money(e) => invalid_argument(&[Violation::new("lines", e.to_string())]),
            OrderError::Refused(refusals) => failed_precondition(&refusals),
            e @ OrderError::Changed(_) => Status::failed_precondition(e.to_string()),
            OrderError::InProgress(message) => Status::aborted(message),
            OrderError::Unavailable(message) => Status::unavailable(message),
            OrderError::Store(e) => database(&e),
        }
    }
}
