//! `blangkon stream ...`: follow an analyst stream from Kafka, on the
//! local suite's embedded broker or on a cluster's listener with TLS and
//! SASL (SCRAM), as a Strimzi `external` listener asks.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use blangkon_platform::kafka::{KafkaSecurity, SecurityProtocol, topics};
use blangkon_platform::settings::{Secret, SettingsError};
use clap::{Args, Subcommand, ValueEnum};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::output::Refused;
use crate::token;

#[derive(Args)]
pub struct StreamArgs {
    /// Kafka bootstrap servers; by default the running `blangkon dev`
    /// suite's embedded broker.
    #[arg(long, env = "BLANGKON_KAFKA", global = true)]
    bootstrap: Option<String>,
    /// Where `blangkon dev` keeps its data (and notes its broker).
    #[arg(long, env = "BLANGKON_DATA_DIR", default_value = token::DEFAULT_DATA_DIR, global = true)]
    data_dir: PathBuf,
    /// Start at the beginning of the stream instead of its end.
    #[arg(long, global = true)]
    from_beginning: bool,
    /// Stop after this many records.
    #[arg(long, global = true)]
    count: Option<u64>,
    /// The install's `kafka.topic_prefix`, if it has one.
    #[arg(long, default_value = "", global = true)]
    topic_prefix: String,
    /// The start of the consumer group's name, which ends in a fresh id
    /// each run (nothing is committed). A cluster's ACLs may allow only
    /// some prefixes: the examples' `analyst` user reads as `analyst-`.
    #[arg(long, default_value = "blangkon-stream-", global = true)]
    group_prefix: String,
    #[command(flatten)]
    security: SecurityArgs,
    #[command(subcommand)]
    stream: StreamName,
}

/// TLS and SASL, as the services' `kafka.security` settings name them.
#[derive(Args)]
struct SecurityArgs {
    /// How to reach the brokers: `ssl` and `sasl_ssl` encrypt, `sasl_`
    /// protocols sign in (a Strimzi listener with `tls: true` and
    /// `scram-sha-512` authentication: `sasl_ssl`).
    #[arg(
        long,
        value_enum,
        default_value = "plaintext",
        ignore_case = true,
        global = true
    )]
    security_protocol: Protocol,
    /// With a `sasl_` protocol: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN.
    #[arg(long, default_value = "", global = true)]
    sasl_mechanism: String,
    /// The SASL user (Strimzi: the KafkaUser's name).
    #[arg(long, default_value = "", global = true)]
    sasl_username: String,
    /// A file holding the SASL password (its first line). Without it the
    /// password is read from BLANGKON_KAFKA_SASL_PASSWORD; no option takes
    /// it, to keep it out of the process list and the shell's history.
    #[arg(long, global = true)]
    sasl_password_file: Option<PathBuf>,
    /// PEM file of the CA that signed the brokers' certificates (Strimzi's
    /// cluster CA); without it, the system's trust store.
    #[arg(long, default_value = "", global = true)]
    ssl_ca_location: String,
    /// Client certificate (PEM) for mutual TLS (Strimzi's `tls`
    /// authentication), with --ssl-key-location.
    #[arg(long, default_value = "", global = true)]
    ssl_certificate_location: String,
    /// The client certificate's key (PEM); its password, if any, from
    /// BLANGKON_KAFKA_SSL_KEY_PASSWORD.
    #[arg(long, default_value = "", global = true)]
    ssl_key_location: String,
}

/// The environment variables that carry the secrets.
const SASL_PASSWORD_VAR: &str = "BLANGKON_KAFKA_SASL_PASSWORD";
const SSL_KEY_PASSWORD_VAR: &str = "BLANGKON_KAFKA_SSL_KEY_PASSWORD";

fn from_env(var: &str) -> String {
    std::env::var(var).unwrap_or_default()
}

/// librdkafka's `security.protocol`, as `kafka.security.protocol` spells it.
#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum Protocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityArgs {
    /// The same settings the services take, checked by the same rules; a
    /// refusal names the option.
    fn security(&self) -> anyhow::Result<KafkaSecurity> {
        let sasl_password = match &self.sasl_password_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading --sasl-password-file {}", path.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
            None => from_env(SASL_PASSWORD_VAR),
        };
        let security = KafkaSecurity {
            protocol: match self.security_protocol {
                Protocol::Plaintext => SecurityProtocol::Plaintext,
                Protocol::Ssl => SecurityProtocol::Ssl,
                Protocol::SaslPlaintext => SecurityProtocol::SaslPlaintext,
                Protocol::SaslSsl => SecurityProtocol::SaslSsl,
            },
            sasl_mechanism: self.sasl_mechanism.clone(),
            sasl_username: self.sasl_username.clone(),
            sasl_password: Secret::new(sasl_password),
            ssl_ca_location: self.ssl_ca_location.clone(),
            ssl_certificate_location: self.ssl_certificate_location.clone(),
            ssl_key_location: self.ssl_key_location.clone(),
            ssl_key_password: Secret::new(from_env(SSL_KEY_PASSWORD_VAR)),
        };
        // Options the protocol would not use are a mistake to point out,
        // not to ignore.
        let unused = |option: &str, wanted: &str| {
            anyhow::Error::new(Refused::new(
                tonic::Code::InvalidArgument,
                format!("{option}: needs --security-protocol {wanted}"),
            ))
        };
        let sasl = matches!(
            self.security_protocol,
            Protocol::SaslPlaintext | Protocol::SaslSsl
        );
        let tls = matches!(self.security_protocol, Protocol::Ssl | Protocol::SaslSsl);
        for (option, given) in [
            ("--sasl-mechanism", !self.sasl_mechanism.is_empty()),
            ("--sasl-username", !self.sasl_username.is_empty()),
            ("--sasl-password-file", self.sasl_password_file.is_some()),
        ] {
            if given && !sasl {
                return Err(unused(option, "sasl_plaintext or sasl_ssl"));
            }
        }
        for (option, given) in [
            ("--ssl-ca-location", !self.ssl_ca_location.is_empty()),
            (
                "--ssl-certificate-location",
                !self.ssl_certificate_location.is_empty(),
            ),
            ("--ssl-key-location", !self.ssl_key_location.is_empty()),
        ] {
            if given && !tls {
                return Err(unused(option, "ssl or sasl_ssl"));
            }
        }
        security.validate("stream").map_err(|e| match e {
            SettingsError::Invalid { key, problem } => {
                let field = key.rsplit('.').next().unwrap_or(&key);
                let option = match field {
                    "sasl_password" => format!("{SASL_PASSWORD_VAR} (or --sasl-password-file)"),
                    field => format!("--{}", field.replace('_', "-")),
                };
                // The settings' names in the problem read as the options'.
                let problem = problem
                    .replace("ssl_certificate_location", "--ssl-certificate-location")
                    .replace("sasl_password", SASL_PASSWORD_VAR);
                anyhow::Error::new(Refused::new(
                    tonic::Code::InvalidArgument,
                    format!("{option}: {problem}"),
                ))
            }
            other => other.into(),
        })?;
        Ok(security)
    }
}

#[derive(Subcommand, Clone, Copy)]
enum StreamName {
    /// `blangkon.reporting.transactions.v1`: one fact per order change.
    Transactions,
    /// `blangkon.reporting.summary.v1`: running figures by dimension.
    Summary,
    /// `blangkon.reporting.red-flags.v1`: red flags raised and cleared.
    RedFlags,
}

/// Follows an analyst stream and prints each record as one line of JSON,
/// as `kcat -C -t <topic>` would.
pub async fn stream(args: StreamArgs) -> anyhow::Result<()> {
    let security = args.security.security()?;
    let bootstrap = match args.bootstrap {
        Some(b) => b,
        None => crate::dev::read_bootstrap(&args.data_dir)?,
    };
    let topic = match args.stream {
        StreamName::Transactions => topics::REPORTING_TRANSACTIONS,
        StreamName::Summary => topics::REPORTING_SUMMARY,
        StreamName::RedFlags => topics::REPORTING_RED_FLAGS,
    };
    let topic = format!("{}{topic}", args.topic_prefix);
    // A group of its own each time: a reader, not a member of anyone's group.
    let group = format!("{}{}", args.group_prefix, uuid::Uuid::new_v4());
    let mut config = rdkafka::ClientConfig::new();
    config
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("broker.address.family", "v4")
        .set(
            "auto.offset.reset",
            if args.from_beginning {
                "earliest"
            } else {
                "latest"
            },
        );
    for (key, value) in security.properties() {
        config.set(key, value);
    }
    let consumer: StreamConsumer = config.create().context("creating the Kafka consumer")?;
    consumer.subscribe(&[&topic])?;
    eprintln!("following {topic} on {bootstrap} (Ctrl-C stops)");
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    let mut seen = 0u64;
    let mut said = std::collections::HashSet::new();
    loop {
        let message = tokio::select! {
            m = consumer.recv() => m,
            _ = &mut stop => return Ok(()),
        };
        match message {
            Ok(m) => {
                let value = m.payload().map(String::from_utf8_lossy).unwrap_or_default();
                say!("{value}");
                seen += 1;
                if args.count.is_some_and(|n| seen >= n) {
                    return Ok(());
                }
            }
            Err(e) => {
                // Assigned partitions: the stream had joined, and a broker
                // down now is a restart to wait out.
                let joined = consumer
                    .assignment()
                    .is_ok_and(|assigned| assigned.count() > 0);
                if let Some(fatal) = fatal(&e, &bootstrap, &topic, &security, joined) {
                    return Err(fatal.into());
                }
                // Said once per kind, so that a wait is never silent.
                if said.insert(e.rdkafka_error_code().map(|code| code as i32)) {
                    eprintln!("waiting: {e}");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// The failures no retry mends, as what to do about them; `None` for
/// those worth waiting out. Brokers all down end the command only before
/// it `joined` (had partitions assigned): later it is a restart to wait
/// for. An error librdkafka calls fatal always ends it.
fn fatal(
    error: &KafkaError,
    bootstrap: &str,
    topic: &str,
    security: &KafkaSecurity,
    joined: bool,
) -> Option<Refused> {
    let code = error.rdkafka_error_code()?;
    let refused = match code {
        RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed => {
            Refused::new(
                tonic::Code::Unauthenticated,
                format!(
                    "the brokers at {bootstrap} refused the sign-in of `{}` with {}: check \
                     --sasl-username, --sasl-mechanism and the password \
                     (BLANGKON_KAFKA_SASL_PASSWORD or --sasl-password-file)",
                    security.sasl_username, security.sasl_mechanism
                ),
            )
        }
        RDKafkaErrorCode::SSL => Refused::new(
            tonic::Code::Unavailable,
            format!(
                "no TLS connection to the brokers at {bootstrap}: name the CA that signed \
                 their certificates with --ssl-ca-location (Strimzi: the cluster CA, \
                 `blangkon-kafka-cluster-ca-cert`); a listener asking for a client \
                 certificate takes --ssl-certificate-location and --ssl-key-location; or \
                 check --security-protocol"
            ),
        ),
        RDKafkaErrorCode::GroupAuthorizationFailed | RDKafkaErrorCode::TopicAuthorizationFailed => {
            Refused::new(
                tonic::Code::PermissionDenied,
                format!(
                    "the brokers at {bootstrap} do not let `{}` read {topic} in a consumer \
                     group of this name: the cluster's ACLs name the groups a user may use \
                     (the examples' analyst: --group-prefix analyst-) and the topics it may \
                     read (--topic-prefix, if the install has one)",
                    security.sasl_username
                ),
            )
        }
        RDKafkaErrorCode::AllBrokersDown if !joined => Refused::new(
            tonic::Code::Unavailable,
            format!(
                "no Kafka broker answers at {bootstrap}: `blangkon dev` runs the local \
                 suite's; --bootstrap (BLANGKON_KAFKA) names others, and \
                 --security-protocol says how they are reached{}",
                // librdkafka does not always say that a handshake failed on
                // the certificate before it says the brokers are all down.
                if matches!(
                    security.protocol,
                    SecurityProtocol::Ssl | SecurityProtocol::SaslSsl
                ) {
                    "; over TLS, --ssl-ca-location names the CA that signed their \
                     certificates (Strimzi: the cluster CA, `blangkon-kafka-cluster-ca-cert`)"
                } else {
                    ""
                }
            ),
        ),
        _ if matches!(error, KafkaError::MessageConsumptionFatal(_)) => Refused::new(
            tonic::Code::Unavailable,
            format!("the Kafka client gave up on the brokers at {bootstrap}: {error}"),
        ),
        _ => return None,
    };
    Some(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{INVALID, REFUSED, UNREACHABLE, exit_code};
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        stream: StreamArgs,
    }

    fn parse(args: &[&str]) -> StreamArgs {
        let mut argv = vec!["stream"];
        argv.extend_from_slice(args);
        argv.push("transactions");
        Cli::try_parse_from(argv).expect("the options parse").stream
    }

    #[test]
    fn security_options_become_the_services_settings() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.crt");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let password = dir.path().join("password");
        std::fs::write(&password, "s3cret\n").unwrap();
        let args = parse(&[
            "--security-protocol",
            "sasl_ssl",
            "--sasl-mechanism",
            "SCRAM-SHA-512",
            "--sasl-username",
            "analyst",
            "--sasl-password-file",
            password.to_str().unwrap(),
            "--ssl-ca-location",
            ca.to_str().unwrap(),
        ]);
        let properties: std::collections::BTreeMap<_, _> = args
            .security
            .security()
            .unwrap()
            .properties()
            .into_iter()
            .collect();
        assert_eq!(properties["security.protocol"], "sasl_ssl");
        assert_eq!(properties["sasl.mechanism"], "SCRAM-SHA-512");
        assert_eq!(properties["sasl.username"], "analyst");
        assert_eq!(properties["sasl.password"], "s3cret");
        assert_eq!(properties["ssl.ca.location"], ca.to_str().unwrap());
        let plain = parse(&[]).security.security().unwrap().properties();
        assert_eq!(plain, vec![("security.protocol", "plaintext".to_string())]);
    }

    #[test]
    fn a_refused_option_is_named_and_its_exit_code_is_invalid() {
        for (args, named) in [
            (
                vec![
                    "--security-protocol",
                    "sasl_ssl",
                    "--sasl-mechanism",
                    "GSSAPI",
                ],
                "--sasl-mechanism",
            ),
            (
                vec![
                    "--security-protocol",
                    "sasl_plaintext",
                    "--sasl-mechanism",
                    "SCRAM-SHA-256",
                ],
                "--sasl-username",
            ),
            (
                vec![
                    "--security-protocol",
                    "sasl_plaintext",
                    "--sasl-mechanism",
                    "PLAIN",
                    "--sasl-username",
                    "analyst",
                ],
                SASL_PASSWORD_VAR,
            ),
            (
                vec![
                    "--security-protocol",
                    "ssl",
                    "--ssl-ca-location",
                    "/no/such/ca.crt",
                ],
                "--ssl-ca-location",
            ),
            (
                vec![
                    "--security-protocol",
                    "ssl",
                    "--ssl-key-location",
                    "/etc/hostname",
                ],
                "--ssl-key-location",
            ),
            // Options the protocol would not use.
            (vec!["--sasl-username", "analyst"], "--sasl-username"),
            (
                vec![
                    "--security-protocol",
                    "SASL_PLAINTEXT",
                    "--sasl-mechanism",
                    "PLAIN",
                    "--sasl-username",
                    "a",
                    "--ssl-ca-location",
                    "/etc/hostname",
                ],
                "--ssl-ca-location",
            ),
        ] {
            let error = parse(&args).security.security().unwrap_err();
            assert!(error.to_string().starts_with(named), "{args:?}: {error}");
            assert_eq!(exit_code(&error), INVALID, "{args:?}");
        }
    }

    #[test]
    fn failures_no_retry_mends_end_the_stream_with_their_class() {
        let security = KafkaSecurity {
            sasl_username: "analyst".into(),
            sasl_mechanism: "SCRAM-SHA-512".into(),
            sasl_password: "never-shown".into(),
            ..KafkaSecurity::default()
        };
        let class = |code, joined| {
            fatal(
                &KafkaError::MessageConsumption(code),
                "kafka:9094",
                "blangkon.reporting.transactions.v1",
                &security,
                joined,
            )
            .map(|refused| (exit_code(&anyhow::Error::new(refused.clone())), refused))
        };
        let (code, refused) = class(RDKafkaErrorCode::Authentication, true).unwrap();
        assert_eq!(code, REFUSED);
        assert!(refused.to_string().contains("`analyst`"), "{refused}");
        assert!(!refused.to_string().contains("never-shown"), "{refused}");
        let (code, refused) = class(RDKafkaErrorCode::SSL, false).unwrap();
        assert_eq!(code, UNREACHABLE);
        assert!(
            refused.to_string().contains("--ssl-ca-location"),
            "{refused}"
        );
        let (code, refused) = class(RDKafkaErrorCode::AllBrokersDown, false).unwrap();
        assert_eq!(code, UNREACHABLE);
        assert!(refused.to_string().contains("kafka:9094"), "{refused}");
        assert!(
            !refused.to_string().contains("--ssl-ca-location"),
            "{refused}"
        );
        // Over TLS the brokers may be "down" for a certificate not trusted.
        let over_tls = KafkaSecurity {
            protocol: SecurityProtocol::SaslSsl,
            ..security.clone()
        };
        let refused = fatal(
            &KafkaError::MessageConsumption(RDKafkaErrorCode::AllBrokersDown),
            "kafka:9094",
            "t",
            &over_tls,
            false,
        )
        .unwrap();
        assert!(
            refused.to_string().contains("--ssl-ca-location"),
            "{refused}"
        );
        // Once it joined, brokers down is a restart to wait out.
        assert!(class(RDKafkaErrorCode::AllBrokersDown, true).is_none());
        assert!(class(RDKafkaErrorCode::UnknownTopicOrPartition, false).is_none());
        // A group the ACLs do not allow: refused, with the prefix to use.
        let (code, refused) = class(RDKafkaErrorCode::GroupAuthorizationFailed, true).unwrap();
        assert_eq!(code, REFUSED);
        assert!(refused.to_string().contains("--group-prefix"), "{refused}");
        // Whatever librdkafka gives up on ends the stream.
        let gave_up = fatal(
            &KafkaError::MessageConsumptionFatal(RDKafkaErrorCode::Fenced),
            "kafka:9094",
            "t",
            &security,
            true,
        );
        assert!(gave_up.is_some());
    }
}
