//! Entry points for the fuzz targets (`fuzz/`): every request the public
//! reads take, decoded from arbitrary bytes and read as the API reads them
//! (page tokens among them), before any database. Not an API: hidden from
//! the docs, and its only promise is to never panic.

use prost::Message as _;

use super::*;

/// The first byte picks the request type, the rest is its encoding.
pub fn requests(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(req) = pb::GetBreakdownRequest::decode(bytes) {
                let _ = breakdown_query(&req);
            }
        }
        1 => {
            if let Ok(req) = pb::ListTransactionsRequest::decode(bytes) {
                let _ = transactions_query(&req);
            }
        }
        _ => {
            if let Ok(req) = pb::ExportOcdsRequest::decode(bytes) {
                let _ = ocds_query(&req);
            }
        }
    }
}

/// A page token, as any listing of the suite reads it: one this service
/// did not issue is refused naming `page_token`.
pub fn page_tokens(data: &[u8]) {
    let token = String::from_utf8_lossy(data);
    let mut violations = Vec::new();
    let _: Option<After> = page::position(&token, &mut violations);
    let _: Option<RowAfter> = page::position(&token, &mut violations);
    let _: Option<page::AfterId> = page::position(&token, &mut violations);
    for violation in violations {
        assert_eq!(violation.field, "page_token");
    }
    // A position that reads back is the one its token was made from.
    if let Some(after) = page::position::<RowAfter>(&token, &mut Vec::new()) {
        let again = page::token(&after);
        assert_eq!(
            page::position::<RowAfter>(&again, &mut Vec::new()),
            Some(after)
        );
    }
}
