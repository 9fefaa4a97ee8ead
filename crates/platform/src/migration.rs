//! The platform's own tables, which every service's migrator lists before
//! its domain tables: the outbox of events to publish and the inbox of
//! events already consumed.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub(crate) enum Outbox {
    Table,
    Id,
    EventId,
    Topic,
    MessageKey,
    EventType,
    Payload,
    Headers,
    CreatedAt,
    PublishedAt,
    Attempts,
    LastError,
}

#[derive(DeriveIden)]
pub(crate) enum Inbox {
    Table,
    Consumer,
    EventId,
    Topic,
    Partition,
    Offset,
    ProcessedAt,
}

/// Column helpers every service's migrations use, so that the same kind of
/// value has the same column type in every database.
pub mod columns {
    use sea_orm_migration::prelude::*;

    /// A required string.
    pub fn text(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col).string().not_null().to_owned()
    }

    /// A required point in time, with its zone.
    pub fn time(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col)
            .timestamp_with_time_zone()
            .not_null()
            .to_owned()
    }

    /// Required rupiah or quantities: 64-bit integers, never floats.
    pub fn money(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col).big_integer().not_null().to_owned()
    }

    /// A required UUID kept as its 36-character text.
    pub fn id(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col).string_len(36).not_null().to_owned()
    }
}

/// Creates the `outbox` table.
pub struct CreateOutbox;

impl MigrationName for CreateOutbox {
    fn name(&self) -> &str {
        "m20261127_000001_platform_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Outbox::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Outbox::EventId)
                            .string_len(36)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Outbox::Topic).string().not_null())
                    .col(ColumnDef::new(Outbox::MessageKey).string().not_null())
                    .col(ColumnDef::new(Outbox::EventType).string().not_null())
                    .col(ColumnDef::new(Outbox::Payload).blob().not_null())
                    .col(ColumnDef::new(Outbox::Headers).text().not_null())
                    .col(
                        ColumnDef::new(Outbox::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Outbox::PublishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Outbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Outbox::LastError).text().null())
                    .to_owned(),
            )
            .await?;
        // The relay reads unpublished rows in id order; this keeps that scan
        // short however large the published history grows.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("outbox_unpublished")
                    .table(Outbox::Table)
                    .col(Outbox::PublishedAt)
                    .col(Outbox::Id)
                    .to_owned(),
            )
            .await
    }
}

/// Creates the `inbox` table.
pub struct CreateInbox;

impl MigrationName for CreateInbox {
    fn name(&self) -> &str {
        "m20261127_000002_platform_inbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Inbox::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Inbox::Consumer).string().not_null())
                    .col(ColumnDef::new(Inbox::EventId).string_len(36).not_null())
                    .col(ColumnDef::new(Inbox::Topic).string().not_null())
                    .col(ColumnDef::new(Inbox::Partition).integer().not_null())
                    .col(ColumnDef::new(Inbox::Offset).big_integer().not_null())
                    .col(
                        ColumnDef::new(Inbox::ProcessedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(Inbox::Consumer).col(Inbox::EventId))
                    .to_owned(),
            )
            .await
    }
}
