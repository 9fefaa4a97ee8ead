//! Entry points for the fuzz targets (`fuzz/`): every request the catalog
//! reads, decoded from arbitrary bytes and checked as its API checks it,
//! before any database or index; and the words of a search, through the
//! analyzer that reads them. Not an API: hidden from the docs, and its
//! only promise is to never panic.

use blangkon_domain::Rupiah;
use prost::Message as _;

use super::*;
use crate::domain::product::ProductDetails;
use crate::search::analyzer::{self, SastrawiStemmer};

/// The first byte picks the request type, the rest is its encoding.
pub fn requests(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let max_price = Rupiah::DIRECT_PURCHASE_LIMIT;
    match which % 6 {
        0 => {
            if let Ok(req) = pb::SearchProductsRequest::decode(bytes) {
                let _ = search_query(&req, |code| code == "katering" || code == "mebel");
            }
        }
        1 => {
            if let Ok(req) = pb::CreateProductRequest::decode(bytes) {
                let _ = parse_creation_key(&req.idempotency_key);
                let _ = ProductDetails::parse(details_input(req.details), max_price);
            }
        }
        2 => {
            if let Ok(req) = pb::UpdateProductRequest::decode(bytes) {
                let _ = parse_product_id(&req.product_id);
                let _ = ProductDetails::parse(details_input(req.details), max_price);
            }
        }
        3 => {
            if let Ok(req) = pb::QuotePricesRequest::decode(bytes) {
                let _ = request_lines(&req.lines);
            }
        }
        4 => {
            if let Ok(req) = pb::ReserveStockRequest::decode(bytes) {
                let _ = ReservationId::parse(&req.reservation_id);
                let _ = request_lines(&req.lines);
            }
            if let Ok(req) = pb::ReleaseStockRequest::decode(bytes) {
                let _ = ReservationId::parse(&req.reservation_id);
            }
        }
        _ => {
            if let Ok(req) = pb::UnlistProductRequest::decode(bytes) {
                let _ = parse_product_id(&req.product_id);
            }
            if let Ok(req) = pb::GetProductRequest::decode(bytes) {
                let _ = parse_product_id(&req.product_id);
            }
        }
    }
}

/// The text of a search through the analyzer (words, lower case,
/// stopwords, Sastrawi stems): each word it gives is a non-empty word.
pub fn search_words(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut analyzer = analyzer::analyzer(SastrawiStemmer::with_capacity(1_000));
    for term in analyzer::terms(&mut analyzer, &text) {
        assert!(!term.is_empty());
    }
}
