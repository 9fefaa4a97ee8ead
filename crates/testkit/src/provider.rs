//! A real OpenID provider for one test: panva's oidc-provider (OpenID
//! Certified) started with `node` from deploy/local/oidc-provider.sh's
//! install, with the suite's clients, accounts and roles
//! (deploy/local/oidc-provider/provider.mjs). The test drives it as its
//! users would: a service with client credentials, a person through the
//! device authorization grant in a browser (here an HTTP client with
//! cookies filling in the pages' forms).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use blangkon_platform::auth::{ClientSettings, audience_of};
use blangkon_platform::suite::Suite;
use serde_json::{Value, json};

use crate::fixtures::SERVICES;

/// The order service's client at the provider.
pub const ORDER_CLIENT: (&str, &str) = ("order-service", "order-service-secret-for-tests-only");
/// A client the provider knows that may call none of the suite's services.
pub const STRANGER_CLIENT: (&str, &str) =
    ("stranger-service", "stranger-service-secret-for-tests-only");
/// A client whose tokens (for the vendor service) live one second.
pub const SHORT_LIVED_CLIENT: (&str, &str) = (
    "short-lived-service",
    "short-lived-service-secret-for-tests-only",
);
/// The CLI's public client.
pub const CLI_CLIENT: &str = "blangkon-cli";

/// Accounts the provider has from the start (see provider.mjs).
pub const PROVINCE_ADMIN: &str = "admin@jatengprov.go.id";
pub const SEMARANG_ADMIN: &str = "admin@semarangkota.go.id";
pub const BUYER: &str = "ppk@disdik.semarangkota.go.id";
pub const ANALYST: &str = "analyst@jatengprov.go.id";

/// A running provider; stopped when dropped.
pub struct TestProvider {
    /// Its issuer: `http://127.0.0.1:<port>`.
    pub issuer: String,
    child: Child,
    _state: tempfile::TempDir,
    http: reqwest::Client,
}

/// What a token endpoint granted.
#[derive(Debug, Clone)]
pub struct Granted {
    pub access_token: String,
    pub refresh_token: Option<String>,
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestProvider {
    /// A provider of `test`'s own; `None` (outside CI only) when Node or
    /// the package cannot be had.
    pub async fn start(test: &str) -> Option<Self> {
        let dir = match crate::installed_by("oidc-provider.sh").map(PathBuf::from) {
            Ok(dir) => dir,
            Err(why) => {
                crate::missing_part(test, &format!("the OpenID provider (Node, npm): {why}"));
                return None;
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let state = tempfile::tempdir().expect("a state directory");
        let log = std::fs::File::create(state.path().join("provider.log")).expect("a log file");
        let child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .arg(port.to_string())
            .arg(state.path())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start node");
        let provider = Self {
            issuer: format!("http://127.0.0.1:{port}"),
            child,
            _state: state,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                // Node closes a keep-alive connection idle for 5 s: a
                // request sent on it as it closes is reset (seen in CI at
                // the token endpoint). Connections idle longer than 2 s are
                // not reused.
                .pool_idle_timeout(Duration::from_secs(2))
                .build()
                .expect("an HTTP client"),
        };
        let discovery = format!("{}/.well-known/openid-configuration", provider.issuer);
        crate::eventually(
            "the OpenID provider answers",
            Duration::from_secs(30),
            || {
                let request = provider.http.get(&discovery).send();
                async move { request.await.ok().filter(|r| r.status().is_success()) }
            },
        )
        .await;
        Some(provider)
    }

    /// Services trusting this provider: its issuer (keys fetched again at
    /// most every second when a token names a new one), the order service
    /// its client here.
    pub fn trusted_by(&self, suite: &mut Suite) {
        suite.auth.issuer = self.issuer.clone();
        suite.auth.keys_refresh_min_secs = 1;
        suite.clients = vec![(
            "order",
            ClientSettings {
                id: ORDER_CLIENT.0.into(),
                secret: ORDER_CLIENT.1.into(),
                token_url: String::new(),
            },
        )];
    }

    /// An account with these claims, as an administrator adds a user.
    pub async fn add_account(&self, id: &str, claims: Value) {
        let answer = self
            .http
            .post(format!("{}/__accounts", self.issuer))
            .json(&json!({"id": id, "claims": claims}))
            .send()
            .await
            .expect("add an account");
        assert!(
            answer.status().is_success(),
            "adding {id}: {}",
            answer.status()
        );
    }

    /// Replaces the signing key (RS256 and ES256 in turn); the old one is
    /// withdrawn at once. Answers (withdrawn, current) key ids.
    pub async fn rotate_keys(&self) -> (String, String) {
        let answer: Value = self
            .http
            .post(format!("{}/__rotate", self.issuer))
            .json(&json!({}))
            .send()
            .await
            .expect("rotate the keys")
            .json()
            .await
            .expect("the rotation's answer");
        (
            answer["withdrawn"].as_str().unwrap_or_default().into(),
            answer["current"].as_str().unwrap_or_default().into(),
        )
    }

    /// The provider's published key set.
    pub async fn jwks(&self) -> Value {
        self.http
            .get(format!("{}/jwks", self.issuer))
            .send()
            .await
            .expect("the key set")
            .json()
            .await
            .expect("the key set is JSON")
    }

    async fn token(
        &self,
        form: &[(&str, &str)],
        client: Option<(&str, &str)>,
    ) -> Result<Granted, Value> {
        let mut request = self.http.post(format!("{}/token", self.issuer)).form(form);
        if let Some((id, secret)) = client {
            request = request.basic_auth(id, Some(secret));
        }
        let answer: Value = request
            .send()
            .await
            .expect("the token endpoint answers")
            .json()
            .await
            .expect("the token endpoint answers JSON");
        match answer["access_token"].as_str() {
            Some(token) => Ok(Granted {
                access_token: token.into(),
                refresh_token: answer["refresh_token"].as_str().map(String::from),
            }),
            None => Err(answer),
        }
    }

    /// A client-credentials token of `client` for the service `service`.
    pub async fn client_token(&self, client: (&str, &str), service: &str) -> Result<String, Value> {
        let resource = audience_of(service);
        self.token(
            &[
                ("grant_type", "client_credentials"),
                ("resource", &resource),
            ],
            Some(client),
        )
        .await
        .map(|g| g.access_token)
    }

    /// `account` signed in with the device flow (the CLI's client), with
    /// an access token for `service`.
    pub async fn sign_in(&self, account: &str, service: &str) -> Granted {
        let mut form = vec![
            ("client_id", CLI_CLIENT.to_string()),
            ("scope", "openid offline_access api".to_string()),
        ];
        form.extend(SERVICES.iter().map(|s| ("resource", audience_of(s))));
        let device: Value = self
            .http
            .post(format!("{}/device/auth", self.issuer))
            .form(&form)
            .send()
            .await
            .expect("device authorization")
            .json()
            .await
            .expect("device authorization answers JSON");
        let Some(uri) = device["verification_uri_complete"].as_str() else {
            panic!("the device authorization gave no verification URI: {device}");
        };
        self.approve(uri, account).await;
        let resource = audience_of(service);
        self.token(
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                (
                    "device_code",
                    device["device_code"].as_str().expect("a device code"),
                ),
                ("client_id", CLI_CLIENT),
                ("resource", &resource),
            ],
            None,
        )
        .await
        .expect("the device code is granted once approved")
    }

    /// The person's part of the device flow, in a browser: open the
    /// verification page, confirm the code, sign in as `account`.
    pub async fn approve(&self, verification_uri_complete: &str, account: &str) {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a browser");
        let page = browser
            .get(verification_uri_complete)
            .send()
            .await
            .expect("the verification page")
            .text()
            .await
            .expect("the verification page's text");
        let field = |page: &str, name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            let start = page.find(&marker).map(|i| i + marker.len())?;
            page[start..].split('"').next().map(String::from)
        };
        let xsrf = field(&page, "xsrf").expect("the confirmation form's xsrf");
        let user_code = field(&page, "user_code").expect("the confirmation form's code");
        let login_page = browser
            .post(format!("{}/device", self.issuer))
            .form(&[
                ("xsrf", xsrf.as_str()),
                ("user_code", &user_code),
                ("confirm", "yes"),
            ])
            .send()
            .await
            .expect("confirming the code");
        let login_url = login_page.url().clone();
        let done = browser
            .post(login_url)
            .form(&[("login", account)])
            .send()
            .await
            .expect("signing in")
            .text()
            .await
            .expect("the sign-in answer");
        assert!(
            done.contains("Sign-in Success"),
            "signing in as {account}: {done}"
        );
    }

    /// A new access token for `service` from `refresh_token` (which the
    /// provider replaces on every use).
    pub async fn refresh(&self, refresh_token: &str, service: &str) -> Result<Granted, Value> {
        let resource = audience_of(service);
        self.token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", CLI_CLIENT),
                ("resource", &resource),
            ],
            None,
        )
        .await
    }
}
