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
    assert {"AppProject", "Application", "Namespace", "RoleBinding", "ClusterRole", "ValidatingAdmissionPolicy", "ClusterImagePolicy"} <= kinds
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
    # Self-managed Argo CD names the cluster it runs in "in-cluster".
    assert {d.get("name") for d in spec["destinations"]} == {"in-cluster"}
    assert not any("server" in d for d in spec["destinations"])
    assert spec["clusterResourceWhitelist"] == []
    assert all(k["kind"] != "*" for k in spec["namespaceResourceWhitelist"])


def _is_platform(doc: dict) -> bool:
    return doc["kind"] == "AppProject" and doc["metadata"]["name"] == "platform" or (
        doc["kind"] == "Application" and doc["spec"]["project"] == "platform"
    )


def test_the_repository_url_is_the_same_everywhere():
    """Folio's own Applications and projects; the platform add-ons come from
    their pinned upstream sources (test_platform_add_ons_are_pinned...)."""
    (repo,) = _project()["spec"]["sourceRepos"]
    for path, doc in _all_argocd_docs():
        if _is_platform(doc):
            continue
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


def _release_rbac() -> list[dict]:
    return support.load_yaml_all((ARGOCD / "bootstrap" / "release-rbac.yaml").read_text())


def _rules(docs: list[dict], kind: str, name: str) -> list[dict]:
    (role,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return role["rules"]


def test_release_rbac_is_narrow_and_per_environment():
    """Each environment's deploy group reads its own namespace, and may open
    a port-forward to argocd-server in argocd (the argocd CLI's
    --port-forward: list pods, create pods/portforward), nothing more. No
    ClusterRoleBinding, nothing on Applications (syncs go through Argo CD's
    API with the project role)."""
    docs = _release_rbac()
    kinds = {d["kind"] for d in docs}
    assert kinds == {"ClusterRole", "Role", "RoleBinding", "ValidatingAdmissionPolicy",
                     "ValidatingAdmissionPolicyBinding"}, "no ClusterRoleBinding: nothing cluster-wide"
    for doc in docs:
        for rule in doc.get("rules", []):
            assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"], rule
            assert "applications" not in rule["resources"], rule
            assert not {"resourceNames", "nonResourceURLs"} & set(rule), rule
    reader = _rules(docs, "ClusterRole", "folio-release-reader")
    assert all(set(r["verbs"]) <= {"get", "list", "watch"} for r in reader), "the reader only reads"
    (role,) = [d for d in docs if d["kind"] == "Role"]
    assert role["metadata"] == {"name": "folio-release-argocd-port-forward", "namespace": "argocd"}
    assert sorted((tuple(r["apiGroups"]), tuple(r["resources"]), tuple(r["verbs"])) for r in role["rules"]) == [
        (("",), ("pods",), ("list",)),  # find the argocd-server pod by its label
        (("",), ("pods/portforward",), ("create",)),  # the SPDY POST of the port-forward
    ]
    bindings = {}
    for doc in docs:
        if doc["kind"] == "RoleBinding":
            (subject,) = doc["subjects"]
            assert subject["kind"] == "Group", doc["metadata"]
            ref = doc["roleRef"]
            bindings.setdefault(subject["name"], set()).add((doc["metadata"]["namespace"], ref["kind"], ref["name"]))
    assert bindings == {
        f"folio-release-{e}": {
            (f"folio-{e}", "ClusterRole", "folio-release-reader"),
            ("argocd", "Role", "folio-release-argocd-port-forward"),
        }
        for e in ENVIRONMENTS
    }


def test_the_release_groups_may_port_forward_to_argocd_server_only():
    """RBAC cannot name a generated pod, so an admission policy refuses the
    release groups a port-forward to any other pod of argocd (repo-server
    answers unauthenticated gRPC, redis holds the cache); other users are
    not matched."""
    docs = _release_rbac()
    (policy,) = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicy"]
    (binding,) = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicyBinding"]
    assert binding["spec"] == {"policyName": policy["metadata"]["name"], "validationActions": ["Deny"]}
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    (rule,) = spec["matchConstraints"]["resourceRules"]
    assert rule == {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CONNECT"], "resources": ["pods/portforward"]}
    assert spec["matchConstraints"]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "argocd"}}
    (condition,) = spec["matchConditions"]
    groups = re.fullmatch(r"request\.userInfo\.groups\.exists\(g, g in \[(.*)\]\)", condition["expression"].strip())
    assert groups, condition["expression"]
    assert sorted(g.strip(" '") for g in groups.group(1).split(",")) == sorted(f"folio-release-{e}" for e in ENVIRONMENTS)
    (validation,) = spec["validations"]
    assert validation["expression"] == "request.name.startsWith('argocd-server-')"
    # The prefix is argocd-server's pods' and no other workload's of the install.
    install = support.load_yaml_all((support.ROOT / "cloudformation" / "functions" / "kube-apply" / "manifests"
                                     / "argo-cd-v3.4.7-ha-install.yaml").read_text())
    workloads = {d["metadata"]["name"]: d for d in install if d["kind"] in {"Deployment", "StatefulSet"}}
    assert [n for n in workloads if f"{n}-".startswith("argocd-server-")] == ["argocd-server"]
    server = workloads["argocd-server"]
    assert server["kind"] == "Deployment"
    assert server["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "argocd-server", (
        "the label the CLI's --port-forward looks the pod up by"
    )
    (container,) = [c for c in server["spec"]["template"]["spec"]["containers"] if c["name"] == "argocd-server"]
    assert 8080 in [p["containerPort"] for p in container["ports"]], "the port the CLI forwards to"


def test_each_environment_has_its_own_project_role():
    """One Argo CD project role per environment, limited to its Application:
    a DEV token cannot sync PROD."""
    roles = {r["name"]: r for r in _project()["spec"]["roles"]}
    assert set(roles) == {f"release-{e}" for e in ENVIRONMENTS}
    for env in ENVIRONMENTS:
        policies = roles[f"release-{env}"]["policies"]
        assert policies, env
        for policy in policies:
            parts = [p.strip() for p in policy.split(",")]
            assert parts[0] == "p" and parts[1] == f"proj:folio:release-{env}", policy
            assert parts[2] == "applications" and parts[3] in {"get", "sync"}, policy
            assert parts[4] == f"folio/folio-{env}" and parts[5] == "allow", policy


def test_prod_syncs_only_in_its_window():
    windows = _project()["spec"]["syncWindows"]
    prod = [w for w in windows if "folio-prod" in w.get("applications", [])]
    assert prod and all(w["kind"] == "allow" and w["manualSync"] is False for w in prod)
    assert all("folio-dev" not in w.get("applications", []) for w in windows)


def test_prod_cannot_be_pruned_by_removing_its_file():
    """folio-apps prunes; the PROD Application opts out of pruning and of
    deletion, and has no cascading finalizer, so removing or renaming
    argocd/apps/folio-prod.yaml leaves PROD running."""
    (root,) = [d for p, d in _all_argocd_docs() if p == "argocd/root.yaml"]
    assert root["spec"]["syncPolicy"]["automated"]["prune"] is True
    prod = support.application("prod")
    options = prod["metadata"]["annotations"]["argocd.argoproj.io/sync-options"].split(",")
    assert {"Prune=false", "Delete=false"} <= set(options)
    assert "resources-finalizer.argocd.argoproj.io" not in prod["metadata"].get("finalizers", [])


def test_the_bootstrap_app_can_only_create_applications_in_the_folio_project():
    docs = support.load_yaml_all((ARGOCD / "bootstrap" / "applications-policy.yaml").read_text())
    (policy,) = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicy"]
    (binding,) = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicyBinding"]
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert policy["spec"]["failurePolicy"] == "Fail"
    (rule,) = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["applications"] and set(rule["operations"]) == {"CREATE", "UPDATE"}
    (validation,) = policy["spec"]["validations"]
    expression = " ".join(validation["expression"].split())
    # Evaluate the expression's meaning on what folio-apps could create: it
    # tracks (annotates) everything it applies.
    def allowed(name, project, tracked):
        return name == "folio-apps" or project == "folio" or (project == "platform" and not tracked)
    assert expression == (
        "object.metadata.name == 'folio-apps' || object.spec.project == 'folio' || "
        "(object.spec.project == 'platform' && !(has(object.metadata.annotations) && "
        "'argocd.argoproj.io/tracking-id' in object.metadata.annotations))"
    )
    assert allowed("folio-prod", "folio", True) and not allowed("evil", "default", True)
    assert not allowed("evil", "platform", True), "the app of apps cannot reach the platform project"
    for path, doc in _all_argocd_docs():
        if doc["kind"] == "Application":
            # argocd/apps is what folio-apps applies (tracked); argocd/platform is applied by hand.
            tracked = path.startswith("argocd/apps/")
            assert allowed(doc["metadata"]["name"], doc["spec"]["project"], tracked), path
    assert all(
        d["spec"]["project"] == "folio" for p, d in _all_argocd_docs() if p.startswith("argocd/apps/")
    )


PLATFORM_SOURCES = {
    # Application: (repository, chart or path, pinned revision)
    "gateway-api-crds": ("https://github.com/kubernetes-sigs/gateway-api.git", "config/crd/standard", "v1.6.1"),
    "aws-load-balancer-controller": ("https://aws.github.io/eks-charts", "aws-load-balancer-controller", "3.5.0"),
    "cluster-autoscaler": ("https://kubernetes.github.io/autoscaler", "cluster-autoscaler", "9.59.0"),
    "policy-controller": ("https://sigstore.github.io/helm-charts", "policy-controller", "0.10.6"),
}


def _platform_apps() -> dict[str, dict]:
    return {
        d["metadata"]["name"]: d
        for p, d in _all_argocd_docs()
        if p.startswith("argocd/platform/") and d["kind"] == "Application"
    }


def test_platform_add_ons_are_pinned_and_confined_to_their_project():
    """The Helm-only add-ons are Applications of the project platform, each
    pinned to a release (never a branch), from a source the project allows,
    into the add-ons' namespaces only (docs/adr/0072)."""
    (project,) = [d for _, d in _all_argocd_docs() if d["kind"] == "AppProject" and d["metadata"]["name"] == "platform"]
    allowed_repos = set(project["spec"]["sourceRepos"])
    assert not any("*" in r for r in allowed_repos)
    assert {d["namespace"] for d in project["spec"]["destinations"]} == {"kube-system", "cosign-system"}
    apps = _platform_apps()
    assert set(PLATFORM_SOURCES) | {"gateway-class", "image-policy"} == set(apps)
    for name, (repo, chart_or_path, revision) in PLATFORM_SOURCES.items():
        spec = apps[name]["spec"]
        source = spec["source"]
        assert spec["project"] == "platform", name
        assert source["repoURL"] == repo and repo in allowed_repos, name
        assert source.get("chart", source.get("path")) == chart_or_path, name
        assert source["targetRevision"] == revision, name
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", source["targetRevision"]), name
        assert spec["destination"]["name"] == "in-cluster", name
    (folio_repo,) = _project()["spec"]["sourceRepos"]
    gateway_class = apps["gateway-class"]["spec"]["source"]
    assert gateway_class["repoURL"] == folio_repo and gateway_class["path"] == "argocd/platform/resources"
    assert (support.ROOT / gateway_class["path"] / "gateway-class.yaml").is_file()
    # The stack applies every platform Application at once (docs/adr/0077):
    # the two whose kinds another Application installs retry until they exist.
    image_policy = apps["image-policy"]["spec"]
    assert image_policy["source"]["repoURL"] == folio_repo and image_policy["source"]["path"] == "argocd/bootstrap"
    assert image_policy["source"]["directory"] == {"include": "image-policy.yaml"}
    for name in ("gateway-class", "image-policy"):
        policy = apps[name]["spec"]["syncPolicy"]
        assert "SkipDryRunOnMissingResource=true" in policy["syncOptions"], name
        assert policy["retry"]["limit"] >= 10, name


def test_every_destination_is_the_cluster_argo_cd_runs_in():
    """Self-managed Argo CD knows its own cluster as in-cluster
    (https://kubernetes.default.svc): no cluster Secret registers it."""
    for path, doc in _all_argocd_docs():
        labels = doc.get("metadata", {}).get("labels") or {}
        assert labels.get("argocd.argoproj.io/secret-type") != "cluster", path
        if doc["kind"] == "Application":
            assert doc["spec"]["destination"] == {**doc["spec"]["destination"], "name": "in-cluster"}, path
            assert "server" not in doc["spec"]["destination"], path


def test_argocd_settings_have_no_local_admin():
    """argocd-cm and argocd-rbac-cm of the stack's configuration bundle
    (docs/adr/0077): no admin user, no exec, no default role; tracking by
    annotation, which the admission policy of argocd/bootstrap relies on."""
    (cm,) = support.load_yaml_all((ARGOCD / "install" / "argocd-cm.yaml").read_text())
    assert cm["metadata"] == {**cm["metadata"], "name": "argocd-cm", "namespace": "argocd"}
    assert cm["data"]["admin.enabled"] == "false"
    assert cm["data"]["exec.enabled"] == "false"
    assert cm["data"]["application.resourceTrackingMethod"] == "annotation"
    (rbac,) = support.load_yaml_all((ARGOCD / "install" / "argocd-rbac-cm.yaml").read_text())
    assert rbac["metadata"]["name"] == "argocd-rbac-cm" and rbac["data"]["policy.default"] == ""
    # No Service of Folio's exposes argocd-server: CI reaches it through the
    # Kubernetes API (port-forward, release-rbac.yaml).
    for path in sorted(ARGOCD.rglob("*.yaml")):
        for doc in support.load_yaml_all(path.read_text()):
            assert doc["kind"] != "Service", path


def test_namespaces_enforce_the_restricted_pod_security_profile():
    docs = support.load_yaml_all((ARGOCD / "bootstrap" / "namespaces.yaml").read_text())
    assert sorted(d["metadata"]["name"] for d in docs) == sorted(f"folio-{e}" for e in ENVIRONMENTS)
    for doc in docs:
        assert doc["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_only_images_signed_by_the_release_are_admitted(rendered):
    """The admission policy covers every Folio image the chart renders, in
    every Folio namespace, and asks for the identity and attestation the
    release workflow produces and scripts/verify-images checks."""
    import fnmatch

    (policy,) = support.load_yaml_all((ARGOCD / "bootstrap" / "image-policy.yaml").read_text())
    spec = policy["spec"]
    assert spec["mode"] == "enforce"
    globs = [i["glob"] for i in spec["images"]]
    for env in ENVIRONMENTS:
        for deploy in support.by_kind(rendered[env], "Deployment").values():
            for c in support.containers(deploy):
                assert any(fnmatch.fnmatch(c["image"].split(":")[0], g) for g in globs), c["image"]
    (authority,) = spec["authorities"]
    (identity,) = authority["keyless"]["identities"]
    assert identity["issuer"] == "https://token.actions.githubusercontent.com"
    (repo,) = _project()["spec"]["sourceRepos"]
    owner_name = repo.removeprefix("https://github.com/").removesuffix(".git")
    workflow_identity = f"https://github.com/{owner_name}/.github/workflows/release.yml@refs/heads/main"
    assert re.fullmatch(identity["subjectRegExp"], workflow_identity)
    assert not re.fullmatch(identity["subjectRegExp"], workflow_identity.replace("main", "feature"))
    verify = (support.ROOT / "scripts" / "verify-images").read_text()
    assert '/.github/workflows/release.yml@refs/heads/main"' in verify
    assert [a["predicateType"] for a in authority["attestations"]] == ["spdxjson"]
    assert "cosign attest --yes --type spdxjson" in (support.WORKFLOWS / "release.yml").read_text()
    namespaces = support.load_yaml_all((ARGOCD / "bootstrap" / "namespaces.yaml").read_text())
    for ns in namespaces:
        assert ns["metadata"]["labels"]["policy.sigstore.dev/include"] == "true", ns["metadata"]["name"]
