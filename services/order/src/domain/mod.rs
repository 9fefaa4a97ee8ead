//! The order domain: the lifecycle as one transition table, and money
//! computed from price snapshots with overflow checks. No tonic, no sea-orm.

pub mod lifecycle;
pub mod money;

pub use blangkon_platform::validation::Violation;
