"""GitHub Actions workflows and the shell scripts they run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

import support
from support import ROOT, WORKFLOWS

WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
SCRIPTS = [
    ROOT / "scripts" / n
    for n in (
        "deploy-checks",
        "argocd-rollout",
        "smoke-test",
        "image-scan-gate",
        "verify-images",
        "publish-pin",
        "install-argocd",
        "tag-images",
        "cfn-deploy",
        "apply-github-settings",
    )
]
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
    assert {p.name for p in WORKFLOW_FILES} == {"ci.yml", "release.yml", "promote.yml", "infrastructure.yml"}


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
        allowed = {"contents": {"read", "write"}, "id-token": {"write"}, "attestations": {"write"}}
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


def test_ci_runs_lints_tests_and_deploy_checks_on_every_branch():
    doc = _workflow("ci.yml")
    assert doc["name"] == "CI"
    assert "pull_request" in doc["on"]
    assert doc["on"]["push"] == {"branches": ["**"]}, "CI on every push to any branch"
    rust = doc["jobs"]["rust"]
    images = {name: svc["image"] for name, svc in rust["services"].items()}
    assert images["mysql"].startswith("mysql:8.4"), "CI tests the MySQL that RDS runs"
    assert images["redis"].startswith("redis:")
    runs = "\n".join(s.get("run", "") for _, _, s in _steps(doc))
    assert "cargo fmt --all --check" in runs
    assert re.search(r"cargo clippy .*-- -D warnings", runs)
    assert "cargo test --workspace" in runs
    assert "bash scripts/deploy-checks" in runs


def test_release_starts_only_after_ci_passed_on_that_commit():
    """The workflow graph: no push trigger of its own; it follows a
    completed CI run of main, goes on only when that run succeeded on a push
    in this repository, and builds and deploys exactly that run's commit."""
    doc = _workflow("release.yml")
    assert set(doc["on"]) == {"workflow_run"}, "no trigger that bypasses CI"
    run = doc["on"]["workflow_run"]
    assert run["workflows"] == [_workflow("ci.yml")["name"]]
    assert run["types"] == ["completed"] and run["branches"] == ["main"]
    assert doc["env"]["SHA"] == "${{ github.event.workflow_run.head_sha }}"
    gate = " ".join(doc["jobs"]["images"]["if"].split())
    for condition in (
        "github.event.workflow_run.conclusion == 'success'",
        "github.event.workflow_run.event == 'push'",
        "github.event.workflow_run.head_branch == 'main'",
        "github.event.workflow_run.head_repository.full_name == github.repository",
    ):
        assert condition in gate, condition
    # Every other job hangs off the gated one.
    for name, job in doc["jobs"].items():
        if name != "images":
            assert "images" in ([job["needs"]] if isinstance(job["needs"], str) else job["needs"]), name
    (checkout,) = [s for s in doc["jobs"]["images"]["steps"] if "actions/checkout" in s.get("uses", "")]
    assert checkout["with"]["ref"] == "${{ env.SHA }}", "build the commit CI passed on"
    assert "${{ github.sha }}" not in (WORKFLOWS / "release.yml").read_text(), (
        "github.sha of a workflow_run is main's head, not the commit CI passed on"
    )


def test_release_builds_signs_and_deploys_dev_in_order():
    doc = _workflow("release.yml")
    assert doc["jobs"]["images"]["strategy"]["matrix"]["service"] == list(support.SERVICES)
    steps = doc["jobs"]["images"]["steps"]
    uses = [s.get("uses", "") + s.get("run", "") for s in steps]
    order = ["build-push-action", "scripts/image-scan-gate", "sbom-action", "attest-build-provenance",
             "cosign sign --yes", "cosign attest --yes --type spdxjson"]
    positions = [next(i for i, u in enumerate(uses) if m in u) for m in order]
    assert positions == sorted(positions), dict(zip(order, positions))
    (build,) = [s for s in steps if "build-push-action" in s.get("uses", "")]
    assert "${{ env.SHA }}" in build["with"]["tags"]
    assert "SERVICE=${{ matrix.service }}" in build["with"]["build-args"]
    deploy = doc["jobs"]["deploy-dev"]
    assert deploy["needs"] == "images"
    assert deploy["environment"]["name"] == "dev"
    runs = "\n".join(s.get("run", "") for s in deploy["steps"])
    order = [
        "scripts/verify-images",
        "folio release set-image dev",
        "scripts/publish-pin commit dev",
        "scripts/argocd-rollout folio-dev",
        "scripts/smoke-test folio-dev",
        "scripts/e2e",
        "scripts/tag-images",
        "scripts/publish-pin tag env-DEV",
    ]
    positions = [runs.find(marker) for marker in order]
    assert -1 not in positions, dict(zip(order, positions))
    assert positions == sorted(positions), "steps out of order"
    (e2e,) = [s for s in deploy["steps"] if s.get("run", "").strip() == "scripts/e2e"]
    assert e2e["env"]["FOLIO_E2E_BASE_URL"] == "${{ vars.FOLIO_URL }}", "against the deployed DEV"
    assert "FOLIO_E2E_SKIP_SCHEMATHESIS" not in e2e["env"] and "FOLIO_E2E_SKIP_JOURNEY" not in e2e["env"]


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
    order = ["folio release --root", "scripts/verify-images", "release promote", "scripts/publish-pin commit",
             "scripts/argocd-rollout",
             "scripts/smoke-test", "scripts/tag-images", 'scripts/publish-pin tag "env-${TARGET^^}"']
    positions = [runs.find(m) for m in order]
    assert -1 not in positions and positions == sorted(positions), dict(zip(order, positions))


def _step(job: dict, name: str) -> dict:
    (step,) = [s for s in job["steps"] if s.get("name") == name]
    return step


def test_stage_runs_the_journey_before_its_tag_moves():
    (job,) = _workflow("promote.yml")["jobs"].values()
    names = [s.get("name") for s in job["steps"]]
    journey = _step(job, "Browser journey against STAGE")
    assert journey["if"] == "env.TARGET == 'stage'"
    assert journey["run"].strip() == "scripts/e2e"
    assert journey["env"]["FOLIO_E2E_BASE_URL"] == "${{ vars.FOLIO_URL }}"
    assert journey["env"]["FOLIO_E2E_SKIP_SCHEMATHESIS"] == "1"
    assert names.index("Smoke test") < names.index("Browser journey against STAGE") < names.index(
        "Move the environment's tag to the verified pin"
    )


def test_a_failed_prod_smoke_test_rolls_back_and_says_so():
    (job,) = _workflow("promote.yml")["jobs"].values()
    smoke = _step(job, "Smoke test")
    assert smoke["id"] == "smoke"
    rollback = _step(job, "Roll PROD back to its last verified pin")
    assert rollback["if"] == (
        "failure() && env.TARGET == 'prod' && steps.smoke.outcome == 'failure'"
        " && steps.pin.outputs.previous-tag != ''"
    )
    run = rollback["run"]
    order = [
        "git checkout refs/tags/env-PROD -- argocd/apps/folio-prod.yaml",
        "scripts/publish-pin commit prod",
        'scripts/argocd-rollout --sync folio-prod "$PREVIOUS_REVISION"',
        'scripts/smoke-test folio-prod "$PREVIOUS_TAG"',
        "GITHUB_STEP_SUMMARY",
        "::error::PROD was rolled back",
    ]
    positions = [run.find(m) for m in order]
    assert -1 not in positions and positions == sorted(positions), dict(zip(order, positions))
    names = [s.get("name") for s in job["steps"]]
    # The tag step runs only on success (no if:), so env-PROD keeps the old pin.
    tag = _step(job, "Move the environment's tag to the verified pin")
    assert "if" not in tag
    assert names.index("Roll PROD back to its last verified pin") < names.index(
        "Move the environment's tag to the verified pin"
    )
    pin = _step(job, "Read the verified pin, and the target's own last verified one")
    assert 'git worktree add --detach "$RUNNER_TEMP/previous" "refs/tags/env-${TARGET^^}"' in pin["run"]


def test_publish_pin_commits_a_staged_rollback(tmp_path):
    """The rollback stages the Application file (`git checkout <tag> --
    <file>`); publish-pin must still see it as a change and commit it."""
    repo = tmp_path / "repo"
    (repo / "argocd" / "apps").mkdir(parents=True)
    app = repo / "argocd" / "apps" / "folio-prod.yaml"
    run = lambda *args: subprocess.run(args, cwd=repo, check=True, capture_output=True, text=True)  # noqa: E731
    run("git", "init", "-q", "-b", "main")
    run("git", "config", "user.email", "t@example.com")
    run("git", "config", "user.name", "t")
    app.write_text("value: old\n")
    run("git", "add", ".")
    run("git", "commit", "-qm", "old")
    run("git", "tag", "env-PROD")
    app.write_text("value: new\n")
    run("git", "commit", "-qam", "new")
    run("git", "checkout", "refs/tags/env-PROD", "--", "argocd/apps/folio-prod.yaml")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(remote)], check=True, capture_output=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GIT_CONFIG_GLOBAL": "/dev/null",
           "GITHUB_TOKEN": "x", "GITHUB_REPOSITORY": "example/folio", "FOLIO_PUBLISH_REMOTE": str(remote)}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "publish-pin"), "commit", "prod", "rollback: PROD back"],
                            cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    pushed = subprocess.run(["git", "--git-dir", str(remote), "log", "--format=%s", "-1", "main"],
                            check=True, capture_output=True, text=True).stdout.strip()
    assert pushed == "rollback: PROD back", "the rollback commit reached main"
    shown = subprocess.run(["git", "--git-dir", str(remote), "show", "main:argocd/apps/folio-prod.yaml"],
                           check=True, capture_output=True, text=True).stdout
    assert shown == "value: old\n"
    result = subprocess.run(["bash", str(ROOT / "scripts" / "publish-pin"), "tag", "env-PROD"],
                            cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_no_checkout_keeps_credentials(path):
    for job, _, step in _steps(_workflow(path.name)):
        if "actions/checkout" in step.get("uses", ""):
            assert step["with"]["persist-credentials"] is False, job


PORT_FORWARD = "--port-forward --port-forward-namespace argocd"


def _code(text: str) -> str:
    """Shell text without its comment lines."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _shell_texts():
    """Every script, and every step's run block, as (where, code)."""
    for path in sorted((ROOT / "scripts").iterdir()):
        if path.is_file() and path.suffix in {"", ".sh"}:
            yield f"scripts/{path.name}", _code(path.read_text())
    for path in WORKFLOW_FILES:
        for job, _, step in _steps(_workflow(path.name)):
            yield f"{path.name}:{job}:{step.get('name', step.get('uses', ''))}", _code(step.get("run", ""))


def test_argocd_is_driven_through_its_cli_and_project_roles():
    text = (ROOT / "scripts" / "argocd-rollout").read_text()
    assert "kubectl" not in text, "no kubectl patch of Applications"
    assert "argocd app sync" in text and "argocd app wait" in text
    for name in ("release.yml", "promote.yml"):
        for job, _, step in _steps(_workflow(name)):
            if "scripts/argocd-rollout" in step.get("run", ""):
                assert step["env"]["ARGOCD_AUTH_TOKEN"] == "${{ secrets.ARGOCD_AUTH_TOKEN }}", (name, job)


def test_argocd_is_reached_through_the_kubernetes_api_only():
    """argocd-server has no address outside the cluster: every argocd call
    of a script or workflow goes through the CLI's port-forward, and nothing
    names a server, an ARGOCD_SERVER, ARGOCD_OPTS, or --insecure/--plaintext
    (the CLI skips verifying argocd-server's certificate itself behind
    --port-forward: an --insecure would only ever matter elsewhere)."""
    rollout = _code((ROOT / "scripts" / "argocd-rollout").read_text())
    wrapper = re.search(r"^argocd\(\) \{\n(.*?)\n\}$", rollout, re.M | re.S)
    assert wrapper and wrapper.group(1).strip() == f'command argocd "$@" --config "$no_config/none" {PORT_FORWARD}', (
        "every argocd call of argocd-rollout goes through the port-forward wrapper"
    )
    assert rollout.count("command argocd") == 1
    for where, code in _shell_texts():
        for word in ("ARGOCD_SERVER", "ARGOCD_OPTS", "--insecure", "--plaintext", "--server ", "--server=",
                     "--grpc-web", "argocd-server-internal", "argocd login"):
            if word == "ARGOCD_SERVER" and where == "scripts/argocd-rollout":
                assert re.findall(r"\S*ARGOCD_SERVER\S*", code) == ["ARGOCD_SERVER"] and "unset ARGOCD_SERVER" in code
                continue
            assert word not in code, (where, word)
        if where in {"scripts/argocd-rollout"}:
            continue
        # Anywhere else, only the installer's local version check runs the CLI.
        for match in re.finditer(r"(?:^|[\s;|&(/\"])argocd\"?[ \t]+([a-z-]+)", code, re.M):
            assert where == "scripts/install-argocd" and match.group(1) == "version", (where, match.group(0))
    for path in WORKFLOW_FILES:
        text = path.read_text()
        assert "vars.ARGOCD_SERVER" not in text and "ARGOCD_OPTS" not in text, path.name


@pytest.mark.parametrize("name", ["release.yml", "promote.yml"])
def test_every_rollout_and_smoke_test_has_the_deploy_roles_kubeconfig_first(name):
    """The port-forward and the smoke test use the kubeconfig of the job's
    deploy role, set up once per job after the role is assumed and before
    the first step that needs it."""
    for job_name, job in _workflow(name)["jobs"].items():
        steps = job.get("steps", [])
        runs = [s.get("run", "") for s in steps]
        users = [i for i, r in enumerate(runs) if "scripts/argocd-rollout" in r or "scripts/smoke-test" in r]
        if not users:
            continue
        kubeconfig = [i for i, r in enumerate(runs) if "aws eks update-kubeconfig" in r]
        assert len(kubeconfig) == 1, (job_name, "one kubeconfig step")
        (k,) = kubeconfig
        assert runs[k].strip() == 'aws eks update-kubeconfig --name "$CLUSTER"'
        assert steps[k]["env"] == {"CLUSTER": "${{ vars.EKS_CLUSTER }}"}
        credentials = [i for i, s in enumerate(steps) if "configure-aws-credentials" in s.get("uses", "")]
        assert credentials and credentials[-1] < k < min(users), (job_name, credentials, k, users)
        assert steps[credentials[-1]]["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}", job_name


def _fake_argocd(tmp_path, revision: str):
    """An `argocd` on PATH that records each call (arguments and the two
    variables it reads) and answers like a synced, healthy Application."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    fake = bin_dir / "argocd"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'printf \'%s|server=%s|token=%s\\n\' "$*" "${{ARGOCD_SERVER-unset}}" "${{ARGOCD_AUTH_TOKEN-unset}}" >> {log}\n'
        'if [[ $1 == app && $2 == get ]]; then\n'
        f'  echo \'{{"spec": {{"source": {{"targetRevision": "{revision}"}}}}, "status": {{"sync": {{"revision": "{revision}"}}}}}}\'\n'
        "fi\n"
    )
    fake.chmod(0o755)
    return bin_dir, log


def _rollout(tmp_path, bin_dir, *args, kubeconfig=True):
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True, exist_ok=True)
    if kubeconfig:
        (home / ".kube" / "config").write_text("apiVersion: v1\nkind: Config\n")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "ARGOCD_AUTH_TOKEN": "role-token",
           "ARGOCD_SERVER": "argocd.internal.example:443"}
    return subprocess.run(["bash", str(ROOT / "scripts" / "argocd-rollout"), *args], env=env,
                          capture_output=True, text=True, check=False, timeout=60)


def test_the_rollout_talks_to_argocd_through_the_port_forward_with_the_project_token(tmp_path):
    bin_dir, log = _fake_argocd(tmp_path, "abc123")
    result = _rollout(tmp_path, bin_dir, "--sync", "folio-prod", "abc123", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    calls = [line.split("|") for line in log.read_text().splitlines()]
    assert calls, "argocd was called"
    for argv, server, token in calls:
        assert argv.endswith(PORT_FORWARD), argv
        # No argocd config of the caller's (a core-mode context) applies.
        config = re.search(r" --config (\S+) ", argv)
        assert config and config.group(1).endswith("/none") and not os.path.exists(config.group(1)), argv
        assert "--insecure" not in argv and "--server" not in argv and "--grpc-web" not in argv, argv
        assert server == "server=unset", "a leftover ARGOCD_SERVER is not passed on"
        assert token == "token=role-token", "the project role's token, as before"
    commands = [re.sub(r" --config \S+ " + PORT_FORWARD + "$", "", argv) for argv, _, _ in calls]
    assert "app sync folio-prod --revision abc123 --prune --timeout 60" in commands
    assert any(c.startswith("app wait folio-prod --sync --health --operation --timeout ") for c in commands)
    assert commands[0] == "app get folio-prod --refresh -o json"


def test_the_rollout_refuses_to_start_without_a_kubeconfig(tmp_path):
    bin_dir, log = _fake_argocd(tmp_path, "abc123")
    result = _rollout(tmp_path, bin_dir, "folio-dev", "abc123", "60", kubeconfig=False)
    assert result.returncode == 2
    assert "aws eks update-kubeconfig" in result.stderr
    assert not log.exists(), "no argocd call without a way to reach it"


def test_zizmor_auditor_persona_is_clean():
    zizmor = shutil.which("zizmor")
    assert zizmor, "zizmor is not on PATH (run through scripts/deploy-checks)"
    result = subprocess.run(
        [zizmor, "--persona=auditor", "--offline", "--no-progress", str(WORKFLOWS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _fake_aws(tmp_path, status: str, critical: str):
    """An `aws` on PATH answering describe-image-scan-findings like ECR."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(
        "#!/usr/bin/env bash\n"
        'case "$*" in\n'
        f"  *imageScanStatus.status*) echo {status} ;;\n"
        f"  *findingSeverityCounts.CRITICAL*) echo {critical} ;;\n"
        '  *) echo "unexpected aws call: $*" >&2; exit 1 ;;\n'
        "esac\n"
    )
    aws.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "FOLIO_SCAN_WAIT_SECONDS": "0"}


@pytest.mark.parametrize(
    ("status", "critical", "passes"),
    [
        ("COMPLETE", "None", True),
        ("ACTIVE", "0", True),
        ("COMPLETE", "3", False),
        ("UNSUPPORTED_IMAGE", "None", False),
        ("FAILED", "None", False),
        ("PENDING", "None", False),
    ],
)
def test_the_image_scan_gate_fails_closed(tmp_path, status, critical, passes):
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "image-scan-gate"), "folio-bff", "sha256:" + "0" * 64],
        env=_fake_aws(tmp_path, status, critical),
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode == 0) == passes, result.stdout + result.stderr
