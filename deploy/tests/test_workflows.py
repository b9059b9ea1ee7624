"""GitHub Actions workflows and the shell scripts they run."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

import support
from support import ROOT, WORKFLOWS

WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
SCRIPTS = [ROOT / "scripts" / n for n in ("deploy-checks", "argocd-rollout", "smoke-test")]
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _workflow(name: str) -> dict:
    doc = support.load_yaml(WORKFLOWS / name)
    # YAML 1.1 reads the key "on" as True.
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def _steps(doc: dict):
    for job_name, job in doc["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, job, step


def test_the_expected_workflows_exist():
    assert {p.name for p in WORKFLOW_FILES} == {"ci.yml", "release.yml", "promote.yml"}


def test_actionlint_is_clean():
    actionlint = shutil.which("actionlint")
    assert actionlint, "actionlint is not on PATH (run through scripts/deploy-checks)"
    # actionlint checks run: scripts with shellcheck only when it finds it.
    assert shutil.which("shellcheck"), "shellcheck is not on PATH"
    result = subprocess.run(
        [actionlint, "-no-color", *map(str, WORKFLOW_FILES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_pass_shellcheck(script):
    result = subprocess.run(
        ["shellcheck", "--shell=bash", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_actions_are_pinned_to_commits(path):
    lines = path.read_text().splitlines()
    uses = [line for line in lines if re.match(r"^\s*(- )?uses:", line)]
    assert uses
    for line in uses:
        ref = line.split("uses:", 1)[1].split("#", 1)[0].strip()
        assert PINNED.match(ref), f"{path.name}: {ref} is not pinned to a commit SHA"
        assert re.search(r"# v\d", line), f"{path.name}: {ref} has no version comment"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_permissions_are_minimal(path):
    doc = _workflow(path.name)
    assert "permissions" in doc, "no workflow-level permissions"
    assert doc["permissions"] in ({}, {"contents": "read"})
    for name, job in doc["jobs"].items():
        perms = job.get("permissions", doc["permissions"])
        assert isinstance(perms, dict), f"{name}: permissions must be a map"
        allowed = {"contents": {"read", "write"}, "id-token": {"write"}}
        for scope, level in perms.items():
            assert level in allowed.get(scope, set()), (name, scope, level)
        uses_aws = any("configure-aws-credentials" in s.get("uses", "") for s in job.get("steps", []))
        assert (perms.get("id-token") == "write") == uses_aws, name
        if perms.get("contents") == "write":
            assert job.get("environment"), f"{name}: writes to the repository outside an environment"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_aws_access_is_through_oidc_only(path):
    text = path.read_text()
    assert "aws-access-key-id" not in text and "aws-secret-access-key" not in text
    assert not re.search(r"secrets\.AWS_", text)
    for _, _, step in _steps(_workflow(path.name)):
        if "configure-aws-credentials" in step.get("uses", ""):
            assert step["with"]["role-to-assume"].startswith("${{ vars.")


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_script(path):
    """Untrusted values reach run: scripts through env:, never as ${{ }}."""
    for job, _, step in _steps(_workflow(path.name)):
        assert "${{" not in step.get("run", ""), (job, step.get("name"))


def test_ci_runs_lints_tests_and_deploy_checks():
    doc = _workflow("ci.yml")
    assert set(doc["on"]) >= {"pull_request", "push"}
    rust = doc["jobs"]["rust"]
    images = {name: svc["image"] for name, svc in rust["services"].items()}
    assert images["mysql"].startswith("mysql:8")
    assert images["redis"].startswith("redis:")
    runs = "\n".join(s.get("run", "") for _, _, s in _steps(doc))
    assert "cargo fmt --all --check" in runs
    assert re.search(r"cargo clippy .*-- -D warnings", runs)
    assert "cargo test --workspace" in runs
    assert "bash scripts/deploy-checks" in runs


def test_release_builds_every_image_and_deploys_dev():
    doc = _workflow("release.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["jobs"]["images"]["strategy"]["matrix"]["service"] == list(support.SERVICES)
    build = [s for _, _, s in _steps(doc) if "build-push-action" in s.get("uses", "")]
    assert "${{ github.sha }}" in build[0]["with"]["tags"]
    assert "SERVICE=${{ matrix.service }}" in build[0]["with"]["build-args"]
    deploy = doc["jobs"]["deploy-dev"]
    assert deploy["needs"] == "images"
    assert deploy["environment"]["name"] == "dev"
    runs = "\n".join(s.get("run", "") for s in deploy["steps"])
    order = [
        "folio release set-image dev",
        "git push origin HEAD:main",
        "scripts/argocd-rollout folio-dev",
        "scripts/smoke-test folio-dev",
        "git tag --force env-DEV",
    ]
    positions = [runs.find(marker) for marker in order]
    assert -1 not in positions, dict(zip(order, positions))
    assert positions == sorted(positions), "steps out of order"


def test_promote_takes_only_what_the_previous_environment_verified():
    doc = _workflow("promote.yml")
    assert doc["on"]["schedule"], "STAGE is promoted nightly"
    target = doc["on"]["workflow_dispatch"]["inputs"]["target"]
    assert target["options"] == ["stage", "prod"], "no direct promotion into DEV"
    (job,) = doc["jobs"].values()
    assert job["environment"]["name"] == "${{ inputs.target || 'stage' }}"
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "stage) source=dev" in runs and "prod) source=stage" in runs
    assert 'source_tag="env-${source^^}"' in runs
    assert 'release promote "$SOURCE" "$TARGET" --source-root' in runs
    assert "scripts/argocd-rollout --sync" in runs, "PROD sync is started by the approved run"
    order = ["folio release", "git push origin HEAD:main", "scripts/argocd-rollout",
             "scripts/smoke-test", 'git tag --force "env-${TARGET^^}"']
    positions = [runs.find(m) for m in order]
    assert -1 not in positions and positions == sorted(positions), dict(zip(order, positions))
