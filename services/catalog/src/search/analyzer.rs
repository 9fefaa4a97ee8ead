//! Indonesian text analysis for search: lower-case words, drop stopwords,
//! reduce each word to its root with the Nazief–Adriani stemmer (Sastrawi),
//! so that "makanan", "dimakan" and "makan" meet on "makan".

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use sastrawi::{Dictionary, Stemmer};

/// Words that carry no meaning for finding a product.
const STOPWORDS: &[&str] = &[
    "dan", "atau", "untuk", "dengan", "yang", "di", "ke", "dari", "per", "isi", "ini", "itu",
    "pada", "dalam", "the", "and", "of", "a", "an", "x",
];

fn stemmer() -> &'static Stemmer<'static> {
    static DICTIONARY: OnceLock<Dictionary> = OnceLock::new();
    static STEMMER: OnceLock<Stemmer<'static>> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::new(DICTIONARY.get_or_init(Dictionary::new)))
}

/// Splits, normalises and stems text. Stems are cached: a catalog has tens
/// of thousands of distinct words and millions of occurrences.
#[derive(Debug, Default)]
pub struct Analyzer {
    cache: Mutex<HashMap<String, String>>,
}

impl Analyzer {
    /// The terms of `text`, in order, stopwords removed.
    pub fn terms(&self, text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .filter(|w| !STOPWORDS.contains(&w.as_str()))
            .map(|w| self.stem(w))
            .collect()
    }

    fn stem(&self, word: String) -> String {
        // Numbers and codes ("a4", "80gr") are kept as they are.
        if word.chars().any(|c| c.is_ascii_digit()) || word.chars().count() < 4 {
            return word;
        }
        if let Ok(cache) = self.cache.lock()
            && let Some(stem) = cache.get(&word)
        {
            return stem.clone();
        }
        let mut stem = word.clone();
        stemmer().stem_word(&mut stem);
        // Never stem a word away entirely.
        if stem.chars().count() < 2 {
            stem = word.clone();
        }
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(word, stem.clone());
        }
        stem
    }
}

/// Damerau–Levenshtein distance of at most one edit (insert, delete,
/// substitute, or swap two neighbours): the "small typos" search forgives.
pub fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b {
        return true;
    }
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match la.cmp(&lb) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..]
                || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makanan_and_makan_meet_on_one_stem() {
        let a = Analyzer::default();
        assert_eq!(a.terms("Makanan"), a.terms("makan"));
        assert_eq!(a.terms("minuman"), ["minum"]);
        assert_eq!(a.terms("Percetakan spanduk"), ["cetak", "spanduk"]);
    }

    #[test]
    fn stopwords_go_and_codes_stay() {
        let a = Analyzer::default();
        assert_eq!(
            a.terms("Kertas HVS A4 80gr untuk kantor"),
            ["kertas", "hvs", "a4", "80gr", "kantor"]
        );
    }

    #[test]
    fn a_stem_of_two_letters_is_kept() {
        let a = Analyzer::default();
        assert_eq!(a.terms("mukan"), ["mu"]);
    }

    #[test]
    fn short_words_and_codes_skip_the_stemmer_and_its_cache() {
        let a = Analyzer::default();
        assert_eq!(
            a.terms("kue a4 80gram buku"),
            ["kue", "a4", "80gram", "buku"]
        );
        let cached: Vec<String> = a.cache.lock().unwrap().keys().cloned().collect();
        assert_eq!(cached, ["buku"]);
    }

    #[test]
    fn one_edit_is_a_small_typo_two_are_not() {
        assert!(within_one_edit("kertas", "kertas"));
        assert!(within_one_edit("kertas", "kerta"));
        assert!(within_one_edit("kertas", "kertass"));
        assert!(within_one_edit("kertas", "kertos"));
        assert!(within_one_edit("kertas", "ketras"));
        assert!(!within_one_edit("kertas", "ketrsa"));
        assert!(!within_one_edit("nasi", "roti"));
    }
}
