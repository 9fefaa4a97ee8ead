//! Schema of the vendor database, platform tables first.

use blangkon_platform::migration::columns::{text, time};
use blangkon_platform::migration::{CreateInbox, CreateOutbox};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ActiveValue::Set, EntityTrait};

use super::entities::regency;
use crate::domain::regency::{CENTRAL_JAVA_CSV, parse_csv};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateInbox),
            Box::new(CreateVendorTables),
            Box::new(SeedCentralJava),
        ]
    }
}

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

struct CreateVendorTables;

impl MigrationName for CreateVendorTables {
    fn name(&self) -> &str {
        "m20261127_000100_vendor_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateVendorTables {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Regencies::Table)
                .col(
                    ColumnDef::new(Regencies::Code)
                        .string_len(5)
                        .not_null()
                        .primary_key(),
                )
                .col(text(Regencies::Name))
                .col(text(Regencies::Kind))
                .col(
                    ColumnDef::new(Regencies::ProvinceCode)
                        .string_len(2)
                        .not_null(),
                )
                .col(text(Regencies::AddedBy))
                .col(
                    ColumnDef::new(Regencies::JoinedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(ColumnDef::new(Regencies::JoinedBy).string().null())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Vendors::Table)
                .col(
                    ColumnDef::new(Vendors::Id)
                        .string_len(36)
                        .not_null()
                        .primary_key(),
                )
                .col(text(Vendors::Name))
                .col(text(Vendors::NameSearch))
                .col(text(Vendors::LegalForm))
                .col(ColumnDef::new(Vendors::Nik).string_len(16).null())
                .col(ColumnDef::new(Vendors::Nib).string_len(13).null())
                .col(ColumnDef::new(Vendors::Npwp).string_len(16).null())
                .col(text(Vendors::Scale))
                .col(ColumnDef::new(Vendors::Address).text().not_null())
                .col(
                    ColumnDef::new(Vendors::RegencyCode)
                        .string_len(5)
                        .not_null(),
                )
                .col(text(Vendors::Phone))
                .col(text(Vendors::Email))
                .col(text(Vendors::BankName))
                .col(text(Vendors::BankAccountNumber))
                .col(text(Vendors::BankAccountHolder))
                .col(text(Vendors::Status))
                .col(ColumnDef::new(Vendors::OwnerSubject).string().null())
                .col(text(Vendors::RegisteredBy))
                .col(time(Vendors::RegisteredAt))
                .col(time(Vendors::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Vendors::Table, Vendors::RegencyCode)
                        .to(Regencies::Table, Regencies::Code),
                )
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
            m.create_index(
                Index::create()
                    .name(name)
                    .table(Vendors::Table)
                    .col(col)
                    .unique()
                    .to_owned(),
            )
            .await?;
        }
        // Listing filters by regency and status, ordered by id.
        m.create_index(
            Index::create()
                .name("vendors_regency_status")
                .table(Vendors::Table)
                .col(Vendors::RegencyCode)
                .col(Vendors::Status)
                .col(Vendors::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(VendorStatusHistory::Table)
                .col(
                    ColumnDef::new(VendorStatusHistory::Id)
                        .string_len(36)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(VendorStatusHistory::VendorId)
                        .string_len(36)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(VendorStatusHistory::FromStatus)
                        .string()
                        .null(),
                )
                .col(text(VendorStatusHistory::ToStatus))
                .col(text(VendorStatusHistory::Actor))
                .col(text(VendorStatusHistory::ActorRole))
                .col(
                    ColumnDef::new(VendorStatusHistory::Reason)
                        .text()
                        .not_null(),
                )
                .col(time(VendorStatusHistory::ChangedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(VendorStatusHistory::Table, VendorStatusHistory::VendorId)
                        .to(Vendors::Table, Vendors::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("vendor_status_history_vendor")
                .table(VendorStatusHistory::Table)
                .col(VendorStatusHistory::VendorId)
                .col(VendorStatusHistory::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Trainings::Table)
                .col(
                    ColumnDef::new(Trainings::Id)
                        .string_len(36)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Trainings::VendorId)
                        .string_len(36)
                        .not_null(),
                )
                .col(text(Trainings::Topic))
                .col(text(Trainings::Kind))
                .col(ColumnDef::new(Trainings::AttendedOn).date().not_null())
                .col(text(Trainings::Organizer))
                .col(text(Trainings::RecordedBy))
                .col(time(Trainings::RecordedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Trainings::Table, Trainings::VendorId)
                        .to(Vendors::Table, Vendors::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("trainings_vendor")
                .table(Trainings::Table)
                .col(Trainings::VendorId)
                .to_owned(),
        )
        .await
    }
}

struct SeedCentralJava;

impl MigrationName for SeedCentralJava {
    fn name(&self) -> &str {
        "m20261127_000101_seed_central_java"
    }
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
