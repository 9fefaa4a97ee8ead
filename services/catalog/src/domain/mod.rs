//! The catalog domain: the category taxonomy, what a product must contain,
//! and the listing state machine. No tonic, no sea-orm: rules only.

/// The taxonomy lives in the domain crate, where reporting names
/// categories from it too.
pub use blangkon_domain::category;
pub mod product;

pub use blangkon_platform::validation::Violation;
