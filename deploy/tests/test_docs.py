"""The operations guide and the decision records stay true to the files."""

from __future__ import annotations

import re

import support
from support import ENVIRONMENTS, ROOT

OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def _stack_order() -> list[str]:
    """Templates in the order of the bootstrap table of operations.md."""
    rows = re.findall(r"^\| \d+ \| `[^`]+` \| `([\w-]+\.yaml)` \|", OPERATIONS, re.M)
    assert rows, "no stack table in docs/operations.md"
    return rows


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _names(value) -> set[str]:
    """Export/import names, with ${Environment} expanded for every env."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        value = value["Fn::Sub"]
    assert isinstance(value, str), value
    if "${Environment}" in value:
        return {value.replace("${Environment}", env) for env in ENVIRONMENTS}
    return {value}


def test_bootstrap_order_satisfies_every_stack_import():
    from cfnlint.decode import cfn_yaml

    order = _stack_order()
    templates = sorted(p.name for p in support.CLOUDFORMATION.glob("*.yaml"))
    assert sorted(order) == templates, "every template appears once in the table"
    exported: set[str] = set()
    for name in order:
        template = cfn_yaml.load(str(support.CLOUDFORMATION / name))
        for node in _walk(template.get("Resources", {})):
            if "Fn::ImportValue" in node:
                missing = _names(node["Fn::ImportValue"]) - exported
                assert not missing, f"{name} imports {missing} before any stack exports it"
        for output in template.get("Outputs", {}).values():
            if "Export" in output:
                exported |= _names(output["Export"]["Name"])


def test_operations_guide_covers_the_lifecycle():
    for heading in ("Bootstrap a new account", "Deploy", "Promote", "Roll back", "Rotate secrets and certificates"):
        assert re.search(rf"^## \d+\. {heading}", OPERATIONS, re.M), heading
    for command in ("folio release promote", "scripts/argocd-rollout", "scripts/smoke-test", "git revert"):
        assert command in OPERATIONS, command


def test_decision_records_exist():
    adrs = {p.name for p in (ROOT / "docs" / "adr").glob("*.md")}
    assert "0010-migrations-at-start.md" in adrs
    assert "0012-stage-syncs-automatically.md" in adrs


def test_the_release_walk_through_uses_real_commands():
    """Every script the guide runs exists, every `folio release` subcommand
    is one the tool has, and the walk covers merge to PROD and rollback."""
    for script in set(re.findall(r"\bscripts/([\w-]+)", OPERATIONS)):
        assert (ROOT / "scripts" / script).is_file(), f"scripts/{script}"
    main = (ROOT / "crates" / "folio" / "src" / "main.rs").read_text()
    subcommands = {re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower() for name in re.findall(r"^    (\w+)\s*[{,(]", main, re.M)}
    for sub in set(re.findall(r"folio(?: --)? release (?:--root \S+ )?([a-z-]+)", OPERATIONS)):
        assert sub in subcommands, sub
    for step in (
        "gh pr merge",
        "gh workflow run promote.yml -f target=stage",
        "gh workflow run promote.yml -f target=prod",
        "pending_deployments",
        "scripts/e2e",
        "git checkout refs/tags/env-PROD -- argocd/apps/folio-prod.yaml",
        "scripts/argocd-rollout --sync folio-prod",
        "scripts/apply-github-settings",
        "argocd proj role create-token",
    ):
        assert step in OPERATIONS, step
    for workflow in re.findall(r"gh (?:workflow run|run list --workflow) ([\w.-]+\.yml)", OPERATIONS):
        assert (support.WORKFLOWS / workflow).is_file(), workflow
