//! The vendor domain: identifiers, registrations, the verification state
//! machine and trainings. No tonic, no sea-orm: rules only.

pub mod identifiers;
pub mod regency;
pub mod vendor;

pub use blangkon_platform::validation::Violation;
