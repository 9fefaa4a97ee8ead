//! `blangkon token`: mints a bearer token with the local suite's signing
//! key, for every service of the suite.

use std::path::{Path, PathBuf};
use std::time::Duration;

use blangkon_platform::auth::{LocalIssuer, Role, TokenRequest, audience_of};
use clap::Args;
use strum::VariantArray;

/// Where `blangkon dev` keeps its data unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = ".blangkon";
/// The local suite's signing key (a private JWK), in its data directory.
const SIGNING_KEY_FILE: &str = "dev-signing-key.json";

/// The services of the suite, whose audiences a user's token names.
pub const SERVICES: [&str; 4] = ["vendor", "catalog", "order", "reporting"];

#[derive(Args)]
pub struct TokenArgs {
    /// province_admin, regency_admin, vendor, buyer, analyst or service.
    #[arg(long, value_parser = role)]
    role: Role,
    /// Regency code the token is bound to (regency_admin, buyer).
    #[arg(long)]
    regency: Option<String>,
    /// Vendor id the token acts for (vendor).
    #[arg(long)]
    vendor_id: Option<String>,
    /// Work unit (satuan kerja) the token buys for (buyer).
    #[arg(long)]
    work_unit: Option<String>,
    /// Subject (account) of the token; defaults to a name made from the role.
    #[arg(long)]
    subject: Option<String>,
    /// Validity in hours.
    #[arg(long, default_value_t = 12)]
    hours: u64,
    /// Data directory of `blangkon dev`, whose key signs the token.
    #[arg(long, env = "BLANGKON_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
}

/// A role by its name, or the names there are.
fn role(name: &str) -> Result<Role, String> {
    name.parse().map_err(|_| {
        let names: Vec<&str> = Role::VARIANTS.iter().map(|r| r.as_str()).collect();
        format!("`{name}` is not one of {}", names.join(", "))
    })
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    let role = args.role;
    let issuer = read_issuer(&args.data_dir)?;
    let token = mint(
        &issuer,
        role,
        TokenRequest {
            subject: args.subject.unwrap_or_else(|| format!("dev-{role}")),
            regency: args.regency,
            vendor_id: args.vendor_id,
            work_unit: args.work_unit,
        },
        Duration::from_secs(args.hours * 3600),
    )?;
    say!("{token}");
    Ok(())
}

/// A token of the local suite's `issuer` for `role`, for every service.
pub fn mint(
    issuer: &LocalIssuer,
    role: Role,
    request: TokenRequest,
    valid_for: Duration,
) -> anyhow::Result<String> {
    let audiences: Vec<String> = SERVICES.iter().map(|s| audience_of(s)).collect();
    issuer
        .issue(role, &request, &audiences, valid_for)
        .map_err(|e| anyhow::anyhow!("minting a {role} token: {e}"))
}

pub fn signing_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SIGNING_KEY_FILE)
}

/// The local suite's issuer, as `blangkon dev` keeps it in `data_dir`.
pub fn read_issuer(data_dir: &Path) -> anyhow::Result<LocalIssuer> {
    let path = signing_key_path(data_dir);
    if !path.exists() {
        anyhow::bail!(
            "no local-suite signing key at {} (start `blangkon dev` first, or pass --data-dir)",
            path.display()
        );
    }
    LocalIssuer::load(&path).map_err(|e| anyhow::anyhow!(e))
}

/// The local suite's issuer at `url`: its key made once per data
/// directory (readable by its owner only), so tokens keep working across
/// restarts and never work against another install.
pub fn ensure_issuer(data_dir: &Path, url: &str) -> anyhow::Result<LocalIssuer> {
    LocalIssuer::load_or_create(&signing_key_path(data_dir), url).map_err(|e| anyhow::anyhow!(e))
}
