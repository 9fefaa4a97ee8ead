//! Products: what a vendor must tell about one, and when buyers see it.

use super::Violation;

pub use blangkon_domain::ProductStatus;
use blangkon_domain::{RegencyCode, Rupiah};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListingError {
    #[error("the product is already listed")]
    AlreadyListed,
    #[error("only a listed product can be unlisted; this one is {}", .0.as_str())]
    NotListed(ProductStatus),
}

/// Draft or unlisted → listed.
pub fn publish(from: ProductStatus) -> Result<ProductStatus, ListingError> {
    match from {
        ProductStatus::Draft | ProductStatus::Unlisted => Ok(ProductStatus::Listed),
        ProductStatus::Listed => Err(ListingError::AlreadyListed),
    }
}

/// Listed → unlisted.
pub fn unlist(from: ProductStatus) -> Result<ProductStatus, ListingError> {
    match from {
        ProductStatus::Listed => Ok(ProductStatus::Unlisted),
        other => Err(ListingError::NotListed(other)),
    }
}

/// A product's details as submitted, unchecked.
#[derive(Debug, Clone, Default)]
pub struct DetailsInput {
    pub name: String,
    pub description: String,
    pub category_code: String,
    pub unit: String,
    pub price: i64,
    pub min_order_quantity: i64,
    pub stock: i64,
    pub image_urls: Vec<String>,
    pub delivery_regencies: Vec<String>,
    pub domestic_product: bool,
}

/// Details whose every field is valid on its own; whether the category
/// exists is checked against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDetails {
    pub name: String,
    pub description: String,
    pub category_code: String,
    pub unit: String,
    /// Per unit.
    pub price: Rupiah,
    pub min_order_quantity: i64,
    pub stock: i64,
    pub image_urls: Vec<String>,
    /// Sorted, without duplicates.
    pub delivery_regencies: Vec<String>,
    pub domestic_product: bool,
}

const MAX_IMAGES: usize = 10;

impl ProductDetails {
    /// `max_price` is the configured ceiling per unit, in rupiah.
    pub fn parse(input: DetailsInput, max_price: Rupiah) -> Result<Self, Vec<Violation>> {
        let mut v = Vec::new();
        let name = input.name.trim().to_string();
        let name_len = name.chars().count();
        if !(3..=200).contains(&name_len) {
            v.push(Violation::new(
                "details.name",
                "must be 3 to 200 characters",
            ));
        }
        let description = input.description.trim().to_string();
        if description.chars().count() > 5000 {
            v.push(Violation::new(
                "details.description",
                "must be at most 5000 characters",
            ));
        }
        let category_code = input.category_code.trim().to_string();
        if category_code.is_empty() {
            v.push(Violation::new("details.category_code", "is required"));
        }
        let unit = input.unit.trim().to_lowercase();
        if unit.is_empty() || unit.chars().count() > 30 {
            v.push(Violation::new(
                "details.unit",
                "must be 1 to 30 characters, e.g. kotak, rim, pcs",
            ));
        }
        if input.price <= 0 {
            v.push(Violation::new(
                "details.price",
                "must be a positive number of rupiah",
            ));
        } else if input.price > max_price.get() {
            v.push(Violation::new(
                "details.price",
                format!("must not exceed {max_price} per unit"),
            ));
        }
        if input.min_order_quantity < 1 {
            v.push(Violation::new(
                "details.min_order_quantity",
                "must be at least 1",
            ));
        }
        if input.stock < 0 {
            v.push(Violation::new("details.stock", "must not be negative"));
        }
        check_image_urls(&input.image_urls, &mut v);
        let regencies = delivery_regencies(&input.delivery_regencies, &mut v);
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Self {
            name,
            description,
            category_code,
            unit,
            price: Rupiah::new(input.price),
            min_order_quantity: input.min_order_quantity,
            stock: input.stock,
            image_urls: input.image_urls,
            delivery_regencies: regencies,
            domestic_product: input.domestic_product,
        })
    }
}

/// At most [`MAX_IMAGES`] http(s) URLs of at most 500 characters.
fn check_image_urls(urls: &[String], v: &mut Vec<Violation>) {
    if urls.len() > MAX_IMAGES {
        v.push(Violation::new(
            "details.image_urls",
            format!("at most {MAX_IMAGES} images"),
        ));
    }
    for (i, url) in urls.iter().enumerate() {
        let parsed = url::Url::parse(url).ok();
        let ok = parsed
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            && url.len() <= 500
            && !url.contains(char::is_whitespace);
        if !ok {
            v.push(Violation::new(
                format!("details.image_urls[{i}]"),
                "must be an http(s) URL of at most 500 characters",
            ));
        }
    }
}

/// The regency codes a product is delivered to: at least one, each a
/// regency code; answered sorted, each once.
fn delivery_regencies(codes: &[String], v: &mut Vec<Violation>) -> Vec<String> {
    let mut regencies: Vec<String> = codes.iter().map(|r| r.trim().to_string()).collect();
    if regencies.is_empty() {
        v.push(Violation::new(
            "details.delivery_regencies",
            "must name at least one regency the vendor delivers to",
        ));
    }
    for (i, code) in regencies.iter().enumerate() {
        if RegencyCode::parse(code).is_err() {
            v.push(Violation::new(
                format!("details.delivery_regencies[{i}]"),
                "must be a regency code like 33.74",
            ));
        }
    }
    regencies.sort();
    regencies.dedup();
    regencies
}

#[cfg(test)]
mod tests {
    use super::*;

    const CEILING: Rupiah = Rupiah::DIRECT_PURCHASE_LIMIT;

    fn nasi_kotak() -> DetailsInput {
        DetailsInput {
            name: "Nasi Kotak Ayam Bakar".into(),
            description: "Nasi, ayam bakar, lalapan, sambal, kerupuk".into(),
            category_code: "katering.nasi-kotak".into(),
            unit: "Kotak".into(),
            price: 25_000,
            min_order_quantity: 20,
            stock: 500,
            image_urls: vec!["https://cdn.example.id/nasi.jpg".into()],
            delivery_regencies: vec!["33.74".into(), "33.22".into(), "33.74".into()],
            domestic_product: true,
        }
    }

    fn fields(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn a_complete_product_parses_with_its_regencies_sorted_once() {
        let d = ProductDetails::parse(nasi_kotak(), CEILING).unwrap();
        assert_eq!(d.delivery_regencies, ["33.22", "33.74"]);
        assert_eq!(d.unit, "kotak");
    }

    #[test]
    fn a_negative_price_and_an_empty_name_are_both_reported() {
        let input = DetailsInput {
            name: "  ".into(),
            price: -5,
            ..nasi_kotak()
        };
        let violations = ProductDetails::parse(input, CEILING).unwrap_err();
        assert_eq!(fields(&violations), ["details.name", "details.price"]);
    }

    #[test]
    fn a_price_over_the_ceiling_is_refused() {
        let input = DetailsInput {
            price: CEILING.get() + 1,
            ..nasi_kotak()
        };
        let violations = ProductDetails::parse(input, CEILING).unwrap_err();
        assert!(violations[0].description.contains("200000000"));
        assert!(
            ProductDetails::parse(
                DetailsInput {
                    price: CEILING.get(),
                    ..nasi_kotak()
                },
                CEILING
            )
            .is_ok()
        );
    }

    #[test]
    fn quantities_urls_and_regency_codes_are_checked() {
        let input = DetailsInput {
            min_order_quantity: 0,
            stock: -1,
            image_urls: vec![
                "ftp://x".into(),
                "https://".into(),
                "https://cdn.example.id/nasi.jpg".into(),
            ],
            delivery_regencies: vec!["Semarang".into()],
            ..nasi_kotak()
        };
        let violations = ProductDetails::parse(input, CEILING).unwrap_err();
        assert_eq!(
            fields(&violations),
            [
                "details.min_order_quantity",
                "details.stock",
                "details.image_urls[0]",
                "details.image_urls[1]",
                "details.delivery_regencies[0]"
            ]
        );
    }

    #[test]
    fn listing_moves_only_along_its_table() {
        use ProductStatus::*;
        assert_eq!(publish(Draft), Ok(Listed));
        assert_eq!(publish(Unlisted), Ok(Listed));
        assert_eq!(publish(Listed), Err(ListingError::AlreadyListed));
        assert_eq!(unlist(Listed), Ok(Unlisted));
        assert_eq!(unlist(Draft), Err(ListingError::NotListed(Draft)));
        assert_eq!(unlist(Unlisted), Err(ListingError::NotListed(Unlisted)));
    }
}

/// Why a product cannot be ordered in a quantity right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("the product is not listed")]
    NotListed,
    #[error("the vendor is not verified")]
    VendorNotVerified,
    #[error("below the minimum order quantity")]
    BelowMinimumOrder,
    #[error("not enough stock")]
    OutOfStock,
}

impl Unavailable {
    /// A stable name for machines, as `google.rpc.PreconditionFailure` types.
    pub fn kind(self) -> &'static str {
        match self {
            Unavailable::NotListed => "NOT_LISTED",
            Unavailable::VendorNotVerified => "VENDOR_NOT_VERIFIED",
            Unavailable::BelowMinimumOrder => "BELOW_MINIMUM_ORDER",
            Unavailable::OutOfStock => "OUT_OF_STOCK",
        }
    }
}

/// The facts an availability check needs.
#[derive(Debug, Clone, Copy)]
pub struct Offer {
    pub listed: bool,
    pub vendor_verified: bool,
    pub min_order_quantity: i64,
    pub stock: i64,
}

/// Whether `quantity` of an offer can be ordered, checked in the order a
/// buyer can do something about last.
pub fn check_availability(offer: Offer, quantity: i64) -> Result<(), Unavailable> {
    if !offer.listed {
        return Err(Unavailable::NotListed);
    }
    if !offer.vendor_verified {
        return Err(Unavailable::VendorNotVerified);
    }
    if quantity < offer.min_order_quantity {
        return Err(Unavailable::BelowMinimumOrder);
    }
    if quantity > offer.stock {
        return Err(Unavailable::OutOfStock);
    }
    Ok(())
}

#[cfg(test)]
mod availability_tests {
    use super::*;

    const OFFER: Offer = Offer {
        listed: true,
        vendor_verified: true,
        min_order_quantity: 20,
        stock: 100,
    };

    #[test]
    fn an_order_between_minimum_and_stock_is_available() {
        assert_eq!(check_availability(OFFER, 20), Ok(()));
        assert_eq!(check_availability(OFFER, 100), Ok(()));
    }

    #[test]
    fn each_reason_is_told() {
        assert_eq!(
            check_availability(OFFER, 19),
            Err(Unavailable::BelowMinimumOrder)
        );
        assert_eq!(check_availability(OFFER, 101), Err(Unavailable::OutOfStock));
        let unlisted = Offer {
            listed: false,
            ..OFFER
        };
        assert_eq!(
            check_availability(unlisted, 20),
            Err(Unavailable::NotListed)
        );
        let suspended = Offer {
            vendor_verified: false,
            ..OFFER
        };
        assert_eq!(
            check_availability(suspended, 20),
            Err(Unavailable::VendorNotVerified)
        );
    }
}
