//! What can stop a use case of the catalog service, one case per cause.
//! The gRPC adapter turns each into its status in one place
//! (`api::status`); nothing here knows of gRPC.

use blangkon_domain::Denied;
use blangkon_domain::validation::{Refusal, Violation, describe, describe_refusals};
use sea_orm::DbErr;

use crate::domain::product::ListingError;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Bad fields of the request, each named.
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<Violation>),
    #[error(transparent)]
    Denied(#[from] Denied),
    /// "product 0193…": what was looked for.
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    AlreadyExists {
        field: &'static str,
        message: String,
    },
    /// The product's status does not allow the listing step.
    #[error(transparent)]
    Listing(#[from] ListingError),
    /// What stands refuses the request: the stock or listing of named
    /// lines, a vendor the catalog does not know as verified.
    #[error("refused: {}", describe_refusals(.0))]
    Refused(Vec<Refusal>),
    /// A concurrent change came first: reload and try again.
    #[error("{0} changed meanwhile; reload it and try again")]
    Changed(String),
    /// Concurrent calls kept changing the same thing; the same call may
    /// pass when retried.
    #[error("{0}")]
    Busy(String),
    /// The search index failed: a broken invariant of this replica.
    #[error("search: {0}")]
    Search(String),
    #[error("database: {0}")]
    Store(#[from] DbErr),
}

blangkon_domain::invalid_request!(CatalogError);

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;
