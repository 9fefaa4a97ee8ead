//! Which partitions each replica's consumers hold, as the replicas
//! themselves report them on `/metrics` (`blangkon_consumer_lag`: one
//! series per partition a replica holds now). Two replicas of one service
//! are members of one consumer group; this is the evidence that the group
//! spread every partition over them, each to one replica.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use blangkon_platform::kafka::topics;
use blangkon_platform::settings::KafkaSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A consumer's partitions of one topic, by replica.
type Holdings = BTreeMap<(String, String), BTreeMap<String, BTreeSet<i32>>>;

/// Waits, `within` at most, until each of `topics` (its name on the
/// cluster and its partitions) is reported by the replicas, and on every
/// (consumer, topic) they report each partition is held by exactly one
/// replica and no replica holds more than one partition more than
/// another. Answers a line per consumer and topic saying who holds what;
/// fails with what the replicas last reported if that does not come. The
/// replicas' client statistics arrive every 5 s, so a group settled a
/// moment ago shows within that.
pub(super) async fn balanced(
    replicas: &[(&str, Option<SocketAddr>)],
    topics: &[(String, i32)],
    within: Duration,
) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + within;
    let names: Vec<&str> = replicas.iter().map(|(name, _)| *name).collect();
    loop {
        let why = match holdings(replicas).await {
            Ok(holdings) => match unbalanced(&holdings, &names, topics) {
                None => return Ok(describe(&holdings, &names)),
                Some(why) => format!(
                    "{why}; they hold: {}",
                    describe(&holdings, &names).join("; ")
                ),
            },
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() >= deadline {
            anyhow::bail!("the replicas' partitions are not balanced after {within:?}: {why}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What each replica reports holding.
async fn holdings(replicas: &[(&str, Option<SocketAddr>)]) -> anyhow::Result<Holdings> {
    let mut holdings = Holdings::new();
    for (replica, metrics) in replicas {
        let metrics = metrics.with_context(|| format!("replica {replica} serves no metrics"))?;
        let text = scrape(metrics)
            .await
            .with_context(|| format!("reading replica {replica}'s metrics at {metrics}"))?;
        for (consumer, topic, partition) in held(&text) {
            holdings
                .entry((consumer, topic))
                .or_default()
                .entry(replica.to_string())
                .or_default()
                .insert(partition);
        }
    }
    Ok(holdings)
}

/// [`balanced`] for two replicas, `first` and `second`, of a service
/// whose one consumer group is its projection of vendor events.
pub(super) async fn vendor_events_balanced(
    kafka: &KafkaSettings,
    first: Option<SocketAddr>,
    second: Option<SocketAddr>,
) -> anyhow::Result<Vec<String>> {
    balanced(
        &[("first", first), ("second", second)],
        &topics(kafka, &[topics::VENDOR_EVENTS]),
        Duration::from_secs(30),
    )
    .await
}

/// The names on the cluster and partitions of the suite's topics `names`.
pub(super) fn topics(kafka: &KafkaSettings, names: &[&str]) -> Vec<(String, i32)> {
    names
        .iter()
        .map(|name| {
            let partitions = topics::spec(name).map_or(1, |spec| spec.partitions);
            (kafka.topic(name), partitions)
        })
        .collect()
}

/// Why `holdings` is not a balanced assignment of `topics` over
/// `replicas`, if it is not.
fn unbalanced(holdings: &Holdings, replicas: &[&str], topics: &[(String, i32)]) -> Option<String> {
    for (topic, _) in topics {
        if !holdings.keys().any(|(_, held)| held == topic) {
            return Some(format!("no replica reports {topic} yet"));
        }
    }
    for ((consumer, topic), by_replica) in holdings {
        let Some((_, partitions)) = topics.iter().find(|(name, _)| name == topic) else {
            continue;
        };
        let partitions = *partitions;
        let counts: Vec<usize> = replicas
            .iter()
            .map(|r| by_replica.get(*r).map_or(0, BTreeSet::len))
            .collect();
        let all: BTreeSet<i32> = by_replica.values().flatten().copied().collect();
        let held: usize = counts.iter().sum();
        if all != (0..partitions).collect() {
            return Some(format!(
                "{consumer} holds {} of {topic}'s {partitions} partitions",
                all.len()
            ));
        }
        if held != all.len() {
            return Some(format!(
                "{consumer}: a partition of {topic} is held by two replicas"
            ));
        }
        let (most, least) = (
            counts.iter().max().copied().unwrap_or(0),
            counts.iter().min().copied().unwrap_or(0),
        );
        if most > least + 1 {
            return Some(format!(
                "{consumer}: {topic}'s partitions split {counts:?} over the replicas"
            ));
        }
    }
    None
}

fn describe(holdings: &Holdings, replicas: &[&str]) -> Vec<String> {
    holdings
        .iter()
        .map(|((consumer, topic), by_replica)| {
            let shares: Vec<String> = replicas
                .iter()
                .map(|r| {
                    let held = by_replica.get(*r).cloned().unwrap_or_default();
                    let list: Vec<String> = held.iter().map(i32::to_string).collect();
                    format!("{r} [{}]", list.join(","))
                })
                .collect();
            format!("{consumer} on {topic}: {}", shares.join(", "))
        })
        .collect()
}

/// `(consumer, topic, partition)` of every `blangkon_consumer_lag` series
/// in a metrics text.
fn held(metrics: &str) -> Vec<(String, String, i32)> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("blangkon_consumer_lag{"))
        .filter_map(|rest| {
            let (labels, _) = rest.split_once('}')?;
            let mut consumer = None;
            let mut topic = None;
            let mut partition = None;
            for label in labels.split(',') {
                let (name, value) = label.split_once('=')?;
                let value = value.trim_matches('"');
                match name {
                    "consumer" => consumer = Some(value.to_string()),
                    "topic" => topic = Some(value.to_string()),
                    "partition" => partition = value.parse().ok(),
                    _ => {}
                }
            }
            Some((consumer?, topic?, partition?))
        })
        .collect()
}

/// The text a replica serves at `/metrics` (a body of known length: the
/// exporter sends one, and a chunked one is refused rather than misread).
async fn scrape(at: SocketAddr) -> anyhow::Result<String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(at).await?;
        stream
            .write_all(
                format!("GET /metrics HTTP/1.1\r\nHost: {at}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        anyhow::Ok(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .context("no answer within 5 s")??;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("an answer without a body")?;
    anyhow::ensure!(
        head.starts_with("HTTP/1.1 200"),
        "answered {}",
        head.lines().next().unwrap_or_default()
    );
    anyhow::ensure!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "answered in chunks"
    );
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: &str = "\
# HELP blangkon_consumer_lag Records behind.
blangkon_consumer_lag{consumer=\"order-vendors\",topic=\"blangkon.vendor.events\",partition=\"0\"} 0
blangkon_consumer_lag{consumer=\"order-vendors\",topic=\"blangkon.vendor.events\",partition=\"2\"} 4
blangkon_consumer_events_total{consumer=\"order-vendors\",outcome=\"applied\"} 9
";

    fn six() -> Vec<(String, i32)> {
        vec![("t".to_string(), 6)]
    }

    fn holdings(shares: &[(&str, &[i32])]) -> Holdings {
        let mut holdings = Holdings::new();
        for (replica, partitions) in shares {
            holdings
                .entry(("c".into(), "t".into()))
                .or_default()
                .insert(replica.to_string(), partitions.iter().copied().collect());
        }
        holdings
    }

    #[test]
    fn reads_the_partitions_a_replica_holds() {
        let topic = "blangkon.vendor.events".to_string();
        assert_eq!(
            held(METRICS),
            vec![
                ("order-vendors".into(), topic.clone(), 0),
                ("order-vendors".into(), topic, 2)
            ]
        );
    }

    #[test]
    fn a_group_split_three_and_three_is_balanced() {
        let replicas = ["first", "second"];
        let even = holdings(&[("first", &[0, 1, 2]), ("second", &[3, 4, 5])]);
        assert_eq!(unbalanced(&even, &replicas, &six()), None);
        assert_eq!(
            describe(&even, &replicas),
            vec!["c on t: first [0,1,2], second [3,4,5]".to_string()]
        );
    }

    #[test]
    fn lopsided_missing_and_shared_partitions_are_not() {
        let replicas = ["first", "second"];
        for shares in [
            &[("first", &[0, 1, 2, 3, 4, 5][..])][..],
            &[("first", &[0, 1, 2, 3][..]), ("second", &[4, 5][..])],
            &[("first", &[0, 1, 2][..]), ("second", &[3, 4][..])],
            &[("first", &[0, 1, 2, 3][..]), ("second", &[3, 4, 5][..])],
        ] {
            assert!(
                unbalanced(&holdings(shares), &replicas, &six()).is_some(),
                "{shares:?}"
            );
        }
        assert!(unbalanced(&Holdings::new(), &replicas, &six()).is_some());
        // A topic expected but reported by nobody.
        let even = holdings(&[("first", &[0, 1, 2]), ("second", &[3, 4, 5])]);
        let more = [six(), vec![("u".to_string(), 6)]].concat();
        assert!(unbalanced(&even, &replicas, &more).is_some());
    }
}
