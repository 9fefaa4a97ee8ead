//! The category taxonomy: what governments buy from UMKM, two levels deep.
//! Codes are stable identifiers; names are the Indonesian names buyers use.
//! The catalog owns it (its first migration loads it); reporting, the
//! site and the CLI name categories from the same file.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The taxonomy the catalog's first migration loads, as `code,name` lines
/// under a header. A top-level code is one word; a subcategory's is its
/// parent's code, a dot and a word. Add categories in a new migration,
/// never by editing codes here: products refer to them.
pub const TAXONOMY_CSV: &str = include_str!("../data/categories.csv");

/// A category of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub code: String,
    /// Indonesian.
    pub name: String,
    /// The parent's code; none at the top level.
    pub parent: Option<String>,
}

/// Reads a taxonomy from `csv` (the layout of [`TAXONOMY_CSV`]). A line that
/// is not `code,name`, or a subcategory of a parent not listed before it,
/// is an error naming the line.
pub fn parse_taxonomy(csv: &str) -> Result<Vec<Category>, String> {
    let mut taxonomy: Vec<Category> = Vec::new();
    for (i, line) in csv.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let at = |what: &str| format!("categories line {}: {what}: {line:?}", i + 1);
        let (code, name) = line
            .split_once(',')
            .map(|(code, name)| (code.trim(), name.trim()))
            .filter(|(code, name)| !code.is_empty() && !name.is_empty())
            .ok_or_else(|| at("expected code,name"))?;
        let parent = match code.split_once('.') {
            None => None,
            Some((parent, leaf)) if !leaf.is_empty() && !leaf.contains('.') => {
                let listed = taxonomy
                    .iter()
                    .any(|c| c.code == parent && c.parent.is_none());
                if !listed {
                    return Err(at("its parent is not a top-level category listed above"));
                }
                Some(parent.to_string())
            }
            Some(_) => return Err(at("a code is one word or parent.word")),
        };
        if taxonomy.iter().any(|c| c.code == code) {
            return Err(at("the code is listed twice"));
        }
        taxonomy.push(Category {
            code: code.to_string(),
            name: name.to_string(),
            parent,
        });
    }
    Ok(taxonomy)
}

/// The shipped taxonomy's names by code.
static NAMES: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    parse_taxonomy(TAXONOMY_CSV)
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.code, c.name))
        .collect()
});

/// A category's name as a person reads it: its own for a top-level code
/// (`Katering Makanan`), its parent's and its own for a subcategory
/// (`Katering Makanan › Nasi Kotak`); `None` for a code the shipped
/// taxonomy does not hold.
pub fn category_name(code: &str) -> Option<String> {
    let own = NAMES.get(code)?;
    Some(match code.split_once('.') {
        Some((parent, _)) => match NAMES.get(parent) {
            Some(parent) => format!("{parent} › {own}"),
            None => own.clone(),
        },
        None => own.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_taxonomy_reads_with_every_subcategory_under_its_parent() {
        let taxonomy = parse_taxonomy(TAXONOMY_CSV).unwrap();
        assert_eq!(taxonomy.len(), 36);
        assert_eq!(taxonomy.iter().filter(|c| c.parent.is_none()).count(), 10);
        let nasi = taxonomy
            .iter()
            .find(|c| c.code == "katering.nasi-kotak")
            .unwrap();
        assert_eq!(nasi.name, "Nasi Kotak");
        assert_eq!(nasi.parent.as_deref(), Some("katering"));
        for c in &taxonomy {
            if let Some(parent) = &c.parent {
                assert!(c.code.starts_with(&format!("{parent}.")), "{}", c.code);
            }
        }
    }

    #[test]
    fn a_category_is_named_with_its_parent() {
        assert_eq!(
            category_name("katering").as_deref(),
            Some("Katering Makanan")
        );
        assert_eq!(
            category_name("katering.nasi-kotak").as_deref(),
            Some("Katering Makanan › Nasi Kotak")
        );
        assert_eq!(category_name("katering.unknown"), None);
        assert_eq!(category_name(""), None);
    }

    #[test]
    fn a_malformed_taxonomy_is_refused_naming_the_line() {
        let refused = |csv: &str| parse_taxonomy(csv).unwrap_err();
        assert!(refused("code,name\nkatering\n").contains("line 2"));
        assert!(refused("code,name\n,Katering\n").contains("expected code,name"));
        assert!(refused("code,name\nkatering.nasi,Nasi\n").contains("parent"));
        assert!(refused("code,name\na,A\na.b.c,C\n").contains("one word or parent.word"));
        assert!(refused("code,name\na,A\na.b,B\na.b,B again\n").contains("twice"));
        assert!(refused("code,name\na,A\na.,Empty\n").contains("one word or parent.word"));
    }
}
