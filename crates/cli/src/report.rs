//! Open data from the reporting service: `blangkon report ...` (no token
//! needed) and `blangkon reporting rebuild`.

use std::path::PathBuf;

use anyhow::Context;
use blangkon_domain::category::category_name;
use blangkon_proto::reporting as pb;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::connection::Connection;
use crate::output::{rupiah, status_error, time};

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Args, Clone)]
struct PeriodArgs {
    /// First day, YYYY-MM-DD (Western Indonesia Time); open when omitted.
    #[arg(long, default_value = "")]
    from: String,
    /// Last day, included; open when omitted.
    #[arg(long, default_value = "")]
    until: String,
}

impl PeriodArgs {
    fn period(&self) -> Option<pb::Period> {
        Some(pb::Period {
            from_date: self.from.clone(),
            until_date: self.until.clone(),
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum DimensionArg {
    Category,
    Subcategory,
    Regency,
    BuyerRegency,
    Month,
    LegalForm,
    Scale,
    Status,
    BuyerUnit,
    Vendor,
}

impl From<DimensionArg> for pb::Dimension {
    fn from(d: DimensionArg) -> Self {
        match d {
            DimensionArg::Category => pb::Dimension::Category,
            DimensionArg::Subcategory => pb::Dimension::Subcategory,
            DimensionArg::Regency => pb::Dimension::Regency,
            DimensionArg::BuyerRegency => pb::Dimension::BuyerRegency,
            DimensionArg::Month => pb::Dimension::Month,
            DimensionArg::LegalForm => pb::Dimension::LegalForm,
            DimensionArg::Scale => pb::Dimension::Scale,
            DimensionArg::Status => pb::Dimension::Status,
            DimensionArg::BuyerUnit => pb::Dimension::BuyerUnit,
            DimensionArg::Vendor => pb::Dimension::Vendor,
        }
    }
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The headline figures: vendors, products, transactions, regencies, the
    /// share for micro and small businesses.
    Summary,
    /// Orders and value by one dimension over a period.
    Breakdown {
        #[arg(value_enum)]
        dimension: DimensionArg,
        #[command(flatten)]
        period: PeriodArgs,
    },
    /// The public ledger of orders, newest first.
    Transactions {
        #[arg(long, default_value = "")]
        status: String,
        #[arg(long, default_value = "")]
        vendor: String,
        /// Orders whose vendor or buyer is in this regency (e.g. 33.74).
        #[arg(long, default_value = "")]
        regency: String,
        /// A top-level category (katering) or a full code (katering.tumpeng).
        #[arg(long, default_value = "")]
        category: String,
        #[command(flatten)]
        period: PeriodArgs,
        #[arg(long, default_value_t = 50)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
    /// An OCDS 1.1 release package of the orders placed in a period.
    Ocds {
        #[command(flatten)]
        period: PeriodArgs,
        /// Write the package here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[arg(long, default_value_t = 0)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
}

fn key_value_json(rows: &[pb::KeyValue]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|r| {
            json!({
                "key": r.key,
                "label": r.label,
                "label_en": r.label_en,
                "orders": r.orders,
                "value": r.value,
            })
        })
        .collect()
}

/// The names of counts' keys, Indonesian and English, where there are
/// any: `{"33.74": {"id": "Kota Semarang", "en": "Kota Semarang"}}`.
fn labels_json(rows: &[pb::KeyCount]) -> serde_json::Value {
    rows.iter()
        .filter(|r| !r.label.is_empty() || !r.label_en.is_empty())
        .map(|r| (r.key.clone(), json!({"id": r.label, "en": r.label_en})))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// A key as a person reads it beside its code: `Kota Semarang (33.74)`,
/// or the code alone where there is no name.
fn named(key: &str, label: &str) -> String {
    match (key, label) {
        ("", "") => "(unknown)".to_string(),
        (key, "") => key.to_string(),
        (key, label) if label.eq_ignore_ascii_case(key) => label.to_string(),
        (key, label) => format!("{label} ({key})"),
    }
}

fn counts_json(rows: &[pb::KeyCount]) -> serde_json::Value {
    rows.iter()
        .map(|r| (r.key.clone(), json!(r.count)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

pub async fn report(args: ReportArgs) -> anyhow::Result<()> {
    let c = &args.connection;
    let mut client = c.reporting_client().await?;
    match args.command {
        ReportCommand::Summary => {
            let request = c.public_request(pb::GetSummaryRequest {})?;
            let reply = client.get_summary(request).await;
            c.show(reply, summary_json, print_summary)
        }
        ReportCommand::Breakdown { dimension, period } => {
            // Every row, a page at a time: the answer is one table.
            let mut whole: Option<pb::Breakdown> = None;
            let mut page_token = String::new();
            let reply = loop {
                let request = c.public_request(pb::GetBreakdownRequest {
                    dimension: pb::Dimension::from(dimension) as i32,
                    period: period.period(),
                    page_size: 1_000,
                    page_token: std::mem::take(&mut page_token),
                })?;
                match client.get_breakdown(request).await {
                    Err(status) => break Err(status),
                    Ok(page) => {
                        let mut page = page.into_inner();
                        page_token = std::mem::take(&mut page.next_page_token);
                        match whole.as_mut() {
                            Some(whole) => whole.rows.append(&mut page.rows),
                            None => whole = Some(page),
                        }
                    }
                }
                if page_token.is_empty() {
                    break Ok(tonic::Response::new(whole.take().unwrap_or_default()));
                }
            };
            c.show(reply, breakdown_json, print_breakdown)
        }
        ReportCommand::Transactions {
            status,
            vendor,
            regency,
            category,
            period,
            page_size,
            page_token,
        } => {
            let request = c.public_request(pb::ListTransactionsRequest {
                page_size,
                page_token,
                status,
                vendor_id: vendor,
                regency_code: regency,
                category_code: category,
                period: period.period(),
            })?;
            let reply = client.list_transactions(request).await;
            c.show(reply, transactions_json, print_transactions)
        }
        ReportCommand::Ocds {
            period,
            output,
            page_size,
            page_token,
        } => {
            let package = client
                .export_ocds(c.public_request(pb::ExportOcdsRequest {
                    period: period.period(),
                    page_size,
                    page_token,
                })?)
                .await
                .map_err(status_error)?
                .into_inner();
            match output {
                Some(path) => {
                    std::fs::write(&path, &package.json)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "{} releases written to {}",
                        package.releases,
                        path.display()
                    );
                }
                None => say!("{}", package.json),
            }
            if !package.next_page_token.is_empty() {
                eprintln!("more releases: --page-token {}", package.next_page_token);
            }
            Ok(())
        }
    }
}

fn summary_json(s: &pb::Summary) -> serde_json::Value {
    json!({
        "vendors_total": s.vendors_total,
        "vendors_individual": s.vendors_individual,
        "vendors_business_entity": s.vendors_business_entity,
        "vendors_by_legal_form": counts_json(&s.vendors_by_legal_form),
        "vendors_by_status": counts_json(&s.vendors_by_status),
        "vendors_by_scale": counts_json(&s.vendors_by_scale),
        "vendors_by_regency": counts_json(&s.vendors_by_regency),
        "products_listed": s.products_listed,
        "products_by_category": counts_json(&s.products_by_category),
        "products_by_regency": counts_json(&s.products_by_regency),
        "transactions": s.transactions,
        "transaction_value": s.transaction_value,
        "top_categories": key_value_json(&s.top_categories),
        "orders_by_status": key_value_json(&s.orders_by_status),
        "regencies_joined": s.regencies_joined,
        "regencies_transacting": s.regencies_transacting,
        "vendors_trained": s.vendors_trained,
        "micro_small_value": s.micro_small_value,
        "micro_small_share_bp": s.micro_small_share_bp,
        "micro_small_target_met": s.micro_small_target_met,
        "as_of": time(&s.as_of),
        // The counts above are by code; their names, where there are any.
        "labels": {
            "vendors_by_legal_form": labels_json(&s.vendors_by_legal_form),
            "vendors_by_status": labels_json(&s.vendors_by_status),
            "vendors_by_scale": labels_json(&s.vendors_by_scale),
            "vendors_by_regency": labels_json(&s.vendors_by_regency),
            "products_by_category": labels_json(&s.products_by_category),
            "products_by_regency": labels_json(&s.products_by_regency),
        },
    })
}

fn print_summary(s: &pb::Summary) {
    say!(
        "Vendors           {} (individuals {}, business entities {})",
        s.vendors_total,
        s.vendors_individual,
        s.vendors_business_entity
    );
    let line = |rows: &[pb::KeyCount]| {
        rows.iter()
            .map(|r| format!("{} {}", named(&r.key, &r.label_en), r.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    say!("  by legal form   {}", line(&s.vendors_by_legal_form));
    say!("  by status       {}", line(&s.vendors_by_status));
    say!("  by scale        {}", line(&s.vendors_by_scale));
    say!("  by regency      {}", line(&s.vendors_by_regency));
    say!("  trained         {}", s.vendors_trained);
    say!("Products listed   {}", s.products_listed);
    say!("  by category     {}", line(&s.products_by_category));
    say!("  by regency      {}", line(&s.products_by_regency));
    say!(
        "Transactions      {} worth {}",
        s.transactions,
        rupiah(s.transaction_value)
    );
    for (i, c) in s.top_categories.iter().enumerate() {
        say!(
            "  {}. {:<30} {} ({} orders)",
            i + 1,
            named(&c.key, &c.label_en),
            rupiah(c.value),
            c.orders
        );
    }
    say!(
        "Orders by status  {}",
        s.orders_by_status
            .iter()
            .map(|r| format!("{} {}", named(&r.key, &r.label_en), r.orders))
            .collect::<Vec<_>>()
            .join(", ")
    );
    say!(
        "Regencies         {} joined, {} transacting",
        s.regencies_joined,
        s.regencies_transacting
    );
    say!(
        "Micro, small & cooperatives  {} = {}.{:02}% of spending (target 40%: {})",
        rupiah(s.micro_small_value),
        s.micro_small_share_bp / 100,
        s.micro_small_share_bp % 100,
        if s.micro_small_target_met {
            "met"
        } else {
            "not met"
        }
    );
    say!("As of             {}", time(&s.as_of));
}

fn breakdown_json(b: &pb::Breakdown) -> serde_json::Value {
    json!({
        "rows": key_value_json(&b.rows),
        "orders_total": b.orders_total,
        "value_total": b.value_total,
    })
}

fn print_breakdown(b: &pb::Breakdown) {
    for r in &b.rows {
        let name = named(&r.key, &r.label_en);
        say!("{name:<40} {:>6} orders  {:>22}", r.orders, rupiah(r.value));
    }
    say!(
        "{:<40} {:>6} orders  {:>22}",
        "total",
        b.orders_total,
        rupiah(b.value_total)
    );
}

fn transactions_json(page: &pb::ListTransactionsResponse) -> serde_json::Value {
    json!({
        "transactions": page.transactions.iter().map(|t| json!({
            "order_id": t.order_id,
            "status": t.status,
            "status_label": {"id": t.status_label, "en": t.status_label_en},
            "buyer_work_unit": t.buyer_work_unit,
            "buyer_regency": t.buyer_regency,
            "buyer_regency_name": t.buyer_regency_name,
            "vendor_id": t.vendor_id,
            "vendor_name": t.vendor_name,
            "vendor_regency": t.vendor_regency,
            "vendor_regency_name": t.vendor_regency_name,
            "vendor_legal_form": t.vendor_legal_form,
            "vendor_scale": t.vendor_scale,
            "total": t.total,
            "placed_at": time(&t.placed_at),
            "updated_at": time(&t.updated_at),
            "bast_date": t.bast_date,
            "paid_at": time(&t.paid_at),
            "items": t.items.iter().map(|i| json!({
                "product_id": i.product_id,
                "name": i.name,
                "category_code": i.category_code,
                "category_name": category_name(&i.category_code),
                "unit": i.unit,
                "quantity": i.quantity,
                "unit_price": i.unit_price,
                "line_total": i.line_total,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "next_page_token": page.next_page_token,
    })
}

fn print_transactions(page: &pb::ListTransactionsResponse) {
    for t in &page.transactions {
        say!(
            "{}  {:<16} {:>18}  {}, {} → {} ({})  {}",
            t.order_id,
            named(&t.status, &t.status_label_en),
            rupiah(t.total),
            t.buyer_work_unit,
            named(&t.buyer_regency, &t.buyer_regency_name),
            if t.vendor_name.is_empty() {
                &t.vendor_id
            } else {
                &t.vendor_name
            },
            named(&t.vendor_regency, &t.vendor_regency_name),
            time(&t.placed_at)
        );
    }
    if !page.next_page_token.is_empty() {
        say!("next page: --page-token {}", page.next_page_token);
    }
}

#[derive(Args)]
pub struct ReportingArgs {
    #[command(subcommand)]
    command: ReportingCommand,
}

#[derive(Subcommand)]
enum ReportingCommand {
    /// Empty the reporting read model and replay the domain topics into it.
    /// Stop the reporting service first. Reads the reporting service's
    /// settings (BLANGKON_REPORTING__*, or --config).
    Rebuild {
        /// TOML settings file of the reporting service.
        #[arg(long, env = "BLANGKON_REPORTING_CONFIG")]
        config: Option<PathBuf>,
    },
}

pub async fn reporting(args: ReportingArgs) -> anyhow::Result<()> {
    match args.command {
        ReportingCommand::Rebuild { config } => {
            let settings: blangkon_reporting::Settings =
                blangkon_platform::settings::load("reporting", config.as_deref())?;
            let outcome = blangkon_reporting::rebuild::rebuild_configured(&settings).await?;
            say!("{outcome}");
        }
    }
    Ok(())
}
