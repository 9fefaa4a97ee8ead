//! Schema of the order database, platform tables first.

use blangkon_platform::migration::columns::{
    code, id, long_text, money, optional_text, regency, text, time,
};
use blangkon_platform::migration::statements::{add_columns, index, key, references};
use blangkon_platform::{migration, migrator};
use sea_orm_migration::prelude::*;

migrator!(CreateOrderTables, CreatePlacingAttempts, AddVendorName);

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

migration! {
    CreateOrderTables = "m20261127_000300_order_tables"
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOrderTables {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Orders::Table)
                .col(id(Orders::Id).primary_key())
                .col(text(Orders::BuyerWorkUnit))
                .col(regency(Orders::BuyerRegency))
                .col(text(Orders::BuyerSubject))
                .col(id(Orders::VendorId))
                .col(regency(Orders::VendorRegency))
                .col(text(Orders::VendorLegalForm))
                .col(text(Orders::VendorScale))
                .col(money(Orders::Total))
                .col(text(Orders::Status))
                .col(optional_text(Orders::BastNumber))
                .col(ColumnDef::new(Orders::BastDate).date().null())
                .col(optional_text(Orders::PaymentReference))
                .col(long_text(Orders::Note))
                .col(money(Orders::Version))
                .col(time(Orders::PlacedAt))
                .col(time(Orders::UpdatedAt))
                .to_owned(),
        )
        .await?;
        for (name, first) in [
            ("orders_work_unit", Orders::BuyerWorkUnit),
            ("orders_vendor", Orders::VendorId),
            ("orders_regency", Orders::BuyerRegency),
        ] {
            m.create_index(index(name, Orders::Table, [first, Orders::Id]))
                .await?;
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
                .primary_key(&mut key([OrderItems::OrderId, OrderItems::ProductId]))
                .foreign_key(&mut references(
                    (OrderItems::Table, OrderItems::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OrderHistory::Table)
                .col(id(OrderHistory::Id).primary_key())
                .col(id(OrderHistory::OrderId))
                .col(optional_text(OrderHistory::FromStatus))
                .col(text(OrderHistory::ToStatus))
                .col(text(OrderHistory::Actor))
                .col(text(OrderHistory::ActorRole))
                .col(long_text(OrderHistory::Note))
                .col(time(OrderHistory::ChangedAt))
                .foreign_key(&mut references(
                    (OrderHistory::Table, OrderHistory::OrderId),
                    (Orders::Table, Orders::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "order_history_order",
            OrderHistory::Table,
            [OrderHistory::OrderId, OrderHistory::Id],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(text(IdempotencyKeys::WorkUnit))
                .col(text(IdempotencyKeys::Key))
                .col(code(IdempotencyKeys::RequestHash, 64))
                .col(id(IdempotencyKeys::OrderId))
                .col(time(IdempotencyKeys::CreatedAt))
                .primary_key(&mut key([IdempotencyKeys::WorkUnit, IdempotencyKeys::Key]))
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

migration! {
    /// Placings that reserved stock and have not yet written their order.
    CreatePlacingAttempts = "m20261128_000301_placing_attempts"
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
                .primary_key(&mut key([PlacingAttempts::WorkUnit, PlacingAttempts::Key]))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "placing_attempts_started",
            PlacingAttempts::Table,
            [PlacingAttempts::StartedAt],
        ))
        .await
    }
}

migration! {
    /// The vendor's name on the order, for its events: reporting's public
    /// ledger shows who sold without waiting to hear of the vendor itself.
    AddVendorName = "m20261128_000302_order_vendor_name"
}

#[async_trait::async_trait]
impl MigrationTrait for AddVendorName {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let vendor_name = text(Orders::VendorName).default("").to_owned();
        add_columns(m, Orders::Table, [vendor_name]).await
    }
}
