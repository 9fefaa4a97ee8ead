//! A buyer's words as a tantivy query: every word a clause, each clause
//! the word in name, category and description with their weights (BM25
//! per field, name × 3, category × 2, description × 1).
//!
//! A word the index does not know is taken as a typo: its clause holds
//! the words one edit away (an insertion, deletion, substitution or swap of
//! neighbours) that the index does know, at half weight. With three words
//! or more a product matching most of them also matches, and
//! [`Plan::everything`] tells the full matches apart so they rank first.

use std::collections::BTreeSet;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, EmptyQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

/// A term matched only through a typo counts half.
const TYPO_FACTOR: f32 = 0.5;
/// Words shorter than this are not corrected: too many short words lie
/// one edit from each other.
const TYPO_MIN_CHARS: usize = 4;

/// What to run for a search.
pub(super) struct Plan {
    /// Every product the words find.
    pub matching: Box<dyn Query>,
    /// The products having every word, when `matching` also holds products
    /// having only most of them.
    pub everything: Option<Box<dyn Query>>,
    /// Whether scores mean anything (there were words).
    pub scored: bool,
}

/// How many of `words` distinct words a product needs to match: all of
/// one or two, more than half of three or more.
pub(super) fn required_words(words: usize) -> usize {
    if words <= 2 { words } else { words / 2 + 1 }
}

/// The plan for the analysed, distinct `terms` over the weighted `fields`.
pub(super) fn plan(
    searcher: &Searcher,
    fields: &[(Field, f32)],
    terms: &[String],
) -> tantivy::Result<Plan> {
    if terms.is_empty() {
        return Ok(Plan {
            matching: Box::new(AllQuery),
            everything: None,
            scored: false,
        });
    }
    let clauses = terms
        .iter()
        .map(|term| word(searcher, fields, term))
        .collect::<tantivy::Result<Vec<_>>>()?;
    let all = |clauses: &[Box<dyn Query>]| -> Box<dyn Query> {
        Box::new(BooleanQuery::new(
            clauses
                .iter()
                .map(|c| (Occur::Must, c.box_clone()))
                .collect(),
        ))
    };
    let required = required_words(clauses.len());
    if required == clauses.len() {
        return Ok(Plan {
            matching: all(&clauses),
            everything: None,
            scored: true,
        });
    }
    let everything = all(&clauses);
    let most = BooleanQuery::with_minimum_required_clauses(
        clauses.into_iter().map(|c| (Occur::Should, c)).collect(),
        required,
    );
    Ok(Plan {
        matching: Box::new(most),
        everything: Some(everything),
        scored: true,
    })
}

/// One word's clause: the word itself in every field, or, unknown, its
/// spellings one edit away.
fn word(
    searcher: &Searcher,
    fields: &[(Field, f32)],
    term: &str,
) -> tantivy::Result<Box<dyn Query>> {
    let mut known = false;
    for (field, _) in fields {
        if searcher.doc_freq(&Term::from_field_text(*field, term))? > 0 {
            known = true;
            break;
        }
    }
    let spellings: Vec<(Field, String, f32)> = if known {
        fields
            .iter()
            .map(|(field, weight)| (*field, term.to_string(), *weight))
            .collect()
    } else if term.chars().count() >= TYPO_MIN_CHARS {
        let mut found = Vec::new();
        for (field, weight) in fields {
            for spelling in one_edit_away(searcher, *field, term)? {
                found.push((*field, spelling, weight * TYPO_FACTOR));
            }
        }
        found
    } else {
        Vec::new()
    };
    if spellings.is_empty() {
        return Ok(Box::new(EmptyQuery));
    }
    Ok(Box::new(BooleanQuery::new(
        spellings
            .into_iter()
            .map(|(field, text, weight)| {
                let term = TermQuery::new(
                    Term::from_field_text(field, &text),
                    IndexRecordOption::WithFreqs,
                );
                let clause: Box<dyn Query> = Box::new(BoostQuery::new(Box::new(term), weight));
                (Occur::Should, clause)
            })
            .collect(),
    )))
}

/// The terms of `field` within one edit of `term` (a swap of neighbours
/// counting as one), across every segment.
fn one_edit_away(
    searcher: &Searcher,
    field: Field,
    term: &str,
) -> tantivy::Result<BTreeSet<String>> {
    let automaton = FuzzyTermQuery::new(Term::from_field_text(field, term), 1, true).automaton()?;
    let mut found = BTreeSet::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted.terms().search(&automaton).into_stream()?;
        while stream.advance() {
            if let Ok(text) = std::str::from_utf8(stream.key()) {
                found.insert(text.to_string());
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_or_two_words_must_all_match_and_more_need_a_majority() {
        let required: Vec<usize> = (0..=6).map(required_words).collect();
        assert_eq!(required, [0, 1, 2, 2, 3, 3, 4]);
    }
}
