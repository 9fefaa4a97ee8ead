//! The one place where the reporting service's errors become gRPC
//! statuses.

use blangkon_platform::status::{database, internal};
use blangkon_platform::validation::invalid_argument;
use tonic::Status;

use crate::error::ReportingError;

impl From<ReportingError> for Status {
    fn from(err: ReportingError) -> Self {
        match err {
            ReportingError::Invalid(violations) => invalid_argument(&violations),
            e @ ReportingError::NothingPlaced => Status::not_found(e.to_string()),
            e @ ReportingError::Encode(_) => internal(&e),
            ReportingError::Store(e) => database(&e),
        }
    }
}
