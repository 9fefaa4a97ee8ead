//! The chart and the binary agree: the umbrella chart is rendered with
//! this test's images, ports, databases and broker, and each Job and
//! Deployment it renders is run with podman exactly as rendered — its
//! image, args, environment (Secret references filled from the test's own
//! Secrets), ports, probes and security context. The migration Jobs
//! migrate; each Deployment's container answers its gRPC probe `SERVING` on
//! the port the chart names and `/metrics` on the metrics port; and the
//! order service reaches the vendor and catalog services through the
//! endpoints the chart configured (their Service names, resolved to the
//! host as a cluster's DNS would resolve them): an order is placed.
//!
//! Needs what the image test needs (podman, the offline base, PostgreSQL).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use blangkon_order::OrderService;
use blangkon_platform::service::Service as _;
use blangkon_suite_tests::charts::check_py;
use blangkon_suite_tests::containers::{Confinement, Image, Running, can_run, health};
use blangkon_suite_tests::{free_port, place_one_at, report, scrape, stock_a_product, with_topics};
use blangkon_testkit::{TestDatabase, TestKafka, TestSuite};
use serde_json::{Value, json};
use tonic_health::pb::health_check_response::ServingStatus;

const SERVICES: [&str; 4] = ["vendor", "catalog", "order", "reporting"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rendered_chart_runs_the_images_as_a_cluster_would() {
    if !can_run("chart run test").await {
        return;
    }
    let kafka = TestKafka::new();
    let suite = with_topics(
        TestSuite::on(TestKafka::external(kafka.bootstrap.clone())),
        &kafka,
    )
    .await;

    // The test's own images, ports, databases and Secrets.
    let images: BTreeMap<&str, Image> = SERVICES.iter().map(|s| (*s, Image::build(s))).collect();
    let grpc: BTreeMap<&str, u16> = SERVICES.iter().map(|s| (*s, free_port())).collect();
    let mut secrets: BTreeMap<(String, String), String> = BTreeMap::new();
    // The order service's client at the test issuer, as the province's
    // provider would have registered it.
    let order_auth = suite.config.auth_of(&OrderService::ABOUT);
    secrets.insert(
        ("order-client".into(), "client-secret".into()),
        order_auth.client.secret.expose().to_string(),
    );
    let mut databases = Vec::new();
    let mut values = serde_json::Map::new();
    for service in SERVICES {
        let db = TestDatabase::new().await;
        secrets.insert((format!("{service}-db"), "uri".into()), db.url.clone());
        databases.push(db);
        let (repository, tag) = images[service].tag.rsplit_once(':').unwrap();
        let kafka = &suite.config.kafka;
        let mut service_values = json!({
            "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
            "grpc": {"port": grpc[service]},
            "metrics": {"port": free_port()},
            "publicHttp": {"port": free_port()},
            "database": {"existingSecret": format!("{service}-db")},
            "settings": {
                "auth": {"issuer": suite.config.auth.issuer},
                "kafka": {
                    "bootstrap_servers": kafka.bootstrap_servers,
                    "consumer_group_prefix": kafka.consumer_group_prefix,
                    "create_topics": kafka.create_topics,
                    "replication_factor": 1,
                    "relay_poll_ms": 200,
                },
            },
        });
        if service == "order" {
            service_values["auth"] = json!({"client": {"existingSecret": "order-client"}});
            service_values["settings"]["auth"]["client"] = json!({
                "id": order_auth.client.id,
                "token_url": order_auth.client.token_url,
            });
            service_values["peers"] = json!({
                "vendor": {"port": grpc["vendor"]},
                "catalog": {"port": grpc["catalog"]},
            });
        }
        values.insert(service.into(), service_values);
    }
    let objects = render(&Value::Object(values));

    // Cluster DNS: every Service name the chart made resolves to the host,
    // where the containers listen.
    let hosts: Vec<String> = objects
        .iter()
        .filter(|o| o["kind"] == "Service")
        .map(|o| {
            format!(
                "--add-host={}:127.0.0.1",
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();

    let started = Instant::now();
    for job in objects.iter().filter(|o| o["kind"] == "Job") {
        let out = run_as_rendered(job, &images, &secrets, &hosts, vec!["--rm".into()]);
        assert!(
            out.status.success(),
            "Job {} failed: {}",
            job["metadata"]["name"],
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let migrated = started.elapsed();
    for db in &databases {
        assert!(db.count("seaql_migrations").await > 0);
    }

    let started = Instant::now();
    let mut running = Vec::new();
    let mut public_apis = 0;
    for deployment in objects.iter().filter(|o| o["kind"] == "Deployment") {
        let name = format!(
            "{}-{}",
            deployment["metadata"]["name"].as_str().unwrap(),
            uuid::Uuid::new_v4().simple()
        );
        let options = vec!["--detach".to_string(), format!("--name={name}")];
        let out = run_as_rendered(deployment, &images, &secrets, &hosts, options);
        assert!(
            out.status.success(),
            "Deployment {} did not start: {}",
            deployment["metadata"]["name"],
            String::from_utf8_lossy(&out.stderr)
        );
        let container = deployment["spec"]["template"]["spec"]["containers"][0].clone();
        running.push((Running(name), container));
    }
    for (container_run, container) in &running {
        // The probes the chart gives Kubernetes, asked the way the kubelet
        // asks them: gRPC health of the whole server on the probe's port.
        let probe_port = container["readinessProbe"]["grpc"]["port"]
            .as_u64()
            .unwrap();
        assert_eq!(
            Some(probe_port),
            port_named(container, "grpc"),
            "the readiness probe asks the gRPC port"
        );
        let endpoint = format!("http://127.0.0.1:{probe_port}");
        container_run.until_serving(&endpoint, "").await;
        let liveness = &container["livenessProbe"]["grpc"];
        assert_eq!(liveness["port"].as_u64(), Some(probe_port));
        assert_eq!(
            health(&endpoint, liveness["service"].as_str().unwrap()).await,
            Some(ServingStatus::Serving),
            "the liveness probe's health service answers"
        );
        let metrics = port_named(container, "metrics").unwrap();
        let answer = scrape(SocketAddr::from(([127, 0, 0, 1], metrics as u16)));
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // The public HTTP API, where the chart serves one (catalog and
        // reporting), on the port it names.
        if let Some(http) = port_named(container, "http") {
            let document = reqwest::get(format!("http://127.0.0.1:{http}/api/v1/openapi.json"))
                .await
                .unwrap();
            assert_eq!(document.status(), 200);
            public_apis += 1;
        }
        container_run.check_confinement();
    }
    let serving = started.elapsed();
    assert_eq!(
        public_apis, 2,
        "the catalog's and reporting's public HTTP APIs"
    );

    // The order service calls its peers where the chart told it to.
    let endpoint = |service: &str| format!("http://127.0.0.1:{}", grpc[service]);
    let product_id = stock_a_product(&endpoint("vendor"), &endpoint("catalog")).await;
    let order = place_one_at(&endpoint("order"), &product_id).await;
    assert_eq!(order.items.len(), 1);

    report(format_args!(
        "chart run: {} Jobs migrated in {:.1}s, {} Deployments SERVING in {:.1}s, an order \
         placed through the peers the chart configured",
        objects.iter().filter(|o| o["kind"] == "Job").count(),
        migrated.as_secs_f64(),
        running.len(),
        serving.as_secs_f64(),
    ));
    for (container_run, _) in &running {
        container_run.stop_within_grace("the rendered Deployment");
    }
}

/// The umbrella chart rendered with `values` (through check.py render).
fn render(values: &Value) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, serde_json::to_string(values).unwrap()).unwrap();
    let output = check_py(&["render", "blangkon", file.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "rendering failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rendered: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    rendered
        .into_iter()
        .map(|item| item["object"].clone())
        .collect()
}

/// `podman run` of a rendered Job's or Deployment's container as the
/// kubelet would run it: its image, args, environment and security
/// context, with the Service names resolving to the host.
fn run_as_rendered(
    workload: &Value,
    images: &BTreeMap<&str, Image>,
    secrets: &BTreeMap<(String, String), String>,
    hosts: &[String],
    mut options: Vec<String>,
) -> std::process::Output {
    let spec = &workload["spec"]["template"]["spec"];
    let container = &spec["containers"][0];
    options.extend(hosts.iter().cloned());
    image_of(images, container).run(
        &confinement(spec, container),
        &env(container, secrets),
        &options,
        &args(container),
    )
}

/// The test's image the container names, which must be the one rendered.
fn image_of<'a>(images: &'a BTreeMap<&str, Image>, container: &Value) -> &'a Image {
    let named = container["image"].as_str().unwrap();
    images
        .values()
        .find(|image| image.tag == named)
        .unwrap_or_else(|| panic!("the chart names the image {named}, not the test's"))
}

fn args(container: &Value) -> Vec<String> {
    container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// The address a pod has here: the containers run on the host's network,
/// where the Service names resolve too.
const POD_IP: &str = "127.0.0.1";

/// The container's environment as the kubelet makes it: Secret references
/// filled from `secrets` (a missing optional key is left out), the pod's
/// IP from the downward API, and `$(NAME)` in a value replaced by an
/// earlier variable's value.
fn env(container: &Value, secrets: &BTreeMap<(String, String), String>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for entry in container["env"].as_array().unwrap() {
        let name = entry["name"].as_str().unwrap().to_string();
        if let Some(value) = entry["value"].as_str() {
            let mut value = value.to_string();
            for (earlier, its) in &env {
                value = value.replace(&format!("$({earlier})"), its);
            }
            assert!(
                !value.contains("$("),
                "{name}={value} refers to no earlier variable"
            );
            env.push((name, value));
            continue;
        }
        if let Some(field) = entry["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            assert_eq!(
                field, "status.podIP",
                "{name}: only the pod's IP is emulated"
            );
            env.push((name, POD_IP.to_string()));
            continue;
        }
        let reference = &entry["valueFrom"]["secretKeyRef"];
        let key = (
            reference["name"].as_str().unwrap().to_string(),
            reference["key"].as_str().unwrap().to_string(),
        );
        match secrets.get(&key) {
            Some(value) => env.push((name, value.clone())),
            None if reference["optional"] == true => {}
            None => panic!("{name} refers to Secret {key:?}, which the test does not have"),
        }
    }
    env
}

/// podman's confinement from the pod's and the container's security
/// context.
fn confinement(pod: &Value, container: &Value) -> Confinement {
    let security = &container["securityContext"];
    let user = |key: &str| {
        security[key]
            .as_u64()
            .or_else(|| pod["securityContext"][key].as_u64())
    };
    Confinement {
        read_only_root: security["readOnlyRootFilesystem"] == true,
        scratch: empty_dirs(pod, container),
        drop_all_capabilities: security["capabilities"]["drop"] == json!(["ALL"]),
        no_new_privileges: security["allowPrivilegeEscalation"] == false,
        user: match (user("runAsUser"), user("runAsGroup")) {
            (Some(uid), Some(gid)) => Some(format!("{uid}:{gid}")),
            (Some(uid), None) => Some(uid.to_string()),
            _ => None,
        },
    }
}

/// Where the container mounts the pod's emptyDir volumes.
fn empty_dirs(pod: &Value, container: &Value) -> Vec<String> {
    let Some(mounts) = container["volumeMounts"].as_array() else {
        return Vec::new();
    };
    let empty: Vec<&Value> = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v.get("emptyDir").is_some())
        .map(|v| &v["name"])
        .collect();
    mounts
        .iter()
        .filter(|m| empty.contains(&&m["name"]))
        .map(|m| m["mountPath"].as_str().unwrap().to_string())
        .collect()
}

fn port_named(container: &Value, name: &str) -> Option<u64> {
    container["ports"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["containerPort"]
        .as_u64()
}
