"""checkov over everything that deploys Folio: the rendered chart (every
environment) and bootstrap manifests, the CloudFormation templates, the
Dockerfile and the workflows. No failed check is accepted; a check may only
be skipped in place, with a justification beside it (a checkov.io/skipN
annotation or a `# checkov:skip=ID: reason` comment)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import yaml

import support
from support import ROOT

FRAMEWORKS = ("kubernetes", "cloudformation", "dockerfile", "github_actions")


@pytest.fixture(scope="module")
def reports(rendered, tmp_path_factory) -> dict[str, dict]:
    checkov = shutil.which("checkov")
    assert checkov, "checkov is not on PATH (run through scripts/deploy-checks)"
    stage = tmp_path_factory.mktemp("checkov")
    (stage / "kubernetes").mkdir()
    for env, docs in rendered.items():
        (stage / "kubernetes" / f"chart-{env}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    for path in sorted((support.ARGOCD / "bootstrap").glob("*.yaml")):
        shutil.copy(path, stage / "kubernetes" / f"bootstrap-{path.name}")
    # functions/ holds the kube-apply code and upstream's vendored Argo CD
    # manifest (pinned by SHA-256, docs/adr/0077), not templates of ours.
    shutil.copytree(support.CLOUDFORMATION, stage / "cloudformation", ignore=shutil.ignore_patterns("functions"))
    shutil.copy(ROOT / "Dockerfile", stage / "Dockerfile")
    shutil.copytree(support.WORKFLOWS, stage / ".github" / "workflows")

    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_NO_OUTPUT_COLOR="1")
    result = subprocess.run(
        [checkov, "--directory", str(stage), "--framework", *FRAMEWORKS,
         "--output", "json", "--skip-download", "--compact", "--soft-fail"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    data = json.loads(result.stdout)
    if isinstance(data, dict):
        data = [data]
    return {report["check_type"]: report for report in data}


def test_every_framework_was_scanned(reports):
    for framework in FRAMEWORKS:
        assert framework in reports, f"checkov scanned no {framework} files"
        summary = reports[framework]["summary"]
        # (github_actions reports resource_count 0; its checks still run.)
        assert summary["passed"] > 0, (framework, summary)
        assert summary["parsing_errors"] == 0, (framework, summary)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_no_failed_checks(reports, framework):
    failed = reports[framework]["results"]["failed_checks"]
    lines = [
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']}:{c['file_line_range']})"
        for c in failed
    ]
    assert not failed, "\n".join(lines)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_skip_is_justified(reports, framework):
    for check in reports[framework]["results"]["skipped_checks"]:
        reason = (check.get("check_result", {}).get("suppress_comment") or "").strip()
        assert len(reason) >= 30, f"{check['check_id']} on {check['resource']}: no justification"
