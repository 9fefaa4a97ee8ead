//! The vendor service's errors are the platform's [`ApiError`]; see there for
//! how each becomes a gRPC status.

pub use blangkon_platform::api_error::ApiError;
