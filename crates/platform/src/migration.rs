//! The platform's own tables, which every service's migrator lists before
//! its domain tables: the outbox of events to publish, the inbox of events
//! already consumed and the dead letters its consumers set aside.

use sea_orm_migration::prelude::*;

use self::columns::{id, long_text, number, optional_time, sequence, text, time};
use self::statements::{index, key};

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

#[derive(DeriveIden)]
pub(crate) enum DeadLetters {
    Table,
    Id,
    Consumer,
    Topic,
    Partition,
    Offset,
    EventId,
    EventType,
    Reason,
    Record,
    DeadLetteredAt,
    ReplayRequestedAt,
    ResolvedAt,
}

/// Column helpers every service's migrations use, so that the same kind of
/// value has the same column type in every database.
pub mod columns {
    use sea_orm_migration::prelude::*;

    /// A required string.
    pub fn text(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col).string().not_null().to_owned()
    }

    /// A string that may be absent.
    pub fn optional_text(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col).string().null().to_owned()
    }

    /// Required free text of any length (descriptions, notes, reasons).
    pub fn long_text(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col).text().not_null().to_owned()
    }

    /// A required code of at most `len` characters.
    pub fn code(col: impl IntoIden, len: u32) -> ColumnDef {
        ColumnDef::new(col).string_len(len).not_null().to_owned()
    }

    /// A code of at most `len` characters that may be absent.
    pub fn optional_code(col: impl IntoIden, len: u32) -> ColumnDef {
        ColumnDef::new(col).string_len(len).null().to_owned()
    }

    /// A required regency code, `33.74`.
    pub fn regency(col: impl IntoIden) -> ColumnDef {
        code(col, 5)
    }

    /// A required point in time, with its zone.
    pub fn time(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col)
            .timestamp_with_time_zone()
            .not_null()
            .to_owned()
    }

    /// A point in time, with its zone, that may not have come yet.
    pub fn optional_time(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col)
            .timestamp_with_time_zone()
            .null()
            .to_owned()
    }

    /// Required rupiah or quantities: 64-bit integers, never floats.
    pub fn money(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col).big_integer().not_null().to_owned()
    }

    /// A required small number: a line's place, a counter.
    pub fn number(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col).integer().not_null().to_owned()
    }

    /// A required yes or no.
    pub fn flag(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col).boolean().not_null().to_owned()
    }

    /// A required UUID kept as its 36-character text.
    pub fn id(col: impl IntoIden) -> ColumnDef {
        code(col, 36)
    }

    /// A 64-bit primary key the database numbers in insert order.
    pub fn sequence(col: impl IntoIden) -> ColumnDef {
        ColumnDef::new(col)
            .big_integer()
            .not_null()
            .auto_increment()
            .primary_key()
            .to_owned()
    }
}

/// Statement helpers: the index, key and reference shapes every service's
/// migrations write.
pub mod statements {
    use sea_orm_migration::prelude::*;

    /// A named index on `cols` of `table`, in that order.
    pub fn index<C: IntoIden>(
        name: &str,
        table: impl IntoIden,
        cols: impl IntoIterator<Item = C>,
    ) -> IndexCreateStatement {
        let mut index = Index::create().name(name).table(table).to_owned();
        for col in cols {
            index.col(col);
        }
        index
    }

    /// A composite primary key over `cols`, for `TableCreateStatement::primary_key`.
    pub fn key<C: IntoIden>(cols: impl IntoIterator<Item = C>) -> IndexCreateStatement {
        let mut key = Index::create();
        for col in cols {
            key.col(col);
        }
        key
    }

    /// `from.1` of table `from.0` refers to `to.1` of table `to.0`.
    pub fn references<T: IntoIden, U: IntoIden>(
        from: (T, T),
        to: (U, U),
    ) -> ForeignKeyCreateStatement {
        ForeignKey::create()
            .from(from.0, from.1)
            .to(to.0, to.1)
            .to_owned()
    }

    /// Adds `columns` to `table` one statement each: SQLite alters one
    /// column at a time.
    pub async fn add_columns(
        m: &SchemaManager<'_>,
        table: impl IntoIden,
        columns: impl IntoIterator<Item = ColumnDef>,
    ) -> Result<(), DbErr> {
        let table = table.into_iden();
        for column in columns {
            m.alter_table(
                Table::alter()
                    .table(table.clone())
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

/// Declares a service's `Migrator`: the platform's tables first, then the
/// service's own migrations in the order given. A released migration keeps
/// its place; a service's new ones go at the end, the platform's after its
/// own (a database applies what it has not by name, whatever the place).
#[macro_export]
macro_rules! migrator {
    ($($migration:expr),* $(,)?) => {
        pub struct Migrator;

        #[::sea_orm_migration::async_trait::async_trait]
        impl ::sea_orm_migration::MigratorTrait for Migrator {
            fn migrations() -> Vec<Box<dyn ::sea_orm_migration::MigrationTrait>> {
                vec![
                    Box::new($crate::migration::CreateOutbox),
                    Box::new($crate::migration::CreateInbox),
                    Box::new($crate::migration::CreateDeadLetters),
                    $(Box::new($migration)),*
                ]
            }
        }
    };
}

/// Declares a migration: a unit struct and the name it is stored under in
/// `seaql_migrations`, which must never change once released. Its
/// `MigrationTrait` impl (the `up` step) follows it by hand.
#[macro_export]
macro_rules! migration {
    ($(#[$meta:meta])* $vis:vis $ty:ident = $name:literal) => {
        $(#[$meta])*
        $vis struct $ty;

        impl ::sea_orm_migration::MigrationName for $ty {
            fn name(&self) -> &str {
                $name
            }
        }
    };
}

migration! {
    /// Creates the `outbox` table.
    pub CreateOutbox = "m20261127_000001_platform_outbox"
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .if_not_exists()
                    .col(sequence(Outbox::Id))
                    .col(id(Outbox::EventId).unique_key())
                    .col(text(Outbox::Topic))
                    .col(text(Outbox::MessageKey))
                    .col(text(Outbox::EventType))
                    .col(ColumnDef::new(Outbox::Payload).blob().not_null())
                    .col(long_text(Outbox::Headers))
                    .col(time(Outbox::CreatedAt))
                    .col(optional_time(Outbox::PublishedAt))
                    .col(number(Outbox::Attempts).default(0))
                    .col(ColumnDef::new(Outbox::LastError).text().null())
                    .to_owned(),
            )
            .await?;
        // The relay reads unpublished rows in id order; this keeps that scan
        // short however large the published history grows.
        manager
            .create_index(
                index(
                    "outbox_unpublished",
                    Outbox::Table,
                    [Outbox::PublishedAt, Outbox::Id],
                )
                .if_not_exists()
                .to_owned(),
            )
            .await
    }
}

migration! {
    /// Creates the `inbox` table.
    pub CreateInbox = "m20261127_000002_platform_inbox"
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Inbox::Table)
                    .if_not_exists()
                    .col(text(Inbox::Consumer))
                    .col(id(Inbox::EventId))
                    .col(text(Inbox::Topic))
                    .col(number(Inbox::Partition))
                    .col(ColumnDef::new(Inbox::Offset).big_integer().not_null())
                    .col(time(Inbox::ProcessedAt))
                    .primary_key(&mut key([Inbox::Consumer, Inbox::EventId]))
                    .to_owned(),
            )
            .await
    }
}

migration! {
    /// Creates the `dead_letters` table.
    pub CreateDeadLetters = "m20261205_000003_platform_dead_letters"
}

#[async_trait::async_trait]
impl MigrationTrait for CreateDeadLetters {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeadLetters::Table)
                    .if_not_exists()
                    .col(sequence(DeadLetters::Id))
                    .col(text(DeadLetters::Consumer))
                    .col(text(DeadLetters::Topic))
                    .col(number(DeadLetters::Partition))
                    .col(ColumnDef::new(DeadLetters::Offset).big_integer().not_null())
                    // As the record had them, whatever their length.
                    .col(long_text(DeadLetters::EventId))
                    .col(long_text(DeadLetters::EventType))
                    .col(long_text(DeadLetters::Reason))
                    .col(ColumnDef::new(DeadLetters::Record).blob().not_null())
                    .col(time(DeadLetters::DeadLetteredAt))
                    .col(optional_time(DeadLetters::ReplayRequestedAt))
                    .col(optional_time(DeadLetters::ResolvedAt))
                    .to_owned(),
            )
            .await?;
        // A record redelivered before its offset was committed is set
        // aside once.
        manager
            .create_index(
                index(
                    "dead_letters_record",
                    DeadLetters::Table,
                    [
                        DeadLetters::Consumer,
                        DeadLetters::Topic,
                        DeadLetters::Partition,
                        DeadLetters::Offset,
                    ],
                )
                .unique()
                .if_not_exists()
                .to_owned(),
            )
            .await
    }
}
