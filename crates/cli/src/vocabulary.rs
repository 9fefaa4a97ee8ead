//! The words generated products are made of: one template per category
//! with Indonesian names, units and price ranges, and the makers and places
//! names mention (`catalog_vocabulary.json`). Shared by `blangkon bench
//! catalog` and `blangkon demo`.

use anyhow::Context as _;
use rand::Rng;
use rand::rngs::StdRng;
use serde::Deserialize;

/// The words products are made of, kept as data beside this file.
const VOCABULARY_JSON: &str = include_str!("catalog_vocabulary.json");

/// What generated products are made of: one template per category, and
/// the makers and places their names and descriptions mention.
#[derive(Debug, Deserialize)]
pub struct Vocabulary {
    pub templates: Vec<Template>,
    pub makers: Vec<String>,
    pub places: Vec<String>,
}

/// How to make products of one category: "{kind} {variant} {maker}".
#[derive(Debug, Deserialize)]
pub struct Template {
    pub category: String,
    pub unit: String,
    /// Price range per unit in rupiah.
    pub price: (i64, i64),
    pub kinds: Vec<String>,
    pub variants: Vec<String>,
}

impl Vocabulary {
    /// The shipped vocabulary. Every list must have a word: the generator
    /// picks one of each.
    pub fn load() -> anyhow::Result<Self> {
        let vocabulary: Self =
            serde_json::from_str(VOCABULARY_JSON).context("reading catalog_vocabulary.json")?;
        let empty = vocabulary.templates.is_empty()
            || vocabulary.makers.is_empty()
            || vocabulary.places.is_empty()
            || vocabulary
                .templates
                .iter()
                .any(|t| t.kinds.is_empty() || t.variants.is_empty() || t.price.0 > t.price.1);
        anyhow::ensure!(
            !empty,
            "catalog_vocabulary.json has an empty list or price range"
        );
        Ok(vocabulary)
    }
}

/// One of `items`, chosen by `rng`.
pub fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}
