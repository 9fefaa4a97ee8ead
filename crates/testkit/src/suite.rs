//! Services under test, started the way `blangkon dev` and the benchmarks
//! start them (the platform's [`Suite`]), tuned for tests: one broker per
//! test (or the shared one CI names) with consumer groups of the test's
//! own, the test issuer, loopback ports picked by the system, quick relay
//! polls.

use std::time::Duration;

use blangkon_platform::service::{Service, Settings};
use blangkon_platform::suite::{Running, Suite};

use crate::fixtures::issuer;
use crate::{TestDatabase, TestKafka};

/// One test's services: their broker and how they are configured.
pub struct TestSuite {
    pub kafka: TestKafka,
    /// What the services share; a test may change it before starting them.
    pub config: Suite,
}

impl TestSuite {
    /// On a broker of the test's own (or the one CI names).
    pub fn new() -> Self {
        Self::on(TestKafka::new())
    }

    /// On `kafka`.
    pub fn on(kafka: TestKafka) -> Self {
        crate::init_tracing();
        let mut suite = Suite::new(kafka.bootstrap.clone(), issuer());
        suite.kafka.relay_poll_ms = 200;
        suite.kafka.delivery_timeout_ms = 3000;
        // The mock cluster has no CreateTopics API; it creates topics on
        // first use, or the test makes them with `TestKafka::create_topic`.
        suite.kafka.create_topics = !kafka.is_mock();
        // Tests sharing one broker must not share consumer groups.
        suite.kafka.consumer_group_prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        suite.kafka.properties.extend(kafka.client_properties());
        Self {
            kafka,
            config: suite,
        }
    }

    /// The settings of `S` on `db`, on a free port.
    pub fn settings<S: Service>(&self, db: &TestDatabase) -> Settings<S> {
        self.settings_at(db, 0)
    }

    /// The settings of `S` on `db`, listening on `port`: a service started
    /// again where its peers already call it.
    pub fn settings_at<S: Service>(&self, db: &TestDatabase, port: u16) -> Settings<S> {
        self.config.settings::<S>(db.url.as_str(), port)
    }

    /// Starts `S` with `settings`; a service that does not start fails the
    /// test with the reason.
    pub async fn start<S: Service>(&self, settings: Settings<S>) -> Running<S> {
        match self.config.start(settings).await {
            Ok(running) => running,
            Err(e) => panic!("the {} service did not start: {e}", S::ABOUT.name),
        }
    }

    /// Starts `S` with its test settings on `db`.
    pub async fn start_on<S: Service>(&self, db: &TestDatabase) -> Running<S> {
        self.start(self.settings(db)).await
    }
}

impl Default for TestSuite {
    fn default() -> Self {
        Self::new()
    }
}

/// Stops `service` and fails the test unless it drains and stops cleanly
/// within 30 s.
pub async fn stop<S: Service>(service: Running<S>) {
    if let Err(e) = service.stop(Duration::from_secs(30)).await {
        panic!("{e}");
    }
}
