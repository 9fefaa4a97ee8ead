//! gRPC over TLS, with rustls, against a CA made for the test: a server
//! with a certificate answers clients that trust its CA and no others; with
//! a client CA (mutual TLS) it answers only clients whose certificate
//! chains to that CA; a client refuses a TLS setting beside a plaintext
//! endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use blangkon_platform::grpc::{self, GrpcError, GrpcSettings};
use blangkon_platform::tls::{ClientTls, ServerTls};
use common::{serve, sleep_call};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType,
};
use tempfile::TempDir;

/// A CA, and certificates it signs, written as PEM files into `dir`.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    dir: PathBuf,
    name: String,
}

impl Ca {
    fn new(dir: &Path, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} CA"));
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.join(format!("{name}-ca.crt")), cert.pem()).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            dir: dir.to_path_buf(),
            name: name.to_string(),
        }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.join(format!("{}-ca.crt", self.name))
    }

    /// A leaf certificate for `who`: a server's for 127.0.0.1, or a
    /// client's. Returns the certificate and key files.
    fn issue(&self, who: &str, server: bool) -> (PathBuf, PathBuf) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, who);
        if server {
            params.subject_alt_names = vec![
                SanType::IpAddress("127.0.0.1".parse().unwrap()),
                SanType::DnsName("localhost".try_into().unwrap()),
            ];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        } else {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_file = self.dir.join(format!("{}-{who}.crt", self.name));
        let key_file = self.dir.join(format!("{}-{who}.key", self.name));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        (cert_file, key_file)
    }
}

/// A server with `province`'s certificate, requiring client certificates
/// from `client_ca` when given.
async fn tls_server(province: &Ca, client_ca: Option<&Ca>) -> common::Server {
    let (cert_file, key_file) = province.issue("vendor", true);
    let settings = GrpcSettings {
        tls: Some(ServerTls {
            cert_file,
            key_file,
            client_ca_file: client_ca.map(Ca::ca_file),
        }),
        ..GrpcSettings::with_port(0)
    };
    serve(Duration::ZERO, settings).await
}

async fn call_with(address: &str, tls: &ClientTls) -> Result<(), tonic::Status> {
    let channel = grpc::channel(address, Duration::from_secs(5), tls, "peer_tls").unwrap();
    sleep_call(channel, None).await
}

/// A call the TLS layer ended: no connection (`UNAVAILABLE`), or the
/// server's fatal alert on the connection (`UNKNOWN`, "transport error").
fn handshake_refused(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::Unknown
    ) && !status.message().contains("Sleep")
}

fn trusting(ca: &Ca) -> ClientTls {
    ClientTls {
        ca_file: Some(ca.ca_file()),
        ..ClientTls::default()
    }
}

#[tokio::test]
async fn a_tls_server_answers_clients_that_trust_its_ca_and_no_others() {
    let dir = TempDir::new().unwrap();
    let province = Ca::new(dir.path(), "province");
    let stranger = Ca::new(dir.path(), "stranger");
    let server = tls_server(&province, None).await;

    call_with(&server.address, &trusting(&province))
        .await
        .unwrap();
    // A client that trusts another CA does not get through the handshake.
    let refused = call_with(&server.address, &trusting(&stranger))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    // Nor does one speaking plaintext to the TLS port.
    let plaintext = server.address.replace("https://", "http://");
    let refused = call_with(&plaintext, &ClientTls::default())
        .await
        .unwrap_err();
    assert_ne!(refused.code(), tonic::Code::Ok, "{refused:?}");
    server.stop().await;
}

#[tokio::test]
async fn with_mutual_tls_only_clients_with_a_certificate_from_its_ca_are_answered() {
    let dir = TempDir::new().unwrap();
    let province = Ca::new(dir.path(), "province");
    let stranger = Ca::new(dir.path(), "stranger");
    let server = tls_server(&province, Some(&province)).await;

    let (cert_file, key_file) = province.issue("order", false);
    let order = ClientTls {
        cert_file: Some(cert_file),
        key_file: Some(key_file),
        ..trusting(&province)
    };
    call_with(&server.address, &order).await.unwrap();

    // No client certificate: refused in the handshake (with TLS 1.3 the
    // client learns it from the server's alert on its first call).
    let refused = call_with(&server.address, &trusting(&province))
        .await
        .unwrap_err();
    assert!(handshake_refused(&refused), "{refused:?}");
    // A certificate from another CA: refused too.
    let (cert_file, key_file) = stranger.issue("order", false);
    let impostor = ClientTls {
        cert_file: Some(cert_file),
        key_file: Some(key_file),
        ..trusting(&province)
    };
    let refused = call_with(&server.address, &impostor).await.unwrap_err();
    assert!(handshake_refused(&refused), "{refused:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_tls_setting_beside_a_plaintext_endpoint_is_refused_before_any_call() {
    let dir = TempDir::new().unwrap();
    let province = Ca::new(dir.path(), "province");
    let refused = grpc::channel(
        "http://127.0.0.1:50051",
        Duration::from_secs(1),
        &trusting(&province),
        "order.peer_tls",
    )
    .unwrap_err();
    assert!(matches!(refused, GrpcError::Endpoint { .. }), "{refused}");
    assert!(refused.to_string().contains("order.peer_tls"), "{refused}");
    // A CA file that is not there is named by its setting at start.
    let missing = ClientTls {
        ca_file: Some(dir.path().join("nowhere.crt")),
        ..ClientTls::default()
    };
    let refused = grpc::channel(
        "https://127.0.0.1:50051",
        Duration::from_secs(1),
        &missing,
        "order.peer_tls",
    )
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("order.peer_tls.ca_file: cannot read"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_server_whose_key_file_holds_no_key_does_not_start() {
    let dir = TempDir::new().unwrap();
    let province = Ca::new(dir.path(), "province");
    let (cert_file, _key_file) = province.issue("vendor", true);
    let tls = ServerTls {
        key_file: cert_file.clone(),
        cert_file,
        client_ca_file: None,
    };
    let err = tls.load("grpc.tls").unwrap_err().to_string();
    assert!(err.starts_with("grpc.tls.key_file:"), "{err}");
    assert!(err.contains("no private key"), "{err}");
}

#[tokio::test]
async fn probes_that_cannot_speak_tls_ask_a_plaintext_listener_that_serves_health_alone() {
    let dir = TempDir::new().unwrap();
    let province = Ca::new(dir.path(), "province");
    let (cert_file, key_file) = province.issue("vendor", true);
    let probe_port = {
        // A free port, released for the server to bind.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let settings = GrpcSettings {
        tls: Some(ServerTls {
            cert_file,
            key_file,
            client_ca_file: Some(province.ca_file()),
        }),
        health_listen: Some(([127, 0, 0, 1], probe_port).into()),
        ..GrpcSettings::with_port(0)
    };
    let server = serve(Duration::ZERO, settings).await;
    let probe = format!("http://127.0.0.1:{probe_port}");
    // The server binds its probe listener as it starts serving.
    let mut channel = None;
    for _ in 0..100 {
        let endpoint = tonic::transport::Endpoint::from_shared(probe.clone()).unwrap();
        if let Ok(connected) = endpoint.connect().await {
            channel = Some(connected);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let channel = channel.expect("the probe listener answers");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "liveness".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
    // Only health: the service itself is not reachable without TLS.
    let refused = sleep_call(channel, None).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unimplemented, "{refused:?}");
    server.stop().await;
}
