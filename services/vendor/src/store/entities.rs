//! sea-orm entities of the vendor database.

pub mod regency {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "regencies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub name: String,
        pub kind: String,
        pub province_code: String,
        /// Who added it: `seed`, `config`, or the subject of a province admin.
        pub added_by: String,
        pub joined_at: Option<DateTimeUtc>,
        pub joined_by: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod vendor {
    use blangkon_domain::{LegalForm, Scale, VendorStatus};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vendors")]
    pub struct Model {
        /// UUIDv7: time-ordered, so ordering by id is registration order.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        /// Lower-cased name: case-insensitive search behaves the same on
        /// PostgreSQL and SQLite.
        pub name_search: String,
        pub legal_form: LegalForm,
        pub nik: Option<String>,
        pub nib: Option<String>,
        pub npwp: Option<String>,
        pub scale: Scale,
        pub address: String,
        pub regency_code: String,
        pub phone: String,
        pub email: String,
        pub bank_name: String,
        pub bank_account_number: String,
        pub bank_account_holder: String,
        pub status: VendorStatus,
        /// Token subject of a vendor that registered itself; it may act on
        /// this vendor before its token carries the vendor id.
        pub owner_subject: Option<String>,
        pub registered_by: String,
        pub registered_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// For the regency's review: the vendor that already held one of
        /// this registration's identifiers when it was registered.
        pub duplicate_of: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod status_history {
    use blangkon_domain::VendorStatus;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vendor_status_history")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub vendor_id: String,
        /// None for the registration itself.
        pub from_status: Option<VendorStatus>,
        pub to_status: VendorStatus,
        pub actor: String,
        pub actor_role: String,
        pub reason: String,
        pub changed_at: DateTimeUtc,
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
        pub id: String,
        pub vendor_id: String,
        pub topic: String,
        pub kind: String,
        pub attended_on: Date,
        pub organizer: String,
        pub recorded_by: String,
        pub recorded_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
