"""What a run and its Dask workers no longer compute as they start, and when they still must.

Real Prefect settings, a real forkserver module in a fresh interpreter, and a real Dask
cluster on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import imncohort_flows  # noqa: F401  (Prefect's environment first)
import pytest
from imncohort_flows import execute
from imncohort_flows.execute import (
    CERT_ENV,
    _ClusterStarter,
    one_certificate_file,
    prime_run_settings,
    run_settings,
)
from prefect.context import get_settings_context

URL = "http://127.0.0.1:4999/api"


def test_a_run_takes_the_settings_primed_from_the_same_inputs_and_rebuilds_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv(CERT_ENV, raising=False)
    monkeypatch.delenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", raising=False)
    execute._RUN_SETTINGS.clear()
    prime_run_settings(URL)
    assert "PREFECT_API_URL" not in os.environ  # the environment is restored
    (primed,) = execute._RUN_SETTINGS.values()
    # what runtime() sets before it asks for the run's settings
    monkeypatch.setenv("PREFECT_API_URL", URL)
    monkeypatch.setenv(CERT_ENV, one_certificate_file())
    taken = run_settings(URL)
    assert taken.settings is primed[1]
    assert taken.settings.api.url == URL
    assert str(taken.settings.api.ssl_cert_file) == one_certificate_file()
    assert taken.settings.flows.heartbeat_frequency is None
    assert taken._serialized is primed[2] and True in primed[2]  # serialized once, ahead
    fresh = get_settings_context().settings.copy_with_update(
        updates={
            "api.url": URL,
            "api.ssl_cert_file": one_certificate_file(),
            "flows.heartbeat_frequency": None,
        }
    )
    assert taken.settings.model_dump() == fresh.model_dump()
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "7")  # another input: built again
    rebuilt = run_settings(URL)
    assert rebuilt.settings is not primed[1]
    assert rebuilt.settings.client.max_retries == 7
    assert rebuilt.settings.api.url == URL
    execute._RUN_SETTINGS.clear()


WORKER = """
import json, os, sys
os.environ["PREFECT_API_URL"] = sys.argv[1]
import imncohort_flows.forkserver as forkserver  # as the forkserver imports it, last
from imncohort_flows.environment import prefect_settings_inputs
from imncohort_flows.execute import _point_worker
from prefect.context import get_settings_context

recorded = forkserver.SETTINGS_INPUTS == prefect_settings_inputs()
before = get_settings_context().settings
_point_worker(sys.argv[1])
kept = get_settings_context().settings is before
_point_worker(sys.argv[2])
after = get_settings_context().settings
print(json.dumps([recorded, kept, after is not before, str(after.api.url),
                  "rich._emoji_replace" in sys.modules]))
"""


def test_a_forked_worker_reads_prefect_settings_again_only_for_other_inputs(
    tmp_path: Path,
) -> None:
    other = "http://127.0.0.1:4998/api"
    done = subprocess.run(
        [sys.executable, "-c", WORKER, URL, other],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=True,
    )
    recorded, kept, rebuilt, url, rendered = json.loads(done.stdout.strip().splitlines()[-1])
    assert recorded is True
    assert kept is True  # same API URL, same environment and files: not read again
    assert rebuilt is True  # another run's server: read again
    assert url == other
    assert rendered is True  # one log line rendered ahead (rich's emoji table imported)


def _profiling(dashboard: bool) -> list[bool]:
    import dask

    starter = _ClusterStarter(1, 1, dashboard, [])
    starter.start()
    starter.ready()
    try:
        from distributed import Client

        with Client(starter.cluster.scheduler_address) as client:
            found = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    finally:
        starter.cluster.close()
    return [bool(v) for v in found.values()]


@pytest.mark.slow
def test_workers_profile_their_tasks_only_for_a_watched_run() -> None:
    assert _profiling(dashboard=False) == [False]
    assert _profiling(dashboard=True) == [True]


def test_workers_on_this_machine_get_the_settings_model_itself() -> None:
    import pickle

    from prefect.context import SettingsContext, serialize_context

    with run_settings(URL, local_workers=True) as context:
        sent = serialize_context()["settings_context"]
    assert sent["settings"] is context.settings
    arrived = pickle.loads(pickle.dumps(sent))  # what a Dask worker unpickles
    hydrated = SettingsContext(**arrived)  # what Prefect's hydrated_context builds
    assert hydrated.settings.model_dump() == context.settings.model_dump()
    assert str(hydrated.settings.api.url) == URL
    assert isinstance(hydrated.settings.home, Path)  # a path stays a path
    with run_settings(URL) as remote:  # another machine's workers: plain data, as before
        data = serialize_context()["settings_context"]
    assert isinstance(data["settings"], dict)
    assert data["settings"]["api"]["url"] == URL
    assert remote.settings.api.url == URL
