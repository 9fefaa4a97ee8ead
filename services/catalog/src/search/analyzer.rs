//! Indonesian text analysis for search, as a tantivy analyzer chain:
//! split into words, lower-case them, drop stopwords, and reduce each word
//! to its root with the Nazief–Adriani stemmer (Sastrawi), so that
//! "makanan", "dimakan" and "makan" meet on "makan".
//!
//! Products are indexed and queries read through the same chain.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use sastrawi::{Dictionary, Stemmer};
use tantivy::tokenizer::{
    LowerCaser, SimpleTokenizer, StopWordFilter, TextAnalyzer, Token, TokenFilter, TokenStream,
    Tokenizer,
};

/// The name the chain is registered under in the index.
pub const NAME: &str = "indonesian";

/// Words that carry no meaning for finding a product.
const STOPWORDS: &[&str] = &[
    "dan", "atau", "untuk", "dengan", "yang", "di", "ke", "dari", "per", "isi", "ini", "itu",
    "pada", "dalam", "the", "and", "of", "a", "an", "x",
];

/// The whole chain.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            STOPWORDS.iter().map(|w| w.to_string()),
        ))
        .filter(SastrawiStemmer::default())
        .build()
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

/// A token filter replacing each lower-cased word by its Sastrawi root.
///
/// Stems are cached, shared by every copy of the filter (tantivy clones
/// the analyzer per indexing thread and per query): a catalog has tens of
/// thousands of distinct words and millions of occurrences, and the
/// dictionary stemmer is slow next to a hash lookup.
#[derive(Clone, Default)]
pub struct SastrawiStemmer {
    cache: Arc<RwLock<HashMap<String, String>>>,
}

impl SastrawiStemmer {
    fn stem_into(&self, word: &mut String) {
        // Numbers and codes ("a4", "80gr") and short words are kept as
        // they are.
        if word.chars().any(|c| c.is_ascii_digit()) || word.chars().count() < 4 {
            return;
        }
        if let Ok(cache) = self.cache.read()
            && let Some(stem) = cache.get(word.as_str())
        {
            word.clone_from(stem);
            return;
        }
        let mut stem = word.clone();
        stemmer().stem_word(&mut stem);
        // Never stem a word away entirely.
        if stem.chars().count() < 2 {
            stem.clone_from(word);
        }
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(std::mem::replace(word, stem.clone()), stem);
        } else {
            *word = stem;
        }
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
        terms(&mut analyzer(), text)
    }

    #[test]
    fn a_filter_after_the_stemmer_changes_the_stemmed_token() {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream("makanan");
        assert!(stream.advance());
        stream.token_mut().text.push('!');
        assert_eq!(stream.token().text, "makan!");
        assert!(!stream.advance());
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
        let cached: Vec<String> = filter.cache.read().unwrap().keys().cloned().collect();
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
        assert_eq!(filter.cache.read().unwrap().len(), 2);
    }
}
