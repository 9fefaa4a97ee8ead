//! What every service knows of a vendor: its legal form, its UMKM scale
//! and its verification status. Stored as the short codes the databases
//! and the analyst streams have always held (`individual`, `micro`,
//! `verified`); carried over gRPC and Kafka as the protobuf enums.

use blangkon_proto::vendor as pb;
use sea_orm::entity::prelude::*;

/// Legal form of a vendor's business.
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
pub enum LegalForm {
    /// *Perorangan*: an individual without a legal entity.
    #[sea_orm(string_value = "individual")]
    Individual,
    /// *Perseroan Terbatas*: limited company.
    #[sea_orm(string_value = "pt")]
    Pt,
    /// *Commanditaire Vennootschap*: limited partnership.
    #[sea_orm(string_value = "cv")]
    Cv,
    /// Cooperative.
    #[sea_orm(string_value = "koperasi")]
    Koperasi,
    /// *Usaha Dagang*: sole trading business.
    #[sea_orm(string_value = "ud")]
    Ud,
    /// General partnership.
    #[sea_orm(string_value = "firma")]
    Firma,
}

/// UMKM scale. Regulation asks that at least 40% of procurement goes to
/// micro and small businesses and cooperatives, so every service that
/// counts spending needs it.
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
pub enum Scale {
    #[sea_orm(string_value = "micro")]
    Micro,
    #[sea_orm(string_value = "small")]
    Small,
    #[sea_orm(string_value = "medium")]
    Medium,
}

/// Verification status. Only a verified vendor may sell.
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
pub enum VendorStatus {
    /// Registered, waiting for the regency to check its documents.
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "verified")]
    Verified,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    /// Temporarily barred from selling; can be reinstated.
    #[sea_orm(string_value = "suspended")]
    Suspended,
}

impl LegalForm {
    pub fn is_business_entity(self) -> bool {
        self != LegalForm::Individual
    }

    /// The code stored in the databases and the analyst streams.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The value a protobuf enum number names; `None` for UNSPECIFIED and
    /// numbers this build does not know.
    pub fn from_proto(value: i32) -> Option<Self> {
        match pb::LegalForm::try_from(value).ok()? {
            pb::LegalForm::Unspecified => None,
            pb::LegalForm::Individual => Some(LegalForm::Individual),
            pb::LegalForm::Pt => Some(LegalForm::Pt),
            pb::LegalForm::Cv => Some(LegalForm::Cv),
            pb::LegalForm::Koperasi => Some(LegalForm::Koperasi),
            pb::LegalForm::Ud => Some(LegalForm::Ud),
            pb::LegalForm::Firma => Some(LegalForm::Firma),
        }
    }

    pub fn to_proto(self) -> pb::LegalForm {
        match self {
            LegalForm::Individual => pb::LegalForm::Individual,
            LegalForm::Pt => pb::LegalForm::Pt,
            LegalForm::Cv => pb::LegalForm::Cv,
            LegalForm::Koperasi => pb::LegalForm::Koperasi,
            LegalForm::Ud => pb::LegalForm::Ud,
            LegalForm::Firma => pb::LegalForm::Firma,
        }
    }
}

impl Scale {
    /// The code stored in the databases and the analyst streams.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// See [`LegalForm::from_proto`].
    pub fn from_proto(value: i32) -> Option<Self> {
        match pb::Scale::try_from(value).ok()? {
            pb::Scale::Unspecified => None,
            pb::Scale::Micro => Some(Scale::Micro),
            pb::Scale::Small => Some(Scale::Small),
            pb::Scale::Medium => Some(Scale::Medium),
        }
    }

    pub fn to_proto(self) -> pb::Scale {
        match self {
            Scale::Micro => pb::Scale::Micro,
            Scale::Small => pb::Scale::Small,
            Scale::Medium => pb::Scale::Medium,
        }
    }
}

/// Whether spending with a vendor counts toward the 40% that regulation
/// asks to go to micro and small businesses and cooperatives.
pub fn is_micro_small_or_cooperative(legal_form: Option<LegalForm>, scale: Option<Scale>) -> bool {
    matches!(scale, Some(Scale::Micro | Scale::Small)) || legal_form == Some(LegalForm::Koperasi)
}

impl VendorStatus {
    /// The code stored in the databases and the analyst streams.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// See [`LegalForm::from_proto`].
    pub fn from_proto(value: i32) -> Option<Self> {
        match pb::VendorStatus::try_from(value).ok()? {
            pb::VendorStatus::Unspecified => None,
            pb::VendorStatus::Pending => Some(VendorStatus::Pending),
            pb::VendorStatus::Verified => Some(VendorStatus::Verified),
            pb::VendorStatus::Rejected => Some(VendorStatus::Rejected),
            pb::VendorStatus::Suspended => Some(VendorStatus::Suspended),
        }
    }

    pub fn to_proto(self) -> pb::VendorStatus {
        match self {
            VendorStatus::Pending => pb::VendorStatus::Pending,
            VendorStatus::Verified => pb::VendorStatus::Verified,
            VendorStatus::Rejected => pb::VendorStatus::Rejected,
            VendorStatus::Suspended => pb::VendorStatus::Suspended,
        }
    }
}

stored_code!(LegalForm, Scale, VendorStatus);

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn every_value_is_stored_as_its_code_and_read_back() {
        for form in LegalForm::VARIANTS.iter().copied() {
            assert_eq!(form.to_value(), form.as_str());
            assert_eq!(LegalForm::parse(form.as_str()), Some(form));
            assert_eq!(LegalForm::from_proto(form.to_proto() as i32), Some(form));
        }
        for scale in Scale::VARIANTS.iter().copied() {
            assert_eq!(scale.to_value(), scale.as_str());
            assert_eq!(Scale::parse(scale.as_str()), Some(scale));
            assert_eq!(Scale::from_proto(scale.to_proto() as i32), Some(scale));
        }
        for status in VendorStatus::VARIANTS.iter().copied() {
            assert_eq!(status.to_value(), status.as_str());
            assert_eq!(VendorStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                VendorStatus::from_proto(status.to_proto() as i32),
                Some(status)
            );
        }
    }

    #[test]
    fn a_value_shows_as_its_code() {
        assert_eq!(LegalForm::Koperasi.to_string(), "koperasi");
        assert_eq!(Scale::Small.to_string(), "small");
        assert_eq!(VendorStatus::Suspended.to_string(), "suspended");
    }

    #[test]
    fn unspecified_unknown_and_foreign_codes_are_none() {
        assert_eq!(LegalForm::from_proto(0), None);
        assert_eq!(Scale::from_proto(99), None);
        assert_eq!(VendorStatus::from_proto(-1), None);
        assert_eq!(LegalForm::parse("PT"), None);
        assert_eq!(Scale::parse(""), None);
        assert_eq!(VendorStatus::parse("active"), None);
    }

    #[test]
    fn micro_small_and_cooperatives_count_toward_the_share() {
        use LegalForm::*;
        use Scale::*;
        assert!(is_micro_small_or_cooperative(Some(Pt), Some(Micro)));
        assert!(is_micro_small_or_cooperative(Some(Cv), Some(Small)));
        assert!(is_micro_small_or_cooperative(Some(Koperasi), Some(Medium)));
        assert!(is_micro_small_or_cooperative(Some(Koperasi), None));
        assert!(!is_micro_small_or_cooperative(Some(Pt), Some(Medium)));
        assert!(!is_micro_small_or_cooperative(None, None));
        assert!(!is_micro_small_or_cooperative(
            Some(Individual),
            Some(Medium)
        ));
    }

    #[test]
    fn only_an_individual_is_not_a_business_entity() {
        for form in LegalForm::VARIANTS.iter().copied() {
            assert_eq!(form.is_business_entity(), form != LegalForm::Individual);
        }
    }
}
