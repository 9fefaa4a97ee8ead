//! Containers of the services' images, with podman: built from the
//! Dockerfile's runtime stage around this test run's binaries, on the
//! offline copy of the distroless base (deploy/docker/test-base.sh), and
//! run on the host's network the way a pod's security context confines
//! them. Used by the image test and the chart test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::service_binary;

/// The offline copy of gcr.io/distroless/cc-debian12 the images build on.
pub const BASE_IMAGE: &str = "localhost/blangkon-test-base:bookworm";
/// What the image builds pass as VERSION.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// How long `podman stop` waits for a container to exit on SIGTERM before
/// it sends SIGKILL: the services' default drain.
pub const GRACE_SECS: u64 = 20;

/// Whether a test of containers can run here; says why not, and fails in
/// CI, where .ci/run installs what it needs.
pub async fn can_run(test: &str) -> bool {
    let missing = match missing_prerequisite() {
        Some(missing) => Some(missing),
        None if !blangkon_testkit::TestDatabase::new().await.is_postgres() => {
            Some(format!("PostgreSQL ({})", blangkon_testkit::DATABASE_ENV))
        }
        None => None,
    };
    let Some(missing) = missing else {
        return true;
    };
    blangkon_testkit::missing_part(test, &missing);
    false
}

/// Why the test cannot run here, if it cannot.
pub fn missing_prerequisite() -> Option<String> {
    match Command::new("podman")
        .args(["image", "exists", BASE_IMAGE])
        .status()
    {
        Err(_) => Some("podman is not installed (deploy/docker/test-base.sh)".into()),
        Ok(status) if !status.success() => Some(format!(
            "no {BASE_IMAGE} image (deploy/docker/test-base.sh makes it)"
        )),
        Ok(_) => None,
    }
}

/// `podman <args>`, its output.
pub fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .args(args)
        .output()
        .expect("run podman")
}

/// The workspace's root directory.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A service's image, removed when the test is done with it.
pub struct Image {
    pub tag: String,
    /// The image of the Dockerfile's `context` stage: the binary alone.
    binary_tag: String,
}

impl Image {
    /// The Dockerfile's runtime stage around the binary of this test run,
    /// in two builds: the `context` stage wraps the binary into an image of
    /// its own, which the runtime stage then takes as `BINARY_FROM`. Both
    /// are tagged, so nothing is left behind (buildah keeps an untagged
    /// image of each stage it builds along the way).
    pub fn build(name: &str) -> Self {
        let context = tempfile::tempdir().unwrap();
        let binary = service_binary(name);
        let wrapped = context.path().join(format!("blangkon-{name}"));
        if std::fs::hard_link(&binary, &wrapped).is_err() {
            std::fs::copy(&binary, &wrapped).unwrap();
        }
        let id = uuid::Uuid::new_v4().simple();
        let image = Self {
            tag: format!("localhost/blangkon-{name}:test-{id}"),
            binary_tag: format!("localhost/blangkon-{name}-binary:test-{id}"),
        };
        let dockerfile = repository_root().join("deploy/docker/Dockerfile");
        let build = |target: &str, tag: &str, binary_from: &str| {
            let out = podman(&[
                "build",
                "--pull=never",
                "--quiet",
                "--layers=false",
                "--file",
                dockerfile.to_str().unwrap(),
                "--target",
                target,
                "--build-arg",
                &format!("SERVICE={name}"),
                "--build-arg",
                &format!("BINARY_FROM={binary_from}"),
                "--build-arg",
                &format!("RUNTIME_BASE={BASE_IMAGE}"),
                "--build-arg",
                &format!("VERSION={VERSION}"),
                "--build-arg",
                "REVISION=test",
                "--tag",
                tag,
                context.path().to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "building blangkon-{name}'s {target} stage failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        build("context", &image.binary_tag, "context");
        build("runtime", &image.tag, &image.binary_tag);
        image
    }

    pub fn inspect(&self, format: &str) -> String {
        let out = podman(&["image", "inspect", "--format", format, &self.tag]);
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn size_bytes(&self) -> u64 {
        self.inspect("{{.Size}}").parse().unwrap()
    }

    /// `podman run` of this image, confined as `confinement` says, on the
    /// host's network (PostgreSQL and the broker listen on loopback).
    pub fn run(
        &self,
        confinement: &Confinement,
        env: &[(String, String)],
        options: &[String],
        command: &[String],
    ) -> Output {
        // podman asks the runtime to raise RLIMIT_NOFILE and RLIMIT_NPROC,
        // which sandboxes such as CI's forbid: this runc lets the container
        // keep the limits it inherits.
        let runtime = repository_root().join("deploy/docker/runc-inherit-rlimits");
        let mut args: Vec<String> = vec![
            format!("--runtime={}", runtime.display()),
            "run".into(),
            "--network=host".into(),
            "--pull=never".into(),
        ];
        args.extend(confinement.options());
        args.extend(options.iter().cloned());
        for (key, value) in env {
            args.push(format!("--env={key}={value}"));
        }
        args.push(self.tag.clone());
        args.extend(command.iter().cloned());
        Command::new("podman")
            .args(&args)
            .output()
            .expect("run podman")
    }
}

/// How a container is confined, as a pod's security context says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confinement {
    /// A read-only root and nothing writable but `scratch`: no tmpfs on
    /// `/tmp` either (podman's default with `--read-only`), as in a pod.
    pub read_only_root: bool,
    /// Writable empty directories (a pod's emptyDir volumes), as tmpfs.
    pub scratch: Vec<String>,
    pub drop_all_capabilities: bool,
    pub no_new_privileges: bool,
    /// `uid:gid`; `None` keeps the image's user.
    pub user: Option<String>,
}

impl Confinement {
    /// The restricted Pod Security Standard, with the image's own user.
    pub fn restricted() -> Self {
        Self {
            read_only_root: true,
            scratch: Vec::new(),
            drop_all_capabilities: true,
            no_new_privileges: true,
            user: None,
        }
    }

    fn options(&self) -> Vec<String> {
        let mut options = Vec::new();
        if self.read_only_root {
            options.push("--read-only".into());
            options.push("--read-only-tmpfs=false".into());
        }
        for path in &self.scratch {
            // An emptyDir is writable by the pod's user, whoever it is.
            options.push(format!("--tmpfs={path}:rw,mode=1777"));
        }
        if self.drop_all_capabilities {
            options.push("--cap-drop=ALL".into());
        }
        if self.no_new_privileges {
            options.push("--security-opt=no-new-privileges".into());
        }
        if let Some(user) = &self.user {
            options.push(format!("--user={user}"));
        }
        options
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = podman(&["image", "rm", "--force", &self.tag, &self.binary_tag]);
    }
}

/// A detached container, removed when the test is done with it.
pub struct Running(pub String);

impl Running {
    pub fn inspect(&self, format: &str) -> String {
        let out = podman(&["container", "inspect", "--format", format, &self.0]);
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn logs(&self) -> String {
        let out = podman(&["logs", &self.0]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    pub async fn until_serving(&self, endpoint: &str, service: &str) {
        let serving = async {
            loop {
                // "": the whole server, what a Kubernetes gRPC probe asks.
                if health(endpoint, "").await == Some(ServingStatus::Serving)
                    && health(endpoint, service).await == Some(ServingStatus::Serving)
                {
                    return;
                }
                assert!(
                    self.inspect("{{.State.Running}}") == "true",
                    "the container exited: {}",
                    self.logs()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        // The whole wait is bounded, a hanging probe included; the
        // container's logs say why it did not serve.
        if tokio::time::timeout(Duration::from_secs(60), serving)
            .await
            .is_err()
        {
            panic!("not SERVING within 60 s: {}", self.logs());
        }
    }

    /// The service's process, seen from the host: not root, no
    /// capabilities, no way to gain privileges, a read-only root.
    pub fn check_confinement(&self) {
        let pid = self.inspect("{{.State.Pid}}");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.split_whitespace().collect::<Vec<_>>())
                .unwrap()
        };
        assert_eq!(field("Uid:"), ["65532"; 4], "runs as the non-root user");
        assert_eq!(field("Gid:"), ["65532"; 4]);
        assert_eq!(field("CapEff:"), ["0000000000000000"], "no capabilities");
        assert_eq!(field("CapPrm:"), ["0000000000000000"]);
        assert_eq!(field("NoNewPrivs:"), ["1"]);
        let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
        let root = mounts
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|fields| fields[4] == "/")
            .unwrap();
        assert!(
            root[5].split(',').any(|option| option == "ro"),
            "the root filesystem is mounted {}",
            root[5]
        );
    }

    /// What a log collector reads: one JSON object per line.
    pub fn check_json_logs(&self) {
        let logs = self.logs();
        let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!lines.is_empty(), "the service logged nothing");
        for line in lines {
            assert!(
                serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object()),
                "not a JSON log line: {line}"
            );
        }
    }

    /// `podman stop`: SIGTERM, then SIGKILL after the grace period. The
    /// service must have exited by itself, with status 0, before that.
    pub fn stop_within_grace(&self, name: &str) -> Duration {
        let started = Instant::now();
        let stop = podman(&["stop", "--time", &GRACE_SECS.to_string(), &self.0]);
        let stopped = started.elapsed();
        assert!(stop.status.success());
        assert_eq!(
            self.inspect("{{.State.ExitCode}}"),
            "0",
            "blangkon-{name} did not exit cleanly on SIGTERM: {}",
            self.logs()
        );
        stopped
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = podman(&["rm", "--force", "--time", "0", &self.0]);
    }
}

/// The gRPC health of `service` at `endpoint`, if it answers.
pub async fn health(endpoint: &str, service: &str) -> Option<ServingStatus> {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_string())
        .ok()?
        .connect()
        .await
        .ok()?;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .ok()?
        .into_inner();
    ServingStatus::try_from(answer.status).ok()
}
