//! Schema of the vendor database, platform tables first.

use blangkon_platform::migration::columns::{
    code, id, long_text, optional_code, optional_text, optional_time, regency, text, time,
};
use blangkon_platform::migration::statements::{index, references};
use blangkon_platform::{migration, migrator};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ActiveValue::Set, EntityTrait};

use super::entities::regency;
use crate::domain::regency::{CENTRAL_JAVA_CSV, parse_csv};

migrator!(CreateVendorTables, SeedCentralJava, DuplicatesGoToReview);

#[derive(DeriveIden)]
enum Regencies {
    Table,
    Code,
    Name,
    Kind,
    ProvinceCode,
    AddedBy,
    JoinedAt,
    JoinedBy,
}

#[derive(DeriveIden)]
enum Vendors {
    Table,
    Id,
    Name,
    NameSearch,
    LegalForm,
    Nik,
    Nib,
    Npwp,
    Scale,
    Address,
    RegencyCode,
    Phone,
    Email,
    BankName,
    BankAccountNumber,
    BankAccountHolder,
    Status,
    OwnerSubject,
    RegisteredBy,
    DuplicateOf,
    RegisteredAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum VendorStatusHistory {
    Table,
    Id,
    VendorId,
    FromStatus,
    ToStatus,
    Actor,
    ActorRole,
    Reason,
    ChangedAt,
}

#[derive(DeriveIden)]
enum Trainings {
    Table,
    Id,
    VendorId,
    Topic,
    Kind,
    AttendedOn,
    Organizer,
    RecordedBy,
    RecordedAt,
}

migration! {
    CreateVendorTables = "m20261127_000100_vendor_tables"
}

#[async_trait::async_trait]
impl MigrationTrait for CreateVendorTables {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Regencies::Table)
                .col(regency(Regencies::Code).primary_key())
                .col(text(Regencies::Name))
                .col(text(Regencies::Kind))
                .col(code(Regencies::ProvinceCode, 2))
                .col(text(Regencies::AddedBy))
                .col(optional_time(Regencies::JoinedAt))
                .col(optional_text(Regencies::JoinedBy))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Vendors::Table)
                .col(id(Vendors::Id).primary_key())
                .col(text(Vendors::Name))
                .col(text(Vendors::NameSearch))
                .col(text(Vendors::LegalForm))
                .col(optional_code(Vendors::Nik, 16))
                .col(optional_code(Vendors::Nib, 13))
                .col(optional_code(Vendors::Npwp, 16))
                .col(text(Vendors::Scale))
                .col(long_text(Vendors::Address))
                .col(regency(Vendors::RegencyCode))
                .col(text(Vendors::Phone))
                .col(text(Vendors::Email))
                .col(text(Vendors::BankName))
                .col(text(Vendors::BankAccountNumber))
                .col(text(Vendors::BankAccountHolder))
                .col(text(Vendors::Status))
                .col(optional_text(Vendors::OwnerSubject))
                .col(text(Vendors::RegisteredBy))
                .col(time(Vendors::RegisteredAt))
                .col(time(Vendors::UpdatedAt))
                .foreign_key(&mut references(
                    (Vendors::Table, Vendors::RegencyCode),
                    (Regencies::Table, Regencies::Code),
                ))
                .to_owned(),
        )
        .await?;
        // One vendor per NIK, NIB, NPWP and self-registered account. NULLs
        // are distinct on both backends, so absent identifiers do not clash.
        for (name, col) in [
            ("vendors_nik_key", Vendors::Nik),
            ("vendors_nib_key", Vendors::Nib),
            ("vendors_npwp_key", Vendors::Npwp),
            ("vendors_owner_subject_key", Vendors::OwnerSubject),
        ] {
            m.create_index(index(name, Vendors::Table, [col]).unique().to_owned())
                .await?;
        }
        // Listing filters by regency and status, ordered by id.
        m.create_index(index(
            "vendors_regency_status",
            Vendors::Table,
            [Vendors::RegencyCode, Vendors::Status, Vendors::Id],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(VendorStatusHistory::Table)
                .col(id(VendorStatusHistory::Id).primary_key())
                .col(id(VendorStatusHistory::VendorId))
                .col(optional_text(VendorStatusHistory::FromStatus))
                .col(text(VendorStatusHistory::ToStatus))
                .col(text(VendorStatusHistory::Actor))
                .col(text(VendorStatusHistory::ActorRole))
                .col(long_text(VendorStatusHistory::Reason))
                .col(time(VendorStatusHistory::ChangedAt))
                .foreign_key(&mut references(
                    (VendorStatusHistory::Table, VendorStatusHistory::VendorId),
                    (Vendors::Table, Vendors::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "vendor_status_history_vendor",
            VendorStatusHistory::Table,
            [VendorStatusHistory::VendorId, VendorStatusHistory::Id],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Trainings::Table)
                .col(id(Trainings::Id).primary_key())
                .col(id(Trainings::VendorId))
                .col(text(Trainings::Topic))
                .col(text(Trainings::Kind))
                .col(ColumnDef::new(Trainings::AttendedOn).date().not_null())
                .col(text(Trainings::Organizer))
                .col(text(Trainings::RecordedBy))
                .col(time(Trainings::RecordedAt))
                .foreign_key(&mut references(
                    (Trainings::Table, Trainings::VendorId),
                    (Vendors::Table, Vendors::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "trainings_vendor",
            Trainings::Table,
            [Trainings::VendorId],
        ))
        .await
    }
}

migration! {
    SeedCentralJava = "m20261127_000101_seed_central_java"
}

#[async_trait::async_trait]
impl MigrationTrait for SeedCentralJava {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let regencies = parse_csv(CENTRAL_JAVA_CSV).map_err(DbErr::Migration)?;
        let rows = regencies.into_iter().map(|r| regency::ActiveModel {
            province_code: Set(r.code.province().to_string()),
            code: Set(r.code.as_str().to_string()),
            name: Set(r.name),
            kind: Set(r.kind.as_str().to_string()),
            added_by: Set("seed".to_string()),
            joined_at: Set(None),
            joined_by: Set(None),
        });
        regency::Entity::insert_many(rows)
            .exec_without_returning(m.get_connection())
            .await?;
        Ok(())
    }
}

migration! {
    /// A registration whose NIK, NIB or NPWP another vendor holds is kept,
    /// pending, for the regency's review, instead of being refused (which
    /// told whoever registered that the identifier is taken). One vendor
    /// per identifier still holds among the verified and suspended ones:
    /// the regency rejects the duplicate, or rejects the other first.
    DuplicatesGoToReview = "m20261205_000102_duplicates_go_to_review"
}

#[async_trait::async_trait]
impl MigrationTrait for DuplicatesGoToReview {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Vendors::Table)
                .add_column(optional_code(Vendors::DuplicateOf, 36))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for column in ["nik", "nib", "npwp"] {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS vendors_{column}_key"))
                .await?;
            db.execute_unprepared(&format!(
                "CREATE INDEX vendors_{column} ON vendors ({column})"
            ))
            .await?;
            // Partial unique indexes: the same statement on PostgreSQL and
            // SQLite.
            db.execute_unprepared(&format!(
                "CREATE UNIQUE INDEX vendors_{column}_active ON vendors ({column}) \
                 WHERE status IN ('verified', 'suspended')"
            ))
            .await?;
        }
        Ok(())
    }
}
