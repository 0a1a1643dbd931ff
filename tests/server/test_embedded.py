"""`taskly-server run` with no TASKLY_DATABASE_URL: embedded Postgres, migrations, secret, serving."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from taskly_server.embedded import postgres_dir, stop_embedded

from tests.support.processes import BIN, start_server

pytestmark = pytest.mark.timeout(180)


def postgres_running(data_dir: Path) -> bool:
    pid_file = postgres_dir(data_dir) / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_line(path: Path, text: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        assert process.poll() is None, path.read_text(errors="replace")
        time.sleep(0.1)
    raise AssertionError(f"{text} not in {path} after {timeout} s")


@pytest.fixture
def embedded_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A TASKLY_HOME under /tmp (never under /root), with no database URL or secret configured."""
    for name in ("TASKLY_DATABASE_URL", "TASKLY_SECRET_KEY", "TASKLY_REDIS_URL", "TASKLY_WORKER_IN_PROCESS"):
        monkeypatch.delenv(name, raising=False)
    home = Path(tempfile.mkdtemp(prefix="taskly-embedded-", dir="/tmp"))
    monkeypatch.setenv("TASKLY_HOME", str(home))
    try:
        yield home
    finally:
        stop_embedded(home / "server")
        shutil.rmtree(home, ignore_errors=True)


def test_run_serves_on_embedded_postgres_and_restarts(embedded_home: Path, tmp_path: Path) -> None:
    data_dir = embedded_home / "server"
    env = {"TASKLY_HOME": str(embedded_home), "TASKLY_DEV_LOGIN": "1"}

    first = start_server(env, tmp_path / "first", ready_timeout=90)
    try:
        assert postgres_running(data_dir)
        assert httpx.get(f"{first.url}/health/ready").json()["status"] == "ok"
        login = httpx.post(f"{first.url}/api/v1/auth/dev-login", json={"username": "embedded-alice"}).json()
        token = login["access_token"]
        created = httpx.post(f"{first.url}/api/v1/workspaces", json={"name": "Kept"},
                             headers={"Authorization": f"Bearer {token}"})
        assert created.status_code == 201, created.text
    finally:
        first.stop()
    assert first.process.returncode == 0, first.log()
    assert not postgres_running(data_dir), "the last process on the data dir stops its Postgres"

    secret = data_dir / "secret_key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    secret_value = secret.read_text()

    second = start_server(env, tmp_path / "second", ready_timeout=90)
    try:
        assert httpx.get(f"{second.url}/health/ready").status_code == 200
        # Same data and same secret: the token of the first run still works and sees its workspace.
        listed = httpx.get(f"{second.url}/api/v1/workspaces", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200, listed.text
        assert [w["name"] for w in listed.json()] == ["Kept"]
    finally:
        second.stop()
    assert secret.read_text() == secret_value
    assert not postgres_running(data_dir)


def test_separate_worker_joins_embedded_postgres(embedded_home: Path, tmp_path: Path) -> None:
    """The server's in-process worker answers `worker --check`; a separate worker shares the cluster."""
    data_dir = embedded_home / "server"
    env = {**os.environ, "TASKLY_HOME": str(embedded_home)}
    server = start_server({"TASKLY_HOME": str(embedded_home)}, tmp_path, ready_timeout=90)
    worker = None
    try:
        check = subprocess.run([str(BIN / "taskly-server"), "worker", "--check", "--timeout", "20"],
                               env=env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr
        assert "'migration': " in check.stdout and "'queue': 'postgres'" in check.stdout

        worker_log = tmp_path / "worker.log"
        with worker_log.open("wb") as log:
            worker = subprocess.Popen([str(BIN / "taskly-server"), "worker"], env=env, stdout=log,
                                      stderr=subprocess.STDOUT)
        wait_for_line(worker_log, '"worker_started"', worker)
        server.stop()
        assert server.process.returncode == 0, server.log()
        # The separate worker still holds the cluster, so it keeps running for it.
        assert postgres_running(data_dir)
        check = subprocess.run([str(BIN / "taskly-server"), "worker", "--check", "--timeout", "20"],
                               env=env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr
        worker.terminate()
        assert worker.wait(30) == 0
        assert not postgres_running(data_dir), "the last process on the data dir stops its Postgres"
    finally:
        server.stop()
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()


FALLBACK_SCRIPT = """
from tests.support.services import create_database, drop_database
name, url = create_database("taskly_fallback")
print(url)
drop_database(name)
"""


@pytest.mark.parametrize("ci", ["", "true"])
def test_tests_fall_back_to_embedded_postgres_outside_ci(ci: str, tmp_path: Path) -> None:
    """With nothing at the test URL: an embedded Postgres outside CI, a clear failure under CI=true."""
    from tests.support.processes import ROOT, free_port

    embedded_dir = Path(tempfile.mkdtemp(prefix="taskly-test-fallback-", dir="/tmp"))
    env = {**os.environ, "CI": ci, "TASKLY_TEST_EMBEDDED_DIR": str(embedded_dir),
           "TASKLY_TEST_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"}
    try:
        result = subprocess.run([str(BIN / "python"), "-c", FALLBACK_SCRIPT], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        if ci:
            assert result.returncode != 0
            assert "PostgreSQL does not answer" in result.stderr
            assert not (embedded_dir / "postgres").exists()
        else:
            assert result.returncode == 0, result.stderr
            assert result.stdout.startswith("postgresql+asyncpg://postgres@/taskly_fallback_")
            assert f"host={embedded_dir}/postgres" in result.stdout
            assert not postgres_running(embedded_dir), "stopped when the last test process exits"
    finally:
        stop_embedded(embedded_dir)
        shutil.rmtree(embedded_dir, ignore_errors=True)
