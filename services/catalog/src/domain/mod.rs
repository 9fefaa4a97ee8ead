//! The catalog domain: the category taxonomy, what a product must contain,
//! and the listing state machine. No tonic, no sea-orm: rules only.

pub mod category;
pub mod product;

pub use blangkon_platform::validation::Violation;
