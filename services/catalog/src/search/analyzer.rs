//! Indonesian text analysis for search, as a tantivy analyzer chain:
//! split into words, lower-case them, drop stopwords, and reduce each word
//! to its root with the Nazief–Adriani stemmer (Sastrawi), so that
//! "makanan", "dimakan" and "makan" meet on "makan".
//!
//! Products are indexed and queries read through the same chain.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use lru::LruCache;

use sastrawi::{Dictionary, Stemmer};
use tantivy::tokenizer::{
    BoxTokenStream, LowerCaser, SimpleTokenizer, StopWordFilter, TextAnalyzer, Token, TokenFilter,
    TokenStream, Tokenizer,
};

/// The name the chain is registered under in the index, repeating each
/// word as its text's weight asks ([`weighted`]).
pub const NAME: &str = "indonesian";

/// Marks a text's weight, before one digit, at its start.
const WEIGHT_MARK: char = '\u{1}';

/// Words that carry no meaning for finding a product.
const STOPWORDS: &[&str] = &[
    "dan", "atau", "untuk", "dengan", "yang", "di", "ke", "dari", "per", "isi", "ini", "itu",
    "pada", "dalam", "the", "and", "of", "a", "an", "x",
];

/// The whole chain, stemming through `stemmer` (whose cache its copies
/// share).
pub fn analyzer(stemmer: SastrawiStemmer) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            STOPWORDS.iter().map(|w| w.to_string()),
        ))
        .filter(stemmer)
        .build()
}

/// `text` marked to count `weight` times (1 to 9) where [`weighted`]
/// analyses it.
pub fn with_weight(text: &str, weight: u8) -> String {
    let weight = char::from(b'0' + weight.clamp(1, 9));
    let mut marked = String::with_capacity(text.len() + 2);
    marked.push(WEIGHT_MARK);
    marked.push(weight);
    marked.push_str(text);
    marked
}

/// `analyzer`, giving each word of a text marked [`with_weight`] as many
/// times as its weight: a weighted text counts in term frequencies and in
/// the field's length as if added that many times, analysed once.
/// Unmarked text (and a mark a product's own words might carry after the
/// first) counts once.
pub fn weighted(analyzer: TextAnalyzer) -> TextAnalyzer {
    TextAnalyzer::from(Weighted { inner: analyzer })
}

#[derive(Clone)]
struct Weighted {
    inner: TextAnalyzer,
}

impl Tokenizer for Weighted {
    type TokenStream<'a> = WeightedTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WeightedTokenStream<'a> {
        let mut chars = text.chars();
        let (weight, rest) = match (chars.next(), chars.next()) {
            (Some(WEIGHT_MARK), Some(digit @ '1'..='9')) => {
                (usize::from(digit as u8 - b'0'), chars.as_str())
            }
            _ => (1, text),
        };
        WeightedTokenStream {
            inner: self.inner.token_stream(rest),
            weight,
            left: 0,
        }
    }
}

struct WeightedTokenStream<'a> {
    inner: BoxTokenStream<'a>,
    weight: usize,
    /// Repeats of the current word still to give.
    left: usize,
}

impl TokenStream for WeightedTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.left > 0 {
            self.left -= 1;
            return true;
        }
        if !self.inner.advance() {
            return false;
        }
        self.left = self.weight - 1;
        true
    }

    fn token(&self) -> &Token {
        self.inner.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.inner.token_mut()
    }
}

/// The terms `analyzer` makes of `text`, in order.
pub fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    while stream.advance() {
        terms.push(stream.token().text.clone());
    }
    terms
}

fn stemmer() -> &'static Stemmer<'static> {
    static DICTIONARY: OnceLock<Dictionary> = OnceLock::new();
    static STEMMER: OnceLock<Stemmer<'static>> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::new(DICTIONARY.get_or_init(Dictionary::new)))
}

/// Most words the stem cache holds: a province's catalog has tens of
/// thousands of distinct words; queries bring misspellings and nonsense
/// without end, which the least recently used give way to.
pub const STEM_CACHE_WORDS: usize = 200_000;

/// A token filter replacing each lower-cased word by its Sastrawi root.
///
/// Stems are cached, shared by every copy of the filter (tantivy clones
/// the analyzer per indexing thread and per query): a catalog has tens of
/// thousands of distinct words and millions of occurrences, and the
/// dictionary stemmer is slow next to a hash lookup. The cache is bounded:
/// the least recently used stem goes when it is full.
#[derive(Clone)]
pub struct SastrawiStemmer {
    cache: Arc<StemCache>,
}

struct StemCache {
    words: Mutex<LruCache<String, String>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What the stem cache holds and how well it serves, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StemCacheFigures {
    pub words: usize,
    pub hits: u64,
    pub misses: u64,
}

impl Default for SastrawiStemmer {
    fn default() -> Self {
        Self::with_capacity(STEM_CACHE_WORDS)
    }
}

impl SastrawiStemmer {
    /// A stemmer whose cache holds at most `words` stems.
    pub fn with_capacity(words: usize) -> Self {
        let capacity = NonZeroUsize::new(words).unwrap_or(NonZeroUsize::MIN);
        Self {
            cache: Arc::new(StemCache {
                words: Mutex::new(LruCache::new(capacity)),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            }),
        }
    }

    pub fn figures(&self) -> StemCacheFigures {
        StemCacheFigures {
            words: self.words().len(),
            hits: self.cache.hits.load(Ordering::Relaxed),
            misses: self.cache.misses.load(Ordering::Relaxed),
        }
    }

    fn words(&self) -> std::sync::MutexGuard<'_, LruCache<String, String>> {
        // A panic elsewhere leaves the cache as consistent as before it.
        self.cache
            .words
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn stem_into(&self, word: &mut String) {
        // Numbers and codes ("a4", "80gr") and short words are kept as
        // they are.
        if word.chars().any(|c| c.is_ascii_digit()) || word.chars().count() < 4 {
            return;
        }
        // Sastrawi slices words by bytes and panics inside a multi-byte
        // character (found by fuzzing: "ker瓞t"); Indonesian affixes are
        // ASCII, so a word with any other letter is kept as it is.
        if !word.is_ascii() {
            return;
        }
        if let Some(stem) = self.words().get(word.as_str()) {
            word.clone_from(stem);
            self.cache.hits.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.cache.misses.fetch_add(1, Ordering::Relaxed);
        // Stemmed outside the lock: the dictionary walk is the slow part.
        let mut stem = word.clone();
        stemmer().stem_word(&mut stem);
        // Never stem a word away entirely.
        if stem.chars().count() < 2 {
            stem.clone_from(word);
        }
        self.words()
            .put(std::mem::replace(word, stem.clone()), stem);
    }
}

impl TokenFilter for SastrawiStemmer {
    type Tokenizer<T: Tokenizer> = StemmingTokenizer<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> StemmingTokenizer<T> {
        StemmingTokenizer {
            inner,
            stemmer: self,
        }
    }
}

#[derive(Clone)]
pub struct StemmingTokenizer<T> {
    inner: T,
    stemmer: SastrawiStemmer,
}

impl<T: Tokenizer> Tokenizer for StemmingTokenizer<T> {
    type TokenStream<'a> = StemmingTokenStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StemmingTokenStream {
            tail: self.inner.token_stream(text),
            stemmer: &self.stemmer,
        }
    }
}

pub struct StemmingTokenStream<'a, S> {
    tail: S,
    stemmer: &'a SastrawiStemmer,
}

impl<S: TokenStream> TokenStream for StemmingTokenStream<'_, S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        self.stemmer.stem_into(&mut self.tail.token_mut().text);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyse(text: &str) -> Vec<String> {
        terms(&mut analyzer(SastrawiStemmer::default()), text)
    }

    #[test]
    fn a_filter_after_the_stemmer_changes_the_stemmed_token() {
        let mut analyzer = analyzer(SastrawiStemmer::default());
        let mut stream = analyzer.token_stream("makanan");
        assert!(stream.advance());
        stream.token_mut().text.push('!');
        assert_eq!(stream.token().text, "makan!");
        assert!(!stream.advance());
    }

    #[test]
    fn a_weighted_text_gives_each_word_as_often_as_its_weight() {
        let mut chain = weighted(analyzer(SastrawiStemmer::default()));
        assert_eq!(
            terms(&mut chain, &with_weight("Makanan ringan", 3)),
            ["makan", "makan", "makan", "ringan", "ringan", "ringan"]
        );
        assert_eq!(terms(&mut chain, &with_weight("kue", 1)), ["kue"]);
        assert_eq!(terms(&mut chain, "kue basah"), ["kue", "basah"]);
        // Only the first mark weighs; one in a product's own words does not.
        assert_eq!(
            terms(&mut chain, &with_weight("\u{1}5kue", 2)),
            ["5kue", "5kue"]
        );
        assert!(terms(&mut chain, &with_weight("", 3)).is_empty());
    }

    #[test]
    fn makanan_and_makan_meet_on_one_stem() {
        assert_eq!(analyse("Makanan"), analyse("makan"));
        assert_eq!(analyse("minuman"), ["minum"]);
        assert_eq!(analyse("Percetakan spanduk"), ["cetak", "spanduk"]);
    }

    #[test]
    fn stopwords_go_and_codes_stay() {
        assert_eq!(
            analyse("Kertas HVS A4 80gr untuk kantor"),
            ["kertas", "hvs", "a4", "80gr", "kantor"]
        );
    }

    #[test]
    fn words_with_letters_beyond_ascii_are_kept_unstemmed() {
        // The fuzzer's find: Sastrawi panicked slicing inside '瓞'.
        assert_eq!(
            analyse("ker\u{74de}t t dinae\0{ 5 rim"),
            ["ker\u{74de}t", "t", "dinae", "5", "rim"]
        );
        assert_eq!(analyse("Kafé makanan"), ["kafé", "makan"]);
    }

    #[test]
    fn a_stem_of_two_letters_is_kept() {
        assert_eq!(analyse("mukan"), ["mu"]);
    }

    #[test]
    fn short_words_and_codes_skip_the_stemmer_and_its_cache() {
        let filter = SastrawiStemmer::default();
        let mut chain = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(filter.clone())
            .build();
        assert_eq!(
            terms(&mut chain, "kue a4 80gram buku"),
            ["kue", "a4", "80gram", "buku"]
        );
        let cached: Vec<String> = filter.words().iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(cached, ["buku"]);
    }

    #[test]
    fn copies_of_the_chain_share_one_cache() {
        let filter = SastrawiStemmer::default();
        let chain = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(filter.clone())
            .build();
        let (mut one, mut two) = (chain.clone(), chain);
        assert_eq!(terms(&mut one, "minuman"), ["minum"]);
        assert_eq!(terms(&mut two, "makanan"), ["makan"]);
        assert_eq!(filter.figures().words, 2);
    }

    #[test]
    fn the_cache_keeps_the_words_used_last_up_to_its_size() {
        let filter = SastrawiStemmer::with_capacity(2);
        let mut chain = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(filter.clone())
            .build();
        terms(&mut chain, "minuman makanan");
        // "minuman" again: a hit, and now the most recent.
        assert_eq!(terms(&mut chain, "minuman"), ["minum"]);
        // A third word pushes out the one used longest ago.
        assert_eq!(terms(&mut chain, "pakaian"), ["pakai"]);
        let cached: Vec<String> = filter.words().iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(cached, ["pakaian", "minuman"]);
        assert_eq!(
            filter.figures(),
            StemCacheFigures {
                words: 2,
                hits: 1,
                misses: 3
            }
        );
        // Nonsense without end does not grow it.
        for i in 0..1000 {
            terms(&mut chain, &format!("kata{}", "z".repeat(i % 50 + 1)));
        }
        assert_eq!(filter.figures().words, 2);
    }
}
