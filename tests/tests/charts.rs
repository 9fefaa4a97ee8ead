//! The Helm charts under `helm/`: their values schemas are generated from
//! the services' settings types and must be current; every chart lints
//! strictly, renders with the least values an install needs and with the
//! production example, and every object it renders is valid for
//! Kubernetes 1.30 and the newest version kubernetes-validate knows
//! (custom resources against the schemas in tests/charts/crds) and meets
//! the suite's policies; values an install must refuse are refused, saying
//! why. The checks themselves are tests/charts/check.py, on Helm's own SDK.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use blangkon_catalog::CatalogService;
use blangkon_order::OrderService;
use blangkon_reporting::ReportingService;
use blangkon_suite_tests::charts::{check_py, helm_dir, values_schema};
use blangkon_vendor::VendorService;

/// Runs `tests/charts/check.py <command> [args]`; fails with what it found.
fn check(command: &str, args: &[&str]) {
    let output = check_py(&[&[command], args].concat());
    assert!(
        output.status.success(),
        "check.py {command} found:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Each service chart's name and the schema generated for it.
fn schemas() -> [(&'static str, serde_json::Value); 4] {
    [
        ("vendor", values_schema::<VendorService>()),
        ("catalog", values_schema::<CatalogService>()),
        ("order", values_schema::<OrderService>()),
        ("reporting", values_schema::<ReportingService>()),
    ]
}

#[test]
fn every_chart_lints_strictly() {
    check("lint", &[]);
}

#[test]
fn every_chart_renders_valid_objects_that_meet_the_policies() {
    check("validate", &[]);
}

/// The umbrella chart's default install, kept rendered in
/// tests/charts/golden so that review sees a chart change as a diff.
/// `BLANGKON_BLESS=1` rewrites it.
#[test]
fn the_suite_renders_as_the_golden_manifests() {
    let bless = std::env::var_os("BLANGKON_BLESS").is_some();
    check("golden", if bless { &["--bless"] } else { &[] });
}

/// Each service chart's README lists every value with its type, default
/// and meaning, from the schema and values.yaml. `BLANGKON_BLESS=1`
/// rewrites the tables.
#[test]
fn the_chart_readmes_list_every_value() {
    let bless = std::env::var_os("BLANGKON_BLESS").is_some();
    check("readme", if bless { &["--bless"] } else { &[] });
}

/// The production examples in deploy/kubernetes (CloudNativePG, Strimzi,
/// the alerts) are valid, and the per-service values equal the suite's.
#[test]
fn the_deployment_examples_are_valid() {
    check("examples", &[]);
}

/// Every helm command of deploy/RUNBOOK.md renders with the values it
/// names, and every value the runbook mentions exists.
#[test]
fn the_runbook_uses_only_real_values() {
    check("runbook", &[]);
}

#[test]
fn values_an_install_cannot_use_are_refused_with_the_reason() {
    check("reject", &[]);
}

/// Each service chart's values.schema.json is what the generator makes of
/// the service's settings now. `BLANGKON_BLESS=1` rewrites them.
#[test]
fn chart_schemas_are_current() {
    let bless = std::env::var_os("BLANGKON_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in schemas() {
        let path = helm_dir().join(name).join("values.schema.json");
        let wanted = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let present = std::fs::read_to_string(&path).unwrap_or_default();
        if present != wanted {
            if bless {
                std::fs::write(&path, wanted).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date (regenerate: BLANGKON_BLESS=1 cargo test -p blangkon-suite-tests \
         --test charts chart_schemas_are_current): {stale:?}"
    );
}

/// Every setting a chart can set says what it is (from its doc comment).
#[test]
fn every_chart_setting_is_described() {
    fn undescribed(node: &serde_json::Value, path: String, found: &mut Vec<String>) {
        match node.get("properties").and_then(|p| p.as_object()) {
            Some(properties) => {
                for (key, child) in properties {
                    undescribed(child, format!("{path}.{key}"), found);
                }
            }
            None if node.get("description").is_none() => found.push(path),
            None => {}
        }
    }
    let mut found = Vec::new();
    for (name, schema) in schemas() {
        undescribed(
            &schema["properties"]["settings"],
            format!("{name}: settings"),
            &mut found,
        );
    }
    assert!(
        found.is_empty(),
        "settings without a doc comment: {found:?}"
    );
}
