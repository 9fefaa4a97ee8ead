//! What can stop a read of the reporting service, one case per cause. The
//! gRPC adapter turns each into its status in one place (`api::status`).

use blangkon_domain::validation::{Violation, describe};
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum ReportingError {
    /// Bad fields of the request, each named.
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<Violation>),
    /// OCDS has no empty package: it holds at least one release.
    #[error("no orders were placed in this period (or after this page token)")]
    NothingPlaced,
    /// The OCDS package could not be written as JSON: a broken invariant.
    #[error("the OCDS package: {0}")]
    Encode(String),
    #[error("database: {0}")]
    Store(#[from] DbErr),
}

pub type Result<T, E = ReportingError> = std::result::Result<T, E>;
