//! `blangkon token`: mints a bearer token with the local suite's secret.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use blangkon_platform::auth::{Role, TokenIssuer, TokenRequest};
use clap::Args;
use strum::VariantArray;

/// Where `blangkon dev` keeps its data unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = ".blangkon";
const SECRET_FILE: &str = "dev-jwt-secret";

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
    /// Data directory of `blangkon dev`, whose secret signs the token.
    #[arg(long, env = "BLANGKON_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// Sign with this secret instead of the local suite's.
    #[arg(long, env = "BLANGKON_JWT_SECRET", hide_env_values = true)]
    secret: Option<String>,
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
    let secret = match args.secret {
        Some(secret) => secret,
        None => read_secret(&args.data_dir)?,
    };
    let token = TokenIssuer::new(&secret, None)
        .issue(
            role,
            TokenRequest {
                subject: args.subject.unwrap_or_else(|| format!("dev-{role}")),
                regency: args.regency,
                vendor_id: args.vendor_id,
                work_unit: args.work_unit,
            },
            Duration::from_secs(args.hours * 3600),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    say!("{token}");
    Ok(())
}

pub fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SECRET_FILE)
}

pub fn read_secret(data_dir: &Path) -> anyhow::Result<String> {
    let path = secret_path(data_dir);
    let secret = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no local-suite secret at {} (start `blangkon dev` first, or pass --secret)",
            path.display()
        )
    })?;
    Ok(secret.trim().to_string())
}

/// The local suite's signing secret: made once per data directory, so tokens
/// keep working across restarts and never work against another install.
pub fn ensure_secret(data_dir: &Path) -> anyhow::Result<String> {
    let path = secret_path(data_dir);
    if path.exists() {
        return read_secret(data_dir);
    }
    use rand::distr::{Alphanumeric, SampleString};
    let secret = Alphanumeric.sample_string(&mut rand::rng(), 48);
    std::fs::write(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(secret)
}
