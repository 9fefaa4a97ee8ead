//! Kafka clients configured the way every Blangkon service needs them, the
//! topic names, and topic creation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::producer::FutureProducer;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::settings::{Secret, SettingsError, require, require_positive};
pub use rdkafka::error::KafkaError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Topic names. Versioned: a breaking change of a payload gets a new topic.
pub mod topics {
    pub const VENDOR_EVENTS: &str = "blangkon.vendor.events.v1";
    pub const CATALOG_EVENTS: &str = "blangkon.catalog.events.v1";
    pub const ORDER_EVENTS: &str = "blangkon.order.events.v1";
    /// Analysts' stream: one JSON fact per order change, keyed by order id.
    pub const REPORTING_TRANSACTIONS: &str = "blangkon.reporting.transactions.v1";
    /// Analysts' stream: compacted running aggregates, JSON, keyed by
    /// `measure/dimension/key`.
    pub const REPORTING_SUMMARY: &str = "blangkon.reporting.summary.v1";
    /// Analysts' stream: compacted red flags, JSON, keyed by flag id; a
    /// flag that no longer holds is sent once more as `cleared`.
    pub const REPORTING_RED_FLAGS: &str = "blangkon.reporting.red-flags.v1";

    use super::TopicSpec;

    /// Each topic with the partitions and policy it is created with: by
    /// the service that writes it, and by a consumer that starts first.
    pub const VENDOR_EVENTS_SPEC: TopicSpec<'static> = TopicSpec::new(VENDOR_EVENTS, 6);
    pub const CATALOG_EVENTS_SPEC: TopicSpec<'static> = TopicSpec::new(CATALOG_EVENTS, 6);
    pub const ORDER_EVENTS_SPEC: TopicSpec<'static> = TopicSpec::new(ORDER_EVENTS, 6);
    pub const REPORTING_TRANSACTIONS_SPEC: TopicSpec<'static> =
        TopicSpec::new(REPORTING_TRANSACTIONS, 6);
    pub const REPORTING_SUMMARY_SPEC: TopicSpec<'static> = TopicSpec {
        compacted: true,
        ..TopicSpec::new(REPORTING_SUMMARY, 3)
    };
    pub const REPORTING_RED_FLAGS_SPEC: TopicSpec<'static> = TopicSpec {
        compacted: true,
        ..TopicSpec::new(REPORTING_RED_FLAGS, 3)
    };

    /// Every topic of the suite.
    pub const ALL: &[TopicSpec<'static>] = &[
        VENDOR_EVENTS_SPEC,
        CATALOG_EVENTS_SPEC,
        ORDER_EVENTS_SPEC,
        REPORTING_TRANSACTIONS_SPEC,
        REPORTING_SUMMARY_SPEC,
        REPORTING_RED_FLAGS_SPEC,
    ];

    /// The spec of topic `name` (named without `kafka.topic_prefix`).
    pub fn spec(name: &str) -> Option<TopicSpec<'static>> {
        ALL.iter().copied().find(|spec| spec.name == name)
    }
}

/// A topic a service needs, with the partitions it is created with.
#[derive(Debug, Clone, Copy)]
pub struct TopicSpec<'a> {
    pub name: &'a str,
    pub partitions: i32,
    /// Log compaction (`cleanup.policy=compact`): the topic keeps the
    /// latest record of each key, as a table does.
    pub compacted: bool,
}

impl<'a> TopicSpec<'a> {
    /// A topic of `partitions` that deletes old records.
    pub const fn new(name: &'a str, partitions: i32) -> Self {
        Self {
            name,
            partitions,
            compacted: false,
        }
    }
}

fn base_config(settings: &KafkaSettings, client_suffix: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.bootstrap_servers)
        .set(
            "client.id",
            format!("{}-{client_suffix}", settings.client_id),
        )
        // Loopback brokers (the local suite) must not be reached over IPv6
        // when they only listen on 127.0.0.1.
        .set("broker.address.family", "v4");
    for (key, value) in settings.security.properties() {
        config.set(key, value);
    }
    config
}

/// Why a librdkafka property may not be set through `kafka.properties`,
/// if it may not: the delivery guarantees rest on it, or a setting of its
/// own carries it (and, for credentials, keeps it out of a plain map).
fn guarded_property(key: &str) -> Option<&'static str> {
    match key {
        "enable.idempotence"
        | "acks"
        | "enable.auto.offset.store"
        | "enable.auto.commit"
        | "auto.offset.reset"
        | "isolation.level" => {
            Some("the outbox and inbox guarantees rest on the value the service sets")
        }
        "group.id" | "group.instance.id" => {
            Some("consumer groups are named by consumer_group_prefix")
        }
        "statistics.interval.ms" => Some("the consumers' lag is read from these statistics"),
        "bootstrap.servers" => Some("set bootstrap_servers"),
        "client.id" => Some("set client_id"),
        "fetch.wait.max.ms" => Some("set consumer_wait_ms"),
        "message.timeout.ms" | "delivery.timeout.ms" => Some("set delivery_timeout_ms"),
        _ if key == "security.protocol" || key.starts_with("sasl.") || key.starts_with("ssl.") => {
            Some("set kafka.security")
        }
        _ => None,
    }
}

/// The operator's own librdkafka properties (`kafka.properties`), set last
/// so that they override what the code chose for a client (a producer's
/// `linger.ms`, a consumer's `fetch.wait.max.ms`).
fn with_operator_properties(mut config: ClientConfig, settings: &KafkaSettings) -> ClientConfig {
    for (key, value) in settings.librdkafka_properties() {
        config.set(key, value);
    }
    config
}

/// An idempotent producer: acks from all replicas, retries that never
/// duplicate or reorder a partition's messages.
pub fn idempotent_producer(
    settings: &KafkaSettings,
    client_suffix: &str,
) -> Result<FutureProducer, KafkaError> {
    producer_config(settings, client_suffix).create()
}

fn producer_config(settings: &KafkaSettings, client_suffix: &str) -> ClientConfig {
    let mut config = base_config(settings, client_suffix);
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set(
            "message.timeout.ms",
            settings.delivery_timeout_ms.to_string(),
        );
    with_operator_properties(config, settings)
}

/// How often a consumer's client reports its statistics (and so its lag).
const STATISTICS_INTERVAL: Duration = Duration::from_secs(5);

/// A consumer-group member, reporting its lag into its [`PartitionLags`].
pub type GroupConsumer = StreamConsumer<PartitionLags>;

/// How far behind a consumer is on each partition it holds: the records
/// between the partition's end (high watermark) and what the consumer has
/// durably applied (its stored offset, else the group's committed one, else
/// the partition's start), from librdkafka's statistics, which it gathers
/// from the fetches it makes anyway (no extra broker round trips).
/// Partitions another member of the group holds are not here: that member
/// reports them. Which partitions a member holds comes from its rebalances
/// (the statistics' `desired` flag outlived a revoke: a replica kept
/// reporting all six partitions after the group gave three to a second
/// one). Clones share the figures, so a consumer that replaces its client
/// keeps reporting into the same place; only the newest client's reports
/// count, so an old client closing after its replacement joined cannot
/// take back what the new one holds.
#[derive(Debug, Clone, Default)]
pub struct PartitionLags {
    shared: Arc<Mutex<Holding>>,
    /// Which client reports through this handle (see [`Self::for_new_client`]).
    client: u64,
}

#[derive(Debug, Default)]
struct Holding {
    /// The newest client's number: the only one whose reports count.
    newest: u64,
    /// `(topic, partition)` the group assigned to that client.
    assigned: BTreeSet<(String, i32)>,
    /// Records behind on each partition, as of its last statistics.
    lags: BTreeMap<(String, i32), i64>,
}

impl PartitionLags {
    /// A handle for a new client, which from now on is the only one
    /// reported: it holds nothing until its first assignment.
    fn for_new_client(&self) -> Self {
        let mut holding = self.holding();
        holding.newest += 1;
        holding.assigned.clear();
        holding.lags.clear();
        Self {
            shared: self.shared.clone(),
            client: holding.newest,
        }
    }

    fn holding(&self) -> std::sync::MutexGuard<'_, Holding> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The figures, if this handle's client is the newest.
    fn newest(&self) -> Option<std::sync::MutexGuard<'_, Holding>> {
        let holding = self.holding();
        (holding.newest == self.client).then_some(holding)
    }

    /// `(topic, partition)` to records behind, for the partitions this
    /// member holds now, as of the last statistics.
    pub fn current(&self) -> BTreeMap<(String, i32), i64> {
        let holding = self.holding();
        holding
            .lags
            .iter()
            .filter(|(partition, _)| holding.assigned.contains(*partition))
            .map(|(partition, lag)| (partition.clone(), *lag))
            .collect()
    }

    /// Takes the lags out of one statistics report.
    fn record(&self, statistics: &Statistics) {
        let mut lags = BTreeMap::new();
        for (topic, found) in &statistics.topics {
            for (id, partition) in &found.partitions {
                if let Some(lag) = lag_of(*id, partition) {
                    lags.insert((topic.clone(), *id), lag);
                }
            }
        }
        if let Some(mut holding) = self.newest() {
            holding.lags = lags;
        }
    }

    /// Follows a rebalance: an eager one revokes everything held and then
    /// assigns the new share; a cooperative one names only what moves.
    fn rebalanced(&self, rebalance: &Rebalance<'_>) {
        let Some(mut holding) = self.newest() else {
            return;
        };
        match rebalance {
            Rebalance::Assign(partitions) => {
                for p in partitions.elements() {
                    holding
                        .assigned
                        .insert((p.topic().to_string(), p.partition()));
                }
            }
            Rebalance::Revoke(partitions) => {
                for p in partitions.elements() {
                    holding
                        .assigned
                        .remove(&(p.topic().to_string(), p.partition()));
                }
            }
            // rdkafka gives up the whole assignment on a rebalance error.
            Rebalance::Error(_) => holding.assigned.clear(),
        }
    }
}

/// The lag of partition `id` as librdkafka's statistics describe it, if
/// this consumer holds it and its end is known.
fn lag_of(id: i32, partition: &rdkafka::statistics::Partition) -> Option<i64> {
    // -1 is librdkafka's internal partition for unassigned messages;
    // `desired` marks partitions the member fetches or did (which of them
    // it holds now, its rebalances tell: PartitionLags::current).
    if id < 0 || !partition.desired || partition.unknown || partition.hi_offset < 0 {
        return None;
    }
    let applied = [partition.stored_offset, partition.committed_offset]
        .into_iter()
        .filter(|offset| *offset >= 0)
        .max()
        .unwrap_or(partition.lo_offset.max(0));
    Some((partition.hi_offset - applied).max(0))
}

impl ClientContext for PartitionLags {
    fn stats(&self, statistics: Statistics) {
        self.record(&statistics);
    }
}

impl ConsumerContext for PartitionLags {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.rebalanced(rebalance);
    }
}

/// A consumer-group member that commits only offsets the application has
/// stored, i.e. after its work is durable; it reports its lag into `lags`,
/// from now on the only client that does. A consumer given partitions by
/// hand (`assign`) has no rebalances and reports none.
pub fn consumer(
    settings: &KafkaSettings,
    group_id: &str,
    lags: PartitionLags,
) -> Result<GroupConsumer, KafkaError> {
    consumer_config(settings, group_id).create_with_context(lags.for_new_client())
}

fn consumer_config(settings: &KafkaSettings, group_id: &str) -> ClientConfig {
    let mut config = base_config(settings, group_id);
    config
        .set("group.id", group_id)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        // A topic created after the consumer subscribed is seen within
        // seconds, not after librdkafka's default five minutes.
        .set("topic.metadata.refresh.interval.ms", "5000")
        // How long the broker may hold a fetch that finds nothing new: at
        // librdkafka's default (500 ms) a quiet suite's events waited half
        // a second on a broker that does not answer a held fetch early.
        .set("fetch.wait.max.ms", settings.consumer_wait_ms.to_string())
        .set(
            "statistics.interval.ms",
            STATISTICS_INTERVAL.as_millis().to_string(),
        );
    with_operator_properties(config, settings)
}

/// How far a consumer group has got through its topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupProgress {
    /// Records the group has yet to take.
    pub waiting: i64,
    /// The sum of the group's committed offsets: it grows while any member
    /// applies records.
    pub committed: i64,
}

/// How far `consumer`'s group has got through `topics`: on each partition,
/// what waits from where the consumer stands (its position on a partition
/// it holds, else the group's committed offset, else the partition's
/// start) to the end, and what the group has committed. A consumer that
/// holds no partitions, or not all, still sees the rest. Blocks on broker
/// round trips.
pub fn group_progress(
    consumer: &GroupConsumer,
    topics: &[String],
) -> Result<GroupProgress, KafkaError> {
    let timeout = Duration::from_secs(5);
    let mut partitions = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        for found in metadata.topics() {
            for partition in found.partitions() {
                partitions.add_partition(found.name(), partition.id());
            }
        }
    }
    if partitions.count() == 0 {
        return Ok(GroupProgress::default());
    }
    let positions = consumer.position()?;
    let committed = consumer.committed_offsets(partitions.clone(), timeout)?;
    let at = |list: &TopicPartitionList, topic: &str, partition: i32| match list
        .find_partition(topic, partition)?
        .offset()
    {
        Offset::Offset(n) => Some(n),
        _ => None,
    };
    let mut progress = GroupProgress::default();
    for element in partitions.elements() {
        let (topic, partition) = (element.topic(), element.partition());
        let (low, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
        let group_at = at(&committed, topic, partition);
        let stands = at(&positions, topic, partition).or(group_at).unwrap_or(low);
        progress.waiting += (high - stands).max(0);
        progress.committed += group_at.unwrap_or(0);
    }
    Ok(progress)
}

/// Creates the topics that do not exist yet. Existing topics are left as
/// they are, so this is safe at every start.
pub async fn ensure_topics(
    settings: &KafkaSettings,
    specs: &[TopicSpec<'_>],
) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> =
        with_operator_properties(base_config(settings, "admin"), settings).create()?;
    let names: Vec<String> = specs.iter().map(|s| settings.topic(s.name)).collect();
    let topics: Vec<NewTopic<'_>> = specs
        .iter()
        .zip(&names)
        .map(|(s, name)| {
            let topic = NewTopic::new(
                name,
                s.partitions,
                TopicReplication::Fixed(settings.replication_factor),
            );
            if s.compacted {
                topic.set("cleanup.policy", "compact")
            } else {
                topic
            }
        })
        .collect();
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(topics.iter(), &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::AdminOp(code)).inspect_err(|_| {
                    tracing::error!(%topic, ?code, "cannot create topic");
                });
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// Prefix for client and consumer-group ids.
    pub client_id: String,
    /// How often the outbox relay looks for unpublished events when nobody
    /// woke it (another replica wrote them, or a publish failed).
    pub relay_poll_ms: u64,
    /// Events the relay publishes per round.
    pub relay_batch_size: u64,
    /// How long the relay waits after a commit woke it before it publishes,
    /// so that commits close together share one round (Kafka's linger.ms,
    /// for the outbox): every round costs a few statements whatever its
    /// size. 0 publishes at once.
    pub relay_linger_ms: u64,
    /// How long the broker may hold a consumer's fetch that finds nothing
    /// new (librdkafka's fetch.wait.max.ms). A broker that answers a held
    /// fetch as soon as a record arrives (Apache Kafka) makes it the idle
    /// consumers' polling interval only; one that holds it to the end
    /// (tansu) adds up to this much to every event's way. An idle
    /// consumer asks the broker every this many ms. 1 to 5000.
    #[schemars(range(min = 1, max = 5000))]
    pub consumer_wait_ms: u64,
    /// When events wait and the relay has published nothing for this
    /// long, the service logs at ERROR that its events are stuck (once,
    /// and once more when they flow again). A backlog the relay is
    /// publishing (after downtime) is reported at start, not as stuck.
    pub relay_alert_after_secs: u64,
    /// How long the producer keeps trying one message before the relay gives
    /// the round up and retries later.
    pub delivery_timeout_ms: u64,
    /// Create missing topics at start. Turn off where topics are managed
    /// by the cluster's operators.
    pub create_topics: bool,
    /// Replication factor of topics created at start (3 on a real cluster).
    pub replication_factor: i32,
    /// Consumer groups are named `<prefix>.<consumer>`; separate installs
    /// (or tests) sharing one cluster use different prefixes.
    pub consumer_group_prefix: String,
    /// Put before every topic name, e.g. `staging.` for
    /// `staging.blangkon.order.events.v1`: installs (or tests) that share
    /// one cluster keep apart. Empty by default.
    pub topic_prefix: String,
    /// How the clients authenticate and encrypt.
    #[serde(default)]
    pub security: KafkaSecurity,
    /// Any other librdkafka property, for every client of the service,
    /// over what the service sets itself (`"socket.keepalive.enable" =
    /// "true"`, `"linger.ms" = "0"`); those the delivery guarantees rest
    /// on (`acks`, `enable.idempotence`, `group.id`, …) and those with a
    /// setting of their own are refused. In the environment
    /// underscores stand for the dots: `…__KAFKA__PROPERTIES__SOCKET_KEEPALIVE_ENABLE`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// librdkafka's `security.protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }

    fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }
}

/// TLS and SASL for the brokers: what a Strimzi listener with `tls: true`
/// and `scram-sha-512` or `tls` authentication, or a managed Kafka, asks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSecurity {
    /// `plaintext` (default), `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub protocol: SecurityProtocol,
    /// With a `sasl_` protocol: `SCRAM-SHA-512`, `SCRAM-SHA-256` or `PLAIN`.
    pub sasl_mechanism: String,
    /// The SASL user (Strimzi: the KafkaUser's name).
    pub sasl_username: String,
    pub sasl_password: Secret,
    /// PEM file of the CA that signed the brokers' certificates (Strimzi's
    /// cluster CA); empty: the system's trust store.
    pub ssl_ca_location: String,
    /// Client certificate and key (PEM files) for mutual TLS, as
    /// Strimzi's `tls` authentication uses.
    pub ssl_certificate_location: String,
    pub ssl_key_location: String,
    pub ssl_key_password: Secret,
}

impl KafkaSecurity {
    /// The librdkafka properties these settings stand for.
    pub fn properties(&self) -> Vec<(&'static str, String)> {
        let mut properties = vec![("security.protocol", self.protocol.as_str().to_string())];
        let mut set = |key: &'static str, value: &str| {
            if !value.is_empty() {
                properties.push((key, value.to_string()));
            }
        };
        if self.protocol.uses_sasl() {
            set("sasl.mechanism", &self.sasl_mechanism);
            set("sasl.username", &self.sasl_username);
            set("sasl.password", self.sasl_password.expose());
        }
        if self.protocol.uses_tls() {
            set("ssl.ca.location", &self.ssl_ca_location);
            set("ssl.certificate.location", &self.ssl_certificate_location);
            set("ssl.key.location", &self.ssl_key_location);
            set("ssl.key.password", self.ssl_key_password.expose());
        }
        properties
    }

    /// Checks the settings as a service's `section` (or the CLI) holds them;
    /// an error names the field.
    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        let field = format!("{section}.security");
        if self.protocol.uses_sasl() {
            require(
                ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"].contains(&self.sasl_mechanism.as_str()),
                &field,
                "sasl_mechanism",
                "must be SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN with a sasl_ protocol",
            )?;
            require(
                !self.sasl_username.is_empty(),
                &field,
                "sasl_username",
                "is required with a sasl_ protocol",
            )?;
            require(
                !self.sasl_password.is_empty(),
                &field,
                "sasl_password",
                "is required with a sasl_ protocol",
            )?;
        }
        require(
            self.ssl_certificate_location.is_empty() == self.ssl_key_location.is_empty(),
            &field,
            "ssl_key_location",
            "and ssl_certificate_location go together (mutual TLS)",
        )?;
        for (name, path) in [
            ("ssl_ca_location", &self.ssl_ca_location),
            ("ssl_certificate_location", &self.ssl_certificate_location),
            ("ssl_key_location", &self.ssl_key_location),
        ] {
            require(
                path.is_empty() || std::path::Path::new(path).is_file(),
                &field,
                name,
                format!("`{path}` is not a readable file"),
            )?;
        }
        Ok(())
    }
}

impl KafkaSettings {
    /// The name `topic` has on the cluster.
    pub fn topic(&self, topic: &str) -> String {
        format!("{}{topic}", self.topic_prefix)
    }

    pub fn validate(&self, section: &str) -> Result<(), SettingsError> {
        require(
            self.topic_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
            section,
            "topic_prefix",
            "may hold only letters, digits, `.`, `_` and `-`",
        )?;
        require(
            !self.bootstrap_servers.trim().is_empty(),
            section,
            "bootstrap_servers",
            "must name at least one host:port",
        )?;
        for server in self.bootstrap_servers.split(',') {
            let ok = server
                .trim()
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            require(
                ok,
                section,
                "bootstrap_servers",
                format!("`{server}` is not host:port"),
            )?;
        }
        require(
            self.relay_batch_size >= 1,
            section,
            "relay_batch_size",
            "must be at least 1",
        )?;
        require(
            (1..=5_000).contains(&self.consumer_wait_ms),
            section,
            "consumer_wait_ms",
            "must be 1 to 5000: 0 would fetch without pause, and a longer wait delays every event on a broker that holds fetches",
        )?;
        require_positive(
            section,
            "relay_alert_after_secs",
            self.relay_alert_after_secs as i64,
        )?;
        require(
            self.replication_factor >= 1,
            section,
            "replication_factor",
            "must be at least 1",
        )?;
        require(
            self.delivery_timeout_ms >= 1000,
            section,
            "delivery_timeout_ms",
            "must be at least 1000",
        )?;
        for (key, _) in self.librdkafka_properties() {
            if let Some(why) = guarded_property(&key) {
                require(
                    false,
                    section,
                    "properties",
                    format!("`{key}` cannot be set here: {why}"),
                )?;
            }
        }
        self.security.validate(section)
    }

    /// The pass-through librdkafka properties, with the dots an
    /// environment variable could not carry.
    pub fn librdkafka_properties(&self) -> impl Iterator<Item = (String, &str)> {
        self.properties
            .iter()
            .map(|(key, value)| (key.replace('_', "."), value.as_str()))
    }
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            bootstrap_servers: "127.0.0.1:9092".into(),
            client_id: "blangkon".into(),
            relay_poll_ms: 1000,
            relay_batch_size: 500,
            relay_linger_ms: 5,
            // 50 ms held the public ledger p99 126 ms behind commit at 50
            // orders/s on tansu; 10 ms, 84 ms (`make bench-lag`).
            consumer_wait_ms: 10,
            relay_alert_after_secs: 60,
            delivery_timeout_ms: 10_000,
            create_topics: true,
            replication_factor: 1,
            consumer_group_prefix: "blangkon".into(),
            topic_prefix: String::new(),
            security: KafkaSecurity::default(),
            properties: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_properties_override_the_clients_own() {
        let mut settings = KafkaSettings::default();
        for (key, value) in [("linger_ms", "0"), ("session_timeout_ms", "30000")] {
            settings.properties.insert(key.into(), value.into());
        }
        assert!(settings.validate("demo.kafka").is_ok());
        let producer = producer_config(&settings, "test");
        assert_eq!(producer.get("linger.ms"), Some("0"));
        assert_eq!(producer.get("acks"), Some("all"));
        let consumer = consumer_config(&settings, "test");
        assert_eq!(consumer.get("session.timeout.ms"), Some("30000"));
        assert_eq!(consumer.get("enable.auto.offset.store"), Some("false"));
        let untouched = consumer_config(&KafkaSettings::default(), "test");
        assert_eq!(untouched.get("session.timeout.ms"), Some("10000"));
    }

    #[test]
    fn properties_the_guarantees_rest_on_are_refused_by_name() {
        for key in [
            "acks",
            "enable_idempotence",
            "enable_auto_offset_store",
            "group_id",
            "fetch_wait_max_ms",
            "sasl_password",
        ] {
            let mut settings = KafkaSettings::default();
            settings.properties.insert(key.into(), "x".into());
            let refused = settings
                .validate("demo.kafka")
                .expect_err("a guarded property is refused");
            let dotted = key.replace('_', ".");
            assert!(refused.to_string().contains("properties"), "{refused}");
            assert!(refused.to_string().contains(&dotted), "{refused}");
            // A value may be a secret: it is never repeated.
            assert!(!refused.to_string().contains("`x`"), "{refused}");
        }
    }

    #[tokio::test]
    async fn clients_speak_tls_and_scram() {
        // librdkafka refuses `sasl_ssl` at client creation when it was
        // built without OpenSSL; creating connects to nothing yet.
        let settings = KafkaSettings {
            security: KafkaSecurity {
                protocol: SecurityProtocol::SaslSsl,
                sasl_mechanism: "SCRAM-SHA-512".into(),
                sasl_username: "blangkon".into(),
                sasl_password: "secret".into(),
                ..KafkaSecurity::default()
            },
            ..KafkaSettings::default()
        };
        let producer = idempotent_producer(&settings, "tls-test");
        assert!(producer.is_ok(), "{:?}", producer.err());
        let consumer = consumer(&settings, "tls-test", PartitionLags::default());
        assert!(consumer.is_ok(), "{:?}", consumer.err());
    }

    fn held(stored: i64, committed: i64, lo: i64, hi: i64) -> rdkafka::statistics::Partition {
        rdkafka::statistics::Partition {
            desired: true,
            stored_offset: stored,
            committed_offset: committed,
            lo_offset: lo,
            hi_offset: hi,
            ..Default::default()
        }
    }

    #[test]
    fn lag_counts_from_what_the_consumer_applied() {
        // Applied and stored beyond the last commit: the stored offset counts.
        assert_eq!(lag_of(0, &held(90, 80, 0, 100)), Some(10));
        // Nothing stored since it joined: the group's commit counts.
        assert_eq!(lag_of(0, &held(-1001, 80, 0, 100)), Some(20));
        // A new group: everything retained waits.
        assert_eq!(lag_of(0, &held(-1001, -1001, 40, 100)), Some(60));
        // Caught up.
        assert_eq!(lag_of(3, &held(100, 100, 0, 100)), Some(0));
    }

    #[test]
    fn only_the_partitions_a_rebalance_left_this_member_are_reported() {
        let lags = PartitionLags::default();
        let topic = "blangkon.vendor.events.v1";
        let list = |partitions: &[i32]| {
            let mut list = TopicPartitionList::new();
            for p in partitions {
                list.add_partition(topic, *p);
            }
            list
        };
        let everything = list(&[0, 1, 2, 3, 4, 5]);
        let lags = lags.for_new_client();
        lags.rebalanced(&Rebalance::Assign(&everything));
        // The statistics go on listing every partition as desired.
        lags.holding().lags = (0..6).map(|p| ((topic.to_string(), p), 0)).collect();
        assert_eq!(lags.current().len(), 6);
        // A second member joins: everything is revoked, half comes back.
        lags.rebalanced(&Rebalance::Revoke(&everything));
        assert!(lags.current().is_empty());
        lags.rebalanced(&Rebalance::Assign(&list(&[0, 1, 2])));
        let held: Vec<i32> = lags.current().into_keys().map(|(_, p)| p).collect();
        assert_eq!(held, vec![0, 1, 2]);
    }

    #[test]
    fn a_replaced_client_closing_late_takes_nothing_from_its_successor() {
        let shared = PartitionLags::default();
        let topic = "blangkon.order.events.v1";
        let mut all = TopicPartitionList::new();
        for p in 0..6 {
            all.add_partition(topic, p);
        }
        let old = shared.for_new_client();
        old.rebalanced(&Rebalance::Assign(&all));
        // The consumer rejoins with a new client, which is assigned the
        // same partitions before the old one has closed.
        let new = shared.for_new_client();
        new.rebalanced(&Rebalance::Assign(&all));
        new.holding().lags = (0..6).map(|p| ((topic.to_string(), p), 3)).collect();
        // The old client's close revokes what it held, and its last
        // statistics arrive.
        old.rebalanced(&Rebalance::Revoke(&all));
        old.record(&Statistics::default());
        assert_eq!(shared.current().len(), 6);
        assert!(shared.current().values().all(|lag| *lag == 3));
    }

    #[test]
    fn partitions_not_held_or_not_known_have_no_lag() {
        let not_held = rdkafka::statistics::Partition {
            desired: false,
            ..held(10, 10, 0, 100)
        };
        assert_eq!(lag_of(0, &not_held), None);
        assert_eq!(lag_of(-1, &held(10, 10, 0, 100)), None);
        assert_eq!(lag_of(0, &held(-1001, -1001, -1, -1)), None);
    }
}
