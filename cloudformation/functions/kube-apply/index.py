"""Custom::KubernetesManifests: server-side applies a pinned manifest bundle to
an EKS cluster (docs/adr/0077).

Properties: ClusterName, ManifestBucket, ManifestKey, ManifestSha256 (hex of
the bundle, a JSON list of Kubernetes objects), FieldManager, and
DefaultNamespace for namespaced objects that name none (upstream's
install.yaml names none).

Python 3.13 runtime: the standard library and boto3 only. Every invocation
answers CloudFormation, also on exceptions and before the Lambda times out.
Delete keeps what was applied (RETAIN, like the managed capability before).
"""

import base64
import hashlib
import http.client
import json
import logging
import os
import ssl
import threading
import time
import urllib.parse
import urllib.request

import boto3
import botocore.exceptions

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
# Time kept back from the Lambda's own timeout to answer CloudFormation.
RESPONSE_MARGIN_S = float(os.environ.get("KUBE_APPLY_RESPONSE_MARGIN_S", "20"))
# An access entry (and its access policy) created just before the function
# runs can take a little while to reach the API server: 401 and 403 are
# retried this long after the first request, then fail.
AUTH_GRACE_S = float(os.environ.get("KUBE_APPLY_AUTH_GRACE_S", "90"))
CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
NAMESPACE = ("v1", "Namespace")


class ApplyError(Exception):
    """A failure whose message is safe for CloudFormation's event log."""


class OutOfTime(ApplyError):
    pass


class Deadline:
    def __init__(self, seconds):
        self.at = time.monotonic() + seconds

    def left(self):
        return self.at - time.monotonic()

    def sleep(self, seconds, what):
        if self.left() <= seconds:
            raise OutOfTime(f"out of time while {what}")
        time.sleep(seconds)


# ---- EKS authentication -------------------------------------------------

def eks_token(cluster_name, session):
    """The token aws eks get-token prints: a presigned STS GetCallerIdentity
    URL that signs the x-k8s-aws-id header, base64url without padding."""
    # The regional endpoint, named: older botocore signs for the global one,
    # and an endpoint override in the environment (AWS_ENDPOINT_URL) would
    # make a URL that EKS's authenticator refuses. Presigning sends nothing.
    region = session.region_name
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    sts = session.client("sts", region_name=region, endpoint_url=f"https://sts.{region}.{suffix}")

    def add_cluster_header(request, **_):
        request.headers["x-k8s-aws-id"] = cluster_name

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    url = sts.generate_presigned_url(
        "get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET"
    )
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return "k8s-aws-v1." + encoded


# ---- Kubernetes API -----------------------------------------------------

class KubeApi:
    def __init__(self, endpoint, ca_pem, token, deadline):
        parsed = urllib.parse.urlsplit(endpoint)
        if parsed.scheme != "https":
            raise ApplyError("cluster endpoint is not https")
        self.host = parsed.hostname
        self.port = parsed.port or 443
        self.context = ssl.create_default_context(cadata=ca_pem)
        self.token = token
        self.deadline = deadline
        self.auth_until = time.monotonic() + AUTH_GRACE_S
        self.discovered = {}  # groupVersion -> {kind: (plural, namespaced)}

    def request(self, method, path, body=None, content_type=None, retry=True):
        """Returns (status, parsed JSON). Retries 429 and 5xx (a webhook whose
        service is not ready yet answers 500) within the deadline, and 401
        and 403 within AUTH_GRACE_S of the start."""
        attempt = 0
        while True:
            attempt += 1
            headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
            if content_type:
                headers["Content-Type"] = content_type
            retry_after = None
            try:
                timeout = max(1.0, min(30.0, self.deadline.left()))
                conn = http.client.HTTPSConnection(
                    self.host, self.port, context=self.context, timeout=timeout
                )
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    raw = response.read()
                    status = response.status
                    retry_after = response.getheader("Retry-After")
                finally:
                    conn.close()
            except ssl.SSLCertVerificationError as error:
                raise ApplyError(f"TLS: the cluster's certificate does not verify ({error.reason})") from None
            except (OSError, http.client.HTTPException) as error:
                status, raw = None, type(error).__name__.encode()
            propagating = status in (401, 403) and time.monotonic() < self.auth_until
            if status is not None and status < 500 and status != 429 and not propagating:
                try:
                    return status, json.loads(raw or b"{}")
                except ValueError:
                    return status, {}
            if not retry:
                return status, {}
            wait = min(2.0 ** min(attempt, 5) * 0.25, 10.0)
            if retry_after:
                try:
                    wait = max(0.0, float(retry_after))
                except ValueError:
                    pass
            LOG.info("%s %s: %s, retrying in %.1fs", method, path, status or raw.decode(), wait)
            self.deadline.sleep(wait, f"retrying {method} {path.split('?')[0]} ({status or raw.decode()})")

    def check(self, status, body, what):
        if status == 401:
            raise ApplyError(f"{what}: 401 Unauthorized (the function's role has no access entry or the token was refused)")
        if status >= 400:
            reason = body.get("reason", "") if isinstance(body, dict) else ""
            message = body.get("message", "") if isinstance(body, dict) else ""
            raise ApplyError(f"{what}: {status} {reason} {message}"[:700].strip())

    def resources(self, group_version):
        if group_version not in self.discovered:
            path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
            status, body = self.request("GET", path)
            if status == 404:
                return {}
            self.check(status, body, f"discovery {path}")
            kinds = {}
            for resource in body.get("resources", []):
                if "/" in resource["name"]:
                    continue  # subresources
                kinds[resource["kind"]] = (resource["name"], resource["namespaced"])
            self.discovered[group_version] = kinds
        return self.discovered[group_version]

    def resource(self, api_version, kind):
        """(plural, namespaced), waiting while discovery does not know the
        kind yet (a CRD just established reaches discovery a little later)."""
        delay = 0.25
        while True:
            found = self.resources(api_version).get(kind)
            if found:
                return found
            self.discovered.pop(api_version, None)
            self.deadline.sleep(delay, f"waiting for discovery of {kind}.{api_version}")
            delay = min(delay * 2, 5.0)

    def path(self, obj, default_namespace):
        api_version, kind = obj["apiVersion"], obj["kind"]
        plural, namespaced = self.resource(api_version, kind)
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        name = urllib.parse.quote(obj["metadata"]["name"], safe="")
        if namespaced:
            namespace = obj["metadata"].get("namespace") or default_namespace
            if not namespace:
                raise ApplyError(f"{kind}/{obj['metadata']['name']} is namespaced and names no namespace")
            obj["metadata"]["namespace"] = namespace
            return f"{prefix}/namespaces/{urllib.parse.quote(namespace, safe='')}/{plural}/{name}"
        obj["metadata"].pop("namespace", None)
        return f"{prefix}/{plural}/{name}"

    def apply(self, obj, field_manager, default_namespace):
        path = self.path(obj, default_namespace)
        query = urllib.parse.urlencode({"fieldManager": field_manager, "force": "true"})
        status, body = self.request(
            "PATCH", f"{path}?{query}", body=json.dumps(obj).encode(), content_type=APPLY_CONTENT_TYPE
        )
        what = f"apply {obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Secret" and status >= 400:
            body = {"reason": body.get("reason", "")}  # messages may quote values
        self.check(status, body, what)

    def wait_established(self, name):
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{urllib.parse.quote(name, safe='')}"
        delay = 0.25
        while True:
            status, body = self.request("GET", path)
            self.check(status, body, f"read CustomResourceDefinition/{name}")
            for condition in body.get("status", {}).get("conditions", []):
                if condition.get("type") == "Established" and condition.get("status") == "True":
                    return
            self.deadline.sleep(delay, f"waiting for CustomResourceDefinition/{name} to be Established")
            delay = min(delay * 2, 5.0)


def ordered(objects):
    """CRDs, then Namespaces, then the rest in bundle order."""
    key = lambda o: (o["apiVersion"], o["kind"])  # noqa: E731
    crds = [o for o in objects if key(o) == CRD]
    namespaces = [o for o in objects if key(o) == NAMESPACE]
    rest = [o for o in objects if key(o) not in (CRD, NAMESPACE)]
    return crds, namespaces, rest


def load_bundle(session, bucket, key, sha256):
    s3 = session.client("s3", region_name=session.region_name)
    raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    actual = hashlib.sha256(raw).hexdigest()
    if actual != sha256.lower():
        raise ApplyError(f"s3://{bucket}/{key} has SHA-256 {actual}, the stack pins {sha256}")
    objects = json.loads(raw)
    if not isinstance(objects, list) or not all(
        isinstance(o, dict) and o.get("apiVersion") and o.get("kind") and o.get("metadata", {}).get("name")
        for o in objects
    ):
        raise ApplyError("the bundle is not a list of objects with apiVersion, kind and metadata.name")
    return objects


def apply_bundle(props, deadline):
    session = boto3.session.Session()
    cluster_name = props["ClusterName"]
    objects = load_bundle(session, props["ManifestBucket"], props["ManifestKey"], props["ManifestSha256"])
    cluster = session.client("eks", region_name=session.region_name).describe_cluster(name=cluster_name)["cluster"]
    ca_pem = base64.b64decode(cluster["certificateAuthority"]["data"]).decode()
    api = KubeApi(cluster["endpoint"], ca_pem, eks_token(cluster_name, session), deadline)
    field_manager = props["FieldManager"]
    default_namespace = props.get("DefaultNamespace") or None
    crds, namespaces, rest = ordered(objects)
    for crd in crds:
        api.apply(crd, field_manager, default_namespace)
    for crd in crds:
        api.wait_established(crd["metadata"]["name"])
    for obj in namespaces + rest:
        api.apply(obj, field_manager, default_namespace)
    return {"Applied": str(len(objects)), "ManifestSha256": props["ManifestSha256"]}


# ---- CloudFormation -----------------------------------------------------

class Responder:
    """Sends exactly one response to the pre-signed ResponseURL."""

    def __init__(self, event):
        self.event = event
        self.lock = threading.Lock()
        self.sent = False

    def send(self, status, reason, physical_id, data=None):
        with self.lock:
            if self.sent:
                return
            self.sent = True
        body = json.dumps({
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": physical_id,
            "StackId": self.event["StackId"],
            "RequestId": self.event["RequestId"],
            "LogicalResourceId": self.event["LogicalResourceId"],
            "NoEcho": False,
            "Data": data or {},
        }).encode()
        request = urllib.request.Request(
            self.event["ResponseURL"], data=body, method="PUT",
            headers={"Content-Type": "", "Content-Length": str(len(body))},
        )
        for attempt in range(3):
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    LOG.info("answered CloudFormation %s: %s", status, response.status)
                    return
            except OSError as error:
                LOG.warning("answering CloudFormation failed (%s), attempt %d", type(error).__name__, attempt + 1)
                time.sleep(1)


def physical_id(event):
    props = event.get("ResourceProperties", {})
    return event.get("PhysicalResourceId") or f"{props.get('ClusterName', 'cluster')}/{props.get('FieldManager', 'kube-apply')}"


def handler(event, context):
    responder = Responder(event)
    resource_id = physical_id(event)
    remaining = context.get_remaining_time_in_millis() / 1000.0
    # Answers FAILED before Lambda kills the function, whatever is running.
    watchdog = threading.Timer(
        max(1.0, remaining - RESPONSE_MARGIN_S / 2),
        lambda: responder.send("FAILED", "timed out before the manifests were applied", resource_id),
    )
    watchdog.daemon = True
    watchdog.start()
    try:
        if event["RequestType"] == "Delete":
            responder.send("SUCCESS", "kept the applied objects (retained on delete)", resource_id)
            return
        data = apply_bundle(event["ResourceProperties"], Deadline(remaining - RESPONSE_MARGIN_S))
        responder.send("SUCCESS", f"applied {data['Applied']} objects", resource_id, data)
    except ApplyError as error:
        LOG.error("%s", error)
        responder.send("FAILED", str(error), resource_id)
    except botocore.exceptions.ClientError as error:
        LOG.exception("AWS refused")
        code = error.response.get("Error", {}).get("Code", "unknown")
        responder.send("FAILED", f"{error.operation_name}: {code}", resource_id)
    except Exception as error:  # noqa: BLE001 - CloudFormation must hear back
        LOG.exception("kube-apply failed")
        # The type only: a botocore message can carry request details.
        responder.send("FAILED", f"unexpected {type(error).__name__} (see the function's log)", resource_id)
    finally:
        watchdog.cancel()
        # If the watchdog fired, its answer may still be on its way: returning
        # now would freeze the Lambda mid-request and CloudFormation would
        # wait for an hour.
        watchdog.join(RESPONSE_MARGIN_S / 2)

