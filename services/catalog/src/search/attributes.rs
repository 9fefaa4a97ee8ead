//! What documents refer to by number (vendors, categories, legal forms,
//! scales), interned once.

use std::collections::HashMap;

use super::documents::Vendor;

/// Strings stored once and referred to by a small number.
#[derive(Debug, Clone, Default)]
pub(super) struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    pub(super) fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    pub(super) fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }
}

/// What documents refer to by number: vendors (with what filters read of
/// them), categories, legal forms and scales. Searches take a snapshot;
/// writers copy it if a search holds one.
#[derive(Debug, Clone, Default)]
pub(super) struct Attributes {
    pub(super) vendor_ids: Interner,
    pub vendors: Vec<Vendor>,
    pub(super) labels: Interner,
    pub(super) categories_interned: Interner,
    /// Category codes by number.
    pub categories: Vec<String>,
}

impl Attributes {
    pub(super) fn vendor(&mut self, vendor_id: &str) -> u32 {
        let id = self.vendor_ids.id(vendor_id);
        if id as usize == self.vendors.len() {
            // Not heard of yet: hidden until the vendor is known verified.
            self.vendors.push(Vendor {
                verified: false,
                legal_form: u8::MAX,
                scale: u8::MAX,
            });
        }
        id
    }

    pub(super) fn category(&mut self, code: &str) -> u32 {
        let id = self.categories_interned.id(code);
        if id as usize == self.categories.len() {
            self.categories.push(code.to_string());
        }
        id
    }

    pub(super) fn label(&mut self, label: &str) -> u8 {
        u8::try_from(self.labels.id(label)).unwrap_or(u8::MAX)
    }
}
