//! What can stop a use case of the vendor service, one case per cause. The
//! gRPC adapter turns each into its status in one place
//! (`api::status`); nothing here knows of gRPC.

use blangkon_domain::Denied;
use blangkon_domain::validation::{Violation, describe};
use sea_orm::DbErr;

use crate::domain::vendor::InvalidTransition;

#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// Bad fields of the request, each named.
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<Violation>),
    #[error(transparent)]
    Denied(#[from] Denied),
    /// "vendor 0193…": what was looked for.
    #[error("{0} not found")]
    NotFound(String),
    /// A regency, vendor or identifier that is already there.
    #[error("{message}")]
    AlreadyExists {
        field: &'static str,
        message: String,
    },
    /// The state of things refuses it now (a regency not yet joined).
    #[error("{0}")]
    NotNow(String),
    /// The vendor's status does not allow the decision.
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    /// A concurrent change came first: reload and decide again.
    #[error("{0} changed meanwhile; reload it and try again")]
    Changed(String),
    #[error("database: {0}")]
    Store(#[from] DbErr),
}

blangkon_domain::invalid_request!(VendorError);

pub type Result<T, E = VendorError> = std::result::Result<T, E>;
