//! Schema of the order database, platform tables first.

use blangkon_platform::migration::columns::{id, money, text, time};
use blangkon_platform::migration::{CreateInbox, CreateOutbox};
use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateInbox),
            Box::new(CreateOrderTables),
            Box::new(CreatePlacingAttempts),
            Box::new(AddVendorName),
        ]
    }
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    BuyerWorkUnit,
    BuyerRegency,
    BuyerSubject,
    VendorId,
    VendorName,
    VendorRegency,
    VendorLegalForm,
    VendorScale,
    Total,
    Status,
    BastNumber,
    BastDate,
    PaymentReference,
    Note,
    Version,
    PlacedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderItems {
    Table,
    OrderId,
    ProductId,
    Name,
    CategoryCode,
    Unit,
    Quantity,
    UnitPrice,
    LineTotal,
}

#[derive(DeriveIden)]
enum OrderHistory {
    Table,
    Id,
    OrderId,
    FromStatus,
    ToStatus,
    Actor,
    ActorRole,
    Note,
    ChangedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    WorkUnit,
    Key,
    RequestHash,
    OrderId,
    CreatedAt,
}

struct CreateOrderTables;

impl MigrationName for CreateOrderTables {
    fn name(&self) -> &str {
        "m20261127_000300_order_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOrderTables {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Orders::Table)
                .col(id(Orders::Id).primary_key())
                .col(text(Orders::BuyerWorkUnit))
                .col(
                    ColumnDef::new(Orders::BuyerRegency)
                        .string_len(5)
                        .not_null(),
                )
                .col(text(Orders::BuyerSubject))
                .col(id(Orders::VendorId))
                .col(
                    ColumnDef::new(Orders::VendorRegency)
                        .string_len(5)
                        .not_null(),
                )
                .col(text(Orders::VendorLegalForm))
                .col(text(Orders::VendorScale))
                .col(money(Orders::Total))
                .col(text(Orders::Status))
                .col(ColumnDef::new(Orders::BastNumber).string().null())
                .col(ColumnDef::new(Orders::BastDate).date().null())
                .col(ColumnDef::new(Orders::PaymentReference).string().null())
                .col(ColumnDef::new(Orders::Note).text().not_null())
                .col(money(Orders::Version))
                .col(time(Orders::PlacedAt))
                .col(time(Orders::UpdatedAt))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("orders_work_unit", vec![Orders::BuyerWorkUnit, Orders::Id]),
            ("orders_vendor", vec![Orders::VendorId, Orders::Id]),
            ("orders_regency", vec![Orders::BuyerRegency, Orders::Id]),
        ] {
            let mut index = Index::create().name(name).table(Orders::Table).to_owned();
            for col in cols {
                index.col(col);
            }
            m.create_index(index).await?;
        }
        m.create_table(
            Table::create()
                .table(OrderItems::Table)
                .col(id(OrderItems::OrderId))
                .col(id(OrderItems::ProductId))
                .col(text(OrderItems::Name))
                .col(text(OrderItems::CategoryCode))
                .col(text(OrderItems::Unit))
                .col(money(OrderItems::Quantity))
                .col(money(OrderItems::UnitPrice))
                .col(money(OrderItems::LineTotal))
                .primary_key(
                    Index::create()
                        .col(OrderItems::OrderId)
                        .col(OrderItems::ProductId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(OrderItems::Table, OrderItems::OrderId)
                        .to(Orders::Table, Orders::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OrderHistory::Table)
                .col(id(OrderHistory::Id).primary_key())
                .col(id(OrderHistory::OrderId))
                .col(ColumnDef::new(OrderHistory::FromStatus).string().null())
                .col(text(OrderHistory::ToStatus))
                .col(text(OrderHistory::Actor))
                .col(text(OrderHistory::ActorRole))
                .col(ColumnDef::new(OrderHistory::Note).text().not_null())
                .col(time(OrderHistory::ChangedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(OrderHistory::Table, OrderHistory::OrderId)
                        .to(Orders::Table, Orders::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("order_history_order")
                .table(OrderHistory::Table)
                .col(OrderHistory::OrderId)
                .col(OrderHistory::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(text(IdempotencyKeys::WorkUnit))
                .col(text(IdempotencyKeys::Key))
                .col(
                    ColumnDef::new(IdempotencyKeys::RequestHash)
                        .string_len(64)
                        .not_null(),
                )
                .col(id(IdempotencyKeys::OrderId))
                .col(time(IdempotencyKeys::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(IdempotencyKeys::WorkUnit)
                        .col(IdempotencyKeys::Key),
                )
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum PlacingAttempts {
    Table,
    WorkUnit,
    Key,
    ReservationId,
    StartedAt,
}

/// Placings that reserved stock and have not yet written their order.
struct CreatePlacingAttempts;

impl MigrationName for CreatePlacingAttempts {
    fn name(&self) -> &str {
        "m20261128_000301_placing_attempts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreatePlacingAttempts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PlacingAttempts::Table)
                .col(text(PlacingAttempts::WorkUnit))
                .col(text(PlacingAttempts::Key))
                .col(id(PlacingAttempts::ReservationId))
                .col(time(PlacingAttempts::StartedAt))
                .primary_key(
                    Index::create()
                        .col(PlacingAttempts::WorkUnit)
                        .col(PlacingAttempts::Key),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("placing_attempts_started")
                .table(PlacingAttempts::Table)
                .col(PlacingAttempts::StartedAt)
                .to_owned(),
        )
        .await
    }
}

/// The vendor's name on the order, for its events: reporting's public
/// ledger shows who sold without waiting to hear of the vendor itself.
struct AddVendorName;

impl MigrationName for AddVendorName {
    fn name(&self) -> &str {
        "m20261128_000302_order_vendor_name"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddVendorName {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(
                    ColumnDef::new(Orders::VendorName)
                        .string()
                        .not_null()
                        .default(""),
                )
                .to_owned(),
        )
        .await
    }
}
