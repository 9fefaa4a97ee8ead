//! What can stop a use case of the order service, one case per cause. The
//! gRPC adapter turns each into its status in one place (`api::status`);
//! nothing here knows of gRPC.

use blangkon_domain::Denied;
use blangkon_domain::validation::{Refusal, Violation, describe, describe_refusals};
use sea_orm::DbErr;

use crate::domain::lifecycle::InvalidTransition;
use crate::domain::money::MoneyError;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// Bad fields of the request, each named.
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<Violation>),
    #[error(transparent)]
    Denied(#[from] Denied),
    /// "order 0193…": what was looked for.
    #[error("{0} not found")]
    NotFound(String),
    /// An idempotency key already used for another order.
    #[error("{message}")]
    AlreadyExists {
        field: &'static str,
        message: String,
    },
    /// The state of things refuses it now (a vendor not verified).
    #[error("{0}")]
    NotNow(String),
    /// The order's status does not allow the step.
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    /// Totals that do not fit, or over the ceiling: the lines are at fault.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The catalog refused named lines (out of stock, not listed).
    #[error("refused: {}", describe_refusals(.0))]
    Refused(Vec<Refusal>),
    /// A concurrent change came first: reload and try again.
    #[error("{0} changed meanwhile; reload it and try again")]
    Changed(String),
    /// Another call with the same idempotency key is placing: retry.
    #[error("{0}")]
    InProgress(String),
    /// A service this one depends on cannot answer now: retry later.
    #[error("{0}")]
    Unavailable(String),
    #[error("database: {0}")]
    Store(#[from] DbErr),
}

blangkon_domain::invalid_request!(OrderError);

pub type Result<T, E = OrderError> = std::result::Result<T, E>;
