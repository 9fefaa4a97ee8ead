//! Schema of the catalog database, platform tables first.

use blangkon_platform::migration::columns::{
    code, flag, id, long_text, money, number, optional_code, optional_text, optional_time, regency,
    sequence, text, time,
};
use blangkon_platform::migration::statements::{add_columns, index, key, references};
use blangkon_platform::{migration, migrator};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ActiveValue::Set, EntityTrait};

use super::entities::category;
use crate::domain::category::{TAXONOMY_CSV, parse_taxonomy};

migrator!(
    CreateCatalogTables,
    SeedTaxonomy,
    CreateSearchChanges,
    CreateReservations,
    AddReservationSnapshots,
    AddProductCreationKeys
);

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
    CreationKey,
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

migration! {
    CreateCatalogTables = "m20261127_000200_catalog_tables"
}

#[async_trait::async_trait]
impl MigrationTrait for CreateCatalogTables {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Categories::Table)
                .col(code(Categories::Code, 64).primary_key())
                .col(text(Categories::Name))
                .col(optional_code(Categories::ParentCode, 64))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Vendors::Table)
                .col(id(Vendors::VendorId).primary_key())
                .col(regency(Vendors::RegencyCode))
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
                .col(id(Products::Id).primary_key())
                .col(id(Products::VendorId))
                .col(code(Products::CategoryCode, 64))
                .col(text(Products::Name))
                .col(long_text(Products::Description))
                .col(text(Products::Unit))
                .col(money(Products::Price))
                .col(money(Products::MinOrderQuantity))
                .col(money(Products::Stock))
                .col(long_text(Products::ImageUrls))
                .col(long_text(Products::DeliveryRegencies))
                .col(flag(Products::DomesticProduct))
                .col(text(Products::Status))
                .col(money(Products::Version))
                .col(time(Products::CreatedAt))
                .col(time(Products::UpdatedAt))
                .foreign_key(&mut references(
                    (Products::Table, Products::CategoryCode),
                    (Categories::Table, Categories::Code),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "products_vendor",
            Products::Table,
            [Products::VendorId, Products::Id],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(PriceHistory::Table)
                .col(id(PriceHistory::Id).primary_key())
                .col(id(PriceHistory::ProductId))
                .col(money(PriceHistory::OldPrice))
                .col(money(PriceHistory::NewPrice))
                .col(text(PriceHistory::ChangedBy))
                .col(time(PriceHistory::ChangedAt))
                .foreign_key(&mut references(
                    (PriceHistory::Table, PriceHistory::ProductId),
                    (Products::Table, Products::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "price_history_product",
            PriceHistory::Table,
            [PriceHistory::ProductId, PriceHistory::Id],
        ))
        .await
    }
}

migration! {
    SeedTaxonomy = "m20261127_000201_seed_taxonomy"
}

#[async_trait::async_trait]
impl MigrationTrait for SeedTaxonomy {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let taxonomy = parse_taxonomy(TAXONOMY_CSV).map_err(DbErr::Migration)?;
        let rows = taxonomy.into_iter().map(|c| category::ActiveModel {
            code: Set(c.code),
            name: Set(c.name),
            parent_code: Set(c.parent),
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

migration! {
    /// The change log every search replica tails to keep its index current.
    CreateSearchChanges = "m20261127_000202_search_changes"
}

#[async_trait::async_trait]
impl MigrationTrait for CreateSearchChanges {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SearchChanges::Table)
                .col(sequence(SearchChanges::Seq))
                .col(code(SearchChanges::Entity, 16))
                .col(id(SearchChanges::EntityId))
                .col(time(SearchChanges::ChangedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "search_changes_changed_at",
            SearchChanges::Table,
            [SearchChanges::ChangedAt],
        ))
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

migration! {
    /// Stock held for orders: one row per reservation line.
    CreateReservations = "m20261127_000203_reservations"
}

#[async_trait::async_trait]
impl MigrationTrait for CreateReservations {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Reservations::Table)
                .col(id(Reservations::ReservationId))
                .col(id(Reservations::ProductId))
                .col(money(Reservations::Quantity))
                .col(text(Reservations::Status))
                .col(time(Reservations::ReservedAt))
                .col(optional_time(Reservations::ReleasedAt))
                .primary_key(&mut key([
                    Reservations::ReservationId,
                    Reservations::ProductId,
                ]))
                .to_owned(),
        )
        .await
    }
}

migration! {
    /// Each reservation line keeps its place in the request and the product as
    /// it was when its stock was taken, so a retried reservation answers the
    /// same prices as the first call. Rows from before this migration get
    /// empty snapshots.
    AddReservationSnapshots = "m20261128_000204_reservation_snapshots"
}

#[async_trait::async_trait]
impl MigrationTrait for AddReservationSnapshots {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            number(Reservations::Line).default(0).to_owned(),
            text(Reservations::VendorId).default("").to_owned(),
            text(Reservations::Name).default("").to_owned(),
            text(Reservations::CategoryCode).default("").to_owned(),
            text(Reservations::Unit).default("").to_owned(),
            money(Reservations::UnitPrice).default(0).to_owned(),
        ];
        add_columns(m, Reservations::Table, columns).await
    }
}

migration! {
    /// The key a vendor's system may give a product it creates, so that
    /// creating it again (a retry after a lost answer) finds the first one
    /// instead of making a second: unique per vendor, absent on products
    /// created without one.
    AddProductCreationKeys = "m20261130_000205_product_creation_keys"
}

#[async_trait::async_trait]
impl MigrationTrait for AddProductCreationKeys {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add_columns(m, Products::Table, [optional_text(Products::CreationKey)]).await?;
        m.create_index(
            index(
                "products_vendor_creation_key",
                Products::Table,
                [Products::VendorId, Products::CreationKey],
            )
            .unique()
            .to_owned(),
        )
        .await
    }
}
