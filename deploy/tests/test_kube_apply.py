"""The kube-apply custom resource (cloudformation/functions/kube-apply,
docs/adr/0077): the vendored upstream manifest is the pinned one, and the
handler's pure parts behave. Work in progress: the fake Kubernetes API and
moto tests of the full handler are not written yet."""

import base64
import hashlib
import importlib.util
import urllib.parse

import pytest

import support

FUNCTION = support.ROOT / "cloudformation" / "functions" / "kube-apply"
MANIFEST = FUNCTION / "manifests" / "argo-cd-v3.4.7-ha-install.yaml"


def _handler_module():
    spec = importlib.util.spec_from_file_location("kube_apply_index", FUNCTION / "index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vendored_argocd_manifest_matches_its_pin():
    (line,) = (FUNCTION / "manifests" / "SHA256SUMS").read_text().splitlines()
    pinned, name = line.split()
    assert name == MANIFEST.name
    assert hashlib.sha256(MANIFEST.read_bytes()).hexdigest() == pinned


def test_vendored_argocd_manifest_is_well_formed(kube_version):
    docs = [d for d in support.load_yaml_all(MANIFEST.read_text()) if d]
    assert len(docs) == 70
    for doc in docs:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], doc
        # install.yaml names no namespace: DefaultNamespace (argocd) supplies it.
        assert "namespace" not in doc["metadata"], doc["metadata"]["name"]
    images = {c["image"] for d in docs if d["kind"] in ("Deployment", "StatefulSet")
              for c in d["spec"]["template"]["spec"]["containers"] if "argocd" in c["image"]}
    assert images == {"quay.io/argoproj/argocd:v3.4.7"}


def test_crds_go_first_then_namespaces():
    module = _handler_module()
    objs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}},
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "x"}},
    ]
    crds, namespaces, rest = module.ordered(objs)
    assert [o["kind"] for o in crds + namespaces + rest] == ["CustomResourceDefinition", "Namespace", "ConfigMap"]


def test_eks_token_is_a_presigned_get_caller_identity_that_signs_the_cluster_header(monkeypatch):
    boto3 = pytest.importorskip("boto3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    module = _handler_module()
    token = module.eks_token("folio", boto3.session.Session(region_name="eu-central-1"))
    assert token.startswith("k8s-aws-v1.") and "=" not in token
    encoded = token.removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    parsed = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parsed.query)
    assert parsed.hostname == "sts.eu-central-1.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    assert query["X-Amz-Expires"] == ["60"]
