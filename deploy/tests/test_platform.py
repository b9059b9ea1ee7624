"""The platform objects the chart renders besides the services: migration
Jobs, zone spread, ResourceQuota, the pod security group, and that Argo CD's
project admits every kind the chart renders."""

from __future__ import annotations

import math

import pytest

import support
from support import ENVIRONMENTS, SERVICES, by_kind, containers, selector_matches

# Services with a database (their contract's env vars name one).
DATABASE_SERVICES = tuple(s for s in SERVICES if f"FOLIO_{s.upper()}_DATABASE_URL" in support.ENV_VARS[s])


def _env(container: dict) -> dict:
    return {e["name"]: e.get("value") for e in container["env"]}


def _values(env: str) -> dict:
    defaults = support.load_yaml(support.CHART / "values.yaml")
    return support.deep_merge(defaults, support.application_values(support.application(env)))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_platform_manifests_match_their_schemas(rendered_all, kube_version, env):
    for doc in rendered_all[env]:
        if support.is_platform(doc):
            support.validate_manifest(doc, kube_version)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_project_admits_every_kind_the_chart_renders(rendered_all, env):
    project = next(
        d for d in support.load_yaml_all((support.ARGOCD / "project.yaml").read_text())
        if d["metadata"]["name"] == "folio"
    )
    allowed = {(k["group"], k["kind"]) for k in project["spec"]["namespaceResourceWhitelist"]}
    for doc in rendered_all[env]:
        group = doc["apiVersion"].rpartition("/")[0]
        assert (group, doc["kind"]) in allowed, (doc["kind"], doc["metadata"]["name"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_migrations_run_once_per_rollout_with_their_own_login(rendered_all, env):
    docs = rendered_all[env]
    jobs = by_kind(docs, "Job")
    assert set(jobs) == {f"{s}-migrations" for s in DATABASE_SERVICES}
    deployments = by_kind(docs, "Deployment")
    services = by_kind(docs, "Service")
    for svc in DATABASE_SERVICES:
        job = jobs[f"{svc}-migrations"]
        annotations = job["metadata"]["annotations"]
        assert annotations["argocd.argoproj.io/hook"] == "PreSync", "before any new pod starts"
        assert "BeforeHookCreation" in annotations["argocd.argoproj.io/hook-delete-policy"]
        (migrate,) = job["spec"]["template"]["spec"]["containers"]
        (serve,) = deployments[svc]["spec"]["template"]["spec"]["containers"]
        assert migrate["image"] == serve["image"], "the Job migrates to the image being rolled out"
        job_env, serve_env = _env(migrate), _env(serve)
        assert job_env["FOLIO_MIGRATIONS"] == "only"
        assert serve_env["FOLIO_MIGRATIONS"] == "verify", "serving pods never migrate"
        prefix = f"FOLIO_{svc.upper()}_"
        assert job_env[f"{prefix}DATABASE_PASSWORD_SECRET"] == f"aws:folio/{env}/{svc}/migrations#password"
        assert serve_env[f"{prefix}DATABASE_PASSWORD_SECRET"] == f"aws:folio/{env}/{svc}/database#password"
        assert job_env[f"{prefix}DATABASE_URL"] == serve_env[f"{prefix}DATABASE_URL"]
        # Not an endpoint of the service, but under its own NetworkPolicy.
        labels = job["spec"]["template"]["metadata"]["labels"]
        assert not any(selector_matches({"matchLabels": s["spec"]["selector"]}, labels) for s in services.values())
        policy = by_kind(docs, "NetworkPolicy")[f"{svc}-migrations"]["spec"]
        assert selector_matches(policy["podSelector"], labels)
        assert policy["ingress"] == []
        assert {p["port"] for r in policy["egress"] for p in r["ports"]} == {53, 3306, 443}
    assert "bff-migrations" not in jobs


def test_without_the_job_every_pod_migrates_at_start():
    values = support.deep_merge(
        support.application_values(support.application("dev")), {"migrations": {"job": False}}
    )
    docs = support.render_all(values, "folio-dev")
    assert not by_kind(docs, "Job")
    for svc in DATABASE_SERVICES:
        (c,) = by_kind(docs, "Deployment")[svc]["spec"]["template"]["spec"]["containers"]
        assert _env(c)["FOLIO_MIGRATIONS"] == "apply"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_zone_spread_is_required_in_prod(rendered, env):
    for name, deploy in by_kind(rendered[env], "Deployment").items():
        spec = deploy["spec"]["template"]["spec"]
        (zone,) = [c for c in spec["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
        expected = "DoNotSchedule" if env == "prod" else "ScheduleAnyway"
        assert zone["whenUnsatisfiable"] == expected, (env, name)
        for constraint in spec["topologySpreadConstraints"]:
            # Counted per rollout: the old ReplicaSet's pods do not block the new one.
            assert constraint["matchLabelKeys"] == ["pod-template-hash"], (env, name)
            assert selector_matches(constraint["labelSelector"], support.pod_labels(deploy))
    if env == "prod":
        for svc in SERVICES:
            assert _values(env)["services"][svc]["autoscaling"]["minReplicas"] >= 3, "one per zone at least"


def _quantity(value: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_quota_holds_every_hpa_at_its_maximum_during_a_rollout(rendered_all, env):
    """Each service at maxReplicas plus its rollout surge (25%), the
    collector, and the migration Jobs of a rollout fit the namespace's
    ResourceQuota; otherwise a scale-up or a rollout would be refused."""
    values = _values(env)
    (quota,) = by_kind(rendered_all[env], "ResourceQuota").values()
    hard = {k: _quantity(v) for k, v in quota["spec"]["hard"].items()}
    need = {"requests.cpu": 0.0, "requests.memory": 0.0, "limits.cpu": 0.0, "limits.memory": 0.0, "pods": 0.0}

    def add(count: float, resources: dict) -> None:
        need["pods"] += count
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                need[f"{kind}.{resource}"] += count * _quantity(resources[kind][resource])

    for svc in SERVICES:
        v = values["services"][svc]
        peak = v["autoscaling"]["maxReplicas"]
        add(peak + math.ceil(peak * 0.25), v["resources"])
    add(values["collector"]["replicas"] + 1, values["collector"]["resources"])
    add(len(DATABASE_SERVICES), values["migrations"]["resources"])
    for key, needed in need.items():
        assert hard[key] >= needed, (env, key, hard[key], needed)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_pods_carry_their_environments_security_group(rendered_all, env):
    docs = rendered_all[env]
    (policy,) = by_kind(docs, "SecurityGroupPolicy").values()
    ids = policy["spec"]["securityGroups"]["groupIds"]
    assert ids == [_values(env)["podSecurityGroup"]["id"]]
    others = {_values(e)["podSecurityGroup"]["id"] for e in ENVIRONMENTS if e != env}
    assert not set(ids) & others, "each environment has its own group"
    pods = [d["spec"]["template"]["metadata"]["labels"] for d in docs if d["kind"] in ("Deployment", "Job")]
    assert pods
    for labels in pods:
        assert selector_matches(policy["spec"]["podSelector"], labels), labels


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_pod_of_the_chart_keeps_the_security_baseline(rendered_all, env):
    for doc in rendered_all[env]:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        spec = doc["spec"]["template"]["spec"]
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        for c in containers(doc):
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"], doc["metadata"]["name"]
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert c["resources"]["limits"] and c["resources"]["requests"]


def test_readiness_is_the_pods_own(rendered):
    """Every probe and the load balancer's health check use /readyz, and the
    bff's /readyz looks at its own session store only, never at the domain
    services (services/bff/tests/api/readiness.rs shows the behaviour)."""
    for env in ENVIRONMENTS:
        for name, deploy in by_kind(rendered[env], "Deployment").items():
            (c,) = deploy["spec"]["template"]["spec"]["containers"]
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", (env, name)
        for target in by_kind(rendered[env], "TargetGroupConfiguration").values():
            assert target["spec"]["defaultConfiguration"]["healthCheckConfig"]["healthCheckPath"] == "/readyz"
    health = (support.ROOT / "services" / "bff" / "src" / "api" / "health.rs").read_text()
    code = "\n".join(line for line in health.splitlines() if not line.lstrip().startswith("//"))
    assert "sessions.ping()" in code
    for downstream in ("HealthClient", "users", "documents", "integration", "channel"):
        assert downstream not in code, f"/readyz must not depend on {downstream}"
