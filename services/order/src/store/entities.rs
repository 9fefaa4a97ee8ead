//! sea-orm entities of the order database.

pub mod order {
    use blangkon_domain::{OrderStatus, Rupiah};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "orders")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub buyer_work_unit: String,
        pub buyer_regency: String,
        pub buyer_subject: String,
        pub vendor_id: String,
        /// The vendor's name when the order was placed.
        pub vendor_name: String,
        pub vendor_regency: String,
        pub vendor_legal_form: String,
        pub vendor_scale: String,
        /// Computed from the items.
        pub total: Rupiah,
        pub status: OrderStatus,
        pub bast_number: Option<String>,
        pub bast_date: Option<Date>,
        pub payment_reference: Option<String>,
        pub note: String,
        pub version: i64,
        pub placed_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod item {
    use blangkon_domain::Rupiah;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_items")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub product_id: String,
        pub name: String,
        pub category_code: String,
        pub unit: String,
        pub quantity: i64,
        /// Price snapshot at placing time.
        pub unit_price: Rupiah,
        pub line_total: Rupiah,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod history {
    use blangkon_domain::OrderStatus;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_history")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub order_id: String,
        pub from_status: Option<OrderStatus>,
        pub to_status: OrderStatus,
        pub actor: String,
        pub actor_role: String,
        pub note: String,
        pub changed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An idempotency key of a buyer's work unit (its regency and name) and
/// the order it made.
pub mod idempotency {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub buyer_regency: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub work_unit: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// Fingerprint of the request body: same key, other body is refused.
        pub request_hash: String,
        pub order_id: String,
        /// The catalog reservation that holds the order's stock; empty for
        /// keys written before reservation ids named the regency.
        pub reservation_id: String,
        pub created_at: DateTimeUtc,
    }

    impl Model {
        /// The catalog reservation that holds the order's stock.
        pub fn reservation(&self) -> String {
            if self.reservation_id.is_empty() {
                // Placed before ids named the regency: the work unit and
                // the key alone made it.
                uuid::Uuid::new_v5(
                    &uuid::Uuid::NAMESPACE_OID,
                    format!("blangkon-order:{}:{}", self.work_unit, self.key).as_bytes(),
                )
                .to_string()
            } else {
                self.reservation_id.clone()
            }
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A placing that may hold stock at the catalog without an order: written
/// before the stock is reserved, deleted with the order's write or once the
/// stock is given back. A row that outlives any call is an order service
/// that stopped in between; the sweeper gives its stock back.
pub mod attempt {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "placing_attempts")]
    pub struct Model {
        /// Empty for an attempt recorded before work units were told apart
        /// by regency (it is only ever swept).
        #[sea_orm(primary_key, auto_increment = false)]
        pub buyer_regency: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub work_unit: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub reservation_id: String,
        pub started_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What the order service knows of a vendor from the vendor service's
/// events: enough to check it may take an order and to stamp the order
/// with who sold, without a call per placing.
pub mod vendor {
    use blangkon_domain::VendorStatus;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vendors")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub vendor_id: String,
        /// Empty while only a status change was heard (the registration
        /// was before the topic's retention): placing then asks the vendor
        /// service, as for a vendor never heard of.
        pub name: String,
        pub regency_code: String,
        /// Stored codes; empty when this build does not know them.
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
