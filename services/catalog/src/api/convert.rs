//! Requests into domain values and stored products into answers.

use blangkon_domain::validation::{self, FieldViolationExt, Violation};
use blangkon_domain::{LegalForm, ProductId, RegencyCode, Scale};
use blangkon_platform::page::{self, Position};
use blangkon_platform::time::to_timestamp;
use blangkon_proto::catalog as pb;

use crate::domain::product::DetailsInput;
use crate::error::{CatalogError, Result};
use crate::products::ProductView;
use crate::search;
use crate::stock::{Quote, Reservation};
use crate::store::{self, product, reservation};

/// Search results per page when the request names no size, and at most.
const DEFAULT_PAGE_SIZE: u64 = 20;
const MAX_PAGE_SIZE: u64 = 100;

pub(super) fn parse_product_id(id: &str) -> Result<ProductId> {
    Ok(ProductId::parse(id).field("product_id")?)
}

/// The creation key of a product, if the request gave one.
pub(super) fn parse_creation_key(key: &str) -> Result<Option<String>> {
    if key.is_empty() {
        return Ok(None);
    }
    if key.chars().count() > 128 || key.chars().any(char::is_control) || key.trim() != key {
        return Err(CatalogError::invalid(
            "idempotency_key",
            "must be at most 128 printable characters, without surrounding spaces",
        ));
    }
    Ok(Some(key.to_string()))
}

pub(super) fn details_input(details: Option<pb::ProductDetails>) -> DetailsInput {
    let d = details.unwrap_or_default();
    DetailsInput {
        name: d.name,
        description: d.description,
        category_code: d.category_code,
        unit: d.unit,
        price: d.price,
        min_order_quantity: d.min_order_quantity,
        stock: d.stock,
        image_urls: d.image_urls,
        delivery_regencies: d.delivery_regencies,
        domestic_product: d.domestic_product,
    }
}

pub fn view_to_proto(view: ProductView) -> pb::Product {
    product_to_proto(view.product, view.price_history)
}

pub fn product_to_proto(
    row: product::Model,
    history: Vec<store::price_history::Model>,
) -> pb::Product {
    let status = row.status.to_proto();
    pb::Product {
        id: row.id,
        vendor_id: row.vendor_id,
        details: Some(pb::ProductDetails {
            name: row.name,
            description: row.description,
            category_code: row.category_code,
            unit: row.unit,
            price: row.price,
            min_order_quantity: row.min_order_quantity,
            stock: row.stock,
            image_urls: row.image_urls.0,
            delivery_regencies: row.delivery_regencies.0,
            domestic_product: row.domestic_product,
        }),
        status: status as i32,
        created_at: Some(to_timestamp(row.created_at)),
        updated_at: Some(to_timestamp(row.updated_at)),
        price_history: history
            .into_iter()
            .map(|h| pb::PriceChange {
                old_price: h.old_price,
                new_price: h.new_price,
                changed_by: h.changed_by,
                changed_at: Some(to_timestamp(h.changed_at)),
            })
            .collect(),
    }
}

/// Where a page of search results ended, in a page token:
/// `kind:value:product_id`, the kind naming the sort order it belongs to,
/// followed by `~` when the page ended among the partial matches.
impl Position for search::Cursor {
    fn to_text(&self) -> String {
        let tier = |partial: bool| if partial { "~" } else { "" };
        match self {
            search::Cursor::Relevance {
                partial,
                score,
                product_id,
            } => format!("r{}:{}:{product_id}", tier(*partial), score.to_bits()),
            search::Cursor::Price {
                partial,
                price,
                product_id,
            } => format!("p{}:{price}:{product_id}", tier(*partial)),
            search::Cursor::Newest {
                partial,
                product_id,
            } => format!("n{}:0:{product_id}", tier(*partial)),
        }
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, ':');
        let (kind, value, product_id) = (parts.next()?, parts.next()?, parts.next()?.to_string());
        uuid::Uuid::parse_str(&product_id).ok()?;
        let (kind, partial) = match kind.strip_suffix('~') {
            Some(kind) => (kind, true),
            None => (kind, false),
        };
        Some(match kind {
            "r" => search::Cursor::Relevance {
                partial,
                score: f32::from_bits(value.parse().ok()?),
                product_id,
            },
            "p" => search::Cursor::Price {
                partial,
                price: value.parse().ok()?,
                product_id,
            },
            "n" => search::Cursor::Newest {
                partial,
                product_id,
            },
            _ => return None,
        })
    }
}

/// Whether `cursor` is a position in results sorted by `sort`.
pub(super) fn cursor_fits(cursor: &search::Cursor, sort: search::SortOrder) -> bool {
    matches!(
        (cursor, sort),
        (
            search::Cursor::Relevance { .. },
            search::SortOrder::Relevance
        ) | (
            search::Cursor::Price { .. },
            search::SortOrder::PriceAscending | search::SortOrder::PriceDescending
        ) | (search::Cursor::Newest { .. }, search::SortOrder::Newest)
    )
}

/// Most characters and words of a search's text.
const MAX_QUERY_CHARS: usize = 200;
const MAX_QUERY_WORDS: usize = 12;
/// Most characters of a category code a request names.
const MAX_CODE_CHARS: usize = 100;

/// A search request as the index's query; every bad field is named.
/// `is_category` tells the category codes the catalog has.
pub(super) fn search_query(
    req: &pb::SearchProductsRequest,
    is_category: impl Fn(&str) -> bool,
) -> Result<search::Query, Vec<Violation>> {
    let mut v = Vec::new();
    let text = req.query.trim().to_string();
    // Sizes first: what a query costs grows with its words (each is looked
    // up within one edit), so a long one is refused before any of that.
    if text.chars().count() > MAX_QUERY_CHARS {
        v.push(Violation::new(
            "query",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        ));
    } else if text.split_whitespace().count() > MAX_QUERY_WORDS {
        v.push(Violation::new(
            "query",
            format!("must hold at most {MAX_QUERY_WORDS} words"),
        ));
    }
    let category =
        (!req.category_code.trim().is_empty()).then(|| req.category_code.trim().to_string());
    if let Some(code) = &category
        && code.chars().count() > MAX_CODE_CHARS
    {
        // Not repeated back: a refusal stays small whatever was sent.
        v.push(Violation::new(
            "category_code",
            format!("must be at most {MAX_CODE_CHARS} characters"),
        ));
    } else if let Some(code) = &category
        && !is_category(code)
    {
        v.push(Violation::new(
            "category_code",
            format!("`{code}` is not a category"),
        ));
    }
    let regency =
        (!req.delivery_regency.trim().is_empty()).then(|| req.delivery_regency.trim().to_string());
    if let Some(code) = &regency
        && RegencyCode::parse(code).is_err()
    {
        v.push(Violation::new(
            "delivery_regency",
            "must be a regency code like 33.74",
        ));
    }
    if req.min_price < 0 {
        v.push(Violation::new("min_price", "must not be negative"));
    }
    if req.max_price < 0 {
        v.push(Violation::new("max_price", "must not be negative"));
    }
    if req.max_price > 0 && req.min_price > req.max_price {
        v.push(Violation::new("max_price", "must not be below min_price"));
    }
    let legal_form = LegalForm::from_proto(req.vendor_legal_form);
    if req.vendor_legal_form != 0 && legal_form.is_none() {
        v.push(Violation::new("vendor_legal_form", "is not a legal form"));
    }
    let scale = Scale::from_proto(req.vendor_scale);
    if req.vendor_scale != 0 && scale.is_none() {
        v.push(Violation::new("vendor_scale", "is not a scale"));
    }
    let (legal_form, scale) = (
        legal_form.map(|f| f.as_str().to_string()),
        scale.map(|s| s.as_str().to_string()),
    );
    let sort = match pb::SortOrder::try_from(req.sort) {
        Ok(pb::SortOrder::Unspecified) if text.is_empty() => search::SortOrder::Newest,
        Ok(pb::SortOrder::Unspecified | pb::SortOrder::Relevance) => search::SortOrder::Relevance,
        Ok(pb::SortOrder::PriceAscending) => search::SortOrder::PriceAscending,
        Ok(pb::SortOrder::PriceDescending) => search::SortOrder::PriceDescending,
        Ok(pb::SortOrder::Newest) => search::SortOrder::Newest,
        Err(_) => {
            v.push(Violation::new("sort", "is not a sort order"));
            search::SortOrder::Relevance
        }
    };
    let page_size = validation::page_size(req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        .unwrap_or_else(|violation| {
            v.push(violation);
            DEFAULT_PAGE_SIZE
        });
    let after = match page::position::<search::Cursor>(&req.page_token, &mut v) {
        Some(cursor) if !cursor_fits(&cursor, sort) => {
            v.push(Violation::new(
                "page_token",
                "is not a token of this search's sort order",
            ));
            None
        }
        cursor => cursor,
    };
    if !v.is_empty() {
        return Err(v);
    }
    Ok(search::Query {
        text,
        category,
        delivery_regency: regency,
        min_price: (req.min_price > 0).then_some(req.min_price),
        max_price: (req.max_price > 0).then_some(req.max_price),
        legal_form,
        scale,
        sort,
        page_size: page_size as usize,
        after,
    })
}

pub(super) fn reservation_to_proto(reservation: Reservation) -> pb::Reservation {
    let held = reservation.is_held();
    let rows: &[reservation::Model] = &reservation.lines;
    pb::Reservation {
        reservation_id: reservation.id.to_string(),
        lines: rows
            .iter()
            .map(|r| pb::ReservedLine {
                product_id: r.product_id.clone(),
                quantity: r.quantity,
                vendor_id: r.vendor_id.clone(),
                name: r.name.clone(),
                category_code: r.category_code.clone(),
                unit: r.unit.clone(),
                unit_price: r.unit_price,
            })
            .collect(),
        status: if held {
            pb::ReservationStatus::Held
        } else {
            pb::ReservationStatus::Released
        } as i32,
        reserved_at: rows.first().map(|r| to_timestamp(r.reserved_at)),
    }
}

pub(super) fn quote_to_proto(quote: Quote) -> pb::Quote {
    let Quote {
        product,
        quantity,
        unavailable,
    } = quote;
    pb::Quote {
        available: unavailable.is_none(),
        unavailable_reason: unavailable.map(|e| e.to_string()).unwrap_or_default(),
        product_id: product.id,
        vendor_id: product.vendor_id,
        name: product.name,
        category_code: product.category_code,
        unit: product.unit,
        unit_price: product.price,
        quantity,
        min_order_quantity: product.min_order_quantity,
        stock: product.stock,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(code: &str) -> bool {
        code == "katering"
    }

    #[test]
    fn every_bad_field_of_a_search_is_named() {
        let refused = search_query(
            &pb::SearchProductsRequest {
                query: "n".repeat(201),
                category_code: "senjata".into(),
                delivery_regency: "3374".into(),
                min_price: -1,
                max_price: -2,
                vendor_legal_form: 99,
                vendor_scale: 99,
                sort: 99,
                page_size: 101,
                page_token: "not a token".into(),
            },
            known,
        )
        .unwrap_err();
        let mut fields: Vec<&str> = refused.iter().map(|v| v.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "category_code",
                "delivery_regency",
                "max_price",
                "min_price",
                "page_size",
                "page_token",
                "query",
                "sort",
                "vendor_legal_form",
                "vendor_scale"
            ]
        );
    }

    #[test]
    fn a_search_of_too_many_words_or_a_huge_category_is_refused_by_size() {
        let refused = |req: pb::SearchProductsRequest| {
            search_query(&req, known)
                .unwrap_err()
                .into_iter()
                .map(|v| format!("{} {}", v.field, v.description))
                .collect::<Vec<_>>()
        };
        let words = ["a"; MAX_QUERY_WORDS + 1].join(" ");
        assert_eq!(
            refused(pb::SearchProductsRequest {
                query: words,
                ..Default::default()
            }),
            ["query must hold at most 12 words"]
        );
        let most = ["nasi"; MAX_QUERY_WORDS].join(" ");
        assert!(
            search_query(
                &pb::SearchProductsRequest {
                    query: most,
                    ..Default::default()
                },
                known
            )
            .is_ok()
        );
        // A megabyte of category code: refused in a few words, not echoed.
        let huge = "k".repeat(1 << 20);
        assert_eq!(
            refused(pb::SearchProductsRequest {
                category_code: huge,
                ..Default::default()
            }),
            ["category_code must be at most 100 characters"]
        );
    }

    #[test]
    fn a_search_reads_its_filters_and_sorts_by_relevance_only_with_words() {
        let query = search_query(
            &pb::SearchProductsRequest {
                query: " nasi kotak ".into(),
                category_code: "katering".into(),
                delivery_regency: "33.74".into(),
                max_price: 30_000,
                vendor_legal_form: blangkon_proto::vendor::LegalForm::Cv as i32,
                ..Default::default()
            },
            known,
        )
        .unwrap();
        assert_eq!(query.text, "nasi kotak");
        assert_eq!(query.category.as_deref(), Some("katering"));
        assert_eq!(query.delivery_regency.as_deref(), Some("33.74"));
        assert_eq!((query.min_price, query.max_price), (None, Some(30_000)));
        assert_eq!(query.legal_form.as_deref(), Some("cv"));
        assert_eq!(query.sort, search::SortOrder::Relevance);
        assert_eq!(query.page_size, DEFAULT_PAGE_SIZE as usize);
        let browse = search_query(&pb::SearchProductsRequest::default(), known).unwrap();
        assert_eq!(browse.sort, search::SortOrder::Newest);
    }

    #[test]
    fn a_page_token_of_another_sort_order_is_refused() {
        let price = page::token(&search::Cursor::Price {
            partial: false,
            price: 25_000,
            product_id: "01934a1e-0000-7000-8000-000000000001".into(),
        });
        let refused = search_query(
            &pb::SearchProductsRequest {
                query: "nasi".into(),
                page_token: price,
                ..Default::default()
            },
            known,
        )
        .unwrap_err();
        assert_eq!(refused[0].field, "page_token");
        assert!(refused[0].description.contains("sort order"));
    }

    #[test]
    fn a_page_token_keeps_whether_the_page_ended_among_partial_matches() {
        let product_id = "01934a1e-0000-7000-8000-000000000001".to_string();
        for cursor in [
            search::Cursor::Relevance {
                partial: true,
                score: 1.25,
                product_id: product_id.clone(),
            },
            search::Cursor::Relevance {
                partial: false,
                score: 7.5,
                product_id: product_id.clone(),
            },
            search::Cursor::Price {
                partial: true,
                price: 25_000,
                product_id: product_id.clone(),
            },
            search::Cursor::Newest {
                partial: false,
                product_id: product_id.clone(),
            },
        ] {
            let text = cursor.to_text();
            assert_eq!(search::Cursor::from_text(&text), Some(cursor), "{text}");
        }
        assert_eq!(
            search::Cursor::from_text("x~:0:01934a1e-0000-7000-8000-000000000001"),
            None
        );
    }
}
