//! Reporting rules, free of tonic and sea-orm: what an order counts
//! towards, calendar days in WIB, the analyst records and OCDS releases.

pub mod calendar;
pub mod checks;
pub mod figures;
pub mod ocds;
pub mod records;

pub use figures::{Contribution, Dimension, ItemFacts, OrderFacts};
