//! sea-orm entities of the reporting database: what the domain events said
//! about regencies, vendors, products and orders, and the running order
//! figures.

pub mod regency {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "regencies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub name: String,
        pub joined_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod vendor {
    use blangkon_domain::VendorStatus;
    use sea_orm::entity::prelude::*;

    /// No personal data: the vendor service's events carry none.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vendors")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub vendor_id: String,
        /// Empty until the registration event arrives.
        pub name: String,
        pub regency_code: String,
        pub legal_form: String,
        pub scale: String,
        pub status: VendorStatus,
        /// When the status was set: an older status event changes nothing.
        pub status_at: DateTimeUtc,
        /// When the vendor was first verified, as far as the events told
        /// (the red flag of orders to new vendors).
        pub verified_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod training {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "trainings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub training_id: String,
        pub vendor_id: String,
        pub kind: String,
        pub attended_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod product {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "products")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub product_id: String,
        pub vendor_id: String,
        pub category_code: String,
        /// Shown in the catalog now (produk tayang).
        pub listed: bool,
        pub changed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod listed_count {
    use sea_orm::entity::prelude::*;

    /// How many of a vendor's products in one top-level category are listed
    /// now, kept as products come and go: the product figures read these
    /// (a row per vendor and category) instead of counting the catalog.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "listed_counts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub vendor_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub category: String,
        pub listed: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod order {
    use blangkon_domain::OrderStatus;
    use sea_orm::entity::prelude::*;

    /// The latest state of an order its events told. No buyer account, no
    /// notes, no payment reference: only what the public ledger shows.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "orders")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: String,
        pub version: i64,
        pub status: OrderStatus,
        pub buyer_work_unit: String,
        pub buyer_regency: String,
        pub vendor_id: String,
        pub vendor_name: String,
        pub vendor_regency: String,
        pub legal_form: String,
        pub scale: String,
        pub total: i64,
        pub placed_at: DateTimeUtc,
        /// WIB day of the placing, `YYYY-MM-DD`: periods filter on it.
        pub placed_day: String,
        pub changed_at: DateTimeUtc,
        pub bast_date: String,
        pub paid_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod order_item {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_items")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub line: i32,
        pub product_id: String,
        pub name: String,
        pub category_code: String,
        pub unit: String,
        pub quantity: i64,
        pub unit_price: i64,
        pub line_total: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod order_total {
    use sea_orm::entity::prelude::*;

    /// Orders and rupiah one key of one dimension holds from the orders
    /// placed on one WIB day (see `domain::figures`).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_totals")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub dimension: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub figure_key: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: String,
        pub orders: i64,
        pub value: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod order_total_all {
    use sea_orm::entity::prelude::*;

    /// The all-time sum of a key's [`super::order_total`] rows, kept beside
    /// them in the same statement's transaction: what the summary, the
    /// breakdowns without a period and the summary stream read.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_totals_all")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub dimension: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub figure_key: String,
        pub orders: i64,
        pub value: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod order_total_period {
    use sea_orm::entity::prelude::*;

    /// The sum of a key's [`super::order_total`] rows over a calendar month
    /// (`period` is `YYYY-MM`) or year (`YYYY`), kept beside them in the same
    /// statement's transaction: a breakdown over whole months or years reads
    /// a row per key and month or year instead of one per key and day.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_totals_period")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub dimension: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub figure_key: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub period: String,
        pub orders: i64,
        pub value: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod summary_count {
    use sea_orm::entity::prelude::*;

    /// A count of the summary kept as vendors and products come and go
    /// (`vendors` by `legal_form`, `scale`, `status`, `regency` and
    /// `trained`; `products` listed by `category` and by their vendor's
    /// `regency`), so that the summary reads a few dozen rows however many
    /// vendors and products there are.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "summary_counts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub measure: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub dimension: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub figure_key: String,
        pub counted: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod watermark {
    use sea_orm::entity::prelude::*;

    /// One row: when the newest event applied happened.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "watermark")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub last_event_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod order_version {
    use blangkon_domain::OrderStatus;
    use sea_orm::entity::prelude::*;

    /// One version of an order: what changed with it. An OCDS release.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i64,
        pub status: OrderStatus,
        pub changed_at: DateTimeUtc,
        /// The WIB day of `changed_at`, `YYYY-MM-DD`: the day package the
        /// release is in.
        pub changed_day: String,
        pub bast_date: String,
        pub paid_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod red_flag {
    use sea_orm::entity::prelude::*;

    /// A raised red flag (see `domain::red_flags`): a row per flag, kept
    /// as its scope's last evaluation left it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "red_flags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub flag_id: String,
        pub kind: String,
        pub basis: String,
        pub scope: String,
        pub buyer_work_unit: String,
        pub buyer_regency: String,
        pub vendor_id: String,
        pub category_code: String,
        pub unit: String,
        pub product_id: String,
        /// The order ids, oldest first: a JSON array.
        pub order_ids: String,
        pub order_count: i64,
        pub amount: i64,
        pub reference: i64,
        pub group_size: i64,
        pub raised_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod red_flag_rules {
    use sea_orm::entity::prelude::*;

    /// One row: the thresholds the stored flags were computed with (JSON),
    /// so that a start with other settings recomputes them all.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "red_flag_rules")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub thresholds: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod red_flag_dirty {
    use sea_orm::entity::prelude::*;

    /// A scope whose flags an event may have changed, and how many times
    /// it was marked (so that a round clears only what it computed).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "red_flag_dirty")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope: String,
        pub marked: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
