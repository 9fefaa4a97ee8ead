//! TLS for gRPC, with rustls: the certificate a server presents and, for
//! mutual TLS, the CA its callers' certificates must chain to; the roots a
//! client trusts and the certificate it presents when asked.
//!
//! Files are PEM, as cert-manager writes them into a `kubernetes.io/tls`
//! Secret (`tls.crt`, `tls.key`, `ca.crt`). They are read once, at start:
//! a renewed certificate is served after a restart, which the charts'
//! rollout on Secret change provides (see the RUNBOOK). Every file is
//! parsed before it is used, so a wrong path or a key in place of a
//! certificate stops the service at start with the setting's name, never
//! with the file's content.

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{setting}: cannot read {path}: {source}")]
    Read {
        setting: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{setting}: {path} holds no {expected} in PEM")]
    NotPem {
        setting: String,
        path: PathBuf,
        expected: &'static str,
    },
    #[error("{setting}: {reason}")]
    Incomplete { setting: String, reason: String },
}

/// The server side: what `grpc.tls` holds. Absent, the server speaks
/// plaintext HTTP/2 (the local suite; a mesh that encrypts for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerTls {
    /// PEM certificate chain the server presents, leaf first
    /// (cert-manager's `tls.crt`).
    pub cert_file: PathBuf,
    /// PEM private key of that certificate (`tls.key`).
    pub key_file: PathBuf,
    /// PEM CA certificates a caller's client certificate must chain to
    /// (`ca.crt`). Set, every caller must present one (mutual TLS: the
    /// services' own calls); unset, any caller may connect and is known
    /// by its token alone.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
}

impl ServerTls {
    /// The tonic configuration, every file read and checked.
    pub fn load(&self, section: &str) -> Result<ServerTlsConfig, TlsError> {
        let cert = read_certificates(&format!("{section}.cert_file"), &self.cert_file)?;
        let key = read_private_key(&format!("{section}.key_file"), &self.key_file)?;
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(ca_file) = &self.client_ca_file {
            let ca = read_certificates(&format!("{section}.client_ca_file"), ca_file)?;
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        Ok(config)
    }
}

/// The client side: how this process reaches services at `https://`
/// endpoints. Ignored for `http://` ones, which are refused at start when
/// any of it is set (a TLS setting beside a plaintext endpoint is a
/// mistake that would send tokens in the clear).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientTls {
    /// PEM CA certificates the called services' certificates must chain
    /// to; unset, the Mozilla root store compiled in (webpki-roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM certificate this process presents when the callee asks for one
    /// (mutual TLS), with `key_file`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

impl ClientTls {
    pub fn is_set(&self) -> bool {
        self.ca_file.is_some() || self.cert_file.is_some() || self.key_file.is_some()
    }

    /// Checks what can be checked without reading files: a certificate
    /// comes with its key.
    pub fn validate(&self, section: &str) -> Result<(), crate::settings::SettingsError> {
        crate::settings::require(
            self.cert_file.is_some() == self.key_file.is_some(),
            section,
            "cert_file",
            "cert_file and key_file are set together or not at all",
        )
    }

    /// The tonic configuration, every file read and checked.
    pub fn load(&self, section: &str) -> Result<ClientTlsConfig, TlsError> {
        let mut config = ClientTlsConfig::new();
        config = match &self.ca_file {
            Some(path) => config.ca_certificate(Certificate::from_pem(read_certificates(
                &format!("{section}.ca_file"),
                path,
            )?)),
            None => config.with_webpki_roots(),
        };
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => {
                let cert = read_certificates(&format!("{section}.cert_file"), cert)?;
                let key = read_private_key(&format!("{section}.key_file"), key)?;
                config = config.identity(Identity::from_pem(cert, key));
            }
            (None, None) => {}
            _ => {
                return Err(TlsError::Incomplete {
                    setting: format!("{section}.cert_file"),
                    reason: "cert_file and key_file are set together or not at all".into(),
                });
            }
        }
        Ok(config)
    }
}

fn read(setting: &str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        setting: setting.to_string(),
        path: path.to_path_buf(),
        source,
    })
}

/// The file's bytes, once it is known to hold at least one certificate.
fn read_certificates(setting: &str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let pem = read(setting, path)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_default();
    if certificates.is_empty() {
        return Err(TlsError::NotPem {
            setting: setting.to_string(),
            path: path.to_path_buf(),
            expected: "certificate",
        });
    }
    Ok(pem)
}

/// The file's bytes, once it is known to hold a private key.
fn read_private_key(setting: &str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let pem = read(setting, path)?;
    if PrivateKeyDer::from_pem_slice(&pem).is_err() {
        return Err(TlsError::NotPem {
            setting: setting.to_string(),
            path: path.to_path_buf(),
            expected: "private key",
        });
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(content: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), content).unwrap();
        file
    }

    #[test]
    fn a_missing_or_wrong_file_is_named_by_its_setting_and_not_echoed() {
        let key = file("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n");
        let tls = ServerTls {
            // The key where the certificate belongs.
            cert_file: key.path().to_path_buf(),
            key_file: key.path().to_path_buf(),
            client_ca_file: None,
        };
        let err = tls.load("grpc.tls").unwrap_err().to_string();
        assert!(err.starts_with("grpc.tls.cert_file:"), "{err}");
        assert!(err.contains("no certificate"), "{err}");
        assert!(!err.contains("c2VjcmV0"), "{err}");

        let tls = ServerTls {
            cert_file: "/nonexistent/tls.crt".into(),
            ..tls
        };
        let err = tls.load("grpc.tls").unwrap_err().to_string();
        assert!(
            err.contains("grpc.tls.cert_file: cannot read /nonexistent/tls.crt"),
            "{err}"
        );
    }

    #[test]
    fn a_client_certificate_comes_with_its_key() {
        let tls = ClientTls {
            cert_file: Some("/etc/blangkon/tls/tls.crt".into()),
            ..ClientTls::default()
        };
        let err = tls.validate("order.peer_tls").unwrap_err().to_string();
        assert!(err.contains("order.peer_tls.cert_file"), "{err}");
        assert!(tls.load("order.peer_tls").is_err());
        assert!(ClientTls::default().validate("order.peer_tls").is_ok());
    }
}
