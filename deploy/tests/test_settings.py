"""Repository settings kept as code (.github/settings, applied by
scripts/apply-github-settings) and the stack list of infrastructure.yml."""

from __future__ import annotations

import json
import re

import pytest

import support
from support import ROOT, WORKFLOWS

SETTINGS = ROOT / ".github" / "settings"
GITHUB_ACTIONS_APP = 15368


def _json(path):
    return json.loads(path.read_text())


def _ruleset(name: str) -> dict:
    return _json(SETTINGS / "rulesets" / f"{name}.json")


def test_env_tags_are_protected():
    """Only the GitHub Actions app (the release and promotion jobs, which run
    in approved environments) may create, move or delete env-* tags."""
    rules = _ruleset("env-tags")
    assert rules["target"] == "tag" and rules["enforcement"] == "active"
    assert rules["conditions"]["ref_name"]["include"] == ["refs/tags/env-*"]
    assert {r["type"] for r in rules["rules"]} >= {"creation", "update", "deletion"}
    assert rules["bypass_actors"] == [
        {"actor_id": GITHUB_ACTIONS_APP, "actor_type": "Integration", "bypass_mode": "always"}
    ]


def test_main_needs_green_ci():
    rules = _ruleset("main")
    assert rules["conditions"]["ref_name"]["include"] == ["~DEFAULT_BRANCH"]
    checks = next(r for r in rules["rules"] if r["type"] == "required_status_checks")
    contexts = {c["context"] for c in checks["parameters"]["required_status_checks"]}
    ci = support.load_yaml(WORKFLOWS / "ci.yml")["jobs"]
    assert contexts == {job["name"] for job in ci.values()}, "the required checks are CI's job names"


def _environments_used() -> set[str]:
    used = set()
    for path in WORKFLOWS.glob("*.yml"):
        for job in support.load_yaml(path)["jobs"].values():
            env = job.get("environment")
            if isinstance(env, dict):
                env = env["name"]
            if env:
                used |= {"stage", "prod"} if "inputs.target" in env else {env}
    return used


def test_every_environment_a_workflow_uses_is_configured():
    configured = {p.stem for p in (SETTINGS / "environments").glob("*.json")}
    assert _environments_used() == configured


@pytest.mark.parametrize("env", sorted({p.stem for p in (SETTINGS / "environments").glob("*.json")}))
def test_environments_deploy_from_main_only(env):
    spec = _json(SETTINGS / "environments" / f"{env}.json")
    assert spec["deployment_branch_policy"] == {"protected_branches": False, "custom_branch_policies": True}
    assert spec["branches"] == ["main"]


@pytest.mark.parametrize("env", ["prod", "infrastructure"])
def test_production_needs_an_independent_approval(env):
    spec = _json(SETTINGS / "environments" / f"{env}.json")
    assert spec["reviewers"], env
    assert spec["prevent_self_review"] is True, "whoever starts the run cannot approve it"


def test_infrastructure_plans_everything_and_applies_only_after_approval():
    doc = support.load_yaml(WORKFLOWS / "infrastructure.yml")
    on = doc.get(True, doc.get("on"))
    assert {"pull_request", "push"} <= set(on)
    jobs = doc["jobs"]
    assert jobs["plan"]["needs"] == "validate" and jobs["apply"]["needs"] == "plan"
    assert jobs["apply"]["environment"]["name"] == "infrastructure"
    assert "scripts/cfn-deploy plan" in jobs["plan"]["steps"][-1]["run"]
    assert "scripts/cfn-deploy apply" in jobs["apply"]["steps"][-1]["run"]
    assert "pull_request" in jobs["plan"]["if"], "pull requests validate, they do not plan"


def test_the_stack_list_covers_every_template_in_bootstrap_order():
    stacks = _json(support.CLOUDFORMATION / "stacks.json")["stacks"]
    templates = [s["template"] for s in stacks]
    assert set(templates) == {p.name for p in support.CLOUDFORMATION.glob("*.yaml")}
    rows = re.findall(r"^\| \d+ \| `([^`]+)` \| `([\w-]+\.yaml)` \|", (ROOT / "docs" / "operations.md").read_text(), re.M)
    expected = []
    for stack, template in rows:
        if "<env>" in stack:
            continue
        expected.append((stack, template))
    account_wide = [(s["stack"], s["template"]) for s in stacks if not re.match(r"folio-(dev|stage|prod)-", s["stack"])]
    assert account_wide == expected, "account-wide stacks in the order of docs/operations.md"


@pytest.mark.parametrize("stack", [s["stack"] for s in _json(support.CLOUDFORMATION / "stacks.json")["stacks"]])
def test_every_stack_has_its_parameters(stack, tmp_path):
    from cfnlint.decode import cfn_yaml

    (entry,) = [s for s in _json(support.CLOUDFORMATION / "stacks.json")["stacks"] if s["stack"] == stack]
    declared = cfn_yaml.load(str(support.CLOUDFORMATION / entry["template"])).get("Parameters", {})
    given = {p["ParameterKey"]: p["ParameterValue"] for p in _json(support.CLOUDFORMATION / "parameters" / f"{stack}.json")}
    if stack == "folio-eks":
        # scripts/cfn-deploy adds the kube-apply artifacts' keys and SHA-256s.
        built = support.kube_bundle().stack(tmp_path)["parameters"]
        assert not {p["ParameterKey"] for p in built} & set(given), "one source per parameter"
        given |= {p["ParameterKey"]: p["ParameterValue"] for p in built}
    assert set(given) <= set(declared), set(given) - set(declared)
    required = {k for k, v in declared.items() if "Default" not in v}
    assert required <= set(given), required - set(given)
    env = re.match(r"folio-(dev|stage|prod)-", stack)
    if env:
        assert given["Environment"] == env.group(1)
