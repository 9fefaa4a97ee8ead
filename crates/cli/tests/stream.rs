//! `blangkon stream` against a listener that asks what the examples'
//! Strimzi `external` listener asks: TLS under the cluster's CA and a
//! SCRAM-SHA-512 sign-in as the `analyst` user.
//!
//! tansu, started with `--authentication`, checks the SCRAM sign-in
//! against the credentials it keeps (in SQLite here). It serves no TLS
//! itself, so a TLS terminator made for the test stands in front of it, as
//! a load balancer's or the listener's TLS would, and the broker
//! advertises the terminator's address.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use blangkon_platform::kafka::topics;
use blangkon_testkit::{eventually, free_port, missing_part, tansu_binary};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

const BIN: &str = env!("CARGO_BIN_EXE_blangkon");
const PASSWORD: &str = "analyst-password-4711";
/// As `deploy/kubernetes/kafka-users.yaml` lets the analyst read.
const GROUP_PREFIX: &str = "analyst-";

/// tansu asking for a SASL sign-in, behind TLS.
struct Listener {
    _tansu: Child,
    /// The TLS address the clients bootstrap from, and the broker
    /// advertises.
    address: String,
    ca_file: PathBuf,
}

/// The user the services' clients sign in as here, as a KafkaUser of
/// `deploy/kubernetes/kafka-users.yaml` would.
const SERVICE_USER: (&str, &str) = ("blangkon-reporting", "service-password-1234");

impl Listener {
    /// tansu keeping its state in SQLite in `dir`: first without sign-in,
    /// to give the users their SCRAM credentials (as Strimzi's User
    /// Operator does), then again on the same state asking for it.
    async fn start(dir: &Path) -> Option<Self> {
        // deploy/local/tansu.sh notes the features it built tansu with.
        let with_sqlite = |tansu: &PathBuf| {
            let stamp = tansu.with_extension("blangkon");
            std::fs::read_to_string(stamp).is_ok_and(|s| s.contains("libsql"))
        };
        let Some(tansu) = tansu_binary().filter(with_sqlite) else {
            missing_part(
                "the stream over TLS and SCRAM",
                "tansu with SQLite storage (deploy/local/tansu.sh install)",
            );
            return None;
        };
        let (acceptor, ca_file) = tls_acceptor(dir);
        let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = front.local_addr().unwrap().to_string();
        let broker = format!("127.0.0.1:{}", free_port());
        let run = |authentication: bool, advertised: &str| {
            let mut command = Command::new(&tansu);
            command
                .arg("broker")
                .args(["--storage-engine", "sqlite://tansu.db"])
                .args(["--listener-url", &format!("tcp://{broker}")])
                .args(["--advertised-listener-url", &format!("tcp://{advertised}")])
                .current_dir(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::from(
                    std::fs::File::create(dir.join("tansu.log")).unwrap(),
                ))
                .kill_on_drop(true);
            if authentication {
                command.arg("--authentication");
            }
            command.spawn().expect("start tansu")
        };
        let listening = || async {
            eventually("tansu listens", Duration::from_secs(10), || async {
                TcpStream::connect(&broker).await.ok()
            })
            .await
        };
        let mut open = run(false, &broker);
        listening().await;
        for (user, password) in [("analyst", PASSWORD), SERVICE_USER] {
            let created = Command::new(&tansu)
                .args(["user", "create", "--broker", &format!("tcp://{broker}")])
                .args([user, password, "--mechanism", "scram512"])
                .output()
                .await
                .expect("run tansu user create");
            assert!(
                created.status.success(),
                "creating {user}: {}{}",
                String::from_utf8_lossy(&created.stdout),
                String::from_utf8_lossy(&created.stderr)
            );
        }
        open.kill().await.unwrap();
        let tansu = run(true, &address);
        listening().await;
        tokio::spawn(terminate_tls(front, acceptor, broker));
        Some(Self {
            _tansu: tansu,
            address,
            ca_file,
        })
    }

    /// A client's settings for this listener, signing in as `user`.
    fn client(&self, user: &str, password: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.address)
            .set("security.protocol", "sasl_ssl")
            .set("sasl.mechanism", "SCRAM-SHA-512")
            .set("sasl.username", user)
            .set("sasl.password", password)
            .set("ssl.ca.location", self.ca_file.to_str().unwrap());
        config
    }
}

/// A CA made for the test, written to `ca.crt`, and a TLS acceptor with a
/// certificate it signed for 127.0.0.1.
fn tls_acceptor(dir: &Path) -> (TlsAcceptor, PathBuf) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // Names of their own: a leaf named as its issuer reads as self-signed.
    ca.distinguished_name
        .push(DnType::CommonName, "Kafka cluster CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_file = dir.join("ca.crt");
    std::fs::write(&ca_file, ca.self_signed(&ca_key).unwrap().pem()).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut server = CertificateParams::new(Vec::<String>::new()).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "blangkon-kafka");
    server.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().unwrap())];
    let key = KeyPair::generate().unwrap();
    let cert = server.signed_by(&key, &issuer).unwrap();
    let key = pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key)
    .unwrap();
    (TlsAcceptor::from(Arc::new(config)), ca_file)
}

/// Takes TLS off each connection to `front` and passes it on to `broker`.
async fn terminate_tls(front: TcpListener, acceptor: TlsAcceptor, broker: String) {
    loop {
        let Ok((client, _)) = front.accept().await else {
            return;
        };
        let (acceptor, broker) = (acceptor.clone(), broker.clone());
        tokio::spawn(async move {
            // A client that does not trust the CA ends its handshake here.
            let Ok(mut client) = acceptor.accept(client).await else {
                return;
            };
            if let Ok(mut broker) = TcpStream::connect(&broker).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
            }
        });
    }
}

/// `blangkon stream transactions` on `listener` with `args`, the SASL
/// password from the environment; its output, or a failure after 60 s.
async fn stream(listener: &Listener, password: &str, args: &[&str]) -> Output {
    let child = Command::new(BIN)
        .args(["stream", "--bootstrap", &listener.address])
        .args(["--security-protocol", "sasl_ssl"])
        .args([
            "--sasl-mechanism",
            "SCRAM-SHA-512",
            "--sasl-username",
            "analyst",
        ])
        .args([
            "--group-prefix",
            GROUP_PREFIX,
            "--from-beginning",
            "--count",
            "1",
        ])
        .args(args)
        .arg("transactions")
        .env("BLANGKON_KAFKA_SASL_PASSWORD", password)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start blangkon stream");
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("blangkon stream ends within 60 s")
        .unwrap()
}

#[tokio::test]
async fn the_stream_signs_in_with_scram_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let Some(listener) = Listener::start(dir.path()).await else {
        return;
    };
    // A transaction fact on the stream, written by a service's user.
    let service = listener.client(SERVICE_USER.0, SERVICE_USER.1);
    let admin: AdminClient<DefaultClientContext> = service.create().unwrap();
    let topic = topics::REPORTING_TRANSACTIONS;
    let created = admin
        .create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .expect("create the topic");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    let fact = r#"{"schema":"blangkon.reporting.transaction.v1","order_id":"o-1"}"#;
    let producer: FutureProducer = service.create().unwrap();
    producer
        .send(
            FutureRecord::to(topic).key("o-1").payload(fact),
            Duration::from_secs(30),
        )
        .await
        .expect("produce the fact");

    // The analyst, with the cluster's CA and the right password, reads it.
    let ca = listener.ca_file.to_str().unwrap();
    let read = stream(&listener, PASSWORD, &["--ssl-ca-location", ca]).await;
    let stderr = String::from_utf8_lossy(&read.stderr);
    assert!(read.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&read.stdout).trim(),
        fact,
        "{stderr}"
    );

    // A wrong password: refused (4), named, and the password never shown.
    let wrong = "not-the-password-0815";
    let refused = stream(&listener, wrong, &["--ssl-ca-location", ca]).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("refused the sign-in of `analyst`"),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong), "{stderr}");

    // Without the cluster's CA the brokers' certificate is not trusted:
    // unreachable (3), and the option that mends it named.
    let untrusted = stream(&listener, PASSWORD, &[]).await;
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert_eq!(untrusted.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--ssl-ca-location"), "{stderr}");
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}

#[tokio::test]
async fn a_stream_with_no_broker_names_the_address_it_tried() {
    let address = format!("127.0.0.1:{}", free_port());
    let out = Command::new(BIN)
        .args(["stream", "--bootstrap", &address, "transactions"])
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("blangkon stream ends within 60 s")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&address), "{stderr}");
    assert!(stderr.contains("blangkon dev"), "{stderr}");
}
