//! Reporting rules, free of tonic and sea-orm: what an order counts
//! towards, calendar days in WIB, the analyst records, OCDS releases,
//! the auditors' red flags and codes' labels.

pub mod calendar;
pub mod checks;
pub mod figures;
pub mod labels;
pub mod ocds;
pub mod records;
pub mod red_flags;

pub use figures::{Contribution, Dimension, ItemFacts, OrderFacts};
