//! The one place where the catalog service's errors become gRPC statuses.

use blangkon_platform::status::{already_exists, database, internal};
use blangkon_platform::validation::{failed_precondition, invalid_argument};
use tonic::Status;

use crate::error::CatalogError;

impl From<CatalogError> for Status {
    fn from(err: CatalogError) -> Self {
        match err {
            CatalogError::Invalid(violations) => invalid_argument(&violations),
            CatalogError::Denied(denied) => Status::permission_denied(denied.0),
            CatalogError::NotFound(what) => Status::not_found(what),
            CatalogError::AlreadyExists { field, message } => already_exists(field, &message),
            CatalogError::Listing(e) => Status::failed_precondition(e.to_string()),
            CatalogError::Refused(refusals) => failed_precondition(&refusals),
            e @ CatalogError::Changed(_) => Status::failed_precondition(e.to_string()),
            CatalogError::Busy(message) => Status::unavailable(message),
            e @ CatalogError::Search(_) => internal(&e),
            CatalogError::Store(e) => database(&e),
        }
    }
}
