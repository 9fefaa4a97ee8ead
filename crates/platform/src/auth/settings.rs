//! The `auth` section: which identity provider a service trusts, which
//! audience it is, where the provider's keys are, which claims carry a
//! caller's role and bindings, and the service's own client credentials.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::settings::{Secret, SettingsError, require};

/// The audience of the service `name` when none is configured:
/// `urn:blangkon:<name>`. An absolute URI, as OAuth 2.0 resource
/// indicators (RFC 8707) require of the `resource` a client asks for.
pub fn audience_of(name: &str) -> String {
    format!("urn:blangkon:{name}")
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// The identity provider's issuer, exactly as its tokens' `iss` claim
    /// says it (e.g. `https://sso.jatengprov.go.id/realms/jateng`).
    /// Required: a token without `iss`, or with another, is refused. Its
    /// keys are found by OpenID Connect discovery at
    /// `<issuer>/.well-known/openid-configuration` unless `jwks_url` or
    /// `jwks_file` says where they are.
    pub issuer: String,
    /// This service's audience: a token is accepted only if its `aud`
    /// names it. Defaults to `urn:blangkon:<service>`.
    pub audience: String,
    /// The provider's JSON Web Key Set, instead of discovery.
    pub jwks_url: String,
    /// A JSON Web Key Set on disk (e.g. a mounted Secret), instead of
    /// discovery; read again when a token names a key it does not hold.
    pub jwks_file: String,
    /// A PEM file of the certificate authorities the provider's HTTPS
    /// certificate may chain to, beside the public web's.
    pub ca_file: String,
    /// HS256 with this shared secret instead of the provider's keys: an
    /// opt-in for a closed local suite only, at least 32 bytes. Whoever
    /// holds it can sign any token.
    pub hs256_secret: Secret,
    /// How far the clocks of the provider and this service may differ
    /// when `exp` and `nbf` are checked. At most 300.
    pub clock_skew_secs: u64,
    /// A token naming a key this service does not hold makes it fetch the
    /// keys again, at most this often (so unknown keys cannot make it
    /// call the provider on every request).
    pub keys_refresh_min_secs: u64,
    /// Keys are fetched again when older than this, so a key the provider
    /// withdrew stops being accepted (the old ones serve while they are).
    pub keys_max_age_secs: u64,
    /// Keys that could not be fetched again for this long are not used any
    /// more: every token is refused until the provider answers.
    pub keys_max_stale_secs: u64,
    /// Which claims carry the caller's role and bindings.
    pub claims: ClaimMapping,
    /// This service's own identity for calls to other services (OAuth 2.0
    /// client credentials). Only services that call others need one.
    pub client: ClientSettings,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            audience: String::new(),
            jwks_url: String::new(),
            jwks_file: String::new(),
            ca_file: String::new(),
            hs256_secret: Secret::default(),
            clock_skew_secs: 30,
            keys_refresh_min_secs: 10,
            keys_max_age_secs: 300,
            keys_max_stale_secs: 86_400,
            claims: ClaimMapping::default(),
            client: ClientSettings::default(),
        }
    }
}

/// Where a caller's role and bindings are in a token. A path is a claim
/// name, or names joined by `.` into nested objects: `role` for a flat
/// claim, `realm_access.roles` for a Keycloak realm's roles.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimMapping {
    /// The claim naming the caller (recorded as who acted).
    pub subject: String,
    /// The claim holding the role: a string, or an array of which exactly
    /// one entry is a Blangkon role (after `role_prefix`).
    pub role: String,
    /// Prefix of Blangkon's roles among the provider's (`blangkon:` makes
    /// `blangkon:buyer` the buyer role); other roles are ignored.
    pub role_prefix: String,
    /// The regency code a regency admin or a buyer is bound to.
    pub regency: String,
    /// The vendor a vendor account acts for.
    pub vendor: String,
    /// The work unit (satuan kerja) a buyer buys for.
    pub work_unit: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            subject: "sub".into(),
            role: "role".into(),
            role_prefix: String::new(),
            regency: "regency".into(),
            vendor: "vendor_id".into(),
            work_unit: "work_unit".into(),
        }
    }
}

/// A service's OAuth 2.0 client at the identity provider.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClientSettings {
    /// The client's id at the identity provider.
    pub id: String,
    /// The client's secret.
    pub secret: Secret,
    /// The provider's token endpoint; found by discovery when empty.
    pub token_url: String,
}

impl ClientSettings {
    pub fn is_configured(&self) -> bool {
        !self.id.is_empty()
    }
}

impl AuthSettings {
    /// These settings as the environment of the service `name`'s process
    /// (`BLANGKON_<NAME>__AUTH__…`): the issuer, audience, key refresh and
    /// client; the claim mapping stays the default.
    pub fn environment(&self, name: &str) -> Vec<(String, String)> {
        let key = |k: &str| format!("BLANGKON_{}__AUTH__{k}", name.to_uppercase());
        let mut env = vec![
            (key("ISSUER"), self.issuer.clone()),
            (key("AUDIENCE"), self.audience.clone()),
            (
                key("KEYS_REFRESH_MIN_SECS"),
                self.keys_refresh_min_secs.to_string(),
            ),
        ];
        if self.client.is_configured() {
            env.push((key("CLIENT__ID"), self.client.id.clone()));
            env.push((
                key("CLIENT__SECRET"),
                self.client.secret.expose().to_string(),
            ));
            env.push((key("CLIENT__TOKEN_URL"), self.client.token_url.clone()));
        }
        env
    }

    /// Uses HS256 with a shared secret instead of the provider's keys.
    pub fn is_hs256(&self) -> bool {
        !self.hs256_secret.is_empty()
    }

    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        require(
            !self.issuer.trim().is_empty(),
            section,
            "issuer",
            "must name the identity provider's issuer (the `iss` of its tokens)",
        )?;
        if !self.is_hs256() && self.jwks_url.is_empty() && self.jwks_file.is_empty() {
            require(
                secure_url(&self.issuer),
                section,
                "issuer",
                "must be an https URL for discovery (http on loopback only), or set jwks_url or jwks_file",
            )?;
        }
        require(
            !self.audience.trim().is_empty(),
            section,
            "audience",
            "must name this service's audience",
        )?;
        require(
            self.jwks_url.is_empty() || secure_url(&self.jwks_url),
            section,
            "jwks_url",
            "must be an https URL (http on loopback only)",
        )?;
        require(
            self.jwks_url.is_empty() || self.jwks_file.is_empty(),
            section,
            "jwks_file",
            "must be empty when jwks_url is set: one source of keys",
        )?;
        require(
            self.hs256_secret.is_empty() || self.hs256_secret.expose().len() >= 32,
            section,
            "hs256_secret",
            "must be empty or a secret of at least 32 bytes",
        )?;
        require(
            !self.is_hs256() || (self.jwks_url.is_empty() && self.jwks_file.is_empty()),
            section,
            "hs256_secret",
            "cannot be combined with jwks_url or jwks_file: one source of keys",
        )?;
        require(
            self.clock_skew_secs <= 300,
            section,
            "clock_skew_secs",
            "must be at most 300",
        )?;
        require(
            self.keys_refresh_min_secs >= 1,
            section,
            "keys_refresh_min_secs",
            "must be at least 1, or made-up key ids make a fetch each",
        )?;
        require(
            self.keys_max_age_secs >= 60,
            section,
            "keys_max_age_secs",
            "must be at least 60",
        )?;
        require(
            self.keys_max_stale_secs >= self.keys_max_age_secs,
            section,
            "keys_max_stale_secs",
            "must be at least keys_max_age_secs",
        )?;
        for (key, path) in [
            ("claims.subject", &self.claims.subject),
            ("claims.role", &self.claims.role),
            ("claims.regency", &self.claims.regency),
            ("claims.vendor", &self.claims.vendor),
            ("claims.work_unit", &self.claims.work_unit),
        ] {
            require(
                !path.is_empty() && path.split('.').all(|part| !part.is_empty()),
                section,
                key,
                "must be a claim name, or names joined by `.`",
            )?;
        }
        require(
            self.client.id.is_empty() == self.client.secret.is_empty(),
            section,
            "client.secret",
            "must be set together with client.id",
        )?;
        require(
            self.client.token_url.is_empty() || secure_url(&self.client.token_url),
            section,
            "client.token_url",
            "must be an https URL (http on loopback only)",
        )
    }
}

/// An https URL, or an http one on this machine (the local suite, tests):
/// keys and tokens do not travel in the clear.
fn secure_url(text: &str) -> bool {
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> AuthSettings {
        AuthSettings {
            issuer: "https://sso.jatengprov.go.id/realms/jateng".into(),
            audience: audience_of("vendor"),
            ..AuthSettings::default()
        }
    }

    fn refused_key(settings: AuthSettings) -> String {
        settings.validate("auth").unwrap_err().to_string()
    }

    #[test]
    fn an_issuer_and_an_audience_are_required() {
        valid().validate("auth").unwrap();
        let err = refused_key(AuthSettings {
            issuer: String::new(),
            ..valid()
        });
        assert!(err.contains("auth.issuer"), "{err}");
        let err = refused_key(AuthSettings {
            audience: " ".into(),
            ..valid()
        });
        assert!(err.contains("auth.audience"), "{err}");
        for issuer in ["jateng", "http://sso.jatengprov.go.id/realms/jateng"] {
            let err = refused_key(AuthSettings {
                issuer: issuer.into(),
                ..valid()
            });
            assert!(err.contains("auth.issuer"), "{issuer}: {err}");
        }
        AuthSettings {
            issuer: "http://127.0.0.1:50050".into(),
            ..valid()
        }
        .validate("auth")
        .unwrap();
        let err = refused_key(AuthSettings {
            keys_refresh_min_secs: 0,
            ..valid()
        });
        assert!(err.contains("auth.keys_refresh_min_secs"), "{err}");
    }

    #[test]
    fn hs256_is_an_opt_in_with_a_long_secret_and_no_other_keys() {
        let short = refused_key(AuthSettings {
            hs256_secret: "too-short".into(),
            ..valid()
        });
        assert!(short.contains("auth.hs256_secret"), "{short}");
        assert!(!short.contains("too-short"), "{short}");
        let mixed = refused_key(AuthSettings {
            hs256_secret: "0123456789abcdef0123456789abcdef".into(),
            jwks_url: "https://sso.example/jwks".into(),
            ..valid()
        });
        assert!(mixed.contains("auth.hs256_secret"), "{mixed}");
        AuthSettings {
            issuer: "blangkon-local".into(),
            hs256_secret: "0123456789abcdef0123456789abcdef".into(),
            ..valid()
        }
        .validate("auth")
        .unwrap();
    }

    #[test]
    fn a_client_needs_its_secret_and_claims_need_names() {
        let err = refused_key(AuthSettings {
            client: ClientSettings {
                id: "order-service".into(),
                ..ClientSettings::default()
            },
            ..valid()
        });
        assert!(err.contains("auth.client.secret"), "{err}");
        let err = refused_key(AuthSettings {
            claims: ClaimMapping {
                role: "realm_access..roles".into(),
                ..ClaimMapping::default()
            },
            ..valid()
        });
        assert!(err.contains("auth.claims.role"), "{err}");
    }
}
