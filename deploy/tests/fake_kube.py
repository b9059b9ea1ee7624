"""A fake Kubernetes API server over TLS for the kube-apply tests
(deploy/tests/test_kube_apply.py, docs/adr/0077).

It models what the handler relies on, as the Kubernetes API documents it:

- discovery: /api, /apis, /api/v1 and /apis/<group>/<version> (an
  APIResourceList; subresources such as deployments/status are listed too);
- server-side apply: PATCH with Content-Type application/apply-patch+yaml,
  fieldManager required, force; a conflicting manager without force and a
  stale metadata.resourceVersion answer 409, an invalid name 422, an object
  whose kind, name or namespace disagrees with the URL 400; 201 on create,
  200 on update;
- CustomResourceDefinitions: status.conditions Established only after a
  delay, and the new kind absent from discovery for a while after that;
- bearer tokens: an EKS token (k8s-aws-v1. + a presigned STS
  GetCallerIdentity URL that signs x-k8s-aws-id) or 401;
- faults on demand: 429 with Retry-After, a webhook's 500 for the first N
  applies of a kind, 401 for the first N requests (an access entry that has
  not reached the API server yet).

Every request is recorded (method, path, query, headers, parsed body) for
the tests to assert on.
"""

from __future__ import annotations

import base64
import http.server
import json
import re
import ssl
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import yaml

import support

APPLY = "application/apply-patch+yaml"
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

# groupVersion -> [(plural, kind, namespaced)]; what the tests' bundles use.
BUILTIN = {
    "v1": [
        ("namespaces", "Namespace", False), ("configmaps", "ConfigMap", True), ("secrets", "Secret", True),
        ("services", "Service", True), ("serviceaccounts", "ServiceAccount", True),
        ("resourcequotas", "ResourceQuota", True),
    ],
    "apps/v1": [("deployments", "Deployment", True), ("statefulsets", "StatefulSet", True)],
    "rbac.authorization.k8s.io/v1": [
        ("clusterroles", "ClusterRole", False), ("clusterrolebindings", "ClusterRoleBinding", False),
        ("roles", "Role", True), ("rolebindings", "RoleBinding", True),
    ],
    "networking.k8s.io/v1": [("networkpolicies", "NetworkPolicy", True)],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "admissionregistration.k8s.io/v1": [
        ("validatingadmissionpolicies", "ValidatingAdmissionPolicy", False),
        ("validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding", False),
    ],
    "apiextensions.k8s.io/v1": [("customresourcedefinitions", "CustomResourceDefinition", False)],
}
CRD_GV = "apiextensions.k8s.io/v1"


def _run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> Path:
    """A throwaway CA (EC P-256) and a server certificate it signs for
    127.0.0.1 and localhost, with the extensions strict X.509 verification
    (Python 3.13's default) asks for. Returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
         "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=hash",
         cwd=directory)
    _run("openssl", "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver",
         cwd=directory)
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    _run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "server.ext", cwd=directory)
    return directory


def status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def valid_eks_token(header: str | None, cluster: str) -> bool:
    """The shape aws-iam-authenticator accepts before it asks STS: a bearer
    k8s-aws-v1. token that decodes to a presigned GetCallerIdentity URL of a
    regional STS endpoint, signing x-k8s-aws-id (the cluster's name, which
    the server cannot see in the URL; the caller is trusted for it here)."""
    if not header or not header.startswith("Bearer k8s-aws-v1."):
        return False
    encoded = header.removeprefix("Bearer k8s-aws-v1.")
    if "=" in encoded:
        return False
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except ValueError:
        return False
    parsed = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parsed.query)
    return (
        parsed.scheme == "https"
        and re.fullmatch(r"sts\.[a-z0-9-]+\.amazonaws\.com", parsed.hostname or "") is not None
        and query.get("Action") == ["GetCallerIdentity"]
        and "x-k8s-aws-id" in query.get("X-Amz-SignedHeaders", [""])[0].split(";")
        and bool(cluster)
    )


class FakeKube:
    def __init__(self, certs: Path, cluster: str = "folio", established_after: float = 0.6,
                 discovery_lag: float = 0.6):
        self.cluster = cluster
        self.established_after = established_after
        self.discovery_lag = discovery_lag
        self.requests: list[dict] = []
        self.objects: dict[tuple, dict] = {}   # (groupVersion, plural, namespace, name) -> stored
        self.crds: dict[str, tuple[dict, float]] = {}  # name -> (object, applied at)
        self.throttle = 0                      # 429 for the next N requests
        self.retry_after = "1"
        self.webhook_failures: dict[str, int] = {}  # kind -> 500s still to give
        self.tokens_refused = False
        self.refuse_first = 0                  # 401 for the next N requests
        self.lock = threading.Lock()
        self.version = 0

        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):
                pass

            def _answer(self, code, body, headers=None):
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parsed = urllib.parse.urlsplit(self.path)
                query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
                body = None
                if raw:
                    try:
                        body = yaml.safe_load(raw)
                    except yaml.YAMLError:
                        body = raw.decode(errors="replace")
                record = {"method": method, "path": parsed.path, "query": query,
                          "headers": dict(self.headers.items()), "body": body, "at": time.monotonic()}
                with fake.lock:
                    fake.requests.append(record)
                    code, answer, headers = fake.serve(method, parsed.path, query, self.headers, body)
                record["status"] = code
                self._answer(code, answer, headers)

            def do_GET(self):
                self._handle("GET")

            def do_PATCH(self):
                self._handle("PATCH")

            def do_PUT(self):
                self._handle("PUT")

            def do_POST(self):
                self._handle("POST")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certs / "server.crt", certs / "server.key")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.endpoint = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.server.shutdown()
        self.server.server_close()

    # ---- what the tests read -------------------------------------------

    def applies(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "PATCH"]

    def applied(self) -> list[tuple[str, str, str | None]]:
        """(kind, name, namespace) of every apply the server accepted, in order."""
        return [(r["body"]["kind"], r["body"]["metadata"]["name"], r["body"]["metadata"].get("namespace"))
                for r in self.applies() if r["status"] in (200, 201)]

    # ---- the API ---------------------------------------------------------

    def _crd_state(self, name, now):
        obj, at = self.crds[name]
        established = now - at >= self.established_after
        served = now - at >= self.established_after + self.discovery_lag
        return obj, established, served

    def resources(self, group_version, now):
        found = [{"name": p, "singularName": "", "namespaced": n, "kind": k,
                  "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                 for p, k, n in BUILTIN.get(group_version, [])]
        if group_version == "apps/v1":
            found.append({"name": "deployments/status", "singularName": "", "namespaced": True,
                          "kind": "Deployment", "verbs": ["get", "patch", "update"]})
        for name in self.crds:
            obj, _, served = self._crd_state(name, now)
            spec = obj["spec"]
            for version in spec["versions"]:
                if served and f"{spec['group']}/{version['name']}" == group_version and version.get("served", True):
                    found.append({"name": spec["names"]["plural"], "singularName": spec["names"].get("singular", ""),
                                  "namespaced": spec["scope"] == "Namespaced", "kind": spec["names"]["kind"],
                                  "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
        return found if (group_version in BUILTIN or found) else None

    def group_versions(self, now):
        gvs = [gv for gv in BUILTIN if gv != "v1"]
        for name in self.crds:
            obj, _, served = self._crd_state(name, now)
            if served:
                gvs += [f"{obj['spec']['group']}/{v['name']}" for v in obj["spec"]["versions"]]
        return sorted(set(gvs))

    def serve(self, method, path, query, headers, body):
        now = time.monotonic()
        if self.tokens_refused or not valid_eks_token(headers.get("Authorization"), self.cluster):
            return 401, status(401, "Unauthorized", "Unauthorized"), None
        if self.refuse_first > 0:
            self.refuse_first -= 1
            return 401, status(401, "Unauthorized", "Unauthorized"), None
        if self.throttle > 0:
            self.throttle -= 1
            return 429, status(429, "TooManyRequests", "the server has received too many requests"), \
                {"Retry-After": self.retry_after}
        if method == "GET" and path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}, None
        if method == "GET" and path == "/apis":
            groups = {}
            for gv in self.group_versions(now):
                group, version = gv.split("/")
                groups.setdefault(group, []).append({"groupVersion": gv, "version": version})
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": v, "preferredVersion": v[0]} for g, v in groups.items()]}, None
        match = re.fullmatch(r"/api/v1(?P<rest>/.*)?|/apis/(?P<group>[^/]+)/(?P<version>[^/]+)(?P<grest>/.*)?", path)
        if not match:
            return 404, status(404, "NotFound", "the server could not find the requested resource"), None
        group_version = "v1" if path.startswith("/api/v1") else f"{match['group']}/{match['version']}"
        rest = (match["rest"] if group_version == "v1" else match["grest"]) or ""
        served = self.resources(group_version, now)
        if served is None:
            return 404, status(404, "NotFound", "the server could not find the requested resource"), None
        if not rest and method == "GET":
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
                         "resources": served}, None
        parts = rest.strip("/").split("/")
        namespace = None
        if len(parts) == 4 and parts[0] == "namespaces":
            namespace, parts = parts[1], parts[2:]
        if len(parts) != 2:
            return 404, status(404, "NotFound", "the server could not find the requested resource"), None
        plural, name = parts
        resource = next((r for r in served if r["name"] == plural), None)
        if resource is None or resource["namespaced"] != (namespace is not None):
            return 404, status(404, "NotFound", "the server could not find the requested resource"), None
        key = (group_version, plural, namespace, name)
        if method == "GET":
            if key not in self.objects:
                return 404, status(404, "NotFound", f'{plural} "{name}" not found'), None
            obj = json.loads(json.dumps(self.objects[key]["object"]))
            if group_version == CRD_GV:
                _, established, _ = self._crd_state(name, now)
                obj["status"] = {"conditions": [
                    {"type": "NamesAccepted", "status": "True"},
                    {"type": "Established", "status": "True" if established else "False"}]}
            return 200, obj, None
        if method != "PATCH":
            return 405, status(405, "MethodNotAllowed", "the server does not allow this method"), None
        return self.apply(key, resource, headers, query, body)

    def apply(self, key, resource, headers, query, body):
        group_version, plural, namespace, name = key
        if headers.get("Content-Type") != APPLY:
            return 415, status(415, "UnsupportedMediaType", f"the body of the request was in an unknown format"), None
        manager = query.get("fieldManager")
        if not manager:
            return 400, status(400, "BadRequest", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"), None
        if not isinstance(body, dict):
            return 400, status(400, "BadRequest", "error decoding patch"), None
        meta = body.get("metadata") or {}
        if body.get("apiVersion") != group_version or body.get("kind") != resource["kind"]:
            return 400, status(400, "BadRequest", "the kind or apiVersion of the object does not match the request"), None
        if meta.get("name") != name:
            return 400, status(400, "BadRequest", "the name of the object does not match the name on the URL"), None
        if meta.get("namespace") != namespace:
            return 400, status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"), None
        remaining = self.webhook_failures.get(resource["kind"], 0)
        if remaining:
            self.webhook_failures[resource["kind"]] = remaining - 1
            return 500, status(500, "InternalError", f'Internal error occurred: failed calling webhook "validate.{resource["kind"].lower()}.example": connection refused'), None
        if not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
            return 422, status(422, "Invalid", f'{resource["kind"]} "{name}" is invalid: metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters'), None
        if resource["kind"] == "Secret":
            for k, v in (body.get("data") or {}).items():
                try:
                    base64.b64decode(v, validate=True)
                except ValueError:
                    return 422, status(422, "Invalid", f'Secret "{name}" is invalid: data[{k}]: Invalid value: "{v}": illegal base64 data'), None
        stored = self.objects.get(key)
        wanted_version = meta.get("resourceVersion")
        if wanted_version is not None and (stored is None or stored["resourceVersion"] != wanted_version):
            return 409, status(409, "Conflict", f'Operation cannot be fulfilled on {plural} "{name}": the object has been modified; please apply your changes to the latest version and try again'), None
        if stored and query.get("force") != "true" and set(stored["managers"]) - {manager}:
            return 409, status(409, "Conflict", f"Apply failed with 1 conflict: conflict with \"{sorted(set(stored['managers']) - {manager})[0]}\""), None
        self.version += 1
        created = stored is None
        managers = {} if created else stored["managers"]
        managers[manager] = body
        merged = {}
        for applied in managers.values():
            merged = support.deep_merge(merged, applied)
        merged.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        self.objects[key] = {"object": merged, "managers": managers, "resourceVersion": str(self.version)}
        if group_version == CRD_GV and created:
            self.crds[name] = (body, time.monotonic())
        return (201 if created else 200), merged, None

