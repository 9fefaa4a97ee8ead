//! Reporting rules, free of tonic and sea-orm: what an order counts
//! towards, calendar days in WIB, the analyst records, OCDS releases and
//! the auditors' red flags.

pub mod calendar;
pub mod checks;
pub mod figures;
pub mod ocds;
pub mod records;
pub mod red_flags;

pub use figures::{Contribution, Dimension, ItemFacts, OrderFacts};
