"""Shared pytest fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo export (6 patients, seed 1), written once per test session."""
    from imncohort.demo.export import write_demo_export

    root = tmp_path_factory.mktemp("demo") / "export"
    write_demo_export(root, n_patients=6, seed=1)
    return root


@pytest.fixture(scope="session", autouse=True)
def _stop_embedded_prefect_api() -> Iterator[None]:
    """Stop the embedded Prefect API a test started while pytest still owns the streams."""
    yield
    if "prefect.server.api.server" in sys.modules:
        from prefect.server.api.server import SubprocessASGIServer

        SubprocessASGIServer().stop()


@pytest.fixture(scope="session", autouse=True)
def _stop_shared_prefect_server() -> Iterator[None]:
    """Stop the shared Prefect server the tests started (a run starts it on first use).

    The session fails loudly if its process is still there afterwards.
    """
    yield
    from imncohort_flows.execute import drain_api_logs
    from imncohort_flows.server import _alive, stop_server

    drain_api_logs()

    stopped = stop_server(force=True)
    if stopped is not None:
        assert not _alive(stopped.pid), f"Prefect server pid {stopped.pid} survived the session"
