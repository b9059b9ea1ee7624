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


# ---- the handler against moto (S3) and a CloudFormation response catcher ----

import http.server
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def moto(monkeypatch):
    server = os.environ.get("FOLIO_MOTO_SERVER") or str(
        Path(os.environ.get("FOLIO_MOTO_VENV", Path.home() / ".cache" / "folio-venv-moto")) / "bin" / "moto_server")
    if not Path(server).exists():
        pytest.fail("moto_server missing: run scripts/install-moto")
    port = _free_port()
    proc = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def cloudformation():
    """Catches the PUT CloudFormation's pre-signed ResponseURL would receive."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.headers.get("Content-Type"), json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/response?X-Amz-Signature=x", seen
    server.shutdown()


class _Context:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self):
        return int((self.end - time.monotonic()) * 1000)


def _event(url, request_type="Create", **props):
    return {
        "RequestType": request_type, "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:eu-central-1:123456789012:stack/folio-eks/1",
        "RequestId": "r-1", "LogicalResourceId": "ArgoCdInstall", "ResourceType": "Custom::KubernetesManifests",
        "ResourceProperties": {"ClusterName": "folio", "FieldManager": "folio-argocd", **props},
    }


def test_a_bundle_that_is_not_the_pinned_one_fails_and_cloudformation_hears_it(moto, cloudformation):
    import boto3
    url, seen = cloudformation
    s3 = boto3.client("s3", region_name="eu-central-1")
    s3.create_bucket(Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    s3.put_object(Bucket="artifacts", Key="b.json", Body=b"[]")
    module = _handler_module()
    module.handler(_event(url, ManifestBucket="artifacts", ManifestKey="b.json", ManifestSha256="0" * 64), _Context(60))
    ((content_type, body),) = seen
    assert content_type == ""
    assert body["Status"] == "FAILED"
    assert "the stack pins " + "0" * 64 in body["Reason"]
    assert body["PhysicalResourceId"] == "folio/folio-argocd"
    assert body["RequestId"] == "r-1" and body["LogicalResourceId"] == "ArgoCdInstall"


def test_a_missing_artifact_fails_with_the_aws_error_code_only(moto, cloudformation):
    import boto3
    url, seen = cloudformation
    boto3.client("s3", region_name="eu-central-1").create_bucket(
        Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    _handler_module().handler(_event(url, ManifestBucket="artifacts", ManifestKey="nope.json", ManifestSha256="0" * 64), _Context(60))
    ((_, body),) = seen
    assert body["Status"] == "FAILED" and body["Reason"] == "GetObject: NoSuchKey"


def test_delete_keeps_the_objects_and_answers_with_the_same_id(cloudformation):
    url, seen = cloudformation
    event = _event(url, "Delete")
    event["PhysicalResourceId"] = "folio/folio-argocd"
    _handler_module().handler(event, _Context(60))
    ((_, body),) = seen
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == "folio/folio-argocd"
