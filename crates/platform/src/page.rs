//! Page tokens: where a listing's previous page ended, handed to the caller
//! as opaque text (base64url of the position) and read back, checked, when
//! it asks for the next page. Each listing says what its position is by
//! implementing [`Position`]; [`AfterId`] serves listings in id order.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::validation::Violation;

/// A position in a listing, as text in its page token.
pub trait Position: Sized {
    fn to_text(&self) -> String;
    /// The position `text` names; `None` if it names none of this listing.
    fn from_text(text: &str) -> Option<Self>;
}

/// After the row with this id (a UUID), in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterId(pub String);

impl Position for AfterId {
    fn to_text(&self) -> String {
        self.0.clone()
    }

    fn from_text(text: &str) -> Option<Self> {
        uuid::Uuid::parse_str(text)
            .is_ok()
            .then(|| Self(text.to_string()))
    }
}

/// The page token of `position`.
pub fn token<P: Position>(position: &P) -> String {
    URL_SAFE_NO_PAD.encode(position.to_text())
}

/// The position a non-empty `token` names, if this service issued it.
pub fn read<P: Position>(token: &str) -> Option<P> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| P::from_text(&text))
}

/// The position `token` names: `None` for an empty token (the first page);
/// a violation of `page_token` pushed for one this service did not issue.
pub fn position<P: Position>(token: &str, violations: &mut Vec<Violation>) -> Option<P> {
    if token.is_empty() {
        return None;
    }
    let position = read(token);
    if position.is_none() {
        violations.push(Violation::new(
            "page_token",
            "is not a token this service issued",
        ));
    }
    position
}

/// Cuts `rows`, read one longer than `page_size`, to the page, and answers
/// the token of the next page: after the page's last row, or empty when
/// this is the last page.
pub fn next_page<T, P: Position>(
    rows: &mut Vec<T>,
    page_size: u64,
    position_of: impl Fn(&T) -> P,
) -> String {
    if rows.len() as u64 <= page_size {
        return String::new();
    }
    rows.truncate(page_size as usize);
    rows.last()
        .map_or_else(String::new, |last| token(&position_of(last)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01934a1e-0000-7000-8000-000000000001";

    #[test]
    fn a_token_reads_back_as_its_position() {
        let mut violations = Vec::new();
        let after = AfterId(ID.into());
        assert_eq!(position(&token(&after), &mut violations), Some(after));
        assert!(violations.is_empty());
    }

    #[test]
    fn no_token_is_the_first_page() {
        let mut violations = Vec::new();
        assert_eq!(position::<AfterId>("", &mut violations), None);
        assert!(violations.is_empty());
    }

    #[test]
    fn a_token_this_service_did_not_issue_is_a_violation() {
        for bad in ["not base64!", "bm90IGEgdXVpZA", "//79"] {
            let mut violations = Vec::new();
            assert_eq!(position::<AfterId>(bad, &mut violations), None, "{bad}");
            assert_eq!(violations.len(), 1, "{bad}");
            assert_eq!(violations[0].field, "page_token");
        }
    }

    #[test]
    fn the_next_page_starts_after_the_last_row_of_a_full_page() {
        let ids = |n: usize| -> Vec<String> {
            (0..n)
                .map(|i| format!("01934a1e-0000-7000-8000-{i:012}"))
                .collect()
        };
        let mut rows = ids(3);
        assert_eq!(next_page(&mut rows, 3, |r| AfterId(r.clone())), "");
        assert_eq!(rows.len(), 3);
        let mut rows = ids(4);
        let next = next_page(&mut rows, 3, |r| AfterId(r.clone()));
        assert_eq!(rows.len(), 3);
        let mut violations = Vec::new();
        assert_eq!(
            position::<AfterId>(&next, &mut violations),
            Some(AfterId(rows[2].clone()))
        );
    }
}
