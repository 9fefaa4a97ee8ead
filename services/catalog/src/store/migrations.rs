//! Schema of the catalog database, platform tables first.

use blangkon_platform::migration::columns::{money, text, time};
use blangkon_platform::migration::{CreateInbox, CreateOutbox};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ActiveValue::Set, EntityTrait};

use super::entities::category;
use crate::domain::category::TAXONOMY;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateInbox),
            Box::new(CreateCatalogTables),
            Box::new(SeedTaxonomy),
            Box::new(CreateSearchChanges),
            Box::new(CreateReservations),
            Box::new(AddReservationSnapshots),
        ]
    }
}

#[derive(DeriveIden)]
enum Categories {
    Table,
    Code,
    Name,
    ParentCode,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    VendorId,
    CategoryCode,
    Name,
    Description,
    Unit,
    Price,
    MinOrderQuantity,
    Stock,
    ImageUrls,
    DeliveryRegencies,
    DomesticProduct,
    Status,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PriceHistory {
    Table,
    Id,
    ProductId,
    OldPrice,
    NewPrice,
    ChangedBy,
    ChangedAt,
}

#[derive(DeriveIden)]
enum Vendors {
    Table,
    VendorId,
    RegencyCode,
    LegalForm,
    Scale,
    Status,
    StatusAt,
}

struct CreateCatalogTables;

impl MigrationName for CreateCatalogTables {
    fn name(&self) -> &str {
        "m20261127_000200_catalog_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateCatalogTables {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Categories::Table)
                .col(
                    ColumnDef::new(Categories::Code)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(text(Categories::Name))
                .col(ColumnDef::new(Categories::ParentCode).string_len(64).null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Vendors::Table)
                .col(
                    ColumnDef::new(Vendors::VendorId)
                        .string_len(36)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Vendors::RegencyCode)
                        .string_len(5)
                        .not_null(),
                )
                .col(text(Vendors::LegalForm))
                .col(text(Vendors::Scale))
                .col(text(Vendors::Status))
                .col(time(Vendors::StatusAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Products::Table)
                .col(
                    ColumnDef::new(Products::Id)
                        .string_len(36)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Products::VendorId).string_len(36).not_null())
                .col(
                    ColumnDef::new(Products::CategoryCode)
                        .string_len(64)
                        .not_null(),
                )
                .col(text(Products::Name))
                .col(ColumnDef::new(Products::Description).text().not_null())
                .col(text(Products::Unit))
                .col(money(Products::Price))
                .col(money(Products::MinOrderQuantity))
                .col(money(Products::Stock))
                .col(ColumnDef::new(Products::ImageUrls).text().not_null())
                .col(
                    ColumnDef::new(Products::DeliveryRegencies)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Products::DomesticProduct)
                        .boolean()
                        .not_null(),
                )
                .col(text(Products::Status))
                .col(money(Products::Version))
                .col(time(Products::CreatedAt))
                .col(time(Products::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Products::Table, Products::CategoryCode)
                        .to(Categories::Table, Categories::Code),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("products_vendor")
                .table(Products::Table)
                .col(Products::VendorId)
                .col(Products::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PriceHistory::Table)
                .col(
                    ColumnDef::new(PriceHistory::Id)
                        .string_len(36)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(PriceHistory::ProductId)
                        .string_len(36)
                        .not_null(),
                )
                .col(money(PriceHistory::OldPrice))
                .col(money(PriceHistory::NewPrice))
                .col(text(PriceHistory::ChangedBy))
                .col(time(PriceHistory::ChangedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(PriceHistory::Table, PriceHistory::ProductId)
                        .to(Products::Table, Products::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("price_history_product")
                .table(PriceHistory::Table)
                .col(PriceHistory::ProductId)
                .col(PriceHistory::Id)
                .to_owned(),
        )
        .await
    }
}

struct SeedTaxonomy;

impl MigrationName for SeedTaxonomy {
    fn name(&self) -> &str {
        "m20261127_000201_seed_taxonomy"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SeedTaxonomy {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let rows = TAXONOMY.iter().map(|c| category::ActiveModel {
            code: Set(c.code.to_string()),
            name: Set(c.name.to_string()),
            parent_code: Set(c.parent.map(String::from)),
        });
        category::Entity::insert_many(rows)
            .exec_without_returning(m.get_connection())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum SearchChanges {
    Table,
    Seq,
    Entity,
    EntityId,
    ChangedAt,
}

/// The change log every search replica tails to keep its index current.
struct CreateSearchChanges;

impl MigrationName for CreateSearchChanges {
    fn name(&self) -> &str {
        "m20261127_000202_search_changes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateSearchChanges {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SearchChanges::Table)
                .col(
                    ColumnDef::new(SearchChanges::Seq)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(SearchChanges::Entity)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(SearchChanges::EntityId)
                        .string_len(36)
                        .not_null(),
                )
                .col(time(SearchChanges::ChangedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("search_changes_changed_at")
                .table(SearchChanges::Table)
                .col(SearchChanges::ChangedAt)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Reservations {
    Table,
    ReservationId,
    ProductId,
    Quantity,
    Status,
    ReservedAt,
    ReleasedAt,
    Line,
    VendorId,
    Name,
    CategoryCode,
    Unit,
    UnitPrice,
}

/// Stock held for orders: one row per reservation line.
struct CreateReservations;

impl MigrationName for CreateReservations {
    fn name(&self) -> &str {
        "m20261127_000203_reservations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateReservations {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Reservations::Table)
                .col(
                    ColumnDef::new(Reservations::ReservationId)
                        .string_len(36)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Reservations::ProductId)
                        .string_len(36)
                        .not_null(),
                )
                .col(money(Reservations::Quantity))
                .col(text(Reservations::Status))
                .col(time(Reservations::ReservedAt))
                .col(
                    ColumnDef::new(Reservations::ReleasedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .primary_key(
                    Index::create()
                        .col(Reservations::ReservationId)
                        .col(Reservations::ProductId),
                )
                .to_owned(),
        )
        .await
    }
}

/// Each reservation line keeps its place in the request and the product as
/// it was when its stock was taken, so a retried reservation answers the
/// same prices as the first call. Rows from before this migration get
/// empty snapshots. One column per statement: SQLite alters one at a time.
struct AddReservationSnapshots;

impl MigrationName for AddReservationSnapshots {
    fn name(&self) -> &str {
        "m20261128_000204_reservation_snapshots"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddReservationSnapshots {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            ColumnDef::new(Reservations::Line)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            text(Reservations::VendorId).default("").to_owned(),
            text(Reservations::Name).default("").to_owned(),
            text(Reservations::CategoryCode).default("").to_owned(),
            text(Reservations::Unit).default("").to_owned(),
            money(Reservations::UnitPrice).default(0).to_owned(),
        ];
        for column in columns {
            m.alter_table(
                Table::alter()
                    .table(Reservations::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
