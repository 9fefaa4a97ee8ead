//! A Kafka-protocol broker of one test's own, which the test may hang and
//! resume.

use blangkon_testkit::{TestKafka, eventually};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// A Kafka-protocol broker of one test's own: a tansu process where tansu
/// is installed (`deploy/local/tansu.sh install`; CI has it), which the
/// test can hang (SIGSTOP) and resume; else librdkafka's mock cluster,
/// whose broker the test takes down and up instead.
pub struct Broker {
    pub kafka: TestKafka,
    process: Option<Child>,
}

impl Broker {
    pub async fn start() -> Self {
        let Some(tansu) = tansu_binary() else {
            // The mock cluster's broker can be taken down and up too, but
            // only tansu hangs as a real broker does: CI must have it.
            blangkon_testkit::missing_part(
                "a broker fault test on a real broker",
                "tansu (deploy/local/tansu.sh install)",
            );
            return Self {
                kafka: TestKafka::mock(),
                process: None,
            };
        };
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let process = Command::new(tansu)
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://{address}"),
                "--advertised-listener-url",
                &format!("tcp://{address}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start tansu");
        let what = format!("tansu listens on {address}");
        eventually(&what, Duration::from_secs(10), || async {
            tokio::net::TcpStream::connect(&address).await.ok()
        })
        .await;
        Self {
            kafka: TestKafka::external(address),
            process: Some(process),
        }
    }

    /// What the fault is on this broker, for the report.
    pub fn kind(&self) -> &'static str {
        if self.process.is_some() {
            "tansu"
        } else {
            "mock cluster"
        }
    }

    /// Freezes the broker: connections stay open and nothing is answered.
    pub fn hang(&self) {
        match &self.process {
            Some(process) => signal(process.id(), Signal::SIGSTOP),
            None => self.kafka.broker_down(),
        }
    }

    pub fn resume(&self) {
        match &self.process {
            Some(process) => signal(process.id(), Signal::SIGCONT),
            None => self.kafka.broker_up(),
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(process) = &mut self.process {
            // SIGKILL ends it even while the test has it stopped.
            let _ = process.start_kill();
        }
    }
}

/// Sends `signal` to the process `id` (`None`: it has exited), or fails
/// the test.
pub(crate) fn signal(id: Option<u32>, signal: Signal) {
    let id = id.unwrap_or_else(|| panic!("{signal} to a process that has exited"));
    let pid = Pid::from_raw(i32::try_from(id).expect("a pid fits in i32"));
    nix::sys::signal::kill(pid, signal).unwrap_or_else(|e| panic!("{signal} to {id}: {e}"));
}

pub use blangkon_testkit::{free_port, tansu_binary};
