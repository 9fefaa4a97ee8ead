//! The open data reporting serves: the headline summary, breakdowns by
//! dimension, the public ledger and its OCDS export, read from the read
//! model. Nothing here knows of gRPC (the answers are the protobuf
//! messages of `blangkon.reporting.v1`, which an HTTP adapter can serve as
//! JSON too), and nothing needs a token: every figure is open data, and
//! nothing in the read model is personal.

use blangkon_domain::category::category_name;
use blangkon_platform::db;
use blangkon_platform::page::{self, Position};
use blangkon_platform::time::{now, to_timestamp};
use blangkon_proto::reporting as pb;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};

use crate::domain::calendar::Period;
use crate::domain::figures::{
    Dimension, INDIVIDUAL, MICRO_SMALL_COOPERATIVE, OrderFacts, PRODUCTS, VENDORS,
};
use crate::domain::labels;
use crate::domain::ocds::{self, Published, Publisher};
use crate::domain::records::Names;
use crate::domain::red_flags::{FlagKind, Lang, RedFlag, Thresholds};
use crate::error::{ReportingError, Result};
use crate::settings::ReportingSettings;
use crate::store::red_flags::FlagFilter;
use crate::store::{self, After, OrderFilter, ReleaseAfter, RowAfter, vendor};

/// A red flag as the public reads it: with its vendor's and regency's
/// names and its explanation in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagView {
    pub flag: RedFlag,
    pub vendor_name: String,
    pub regency_name: String,
    pub explanation_id: String,
    pub explanation_en: String,
}

/// `rows` as counts whose keys `label` names (Indonesian, English).
fn key_counts(
    rows: Vec<(String, i64)>,
    label: impl Fn(&str) -> (String, String),
) -> Vec<pb::KeyCount> {
    rows.into_iter()
        .map(|(key, count)| {
            let (label, label_en) = label(&key);
            pb::KeyCount {
                key,
                count,
                label,
                label_en,
            }
        })
        .collect()
}

/// Where a page of red flags ended: after this flag, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagAfter {
    pub raised_at: DateTime<Utc>,
    pub flag_id: String,
}

impl Position for FlagAfter {
    fn to_text(&self) -> String {
        format!("{}|{}", self.raised_at.timestamp_micros(), self.flag_id)
    }

    fn from_text(text: &str) -> Option<Self> {
        let (micros, flag_id) = text.split_once('|')?;
        let raised_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        (flag_id.len() <= 64 && !flag_id.is_empty()).then(|| Self {
            raised_at,
            flag_id: flag_id.to_string(),
        })
    }
}

/// Share of spending regulation reserves for micro and small businesses
/// and cooperatives, in basis points.
const TARGET_SHARE_BP: i64 = 4_000;
const TOP_CATEGORIES: usize = 5;

/// The reads of open data, over the read model.
#[derive(Debug, Clone)]
pub struct OpenData {
    db: DatabaseConnection,
    publisher: Publisher,
    /// Most bytes of a release package's JSON.
    package_max_bytes: usize,
    /// The red flags' thresholds, which their explanations quote.
    red_flag_rules: Thresholds,
}

impl OpenData {
    pub fn new(db: DatabaseConnection, settings: ReportingSettings) -> Self {
        Self {
            db,
            publisher: Publisher {
                ocid_prefix: settings.ocid_prefix,
                name: settings.publisher_name,
                package_uri_base: settings.package_uri_base,
            },
            package_max_bytes: settings.ocds_package_max_bytes,
            red_flag_rules: settings.red_flags,
        }
    }

    /// A page of the red flags raised now, newest first.
    pub async fn red_flags(
        &self,
        filter: &FlagFilter,
        after: Option<&FlagAfter>,
        page_size: u64,
    ) -> Result<(Vec<FlagView>, String)> {
        let after = after.map(|a| (a.raised_at, a.flag_id.clone()));
        let mut flags =
            store::red_flags::list_flags(&self.db, filter, after.as_ref(), page_size + 1).await?;
        let next_page_token = page::next_page(&mut flags, page_size, |f| FlagAfter {
            raised_at: f.raised_at,
            flag_id: f.flag_id.clone(),
        });
        Ok((self.views(flags).await?, next_page_token))
    }

    /// One red flag, if it is raised now.
    pub async fn red_flag(&self, flag_id: &str) -> Result<Option<FlagView>> {
        let flag = store::red_flags::find_flag(&self.db, flag_id).await?;
        Ok(self.views(flag.into_iter().collect()).await?.pop())
    }

    /// How many flags of each kind are raised now, every kind named.
    pub async fn red_flag_counts(&self) -> Result<Vec<(FlagKind, i64)>> {
        let counts = store::red_flags::flag_counts(&self.db).await?;
        Ok(FlagKind::ALL
            .into_iter()
            .map(|kind| {
                let n = counts
                    .iter()
                    .find(|(code, _)| code == kind.code())
                    .map_or(0, |(_, n)| *n);
                (kind, n)
            })
            .collect())
    }

    /// Flags with the names and words a reader needs.
    async fn views(&self, flags: Vec<RedFlag>) -> Result<Vec<FlagView>> {
        let vendors: Vec<String> = flags.iter().map(|f| f.vendor_id.clone()).collect();
        let regencies: Vec<String> = flags.iter().map(|f| f.buyer_regency.clone()).collect();
        let vendor_names = store::vendor_names(&self.db, &vendors).await?;
        let regency_names = store::regency_names(&self.db, &regencies).await?;
        Ok(flags
            .into_iter()
            .map(|flag| FlagView {
                vendor_name: vendor_names
                    .get(&flag.vendor_id)
                    .cloned()
                    .unwrap_or_default(),
                regency_name: regency_names
                    .get(&flag.buyer_regency)
                    .cloned()
                    .unwrap_or_default(),
                explanation_id: flag.explain(&self.red_flag_rules, Lang::Id),
                explanation_en: flag.explain(&self.red_flag_rules, Lang::En),
                flag,
            })
            .collect())
    }

    /// Every headline figure, from one snapshot of the read model.
    pub async fn summary(&self) -> Result<pb::Summary> {
        // One snapshot: the projection commits while the figures are read,
        // and a summary whose status counts already hold an order that its
        // transaction count does not yet would contradict itself.
        let snapshot = db::begin_snapshot(&self.db).await?;
        let db = &snapshot;
        let by_legal_form = store::counts_by(db, VENDORS, "legal_form").await?;
        let vendors_total: i64 = by_legal_form.iter().map(|(_, n)| n).sum();
        let vendors_individual: i64 = by_legal_form
            .iter()
            .filter(|(form, _)| form == INDIVIDUAL)
            .map(|(_, n)| n)
            .sum();
        let products_by_category = store::counts_by(db, PRODUCTS, "category").await?;
        let (transactions, transaction_value) = store::total_of(db, Dimension::All, "").await?;
        let (_, micro_small_value) =
            store::total_of(db, Dimension::TargetGroup, MICRO_SMALL_COOPERATIVE).await?;
        let share_bp = if transaction_value > 0 {
            // i128: value × 10,000 overflows i64 above ~Rp922 trillion.
            (i128::from(micro_small_value) * 10_000 / i128::from(transaction_value)) as i64
        } else {
            0
        };
        let mut top_categories = store::totals_by_key(db, Dimension::Category).await?;
        top_categories.truncate(TOP_CATEGORIES);
        let regencies_transacting = store::totals_by_key(db, Dimension::Regency)
            .await?
            .iter()
            .filter(|(_, orders, _)| *orders > 0)
            .count() as i64;
        let vendors_by_regency = store::counts_by(db, VENDORS, "regency").await?;
        let products_by_regency = store::counts_by(db, PRODUCTS, "regency").await?;
        let regencies: Vec<String> = vendors_by_regency
            .iter()
            .chain(&products_by_regency)
            .map(|(key, _)| key.clone())
            .collect();
        let regency_names = store::regency_names(db, &regencies).await?;
        let regency = |key: &str| {
            let name = regency_names.get(key).cloned().unwrap_or_default();
            (name.clone(), name)
        };
        // The catalog's taxonomy has Indonesian names only.
        let category = |key: &str| {
            let name = category_name(key).unwrap_or_default();
            (name.clone(), name)
        };
        let in_both = |label: fn(&str, Lang) -> String| {
            move |key: &str| (label(key, Lang::Id), label(key, Lang::En))
        };
        let summary = pb::Summary {
            vendors_total,
            vendors_individual,
            vendors_business_entity: vendors_total - vendors_individual,
            vendors_by_legal_form: key_counts(by_legal_form, in_both(labels::legal_form_label)),
            vendors_by_status: key_counts(
                store::counts_by(db, VENDORS, "status").await?,
                in_both(labels::vendor_status_label),
            ),
            vendors_by_scale: key_counts(
                store::counts_by(db, VENDORS, "scale").await?,
                in_both(labels::scale_label),
            ),
            products_listed: products_by_category.iter().map(|(_, n)| n).sum(),
            vendors_by_regency: key_counts(vendors_by_regency, regency),
            products_by_category: key_counts(products_by_category, category),
            products_by_regency: key_counts(products_by_regency, regency),
            transactions,
            transaction_value,
            top_categories: self.rows(Dimension::Category, top_categories).await?,
            orders_by_status: self
                .rows(
                    Dimension::Status,
                    store::totals_by_key(db, Dimension::Status).await?,
                )
                .await?,
            regencies_joined: store::regencies_joined(db).await?,
            regencies_transacting,
            vendors_trained: store::count_of(db, VENDORS, "trained", "").await?,
            micro_small_value,
            micro_small_share_bp: share_bp as i32,
            micro_small_target_met: transaction_value > 0 && share_bp >= TARGET_SHARE_BP,
            as_of: store::last_event_at(db).await?.map(to_timestamp),
        };
        snapshot.commit().await?;
        Ok(summary)
    }

    /// Rows with the names reporting knows for their keys, in Indonesian
    /// and English.
    async fn rows(
        &self,
        dimension: Dimension,
        totals: Vec<(String, i64, i64)>,
    ) -> Result<Vec<pb::KeyValue>, DbErr> {
        let keys: Vec<String> = totals.iter().map(|(k, _, _)| k.clone()).collect();
        let names = match dimension {
            Dimension::Regency | Dimension::BuyerRegency => {
                store::regency_names(&self.db, &keys).await?
            }
            Dimension::Vendor => store::vendor_names(&self.db, &keys).await?,
            _ => Default::default(),
        };
        let label = |key: &str, lang: Lang| -> String {
            match dimension {
                Dimension::Status => labels::status_label(key, lang).to_string(),
                Dimension::LegalForm => labels::legal_form_label(key, lang),
                Dimension::Scale => labels::scale_label(key, lang),
                Dimension::Category | Dimension::Subcategory => {
                    category_name(key).unwrap_or_default()
                }
                _ => names.get(key).cloned().unwrap_or_default(),
            }
        };
        Ok(totals
            .into_iter()
            .map(|(key, orders, value)| pb::KeyValue {
                label: label(&key, Lang::Id),
                label_en: label(&key, Lang::En),
                key,
                orders,
                value,
            })
            .collect())
    }

    /// Orders and value by each key of `dimension` over `period`, a page
    /// of rows after `after`, highest value first; the totals are the
    /// whole period's.
    pub async fn breakdown(
        &self,
        dimension: Dimension,
        period: &Period,
        after: Option<&RowAfter>,
        page_size: u64,
    ) -> Result<pb::Breakdown> {
        let spans = period.spans();
        let mut totals =
            store::totals_page(&self.db, dimension, &spans, after, page_size + 1).await?;
        let next_page_token = page::next_page(&mut totals, page_size, |(key, _, value)| RowAfter {
            value: *value,
            key: key.clone(),
        });
        // The totals: every order for the status dimension, transactions
        // otherwise.
        let of = if dimension == Dimension::Status {
            Dimension::Status
        } else {
            Dimension::All
        };
        let (orders_total, value_total) = store::totals_sum(&self.db, of, &spans).await?;
        Ok(pb::Breakdown {
            rows: self.rows(dimension, totals).await?,
            orders_total,
            value_total,
            next_page_token,
            ..pb::Breakdown::default()
        })
    }

    /// A page of the public ledger, newest first.
    pub async fn transactions(
        &self,
        filter: &OrderFilter,
        after: Option<&After>,
        page_size: u64,
    ) -> Result<pb::ListTransactionsResponse> {
        let mut rows = store::orders_page(&self.db, filter, after, true, page_size + 1).await?;
        let next_page_token = page::next_page(&mut rows, page_size, position_after);
        let names = store::names_for_all(&self.db, &rows).await?;
        Ok(pb::ListTransactionsResponse {
            transactions: rows
                .into_iter()
                .zip(names)
                .map(|(o, names)| transaction(names, o))
                .collect(),
            next_page_token,
        })
    }

    /// One transaction of the public ledger, if the order is in it.
    pub async fn transaction(&self, order_id: &str) -> Result<Option<pb::Transaction>> {
        let filter = OrderFilter {
            order_id: Some(order_id.to_string()),
            ..OrderFilter::default()
        };
        let rows = store::orders_page(&self.db, &filter, None, true, 1).await?;
        let names = store::names_for_all(&self.db, &rows).await?;
        Ok(rows
            .into_iter()
            .zip(names)
            .map(|(o, names)| transaction(names, o))
            .next())
    }

    /// A page of the OCDS release package of `period`; `page_token` is
    /// the one the caller sent, which the package's URI names.
    pub async fn ocds(
        &self,
        period: &Period,
        after: Option<&After>,
        page_size: u64,
        page_token: &str,
    ) -> Result<pb::OcdsPackage> {
        let filter = OrderFilter {
            from_day: period.from_day(),
            until_day: period.until_day(),
            ..OrderFilter::default()
        };
        let mut rows = store::orders_page(&self.db, &filter, after, false, page_size + 1).await?;
        let mut next_page_token = page::next_page(&mut rows, page_size, position_after);
        if rows.is_empty() {
            // OCDS has no empty package: it holds at least one release.
            return Err(ReportingError::NothingPlaced);
        }
        let names = store::names_for_all(&self.db, &rows).await?;
        // Releases up to the byte budget (always one): orders of many
        // lines make large releases, and the package must fit what a
        // client reads; the next page starts where this one stopped.
        let mut releases = Vec::with_capacity(rows.len());
        let mut bytes = 0;
        for (order, names) in rows.iter().zip(&names) {
            let release = ocds::release(&self.publisher, order, names);
            let size = serde_json::to_string_pretty(&release)
                .map_err(|e| ReportingError::Encode(e.to_string()))?
                .len();
            if !releases.is_empty() && bytes + size > self.package_max_bytes {
                let last = &rows[releases.len() - 1];
                next_page_token = page::token(&position_after(last));
                break;
            }
            bytes += size;
            releases.push(release);
        }
        // The package indents its releases deeper than they were measured:
        // give back releases until the whole fits (one always stays).
        let published = now();
        let json = loop {
            let package = ocds::package(
                &self.publisher,
                &period.slug(),
                page_token,
                published,
                releases.clone(),
            );
            let json = serde_json::to_string_pretty(&package)
                .map_err(|e| ReportingError::Encode(e.to_string()))?;
            if json.len() <= self.package_max_bytes || releases.len() == 1 {
                break json;
            }
            let keep =
                (releases.len() * self.package_max_bytes / json.len()).clamp(1, releases.len() - 1);
            releases.truncate(keep);
            next_page_token = page::token(&position_after(&rows[keep - 1]));
        };
        Ok(pb::OcdsPackage {
            json,
            releases: releases.len() as i32,
            next_page_token,
        })
    }
}

/// A vendor's public fields and its figures: business names, never a
/// person's data (the read model holds none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorProfile {
    pub vendor_id: String,
    pub name: String,
    pub regency_code: String,
    pub regency_name: String,
    pub legal_form: String,
    pub scale: String,
    pub status: String,
    pub verified_at: Option<DateTime<Utc>>,
    /// Its transactions (accepted and on) and their value, all time.
    pub transactions: i64,
    pub transaction_value: i64,
}

impl OpenData {
    /// A vendor whose registration reporting has seen, with its figures.
    pub async fn vendor_profile(&self, vendor_id: &str) -> Result<Option<VendorProfile>> {
        use sea_orm::EntityTrait;
        let Some(found) = vendor::Entity::find_by_id(vendor_id.to_string())
            .one(&self.db)
            .await?
            .filter(|v| !v.name.is_empty())
        else {
            return Ok(None);
        };
        let (transactions, transaction_value) =
            store::total_of(&self.db, Dimension::Vendor, vendor_id).await?;
        let regency_name =
            store::regency_names(&self.db, std::slice::from_ref(&found.regency_code))
                .await?
                .remove(&found.regency_code)
                .unwrap_or_default();
        Ok(Some(VendorProfile {
            vendor_id: found.vendor_id,
            name: found.name,
            regency_name,
            regency_code: found.regency_code,
            legal_form: found.legal_form,
            scale: found.scale,
            status: found.status.to_string(),
            verified_at: found.verified_at,
            transactions,
            transaction_value,
        }))
    }

    /// Every regency that joined, by code, with its name.
    pub async fn regencies(&self) -> Result<Vec<(String, String)>> {
        use sea_orm::{EntityTrait, QueryOrder};
        Ok(store::regency::Entity::find()
            .order_by_asc(store::regency::Column::Code)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect())
    }

    /// The names of regencies by code, for the codes given.
    pub async fn regency_names(
        &self,
        codes: &[String],
    ) -> Result<std::collections::HashMap<String, String>> {
        Ok(store::regency_names(&self.db, codes).await?)
    }

    /// The publisher's ocid of an order.
    pub fn ocid_of(&self, order_id: &str) -> String {
        ocds::ocid(&self.publisher, order_id)
    }
}

/// The days a release package covers: one day or one month (WIB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseDays {
    pub from: String,
    pub until: String,
}

impl ReleaseDays {
    /// `2026-11-20` (a day) or `2026-11` (a month); `None` for anything
    /// else, or a day that is not in the calendar.
    pub fn parse(name: &str) -> Option<Self> {
        use chrono::NaiveDate;
        match name.len() {
            10 => {
                let day = NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()?;
                let day = day.format("%Y-%m-%d").to_string();
                Some(Self {
                    from: day.clone(),
                    until: day,
                })
            }
            7 => {
                let first = NaiveDate::parse_from_str(&format!("{name}-01"), "%Y-%m-%d").ok()?;
                Some(Self {
                    from: first.format("%Y-%m-%d").to_string(),
                    until: first.format("%Y-%m-31").to_string(),
                })
            }
            _ => None,
        }
    }
}

/// A page of OCDS releases and where the next one starts.
#[derive(Debug, Clone)]
pub struct ReleasePage {
    pub package: serde_json::Value,
    pub next: Option<ReleaseAfter>,
}

impl OpenData {
    /// The publisher's ocid of an order, and the order's id of an ocid of
    /// this publisher.
    pub fn order_of(&self, ocid: &str) -> Option<String> {
        let id = ocid
            .strip_prefix(&self.publisher.ocid_prefix)?
            .strip_prefix('-')?;
        uuid::Uuid::parse_str(id).ok().map(|_| id.to_string())
    }

    /// A page of the releases of `days`, in release order: each version of
    /// each order that changed then, whole, as it stood. `uri` is the
    /// page's own URL, `next_uri` makes the next page's from its position.
    pub async fn release_page(
        &self,
        days: &ReleaseDays,
        after: Option<&ReleaseAfter>,
        page_size: u64,
        published: (&str, String),
        next_uri: impl FnOnce(&ReleaseAfter) -> String,
    ) -> Result<Option<ReleasePage>> {
        let mut versions =
            store::versions_page(&self.db, &days.from, &days.until, after, page_size + 1).await?;
        let next = (versions.len() as u64 > page_size).then(|| {
            versions.truncate(page_size as usize);
            versions.last().map(release_after)
        });
        if versions.is_empty() {
            return Ok(None);
        }
        let names = store::names_for_all(&self.db, &versions).await?;
        let newest = versions
            .iter()
            .map(|v| v.changed_at)
            .max()
            .unwrap_or_else(now);
        let releases = versions
            .iter()
            .zip(&names)
            .map(|(v, names)| ocds::release(&self.publisher, v, names))
            .collect();
        let next = next.flatten();
        let (base, uri) = published;
        let package = ocds::release_package(
            &self.publisher,
            &Published::at(base, uri, newest),
            releases,
            next.as_ref().map(next_uri),
        );
        Ok(Some(ReleasePage { package, next }))
    }

    /// The record package of one order: its releases, oldest first, and
    /// its compiled release; `None` for an order the ledger does not hold.
    pub async fn record(
        &self,
        order_id: &str,
        published: (&str, String),
    ) -> Result<Option<serde_json::Value>> {
        let versions = store::versions_of(&self.db, order_id).await?;
        let Some(newest) = versions.iter().map(|v| v.changed_at).max() else {
            return Ok(None);
        };
        let names = store::names_for_all(&self.db, &versions).await?;
        let releases = versions
            .iter()
            .zip(&names)
            .map(|(v, names)| ocds::release(&self.publisher, v, names))
            .collect();
        let (base, uri) = published;
        Ok(Some(ocds::record_package(
            &self.publisher,
            &Published::at(base, uri, newest),
            vec![(ocds::ocid(&self.publisher, order_id), releases)],
        )))
    }

    /// The compiled releases of up to `limit` orders placed in `year`
    /// (WIB), after the order `after`: one JSON line each, and the last
    /// order to go on from (`None` when none are left).
    pub async fn compiled_lines(
        &self,
        year: i32,
        after: Option<&store::PlacedAfter>,
        limit: u64,
    ) -> Result<(String, Option<store::PlacedAfter>)> {
        let (from, until) = (format!("{year:04}-01-01"), format!("{year:04}-12-31"));
        let placed = store::orders_placed(&self.db, &from, &until, after, limit).await?;
        let Some(last) = placed.last().cloned() else {
            return Ok((String::new(), None));
        };
        let ids: Vec<String> = placed.into_iter().map(|p| p.order_id).collect();
        let versions = store::versions_of_all(&self.db, &ids).await?;
        let names = store::names_for_all(&self.db, &versions).await?;
        let mut by_order: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
        for (v, names) in versions.iter().zip(&names) {
            let release = ocds::release(&self.publisher, v, names);
            match by_order.last_mut() {
                Some((id, releases)) if *id == v.order_id => releases.push(release),
                _ => by_order.push((v.order_id.clone(), vec![release])),
            }
        }
        let mut lines = String::new();
        for (order_id, releases) in by_order {
            let compiled = ocds::compile(&ocds::ocid(&self.publisher, &order_id), &releases);
            let line = serde_json::to_string(&compiled)
                .map_err(|e| ReportingError::Encode(e.to_string()))?;
            lines.push_str(&line);
            lines.push('\n');
        }
        Ok((lines, Some(last)))
    }
}

fn release_after(v: &OrderFacts) -> ReleaseAfter {
    ReleaseAfter {
        changed_at: v.changed_at,
        order_id: v.order_id.clone(),
        version: v.version,
    }
}

/// Where a release page ended, in a cursor: `micros|order_id|version`.
impl Position for ReleaseAfter {
    fn to_text(&self) -> String {
        format!(
            "{}|{}|{}",
            self.changed_at.timestamp_micros(),
            self.order_id,
            self.version
        )
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut parts = text.split('|');
        let micros = parts.next()?.parse().ok()?;
        let order_id = parts.next()?;
        let version = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        uuid::Uuid::parse_str(order_id).ok()?;
        Some(Self {
            changed_at: DateTime::<Utc>::from_timestamp_micros(micros)?,
            order_id: order_id.to_string(),
            version,
        })
    }
}

/// Where a breakdown page ended, in a page token: `value:key`.
impl Position for RowAfter {
    fn to_text(&self) -> String {
        format!("{}:{}", self.value, self.key)
    }

    fn from_text(text: &str) -> Option<Self> {
        // The value has no colon; a key (a work unit's name) may.
        let (value, key) = text.split_once(':')?;
        Some(Self {
            value: value.parse().ok()?,
            key: key.to_string(),
        })
    }
}

/// Where a ledger page ended, in a page token: `micros|order_id`.
impl Position for After {
    fn to_text(&self) -> String {
        format!("{}|{}", self.placed_at.timestamp_micros(), self.order_id)
    }

    fn from_text(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('|')?;
        let placed_at = DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?;
        uuid::Uuid::parse_str(id).ok()?;
        Some(After {
            placed_at,
            order_id: id.to_string(),
        })
    }
}

/// Where the page after `last` starts.
fn position_after(last: &OrderFacts) -> After {
    After {
        placed_at: last.placed_at,
        order_id: last.order_id.clone(),
    }
}

fn transaction(names: Names, o: OrderFacts) -> pb::Transaction {
    let status = o.status.as_str();
    pb::Transaction {
        order_id: o.order_id,
        status: status.to_string(),
        status_label: labels::status_label(status, Lang::Id).to_string(),
        status_label_en: labels::status_label(status, Lang::En).to_string(),
        buyer_work_unit: o.buyer_work_unit,
        buyer_regency: o.buyer_regency,
        buyer_regency_name: names.buyer_regency,
        vendor_id: o.vendor_id,
        vendor_name: names.vendor,
        vendor_regency_name: names.vendor_regency,
        vendor_regency: o.vendor_regency,
        vendor_legal_form: o.legal_form,
        vendor_scale: o.scale,
        items: o
            .items
            .into_iter()
            .map(|i| pb::TransactionItem {
                product_id: i.product_id,
                name: i.name,
                category_code: i.category_code,
                unit: i.unit,
                quantity: i.quantity,
                unit_price: i.unit_price,
                line_total: i.line_total,
            })
            .collect(),
        total: o.total,
        placed_at: Some(to_timestamp(o.placed_at)),
        updated_at: Some(to_timestamp(o.changed_at)),
        bast_date: o.bast_date,
        paid_at: o.paid_at.map(to_timestamp),
    }
}
