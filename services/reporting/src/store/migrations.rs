//! Schema of the reporting database, platform tables first.

use blangkon_platform::migration::columns::{
    code, flag, id, long_text, money, number, optional_time, text, time,
};
use blangkon_platform::migration::statements::{index, key};
use blangkon_platform::{migration, migrator};
use sea_orm_migration::prelude::*;

migrator!(
    CreateReadModel,
    KeepOrderVersions,
    KeepRedFlags,
    KeepPeriodTotalsAndCounts
);

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

migration! {
    CreateReadModel = "m20261128_000400_read_model"
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
                .col(flag(Products::Listed))
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
                .col(code(Orders::PlacedDay, 10))
                .col(time(Orders::ChangedAt))
                .col(text(Orders::BastDate))
                .col(optional_time(Orders::PaidAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OrderItems::Table)
                .col(id(OrderItems::OrderId))
                .col(number(OrderItems::Line))
                .col(id(OrderItems::ProductId))
                .col(text(OrderItems::Name))
                .col(text(OrderItems::CategoryCode))
                .col(text(OrderItems::Unit))
                .col(money(OrderItems::Quantity))
                .col(money(OrderItems::UnitPrice))
                .col(money(OrderItems::LineTotal))
                .primary_key(&mut key([OrderItems::OrderId, OrderItems::Line]))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OrderTotals::Table)
                .col(text(OrderTotals::Dimension))
                .col(text(OrderTotals::FigureKey))
                .col(code(OrderTotals::Day, 10))
                .col(money(OrderTotals::Orders))
                .col(money(OrderTotals::Value))
                .primary_key(&mut key([
                    OrderTotals::Dimension,
                    OrderTotals::FigureKey,
                    OrderTotals::Day,
                ]))
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
                .primary_key(&mut key([
                    OrderTotalsAll::Dimension,
                    OrderTotalsAll::FigureKey,
                ]))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ListedCounts::Table)
                .col(id(ListedCounts::VendorId))
                .col(text(ListedCounts::Category))
                .col(money(ListedCounts::Listed))
                .primary_key(&mut key([ListedCounts::VendorId, ListedCounts::Category]))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Watermark::Table)
                .col(number(Watermark::Id).primary_key())
                .col(time(Watermark::LastEventAt))
                .to_owned(),
        )
        .await?;
        for statement in [
            // The ledger, newest first, and its filters.
            index(
                "orders_placed",
                Orders::Table,
                [Orders::PlacedAt, Orders::OrderId],
            ),
            index(
                "orders_day",
                Orders::Table,
                [Orders::PlacedDay, Orders::OrderId],
            ),
            index(
                "orders_vendor",
                Orders::Table,
                [Orders::VendorId, Orders::PlacedAt],
            ),
            index(
                "order_items_category",
                OrderItems::Table,
                [OrderItems::CategoryCode, OrderItems::OrderId],
            ),
            // A breakdown over a period reads one dimension's days.
            index(
                "order_totals_day",
                OrderTotals::Table,
                [OrderTotals::Dimension, OrderTotals::Day],
            ),
            index(
                "products_category",
                Products::Table,
                [Products::CategoryCode, Products::Listed],
            ),
            index("products_vendor", Products::Table, [Products::VendorId]),
            index("trainings_vendor", Trainings::Table, [Trainings::VendorId]),
        ] {
            m.create_index(statement).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum OrderVersions {
    Table,
    OrderId,
    Version,
    Status,
    ChangedAt,
    ChangedDay,
    BastDate,
    PaidAt,
}

migration! {
    /// Every version of every order, each an immutable OCDS release: what
    /// changed with it (its status, when, the handover and payment), the
    /// rest of the order being the same in all of them.
    KeepOrderVersions = "m20261206_000500_order_versions"
}

#[async_trait::async_trait]
impl MigrationTrait for KeepOrderVersions {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(OrderVersions::Table)
                .col(id(OrderVersions::OrderId))
                .col(money(OrderVersions::Version))
                .col(text(OrderVersions::Status))
                .col(time(OrderVersions::ChangedAt))
                .col(code(OrderVersions::ChangedDay, 10))
                .col(text(OrderVersions::BastDate))
                .col(optional_time(OrderVersions::PaidAt))
                .primary_key(&mut key([OrderVersions::OrderId, OrderVersions::Version]))
                .to_owned(),
        )
        .await?;
        // The release packages of a day or a month, in release order.
        m.create_index(index(
            "order_versions_day",
            OrderVersions::Table,
            [
                OrderVersions::ChangedDay,
                OrderVersions::ChangedAt,
                OrderVersions::OrderId,
                OrderVersions::Version,
            ],
        ))
        .await?;
        // Existing orders keep their current version as their one release:
        // the versions before it were not kept before this migration.
        super::keep_current_versions(m.get_connection()).await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum RedFlags {
    Table,
    FlagId,
    Kind,
    Basis,
    Scope,
    BuyerWorkUnit,
    BuyerRegency,
    VendorId,
    CategoryCode,
    Unit,
    ProductId,
    OrderIds,
    OrderCount,
    Amount,
    Reference,
    GroupSize,
    RaisedAt,
}

#[derive(DeriveIden)]
enum RedFlagRules {
    Table,
    Id,
    Thresholds,
}

#[derive(DeriveIden)]
enum RedFlagDirty {
    Table,
    Scope,
    Marked,
}

#[derive(DeriveIden)]
enum RedFlagColumns {
    VerifiedAt,
}

migration! {
    /// The auditors' red flags, a row per flag, and the thresholds they
    /// were computed with (none yet: the next start computes them all
    /// over the orders already here); when each vendor was verified; the
    /// indexes the rules' scopes are read by.
    KeepRedFlags = "m20261207_000600_red_flags"
}

#[async_trait::async_trait]
impl MigrationTrait for KeepRedFlags {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Vendors::Table)
                .add_column(optional_time(RedFlagColumns::VerifiedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RedFlags::Table)
                .col(text(RedFlags::FlagId).primary_key())
                .col(text(RedFlags::Kind))
                .col(text(RedFlags::Basis))
                .col(long_text(RedFlags::Scope))
                .col(text(RedFlags::BuyerWorkUnit))
                .col(text(RedFlags::BuyerRegency))
                .col(text(RedFlags::VendorId))
                .col(text(RedFlags::CategoryCode))
                .col(text(RedFlags::Unit))
                .col(text(RedFlags::ProductId))
                .col(long_text(RedFlags::OrderIds))
                .col(money(RedFlags::OrderCount))
                .col(money(RedFlags::Amount))
                .col(money(RedFlags::Reference))
                .col(money(RedFlags::GroupSize))
                .col(time(RedFlags::RaisedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RedFlagRules::Table)
                .col(number(RedFlagRules::Id).primary_key())
                .col(long_text(RedFlagRules::Thresholds))
                .to_owned(),
        )
        .await?;
        // The scopes events changed since their flags were last computed,
        // and how often: the flags' task recomputes each once per round.
        m.create_table(
            Table::create()
                .table(RedFlagDirty::Table)
                .col(long_text(RedFlagDirty::Scope).primary_key())
                .col(
                    ColumnDef::new(RedFlagDirty::Marked)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        for statement in [
            // The public list, newest first, and its filters.
            index(
                "red_flags_raised",
                RedFlags::Table,
                [RedFlags::RaisedAt, RedFlags::FlagId],
            ),
            index("red_flags_scope", RedFlags::Table, [RedFlags::Scope]),
            index(
                "red_flags_vendor",
                RedFlags::Table,
                [RedFlags::VendorId, RedFlags::RaisedAt],
            ),
            // The rules' scopes: a regency's buyers', a work unit's (its
            // name is unique within its regency), one work unit's to one
            // vendor; a category's prices; a
            // product's lines.
            index(
                "orders_buyer",
                Orders::Table,
                [
                    Orders::BuyerRegency,
                    Orders::BuyerWorkUnit,
                    Orders::VendorId,
                ],
            ),
            index(
                "order_items_category_price",
                OrderItems::Table,
                [
                    OrderItems::CategoryCode,
                    OrderItems::Unit,
                    OrderItems::UnitPrice,
                ],
            ),
            index(
                "order_items_product",
                OrderItems::Table,
                [OrderItems::ProductId],
            ),
        ] {
            m.create_index(statement).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum OrderTotalsPeriod {
    Table,
    Dimension,
    FigureKey,
    Period,
    Orders,
    Value,
}

#[derive(DeriveIden)]
enum SummaryCounts {
    Table,
    Measure,
    Dimension,
    FigureKey,
    Counted,
}

migration! {
    /// Order figures by month and year beside those by day, and the
    /// summary's vendor and product counts kept as they move, so that a
    /// breakdown over a month or a year and the summary read a row per key
    /// at a national year's size (twenty thousand vendors, a million
    /// orders). Both are filled from what is already here.
    KeepPeriodTotalsAndCounts = "m20261208_000700_period_totals_and_counts"
}

#[async_trait::async_trait]
impl MigrationTrait for KeepPeriodTotalsAndCounts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(OrderTotalsPeriod::Table)
                .col(text(OrderTotalsPeriod::Dimension))
                .col(text(OrderTotalsPeriod::FigureKey))
                .col(code(OrderTotalsPeriod::Period, 7))
                .col(money(OrderTotalsPeriod::Orders))
                .col(money(OrderTotalsPeriod::Value))
                .primary_key(&mut key([
                    OrderTotalsPeriod::Dimension,
                    OrderTotalsPeriod::FigureKey,
                    OrderTotalsPeriod::Period,
                ]))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SummaryCounts::Table)
                .col(text(SummaryCounts::Measure))
                .col(text(SummaryCounts::Dimension))
                .col(text(SummaryCounts::FigureKey))
                .col(money(SummaryCounts::Counted))
                .primary_key(&mut key([
                    SummaryCounts::Measure,
                    SummaryCounts::Dimension,
                    SummaryCounts::FigureKey,
                ]))
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        for statement in [
            // A breakdown's page, highest value first, walked in index
            // order: over a month or a year, and over all time.
            "CREATE INDEX order_totals_period_rank ON order_totals_period \
             (dimension, period, value DESC, figure_key)",
            "CREATE INDEX order_totals_all_rank ON order_totals_all \
             (dimension, value DESC, figure_key)",
            // What the figures by day already hold, by month and by year.
            "INSERT INTO order_totals_period (dimension, figure_key, period, orders, value) \
             SELECT dimension, figure_key, substr(day, 1, 7), SUM(orders), SUM(value) \
             FROM order_totals GROUP BY dimension, figure_key, substr(day, 1, 7)",
            "INSERT INTO order_totals_period (dimension, figure_key, period, orders, value) \
             SELECT dimension, figure_key, substr(day, 1, 4), SUM(orders), SUM(value) \
             FROM order_totals GROUP BY dimension, figure_key, substr(day, 1, 4)",
            // The counts as the vendors and listed products stand.
            "INSERT INTO summary_counts (measure, dimension, figure_key, counted) \
             SELECT 'vendors', 'legal_form', legal_form, COUNT(*) FROM vendors GROUP BY legal_form",
            "INSERT INTO summary_counts (measure, dimension, figure_key, counted) \
             SELECT 'vendors', 'scale', scale, COUNT(*) FROM vendors GROUP BY scale",
            "INSERT INTO summary_counts (measure, dimension, figure_key, counted) \
             SELECT 'vendors', 'status', status, COUNT(*) FROM vendors GROUP BY status",
            "INSERT INTO summary_counts (measure, dimension, figure_key, counted) \
             SELECT 'vendors', 'regency', regency_code, COUNT(*) FROM vendors \
             GROUP BY regency_code",
            "INSERT INTO summary_counts (measure, dimension, figure_key, counted) \
             SELECT 'vendors', 'trained', '', COUNT(DISTINCT vendor_id) FROM trainings \
             HAVING COUNT(*) > 0",
            "INSERT INTO summary_counts (measure, dimension, figure_key, counted) \
             SELECT 'products', 'category', category, SUM(listed) FROM listed_counts \
             GROUP BY category",
            "INSERT INTO summary_counts (measure, dimension, figure_key, counted) \
             SELECT 'products', 'regency', COALESCE(v.regency_code, ''), SUM(c.listed) \
             FROM listed_counts c LEFT JOIN vendors v ON v.vendor_id = c.vendor_id \
             GROUP BY COALESCE(v.regency_code, '')",
        ] {
            conn.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    async fn rows(db: &impl ConnectionTrait, sql: &str) -> Vec<(String, i64)> {
        db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .iter()
            .map(|row| (row.try_get("", "k").unwrap(), row.try_get("", "n").unwrap()))
            .collect()
    }

    /// A read model of the release before: its figures by month and year
    /// and its counts are there once the migration has run (on
    /// PostgreSQL in CI, SQLite without it).
    #[tokio::test]
    async fn the_figures_by_period_and_the_counts_are_filled_from_what_is_there() {
        let test_db = blangkon_testkit::TestDatabase::new().await;
        let db = test_db.connect().await;
        // The platform's three and the read model's three before this one.
        <Migrator as MigratorTrait>::up(&db, Some(6)).await.unwrap();
        for statement in [
            "INSERT INTO vendors (vendor_id, name, regency_code, legal_form, scale, status, \
             status_at) VALUES \
             ('v1', 'A', '33.74', 'cv', 'small', 'verified', '2026-01-01T00:00:00Z'), \
             ('v2', 'B', '33.74', 'individual', 'micro', 'pending', '2026-01-01T00:00:00Z'), \
             ('v3', 'C', '33.22', 'cv', 'micro', 'verified', '2026-01-01T00:00:00Z')",
            "INSERT INTO trainings (training_id, vendor_id, kind, attended_at) VALUES \
             ('t1', 'v1', 'training', '2026-01-01T00:00:00Z'), \
             ('t2', 'v1', 'mentoring', '2026-01-02T00:00:00Z'), \
             ('t3', 'v3', 'training', '2026-01-02T00:00:00Z')",
            // v9: a vendor reporting has not heard of yet.
            "INSERT INTO listed_counts (vendor_id, category, listed) VALUES \
             ('v1', 'katering', 3), ('v3', 'katering', 1), ('v3', 'mebel', 2), \
             ('v9', 'mebel', 4)",
            "INSERT INTO order_totals (dimension, figure_key, day, orders, value) VALUES \
             ('vendor', 'v1', '2025-12-31', 1, 100), ('vendor', 'v1', '2026-01-05', 2, 50), \
             ('vendor', 'v1', '2026-01-20', 1, 10), ('vendor', 'v3', '2026-02-01', 1, 7)",
        ] {
            db.execute_unprepared(statement).await.unwrap();
        }
        <Migrator as MigratorTrait>::up(&db, None).await.unwrap();
        let counts = |measure: &str, dimension: &str| {
            format!(
                "SELECT figure_key AS k, counted AS n FROM summary_counts \
                 WHERE measure = '{measure}' AND dimension = '{dimension}' ORDER BY 1"
            )
        };
        let s = |rows: &[(&str, i64)]| -> Vec<(String, i64)> {
            rows.iter().map(|(k, n)| (String::from(*k), *n)).collect()
        };
        assert_eq!(
            rows(&db, &counts("vendors", "legal_form")).await,
            s(&[("cv", 2), ("individual", 1)])
        );
        assert_eq!(
            rows(&db, &counts("vendors", "status")).await,
            s(&[("pending", 1), ("verified", 2)])
        );
        assert_eq!(
            rows(&db, &counts("vendors", "scale")).await,
            s(&[("micro", 2), ("small", 1)])
        );
        assert_eq!(
            rows(&db, &counts("vendors", "regency")).await,
            s(&[("33.22", 1), ("33.74", 2)])
        );
        assert_eq!(
            rows(&db, &counts("vendors", "trained")).await,
            s(&[("", 2)])
        );
        assert_eq!(
            rows(&db, &counts("products", "category")).await,
            s(&[("katering", 4), ("mebel", 6)])
        );
        assert_eq!(
            rows(&db, &counts("products", "regency")).await,
            s(&[("", 4), ("33.22", 3), ("33.74", 3)])
        );
        assert_eq!(
            rows(
                &db,
                "SELECT figure_key || ' ' || period AS k, value AS n FROM order_totals_period \
                 ORDER BY 1"
            )
            .await,
            s(&[
                ("v1 2025", 100),
                ("v1 2025-12", 100),
                ("v1 2026", 60),
                ("v1 2026-01", 60),
                ("v3 2026", 7),
                ("v3 2026-02", 7),
            ])
        );
    }
}
