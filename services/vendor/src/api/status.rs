//! The one place where the vendor service's errors become gRPC statuses.

use blangkon_platform::status::{already_exists, database};
use blangkon_platform::validation::invalid_argument;
use tonic::Status;

use crate::error::VendorError;

impl From<VendorError> for Status {
    fn from(err: VendorError) -> Self {
        match err {
            VendorError::Invalid(violations) => invalid_argument(&violations),
            VendorError::Denied(denied) => Status::permission_denied(denied.0),
            VendorError::NotFound(what) => Status::not_found(what),
            VendorError::AlreadyExists { field, message } => already_exists(field, &message),
            VendorError::NotNow(message) => Status::failed_precondition(message),
            VendorError::Transition(e) => Status::failed_precondition(e.to_string()),
            e @ VendorError::Changed(_) => Status::failed_precondition(e.to_string()),
            VendorError::Store(e) => database(&e),
        }
    }
}
