//! Schema of the order database, platform tables first.

use blangkon_platform::migration::columns::{
    code, id, long_text, money, optional_text, regency, text, time,
};
use blangkon_platform::migration::statements::{add_columns, index, key, references};
use blangkon_platform::{migration, migrator};
use sea_orm_migration::prelude::*;

migrator!(
    CreateOrderTables,
    CreatePlacingAttempts,
    AddVendorName,
    KeyByBuyerRegency,
    CreateVendors
);

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

#[derive(DeriveIden)]
enum KeysByRegency {
    Table,
    BuyerRegency,
    WorkUnit,
    Key,
    RequestHash,
    OrderId,
    ReservationId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AttemptsByRegency {
    Table,
    BuyerRegency,
    WorkUnit,
    Key,
    ReservationId,
    StartedAt,
}

migration! {
    /// A work unit's name is unique only within its regency, so idempotency
    /// keys and placing attempts are the regency's, the work unit's and the
    /// key together. Keys also keep the reservation that holds their
    /// order's stock, whose id now names the regency too; keys written
    /// before keep an empty one, and their id is derived as it was then.
    /// Old order pods cannot place on the new tables: the order service is
    /// upgraded past this migration with its old pods stopped (RUNBOOK).
    KeyByBuyerRegency = "m20261204_000303_key_by_buyer_regency"
}

#[async_trait::async_trait]
impl MigrationTrait for KeyByBuyerRegency {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(KeysByRegency::Table)
                .col(regency(KeysByRegency::BuyerRegency))
                .col(text(KeysByRegency::WorkUnit))
                .col(text(KeysByRegency::Key))
                .col(code(KeysByRegency::RequestHash, 64))
                .col(id(KeysByRegency::OrderId))
                // Empty for keys from before: their id is derived (see
                // `idempotency::Model::reservation`).
                .col(code(KeysByRegency::ReservationId, 36).default(""))
                .col(time(KeysByRegency::CreatedAt))
                .primary_key(&mut key([
                    KeysByRegency::BuyerRegency,
                    KeysByRegency::WorkUnit,
                    KeysByRegency::Key,
                ]))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AttemptsByRegency::Table)
                .col(code(AttemptsByRegency::BuyerRegency, 5))
                .col(text(AttemptsByRegency::WorkUnit))
                .col(text(AttemptsByRegency::Key))
                .col(id(AttemptsByRegency::ReservationId))
                .col(time(AttemptsByRegency::StartedAt))
                .primary_key(&mut key([
                    AttemptsByRegency::BuyerRegency,
                    AttemptsByRegency::WorkUnit,
                    AttemptsByRegency::Key,
                ]))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        // Each key takes its order's buyer regency; an attempt takes the one
        // of the order its key made, if any (else it is only ever swept).
        db.execute_unprepared(
            "INSERT INTO keys_by_regency \
             (buyer_regency, work_unit, key, request_hash, order_id, reservation_id, created_at) \
             SELECT o.buyer_regency, k.work_unit, k.key, k.request_hash, k.order_id, '', k.created_at \
             FROM idempotency_keys k JOIN orders o ON o.id = k.order_id",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO attempts_by_regency \
             (buyer_regency, work_unit, key, reservation_id, started_at) \
             SELECT COALESCE((SELECT o.buyer_regency FROM idempotency_keys k \
             JOIN orders o ON o.id = k.order_id \
             WHERE k.work_unit = a.work_unit AND k.key = a.key), ''), \
             a.work_unit, a.key, a.reservation_id, a.started_at FROM placing_attempts a",
        )
        .await?;
        for old in ["idempotency_keys", "placing_attempts"] {
            m.drop_table(Table::drop().table(Alias::new(old)).to_owned())
                .await?;
        }
        m.rename_table(
            Table::rename()
                .table(KeysByRegency::Table, Alias::new("idempotency_keys"))
                .to_owned(),
        )
        .await?;
        m.rename_table(
            Table::rename()
                .table(AttemptsByRegency::Table, Alias::new("placing_attempts"))
                .to_owned(),
        )
        .await?;
        // The sweeper's index went with the old table.
        m.create_index(index(
            "placing_attempts_started",
            PlacingAttempts::Table,
            [PlacingAttempts::StartedAt],
        ))
        .await
    }
}

#[derive(DeriveIden)]
enum Vendors {
    Table,
    VendorId,
    Name,
    RegencyCode,
    LegalForm,
    Scale,
    Status,
    StatusAt,
}

migration! {
    /// The order service's projection of vendors (from the vendor
    /// service's events), so that placing checks a vendor without a call.
    CreateVendors = "m20261207_000304_order_vendors"
}

#[async_trait::async_trait]
impl MigrationTrait for CreateVendors {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Vendors::Table)
                .col(id(Vendors::VendorId).primary_key())
                .col(text(Vendors::Name))
                .col(regency(Vendors::RegencyCode))
                .col(text(Vendors::LegalForm))
                .col(text(Vendors::Scale))
                .col(text(Vendors::Status))
                .col(time(Vendors::StatusAt))
                .to_owned(),
        )
        .await
    }
}
