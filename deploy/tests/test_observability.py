"""Observability as code: the collector the chart renders, and the alert
conditions (New Relic in observability/alerts.yaml, CloudWatch in
cloudformation/alerts.yaml)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import jsonschema
import pytest
import yaml

import support
from support import ENVIRONMENTS, ROOT, by_kind

ALERTS = yaml.safe_load((ROOT / "observability" / "alerts.yaml").read_text())
CONDITION_SCHEMA = json.loads((support.SCHEMAS / "newrelic-nrql-condition.json").read_text())
METRIC = re.compile(r'(?:counter|gauge|histogram)!\(\s*"([a-z_][a-z0-9_]*)"')


def _recorded_metrics() -> set[str]:
    names = set()
    for base in ("crates", "services"):
        for path in (ROOT / base).rglob("*.rs"):
            if "/tests/" not in str(path):
                names |= set(METRIC.findall(path.read_text()))
    return names


def test_every_alert_condition_matches_the_nerdgraph_input():
    for entry in ALERTS["conditions"]:
        jsonschema.Draft202012Validator(CONDITION_SCHEMA).validate(entry["condition"])
    names = [e["condition"]["name"] for e in ALERTS["conditions"]]
    assert len(names) == len(set(names)), "names identify conditions when applied again"


def test_the_signals_asked_for_have_conditions():
    kinds = {e["signal_kind"] for e in ALERTS["conditions"]}
    assert kinds == {"error-rate", "p99-latency", "sync-lag", "inbox-backlog", "certificate-expiry"}


def test_every_queried_metric_is_one_the_services_record():
    recorded = _recorded_metrics()
    assert {"http_requests_total", "folio_integration_sync_lag_seconds"} <= recorded
    for entry in ALERTS["conditions"]:
        query = entry["condition"]["nrql"]["query"]
        used = set(re.findall(r"\(\s*([a-z_][a-z0-9_]*(?:_total|_seconds|_pending))\b", query))
        assert used, query
        assert used <= recorded, (entry["condition"]["name"], used - recorded)
        assert "FACET deployment.environment.name" in query, "one incident per environment"


def test_the_apply_script_sends_the_conditions_as_they_are():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "apply-alerts"), "1", "2", "--dry-run"],
        capture_output=True, text=True, check=True,
    )
    sent = [json.loads(line) for line in result.stdout.splitlines()]
    assert sent == [e["condition"] for e in ALERTS["conditions"]]


def _collector(docs: list[dict]) -> tuple[dict, dict]:
    config = yaml.safe_load(by_kind(docs, "ConfigMap")["otel-collector"]["data"]["config.yaml"])
    return config, by_kind(docs, "Deployment")["otel-collector"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_collector_sends_traces_metrics_and_logs_to_the_back_end(rendered_all, env):
    docs = rendered_all[env]
    config, deploy = _collector(docs)
    assert set(config) <= {"receivers", "processors", "exporters", "extensions", "connectors", "service"}
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics", "logs"}
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], (name, kind, component)
        assert pipeline["processors"][0] == "memory_limiter", "the memory limiter comes first"
        assert pipeline["processors"][-1] == "batch"
    assert set(config["service"]["extensions"]) <= set(config["extensions"])
    exporter = config["exporters"]["otlphttp"]
    values = support.application_values(support.application(env))
    defaults = support.load_yaml(support.CHART / "values.yaml")["collector"]
    assert exporter["endpoint"] == defaults["endpoint"] and exporter["endpoint"].startswith("https://")
    (key,) = exporter["headers"].values()
    assert key == f"${{secretsmanager:folio/{env}/newrelic-license-key#licenseKey}}", "no key in the chart"
    # The collector's IRSA role is the one that may read that secret.
    sa = by_kind(docs, "ServiceAccount")["otel-collector"]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == values["collector"]["serviceAccount"]["roleArn"]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(f"role/folio-{env}-collector")
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    assert re.fullmatch(r"otel/opentelemetry-collector-contrib:\d+\.\d+\.\d+", container["image"])
    assert container["readinessProbe"]["httpGet"]["port"] == "health"
    receiver = config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    port = int(receiver.rsplit(":", 1)[1])
    service = by_kind(docs, "Service")["otel-collector"]
    assert [p["port"] for p in service["spec"]["ports"]] == [port]
    for name in support.SERVICES:
        (c,) = by_kind(docs, "Deployment")[name]["spec"]["template"]["spec"]["containers"]
        env_vars = {e["name"]: e.get("value") for e in c["env"]}
        assert env_vars["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otel-collector:{port}", name
    policy = by_kind(docs, "NetworkPolicy")["otel-collector"]["spec"]
    assert [p["port"] for r in policy["ingress"] for p in r["ports"]] == [port]
    assert {p["port"] for r in policy["egress"] for p in r["ports"]} == {53, 443}


def test_the_collector_config_is_valid_for_the_collector_itself(rendered_all):
    """The references a collector resolves at start: every component a
    pipeline names is configured, and the config provider syntax is the
    secretsmanager provider's (${secretsmanager:<id>#<key>})."""
    config, _ = _collector(rendered_all["prod"])
    text = json.dumps(config)
    for reference in re.findall(r"\$\{([^}]*)\}", text):
        scheme, _, rest = reference.partition(":")
        assert scheme == "secretsmanager" and re.fullmatch(r"folio/prod/[\w-]+#\w+", rest), reference
