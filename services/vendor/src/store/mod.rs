//! Persistence of the vendor service. Every function takes
//! `&impl ConnectionTrait`, so it runs on the pool or inside a transaction.

pub mod entities;
pub mod migrations;

use blangkon_platform::db;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

pub use entities::{regency, status_history, training, vendor};

use crate::domain::identifiers::RegencyCode;
use crate::domain::regency::NewRegency;
use crate::domain::vendor::{LegalForm, Registration, Scale, VendorStatus};

/// Adds a regency unless its code is known. Returns whether it was added.
pub async fn add_regency(
    conn: &impl ConnectionTrait,
    new: &NewRegency,
    added_by: &str,
) -> Result<bool, DbErr> {
    let row = regency::ActiveModel {
        code: Set(new.code.as_str().to_string()),
        name: Set(new.name.clone()),
        kind: Set(new.kind.as_str().to_string()),
        province_code: Set(new.code.province().to_string()),
        added_by: Set(added_by.to_string()),
        joined_at: Set(None),
        joined_by: Set(None),
    };
    db::upsert(conn, row, [regency::Column::Code], []).await
}

pub async fn find_regency(
    conn: &impl ConnectionTrait,
    code: &RegencyCode,
) -> Result<Option<regency::Model>, DbErr> {
    regency::Entity::find_by_id(code.as_str().to_string())
        .one(conn)
        .await
}

/// Marks a regency joined. Returns false if it already was.
pub async fn join_regency(
    conn: &impl ConnectionTrait,
    code: &RegencyCode,
    at: DateTime<Utc>,
    by: &str,
) -> Result<bool, DbErr> {
    let result = regency::Entity::update_many()
        .col_expr(regency::Column::JoinedAt, Expr::value(at))
        .col_expr(regency::Column::JoinedBy, Expr::value(by.to_string()))
        .filter(regency::Column::Code.eq(code.as_str()))
        .filter(regency::Column::JoinedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Vendor counts of one regency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VendorCounts {
    pub total: i64,
    pub verified: i64,
}

pub async fn list_regencies(
    conn: &impl ConnectionTrait,
    province_code: Option<&str>,
    joined_only: bool,
) -> Result<Vec<(regency::Model, VendorCounts)>, DbErr> {
    let mut query = regency::Entity::find().order_by_asc(regency::Column::Code);
    if let Some(province) = province_code {
        query = query.filter(regency::Column::ProvinceCode.eq(province));
    }
    if joined_only {
        query = query.filter(regency::Column::JoinedAt.is_not_null());
    }
    let regencies = query.all(conn).await?;

    let counts = vendor_counts(conn, None).await?;
    Ok(regencies
        .into_iter()
        .map(|r| {
            let c = counts.get(&r.code).copied().unwrap_or_default();
            (r, c)
        })
        .collect())
}

/// Vendor counts per regency code, of one regency or of all, in one
/// grouped scan.
pub async fn vendor_counts(
    conn: &impl ConnectionTrait,
    regency_code: Option<&RegencyCode>,
) -> Result<std::collections::HashMap<String, VendorCounts>, DbErr> {
    let backend = conn.get_database_backend();
    // The status code is a constant of ours, not input: safe to inline.
    let select = format!(
        "SELECT regency_code, COUNT(*) AS total, \
         COUNT(*) FILTER (WHERE status = '{}') AS verified FROM vendors",
        VendorStatus::Verified.as_str()
    );
    let statement = match regency_code {
        Some(code) => Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => {
                    format!("{select} WHERE regency_code = $1 GROUP BY regency_code")
                }
                _ => format!("{select} WHERE regency_code = ? GROUP BY regency_code"),
            },
            [code.as_str().into()],
        ),
        None => Statement::from_string(backend, format!("{select} GROUP BY regency_code")),
    };
    let mut counts = std::collections::HashMap::new();
    for row in conn.query_all_raw(statement).await? {
        let code: String = row.try_get("", "regency_code")?;
        counts.insert(
            code,
            VendorCounts {
                total: row.try_get("", "total")?,
                verified: row.try_get("", "verified")?,
            },
        );
    }
    Ok(counts)
}

/// A vendor already holding one of `registration`'s identifiers (NIK,
/// NIB, NPWP), if any: the identifier's field and that vendor's id.
pub async fn taken_identifier(
    conn: &impl ConnectionTrait,
    registration: &Registration,
) -> Result<Option<(&'static str, String)>, DbErr> {
    let checks = [
        (
            "nik",
            vendor::Column::Nik,
            registration.nik.as_ref().map(|n| n.as_str()),
        ),
        (
            "nib",
            vendor::Column::Nib,
            registration.nib.as_ref().map(|n| n.as_str()),
        ),
        (
            "npwp",
            vendor::Column::Npwp,
            registration.npwp.as_ref().map(|n| n.as_str()),
        ),
    ];
    // An active holder first: that is the one the review must weigh.
    for active_only in [true, false] {
        for (field, column, value) in checks {
            let Some(value) = value else { continue };
            let mut query = vendor::Entity::find()
                .select_only()
                .column(vendor::Column::Id)
                .filter(column.eq(value));
            if active_only {
                query = query.filter(
                    vendor::Column::Status.is_in([VendorStatus::Verified, VendorStatus::Suspended]),
                );
            }
            let found = query
                .order_by_asc(vendor::Column::Id)
                .into_tuple::<String>()
                .one(conn)
                .await?;
            if let Some(holder) = found {
                return Ok(Some((field, holder)));
            }
        }
    }
    Ok(None)
}

/// A verified or suspended vendor other than `vendor` holding one of its
/// identifiers: the identifier's field and that vendor's id.
pub async fn active_holder(
    conn: &impl ConnectionTrait,
    vendor: &vendor::Model,
) -> Result<Option<(&'static str, String)>, DbErr> {
    let checks = [
        ("nik", vendor::Column::Nik, vendor.nik.as_deref()),
        ("nib", vendor::Column::Nib, vendor.nib.as_deref()),
        ("npwp", vendor::Column::Npwp, vendor.npwp.as_deref()),
    ];
    for (field, column, value) in checks {
        let Some(value) = value else { continue };
        let found = vendor::Entity::find()
            .select_only()
            .column(vendor::Column::Id)
            .filter(column.eq(value))
            .filter(vendor::Column::Id.ne(vendor.id.as_str()))
            .filter(vendor::Column::Status.is_in([VendorStatus::Verified, VendorStatus::Suspended]))
            .into_tuple::<String>()
            .one(conn)
            .await?;
        if let Some(holder) = found {
            return Ok(Some((field, holder)));
        }
    }
    Ok(None)
}

pub async fn owned_vendor(
    conn: &impl ConnectionTrait,
    subject: &str,
) -> Result<Option<String>, DbErr> {
    vendor::Entity::find()
        .select_only()
        .column(vendor::Column::Id)
        .filter(vendor::Column::OwnerSubject.eq(subject))
        .into_tuple::<String>()
        .one(conn)
        .await
}

pub async fn insert_vendor(
    conn: &impl ConnectionTrait,
    row: vendor::ActiveModel,
) -> Result<(), DbErr> {
    vendor::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find_vendor(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<vendor::Model>, DbErr> {
    vendor::Entity::find_by_id(id.to_string()).one(conn).await
}

/// Moves a vendor from `from` to `to`. Returns false when the vendor was no
/// longer in `from` (a concurrent decision won).
pub async fn change_status(
    conn: &impl ConnectionTrait,
    id: &str,
    from: VendorStatus,
    to: VendorStatus,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = vendor::Entity::update_many()
        .col_expr(vendor::Column::Status, Expr::value(to.as_str()))
        .col_expr(vendor::Column::UpdatedAt, Expr::value(at))
        .filter(vendor::Column::Id.eq(id))
        .filter(vendor::Column::Status.eq(from.as_str()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// One line of a vendor's status history.
#[derive(Debug, Clone)]
pub struct HistoryEntry<'a> {
    pub vendor_id: &'a str,
    pub from: Option<VendorStatus>,
    pub to: VendorStatus,
    pub actor: &'a str,
    pub actor_role: &'a str,
    pub reason: &'a str,
    pub at: DateTime<Utc>,
}

pub async fn record_history(
    conn: &impl ConnectionTrait,
    entry: HistoryEntry<'_>,
) -> Result<(), DbErr> {
    status_history::Entity::insert(status_history::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        vendor_id: Set(entry.vendor_id.to_string()),
        from_status: Set(entry.from),
        to_status: Set(entry.to),
        actor: Set(entry.actor.to_string()),
        actor_role: Set(entry.actor_role.to_string()),
        reason: Set(entry.reason.to_string()),
        changed_at: Set(entry.at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

pub async fn history(
    conn: &impl ConnectionTrait,
    vendor_id: &str,
) -> Result<Vec<status_history::Model>, DbErr> {
    status_history::Entity::find()
        .filter(status_history::Column::VendorId.eq(vendor_id))
        .order_by_asc(status_history::Column::Id)
        .all(conn)
        .await
}

pub async fn insert_training(
    conn: &impl ConnectionTrait,
    row: training::ActiveModel,
) -> Result<(), DbErr> {
    training::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn trainings(
    conn: &impl ConnectionTrait,
    vendor_id: &str,
) -> Result<Vec<training::Model>, DbErr> {
    training::Entity::find()
        .filter(training::Column::VendorId.eq(vendor_id))
        .order_by_asc(training::Column::AttendedOn)
        .order_by_asc(training::Column::Id)
        .all(conn)
        .await
}

/// Filters of [`list_vendors`]; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct VendorFilter {
    pub regency_code: Option<RegencyCode>,
    pub status: Option<VendorStatus>,
    pub legal_form: Option<LegalForm>,
    pub scale: Option<Scale>,
    /// Lower-cased substring of the name.
    pub name_contains: Option<String>,
}

/// Vendors after `after_id` in id order: keyset pagination never skips or
/// repeats a row, even while vendors are being registered.
pub async fn list_vendors(
    conn: &impl ConnectionTrait,
    filter: &VendorFilter,
    after_id: Option<&str>,
    limit: u64,
) -> Result<Vec<vendor::Model>, DbErr> {
    let mut query = vendor::Entity::find().order_by_asc(vendor::Column::Id);
    if let Some(v) = &filter.regency_code {
        query = query.filter(vendor::Column::RegencyCode.eq(v.as_str()));
    }
    if let Some(v) = filter.status {
        query = query.filter(vendor::Column::Status.eq(v));
    }
    if let Some(v) = filter.legal_form {
        query = query.filter(vendor::Column::LegalForm.eq(v));
    }
    if let Some(v) = filter.scale {
        query = query.filter(vendor::Column::Scale.eq(v));
    }
    if let Some(v) = &filter.name_contains {
        query = query.filter(vendor::Column::NameSearch.like(db::contains_pattern(v)));
    }
    if let Some(after) = after_id {
        query = query.filter(vendor::Column::Id.gt(after));
    }
    query.limit(limit).all(conn).await
}
