//! The vendor domain: identifiers, registrations, the verification state
//! machine and trainings. No tonic, no sea-orm: rules only.

pub mod identifiers;
pub mod regency;
pub mod vendor;

/// One invalid field of a request, named the way the API names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}
