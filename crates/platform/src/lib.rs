//! What every Blangkon service shares: the service skeleton ([`service`]:
//! settings, start-up, the binary's commands), layered settings, telemetry,
//! gRPC serving with health and reflection, database connection and
//! migrations, the transactional outbox and its relay, the inbox consumer,
//! Prometheus metrics and bearer token authentication.

pub mod auth;
pub mod bulk;
pub mod caller_limit;
pub mod db;
pub mod dead_letters;
pub mod grpc;
pub mod host;
pub mod http;
pub mod inbox;
pub mod kafka;
pub mod metrics;
pub mod migration;
pub mod outbox;
pub mod page;
pub mod retry;
pub mod service;
pub mod settings;
pub mod status;
pub mod suite;
pub mod telemetry;
pub mod time;
pub mod tls;
pub mod validation;

pub use tokio_util::sync::CancellationToken;
