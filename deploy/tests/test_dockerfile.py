"""The service image recipe (no docker engine here: its structure is
checked, checkov scans it in test_checkov.py)."""

from __future__ import annotations

import re

from support import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def test_parameterised_by_service():
    assert ("ARG", "SERVICE") in _instructions()
    text = DOCKERFILE
    for service in ("bff", "users", "documents", "integration"):
        assert service in text
    assert '--package "folio-${SERVICE}"' in text
    assert '--bin "folio-${SERVICE}"' in text


def test_multi_stage_with_a_cached_dependency_layer():
    stages = _stages()
    assert len(stages) >= 3
    builder = next(s for s in stages if "AS builder" in s[0][1])
    keywords = [(k, r) for k, r in builder]
    cook = next(i for i, (k, r) in enumerate(keywords) if k == "RUN" and "cargo chef cook" in r)
    copy_all = next(i for i, (k, r) in enumerate(keywords) if k == "COPY" and r.startswith(". ."))
    build = next(i for i, (k, r) in enumerate(keywords) if k == "RUN" and "cargo build --release" in r)
    assert cook < copy_all < build, "dependencies must be cooked before the sources are copied"


def test_minimal_non_root_runtime():
    runtime = _stages()[-1]
    assert runtime[0][1].startswith("gcr.io/distroless/cc-debian12:nonroot")
    users = [r for k, r in runtime if k == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert not [r for k, r in runtime if k == "RUN"], "no shell in the runtime image"
    (entrypoint,) = [r for k, r in runtime if k == "ENTRYPOINT"]
    assert entrypoint.startswith("["), "exec form"
    assert not any(k == "HEALTHCHECK" for k, _ in _instructions())


def test_base_images_are_pinned_to_a_version():
    for stage in _stages():
        image = stage[0][1].split()[0]
        if image in {"chef", "planner", "builder"}:
            continue
        assert ":" in image and not image.endswith(":latest"), image


def test_dockerignore_keeps_the_context_small():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in ("target", ".git", "helm", "deploy"):
        assert entry in ignored


def test_hadolint_is_clean():
    import shutil
    import subprocess

    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is not on PATH (run through scripts/deploy-checks)"
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
