//! The Helm charts' `values.schema.json`, generated: the chart's own keys
//! from `helm/schema/chart.json` (and `helm/schema/<service>.json`, where a
//! chart has keys of its own), and under `settings` exactly the keys the
//! service's binary reads, with their types and descriptions, from its
//! settings types (their doc comments). So a value that is not a real
//! setting cannot be set, and a new setting reaches the chart's schema the
//! day it is added (the test `chart_schemas_are_current` fails until the
//! schemas are regenerated with `BLANGKON_BLESS=1`).

use std::path::{Path, PathBuf};

use blangkon_platform::service::{Section, Service, Settings};
use blangkon_platform::settings::{
    AuthSettings, DatabaseSettings, GrpcSettings, HttpSettings, KafkaSettings, MetricsSettings,
    TelemetrySettings,
};
use schemars::JsonSchema;
use serde_json::{Map, Value, json};

/// Settings the chart decides itself, which its values cannot set: the
/// listen addresses (from the ports), whether the service migrates (a Job
/// does), the metrics switch (`metrics.enabled`), the catalog's search
/// index directory (an emptyDir, `searchIndex`), and everything secret or
/// mounted from a Secret.
const SET_BY_THE_CHART: &[&[&str]] = &[
    &["grpc", "listen"],
    &["grpc", "tls"],
    &["grpc", "health_listen"],
    &["http", "enabled"],
    &["http", "listen"],
    &["order", "peer_tls"],
    &["catalog", "search_index_dir"],
    &["metrics"],
    &["database", "url"],
    &["database", "migrate_on_start"],
    &["database", "tls"],
    &["auth", "hs256_secret"],
    &["auth", "client", "secret"],
    &["kafka", "security", "sasl_password"],
    &["kafka", "security", "ssl_key_password"],
    &["kafka", "security", "ssl_ca_location"],
    &["kafka", "security", "ssl_certificate_location"],
    &["kafka", "security", "ssl_key_location"],
];

/// Runs `tests/charts/check.py` (the offline chart checks, on Helm's own
/// SDK) with `args`, with the project's Python tools.
pub fn check_py(args: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/check.py");
    std::process::Command::new(blangkon_testkit::python_tools().join("python"))
        .arg(&script)
        .args(args)
        .output()
        .expect("run tests/charts/check.py")
}

/// The repository's `helm/` directory.
pub fn helm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .join("helm")
}

/// The `values.schema.json` of service `S`'s chart.
pub fn values_schema<S>() -> Value
where
    S: Service,
    S::Section: JsonSchema,
{
    let base = std::fs::read_to_string(helm_dir().join("schema/chart.json"))
        .expect("helm/schema/chart.json");
    let mut schema: Value = serde_json::from_str(&base).expect("helm/schema/chart.json is JSON");
    schema["title"] = json!(format!("Values of the Blangkon {} chart", S::ABOUT.name));
    schema["properties"]["service"]["const"] = json!(S::ABOUT.name);
    schema["properties"]["settings"] = settings_schema::<S>();
    // A chart's own keys, beside the shared ones (reporting's rebuild Job).
    let own = helm_dir().join(format!("schema/{}.json", S::ABOUT.name));
    if let Ok(text) = std::fs::read_to_string(&own) {
        let own: Value = serde_json::from_str(&text).expect("a chart's schema additions are JSON");
        if let (Some(properties), Some(more)) = (
            schema["properties"].as_object_mut(),
            own["properties"].as_object(),
        ) {
            properties.extend(more.clone());
        }
    }
    schema
}

/// The schema of the settings the chart may set for `S`.
fn settings_schema<S>() -> Value
where
    S: Service,
    S::Section: JsonSchema,
{
    let mut sections = Map::new();
    sections.insert("grpc".into(), section::<GrpcSettings>());
    sections.insert("http".into(), section::<HttpSettings>());
    sections.insert("database".into(), section::<DatabaseSettings>());
    sections.insert("kafka".into(), section::<KafkaSettings>());
    sections.insert("auth".into(), section::<AuthSettings>());
    sections.insert("telemetry".into(), section::<TelemetrySettings>());
    sections.insert("metrics".into(), section::<MetricsSettings>());
    // A section that is not a table (the vendor service's list of extra
    // regencies) cannot be written as environment variables: the config
    // file or the CLI sets it.
    let own = section::<S::Section>();
    if own["type"] == "object" {
        sections.insert(<S::Section as Section>::KEY.into(), own);
    }
    let mut settings = json!({
        "type": "object",
        "additionalProperties": false,
        "description": format!(
            "The {} service's settings, as in its config file: each leaf becomes the \
             environment variable BLANGKON_{}__<SECTION>__<KEY>; unset keys keep the \
             binary's defaults",
            S::ABOUT.name,
            S::ABOUT.name.to_uppercase()
        ),
        "properties": sections,
    });
    for path in SET_BY_THE_CHART {
        remove(&mut settings, path);
    }
    let defaults = serde_json::to_value(Settings::<S>::default()).expect("settings serialise");
    annotate_defaults(&mut settings, &defaults);
    settings
}

/// Gives each setting the binary's default as its schema's `default` (an
/// annotation: it documents, it does not change what the chart renders).
fn annotate_defaults(schema: &mut Value, defaults: &Value) {
    match schema.get_mut("properties").and_then(Value::as_object_mut) {
        Some(properties) => {
            for (key, child) in properties {
                if let Some(default) = defaults.get(key) {
                    annotate_defaults(child, default);
                }
            }
        }
        None => {
            if let Some(object) = schema.as_object_mut() {
                object.insert("default".into(), defaults.clone());
            }
        }
    }
}

/// One settings type's schema, inlined, with every key optional (the
/// binary has a default for each) and no formats beyond JSON's types.
fn section<T: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft07()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
        object.remove("title");
    }
    tidy(&mut schema);
    schema
}

fn tidy(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            object.remove("required");
            object.remove("format");
            object.remove("default");
            for value in object.values_mut() {
                tidy(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// Removes the key at `path` under `schema`'s properties, and a section
/// left with no key at all.
fn remove(schema: &mut Value, path: &[&str]) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    match path {
        [] => {}
        [key] => {
            properties.remove(*key);
        }
        [key, rest @ ..] => {
            if let Some(section) = properties.get_mut(*key) {
                remove(section, rest);
                let emptied = section
                    .get("properties")
                    .and_then(Value::as_object)
                    .is_some_and(Map::is_empty);
                if emptied {
                    properties.remove(*key);
                }
            }
        }
    }
}
