//! A buyer's words as a tantivy query: every word a clause, scored by BM25
//! over the weighted words of name, category and description.
//!
//! A word the index does not know is taken as a typo: its clause holds
//! the words one edit away (an insertion, deletion, substitution or swap of
//! neighbours) that the index does know, at half weight. With three words
//! or more a product matching more than half of them also matches
//! ([`MostOf`]), and [`full_match`] tells the full matches apart so that
//! they rank first.

use std::collections::BTreeSet;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, EnableScoring, Explanation,
    FuzzyTermQuery, Occur, Query, Scorer, TermQuery, Weight,
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
    /// Every product the words find that passes the filters.
    pub matching: Box<dyn Query>,
    /// Whether scores mean anything (there were words).
    pub scored: bool,
    /// Whether `matching` also finds products with only most of the words
    /// (it is then a [`MostOf`]: [`full_match`] tells how each hit matched).
    pub partial: bool,
}

/// How many of `words` distinct words a product needs to match: all of
/// one or two, more than half of three or more.
pub(super) fn required_words(words: usize) -> usize {
    if words <= 2 { words } else { words / 2 + 1 }
}

/// The plan for the analysed, distinct `terms` of the words `field`, of
/// products matching every one of `filters` (which do not score).
pub(super) fn plan(
    searcher: &Searcher,
    field: Field,
    terms: &[String],
    filters: Vec<Box<dyn Query>>,
) -> tantivy::Result<Plan> {
    let clauses = terms
        .iter()
        .map(|term| word(searcher, field, term))
        .collect::<tantivy::Result<Vec<_>>>()?;
    let required = required_words(clauses.len());
    let scored = !clauses.is_empty();
    if required < clauses.len() {
        return Ok(Plan {
            matching: Box::new(MostOf {
                clauses,
                required,
                filters,
            }),
            scored,
            partial: true,
        });
    }
    // Every word must match: tantivy's own intersection, the filters
    // joining it without a score.
    let mut must: Vec<(Occur, Box<dyn Query>)> =
        clauses.into_iter().map(|c| (Occur::Must, c)).collect();
    for filter in filters {
        must.push((Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))));
    }
    let matching: Box<dyn Query> = match must.len() {
        0 => Box::new(AllQuery),
        1 if scored => must.remove(0).1,
        _ => Box::new(BooleanQuery::new(must)),
    };
    Ok(Plan {
        matching,
        scored,
        partial: false,
    })
}

/// Whether the hit `scorer` stands on matched every word (a [`MostOf`]'s
/// scorer); any other scorer's hits are full matches.
pub(super) fn full_match(scorer: &dyn Scorer) -> bool {
    scorer
        .downcast_ref::<MostOfScorer>()
        .is_none_or(|most| most.matched == most.clauses)
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

/// Documents matching at least `required` of `clauses` and every one of
/// `filters`, scored by the sum of the clauses they match.
///
/// tantivy's minimum-should-match walks every posting of every clause; this
/// walks only those of the `n - required + 1` cheapest clauses, since a
/// document missing all of them matches at most `required - 1`, and looks
/// the others up by skipping (for "nasi kotak ayam", "nasi" is never
/// walked). Its scorer also tells whether a hit matched every clause,
/// which ranks it among the full matches.
#[derive(Debug)]
struct MostOf {
    clauses: Vec<Box<dyn Query>>,
    required: usize,
    filters: Vec<Box<dyn Query>>,
}

impl Clone for MostOf {
    fn clone(&self) -> Self {
        Self {
            clauses: self.clauses.iter().map(|c| c.box_clone()).collect(),
            required: self.required,
            filters: self.filters.iter().map(|f| f.box_clone()).collect(),
        }
    }
}

impl Query for MostOf {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let weights = |queries: &[Box<dyn Query>], scoring| {
            queries
                .iter()
                .map(|q| q.weight(scoring))
                .collect::<tantivy::Result<Vec<_>>>()
        };
        let unscored = match scoring {
            EnableScoring::Enabled { searcher, .. } => {
                EnableScoring::disabled_from_searcher(searcher)
            }
            disabled => disabled,
        };
        Ok(Box::new(MostOfWeight {
            clauses: weights(&self.clauses, scoring)?,
            required: self.required,
            filters: weights(&self.filters, unscored)?,
        }))
    }
}

struct MostOfWeight {
    clauses: Vec<Box<dyn Weight>>,
    required: usize,
    filters: Vec<Box<dyn Weight>>,
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
        let filters = self
            .filters
            .iter()
            .map(|f| f.scorer(reader, 0.0))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let mut scorer = MostOfScorer {
            clauses: scorers.len(),
            scorers,
            walked,
            required: self.required.max(1),
            filters,
            doc: TERMINATED,
            score: 0.0,
            matched: 0,
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
    clauses: usize,
    walked: usize,
    required: usize,
    /// Every hit is in each of these.
    filters: Vec<Box<dyn Scorer>>,
    doc: DocId,
    score: Score,
    /// Clauses the current hit matched.
    matched: usize,
}

impl MostOfScorer {
    /// Goes to the first document from the walked scorers' positions on
    /// that passes the filters and matches enough clauses.
    fn find(&mut self) -> DocId {
        'candidates: loop {
            let candidate = self.scorers[..self.walked]
                .iter()
                .map(|s| s.doc())
                .min()
                .unwrap_or(TERMINATED);
            if candidate == TERMINATED {
                self.doc = TERMINATED;
                return TERMINATED;
            }
            for filter in &mut self.filters {
                if filter.doc() < candidate {
                    filter.seek(candidate);
                }
                let next = filter.doc();
                if next == TERMINATED {
                    self.doc = TERMINATED;
                    return TERMINATED;
                }
                if next != candidate {
                    // Nothing before the filter's next document can pass.
                    for scorer in &mut self.scorers[..self.walked] {
                        if scorer.doc() < next {
                            scorer.seek(next);
                        }
                    }
                    continue 'candidates;
                }
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
                self.matched = matched;
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
                filters: Vec::new(),
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
