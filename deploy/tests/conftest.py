"""Fixtures of the deployment checks (run them with scripts/deploy-checks)."""

from __future__ import annotations

import pytest

import support


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """Chart output per environment, rendered the way its Argo CD
    Application renders it (value files + pinned parameters)."""
    return {env: support.render_environment(env) for env in support.ENVIRONMENTS}


@pytest.fixture(scope="session")
def kube_version() -> str:
    return support.kube_version()


@pytest.fixture(scope="session")
def rendered_all() -> dict[str, list[dict]]:
    """Every object per environment, the platform's included."""
    return {env: support.render_environment_all(env) for env in support.ENVIRONMENTS}
