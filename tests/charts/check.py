"""Offline checks of the Helm charts under helm/, run by tests/tests/charts.rs
with the project's Python tools (deploy/local/python-tools.sh):

  check.py lint                   helm lint --strict of every chart
  check.py validate               render every chart with each values set,
                                  validate every object (Kubernetes 1.30 and
                                  the newest schemas, strict; custom resources
                                  against tests/charts/crds) and its policies
  check.py reject                 values that must be refused, and why
  check.py golden [--bless]       the umbrella chart's install with the
                                  minimal values, against tests/charts/golden
  check.py readme [--bless]       each service chart's README values table,
                                  from its values.schema.json and values.yaml
  check.py examples               deploy/kubernetes's manifests, validated
  check.py runbook                every helm command in deploy/RUNBOOK.md
                                  renders, with the value names it uses
  check.py render CHART VALUES... the rendered objects as JSON, for the tests

Charts are copied to a temporary directory first: resolving the file://
dependencies writes charts/ and Chart.lock, which stay out of the tree.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import helm_python as helm
import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
HELM = ROOT / "helm"
HERE = Path(__file__).resolve().parent
SERVICES = ["vendor", "catalog", "order", "reporting"]
CHARTS = SERVICES + ["blangkon"]
# The oldest Kubernetes the charts promise to support well, and the newest
# kubernetes-validate knows.
KUBERNETES = ["1.30.0", kubernetes_validate.utils.latest_version()]
RELEASE = "blangkon"
NAMESPACE = "blangkon"


class Charts:
    """The charts, copied and with their dependencies resolved."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="blangkon-charts-")
        self.root = Path(self._dir.name)
        shutil.copytree(HELM, self.root, dirs_exist_ok=True)
        for chart in SERVICES + ["blangkon"]:
            helm.dependency_update(str(self.root / chart))

    def path(self, chart: str) -> str:
        return str(self.root / chart)

    def render(self, chart: str, values: dict, release: str = RELEASE) -> list[dict]:
        loaded = helm.Chart.load(self.path(chart))
        manifests = loaded.render(values, name=release, namespace=NAMESPACE, is_install=True)
        objects = []
        for template, text in sorted(manifests.items()):
            if template.endswith("NOTES.txt"):
                continue
            for document in yaml.safe_load_all(text):
                if document:
                    objects.append({"template": template, "object": document})
        return objects


def values_sets(chart: str) -> dict[str, dict]:
    """The values each chart is checked with: the least an install needs,
    and the production example (deploy/kubernetes)."""
    shared = yaml.safe_load((HERE / "values" / "minimal.yaml").read_text())
    # What a service needs beyond the shared least (the order service's
    # OAuth client for its calls).
    own = yaml.safe_load((HERE / "values" / "minimal-own.yaml").read_text())
    minimal = {s: merge(shared, own.get(s) or {}) for s in SERVICES}
    production = yaml.safe_load(
        (ROOT / "deploy" / "kubernetes" / "values-production.yaml").read_text()
    )
    if chart == "blangkon":
        return {"minimal": minimal, "production": production}
    if chart not in minimal:
        return {"minimal": shared, "production": production.get(chart)}
    return {"minimal": minimal[chart], "production": production[chart]}


def load_values(files: list[str]) -> dict:
    merged: dict = {}
    for name in files:
        merged = merge(merged, yaml.safe_load(Path(name).read_text()) or {})
    return merged


def merge(base: dict, more: dict) -> dict:
    out = dict(base)
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def lint(charts: Charts) -> list[str]:
    problems = []
    for chart in CHARTS + ["blangkon-common"]:
        values = values_sets(chart)["minimal"] if chart != "blangkon-common" else None
        for version in KUBERNETES:
            report = helm.lint(charts.path(chart), values, strict=True, kube_version=f"v{version}")
            for message in report.get("messages", []):
                # 1 = info ("icon is recommended"): not a finding.
                if message["severity"] >= 2:
                    problems.append(f"{chart} (k8s {version}): {message['path']}: {message['error']}")
            problems += [f"{chart} (k8s {version}): {e}" for e in report.get("errors", [])]
    return problems


def crd_schema(obj: dict) -> dict | None:
    group = obj["apiVersion"].split("/")[0]
    path = HERE / "crds" / f"{obj['kind'].lower()}.{group}.json"
    return json.loads(path.read_text()) if path.exists() else None


def validate_object(obj: dict) -> list[str]:
    name = f"{obj['kind']}/{obj['metadata'].get('name')}"
    schema = crd_schema(obj)
    if schema is not None:
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(obj), key=str)
        return [f"{name}: {e.json_path}: {e.message}" for e in errors]
    problems = []
    for version in KUBERNETES:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            problems.append(f"{name} (k8s {version}): {e.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{name}: no schema for {obj['apiVersion']} {obj['kind']}")
    return problems


def pod_spec(obj: dict) -> dict | None:
    if obj["kind"] in ("Deployment", "Job"):
        return obj["spec"]["template"]["spec"]
    return None


def policies(objects: list[dict]) -> list[str]:
    """What every workload of the suite must be: see helm/README.md."""
    problems = []
    kinds = [o["object"]["kind"] for o in objects]
    deployments = kinds.count("Deployment")
    if kinds.count("NetworkPolicy") != deployments:
        problems.append(f"{deployments} Deployments but {kinds.count('NetworkPolicy')} NetworkPolicies")
    for item in objects:
        obj = item["object"]
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Secret" and "helm.sh/hook" not in obj["metadata"].get("annotations", {}):
            problems.append(f"{name}: a Secret outside secrets.create")
        if obj["kind"] == "NetworkPolicy":
            for rule in obj["spec"].get("ingress") or []:
                if not rule.get("from"):
                    problems.append(f"{name}: an ingress rule open to every source")
        spec = pod_spec(obj)
        if spec is None:
            continue
        fail = lambda why: problems.append(f"{name}: {why}")  # noqa: E731
        if spec.get("automountServiceAccountToken") is not False:
            fail("mounts a service account token")
        pod_security = spec.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True or not isinstance(pod_security.get("runAsUser"), int):
            fail("pod not runAsNonRoot with a numeric user")
        if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            fail("pod seccomp profile is not RuntimeDefault")
        for container in spec["containers"]:
            security = container.get("securityContext", {})
            if security.get("readOnlyRootFilesystem") is not True:
                fail(f"{container['name']}: root filesystem writable")
            if security.get("allowPrivilegeEscalation") is not False:
                fail(f"{container['name']}: privilege escalation allowed")
            if security.get("capabilities", {}).get("drop") != ["ALL"]:
                fail(f"{container['name']}: capabilities not all dropped")
            if security.get("runAsNonRoot") is not True:
                fail(f"{container['name']}: not runAsNonRoot")
            image = container["image"]
            if image.endswith(":latest") or (":" not in image.split("/")[-1] and "@" not in image):
                fail(f"{container['name']}: image {image} has no pinned tag")
            resources = container.get("resources", {})
            if not resources.get("requests") or not resources.get("limits"):
                fail(f"{container['name']}: requests and limits not both set")
            for env in container.get("env", []):
                secretish = any(word in env["name"] for word in ("SECRET", "PASSWORD", "DATABASE__URL"))
                if secretish and "value" in env:
                    fail(f"{container['name']}: {env['name']} given as a literal, not a Secret reference")
            if obj["kind"] == "Deployment":
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    if probe not in container:
                        fail(f"{container['name']}: no {probe}")
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    if "grpc" not in container.get(probe, {}):
                        fail(f"{container['name']}: {probe} is not a gRPC probe")
                if container.get("livenessProbe", {}).get("grpc", {}).get("service") != "liveness":
                    fail(f"{container['name']}: the liveness probe follows the database")
                grace = spec.get("terminationGracePeriodSeconds", 30)
                drain = next(
                    (int(e["value"]) for e in container["env"] if e["name"].endswith("GRPC__SHUTDOWN_GRACE_SECS")),
                    20,
                )
                if grace <= drain:
                    fail(f"terminationGracePeriodSeconds {grace} is not longer than the drain ({drain} s)")
    return problems


def validate(charts: Charts) -> list[str]:
    problems = []
    for chart in CHARTS:
        for label, values in values_sets(chart).items():
            try:
                objects = charts.render(chart, values)
            except helm.HelmError as e:
                problems.append(f"{chart} with {label} values does not render: {e}")
                continue
            if not objects:
                problems.append(f"{chart} with {label} values renders nothing")
            for item in objects:
                problems += [f"{chart}/{label}: {p}" for p in validate_object(item["object"])]
            problems += [f"{chart}/{label}: {p}" for p in policies(objects)]
    return problems


def reject(charts: Charts) -> list[str]:
    """Values an install must refuse, each with the message it must give."""
    minimal = values_sets("vendor")["minimal"]
    cases = [
        ("an unknown key", merge(minimal, {"replicas": 3}), "replicas"),
        ("an unknown setting", merge(minimal, {"settings": {"kafka": {"bootstrap": "x:9092"}}}), "bootstrap"),
        ("a setting the chart makes", merge(minimal, {"settings": {"database": {"url": "postgres://x"}}}), "url"),
        ("a wrongly typed setting", merge(minimal, {"settings": {"grpc": {"shutdown_grace_secs": "soon"}}}), "shutdown_grace_secs"),
        ("no Kafka bootstrap", merge(minimal, {"settings": {"kafka": {"bootstrap_servers": ""}}}), "settings.kafka.bootstrap_servers is required"),
        ("no database Secret", merge(minimal, {"database": {"existingSecret": ""}}), "database.existingSecret is required"),
        ("no issuer", merge(minimal, {"settings": {"auth": {"issuer": ""}}}), "settings.auth.issuer is required"),
        ("a client without its Secret", merge(minimal, {"auth": {"client": {"required": True}}, "settings": {"auth": {"client": {"id": "vendor-service"}}}}), "auth.client.existingSecret is required"),
        ("a required client without an id", merge(minimal, {"auth": {"client": {"required": True, "existingSecret": "x"}}}), "settings.auth.client.id is required"),
        ("the latest tag", merge(minimal, {"image": {"tag": "latest"}}), "`latest` is not allowed"),
        ("a grace shorter than the drain", merge(minimal, {"terminationGracePeriodSeconds": 10}), "terminationGracePeriodSeconds must be longer"),
        ("a caller that is not a service", merge(minimal, {"networkPolicy": {"callers": ["everyone"]}}), "/networkPolicy/callers/0"),
        ("external access without TLS", merge(minimal, {"externalAccess": {"enabled": True, "host": "vendor.example.go.id"}}), "externalAccess.tlsSecret is required"),
    ]
    problems = []
    for what, values, expected in cases:
        try:
            charts.render("vendor", values)
            problems.append(f"{what}: rendered, but must be refused")
        except helm.HelmError as e:
            if expected not in str(e):
                problems.append(f"{what}: refused, but the message does not say {expected!r}: {e}")
    # The umbrella refuses keys it does not know, beside `global` and the
    # services.
    try:
        charts.render("blangkon", merge(values_sets("blangkon")["minimal"], {"vendors": {}}))
        problems.append("the umbrella chart took an unknown key")
    except helm.HelmError as e:
        if "vendors" not in str(e):
            problems.append(f"the umbrella chart's refusal does not name the key: {e}")
    return problems


GOLDEN = HERE / "golden" / "blangkon.yaml"


def golden_text(charts: Charts) -> str:
    objects = charts.render("blangkon", values_sets("blangkon")["minimal"])
    header = (
        "# What `helm install blangkon helm/blangkon` renders with\n"
        "# tests/charts/values/minimal.yaml for every service. Kept so that a chart\n"
        "# change shows up here as a readable diff; regenerate with\n"
        "# BLANGKON_BLESS=1 cargo test -p blangkon-suite-tests --test charts.\n"
    )
    documents = [
        f"# {item['template']}\n" + yaml.safe_dump(item["object"], sort_keys=False, width=100)
        for item in objects
    ]
    return header + "---\n" + "---\n".join(documents)


def golden(charts: Charts, bless: bool) -> list[str]:
    wanted = golden_text(charts)
    if bless:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(wanted)
        return []
    present = GOLDEN.read_text() if GOLDEN.exists() else ""
    if present == wanted:
        return []
    diff = difflib.unified_diff(
        present.splitlines(), wanted.splitlines(), "golden", "rendered now", lineterm="", n=2
    )
    return ["the umbrella chart renders differently from tests/charts/golden/blangkon.yaml:"] + list(diff)


TABLE_START = "<!-- values table: generated by tests/charts/check.py readme --bless -->"
TABLE_END = "<!-- end of values table -->"


def values_table(chart: str) -> str:
    """Every key of the chart's schema: its type, default and meaning."""
    schema = json.loads((HELM / chart / "values.schema.json").read_text())
    defaults = yaml.safe_load((HELM / chart / "values.yaml").read_text())
    rows = []

    def walk(node: dict, path: list[str], default) -> None:
        properties = node.get("properties")
        if properties and not path[-1:] == ["resources"]:
            for key, child in properties.items():
                if path == [] and key in ("enabled", "global", "blangkon-common", "service"):
                    continue
                value = default.get(key) if isinstance(default, dict) else None
                walk(child, path + [key], value)
            return
        kind = node.get("type", "object")
        if isinstance(kind, list):
            kind = "/".join(kind)
        if "enum" in node:
            kind = " \\| ".join(f"`{v}`" for v in node["enum"])
        elif "oneOf" in node:
            kind = " \\| ".join(f"`{v.get('const', v.get('enum', ['?'])[0])}`" for v in node["oneOf"])
        if default is None and path[0] == "settings":
            # Unset in values.yaml: the binary's own default applies.
            shown = f"`{json.dumps(node.get('default'))}` (binary)"
        else:
            shown = f"`{json.dumps(default)}`"
        description = " ".join((node.get("description") or "").split()).replace("|", "\\|")
        rows.append(f"| `{'.'.join(path)}` | {kind} | {shown} | {description} |")

    walk(schema, [], defaults)
    return "\n".join(
        [TABLE_START, "", "| key | type | default | meaning |", "|---|---|---|---|", *rows, "", TABLE_END]
    )


def readme(bless: bool) -> list[str]:
    problems = []
    for chart in SERVICES:
        path = HELM / chart / "README.md"
        text = path.read_text()
        if TABLE_START not in text or TABLE_END not in text:
            problems.append(f"{path}: no values table markers")
            continue
        before, rest = text.split(TABLE_START, 1)
        after = rest.split(TABLE_END, 1)[1]
        wanted = before + values_table(chart) + after
        if wanted != text:
            if bless:
                path.write_text(wanted)
            else:
                problems.append(f"{path}: the values table is out of date")
    return problems


EXAMPLES = ROOT / "deploy" / "kubernetes"


def examples() -> list[str]:
    """The production examples beside the values: CloudNativePG, Strimzi,
    the alerts. Each object valid (custom resources against tests/charts/crds)."""
    problems = []
    production = yaml.safe_load((EXAMPLES / "values-production.yaml").read_text())
    for service in SERVICES:
        alone = yaml.safe_load((EXAMPLES / "services" / f"{service}.yaml").read_text())
        together = {k: v for k, v in production[service].items() if k != "enabled"}
        if alone != together:
            problems.append(f"services/{service}.yaml differs from the {service} section of values-production.yaml")
    for path in sorted(EXAMPLES.glob("*.yaml")):
        if path.name.startswith("values"):
            continue
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
        if not documents:
            problems.append(f"{path.name}: no objects")
        for document in documents:
            if crd_schema(document) is None and "." in document["apiVersion"].split("/")[0]:
                problems.append(f"{path.name}: no schema to check {document['apiVersion']} {document['kind']}")
                continue
            problems += [f"{path.name}: {p}" for p in validate_object(document)]
    return problems


RUNBOOK = ROOT / "deploy" / "RUNBOOK.md"


def runbook_commands() -> list[list[str]]:
    """The `helm install|upgrade|template` commands of the runbook's shell
    blocks, as argument lists (continuation lines joined)."""
    commands = []
    in_shell = False
    line_so_far = ""
    for line in RUNBOOK.read_text().splitlines():
        if line.startswith("```"):
            in_shell = line.strip() in ("```sh", "```bash")
            continue
        if not in_shell:
            continue
        line_so_far += line.rstrip("\\").strip() + " "
        if line.rstrip().endswith("\\"):
            continue
        command, line_so_far = line_so_far.strip(), ""
        if not command.startswith("helm "):
            continue
        words = shlex.split(command.split(" #")[0])
        if len(words) > 1 and words[1] in ("install", "upgrade", "template"):
            commands.append(words)
    return commands


def parse_helm(words: list[str]) -> tuple[str, dict]:
    """The chart and the values a helm command gives it."""
    positional, values = [], {}
    i = 2
    while i < len(words):
        word = words[i]
        if word in ("-f", "--values"):
            values = merge(values, yaml.safe_load((ROOT / words[i + 1]).read_text()) or {})
            i += 2
        elif word in ("--set", "--set-string"):
            values = merge(values, helm.parse_set_string(words[i + 1]))
            i += 2
        elif word in ("-n", "--namespace", "--version", "--timeout"):
            i += 2
        elif word.startswith("-"):
            i += 1
        else:
            positional.append(word)
            i += 1
    chart = positional[-1]
    return chart, values


def value_path_problem(path: str) -> str | None:
    """Why `path` (a value named in prose, `settings.grpc.port` or
    `order.replicaCount`) is not a value of the charts, if it is not."""
    parts = path.split(".")
    charts = SERVICES
    if parts[0] in SERVICES:
        charts, parts = [parts[0]], parts[1:]
    for chart in charts:
        node = json.loads((HELM / chart / "values.schema.json").read_text())
        for part in parts:
            properties = node.get("properties")
            if properties is None:
                break  # a free-form object (resources, annotations): anything below goes
            if part not in properties:
                node = None
                break
            node = properties[part]
        if node is not None:
            return None
    return f"`{path}` is not a value of {', '.join(charts)}"


def runbook_value_names() -> list[str]:
    """The value paths the runbook names in backticks: those that start with
    a service or with a top-level key of the service charts."""
    top = set(json.loads((HELM / "vendor" / "values.schema.json").read_text())["properties"])
    names = []
    for token in re.findall(r"`([A-Za-z][A-Za-z0-9_.-]*)`", RUNBOOK.read_text()):
        head = token.split(".")[0]
        if "." in token and (head in SERVICES or head in top) and not token.endswith((".yaml", ".md")):
            names.append(token)
    return names


def runbook(charts: Charts) -> list[str]:
    problems = []
    names = runbook_value_names()
    if len(names) < 3:
        problems.append(f"only {len(names)} value names found in the runbook's text")
    problems += [p for p in map(value_path_problem, names) if p]
    commands = runbook_commands()
    if len(commands) < 5:
        problems.append(f"only {len(commands)} helm commands found in the runbook")
    for words in commands:
        chart, values = parse_helm(words)
        name = Path(chart).name
        if not chart.startswith("helm/") or name not in CHARTS:
            problems.append(f"{' '.join(words)}: not one of the charts under helm/")
            continue
        # Secrets and the bootstrap address come from the values files the
        # runbook names; a command that gives none is checked with the
        # minimal values underneath.
        base = values_sets(name)["minimal"]
        try:
            charts.render(name, merge(base, values))
        except helm.HelmError as e:
            problems.append(f"{' '.join(words)}: {e}")
    return problems


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    charts = Charts()
    if command == "render":
        objects = charts.render(argv[2], load_values(argv[3:]))
        json.dump(objects, sys.stdout)
        return 0
    if command == "readme":
        problems = readme(bless="--bless" in argv)
        print("\n".join(problems))
        return 1 if problems else 0
    if command == "golden":
        problems = golden(charts, bless="--bless" in argv)
        print("\n".join(problems))
        return 1 if problems else 0
    if command == "examples":
        problems = examples()
        print("\n".join(problems))
        return 1 if problems else 0
    checks = {"lint": lint, "validate": validate, "reject": reject, "runbook": runbook}
    if command not in checks:
        print(__doc__, file=sys.stderr)
        return 2
    problems = checks[command](charts)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
