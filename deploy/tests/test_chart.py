"""The Helm chart, rendered for every environment with Helm's own engine
(helm-python-sdk), validated against the Kubernetes and CRD schemas, and
checked against the services' contract and the security baseline."""

from __future__ import annotations

import json

import re
from pathlib import Path

import helm_python
import pytest

import support
from support import ENVIRONMENTS, SERVICES, by_kind, containers, pod_labels

EXPECTED_KINDS = {
    "Deployment": 5,
    "Service": 5,
    "ServiceAccount": 5,
    "HorizontalPodAutoscaler": 5,
    "PodDisruptionBudget": 5,
    "NetworkPolicy": 5,
    "Certificate": 6,  # the internal CA + one per service
    "Issuer": 2,  # self-signed bootstrap + CA issuer
    # Gateway API through the AWS Load Balancer Controller (docs/adr/0069).
    "Gateway": 1,
    "HTTPRoute": 3,  # bff (/ and its /metrics refused), integration webhook paths, HTTP->HTTPS
    "LoadBalancerConfiguration": 1,
    "TargetGroupConfiguration": 2,  # bff, integration: HTTPS to the pods
    "ListenerRuleConfiguration": 1,  # the 403 for the bff's /metrics
}


# --- rendering and schemas --------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_renders_the_expected_objects(rendered, env):
    kinds: dict[str, int] = {}
    for doc in rendered[env]:
        kinds[doc["kind"]] = kinds.get(doc["kind"], 0) + 1
        assert doc["metadata"]["namespace"] == f"folio-{env}", doc["metadata"]
    assert kinds == EXPECTED_KINDS


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_manifest_matches_its_schema(rendered, kube_version, env):
    errors = []
    for doc in rendered[env]:
        try:
            support.validate_manifest(doc, kube_version)
        except Exception as err:  # collect them all, report together
            path = "/".join(str(p) for p in getattr(err, "absolute_path", []))
            message = getattr(err, "message", str(err))
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {message}")
    assert not errors, "\n".join(errors)


def test_crd_schemas_reject_mistakes(rendered):
    """The vendored CRD schemas are strict enough to catch typos."""
    import copy

    import jsonschema

    cert = by_kind(rendered["dev"], "Certificate")["users"]
    for mutate in (
        lambda c: c["spec"].update(dnsNamez=["x"]),
        lambda c: c["spec"].pop("issuerRef"),
        lambda c: c["spec"].update(usages=["server-auth"]),
        lambda c: c["spec"]["privateKey"].update(algorithm="DSA"),
    ):
        bad = copy.deepcopy(cert)
        mutate(bad)
        with pytest.raises(jsonschema.ValidationError):
            support.validate_manifest(bad, "1.33")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_helm_lint_is_clean(env, kube_version):
    report = helm_python.lint(
        support.CHART,
        support.application_values(support.application(env)),
        strict=True,
        namespace=f"folio-{env}",
        kube_version=f"v{kube_version}.0",
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # warnings, errors
    assert not problems and not report["errors"], report


def test_values_schema_is_valid_json_schema():
    import jsonschema

    schema = support.chart().schema
    assert schema is not None, "helm/folio/values.schema.json is missing"
    jsonschema.Draft7Validator.check_schema(schema)


def test_rendering_without_a_pinned_tag_fails():
    values = support.deep_merge(
        support.load_yaml(support.CHART / "values-dev.yaml"), {}
    )
    with pytest.raises(helm_python.HelmError, match="image"):
        support.render(values, "folio-dev")


def test_a_bad_values_file_is_rejected_by_the_schema():
    bad = support.load_yaml(Path(__file__).parent / "fixtures" / "values-bad.yaml")
    with pytest.raises(helm_python.HelmValuesError) as err:
        support.render(bad, "folio-dev")
    message = str(err.value)
    # Every mistake in the file is reported, not only the first.
    for path in ("/logFormat", "/services/users/grpcPort", "/services/documents/blobUrl",
                 "/services/bff", "/image/tag"):
        assert path in message, message


BAD_OVERRIDES = {
    "unknown top-level key": {"servics": {}},
    "unknown service key": {"services": {"users": {"databse": {"url": "x"}}}},
    "log format": {"logFormat": "xml"},
    "privileged port": {"services": {"users": {"grpcPort": 443}}},
    "http blob url": {"services": {"documents": {"blobUrl": "http://bucket/x"}}},
    "database url with password": {
        "services": {"users": {"database": {"url": "mysql://u:secret@h:3306/db"}}}
    },
    "secret reference with a key in its id": {
        "services": {"users": {"database": {"secretsManager": {"secretId": "folio/db#password"}}}}
    },
    "kms key that is not a key": {"services": {"documents": {"s3": {"kmsKeyId": "my key"}}}},
    "malformed role arn": {"services": {"bff": {"serviceAccount": {"roleArn": "folio-bff"}}}},
    "tag with a colon": {"image": {"tag": "v1:latest"}},
    "pdb of zero": {"services": {"bff": {"pdb": {"maxUnavailable": 0}}}},
    "cpu as a word": {"services": {"bff": {"resources": {"limits": {"cpu": "lots"}}}}},
    "missing memory limit": {
        "services": {"bff": {"resources": {"limits": {"memory": None}}}}
    },
    "cidr typo": {"networkPolicy": {"databaseCidrs": ["10.0.0.0"]}},
    "environment name": {"environment": "qa"},
    "tls to the trace collector": {"tracing": {"otlpEndpoint": "https://otel:4317"}},
    "sampler ratio above one": {"tracing": {"samplerArg": "1.5"}},
}


@pytest.mark.parametrize("override", BAD_OVERRIDES.values(), ids=BAD_OVERRIDES.keys())
def test_bad_values_fail_rendering(override):
    values = support.deep_merge(
        support.application_values(support.application("dev")), override
    )
    with pytest.raises(helm_python.HelmValuesError):
        support.render(values, "folio-dev")


TEMPLATE_FAILURES = {
    "min above max replicas": (
        {"services": {"users": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}}},
        "above maxReplicas",
    ),
    "pdb blocks every eviction": (
        {"services": {"users": {"pdb": {"minAvailable": 1}}}},
        "no pod could ever be evicted",
    ),
    "two sources of one database password": (
        {"services": {"documents": {"database": {"password": {"fromSecret": True}}}}},
        "choose one",
    ),
}


@pytest.mark.parametrize(
    "override,message", TEMPLATE_FAILURES.values(), ids=TEMPLATE_FAILURES.keys()
)
def test_inconsistent_values_fail_rendering(override, message):
    values = support.deep_merge(
        support.application_values(support.application("dev")), override
    )
    with pytest.raises(helm_python.HelmError, match=message):
        support.render(values, "folio-dev")


# --- image pins -------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_images_are_the_tag_the_application_pins(rendered, env):
    tag = support.pinned_tag(env)
    registry = support.application_values(support.application(env)).get("image", {}).get(
        "registry"
    ) or support.load_yaml(support.CHART / "values.yaml")["image"]["registry"]
    for name, deploy in by_kind(rendered[env], "Deployment").items():
        for container in containers(deploy):
            assert container["image"] == f"{registry}/folio-{name}:{tag}"


def test_a_different_pin_changes_every_image():
    app = support.application("stage")
    for param in app["spec"]["source"]["helm"]["parameters"]:
        if param["name"] == "image.tag":
            param["value"] = "0123456789abcdef0123456789abcdef01234567"
    docs = support.render(support.application_values(app), "folio-stage")
    images = {c["image"] for d in by_kind(docs, "Deployment").values() for c in containers(d)}
    assert len(images) == len(SERVICES)
    assert all(i.endswith(":0123456789abcdef0123456789abcdef01234567") for i in images)


# --- security baseline ------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_container_is_locked_down(rendered, env):
    for name, deploy in by_kind(rendered[env], "Deployment").items():
        pod = deploy["spec"]["template"]["spec"]
        pod_sc = pod.get("securityContext", {})
        assert pod.get("automountServiceAccountToken") is False, name
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
        for c in containers(deploy):
            sc = c.get("securityContext", {})
            where = f"{env}/{name}/{c['name']}"
            assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, where
            uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
            assert uid is not None and uid != 0, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("privileged", False) is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("capabilities", {}).get("add"), where
            seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
            assert seccomp.get("type") == "RuntimeDefault", where
            resources = c.get("resources", {})
            for kind in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    assert resources.get(kind, {}).get(res), f"{where}: no {kind}.{res}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tmp_is_a_writable_emptydir(rendered, env):
    for name, deploy in by_kind(rendered[env], "Deployment").items():
        volumes = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}
        (container,) = deploy["spec"]["template"]["spec"]["containers"]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert "/tmp" in mounts, name
        tmp = volumes[mounts["/tmp"]["name"]]
        assert "emptyDir" in tmp and tmp["emptyDir"].get("sizeLimit"), name
        assert not mounts["/tmp"].get("readOnly"), name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_probes_use_the_real_health_paths(rendered, env):
    for name, deploy in by_kind(rendered[env], "Deployment").items():
        (c,) = deploy["spec"]["template"]["spec"]["containers"]
        expected = {
            "startupProbe": "/healthz",
            "livenessProbe": "/healthz",
            "readinessProbe": "/readyz",
        }
        for probe, path in expected.items():
            http = c[probe]["httpGet"]
            assert http["path"] == path, (name, probe)
            assert support.named_port(c, http["port"]) == support.OPS_PORT[name], (name, probe)
            # The public services' port is HTTPS (docs/adr/0069).
            scheme = "HTTPS" if name in support.PUBLIC else "HTTP"
            assert http.get("scheme", "HTTP") == scheme, (name, probe)


# --- the services' contract -------------------------------------------------


def _values_of(env: str) -> dict:
    return support.deep_merge(
        support.load_yaml(support.CHART / "values.yaml"), support.application_values(support.application(env))
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_variables_follow_the_contract(rendered, env):
    for name, deploy in by_kind(rendered[env], "Deployment").items():
        (c,) = deploy["spec"]["template"]["spec"]["containers"]
        env_vars = {e["name"]: e for e in c["env"]}
        # What an environment adds on purpose (services.<s>.extraEnv).
        extra = {e["name"] for e in _values_of(env)["services"][name].get("extraEnv", [])}
        assert set(env_vars) == support.ENV_VARS[name] | extra, name
        value = {k: v.get("value") for k, v in env_vars.items()}
        assert value["FOLIO_LOG_FORMAT"] == "json"
        assert value["FOLIO_DATA_DIR"].startswith("/tmp/"), "the root filesystem is read-only"
        prefix = f"FOLIO_{name.upper()}_"
        assert value[f"{prefix}TLS_CERT_FILE"] == f"{support.TLS_DIR}/tls.crt"
        assert value[f"{prefix}TLS_KEY_FILE"] == f"{support.TLS_DIR}/tls.key"
        assert value[f"{prefix}TLS_CA_FILE"] == f"{support.TLS_DIR}/ca.crt"
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        if name == "bff":
            assert value["FOLIO_BFF_ADDR"] == "0.0.0.0:8080"
            assert value["FOLIO_BFF_COOKIE_SECURE"] == "true"
            for callee in ("users", "documents", "integration", "notifications"):
                assert value[f"FOLIO_BFF_{callee.upper()}_URL"] == f"https://{callee}:50051"
            # TLS to ElastiCache; the token from the cache stack's secret, not in the URL.
            assert re.fullmatch(r"rediss://[\w.-]+:6379", value["FOLIO_BFF_REDIS_URL"])
            assert value["FOLIO_BFF_REDIS_AUTH_TOKEN_SECRET"] == f"aws:folio/{env}/bff/redis-auth-token"
        else:
            assert value[f"{prefix}GRPC_ADDR"] == f"0.0.0.0:{ports['grpc']}"
            assert value[f"{prefix}HTTP_ADDR"] == f"0.0.0.0:{ports['http']}"
            # Verified TLS to RDS, against the bundle mounted from the ConfigMap.
            assert re.fullmatch(
                r"mysql://folio_\w+@[\w.-]+:3306/folio_\w+"
                r"\?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/folio/db-ca/global-bundle\.pem",
                value[f"{prefix}DATABASE_URL"],
            )
            pod = deploy["spec"]["template"]["spec"]
            (ca,) = [v for v in pod["volumes"] if v["name"] == "db-ca"]
            assert ca["configMap"]["name"] == "folio-rds-ca"
            (mount,) = [m for m in c["volumeMounts"] if m["name"] == "db-ca"]
            assert mount == {"name": "db-ca", "mountPath": "/etc/folio/db-ca", "readOnly": True}
            # A secret the service's IRSA role may read (iam.yaml: folio/<env>/<service>/*).
            secret = f"aws:folio/{env}/{name}/database"
            assert value[f"{prefix}DATABASE_USERNAME_SECRET"] == f"{secret}#username"
            assert value[f"{prefix}DATABASE_PASSWORD_SECRET"] == f"{secret}#password"
            assert int(value["FOLIO_SECRETS_REFRESH_SECS"]) > 0
            assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", value["AWS_REGION"])
        if name == "documents":
            assert value["FOLIO_DOCUMENTS_BLOB_URL"].startswith(f"s3://folio-{env}-documents-")
            # SSE-KMS with the bucket's key (storage.yaml DocumentsKeyArn).
            assert re.fullmatch(r"arn:aws:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}", value["FOLIO_DOCUMENTS_S3_KMS_KEY_ID"])
            assert int(value["FOLIO_DOCUMENTS_MAX_UPLOAD_BYTES"]) > 0
            assert value["FOLIO_DOCUMENTS_USERS_URL"] == "https://users:50051"
        if name == "integration":
            assert value["FOLIO_INTEGRATION_DOCUMENTS_URL"] == "https://documents:50051"
            assert value["FOLIO_INTEGRATION_PUBLIC_URL"].startswith("https://")
            # Graph client secrets from Secrets Manager, where the role may read.
            assert value["FOLIO_INTEGRATION_SECRETS_SOURCE"] == "aws"
            assert value["FOLIO_INTEGRATION_SECRETS_PREFIX"] == f"folio/{env}/integration/graph/"


def test_a_database_password_can_come_from_a_kubernetes_secret_instead():
    override = {
        "services": {
            "users": {
                "database": {
                    "secretsManager": {"enabled": False},
                    "password": {"fromSecret": True},
                },
                "signIn": {"secretsKey": {"secretsManager": {"enabled": False}}},
            }
        }
    }
    values = support.deep_merge(support.application_values(support.application("dev")), override)
    deploy = by_kind(support.render(values, "folio-dev"), "Deployment")["users"]
    (c,) = deploy["spec"]["template"]["spec"]["containers"]
    env_vars = {e["name"]: e for e in c["env"]}
    ref = env_vars["FOLIO_USERS_DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "folio-users-db", "key": "password"}
    assert not {n for n in env_vars if n.endswith("_SECRET")}
    # checkov accepts that env var only with the justification beside it.
    assert "CKV_K8S_35" in deploy["metadata"]["annotations"]["checkov.io/skip3"]


def test_the_redis_url_can_come_from_a_kubernetes_secret_instead():
    override = {"services": {"bff": {"redis": {"fromSecret": {"enabled": True}}}}}
    values = support.deep_merge(support.application_values(support.application("dev")), override)
    (c,) = by_kind(support.render(values, "folio-dev"), "Deployment")["bff"]["spec"]["template"]["spec"]["containers"]
    env_vars = {e["name"]: e for e in c["env"]}
    assert env_vars["FOLIO_BFF_REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "folio-bff-redis", "key": "url"}
    assert "FOLIO_BFF_REDIS_AUTH_TOKEN_SECRET" not in env_vars


@pytest.mark.parametrize("credential", ["secret", "certificate"])
def test_the_deployments_entra_app_authenticates_by_secret_or_certificate(credential):
    override = {"services": {"bff": {"signIn": {"entraClientId": "app-id", "entraCredential": credential}}}}
    values = support.deep_merge(support.application_values(support.application("dev")), override)
    (c,) = by_kind(support.render(values, "folio-dev"), "Deployment")["bff"]["spec"]["template"]["spec"]["containers"]
    env_vars = {e["name"]: e.get("value") for e in c["env"]}
    extra = {e["name"] for e in _values_of("dev")["services"]["bff"].get("extraEnv", [])}
    assert set(env_vars) == support.ENV_VARS["bff"] | extra | support.ENTRA_APP_ENV_VARS[credential]
    assert env_vars["FOLIO_BFF_ENTRA_CLIENT_ID"] == "app-id"
    name = {"secret": "SECRET", "certificate": "CERTIFICATE"}[credential]
    assert env_vars[f"FOLIO_BFF_ENTRA_CLIENT_{name}_SECRET"] == f"aws:folio/dev/bff/entra-client-{credential}"


def test_database_tls_follows_its_values():
    """No bundle: only ssl-mode is added (public roots), and nothing is mounted."""
    override = {"databaseTls": {"sslMode": "REQUIRED", "caConfigMap": ""}}
    values = support.deep_merge(support.application_values(support.application("dev")), override)
    deployments = by_kind(support.render(values, "folio-dev"), "Deployment")
    urls = {}
    for name in ("users", "documents", "integration"):
        (c,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        urls[name] = {e["name"]: e.get("value") for e in c["env"]}[f"FOLIO_{name.upper()}_DATABASE_URL"]
        assert all(v["name"] != "db-ca" for v in deployments[name]["spec"]["template"]["spec"]["volumes"])
    for name, url in urls.items():
        assert url.endswith(f"/folio_{name}?ssl-mode=REQUIRED"), url
    bad = support.deep_merge(values, {"databaseTls": {"sslMode": "ON"}})
    with pytest.raises(helm_python.HelmValuesError, match="sslMode"):
        support.render(bad, "folio-dev")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_services_expose_the_contract_ports(rendered, env):
    services = by_kind(rendered[env], "Service")
    assert set(services) == set(SERVICES)
    for name, svc in services.items():
        ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
        expected = {"http": support.OPS_PORT[name]}
        if name in support.GRPC_PORT:
            expected["grpc"] = support.GRPC_PORT[name]
        assert ports == expected, name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_service_has_its_mtls_identity(rendered, env):
    ns = f"folio-{env}"
    certs = by_kind(rendered[env], "Certificate")
    issuers = by_kind(rendered[env], "Issuer")
    assert issuers["folio-selfsigned"]["spec"] == {"selfSigned": {}}
    assert certs["folio-ca"]["spec"]["isCA"] is True
    assert certs["folio-ca"]["spec"]["issuerRef"]["name"] == "folio-selfsigned"
    assert issuers["folio-ca"]["spec"]["ca"]["secretName"] == certs["folio-ca"]["spec"]["secretName"]
    deployments = by_kind(rendered[env], "Deployment")
    for name in SERVICES:
        spec = certs[name]["spec"]
        assert spec["uris"] == [f"spiffe://folio/{name}"]
        assert spec["dnsNames"] == [name, f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"]
        assert {"server auth", "client auth"} <= set(spec["usages"])
        assert spec["issuerRef"]["name"] == "folio-ca"
        pod = deployments[name]["spec"]["template"]["spec"]
        (tls,) = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == spec["secretName"]]
        (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == tls["name"]]
        assert mount["mountPath"] == support.TLS_DIR and mount["readOnly"] is True
        # Rotation needs the whole secret mounted, not single files.
        assert "subPath" not in mount


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_service_accounts_carry_their_irsa_role(rendered, env):
    accounts = by_kind(rendered[env], "ServiceAccount")
    assert set(accounts) == set(SERVICES)
    deployments = by_kind(rendered[env], "Deployment")
    for name, sa in accounts.items():
        arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        assert re.fullmatch(rf"arn:aws:iam::\d{{12}}:role/folio-{env}-{name}", arn), arn
        assert deployments[name]["spec"]["template"]["spec"]["serviceAccountName"] == name


# --- availability -----------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_deployment_has_an_hpa_and_a_pdb_that_allows_drains(rendered, env):
    deployments = by_kind(rendered[env], "Deployment")
    hpas = by_kind(rendered[env], "HorizontalPodAutoscaler")
    pdbs = by_kind(rendered[env], "PodDisruptionBudget")
    for name, deploy in deployments.items():
        # Replicas belong to the HPA; a fixed count would fight it on sync.
        assert "replicas" not in deploy["spec"], name
        hpa = hpas[name]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        matching = [p for p in pdbs.values() if support.selector_matches(p["spec"]["selector"], pod_labels(deploy))]
        assert len(matching) == 1, name
        pdb = matching[0]["spec"]
        if "minAvailable" in pdb:
            assert pdb["minAvailable"] < hpa["spec"]["minReplicas"], name
        else:
            assert pdb["maxUnavailable"] >= 1, name


def test_prod_runs_more_replicas_with_a_stricter_budget(rendered):
    def floor(env, name):
        return by_kind(rendered[env], "HorizontalPodAutoscaler")[name]["spec"]["minReplicas"]

    for name in SERVICES:
        assert floor("prod", name) >= 3
        assert floor("prod", name) > floor("dev", name)
        assert floor("prod", name) >= floor("stage", name)
        prod_pdb = by_kind(rendered["prod"], "PodDisruptionBudget")[name]["spec"]
        dev_pdb = by_kind(rendered["dev"], "PodDisruptionBudget")[name]["spec"]
        assert prod_pdb.get("minAvailable", 0) >= 2, name
        assert "minAvailable" not in dev_pdb, name


# --- network ----------------------------------------------------------------


def _policies_selecting(policies: dict[str, dict], labels: dict) -> list[str]:
    return [n for n, p in policies.items() if support.selector_matches(p["spec"]["podSelector"], labels)]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_workload_is_selected_by_exactly_one_network_policy(rendered, env):
    policies = by_kind(rendered[env], "NetworkPolicy")
    deployments = by_kind(rendered[env], "Deployment")
    for name, deploy in deployments.items():
        assert _policies_selecting(policies, pod_labels(deploy)) == [name]
    for name, svc in by_kind(rendered[env], "Service").items():
        backing = [d for d in deployments.values() if support.selector_matches({"matchLabels": svc["spec"]["selector"]}, pod_labels(d))]
        assert len(backing) == 1, name
        assert _policies_selecting(policies, pod_labels(backing[0])) == [name]
    for policy in policies.values():
        assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]


def _peer_services(peers: list[dict], deployments: dict[str, dict]) -> set[str]:
    found = set()
    for peer in peers:
        assert set(peer) == {"podSelector"}, f"not a same-namespace pod peer: {peer}"
        found |= {n for n, d in deployments.items() if support.selector_matches(peer["podSelector"], pod_labels(d))}
    return found


def _to_collector(rule: dict) -> bool:
    """The egress rule to the release's OpenTelemetry collector."""
    return all(
        t.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "otel-collector"
        for t in rule["to"]
    ) and [p["port"] for p in rule["ports"]] == [4317]


def test_tracing_sends_every_service_to_the_collector_and_nothing_else():
    # Without the release's own collector (test_platform.py checks that one).
    no_collector = support.deep_merge(
        support.application_values(support.application("dev")), {"collector": {"enabled": False}}
    )
    values = support.deep_merge(
        no_collector,
        {"tracing": {"otlpEndpoint": "http://otel-collector.observability:4317",
                     "sampler": "always_on", "samplerArg": "1"}},
    )
    docs = support.render(values, "folio-dev")
    default = support.render(no_collector, "folio-dev")
    for name, deploy in by_kind(docs, "Deployment").items():
        (c,) = deploy["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability:4317"
        assert env["OTEL_SERVICE_NAME"] == f"folio-{name}"
        assert (env["OTEL_TRACES_SAMPLER"], env["OTEL_TRACES_SAMPLER_ARG"]) == ("always_on", "1")
        assert (env["OTEL_METRICS_EXPORTER"], env["OTEL_METRIC_EXPORT_INTERVAL"]) == ("otlp", "60000")
    no_push = support.deep_merge(values, {"tracing": {"metrics": False}})
    for deploy in by_kind(support.render(no_push, "folio-dev"), "Deployment").values():
        (c,) = deploy["spec"]["template"]["spec"]["containers"]
        assert {e["name"]: e.get("value") for e in c["env"]}["OTEL_METRICS_EXPORTER"] == "none"
    for name, policy in by_kind(docs, "NetworkPolicy").items():
        before = by_kind(default, "NetworkPolicy")[name]["spec"]["egress"]
        added = [r for r in policy["spec"]["egress"] if r not in before]
        assert added == [{
            "ports": [{"port": 4317, "protocol": "TCP"}],
            "to": [{"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": "observability"}}}],
        }], name
    # Off by default: an empty endpoint.
    for deploy in by_kind(default, "Deployment").values():
        (c,) = deploy["spec"]["template"]["spec"]["containers"]
        assert {e["name"]: e.get("value") for e in c["env"]}["OTEL_EXPORTER_OTLP_ENDPOINT"] == ""


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_network_policies_allow_only_the_contract(rendered, env):
    policies = by_kind(rendered[env], "NetworkPolicy")
    deployments = by_kind(rendered[env], "Deployment")
    values = support.application_values(support.application(env))
    defaults = support.load_yaml(support.CHART / "values.yaml")["networkPolicy"]
    np_values = support.deep_merge(defaults, values.get("networkPolicy", {}))
    for name in SERVICES:
        spec = policies[name]["spec"]
        (c,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        by_port: dict[int, list[dict]] = {}
        for rule in spec["ingress"]:
            assert rule.get("from"), f"{name}: ingress rule open to everyone"
            for port in rule["ports"]:
                by_port.setdefault(support.named_port(c, port["port"]), []).extend(rule["from"])
        grpc = support.GRPC_PORT.get(name)
        if grpc:
            assert _peer_services(by_port.pop(grpc), deployments) == support.GRPC_CALLERS[name]
        http_peers = by_port.pop(support.OPS_PORT[name], [])
        assert not by_port, f"{name}: unexpected ports {by_port}"
        namespaces = set()
        cidrs = set()
        for peer in http_peers:
            if "ipBlock" in peer:
                cidrs.add(peer["ipBlock"]["cidr"])
                continue
            assert set(peer) == {"namespaceSelector"}, peer
            namespaces.add(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"])
        allowed_cidrs = set(np_values["probeCidrs"])
        if name in support.PUBLIC:
            allowed_cidrs |= set(np_values["loadBalancerCidrs"])
            assert set(np_values["loadBalancerCidrs"]) <= cidrs, name
        assert cidrs <= allowed_cidrs, (name, cidrs)
        assert namespaces <= {np_values["monitoringNamespace"]} - {""}, (name, namespaces)

        egress = spec["egress"]
        dns = [r for r in egress if {p["port"] for p in r["ports"]} == {53}]
        assert len(dns) == 1, name
        callee_rules = [
            r for r in egress
            if all("podSelector" in t and "namespaceSelector" not in t for t in r["to"])
            and not _to_collector(r)
        ]
        called = set()
        for rule in callee_rules:
            assert [p["port"] for p in rule["ports"]] == [50051], (name, rule)
            called |= _peer_services(rule["to"], deployments)
        assert called == support.CALLEES[name], name
        egress_ports = {p["port"] for r in egress for p in r["ports"]}
        expected_ports = {53} | ({50051} if support.CALLEES[name] else set())
        expected_ports |= {3306} if name != "bff" else {6379}
        # Every service reads a secret from Secrets Manager (and documents
        # and integration call S3 and Graph).
        expected_ports |= {443}
        # OTLP to the release's collector, when it has one.
        if any(_to_collector(r) for r in egress):
            expected_ports |= {4317}
        # Mail to SES's SMTP endpoint (implicit TLS).
        if name == "notifications":
            expected_ports |= {465}
        assert egress_ports == expected_ports, name


def test_no_https_egress_without_aws_secrets_or_apis():
    """users needs HTTPS only to read its secrets from AWS; the bff also
    talks to organisations' identity providers (docs/adr/0066)."""
    override = {
        "services": {
            "users": {
                "database": {"secretsManager": {"enabled": False}, "password": {"fromSecret": True}},
                "signIn": {"secretsKey": {"secretsManager": {"enabled": False}}},
            },
            "bff": {"redis": {"fromSecret": {"enabled": True}}},
        }
    }
    values = support.deep_merge(support.application_values(support.application("dev")), override)
    policies = by_kind(support.render(values, "folio-dev"), "NetworkPolicy")
    for name in SERVICES:
        ports = {p["port"] for r in policies[name]["spec"]["egress"] for p in r["ports"]}
        # notifications posts webhooks to public HTTPS endpoints.
        assert (443 in ports) == (name in {"bff", "documents", "integration", "notifications"}), name


def test_network_cidrs_match_the_vpcs():
    """values-<env>.yaml name the data CIDR network.yaml gives that env,
    so one namespace's pods cannot reach another environment's databases."""
    from cfnlint.decode import cfn_yaml

    layout = cfn_yaml.load(str(support.CLOUDFORMATION / "network.yaml"))["Mappings"]["Layout"]
    for env in ENVIRONMENTS:
        cidr = layout[env]["Cidr"]
        values = support.load_yaml(support.CHART / f"values-{env}.yaml")
        assert values["networkPolicy"]["databaseCidrs"] == [cidr]
        assert values["networkPolicy"]["redisCidrs"] == [cidr]


def _routes(docs: list[dict]) -> dict[tuple[str, str, str], object]:
    """(host, path type, path) -> (service, port) or the filter that answers instead."""
    routes = {}
    for name, route in by_kind(docs, "HTTPRoute").items():
        spec = route["spec"]
        for host in spec["hostnames"]:
            for rule in spec["rules"]:
                for match in rule.get("matches", [{"path": {"type": "PathPrefix", "value": "/"}}]):
                    key = (host, match["path"]["type"], match["path"]["value"])
                    assert key not in routes or name == "https-redirect", f"{key} routed twice"
                    if "backendRefs" in rule:
                        (ref,) = rule["backendRefs"]
                        target = (ref["name"], ref["port"])
                    else:
                        (f,) = rule["filters"]
                        target = f.get("extensionRef", {}).get("name") or f["type"]
                    if name != "https-redirect":
                        routes[key] = target
    return routes


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_gateway_exposes_only_the_two_dmz_endpoints(rendered, env):
    """One ALB (Gateway) per environment through the AWS Load Balancer
    Controller's class; the portal host goes to the bff, the webhook host
    only to the integration's two Graph paths; /metrics is refused."""
    values = _values_of(env)["gateway"]
    (gateway,) = by_kind(rendered[env], "Gateway").values()
    spec = gateway["spec"]
    assert spec["gatewayClassName"] == "folio-alb"
    assert spec["infrastructure"]["parametersRef"] == {
        "group": "gateway.k8s.aws", "kind": "LoadBalancerConfiguration", "name": "folio"}
    listeners = {(l["protocol"], l["port"], l.get("hostname")) for l in spec["listeners"]}
    assert listeners == {("HTTP", 80, None), ("HTTPS", 443, values["bffHost"]), ("HTTPS", 443, values["webhookHost"])}
    for listener in spec["listeners"]:
        assert listener["allowedRoutes"]["namespaces"]["from"] == "Same"
    (lb,) = by_kind(rendered[env], "LoadBalancerConfiguration").values()
    assert lb["spec"]["scheme"] == "internet-facing"
    (https,) = lb["spec"]["listenerConfigurations"]
    assert https["protocolPort"] == "HTTPS:443"
    assert https["defaultCertificate"].startswith("arn:aws:acm:")
    assert https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-")

    bff, hooks = values["bffHost"], values["webhookHost"]
    expected = {
        (bff, "Exact", "/metrics"): "metrics-refused",
        (bff, "PathPrefix", "/"): ("bff", support.OPS_PORT["bff"]),
    }
    expected |= {(hooks, "Exact", p): ("integration", support.OPS_PORT["integration"]) for p in support.WEBHOOK_PATHS}
    assert _routes(rendered[env]) == expected
    (refused,) = by_kind(rendered[env], "ListenerRuleConfiguration").values()
    (action,) = refused["spec"]["actions"]
    assert action["type"] == "fixed-response" and action["fixedResponseConfig"]["statusCode"] == 403
    # Port 80 answers nothing but a redirect to HTTPS.
    redirect = by_kind(rendered[env], "HTTPRoute")["https-redirect"]["spec"]
    assert [p["sectionName"] for p in redirect["parentRefs"]] == ["http"]
    (rule,) = redirect["rules"]
    assert "backendRefs" not in rule
    assert rule["filters"] == [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]
    for name, route in by_kind(rendered[env], "HTTPRoute").items():
        if name != "https-redirect":
            assert [p["sectionName"] for p in route["spec"]["parentRefs"]] in (["portal"], ["hooks"]), name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_graph_webhook_route_stays(rendered, env):
    """Microsoft Graph posts change notifications to
    https://<webhookHost>/api/v1/onedrive/notifications: losing that route
    silently stops the OneDrive mirror."""
    hooks = _values_of(env)["gateway"]["webhookHost"]
    routes = _routes(rendered[env])
    assert routes[(hooks, "Exact", "/api/v1/onedrive/notifications")] == ("integration", support.OPS_PORT["integration"])
    deploy = by_kind(rendered[env], "Deployment")["integration"]
    (c,) = deploy["spec"]["template"]["spec"]["containers"]
    env_vars = {e["name"]: e.get("value") for e in c["env"]}
    assert env_vars["FOLIO_INTEGRATION_PUBLIC_URL"] == f"https://{hooks}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_backend_of_the_load_balancer_is_https(rendered, env):
    """No plaintext hop: each Service a route sends to has a target group
    speaking HTTPS (health checks too, on the pod's own /readyz), and its pods
    serve that port with TLS from their cert-manager certificate."""
    docs = rendered[env]
    targets = {t["spec"]["targetReference"]["name"]: t["spec"] for t in by_kind(docs, "TargetGroupConfiguration").values()}
    backends = {v[0] for v in _routes(docs).values() if isinstance(v, tuple)}
    assert backends == support.PUBLIC
    services = by_kind(docs, "Service")
    certificates = by_kind(docs, "Certificate")
    for name in backends:
        tg = targets[name]["defaultConfiguration"]
        assert tg["protocol"] == "HTTPS", f"{name}: plain HTTP from the load balancer"
        assert tg["targetType"] == "ip"
        health = tg["healthCheckConfig"]
        assert (health["healthCheckProtocol"], health["healthCheckPath"]) == ("HTTPS", "/readyz"), name
        (port,) = [p for p in services[name]["spec"]["ports"] if p["port"] == support.OPS_PORT[name]]
        assert port["appProtocol"] == "https", name
        deploy = by_kind(docs, "Deployment")[name]
        (c,) = deploy["spec"]["template"]["spec"]["containers"]
        env_vars = {e["name"]: e.get("value") for e in c["env"]}
        prefix = f"FOLIO_{name.upper()}_"
        assert env_vars[prefix + "HTTP_TLS_CERT_FILE"] == f"{support.TLS_DIR}/tls.crt", name
        assert env_vars[prefix + "HTTP_TLS_KEY_FILE"] == f"{support.TLS_DIR}/tls.key", name
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        assert mounts["tls"] == support.TLS_DIR
        (secret,) = [v["secret"]["secretName"] for v in deploy["spec"]["template"]["spec"]["volumes"] if v["name"] == "tls"]
        assert secret in {cert["spec"]["secretName"] for cert in certificates.values()}, name
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert c[probe]["httpGet"]["scheme"] == "HTTPS", (name, probe)
    # The other services are not reached by the load balancer: no HTTP TLS.
    for name in set(SERVICES) - support.PUBLIC:
        (c,) = by_kind(docs, "Deployment")[name]["spec"]["template"]["spec"]["containers"]
        assert not [e for e in c["env"] if "HTTP_TLS" in e["name"]], name


def test_no_ingress_comes_back(rendered):
    """Gateway API replaced Ingress (and the retired ingress-nginx): no
    Ingress rendered, none admitted by the project, none named by the chart,
    the stacks or the docs' setup steps."""
    for env in ENVIRONMENTS:
        assert not by_kind(rendered[env], "Ingress"), env
        assert not by_kind(rendered[env], "IngressClass"), env
    projects = support.load_yaml_all((support.ARGOCD / "project.yaml").read_text())
    (project,) = [p for p in projects if p["metadata"]["name"] == "folio"]
    admitted = {(k["group"], k["kind"]) for k in project["spec"]["namespaceResourceWhitelist"]}
    assert not [k for k in admitted if k[1] in {"Ingress", "IngressClass"}]
    assert {("gateway.networking.k8s.io", "Gateway"), ("gateway.networking.k8s.io", "HTTPRoute")} <= admitted
    checked = [*support.CHART.rglob("*.yaml"), *support.CHART.rglob("*.tpl"), support.CHART / "values.schema.json",
               *support.CLOUDFORMATION.glob("*.yaml"), *support.ARGOCD.rglob("*.yaml"),
               support.ROOT / "docs" / "operations.md"]
    for path in checked:
        text = path.read_text()
        assert "kind: Ingress" not in text and "ingressClassName" not in text, path
        assert "nginx" not in text.lower(), path
        assert "alb.ingress.kubernetes.io" not in text, path
    # The controller's Application (argocd/platform, docs/adr/0072) creates no IngressClass.
    controller = support.load_yaml(support.ARGOCD / "platform" / "aws-load-balancer-controller.yaml")
    assert controller["spec"]["source"]["helm"]["valuesObject"]["createIngressClassResource"] is False


def test_pinned_crd_schemas_reject_mistakes(rendered):
    """The Gateway API and controller CRDs, pinned as published, catch typos
    and wrong values the API server would refuse or silently drop."""
    import copy

    import jsonschema

    docs = rendered["dev"]
    gateway = next(iter(by_kind(docs, "Gateway").values()))
    route = by_kind(docs, "HTTPRoute")["integration-webhook"]
    target = by_kind(docs, "TargetGroupConfiguration")["bff"]
    lb = next(iter(by_kind(docs, "LoadBalancerConfiguration").values()))
    for doc, mutate in (
        (gateway, lambda d: d["spec"]["listeners"][0].update(protocl="HTTP")),
        (gateway, lambda d: d["spec"].pop("listeners")),
        (route, lambda d: d["spec"]["rules"][0]["matches"][0]["path"].update(type="Regexp")),
        (route, lambda d: d["spec"]["rules"][0].update(backendRef=[])),
        (target, lambda d: d["spec"]["defaultConfiguration"].update(protocol="HTTPX")),
        (target, lambda d: d["spec"]["defaultConfiguration"]["healthCheckConfig"].update(healthCheckProtocol="GRPC")),
        (lb, lambda d: d["spec"].update(scheme="public")),
    ):
        bad = copy.deepcopy(doc)
        mutate(bad)
        with pytest.raises(jsonschema.ValidationError):
            support.validate_manifest(bad, "1.35")
    # And the real documents pass (test_every_manifest_matches_its_schema).
    for doc in (gateway, route, target, lb):
        support.validate_manifest(doc, "1.35")


def test_the_load_balancer_sources_are_the_public_subnets():
    from cfnlint.decode import cfn_yaml

    layout = cfn_yaml.load(str(support.CLOUDFORMATION / "network.yaml"))["Mappings"]["Layout"]["public"]
    values = support.load_yaml(support.CHART / "values.yaml")
    assert sorted(values["networkPolicy"]["loadBalancerCidrs"]) == sorted(layout.values())


def test_notifications_egress_smtp_only_where_configured_and_webhooks_only_to_public_addresses():
    # The environments send through SES (the mail stack); without a relay:
    base = support.deep_merge(
        support.application_values(support.application("dev")),
        {"services": {"notifications": {"smtp": {"url": ""}}}},
    )
    policy = by_kind(support.render(base, "folio-dev"), "NetworkPolicy")["notifications"]
    ports = {p["port"] for r in policy["spec"]["egress"] for p in r["ports"]}
    assert 465 not in ports and 587 not in ports, "no relay configured: no SMTP egress"
    (webhooks,) = [r for r in policy["spec"]["egress"] if any("except" in t.get("ipBlock", {}) for t in r["to"])]
    (block,) = webhooks["to"]
    assert block["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"} <= set(block["ipBlock"]["except"])
    (deploy,) = [by_kind(support.render(base, "folio-dev"), "Deployment")["notifications"]]
    env = {e["name"]: e.get("value") for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["FOLIO_NOTIFICATIONS_ALLOW_PRIVATE_WEBHOOKS"] == "false"
    assert env["FOLIO_NOTIFICATIONS_RETRY_BASE_SECS"] == "30"
    assert "FOLIO_SMTP_URL" not in env

    smtp = {
        "url": "smtps://email-smtp.eu-central-1.amazonaws.com:465",
        "port": 465,
        "from": "folio@example.com",
        "credentialsSecret": "folio/dev/notifications/smtp",
    }
    values = support.deep_merge(base, {"services": {"notifications": {"smtp": smtp}}})
    rendered = support.render(values, "folio-dev")
    policy = by_kind(rendered, "NetworkPolicy")["notifications"]
    (rule,) = [r for r in policy["spec"]["egress"] if [p["port"] for p in r["ports"]] == [465]]
    assert [t["ipBlock"]["cidr"] for t in rule["to"]] == ["0.0.0.0/0"]
    (c,) = by_kind(rendered, "Deployment")["notifications"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["FOLIO_SMTP_URL"] == smtp["url"]
    assert env["FOLIO_SMTP_PASSWORD_SECRET"] == "aws:folio/dev/notifications/smtp#password"
    # Credentials in the URL are refused by the schema.
    bad = support.deep_merge(base, {"services": {"notifications": {"smtp": {**smtp, "url": "smtps://u:p@host:465"}}}})
    with pytest.raises(helm_python.HelmValuesError):
        support.render(bad, "folio-dev")
