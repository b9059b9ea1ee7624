"""Argo CD project, applications and bootstrap manifests."""

from __future__ import annotations

import re

import pytest

import support
from support import ARGOCD, ENVIRONMENTS


def _all_argocd_docs() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(ARGOCD.rglob("*.yaml")):
        for doc in support.load_yaml_all(path.read_text()):
            docs.append((str(path.relative_to(support.ROOT)), doc))
    return docs


def test_every_argocd_manifest_matches_its_schema(kube_version):
    docs = _all_argocd_docs()
    kinds = {doc["kind"] for _, doc in docs}
    assert {"AppProject", "Application", "Namespace", "Role", "RoleBinding", "ClusterRole"} <= kinds
    for path, doc in docs:
        try:
            support.validate_manifest(doc, kube_version)
        except Exception as err:
            pytest.fail(f"{path}: {doc['kind']}/{doc['metadata']['name']}: {err}")


def _project() -> dict:
    (project,) = [d for _, d in _all_argocd_docs() if d["kind"] == "AppProject" and d["metadata"]["name"] == "folio"]
    return project


def test_project_is_restricted_to_the_three_namespaces_and_this_repository():
    spec = _project()["spec"]
    assert len(spec["sourceRepos"]) == 1
    assert "*" not in spec["sourceRepos"][0]
    namespaces = sorted(d["namespace"] for d in spec["destinations"])
    assert namespaces == ["folio-dev", "folio-prod", "folio-stage"]
    assert {d["server"] for d in spec["destinations"]} == {"https://kubernetes.default.svc"}
    assert spec["clusterResourceWhitelist"] == []
    assert all(k["kind"] != "*" for k in spec["namespaceResourceWhitelist"])


def test_the_repository_url_is_the_same_everywhere():
    (repo,) = _project()["spec"]["sourceRepos"]
    for path, doc in _all_argocd_docs():
        if doc["kind"] == "Application":
            assert doc["spec"]["source"]["repoURL"] == repo, path
        if doc["kind"] == "AppProject":
            assert doc["spec"]["sourceRepos"] == [repo], path


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_has_one_application(env):
    app = support.application(env)
    spec = app["spec"]
    assert app["metadata"]["name"] == f"folio-{env}"
    assert spec["project"] == "folio"
    assert spec["destination"]["namespace"] == f"folio-{env}"
    source = spec["source"]
    assert source["path"] == "helm/folio"
    assert source["helm"]["valueFiles"] == [f"values-{env}.yaml"]
    assert (support.CHART / f"values-{env}.yaml").is_file()
    params = [p for p in source["helm"]["parameters"] if p["name"] == "image.tag"]
    assert len(params) == 1, "exactly one image.tag pin"
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", params[0]["value"])
    assert "valuesObject" not in source["helm"] and "values" not in source["helm"], (
        "the image tag must have one home: the image.tag parameter"
    )


def test_sync_policies():
    """DEV and STAGE sync automatically (STAGE: docs/adr/0012), PROD only
    when the approved promotion (or an operator) starts a sync."""
    for env in ("dev", "stage"):
        automated = support.application(env)["spec"]["syncPolicy"]["automated"]
        assert automated == {"prune": True, "selfHeal": True}, env
    assert "automated" not in support.application("prod")["spec"].get("syncPolicy", {})


def test_the_root_application_follows_main_and_manages_only_the_apps():
    (root,) = [d for p, d in _all_argocd_docs() if p == "argocd/root.yaml"]
    assert root["spec"]["source"]["path"] == "argocd/apps"
    assert root["spec"]["source"]["targetRevision"] == "main"
    assert root["spec"]["project"] == "folio-bootstrap"
    (bootstrap,) = [d for _, d in _all_argocd_docs() if d["kind"] == "AppProject" and d["metadata"]["name"] == "folio-bootstrap"]
    assert bootstrap["spec"]["namespaceResourceWhitelist"] == [{"group": "argoproj.io", "kind": "Application"}]
    assert [d["namespace"] for d in bootstrap["spec"]["destinations"]] == ["argocd"]


def test_release_rbac_is_narrow():
    docs = support.load_yaml_all((ARGOCD / "bootstrap" / "release-rbac.yaml").read_text())
    for doc in docs:
        for rule in doc.get("rules", []):
            assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
            assert not {"create", "delete", "update", "deletecollection"} & set(rule["verbs"]), rule
        if doc["kind"] == "Role":
            assert set(doc["rules"][0]["resourceNames"]) == {"folio-apps"} | {f"folio-{e}" for e in ENVIRONMENTS}


def test_namespaces_enforce_the_restricted_pod_security_profile():
    docs = support.load_yaml_all((ARGOCD / "bootstrap" / "namespaces.yaml").read_text())
    assert sorted(d["metadata"]["name"] for d in docs) == sorted(f"folio-{e}" for e in ENVIRONMENTS)
    for doc in docs:
        assert doc["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
