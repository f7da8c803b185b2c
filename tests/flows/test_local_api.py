"""The run's local Prefect API answers at once: no Nagle wait, no CA bundle per client."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from pathlib import Path

import imncohort_flows  # noqa: F401  (Prefect's environment first)
import pytest
from imncohort_flows.execute import CERT_ENV, one_certificate_file, runtime
from imncohort_flows.server import listening_socket

from imncohort.config import load_config


def test_the_shared_servers_connections_send_small_writes_at_once() -> None:
    sock = listening_socket(0)
    port = sock.getsockname()[1]
    seen: list[int] = []

    async def main() -> None:
        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            raw = writer.get_extra_info("socket")
            seen.append(raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(main())
    assert sock.proto == socket.IPPROTO_TCP
    assert seen == [1]  # asyncio turned Nagle's algorithm off on the accepted connection


def test_the_one_certificate_file_holds_one_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    path = one_certificate_file()
    assert path == str(tmp_path / "home" / "imncohort-one-ca.pem")
    assert Path(path).read_text("ascii").count("-----BEGIN CERTIFICATE-----") == 1
    context = ssl.create_default_context(cafile=path)
    assert context.cert_store_stats()["x509_ca"] == 1
    written = Path(path).stat().st_mtime_ns
    assert one_certificate_file() == path
    assert Path(path).stat().st_mtime_ns == written  # written once, then reused


def test_a_run_on_a_local_http_api_uses_it_and_a_users_ca_file_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_URL

    export = tmp_path / "export"
    export.mkdir()
    monkeypatch.delenv(CERT_ENV, raising=False)
    with runtime(load_config(), export, ("tables",), 1, None) as rt:
        assert str(rt.api_url).startswith("http://127.0.0.1:")
        assert PREFECT_API_URL.value() == rt.api_url
        assert PREFECT_API_SSL_CERT_FILE.value() == one_certificate_file()
    assert CERT_ENV not in os.environ  # restored
    users = tmp_path / "hospital-ca.pem"
    users.write_text(Path(one_certificate_file()).read_text("ascii"), "ascii")
    monkeypatch.setenv(CERT_ENV, str(users))
    with runtime(load_config(), export, ("tables",), 1, None):
        assert os.environ[CERT_ENV] == str(users)
        assert PREFECT_API_SSL_CERT_FILE.value() == str(users)
    assert os.environ[CERT_ENV] == str(users)
