//! Whether buyers see a product: its listing status in the catalog.

use blangkon_proto::catalog as pb;
use sea_orm::entity::prelude::*;

/// Listing state of a product.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[strum(serialize_all = "snake_case")]
pub enum ProductStatus {
    /// Being prepared; only its vendor sees it.
    #[sea_orm(string_value = "draft")]
    Draft,
    /// Buyers can find and order it (while its vendor is verified).
    #[sea_orm(string_value = "listed")]
    Listed,
    /// Taken off the catalog by its vendor or the province.
    #[sea_orm(string_value = "unlisted")]
    Unlisted,
}

impl ProductStatus {
    /// The code stored in the catalog's database.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn to_proto(self) -> pb::ProductStatus {
        match self {
            ProductStatus::Draft => pb::ProductStatus::Draft,
            ProductStatus::Listed => pb::ProductStatus::Listed,
            ProductStatus::Unlisted => pb::ProductStatus::Unlisted,
        }
    }
}

stored_code!(ProductStatus);

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn every_status_is_stored_as_its_code_and_read_back() {
        for &status in ProductStatus::VARIANTS {
            assert_eq!(status.to_value(), status.as_str());
            assert_eq!(ProductStatus::parse(status.as_str()), Some(status));
            assert_ne!(status.to_proto(), pb::ProductStatus::Unspecified);
        }
        assert_eq!(ProductStatus::parse("Listed"), None);
        assert_eq!(ProductStatus::Unlisted.to_string(), "unlisted");
    }
}
