//! Database connection and migrations. A service's URL picks the backend:
//! PostgreSQL in production, SQLite for the local suite and quick tests. The
//! same sea-orm code runs on both.

use std::time::Duration;

use crate::settings::{Secret, SettingsError, require};
use schemars::JsonSchema;
use sea_orm::sea_query::{
    CommonTableExpression, Expr, ExprTrait, OnConflict, Query, SubQueryStatement, WithClause,
    WithQuery,
};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, IdenStatic, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database.url: cannot connect: {0}")]
    Connect(#[source] DbErr),
    #[error("database migration failed: {0}")]
    Migrate(#[source] DbErr),
}

/// Connects to the configured database. Every SQLite connection gets WAL
/// mode, a busy timeout and foreign keys, so that the relay and request
/// handlers can share the file.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbError> {
    let mut options = ConnectOptions::new(settings.connection_url());
    options
        .max_connections(settings.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Database::connect(options).await.map_err(DbError::Connect)
}

/// Begins a transaction that will write. On SQLite it takes the write lock
/// up front (`BEGIN IMMEDIATE`): a deferred transaction that reads first
/// and writes later fails with "database is locked" when another writer got
/// in between, which a busy timeout cannot cure. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Begins a read-only transaction that sees one snapshot, for reads that
/// must agree with each other (a summary of several figures): no commit
/// lands between them. PostgreSQL: `REPEATABLE READ, READ ONLY`; SQLite
/// in WAL mode: a read transaction sees one snapshot already.
pub async fn begin_snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options = match db.get_database_backend() {
        DbBackend::Postgres => TransactionOptions {
            isolation_level: Some(sea_orm::IsolationLevel::RepeatableRead),
            access_mode: Some(sea_orm::AccessMode::ReadOnly),
            ..TransactionOptions::default()
        },
        _ => TransactionOptions::default(),
    };
    db.begin_with_options(options).await
}

/// Makes every write, or none: inserts, updates and deletes that need not
/// see each other's effects. On PostgreSQL they travel as one statement of
/// data-modifying common table expressions (`WITH w0 AS (INSERT ...), w1
/// AS (DELETE ...) SELECT 1`): a statement is its own transaction, so that
/// is one round trip and one commit where a transaction would take one per
/// write plus `BEGIN` and `COMMIT`. The writes cannot see each other's
/// rows, but foreign keys are checked at the end of the statement, so
/// parents and children may go together. On SQLite, which has no
/// data-modifying CTEs, they run in order in one `BEGIN IMMEDIATE`
/// transaction. A constraint violation fails the whole write on both.
pub async fn write_all(
    db: &DatabaseConnection,
    writes: Vec<SubQueryStatement>,
) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => write_all_in(db, writes).await,
        _ => {
            let txn = begin_write(db).await?;
            write_all_in(&txn, writes).await?;
            txn.commit().await
        }
    }
}

/// [`write_all`] inside a transaction the caller holds: one statement on
/// PostgreSQL, one per write elsewhere (atomic by the caller's transaction).
pub async fn write_all_in(
    conn: &impl ConnectionTrait,
    writes: Vec<SubQueryStatement>,
) -> Result<(), DbErr> {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute(&as_one_statement(writes)).await?;
        return Ok(());
    }
    for write in writes {
        match write {
            SubQueryStatement::InsertStatement(s) => conn.execute(&s).await?,
            SubQueryStatement::UpdateStatement(s) => conn.execute(&s).await?,
            SubQueryStatement::DeleteStatement(s) => conn.execute(&s).await?,
            SubQueryStatement::SelectStatement(_) | SubQueryStatement::WithStatement(_) => {
                return Err(DbErr::Custom(
                    "write_all takes inserts, updates and deletes".into(),
                ));
            }
        };
    }
    Ok(())
}

fn as_one_statement(writes: Vec<SubQueryStatement>) -> WithQuery {
    let mut with = WithClause::new();
    for (i, insert) in writes.into_iter().enumerate() {
        with.cte(
            CommonTableExpression::new()
                .query(insert)
                .table_name(format!("w{i}"))
                .to_owned(),
        );
    }
    with.query(Query::select().expr(Expr::val(1)).to_owned())
}

/// The columns of the entity an active model `A` writes.
type ColumnOf<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Column;

/// Inserts `row`; when a row with the same `key` exists, overwrites its
/// `update` columns instead, or keeps it untouched when `update` is empty.
/// One statement on both backends: what makes a projection's replayed
/// event harmless. Answers whether a row was written (false: the key was
/// there and `update` is empty).
pub async fn upsert<A: ActiveModelTrait>(
    conn: &impl ConnectionTrait,
    row: A,
    key: impl IntoIterator<Item = ColumnOf<A>>,
    update: impl IntoIterator<Item = ColumnOf<A>>,
) -> Result<bool, DbErr> {
    let mut on_conflict = OnConflict::columns(key);
    let update: Vec<_> = update.into_iter().collect();
    if update.is_empty() {
        on_conflict.do_nothing();
    } else {
        on_conflict.update_columns(update);
    }
    let written = A::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(conn)
        .await?;
    Ok(written > 0)
}

/// The conflict clause of running totals: on a clash on `key`, each of
/// `sums` becomes the stored value plus the incoming one, so that adding
/// to many figures is one statement however many of them exist yet.
pub fn add_on_conflict<E: EntityTrait>(
    key: impl IntoIterator<Item = E::Column>,
    sums: impl IntoIterator<Item = E::Column>,
) -> OnConflict {
    let mut on_conflict = OnConflict::columns(key);
    for column in sums {
        let incoming = Expr::cust(format!("excluded.{}", column.as_str()));
        on_conflict.value(column, Expr::col((E::default(), column)).add(incoming));
    }
    on_conflict
}

/// Key of the advisory lock migrations take; advisory locks are scoped by
/// database, so services sharing a server do not wait for each other.
const MIGRATION_LOCK: i64 = 0x626c_616e_6b6f_6e6d; // "blankonm"

/// Applies every pending migration of `M`. On PostgreSQL they run in one
/// transaction that first takes an advisory lock: two processes migrating
/// at once (pods starting together, a migration Job beside them) run one
/// after the other, and the second finds nothing pending. A failed
/// migration leaves no half-made schema (PostgreSQL's DDL is
/// transactional). SQLite databases belong to one process, and migrate in
/// one transaction too: on one connection, so that a table one statement
/// drops or renames is gone for the next (a pool's other connection may
/// still see the schema before it).
pub async fn migrate<M: MigratorTrait>(db: &DatabaseConnection) -> Result<(), DbError> {
    let txn = db.begin().await.map_err(DbError::Migrate)?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [MIGRATION_LOCK.into()],
        ))
        .await
        .map_err(DbError::Migrate)?;
    }
    M::up(&txn, None).await.map_err(DbError::Migrate)?;
    txn.commit().await.map_err(DbError::Migrate)
}

/// How a call that failed on a database error may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// The database could not be reached, or it dropped the connection
    /// (a restart, an admin shutdown, a failover): retry later.
    Unavailable,
    /// A concurrent transaction got in the way (a serialization failure,
    /// a deadlock, SQLite's lock): the same call may simply be retried.
    Conflict,
}

/// Whether `err` passes if the call is made again, and how; `None` for
/// an error that would fail the same way again.
pub fn transient(err: &DbErr) -> Option<Transient> {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::ConnectionAcquire(_) => Some(Transient::Unavailable),
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_transient(e),
        DbErr::Conn(_) => Some(Transient::Unavailable),
        _ => None,
    }
}

fn sqlx_transient(err: &sea_orm::sqlx::Error) -> Option<Transient> {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_) | Error::Tls(_) | Error::Protocol(_) => Some(Transient::Unavailable),
        Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => {
            Some(Transient::Unavailable)
        }
        Error::Database(e) => sqlstate_transient(e.code().as_deref()?),
        _ => None,
    }
}

/// PostgreSQL's SQLSTATEs and SQLite's result codes of the failures a
/// retry gets past.
fn sqlstate_transient(code: &str) -> Option<Transient> {
    match code {
        // serialization_failure, deadlock_detected
        "40001" | "40P01" => Some(Transient::Conflict),
        // admin_shutdown, crash_shutdown, cannot_connect_now,
        // read_only_sql_transaction (a failover in progress),
        // too_many_connections
        "57P01" | "57P02" | "57P03" | "25006" | "53300" => Some(Transient::Unavailable),
        // connection_exception and its subclasses
        code if code.starts_with("08") => Some(Transient::Unavailable),
        // SQLITE_BUSY, SQLITE_LOCKED and their extended codes
        "5" | "6" | "261" | "262" | "517" => Some(Transient::Conflict),
        _ => None,
    }
}

/// Most values one `IN (…)` list binds. PostgreSQL takes at most 65,535
/// parameters a statement and SQLite 32,766; well below both, so that a
/// statement with other parameters beside the list fits too.
pub const IN_LIST_CHUNK: usize = 10_000;

/// The rows `query` finds for each chunk of `keys` (at most
/// [`IN_LIST_CHUNK`] a statement), together, in chunk order: for lookups
/// by a list of ids of any length.
pub async fn in_chunks<K, T, F, Fut>(keys: &[K], mut query: F) -> Result<Vec<T>, DbErr>
where
    F: FnMut(&[K]) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, DbErr>>,
{
    let mut rows = Vec::new();
    for chunk in keys.chunks(IN_LIST_CHUNK) {
        rows.extend(query(chunk).await?);
    }
    Ok(rows)
}

/// `LIKE` pattern matching text that contains `fragment` as it is
/// written: its `%`, `_` and `\` match themselves, not any text.
pub fn contains_pattern(fragment: &str) -> sea_orm::sea_query::LikeExpr {
    sea_orm::sea_query::LikeExpr::new(contains_escaped(fragment)).escape('\\')
}

/// The text of [`contains_pattern`], escaped with `\`.
fn contains_escaped(fragment: &str) -> String {
    let mut pattern = String::with_capacity(fragment.len() + 2);
    pattern.push('%');
    for c in fragment.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// True when the database refused what a statement wrote for good: a
/// value it cannot hold (PostgreSQL's data exceptions, class 22: too long,
/// out of range, not valid text) or a rule of the schema (integrity
/// constraints, class 23; SQLite's `CONSTRAINT`, `TOOBIG` and `MISMATCH`
/// and their extended codes). The same statement fails the same way
/// again; anything else may pass on another try.
pub fn refused_for_good(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    let (DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx))) =
        err
    else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(e) = sqlx.as_ref() else {
        return false;
    };
    let Some(code) = e.code() else {
        return false;
    };
    if code.len() == 5 {
        // A SQLSTATE: PostgreSQL.
        return code.starts_with("22") || code.starts_with("23");
    }
    // SQLite's extended result codes keep the primary code in the low byte.
    code.parse::<u32>()
        .is_ok_and(|n| matches!(n & 0xff, 18..=20))
}

/// True when `err` is a unique-constraint violation, on either backend.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// A list of strings kept in a text column as a JSON array (a product's
/// image URLs, the regencies it delivers to): the same text on PostgreSQL
/// and SQLite. A stored value that is not such an array fails the read
/// loudly instead of reading as an empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq, sea_orm::DeriveValueType)]
#[sea_orm(
    value_type = "String",
    from_str = "StringList::from_json",
    to_str = "StringList::to_json"
)]
pub struct StringList(pub Vec<String>);

impl StringList {
    pub fn from_json(stored: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(stored).map(Self)
    }

    pub fn to_json(&self) -> String {
        // A list of strings always serialises.
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }
}

impl From<Vec<String>> for StringList {
    fn from(items: Vec<String>) -> Self {
        Self(items)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host/db` in production,
    /// `sqlite://path?mode=rwc` locally. A secret: it may hold a password.
    pub url: Secret,
    /// Connections of the service's pool, at most; a replica holds up to
    /// this many on the server.
    pub max_connections: u32,
    /// Apply pending migrations when the service starts. Turn off when a
    /// deployment runs `migrate` as a separate job.
    pub migrate_on_start: bool,
    /// TLS to PostgreSQL, beside the URL (a CloudNativePG Secret's URL
    /// says nothing of it): what is set here wins over the URL's
    /// `sslmode` and `sslrootcert`.
    #[serde(default)]
    pub tls: DatabaseTls,
}

/// How the connection to PostgreSQL is encrypted and the server checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseTls {
    /// `disable`, `prefer`, `require`, `verify-ca` or `verify-full`.
    /// Unset, the URL's, else `prefer`, which silently goes unencrypted
    /// when the server offers no TLS: production wants `verify-full`
    /// (encrypted, the certificate chaining to `root_cert` and naming the
    /// URL's host).
    #[serde(default)]
    pub mode: Option<SslMode>,
    /// PEM CA the server's certificate must chain to (CloudNativePG's
    /// `<cluster>-ca` Secret, `ca.crt`).
    #[serde(default)]
    pub root_cert: Option<std::path::PathBuf>,
}

/// libpq's `sslmode`s, as sqlx reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

impl DatabaseSettings {
    /// Settings for `url` with a pool of `max_connections`, migrating on
    /// start, TLS as the URL says.
    pub fn new(url: impl Into<Secret>, max_connections: u32) -> Self {
        Self {
            url: url.into(),
            max_connections,
            migrate_on_start: true,
            tls: DatabaseTls::default(),
        }
    }

    /// The URL to connect with: `url`, its `sslmode` and `sslrootcert`
    /// replaced by `tls` where that is set.
    pub fn connection_url(&self) -> String {
        let url = self.url.expose();
        if self.tls == DatabaseTls::default() {
            return url.to_string();
        }
        // validate() made sure this is a PostgreSQL URL.
        let Ok(mut parsed) = url::Url::parse(url) else {
            return url.to_string();
        };
        let replaced = |key: &str| match key {
            "sslmode" | "ssl-mode" => self.tls.mode.is_some(),
            "sslrootcert" | "ssl-root-cert" | "ssl-ca" => self.tls.root_cert.is_some(),
            _ => false,
        };
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(k, _)| !replaced(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut query = parsed.query_pairs_mut();
            query.clear();
            query.extend_pairs(kept);
            if let Some(mode) = self.tls.mode {
                query.append_pair("sslmode", mode.as_str());
            }
            if let Some(root) = &self.tls.root_cert {
                query.append_pair("sslrootcert", &root.to_string_lossy());
            }
        }
        parsed.to_string()
    }

    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        let url = url::Url::parse(self.url.expose()).ok();
        let scheme = url.as_ref().map(url::Url::scheme);
        let usable = match scheme {
            Some("postgres" | "postgresql") => url.as_ref().is_some_and(|u| u.host().is_some()),
            Some("sqlite") => true,
            _ => false,
        };
        // The URL may hold a password: the problem never repeats it.
        require(
            usable,
            section,
            "url",
            "must be a postgres:// (or postgresql://) URL with a host, or a sqlite: URL",
        )?;
        require(
            self.max_connections >= 1,
            section,
            "max_connections",
            "must be at least 1",
        )?;
        require(
            self.tls == DatabaseTls::default() || scheme != Some("sqlite"),
            section,
            "tls",
            "is for PostgreSQL; a sqlite: URL has no connection to encrypt",
        )?;
        require(
            self.tls
                .root_cert
                .as_ref()
                .is_none_or(|p| p.is_file() && std::fs::File::open(p).is_ok()),
            section,
            "tls.root_cert",
            "is not a readable file",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres(url: &str, tls: DatabaseTls) -> DatabaseSettings {
        DatabaseSettings {
            tls,
            ..DatabaseSettings::new(url, 1)
        }
    }

    #[test]
    fn tls_settings_win_over_the_urls_and_keep_its_other_parameters() {
        let root = tempfile::NamedTempFile::new().unwrap();
        let settings = postgres(
            "postgres://app:p%40ss@db-rw.blangkon:5432/app?sslmode=prefer&application_name=vendor",
            DatabaseTls {
                mode: Some(SslMode::VerifyFull),
                root_cert: Some(root.path().to_path_buf()),
            },
        );
        settings.validate("database").unwrap();
        let url = url::Url::parse(&settings.connection_url()).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("application_name".into(), "vendor".into()),
                ("sslmode".into(), "verify-full".into()),
                ("sslrootcert".into(), root.path().display().to_string()),
            ]
        );
        assert_eq!(url.password(), Some("p%40ss"));
        // Nothing set: the URL as it is.
        let plain = postgres("postgres://db/app?sslmode=require", DatabaseTls::default());
        assert_eq!(plain.connection_url(), "postgres://db/app?sslmode=require");
    }

    #[test]
    fn tls_for_sqlite_or_a_missing_root_is_refused_by_name() {
        let verify = DatabaseTls {
            mode: Some(SslMode::VerifyFull),
            root_cert: None,
        };
        let err = postgres("sqlite://x.db?mode=rwc", verify)
            .validate("database")
            .unwrap_err();
        assert!(err.to_string().contains("database.tls"), "{err}");
        let missing = DatabaseTls {
            mode: None,
            root_cert: Some("/nonexistent/ca.crt".into()),
        };
        let err = postgres("postgres://db/app", missing)
            .validate("database")
            .unwrap_err();
        assert!(err.to_string().contains("database.tls.root_cert"), "{err}");
    }

    /// A database's answer with SQLSTATE (or SQLite result code) `code`.
    #[derive(Debug)]
    struct Answer(&'static str);

    impl std::fmt::Display for Answer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "database answered {}", self.0)
        }
    }

    impl std::error::Error for Answer {}

    impl sea_orm::sqlx::error::DatabaseError for Answer {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sea_orm::sqlx::error::ErrorKind {
            sea_orm::sqlx::error::ErrorKind::Other
        }
    }

    fn failed(err: sea_orm::sqlx::Error) -> DbErr {
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(err)))
    }

    fn answered(code: &'static str) -> DbErr {
        failed(sea_orm::sqlx::Error::Database(Box::new(Answer(code))))
    }

    #[test]
    fn a_lost_connection_or_a_shutting_down_server_is_unavailable() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        for err in [
            failed(sea_orm::sqlx::Error::Io(reset)),
            failed(sea_orm::sqlx::Error::PoolTimedOut),
            failed(sea_orm::sqlx::Error::Protocol("unexpected EOF".into())),
            answered("57P01"),
            answered("57P03"),
            answered("08006"),
            answered("25006"),
            DbErr::Conn(sea_orm::RuntimeErr::Internal("refused".into())),
        ] {
            assert_eq!(transient(&err), Some(Transient::Unavailable), "{err}");
        }
    }

    #[test]
    fn a_serialization_failure_a_deadlock_or_a_busy_sqlite_is_a_conflict() {
        for code in ["40001", "40P01", "5", "517", "6"] {
            assert_eq!(
                transient(&answered(code)),
                Some(Transient::Conflict),
                "{code}"
            );
        }
    }

    #[test]
    fn what_would_fail_again_is_not_transient() {
        for err in [
            answered("23505"),
            answered("42P01"),
            failed(sea_orm::sqlx::Error::RowNotFound),
            DbErr::Custom("broken".into()),
            DbErr::RecordNotFound("x".into()),
        ] {
            assert_eq!(transient(&err), None, "{err}");
        }
    }

    #[test]
    fn values_and_rules_the_database_refuses_are_refused_for_good() {
        // PostgreSQL: string too long, numeric out of range, not-null,
        // unique, foreign key, check; SQLite: constraint (plain, unique,
        // not null, check), too big, datatype mismatch.
        for code in [
            "22001", "22003", "23502", "23505", "23503", "23514", "19", "2067", "1299", "275",
            "18", "20",
        ] {
            assert!(refused_for_good(&answered(code)), "{code}");
        }
        // What may pass on another try, and what is no refusal of a value:
        // a missing table is a bug to fix, not a record to set aside.
        for err in [
            answered("40001"),
            answered("57P01"),
            answered("42P01"),
            answered("5"),
            answered("517"),
            failed(sea_orm::sqlx::Error::PoolTimedOut),
            DbErr::Custom("broken".into()),
        ] {
            assert!(!refused_for_good(&err), "{err}");
        }
    }

    #[tokio::test]
    async fn a_lookup_by_more_ids_than_a_statement_binds_runs_in_chunks() {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        db.execute_unprepared(
            "CREATE TABLE t (id INTEGER PRIMARY KEY); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 70000) \
             INSERT INTO t SELECT i FROM n;",
        )
        .await
        .unwrap();
        // More than either backend binds in one statement.
        let ids: Vec<i64> = (1..=70_000).collect();
        let mut statements = 0;
        let found = in_chunks(&ids, |chunk| {
            statements += 1;
            let list = chunk.iter().map(|_| "?").collect::<Vec<_>>().join(",");
            let statement = sea_orm::Statement::from_sql_and_values(
                DbBackend::Sqlite,
                format!("SELECT id FROM t WHERE id IN ({list})"),
                chunk.iter().map(|&id| id.into()),
            );
            let db = &db;
            async move {
                let rows = db.query_all_raw(statement).await?;
                rows.iter()
                    .map(|r| r.try_get::<i64>("", "id"))
                    .collect::<Result<Vec<_>, _>>()
            }
        })
        .await
        .unwrap();
        assert_eq!(found.len(), 70_000);
        assert_eq!(statements, 7);
    }

    #[test]
    fn a_contains_pattern_matches_wildcards_as_themselves() {
        assert_eq!(contains_escaped("50%_off\\x"), "%50\\%\\_off\\\\x%");
        assert_eq!(contains_escaped("batik"), "%batik%");
    }

    use sea_orm::sea_query::{Alias, PostgresQueryBuilder};

    #[test]
    fn inserts_become_one_postgresql_statement_with_their_values_bound() {
        let insert = |table: &str, value: &str| {
            Query::insert()
                .into_table(Alias::new(table))
                .columns([Alias::new("v")])
                .values_panic([value.into()])
                .to_owned()
        };
        let (sql, values) = as_one_statement(vec![
            insert("orders", "a").into(),
            insert("items", "b").into(),
        ])
        .build(PostgresQueryBuilder);
        assert_eq!(
            sql,
            r#"WITH "w0" AS (INSERT INTO "orders" ("v") VALUES ($1)) , "w1" AS (INSERT INTO "items" ("v") VALUES ($2)) SELECT $3"#
        );
        assert_eq!(values.0.len(), 3);
    }

    #[test]
    fn a_string_list_is_stored_as_a_json_array_and_read_back() {
        let list = StringList(vec!["33.74".into(), "33.22".into()]);
        assert_eq!(list.to_json(), r#"["33.74","33.22"]"#);
        assert_eq!(StringList::from_json(&list.to_json()).unwrap(), list);
        assert_eq!(StringList::default().to_json(), "[]");
    }

    #[test]
    fn a_corrupt_list_is_an_error_not_an_empty_list() {
        assert!(StringList::from_json("").is_err());
        assert!(StringList::from_json("33.74").is_err());
        assert!(StringList::from_json(r#"{"a":1}"#).is_err());
    }
}
