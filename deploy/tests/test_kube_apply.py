"""The kube-apply custom resource (cloudformation/functions/kube-apply,
docs/adr/0077): the vendored upstream manifest is the pinned one, the
handler's pure parts behave, and the whole handler, run against moto's S3, a
stubbed eks:DescribeCluster and a fake Kubernetes API over TLS
(fake_kube.py), applies what it should in the order it should, retries what
it should and answers CloudFormation exactly once."""

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


class _Seen(list):
    delay = 0.0        # seconds the catcher takes to answer
    answered_at = None


@pytest.fixture
def cloudformation():
    """Catches the PUT CloudFormation's pre-signed ResponseURL would receive."""
    seen = _Seen()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.headers.get("Content-Type"), json.loads(body)))
            time.sleep(seen.delay)
            # Noted before the reply goes out: once it has, the caller may
            # return before this thread runs again.
            seen.answered_at = time.monotonic()
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


# ---- the whole handler against a fake Kubernetes API over TLS -----------
#
# S3 is moto; eks:DescribeCluster is stubbed (botocore Stubber) to answer the
# fake server's endpoint and CA, because moto's EKS returns a random CA and an
# endpoint nobody listens on; the STS presign of the token needs no network.

import fake_kube


@pytest.fixture(scope="module")
def cas(tmp_path_factory):
    """The cluster's CA (it signs the fake server's certificate) and another."""
    root = tmp_path_factory.mktemp("cas")
    return fake_kube.make_ca(root / "cluster", "cluster-ca"), fake_kube.make_ca(root / "other", "other-ca")


@pytest.fixture
def kube(cas):
    with fake_kube.FakeKube(cas[0]) as server:
        yield server


CRD_OBJ = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
}


def _bundle(*extra):
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "b"}},
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "first"}, "spec": {"size": 1}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader", "namespace": "ignored"},
         "rules": []},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "server", "namespace": "other"},
         "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}}},
        CRD_OBJ,
        *extra,
    ]


class _Run:
    """Puts a bundle in moto's S3, stubs DescribeCluster with the fake
    server's endpoint and a CA, and runs the handler once."""

    def __init__(self, monkeypatch, moto, cloudformation, ca_dir, endpoint):
        import boto3
        from botocore.stub import Stubber

        self.monkeypatch = monkeypatch
        self.url, self.seen = cloudformation
        self.s3 = boto3.client("s3", region_name="eu-central-1")
        self.s3.create_bucket(Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        self.described = []
        ca_b64 = base64.b64encode((ca_dir / "ca.crt").read_bytes()).decode()
        real_client = boto3.session.Session.client
        described = self.described

        def client(session, service, *args, **kwargs):
            made = real_client(session, service, *args, **kwargs)
            if service == "eks":
                stub = Stubber(made)
                stub.add_response("describe_cluster", {"cluster": {
                    "name": "folio", "arn": "arn:aws:eks:eu-central-1:123456789012:cluster/folio",
                    "endpoint": endpoint, "status": "ACTIVE", "certificateAuthority": {"data": ca_b64}}},
                    {"name": "folio"})
                stub.activate()
                described.append(stub)
            return made

        monkeypatch.setattr(boto3.session.Session, "client", client)

    def __call__(self, objects, seconds=60, margin=None, request_type="Create", raw=None, **props):
        props.setdefault("FieldManager", "folio-argocd")
        raw = raw if raw is not None else json.dumps(objects).encode()
        key = f"manifests/{hashlib.sha256(raw).hexdigest()}.json"
        self.s3.put_object(Bucket="artifacts", Key=key, Body=raw)
        if margin is not None:
            self.monkeypatch.setenv("KUBE_APPLY_RESPONSE_MARGIN_S", str(margin))
        event = _event(self.url, request_type, ManifestBucket="artifacts", ManifestKey=key,
                       ManifestSha256=hashlib.sha256(raw).hexdigest())
        event["ResourceProperties"].update(props)
        if request_type != "Create":
            event["PhysicalResourceId"] = "folio/folio-argocd"
        started = time.monotonic()
        _handler_module().handler(event, _Context(seconds))
        self.elapsed = time.monotonic() - started
        (self.content_type, body), = self.seen  # exactly one answer
        self.seen.clear()
        self.monkeypatch.delenv("KUBE_APPLY_RESPONSE_MARGIN_S", raising=False)
        return body


@pytest.fixture
def run(monkeypatch, moto, cloudformation, cas, kube):
    return _Run(monkeypatch, moto, cloudformation, cas[0], kube.endpoint)


def test_the_handler_applies_crds_then_namespaces_then_the_rest_with_server_side_apply(run, kube):
    body = run(_bundle(), DefaultNamespace="argocd")
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"] == {"Applied": "6", "ManifestSha256": body["Data"]["ManifestSha256"]}
    assert body["PhysicalResourceId"] == "folio/folio-argocd"
    assert [(k, n) for k, n, _ in kube.applied()] == [
        ("CustomResourceDefinition", "widgets.example.com"), ("Namespace", "argocd"),
        ("ConfigMap", "settings"), ("Widget", "first"), ("ClusterRole", "reader"), ("Deployment", "server")]
    namespaces = {n: ns for _, n, ns in kube.applied()}
    # Namespaced objects that name none get DefaultNamespace; cluster-scoped ones none.
    assert namespaces == {"widgets.example.com": None, "argocd": None, "settings": "argocd",
                          "first": "argocd", "reader": None, "server": "other"}
    for r in kube.applies():
        assert r["headers"]["Content-Type"] == "application/apply-patch+yaml"
        assert r["query"] == {"fieldManager": "folio-argocd", "force": "true"}
    paths = [r["path"] for r in kube.applies()]
    assert paths[2:] == ["/api/v1/namespaces/argocd/configmaps/settings",
                         "/apis/example.com/v1/namespaces/argocd/widgets/first",
                         "/apis/rbac.authorization.k8s.io/v1/clusterroles/reader",
                         "/apis/apps/v1/namespaces/other/deployments/server"]
    # Every request carried the EKS token.
    assert all(fake_kube.valid_eks_token(r["headers"]["Authorization"], "folio") for r in kube.requests)
    assert {r["headers"]["Authorization"] for r in kube.requests}.pop().startswith("Bearer k8s-aws-v1.")
    # Nothing of the CRD's kind was applied before the CRD was Established and
    # its kind had reached discovery: the handler waited and reread discovery.
    widget = next(r for r in kube.applies() if r["body"]["kind"] == "Widget")
    crd_at = kube.crds["widgets.example.com"][1]
    assert widget["at"] - crd_at >= kube.established_after + kube.discovery_lag
    crd_reads = [r for r in kube.requests if r["path"].endswith("/customresourcedefinitions/widgets.example.com") and r["method"] == "GET"]
    assert len(crd_reads) >= 2, "read until Established"
    misses = [r for r in kube.requests if r["path"] == "/apis/example.com/v1" and r["status"] == 404]
    assert misses, "discovery lagged behind Established and was reread"
    assert len(run.described) == 1


def test_applying_again_is_an_update_of_the_same_objects(run, kube):
    assert run(_bundle(), DefaultNamespace="argocd")["Status"] == "SUCCESS"
    first = dict(kube.objects)
    body = run(_bundle(), DefaultNamespace="argocd", request_type="Update")
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == "folio/folio-argocd"
    assert set(kube.objects) == set(first)
    assert [r["status"] for r in kube.applies()[-6:]] == [200] * 6


def test_429_is_retried_after_the_servers_retry_after(run, kube):
    kube.throttle, kube.retry_after = 2, "1"
    body = run(_bundle()[:1], DefaultNamespace="argocd")
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert [r["status"] for r in kube.requests[:3]] == [429, 429, 200]
    gaps = [b["at"] - a["at"] for a, b in zip(kube.requests, kube.requests[1:3])]
    assert all(g >= 0.95 for g in gaps), gaps


def test_a_webhook_that_is_not_ready_yet_is_retried(run, kube):
    kube.webhook_failures["Deployment"] = 2
    body = run(_bundle(), DefaultNamespace="argocd")
    assert body["Status"] == "SUCCESS", body["Reason"]
    deployments = [r["status"] for r in kube.applies() if r["body"]["kind"] == "Deployment"]
    assert deployments == [500, 500, 201]


def test_a_webhook_that_never_answers_fails_before_the_lambda_timeout(run, kube):
    kube.webhook_failures["ConfigMap"] = 1000
    body = run(_bundle()[:1], seconds=6, margin=3, DefaultNamespace="argocd")
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("out of time while retrying PATCH /api/v1/namespaces/argocd/configmaps/settings (500)")
    assert run.elapsed < 6 - 1, "answered with time to spare"


def test_a_conflict_fails_at_once_and_applies_nothing_after_it(run, kube):
    stale = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stale", "resourceVersion": "7"}}
    after = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}}
    body = run([stale, after], DefaultNamespace="argocd")
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("apply ConfigMap/stale: 409 Conflict Operation cannot be fulfilled")
    assert [r["status"] for r in kube.applies()] == [409], "no retry, nothing after it"


def test_a_refused_token_fails_with_what_to_check(run, kube, monkeypatch):
    monkeypatch.setenv("KUBE_APPLY_AUTH_GRACE_S", "1.5")
    kube.tokens_refused = True
    body = run(_bundle(), DefaultNamespace="argocd")
    assert body["Status"] == "FAILED"
    assert "401 Unauthorized (the function's role has no access entry" in body["Reason"]
    statuses = [r["status"] for r in kube.requests]
    assert set(statuses) == {401} and 2 <= len(statuses) <= 4, "retried for the grace period only"
    assert run.elapsed < 6


def test_an_access_entry_that_is_still_propagating_is_waited_for(run, kube):
    """EKS may refuse the role for a few seconds after its access entry was
    created: 401s at the start are retried."""
    kube.refuse_first = 2
    body = run(_bundle(), DefaultNamespace="argocd")
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert [r["status"] for r in kube.requests[:3]] == [401, 401, 200]


def test_an_invalid_object_fails_and_a_secrets_message_is_not_quoted(run, kube):
    body = run([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_Valid"}}], DefaultNamespace="argocd")
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith('apply ConfigMap/Not_Valid: 422 Invalid ConfigMap "Not_Valid" is invalid')
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "data": {"password": "hunter2!!"}}
    body = run([secret], DefaultNamespace="argocd")
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "apply Secret/creds: 422 Invalid"
    assert "hunter2" not in json.dumps(body)


def test_a_namespaced_object_without_namespace_or_default_fails(run, kube):
    body = run(_bundle()[:1])
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "ConfigMap/settings is namespaced and names no namespace"
    assert kube.applies() == []


def test_a_server_certificate_from_another_ca_fails(monkeypatch, moto, cloudformation, cas, kube):
    run = _Run(monkeypatch, moto, cloudformation, cas[1], kube.endpoint)
    body = run(_bundle(), DefaultNamespace="argocd")
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("TLS: the cluster's certificate does not verify")
    assert kube.requests == [], "nothing was sent to a server the CA does not vouch for"


def test_a_crd_that_never_becomes_established_runs_out_of_time_and_answers_once(run, kube):
    kube.established_after = 3600
    body = run(_bundle(), seconds=5, margin=3, DefaultNamespace="argocd")
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "out of time while waiting for CustomResourceDefinition/widgets.example.com to be Established"
    assert [k for k, _, _ in kube.applied()] == ["CustomResourceDefinition"]


def test_the_watchdog_answers_when_the_work_outlives_the_lambda(monkeypatch, cloudformation):
    """Whatever blocks (here: the artifact read), CloudFormation hears FAILED
    before the Lambda would be killed, and only once."""
    url, seen = cloudformation
    module = _handler_module()
    monkeypatch.setattr(module, "RESPONSE_MARGIN_S", 4.0)
    release = threading.Event()
    monkeypatch.setattr(module, "apply_bundle", lambda props, deadline: release.wait(10) and {"Applied": "0", "ManifestSha256": ""})
    threading.Timer(4.0, release.set).start()
    started = time.monotonic()
    module.handler(_event(url, ManifestBucket="b", ManifestKey="k", ManifestSha256="0" * 64), _Context(5))
    ((_, body),) = seen
    assert body["Status"] == "FAILED" and body["Reason"] == "timed out before the manifests were applied"
    assert time.monotonic() - started < 5, "returned before the Lambda's own timeout"


def test_the_real_argocd_install_applies_with_its_namespace(run, kube):
    """The vendored upstream install.yaml, with the argocd Namespace before
    it, as the stack's first resource applies it."""
    docs = [d for d in support.load_yaml_all(MANIFEST.read_text()) if d]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}
    kube.established_after = kube.discovery_lag = 0.1
    body = run([namespace, *docs], DefaultNamespace="argocd", seconds=120)
    assert body["Status"] == "SUCCESS", body["Reason"]
    applied = kube.applied()
    assert len(applied) == 71
    assert [k for k, _, _ in applied[:4]] == ["CustomResourceDefinition"] * 3 + ["Namespace"]
    cluster_scoped = {"CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding"}
    assert all((ns is None) == (k in cluster_scoped) and ns in (None, "argocd") for k, _, ns in applied)


def test_the_handler_does_not_return_while_the_watchdogs_answer_is_on_its_way(monkeypatch, cloudformation):
    """Lambda freezes the process when the handler returns: the watchdog's
    PUT must have been answered by then."""
    url, seen = cloudformation
    seen.delay = 1.5
    module = _handler_module()
    monkeypatch.setattr(module, "RESPONSE_MARGIN_S", 6.0)
    # The work ends just after the watchdog (at 5 - 3 = 2 s) started its PUT.
    monkeypatch.setattr(module, "apply_bundle", lambda props, deadline: time.sleep(2.3) or {"Applied": "0", "ManifestSha256": ""})
    module.handler(_event(url, ManifestBucket="b", ManifestKey="k", ManifestSha256="0" * 64), _Context(5))
    returned = time.monotonic()
    ((_, body),) = seen
    assert body["Status"] == "FAILED"
    assert seen.answered_at is not None and seen.answered_at <= returned


# ---- the bundles the stack applies (scripts/kube-bundle, bundles.json) ---

import re
import stat
import zipfile

BUNDLES = json.loads((FUNCTION / "bundles.json").read_text())


@pytest.mark.parametrize("name", sorted(BUNDLES["bundles"]))
def test_each_bundle_is_its_files_round_tripped_through_json(name):
    kube_bundle = support.kube_bundle()
    files = [support.ROOT / f for f in BUNDLES["bundles"][name]]
    raw = kube_bundle.bundle(files)
    objects = json.loads(raw)
    expected = []
    for path in files:
        docs = [d for d in support.load_yaml_all(path.read_text()) if d is not None]
        assert docs, f"{path}: no documents"
        expected += docs
    assert objects == expected, "every document, in order, unchanged"
    for obj in objects:
        assert obj and obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"], obj
    assert kube_bundle.bundle(files) == raw, "reproducible: plan and apply compute the same SHA-256"


def test_the_install_bundle_is_the_pinned_upstream_manifest_after_its_namespace():
    files = BUNDLES["bundles"]["ArgoCdInstall"]
    assert files == ["argocd/install/namespace.yaml", str(MANIFEST.relative_to(support.ROOT))]
    objects = json.loads(support.kube_bundle().bundle([support.ROOT / f for f in files]))
    assert objects[0] == {"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": "argocd", "labels": {"app.kubernetes.io/part-of": "argocd"}}}
    assert len(objects) == 71


def test_kube_bundle_refuses_a_vendored_manifest_that_is_not_the_pinned_one(tmp_path, monkeypatch):
    kube_bundle = support.kube_bundle()
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    copy = manifests / MANIFEST.name
    copy.write_bytes(MANIFEST.read_bytes().replace(b"quay.io/argoproj/argocd:v3.4.7", b"quay.io/evil/argocd:v3.4.7", 1))
    (manifests / "SHA256SUMS").write_text((FUNCTION / "manifests" / "SHA256SUMS").read_text())
    monkeypatch.setattr(kube_bundle, "PINS", manifests / "SHA256SUMS")
    with pytest.raises(kube_bundle.BundleError, match="does not match its SHA-256"):
        kube_bundle.bundle([copy])
    (manifests / "other.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    with pytest.raises(kube_bundle.BundleError, match="not pinned"):
        kube_bundle.bundle([manifests / "other.yaml"])


def test_kube_bundle_refuses_documents_that_are_not_objects(tmp_path):
    kube_bundle = support.kube_bundle()
    (tmp_path / "a.yaml").write_text("---\n# only a comment\n---\n")
    with pytest.raises(kube_bundle.BundleError, match="no Kubernetes objects"):
        kube_bundle.bundle([tmp_path / "a.yaml"])
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    with pytest.raises(kube_bundle.BundleError, match="without apiVersion, kind and metadata.name"):
        kube_bundle.bundle([tmp_path / "b.yaml"])
    # A timestamp-looking value stays the string Kubernetes reads.
    (tmp_path / "c.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {since: 2026-12-01}\n")
    assert json.loads(kube_bundle.bundle([tmp_path / "c.yaml"]))[0]["data"] == {"since": "2026-12-01"}
    result = subprocess.run([str(support.ROOT / "scripts" / "kube-bundle"), "build", "-o", str(tmp_path / "c.json"),
                             str(tmp_path / "c.yaml")], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == hashlib.sha256((tmp_path / "c.json").read_bytes()).hexdigest()


def test_every_argocd_manifest_reaches_the_cluster_exactly_once():
    """Each file of argocd/ is in one bundle of the stack, or Argo CD syncs it
    from git through an Application of those bundles."""
    bundled = [f for files in BUNDLES["bundles"].values() for f in files if f.startswith("argocd/")]
    assert len(bundled) == len(set(bundled)), "no file in two bundles"
    synced = {
        # folio-apps (root.yaml) syncs argocd/apps; gateway-class syncs
        # argocd/platform/resources; image-policy syncs one bootstrap file.
        **{str(p.relative_to(support.ROOT)): "folio-apps" for p in (support.ARGOCD / "apps").glob("*.yaml")},
        **{str(p.relative_to(support.ROOT)): "gateway-class" for p in (support.ARGOCD / "platform" / "resources").glob("*.yaml")},
        "argocd/bootstrap/image-policy.yaml": "image-policy",
    }
    every = {str(p.relative_to(support.ROOT)) for p in support.ARGOCD.rglob("*.yaml")}
    assert every == set(bundled) | set(synced)
    assert not set(bundled) & set(synced)
    names = {d["metadata"]["name"] for f in bundled for d in support.load_yaml_all((support.ROOT / f).read_text())
             if d["kind"] == "Application"}
    assert set(synced.values()) <= names, "the Applications that sync the rest are in the bundles"


def test_the_function_zip_is_the_handler_and_reproducible(tmp_path):
    kube_bundle = support.kube_bundle()
    first, second = kube_bundle.stack(tmp_path / "a"), kube_bundle.stack(tmp_path / "b")
    assert first["parameters"] == second["parameters"]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in first["parameters"]}
    assert set(params) == {"KubeApplyCodeKey", "ArgoCdInstallKey", "ArgoCdInstallSha256", "ArgoCdConfigKey", "ArgoCdConfigSha256"}
    uploads = {u["key"]: Path(u["file"]) for u in first["uploads"]}
    for name in ("ArgoCdInstall", "ArgoCdConfig"):
        assert params[f"{name}Key"] == f"manifests/{params[f'{name}Sha256']}.json"
        assert hashlib.sha256(uploads[params[f"{name}Key"]].read_bytes()).hexdigest() == params[f"{name}Sha256"]
    code = uploads[params["KubeApplyCodeKey"]]
    assert params["KubeApplyCodeKey"] == f"kube-apply/{hashlib.sha256(code.read_bytes()).hexdigest()}.zip"
    with zipfile.ZipFile(code) as archive:
        assert archive.namelist() == ["index.py"]
        assert archive.read("index.py") == (FUNCTION / "index.py").read_bytes()


def test_the_argocd_version_is_one_pin_everywhere():
    (version,) = re.findall(r"^argo-cd-(v\d+\.\d+\.\d+)-ha-install\.yaml$", MANIFEST.name)
    assert (FUNCTION / "manifests" / "SHA256SUMS").read_text().split()[1] == MANIFEST.name
    assert MANIFEST.relative_to(support.ROOT).as_posix() in BUNDLES["bundles"]["ArgoCdInstall"]
    cli = (support.ROOT / "scripts" / "install-argocd").read_text()
    assert re.findall(r"^version=(\S+)$", cli, re.M) == [version], "the CLI is the server's version"
    (adr,) = (support.ROOT / "docs" / "adr").glob("0077-*.md")
    text = adr.read_text()
    assert f"Argo CD {version}" in text and "Status: accepted" in text
    assert not re.findall(r"Argo CD v(?!%s)\d+\.\d+\.\d+" % re.escape(version[1:]), text), "one version in the ADR"
    eks = (support.CLOUDFORMATION / "eks.yaml").read_text()
    assert set(re.findall(r"Argo CD (v\d+\.\d+\.\d+)", eks)) == {version}


# ---- scripts/cfn-deploy with a stand-in aws CLI ---------------------------

AWS_STUB = r'''#!/usr/bin/env python3
import json, os, shutil, sys
from pathlib import Path
log = Path(os.environ["AWS_STUB_LOG"])
args = sys.argv[1:]
with open(log / "calls", "a") as f:
    f.write(json.dumps(args) + "\n")
def opt(name):
    return args[args.index(name) + 1] if name in args else None
if args[:2] == ["cloudformation", "describe-stacks"]:
    if opt("--stack-name") == "folio-artifacts" and "Outputs" in (opt("--query") or ""):
        print("folio-artifacts-123456789012-eu-central-1")
        sys.exit(0)
    if os.environ.get("AWS_STUB_MODE") == "apply":
        print("UPDATE_COMPLETE")
        sys.exit(0)
    sys.exit(255)  # no such stack yet
if args[:2] == ["cloudformation", "create-change-set"]:
    shutil.copy(opt("--parameters").removeprefix("file://"), log / (opt("--stack-name") + ".parameters.json"))
    sys.exit(0)
if args[:2] == ["cloudformation", "describe-change-set"]:
    query = opt("--query")
    if query == "Status":
        print("CREATE_COMPLETE")
    elif query == "Parameters":
        print((log / "planned.json").read_text())
    elif query:
        print("(changes)")
    sys.exit(0)
if args[:2] == ["s3api", "put-object"]:
    shutil.copy(opt("--body"), log / ("upload-" + opt("--key").replace("/", "_")))
sys.exit(0)
'''


@pytest.fixture
def aws_stub(tmp_path, monkeypatch):
    bin_dir, log = tmp_path / "bin", tmp_path / "log"
    bin_dir.mkdir()
    log.mkdir()
    (bin_dir / "aws").write_text(AWS_STUB)
    (bin_dir / "aws").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("AWS_STUB_LOG", str(log))
    monkeypatch.setenv("FOLIO_CFN_ROLE_ARN", "arn:aws:iam::123456789012:role/folio-cloudformation")
    return log


def _cfn_deploy(*args):
    return subprocess.run([str(support.ROOT / "scripts" / "cfn-deploy"), *args], capture_output=True, text=True, check=False)


def test_cfn_deploy_plans_folio_eks_with_the_built_artifacts_and_apply_uploads_them(aws_stub, monkeypatch):
    result = _cfn_deploy("plan", "cs-1")
    assert result.returncode == 0, result.stderr
    planned = json.loads((aws_stub / "folio-eks.parameters.json").read_text())
    given = {p["ParameterKey"]: p["ParameterValue"] for p in planned}
    built = {p["ParameterKey"]: p["ParameterValue"] for p in support.kube_bundle().stack(aws_stub / "expected")["parameters"]}
    assert built.items() <= given.items()
    assert "AdminRoleArn" in given, "and the stack's parameter file"
    assert json.loads((aws_stub / "folio-network.parameters.json").read_text()) == json.loads(
        (support.CLOUDFORMATION / "parameters" / "folio-network.json").read_text())
    calls = [json.loads(line) for line in (aws_stub / "calls").read_text().splitlines()]
    assert not [c for c in calls if c[0] == "s3api"], "plan uploads nothing (its role cannot)"

    (aws_stub / "planned.json").write_text(json.dumps(planned))
    monkeypatch.setenv("AWS_STUB_MODE", "apply")
    result = _cfn_deploy("apply", "cs-1")
    assert result.returncode == 0, result.stderr
    calls = [json.loads(line) for line in (aws_stub / "calls").read_text().splitlines()]
    uploads = [c for c in calls if c[:2] == ["s3api", "put-object"]]
    keys = {c[c.index("--key") + 1] for c in uploads}
    assert keys == {built["KubeApplyCodeKey"], built["ArgoCdInstallKey"], built["ArgoCdConfigKey"]}
    assert all(c[c.index("--bucket") + 1] == "folio-artifacts-123456789012-eu-central-1" for c in uploads)
    executes = [c for c in calls if c[:2] == ["cloudformation", "execute-change-set"]]
    eks_execute = calls.index(next(c for c in executes if c[c.index("--stack-name") + 1] == "folio-eks"))
    assert all(calls.index(u) < eks_execute for u in uploads), "uploaded before folio-eks runs"
    upload = aws_stub / ("upload-" + built["ArgoCdConfigKey"].replace("/", "_"))
    assert hashlib.sha256(upload.read_bytes()).hexdigest() == built["ArgoCdConfigSha256"]


def test_cfn_deploy_apply_refuses_artifacts_other_than_the_planned_ones(aws_stub, monkeypatch):
    planned = [{"ParameterKey": "ArgoCdConfigSha256", "ParameterValue": "0" * 64}]
    (aws_stub / "planned.json").write_text(json.dumps(planned))
    monkeypatch.setenv("AWS_STUB_MODE", "apply")
    result = _cfn_deploy("apply", "cs-1")
    assert result.returncode != 0
    assert "planned with other kube-apply artifacts" in result.stderr
    calls = [json.loads(line) for line in (aws_stub / "calls").read_text().splitlines()]
    assert not [c for c in calls if c[:2] == ["s3api", "put-object"]]
    assert not [c for c in calls if c[:2] == ["cloudformation", "execute-change-set"] and "folio-eks" in c]


def test_the_stacks_two_bundles_apply_in_turn_with_their_own_field_managers(run, kube):
    """ArgoCdInstall, then ArgoCdConfig (DependsOn) as eks.yaml declares
    them, built by scripts/kube-bundle from the real files: Folio's
    argocd-cm goes over upstream's under a second field manager, and every
    Argo CD kind of the configuration is known by then."""
    kube_bundle = support.kube_bundle()
    kube.established_after = kube.discovery_lag = 0.1
    raw = {name: kube_bundle.bundle([support.ROOT / f for f in files]) for name, files in BUNDLES["bundles"].items()}
    body = run(None, raw=raw["ArgoCdInstall"], DefaultNamespace="argocd", FieldManager="folio-argocd-install", seconds=120)
    assert body["Status"] == "SUCCESS", body["Reason"]
    installed = len(kube.applied())
    body = run(None, raw=raw["ArgoCdConfig"], DefaultNamespace="argocd", FieldManager="folio-argocd-config", seconds=120)
    assert body["Status"] == "SUCCESS", body["Reason"]
    config = kube.applied()[installed:]
    assert len(config) == len(json.loads(raw["ArgoCdConfig"]))
    assert [k for k, _, _ in config[:3]] == ["Namespace"] * 3, "the folio-* namespaces before their RoleBindings"
    assert {r["query"]["fieldManager"] for r in kube.applies()[installed:]} == {"folio-argocd-config"}
    cm = kube.objects[("v1", "configmaps", "argocd", "argocd-cm")]
    assert set(cm["managers"]) == {"folio-argocd-install", "folio-argocd-config"}
    assert cm["object"]["data"]["admin.enabled"] == "false"
    assert cm["object"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"
    apps = {n for k, n, ns in config if k == "Application" and ns == "argocd"}
    assert {"folio-apps", "gateway-api-crds", "aws-load-balancer-controller", "gateway-class",
            "cluster-autoscaler", "policy-controller", "image-policy"} == apps
    assert {n for k, n, _ in config if k == "AppProject"} == {"folio", "folio-bootstrap", "platform"}
