//! A buyer's words as a tantivy query: every word a clause, scored by BM25
//! over the weighted words of name, category and description.
//!
//! A word the index does not know is taken as a typo: its clause holds
//! the words one edit away (an insertion, deletion, substitution or swap of
//! neighbours) that the index does know, at half weight. With three words
//! or more a product matching most of them also matches, and
//! [`Plan::everything`] tells the full matches apart so they rank first.

use std::collections::BTreeSet;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, EmptyQuery, EnableScoring, Explanation, FuzzyTermQuery,
    Occur, Query, Scorer, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED, Term};

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

/// The plan for the analysed, distinct `terms` of the words `field`.
pub(super) fn plan(searcher: &Searcher, field: Field, terms: &[String]) -> tantivy::Result<Plan> {
    if terms.is_empty() {
        return Ok(Plan {
            matching: Box::new(AllQuery),
            everything: None,
            scored: false,
        });
    }
    let clauses = terms
        .iter()
        .map(|term| word(searcher, field, term))
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
    let most = MostOf { clauses, required };
    Ok(Plan {
        matching: Box::new(most),
        everything: Some(everything),
        scored: true,
    })
}

/// One word's clause: the word itself, or, unknown, its spellings one edit
/// away.
fn word(searcher: &Searcher, field: Field, term: &str) -> tantivy::Result<Box<dyn Query>> {
    let query = |text: &str| {
        TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::WithFreqs,
        )
    };
    if searcher.doc_freq(&Term::from_field_text(field, term))? > 0 {
        return Ok(Box::new(query(term)));
    }
    if term.chars().count() < TYPO_MIN_CHARS {
        return Ok(Box::new(EmptyQuery));
    }
    let spellings = one_edit_away(searcher, field, term)?;
    if spellings.is_empty() {
        return Ok(Box::new(EmptyQuery));
    }
    Ok(Box::new(BooleanQuery::new(
        spellings
            .iter()
            .map(|spelling| {
                let clause: Box<dyn Query> =
                    Box::new(BoostQuery::new(Box::new(query(spelling)), TYPO_FACTOR));
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

/// Documents matching at least `required` of `clauses`, scored by the sum
/// of the clauses they match.
///
/// tantivy's minimum-should-match walks every posting of every clause; this
/// walks only those of the `n - required + 1` cheapest clauses, since a
/// document missing all of them matches at most `required - 1`, and looks
/// the others up by skipping (for "nasi kotak ayam", "nasi" is never
/// walked).
#[derive(Debug)]
struct MostOf {
    clauses: Vec<Box<dyn Query>>,
    required: usize,
}

impl Clone for MostOf {
    fn clone(&self) -> Self {
        Self {
            clauses: self.clauses.iter().map(|c| c.box_clone()).collect(),
            required: self.required,
        }
    }
}

impl Query for MostOf {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(MostOfWeight {
            clauses: self
                .clauses
                .iter()
                .map(|c| c.weight(scoring))
                .collect::<tantivy::Result<_>>()?,
            required: self.required,
        }))
    }
}

struct MostOfWeight {
    clauses: Vec<Box<dyn Weight>>,
    required: usize,
}

impl Weight for MostOfWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut scorers = self
            .clauses
            .iter()
            .map(|c| c.scorer(reader, boost))
            .collect::<tantivy::Result<Vec<_>>>()?;
        scorers.sort_by_key(|s| s.cost());
        let walked = (scorers.len() + 1).saturating_sub(self.required).max(1);
        let mut scorer = MostOfScorer {
            scorers,
            walked,
            required: self.required.max(1),
            doc: TERMINATED,
            score: 0.0,
        };
        scorer.find();
        Ok(Box::new(scorer))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.doc() < doc {
            scorer.seek(doc);
        }
        if scorer.doc() != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new(
            "sum of the matching clauses",
            scorer.score(),
        ))
    }
}

struct MostOfScorer {
    /// Cheapest first; the first `walked` are walked, the rest sought.
    scorers: Vec<Box<dyn Scorer>>,
    walked: usize,
    required: usize,
    doc: DocId,
    score: Score,
}

impl MostOfScorer {
    /// Goes to the first document from the walked scorers' positions on
    /// that matches enough clauses.
    fn find(&mut self) -> DocId {
        loop {
            let candidate = self.scorers[..self.walked]
                .iter()
                .map(|s| s.doc())
                .min()
                .unwrap_or(TERMINATED);
            if candidate == TERMINATED {
                self.doc = TERMINATED;
                return TERMINATED;
            }
            let (mut matched, mut score) = (0, 0.0);
            for scorer in &mut self.scorers {
                if scorer.doc() < candidate {
                    scorer.seek(candidate);
                }
                if scorer.doc() == candidate {
                    matched += 1;
                    score += scorer.score();
                }
            }
            if matched >= self.required {
                self.doc = candidate;
                self.score = score;
                return candidate;
            }
            self.step_past(candidate);
        }
    }

    fn step_past(&mut self, doc: DocId) {
        for scorer in &mut self.scorers[..self.walked] {
            if scorer.doc() == doc {
                scorer.advance();
            }
        }
    }
}

impl DocSet for MostOfScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        self.step_past(self.doc);
        self.find()
    }

    /// Skips the walked scorers ahead, so that an intersection (with the
    /// delivery filter) leapfrogs rather than walks.
    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for scorer in &mut self.scorers[..self.walked] {
            if scorer.doc() < target {
                scorer.seek(target);
            }
        }
        self.find()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.scorers[..self.walked]
            .iter()
            .map(|s| s.size_hint())
            .fold(0, u32::saturating_add)
    }

    fn cost(&self) -> u64 {
        self.scorers[..self.walked]
            .iter()
            .map(|s| s.cost())
            .fold(0, u64::saturating_add)
    }
}

impl Scorer for MostOfScorer {
    fn score(&mut self) -> Score {
        self.score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tantivy::collector::{DocSetCollector, TopDocs};
    use tantivy::schema::{Schema, TEXT};
    use tantivy::{DocAddress, Index, TantivyDocument};

    /// An index of documents made of words `a` to `f`, several segments.
    fn corpus() -> (Index, Field) {
        let mut schema = Schema::builder();
        let field = schema.add_text_field("words", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let words = ["a", "b", "c", "d", "e", "f"];
        for i in 0u32..3000 {
            let mut doc = TantivyDocument::default();
            // A spread of subsets and repeats, deterministic.
            let text: Vec<&str> = words
                .iter()
                .enumerate()
                .filter(|(w, _)| (i.wrapping_mul(2_654_435_761) >> (3 * w)) % 3 == 0)
                .flat_map(|(w, word)| std::iter::repeat_n(*word, 1 + (i as usize + w) % 3))
                .collect();
            doc.add_text(field, text.join(" "));
            writer.add_document(doc).unwrap();
            if i % 1000 == 999 {
                writer.commit().unwrap();
            }
        }
        writer.commit().unwrap();
        (index, field)
    }

    fn terms(field: Field, words: &[&str]) -> Vec<Box<dyn Query>> {
        words
            .iter()
            .map(|w| {
                Box::new(TermQuery::new(
                    Term::from_field_text(field, w),
                    IndexRecordOption::WithFreqs,
                )) as Box<dyn Query>
            })
            .collect()
    }

    #[test]
    fn most_of_matches_and_scores_as_a_minimum_should_match_does() {
        let (index, field) = corpus();
        let searcher = index.reader().unwrap().searcher();
        assert!(searcher.segment_readers().len() > 1);
        for (words, required) in [
            (&["a", "b", "c"][..], 2),
            (&["a", "b", "c", "d"][..], 3),
            (&["f", "a", "e", "b", "c"][..], 3),
            (&["a", "b", "c", "d", "e", "f"][..], 4),
            (&["a", "zzz", "b"][..], 2),
        ] {
            let ours = MostOf {
                clauses: terms(field, words),
                required,
            };
            let theirs = BooleanQuery::with_minimum_required_clauses(
                terms(field, words)
                    .into_iter()
                    .map(|c| (Occur::Should, c))
                    .collect(),
                required,
            );
            // Seeking, as an intersection with a filter does.
            let filter = || -> Box<dyn Query> {
                Box::new(TermQuery::new(
                    Term::from_field_text(field, "f"),
                    IndexRecordOption::Basic,
                ))
            };
            let sought = |most: Box<dyn Query>| {
                let both = BooleanQuery::new(vec![(Occur::Must, most), (Occur::Must, filter())]);
                searcher.search(&both, &DocSetCollector).unwrap()
            };
            assert_eq!(
                sought(Box::new(ours.clone())),
                sought(Box::new(BooleanQuery::with_minimum_required_clauses(
                    terms(field, words)
                        .into_iter()
                        .map(|c| (Occur::Should, c))
                        .collect(),
                    required,
                ))),
                "{words:?} of {required}, with a filter"
            );
            let ours_docs = searcher.search(&ours, &DocSetCollector).unwrap();
            let theirs_docs = searcher.search(&theirs, &DocSetCollector).unwrap();
            assert!(!theirs_docs.is_empty(), "{words:?}");
            assert_eq!(ours_docs, theirs_docs, "{words:?} of {required}");
            // Every match with its score (rounded: sums in another order).
            let scored = |q: &dyn Query| -> Vec<(DocAddress, u32)> {
                let mut all: Vec<(DocAddress, u32)> = searcher
                    .search(q, &TopDocs::with_limit(5000).order_by_score())
                    .unwrap()
                    .into_iter()
                    .map(|(score, doc)| (doc, (score * 1000.0).round() as u32))
                    .collect();
                all.sort();
                all
            };
            assert_eq!(scored(&ours), scored(&theirs), "{words:?} of {required}");
        }
    }

    #[test]
    fn one_or_two_words_must_all_match_and_more_need_a_majority() {
        let required: Vec<usize> = (0..=6).map(required_words).collect();
        assert_eq!(required, [0, 1, 2, 2, 3, 3, 4]);
    }
}
