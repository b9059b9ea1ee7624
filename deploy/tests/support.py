"""Shared helpers of the deployment checks: paths, YAML loading, rendering
the chart the way Argo CD does, schema validation and label selectors."""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "folio"
ARGOCD = ROOT / "argocd"
CLOUDFORMATION = ROOT / "cloudformation"
WORKFLOWS = ROOT / ".github" / "workflows"
SCHEMAS = ROOT / "deploy" / "schemas"

ENVIRONMENTS = ("dev", "stage", "prod")
SERVICES = ("bff", "users", "documents", "integration", "notifications")

# The services' contract (the brief of issue 5 and DESIGN.md sections 1-2),
# written out independently of the chart so the chart is checked against it.
OPS_PORT = {"bff": 8080, "users": 8081, "documents": 8081, "integration": 8090, "notifications": 8081}
GRPC_PORT = {"users": 50051, "documents": 50051, "integration": 50051, "notifications": 50051}
GRPC_CALLERS = {
    "users": {"bff", "documents", "integration", "notifications"},
    "documents": {"bff", "integration", "notifications"},
    "integration": {"bff"},
    "notifications": {"bff"},
}
CALLEES = {
    "bff": {"users", "documents", "integration", "notifications"},
    "users": set(),
    "documents": {"users"},
    "integration": {"documents"},
    "notifications": {"users", "documents"},
}
PUBLIC = {"bff", "integration"}
WEBHOOK_PATHS = {"/api/v1/onedrive/notifications", "/api/v1/onedrive/lifecycle"}
TLS_DIR = "/etc/folio/tls"
_TLS = ["TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE"]
# The public services' HTTP listener serves HTTPS to the load balancer.
_HTTPS = ["HTTP_TLS_CERT_FILE", "HTTP_TLS_KEY_FILE"]
# The database login comes from Secrets Manager (issue 6, docs/adr/0015):
# the secret's keys, fetched again every FOLIO_SECRETS_REFRESH_SECS.
_DB = ["GRPC_ADDR", "HTTP_ADDR", "DATABASE_URL", "DATABASE_USERNAME_SECRET", "DATABASE_PASSWORD_SECRET"]
_AWS = {"AWS_REGION", "FOLIO_SECRETS_REFRESH_SECS"}
# Every service: logs, local state, traces and metrics (the standard OTEL_* names).
_COMMON = {
    "FOLIO_LOG_FORMAT",
    "RUST_LOG",
    "FOLIO_DATA_DIR",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_METRICS_EXPORTER",
    "OTEL_METRIC_EXPORT_INTERVAL",
}
ENV_VARS = {
    "bff": _COMMON
    | _AWS
    | {
        f"FOLIO_BFF_{n}"
        for n in [
            "ADDR",
            "REDIS_URL",
            "REDIS_AUTH_TOKEN_SECRET",
            "USERS_URL",
            "DOCUMENTS_URL",
            "INTEGRATION_URL",
            "NOTIFICATIONS_URL",
            "COOKIE_SECURE",
            "FORWARDED_HOPS",
            *_TLS,
            *_HTTPS,
        ]
    }
    # Providers send people back to the portal's public address.
    | {"FOLIO_PUBLIC_URL"},
    "users": _COMMON
    | _AWS
    | {"FOLIO_MIGRATIONS"}
    | {f"FOLIO_USERS_{n}" for n in _DB + _TLS + ["SECRETS_KEY_SECRET"]},
    "documents": _COMMON
    | _AWS
    | {"FOLIO_MIGRATIONS"}
    | {
        f"FOLIO_DOCUMENTS_{n}"
        for n in _DB + _TLS + ["BLOB_URL", "S3_KMS_KEY_ID", "MAX_UPLOAD_BYTES", "USERS_URL"]
    },
    "integration": _COMMON
    | _AWS
    | {"FOLIO_MIGRATIONS"}
    | {
        f"FOLIO_INTEGRATION_{n}"
        for n in _DB + _TLS + _HTTPS + ["DOCUMENTS_URL", "PUBLIC_URL", "SECRETS_SOURCE", "SECRETS_PREFIX"]
    },
    # Every environment sends through SES, its login from the mail stack's secret.
    "notifications": _COMMON
    | _AWS
    | {"FOLIO_MIGRATIONS"}
    | {"FOLIO_PUBLIC_URL"}
    | {f"FOLIO_SMTP_{n}" for n in ["URL", "FROM", "USERNAME_SECRET", "PASSWORD_SECRET"]}
    | {
        f"FOLIO_NOTIFICATIONS_{n}"
        for n in _DB + _TLS + ["USERS_URL", "DOCUMENTS_URL", "RETRY_BASE_SECS", "ALLOW_PRIVATE_WEBHOOKS"]
    },
}

# The bff's env vars for the deployment's Entra app (services.bff.signIn),
# rendered only when entraClientId is set, by its credential.
ENTRA_APP_ENV_VARS = {
    "secret": {"FOLIO_BFF_ENTRA_CLIENT_ID", "FOLIO_BFF_ENTRA_CLIENT_SECRET_SECRET"},
    "certificate": {"FOLIO_BFF_ENTRA_CLIENT_ID", "FOLIO_BFF_ENTRA_CLIENT_CERTIFICATE_SECRET"},
}

CRD_SCHEMAS = {
    ("cert-manager.io/v1", "Certificate"): "certificate-cert-manager-v1.json",
    ("cert-manager.io/v1", "Issuer"): "issuer-cert-manager-v1.json",
    ("argoproj.io/v1alpha1", "Application"): "application-argoproj-v1alpha1.json",
    ("argoproj.io/v1alpha1", "AppProject"): "appproject-argoproj-v1alpha1.json",
    ("vpcresources.k8s.aws/v1beta1", "SecurityGroupPolicy"): "securitygrouppolicy-vpcresources-v1beta1.json",
    ("policy.sigstore.dev/v1beta1", "ClusterImagePolicy"): "clusterimagepolicy-sigstore-v1beta1.json",
}

# CRDs pinned in deploy/schemas/crds as their projects publish them (Gateway
# API and the AWS Load Balancer Controller; sources in deploy/schemas/README.md):
# manifests are validated against the openAPIV3Schema of the served version.
PINNED_CRDS = {
    ("gateway.networking.k8s.io/v1", "GatewayClass"): "gateway.networking.k8s.io_gatewayclasses.yaml",
    ("gateway.networking.k8s.io/v1", "Gateway"): "gateway.networking.k8s.io_gateways.yaml",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway.networking.k8s.io_httproutes.yaml",
    ("gateway.k8s.aws/v1", "LoadBalancerConfiguration"): "gateway.k8s.aws_loadbalancerconfigurations.yaml",
    ("gateway.k8s.aws/v1", "TargetGroupConfiguration"): "gateway.k8s.aws_targetgroupconfigurations.yaml",
    ("gateway.k8s.aws/v1", "ListenerRuleConfiguration"): "gateway.k8s.aws_listenerruleconfigurations.yaml",
}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_yaml_all(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def kube_version() -> str:
    """The EKS Kubernetes minor version the cluster template deploys."""
    text = (CLOUDFORMATION / "eks.yaml").read_text()
    match = re.search(r'KubernetesVersion:\n(?:\s+\w+:.*\n)*?\s+Default: "([0-9.]+)"', text)
    assert match, "cloudformation/eks.yaml has no KubernetesVersion default"
    return match.group(1)


def deep_merge(base: dict, override: dict) -> dict:
    """Merge like Helm's CLI merges -f files and --set: maps recursively,
    everything else (lists, scalars, null) replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def application(env: str) -> dict:
    return load_yaml(ARGOCD / "apps" / f"folio-{env}.yaml")


def pinned_tag(env: str) -> str:
    params = application(env)["spec"]["source"]["helm"]["parameters"]
    (tag,) = [p["value"] for p in params if p["name"] == "image.tag"]
    return tag


def application_values(app: dict) -> dict:
    """The user-supplied values Argo CD hands to Helm for an Application:
    its valueFiles in order, then values/valuesObject, then parameters (as
    --set, or --set-string with forceString)."""
    import helm_python

    helm = app["spec"]["source"].get("helm", {})
    values: dict = {}
    for name in helm.get("valueFiles", []):
        values = deep_merge(values, load_yaml(CHART / name) or {})
    if "values" in helm:
        values = deep_merge(values, yaml.safe_load(helm["values"]) or {})
    if "valuesObject" in helm:
        values = deep_merge(values, helm["valuesObject"])
    for param in helm.get("parameters", []):
        expr = f"{param['name']}={param['value']}"
        parse = (
            helm_python.parse_set_string_values
            if param.get("forceString")
            else helm_python.parse_set_string
        )
        values = deep_merge(values, parse(expr))
    return values


@lru_cache(maxsize=1)
def chart():
    import helm_python

    return helm_python.Chart.load(CHART)


# Objects of the environment's platform (collector, migration Jobs, quota,
# pod security group): checked by test_platform.py, left out of the
# services' own checks.
PLATFORM_KINDS = {"ResourceQuota", "SecurityGroupPolicy", "Job"}


def is_platform(doc: dict) -> bool:
    name = (doc.get("metadata", {}).get("labels") or {}).get("app.kubernetes.io/name", "")
    return doc["kind"] in PLATFORM_KINDS or name == "otel-collector" or name.endswith("-migrations")


def render_all(values: dict, namespace: str, release: str = "folio") -> list[dict]:
    """Render the chart with Helm's engine; return every parsed manifest."""
    rendered = chart().render(values=values, name=release, namespace=namespace)
    docs: list[dict] = []
    for template, text in sorted(rendered.items()):
        if template.endswith(".yaml"):
            docs.extend(load_yaml_all(text))
    return docs


def render(values: dict, namespace: str, release: str = "folio") -> list[dict]:
    """The services' manifests (without the platform objects)."""
    return [d for d in render_all(values, namespace, release) if not is_platform(d)]


def render_environment_all(env: str) -> list[dict]:
    app = application(env)
    return render_all(
        application_values(app),
        namespace=app["spec"]["destination"]["namespace"],
        release=app["spec"]["source"]["helm"].get("releaseName", app["metadata"]["name"]),
    )


def render_environment(env: str) -> list[dict]:
    app = application(env)
    return render(
        application_values(app),
        namespace=app["spec"]["destination"]["namespace"],
        release=app["spec"]["source"]["helm"].get("releaseName", app["metadata"]["name"]),
    )


@lru_cache(maxsize=None)
def crd_schema(api_version: str, kind: str) -> dict:
    return json.loads((SCHEMAS / CRD_SCHEMAS[(api_version, kind)]).read_text())


def _strict(schema: Any) -> Any:
    """An openAPIV3Schema where unknown fields are errors, as the API
    server's pruning would silently drop them (except where the CRD keeps
    unknown fields on purpose)."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@lru_cache(maxsize=None)
def pinned_crd(name: str) -> dict:
    return load_yaml(SCHEMAS / "crds" / name)


@lru_cache(maxsize=None)
def pinned_crd_schema(api_version: str, kind: str) -> dict:
    """The strict JSON Schema of `kind` at `api_version` from its pinned CRD."""
    crd = pinned_crd(PINNED_CRDS[(api_version, kind)])
    group, version = api_version.split("/")
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind, api_version
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version and v["served"]]
    return _strict(served["schema"]["openAPIV3Schema"])


def validate_manifest(doc: dict, version: str) -> None:
    """Validate one manifest: core kinds against the Kubernetes schemas of
    `version` (strict: unknown fields fail), CRDs against deploy/schemas
    (written for Folio, or pinned from their projects)."""
    import jsonschema
    import kubernetes_validate

    key = (doc.get("apiVersion"), doc.get("kind"))
    if key in CRD_SCHEMAS:
        jsonschema.Draft202012Validator(crd_schema(*key)).validate(doc)
    elif key in PINNED_CRDS:
        # OpenAPI v3 schemas are a JSON Schema draft-4/7 subset; CEL rules
        # (x-kubernetes-validations) only the API server evaluates.
        jsonschema.Draft7Validator(pinned_crd_schema(*key)).validate(doc)
    else:
        kubernetes_validate.validate(doc, version, strict=True)


def by_kind(docs: Iterable[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def selector_matches(selector: dict, labels: dict) -> bool:
    """Kubernetes LabelSelector semantics (matchLabels + matchExpressions)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pod_labels(deployment: dict) -> dict:
    return deployment["spec"]["template"]["metadata"]["labels"]


def containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def named_port(container: dict, port: Any) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return number


def kube_bundle():
    """scripts/kube-bundle as a module (it has no .py suffix)."""
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader("kube_bundle", str(ROOT / "scripts" / "kube-bundle"))
    spec = importlib.util.spec_from_loader("kube_bundle", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
