//! Client commands for regency and province admins: `blangkon regency ...`
//! and `blangkon vendor ...`.

use blangkon_proto::vendor as pb;
use clap::{Args, Subcommand, ValueEnum};

use crate::output;

use crate::connection::Connection;

#[derive(Args)]
pub struct RegencyArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: RegencyCommand,
}

#[derive(Subcommand)]
enum RegencyCommand {
    /// A regency or city joins the platform (province admin).
    Join { code: String },
    /// List regencies with their joined flag and vendor counts.
    List {
        /// Only this province, e.g. 33.
        #[arg(long)]
        province: Option<String>,
        /// Only joined regencies.
        #[arg(long)]
        joined: bool,
    },
    /// Add a regency that is not known yet (province admin).
    Add {
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        kind: RegencyKindArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RegencyKindArg {
    Kabupaten,
    Kota,
}

pub async fn regency(args: RegencyArgs) -> anyhow::Result<()> {
    let conn = &args.connection;
    let mut client = conn.vendor_client().await?;
    match args.command {
        RegencyCommand::Join { code } => {
            let reply = client
                .join_regency(conn.request(pb::JoinRegencyRequest { code })?)
                .await;
            conn.show(reply, output::regency_json, |r| {
                say!("{} {} joined Blangkon", r.code, r.name)
            })?;
        }
        RegencyCommand::List { province, joined } => {
            let reply = client
                .list_regencies(conn.request(pb::ListRegenciesRequest {
                    province_code: province.unwrap_or_default(),
                    joined_only: joined,
                })?)
                .await;
            conn.show(
                reply,
                |list| list.regencies.iter().map(output::regency_json).collect(),
                |list| list.regencies.iter().for_each(output::print_regency),
            )?;
        }
        RegencyCommand::Add { code, name, kind } => {
            let kind = match kind {
                RegencyKindArg::Kabupaten => pb::RegencyKind::Kabupaten,
                RegencyKindArg::Kota => pb::RegencyKind::Kota,
            };
            let reply = client
                .add_regency(conn.request(pb::AddRegencyRequest {
                    code,
                    name,
                    kind: kind as i32,
                })?)
                .await;
            conn.show(reply, output::regency_json, output::print_regency)?;
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct VendorArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: VendorCommand,
}

#[derive(Clone, Copy, ValueEnum)]
enum LegalFormArg {
    Individual,
    Pt,
    Cv,
    Koperasi,
    Ud,
    Firma,
}

impl LegalFormArg {
    fn proto(self) -> pb::LegalForm {
        match self {
            LegalFormArg::Individual => pb::LegalForm::Individual,
            LegalFormArg::Pt => pb::LegalForm::Pt,
            LegalFormArg::Cv => pb::LegalForm::Cv,
            LegalFormArg::Koperasi => pb::LegalForm::Koperasi,
            LegalFormArg::Ud => pb::LegalForm::Ud,
            LegalFormArg::Firma => pb::LegalForm::Firma,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ScaleArg {
    Micro,
    Small,
    Medium,
}

impl ScaleArg {
    fn proto(self) -> pb::Scale {
        match self {
            ScaleArg::Micro => pb::Scale::Micro,
            ScaleArg::Small => pb::Scale::Small,
            ScaleArg::Medium => pb::Scale::Medium,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum StatusArg {
    Pending,
    Verified,
    Rejected,
    Suspended,
}

impl StatusArg {
    fn proto(self) -> pb::VendorStatus {
        match self {
            StatusArg::Pending => pb::VendorStatus::Pending,
            StatusArg::Verified => pb::VendorStatus::Verified,
            StatusArg::Rejected => pb::VendorStatus::Rejected,
            StatusArg::Suspended => pb::VendorStatus::Suspended,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum TrainingKindArg {
    Training,
    Mentoring,
}

#[derive(Subcommand)]
enum VendorCommand {
    /// Register a vendor (pending verification).
    Register {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        legal_form: LegalFormArg,
        /// 16-digit NIK (individuals).
        #[arg(long, default_value = "")]
        nik: String,
        /// 13-digit NIB (business entities).
        #[arg(long, default_value = "")]
        nib: String,
        /// 15- or 16-digit NPWP (required for business entities).
        #[arg(long, default_value = "")]
        npwp: String,
        #[arg(long, value_enum)]
        scale: ScaleArg,
        #[arg(long)]
        address: String,
        /// Regency code, e.g. 33.74.
        #[arg(long)]
        regency: String,
        #[arg(long)]
        phone: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long)]
        bank: String,
        #[arg(long)]
        account_number: String,
        #[arg(long)]
        account_holder: String,
    },
    /// Show one vendor with its history and trainings.
    Get { vendor_id: String },
    /// List vendors.
    List {
        #[arg(long)]
        regency: Option<String>,
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        #[arg(long, value_enum)]
        legal_form: Option<LegalFormArg>,
        #[arg(long, value_enum)]
        scale: Option<ScaleArg>,
        /// Part of the name, any case.
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value_t = 50)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
        /// Follow page tokens to the end.
        #[arg(long)]
        all: bool,
    },
    /// Verify a pending vendor.
    Verify {
        vendor_id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Reject a pending vendor.
    Reject {
        vendor_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Suspend a verified vendor.
    Suspend {
        vendor_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Reinstate a suspended vendor.
    Reinstate {
        vendor_id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Record a training or mentoring session a vendor attended.
    Training {
        vendor_id: String,
        #[arg(long)]
        topic: String,
        #[arg(long, value_enum, default_value = "training")]
        kind: TrainingKindArg,
        /// Date attended, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        #[arg(long, default_value = "")]
        organizer: String,
    },
}

pub async fn vendor(args: VendorArgs) -> anyhow::Result<()> {
    let conn = &args.connection;
    let mut client = conn.vendor_client().await?;
    let show = |reply| conn.show(reply, output::vendor_json, output::print_vendor);
    match args.command {
        VendorCommand::Register {
            name,
            legal_form,
            nik,
            nib,
            npwp,
            scale,
            address,
            regency,
            phone,
            email,
            bank,
            account_number,
            account_holder,
        } => {
            let request = pb::RegisterVendorRequest {
                name,
                legal_form: legal_form.proto() as i32,
                nik,
                nib,
                npwp,
                scale: scale.proto() as i32,
                address,
                regency_code: regency,
                contact: Some(pb::Contact { phone, email }),
                bank_account: Some(pb::BankAccount {
                    bank_name: bank,
                    account_number,
                    account_holder,
                }),
            };
            show(client.register_vendor(conn.request(request)?).await)?;
        }
        VendorCommand::Get { vendor_id } => {
            show(
                client
                    .get_vendor(conn.request(pb::GetVendorRequest {
                        vendor_id,
                        ..Default::default()
                    })?)
                    .await,
            )?;
        }
        VendorCommand::List {
            regency,
            status,
            legal_form,
            scale,
            name,
            page_size,
            mut page_token,
            all,
        } => {
            let mut found = Vec::new();
            loop {
                let page = client
                    .list_vendors(conn.request(pb::ListVendorsRequest {
                        regency_code: regency.clone().unwrap_or_default(),
                        status: status.map_or(0, |s| s.proto() as i32),
                        legal_form: legal_form.map_or(0, |f| f.proto() as i32),
                        scale: scale.map_or(0, |s| s.proto() as i32),
                        name_contains: name.clone().unwrap_or_default(),
                        page_size,
                        page_token: page_token.clone(),
                    })?)
                    .await
                    .map_err(output::status_error)?
                    .into_inner();
                found.extend(page.vendors);
                page_token = page.next_page_token;
                if !all || page_token.is_empty() {
                    break;
                }
            }
            conn.print(
                || {
                    serde_json::json!({
                        "vendors": found.iter().map(output::vendor_json).collect::<Vec<_>>(),
                        "next_page_token": page_token,
                    })
                },
                || {
                    found.iter().for_each(output::print_vendor_row);
                    if !page_token.is_empty() {
                        say!("more: --page-token {page_token}");
                    }
                },
            )?;
        }
        VendorCommand::Verify { vendor_id, note } => {
            let request = conn.request(pb::VerifyVendorRequest { vendor_id, note })?;
            show(client.verify_vendor(request).await)?;
        }
        VendorCommand::Reject { vendor_id, reason } => {
            let request = conn.request(pb::RejectVendorRequest { vendor_id, reason })?;
            show(client.reject_vendor(request).await)?;
        }
        VendorCommand::Suspend { vendor_id, reason } => {
            let request = conn.request(pb::SuspendVendorRequest { vendor_id, reason })?;
            show(client.suspend_vendor(request).await)?;
        }
        VendorCommand::Reinstate { vendor_id, note } => {
            let request = conn.request(pb::ReinstateVendorRequest { vendor_id, note })?;
            show(client.reinstate_vendor(request).await)?;
        }
        VendorCommand::Training {
            vendor_id,
            topic,
            kind,
            date,
            organizer,
        } => {
            let kind = match kind {
                TrainingKindArg::Training => pb::TrainingKind::Training,
                TrainingKindArg::Mentoring => pb::TrainingKind::Mentoring,
            };
            let reply = client
                .record_training(conn.request(pb::RecordTrainingRequest {
                    vendor_id,
                    topic,
                    kind: kind as i32,
                    attended_on: date,
                    organizer,
                })?)
                .await;
            conn.show(reply, output::training_json, |t| {
                say!(
                    "recorded {} {} on {} for vendor {}",
                    output_kind(t.kind),
                    t.topic,
                    t.attended_on,
                    t.vendor_id
                )
            })?;
        }
    }
    Ok(())
}

fn output_kind(kind: i32) -> &'static str {
    match pb::TrainingKind::try_from(kind) {
        Ok(pb::TrainingKind::Mentoring) => "mentoring",
        _ => "training",
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        connection: Connection,
    }

    fn connection(args: &[&str]) -> Connection {
        let mut argv = vec!["blangkon"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().connection
    }

    fn carried(mut bearer: crate::connection::Bearer) -> Option<String> {
        use tonic::service::Interceptor;
        let request = bearer.call(tonic::Request::new(())).unwrap();
        request
            .metadata()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string())
    }

    #[tokio::test]
    async fn an_empty_token_is_no_token_and_a_token_goes_along_as_the_bearer() {
        // No sign-in here: a config directory of the test's own.
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().to_str().unwrap();
        let open = connection(&["--token", "  ", "--config-dir", kept]);
        assert_eq!(carried(open.bearer_for("vendor").await.unwrap()), None);
        assert!(
            open.request(()).is_err(),
            "a call that needs a token says so"
        );
        let signed = connection(&["--token", " abc.def.ghi ", "--config-dir", kept]);
        assert_eq!(
            carried(signed.bearer_for("vendor").await.unwrap()).as_deref(),
            Some("Bearer abc.def.ghi")
        );
    }
}
