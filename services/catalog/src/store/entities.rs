//! sea-orm entities of the catalog database.

pub mod category {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "categories")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub name: String,
        pub parent_code: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod product {
    use blangkon_domain::ProductStatus;
    use blangkon_platform::db::StringList;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "products")]
    pub struct Model {
        /// UUIDv7, so id order is creation order.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub vendor_id: String,
        pub category_code: String,
        pub name: String,
        pub description: String,
        pub unit: String,
        /// Rupiah per unit.
        pub price: i64,
        pub min_order_quantity: i64,
        pub stock: i64,
        /// Stored as a JSON array.
        pub image_urls: StringList,
        /// Regency codes, stored as a JSON array.
        pub delivery_regencies: StringList,
        pub domestic_product: bool,
        pub status: ProductStatus,
        /// Bumped by every change: concurrent edits are detected, not lost.
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// The key the vendor created it with, if any: unique per vendor.
        pub creation_key: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod price_history {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "price_history")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub product_id: String,
        pub old_price: i64,
        pub new_price: i64,
        pub changed_by: String,
        pub changed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The catalog's projection of vendor status, fed by vendor events.
pub mod vendor {
    use blangkon_domain::VendorStatus;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vendors")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub vendor_id: String,
        pub regency_code: String,
        pub legal_form: String,
        pub scale: String,
        pub status: VendorStatus,
        /// When the event that set this state happened.
        pub status_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A product or vendor whose search entry must be refreshed.
pub mod search_change {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "search_changes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        /// `product` or `vendor`.
        pub entity: String,
        pub entity_id: String,
        pub changed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One line of a stock reservation.
pub mod reservation {
    use sea_orm::entity::prelude::*;

    /// Whether a reservation line still holds its stock.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    pub enum ReservationStatus {
        /// The stock is taken from the product for this reservation.
        #[sea_orm(string_value = "held")]
        Held,
        /// The stock went back to the product.
        #[sea_orm(string_value = "released")]
        Released,
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reservations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub reservation_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub product_id: String,
        pub quantity: i64,
        pub status: ReservationStatus,
        pub reserved_at: DateTimeUtc,
        pub released_at: Option<DateTimeUtc>,
        /// Place of the line in the request that made the reservation.
        pub line: i32,
        /// The product as it was when its stock was taken.
        pub vendor_id: String,
        pub name: String,
        pub category_code: String,
        pub unit: String,
        pub unit_price: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
