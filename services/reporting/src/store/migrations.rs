//! Schema of the reporting database, platform tables first.

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
            Box::new(CreateReadModel),
        ]
    }
}

#[derive(DeriveIden)]
enum Regencies {
    Table,
    Code,
    Name,
    JoinedAt,
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

#[derive(DeriveIden)]
enum Trainings {
    Table,
    TrainingId,
    VendorId,
    Kind,
    AttendedAt,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    ProductId,
    VendorId,
    CategoryCode,
    Listed,
    ChangedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    OrderId,
    Version,
    Status,
    BuyerWorkUnit,
    BuyerRegency,
    VendorId,
    VendorName,
    VendorRegency,
    LegalForm,
    Scale,
    Total,
    PlacedAt,
    PlacedDay,
    ChangedAt,
    BastDate,
    PaidAt,
}

#[derive(DeriveIden)]
enum OrderItems {
    Table,
    OrderId,
    Line,
    ProductId,
    Name,
    CategoryCode,
    Unit,
    Quantity,
    UnitPrice,
    LineTotal,
}

#[derive(DeriveIden)]
enum OrderTotals {
    Table,
    Dimension,
    FigureKey,
    Day,
    Orders,
    Value,
}

#[derive(DeriveIden)]
enum Watermark {
    Table,
    Id,
    LastEventAt,
}

#[derive(DeriveIden)]
enum OrderTotalsAll {
    Table,
    Dimension,
    FigureKey,
    Orders,
    Value,
}

#[derive(DeriveIden)]
enum ListedCounts {
    Table,
    VendorId,
    Category,
    Listed,
}

struct CreateReadModel;

impl MigrationName for CreateReadModel {
    fn name(&self) -> &str {
        "m20261128_000400_read_model"
    }
}

fn index(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).to_owned();
    for col in cols {
        index.col(col);
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for CreateReadModel {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Regencies::Table)
                .col(text(Regencies::Code).primary_key())
                .col(text(Regencies::Name))
                .col(time(Regencies::JoinedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Vendors::Table)
                .col(id(Vendors::VendorId).primary_key())
                .col(text(Vendors::Name))
                .col(text(Vendors::RegencyCode))
                .col(text(Vendors::LegalForm))
                .col(text(Vendors::Scale))
                .col(text(Vendors::Status))
                .col(time(Vendors::StatusAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Trainings::Table)
                .col(text(Trainings::TrainingId).primary_key())
                .col(id(Trainings::VendorId))
                .col(text(Trainings::Kind))
                .col(time(Trainings::AttendedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Products::Table)
                .col(id(Products::ProductId).primary_key())
                .col(id(Products::VendorId))
                .col(text(Products::CategoryCode))
                .col(ColumnDef::new(Products::Listed).boolean().not_null())
                .col(time(Products::ChangedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Orders::Table)
                .col(id(Orders::OrderId).primary_key())
                .col(money(Orders::Version))
                .col(text(Orders::Status))
                .col(text(Orders::BuyerWorkUnit))
                .col(text(Orders::BuyerRegency))
                .col(id(Orders::VendorId))
                .col(text(Orders::VendorName))
                .col(text(Orders::VendorRegency))
                .col(text(Orders::LegalForm))
                .col(text(Orders::Scale))
                .col(money(Orders::Total))
                .col(time(Orders::PlacedAt))
                .col(ColumnDef::new(Orders::PlacedDay).string_len(10).not_null())
                .col(time(Orders::ChangedAt))
                .col(text(Orders::BastDate))
                .col(
                    ColumnDef::new(Orders::PaidAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OrderItems::Table)
                .col(id(OrderItems::OrderId))
                .col(ColumnDef::new(OrderItems::Line).integer().not_null())
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
                        .col(OrderItems::Line),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OrderTotals::Table)
                .col(text(OrderTotals::Dimension))
                .col(text(OrderTotals::FigureKey))
                .col(ColumnDef::new(OrderTotals::Day).string_len(10).not_null())
                .col(money(OrderTotals::Orders))
                .col(money(OrderTotals::Value))
                .primary_key(
                    Index::create()
                        .col(OrderTotals::Dimension)
                        .col(OrderTotals::FigureKey)
                        .col(OrderTotals::Day),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OrderTotalsAll::Table)
                .col(text(OrderTotalsAll::Dimension))
                .col(text(OrderTotalsAll::FigureKey))
                .col(money(OrderTotalsAll::Orders))
                .col(money(OrderTotalsAll::Value))
                .primary_key(
                    Index::create()
                        .col(OrderTotalsAll::Dimension)
                        .col(OrderTotalsAll::FigureKey),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ListedCounts::Table)
                .col(id(ListedCounts::VendorId))
                .col(text(ListedCounts::Category))
                .col(money(ListedCounts::Listed))
                .primary_key(
                    Index::create()
                        .col(ListedCounts::VendorId)
                        .col(ListedCounts::Category),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Watermark::Table)
                .col(
                    ColumnDef::new(Watermark::Id)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(time(Watermark::LastEventAt))
                .to_owned(),
        )
        .await?;
        for statement in [
            // The ledger, newest first, and its filters.
            index(
                "orders_placed",
                Orders::Table,
                vec![Orders::PlacedAt.into_iden(), Orders::OrderId.into_iden()],
            ),
            index(
                "orders_day",
                Orders::Table,
                vec![Orders::PlacedDay.into_iden(), Orders::OrderId.into_iden()],
            ),
            index(
                "orders_vendor",
                Orders::Table,
                vec![Orders::VendorId.into_iden(), Orders::PlacedAt.into_iden()],
            ),
            index(
                "order_items_category",
                OrderItems::Table,
                vec![
                    OrderItems::CategoryCode.into_iden(),
                    OrderItems::OrderId.into_iden(),
                ],
            ),
            // A breakdown over a period reads one dimension's days.
            index(
                "order_totals_day",
                OrderTotals::Table,
                vec![
                    OrderTotals::Dimension.into_iden(),
                    OrderTotals::Day.into_iden(),
                ],
            ),
            index(
                "products_category",
                Products::Table,
                vec![
                    Products::CategoryCode.into_iden(),
                    Products::Listed.into_iden(),
                ],
            ),
            index(
                "products_vendor",
                Products::Table,
                vec![Products::VendorId.into_iden()],
            ),
            index(
                "trainings_vendor",
                Trainings::Table,
                vec![Trainings::VendorId.into_iden()],
            ),
        ] {
            m.create_index(statement).await?;
        }
        Ok(())
    }
}
