//! `blangkon login` and `blangkon logout`: a person signs in at the
//! province's identity provider with the OAuth 2.0 device authorization
//! grant (RFC 8628) — the CLI shows an address and a code, the person
//! approves in any browser — and the CLI keeps the tokens in the user's
//! config directory, readable by them only. Each service accepts only
//! tokens meant for it, so the CLI asks for one per service (RFC 8707
//! resource indicators) with the refresh token, keeping the newest refresh
//! token as the provider rotates it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use blangkon_platform::auth::{Http, TokenAnswer, audience_of, discover};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::token::SERVICES;

/// Where the session is kept, inside the user's config directory.
const SESSION_FILE: &str = "session.json";
/// A held access token is used while it has at least this long to live.
const MARGIN_SECS: u64 = 30;
/// RFC 8628 §3.2: the poll interval when the provider names none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Args)]
pub struct LoginArgs {
    /// The identity provider's issuer URL.
    #[arg(long, env = "BLANGKON_ISSUER")]
    issuer: String,
    /// The CLI's client id at the provider.
    #[arg(long, env = "BLANGKON_CLIENT_ID", default_value = "blangkon-cli")]
    client_id: String,
    /// A PEM file of certificate authorities the provider's HTTPS may use.
    #[arg(long, env = "BLANGKON_CA_FILE", default_value = "")]
    ca_file: String,
    #[command(flatten)]
    kept: ConfigDir,
}

/// Where the sign-in is kept.
#[derive(Args, Clone, Default)]
pub struct ConfigDir {
    /// Directory of the kept sign-in (default: ~/.config/blangkon).
    #[arg(long = "config-dir", env = "BLANGKON_CONFIG_DIR", global = true)]
    pub dir: Option<PathBuf>,
}

impl ConfigDir {
    pub fn resolve(&self) -> anyhow::Result<PathBuf> {
        config_dir(self.dir.as_deref())
    }
}

/// A signed-in person's tokens, as kept on disk.
#[derive(Serialize, Deserialize)]
pub struct Session {
    /// Where it is kept; not part of the file.
    #[serde(skip)]
    dir: PathBuf,
    issuer: String,
    client_id: String,
    token_endpoint: String,
    #[serde(default)]
    revocation_endpoint: Option<String>,
    #[serde(default)]
    ca_file: String,
    refresh_token: String,
    /// Access tokens by audience.
    #[serde(default)]
    access: BTreeMap<String, Held>,
}

#[derive(Serialize, Deserialize)]
struct Held {
    token: String,
    expires_at: u64,
}

// Tokens never show in debug output.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("audiences", &self.access.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    #[serde(default)]
    interval: Option<u64>,
    expires_in: u64,
}

#[derive(Deserialize)]
struct Tokens {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The directory the sign-in is kept in: the one given
/// (`--config-dir`, `BLANGKON_CONFIG_DIR`), else the user's config
/// directory, `$XDG_CONFIG_HOME/blangkon` or `~/.config/blangkon`.
pub fn config_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("blangkon"));
    }
    let home = std::env::var_os("HOME").context("no HOME to keep the sign-in in")?;
    Ok(PathBuf::from(home).join(".config").join("blangkon"))
}

fn session_path(dir: &Path) -> PathBuf {
    dir.join(SESSION_FILE)
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let http = Http::new(&args.ca_file).map_err(anyhow::Error::msg)?;
    let provider = discover(&http, &args.issuer)
        .await
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("finding the identity provider at {}", args.issuer))?;
    let device_endpoint = provider
        .device_authorization_endpoint
        .clone()
        .with_context(|| {
            format!(
                "{} offers no device sign-in (device_authorization_endpoint)",
                args.issuer
            )
        })?;
    let token_endpoint = provider
        .token_endpoint
        .clone()
        .with_context(|| format!("{} names no token endpoint", args.issuer))?;
    let audiences: Vec<String> = SERVICES.iter().map(|s| audience_of(s)).collect();
    let mut form = vec![
        ("client_id", args.client_id.as_str()),
        ("scope", "openid offline_access"),
    ];
    form.extend(audiences.iter().map(|a| ("resource", a.as_str())));
    let device = match http
        .post_form::<DeviceAuthorization>(&device_endpoint, None, &form)
        .await
        .map_err(anyhow::Error::msg)?
    {
        TokenAnswer::Granted(device) => device,
        TokenAnswer::Refused(e) => bail!(
            "the identity provider refused to start a sign-in for client `{}`: {}",
            args.client_id,
            e.error
        ),
    };
    eprintln!("To sign in, open this address in a browser:");
    eprintln!(
        "  {}",
        device
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&device.verification_uri)
    );
    eprintln!("and check that it shows the code {}", device.user_code);
    eprintln!("Waiting for you to sign in (Ctrl-C to give up) ...");

    let mut interval = device
        .interval
        .map(|secs| Duration::from_secs(secs.max(1)))
        .unwrap_or(DEFAULT_INTERVAL);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(device.expires_in);
    let first_audience = audiences[0].clone();
    let tokens = loop {
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() > deadline {
            bail!("the sign-in code expired before it was approved; run `blangkon login` again");
        }
        let answer = http
            .post_form::<Tokens>(
                &token_endpoint,
                None,
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", &device.device_code),
                    ("client_id", &args.client_id),
                    ("resource", &first_audience),
                ],
            )
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            // One lost poll is not the end of a sign-in.
            Err(e) => {
                eprintln!("warning: asking the provider again: {e}");
                continue;
            }
        };
        match answer {
            TokenAnswer::Granted(tokens) => break tokens,
            TokenAnswer::Refused(e) => match e.error.as_str() {
                "authorization_pending" => {}
                // RFC 8628 §3.5: slow down by five seconds from now on.
                "slow_down" => interval += Duration::from_secs(5),
                "access_denied" => bail!("the sign-in was refused at the identity provider"),
                "expired_token" => {
                    bail!(
                        "the sign-in code expired before it was approved; run `blangkon login` again"
                    )
                }
                other => bail!("the identity provider refused the sign-in: {other}"),
            },
        }
    };
    let refresh_token = tokens.refresh_token.clone().context(
        "the identity provider gave no refresh token (the CLI's client needs offline_access)",
    )?;
    let mut session = Session {
        dir: args.kept.resolve()?,
        issuer: args.issuer.clone(),
        client_id: args.client_id,
        token_endpoint,
        revocation_endpoint: provider.revocation_endpoint,
        ca_file: args.ca_file,
        refresh_token,
        access: BTreeMap::new(),
    };
    session.hold(&first_audience, &tokens);
    let path = session.save()?;
    let claims = unverified_claims(&tokens.access_token);
    let role = claims
        .get("role")
        .and_then(|r| r.as_str())
        .unwrap_or("no Blangkon role");
    say!(
        "Signed in to {} ({role}). Tokens kept in {} (readable by you only); `blangkon logout` forgets them.",
        session.issuer,
        path.display()
    );
    Ok(())
}

pub async fn logout(kept: ConfigDir) -> anyhow::Result<()> {
    let dir = kept.resolve()?;
    let path = session_path(&dir);
    if !path.exists() {
        say!("Not signed in ({} does not exist).", path.display());
        return Ok(());
    }
    // Revoke the refresh token first (RFC 7009), so a copy of the file is
    // worth nothing; forget it whatever happens, even if the file is not
    // private any more or the provider cannot be reached.
    match Session::read(&path) {
        Ok(session) => {
            if let Some(endpoint) = &session.revocation_endpoint {
                let revoked = match Http::new(&session.ca_file) {
                    Ok(http) => {
                        http.revoke(
                            endpoint,
                            &[
                                ("token", &session.refresh_token),
                                ("token_type_hint", "refresh_token"),
                                ("client_id", &session.client_id),
                            ],
                        )
                        .await
                    }
                    Err(e) => Err(e),
                };
                if let Err(e) = revoked {
                    eprintln!("warning: could not revoke the sign-in at the provider: {e}");
                }
            }
        }
        Err(e) => eprintln!("warning: not revoked at the provider: {e:#}"),
    }
    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    say!("Signed out; the tokens in {} are gone.", path.display());
    Ok(())
}

/// The claims of a token, read without verifying it: only to tell the
/// person who they signed in as.
fn unverified_claims(token: &str) -> serde_json::Map<String, serde_json::Value> {
    use base64::Engine;
    token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

impl Session {
    /// Whether a person is signed in, with the session kept in `dir`.
    pub fn exists(dir: &Path) -> bool {
        session_path(dir).exists()
    }

    /// The session kept in `dir`, if the person is signed in.
    pub fn load(dir: &Path) -> anyhow::Result<Option<Self>> {
        let path = session_path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)?.permissions().mode();
            if mode & 0o077 != 0 {
                bail!(
                    "{} can be read by others: its tokens are not used (`blangkon logout`, then `blangkon login` again)",
                    path.display()
                );
            }
        }
        drop(text);
        Self::read(&path).map(Some)
    }

    /// The session in the file at `path`, whoever may read it.
    fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        serde_json::from_str::<Self>(&text)
            .map(|session| Self { dir, ..session })
            .with_context(|| {
                format!(
                    "{} is not a Blangkon sign-in; `blangkon login` again",
                    path.display()
                )
            })
    }

    /// An access token for `audience` from the session kept in `dir`, if
    /// one is: one process at a time, so that two commands running at
    /// once do not both use the refresh token the provider replaces on
    /// use (it would then revoke the sign-in).
    pub async fn token_in(dir: &Path, audience: &str) -> anyhow::Result<Option<String>> {
        if !Self::exists(dir) {
            return Ok(None);
        }
        let lock_path = dir.join(".session.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("locking {}", lock_path.display()))?;
        // Read after the lock: another command may have just refreshed.
        let token = match Self::load(dir)? {
            Some(mut session) => Some(session.token_for(audience).await?),
            None => None,
        };
        drop(lock);
        Ok(token)
    }

    /// Writes the session to a new file of a name nobody can guess, made
    /// readable by its owner only (the directory too, when it makes it),
    /// then renames it over the old one.
    fn save(&self) -> anyhow::Result<PathBuf> {
        let path = session_path(&self.dir);
        let dir = &self.dir;
        if !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder
                .create(dir)
                .with_context(|| format!("creating {}", dir.display()))?;
        }
        // tempfile creates it 0600, with O_EXCL: never someone else's file.
        let mut file = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("creating a file in {}", dir.display()))?;
        std::io::Write::write_all(&mut file, &serde_json::to_vec_pretty(self)?)?;
        file.as_file().sync_all()?;
        file.persist(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    fn hold(&mut self, audience: &str, tokens: &Tokens) {
        self.access.insert(
            audience.to_string(),
            Held {
                token: tokens.access_token.clone(),
                expires_at: now() + tokens.expires_in.unwrap_or(60),
            },
        );
        if let Some(refresh) = &tokens.refresh_token {
            self.refresh_token = refresh.clone();
        }
    }

    /// An access token for the service with `audience`: the one held while
    /// it lives, else a new one from the refresh token (saved at once, as
    /// the provider may have replaced the refresh token).
    pub async fn token_for(&mut self, audience: &str) -> anyhow::Result<String> {
        if let Some(held) = self.access.get(audience)
            && held.expires_at > now() + MARGIN_SECS
        {
            return Ok(held.token.clone());
        }
        let http = Http::new(&self.ca_file).map_err(anyhow::Error::msg)?;
        let answer = http
            .post_form::<Tokens>(
                &self.token_endpoint,
                None,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &self.refresh_token),
                    ("client_id", &self.client_id),
                    ("resource", audience),
                ],
            )
            .await
            .map_err(anyhow::Error::msg)?;
        let tokens = match answer {
            TokenAnswer::Granted(tokens) => tokens,
            TokenAnswer::Refused(e) if e.error == "invalid_grant" => bail!(
                "your sign-in at {} has expired or was revoked: run `blangkon login` again",
                self.issuer
            ),
            TokenAnswer::Refused(e) => bail!(
                "the identity provider {} refused a token for {audience}: {}",
                self.issuer,
                e.error
            ),
        };
        self.hold(audience, &tokens);
        self.save()?;
        Ok(tokens.access_token)
    }
}
