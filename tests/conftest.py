"""Session fixtures: a fresh migrated Postgres database and a real server process on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.processes import RATE_LIMITS_OFF, ServerProcess, start_server
from tests.support.services import create_database, drop_database

SECRET = "test-secret-key-0123456789abcdef"

pytest_plugins = ["tests.support.fake_github", "tests.support.github_stack"]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's machine out: no real config, keyring or cache directory."""
    monkeypatch.setenv("TASKLY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for name in ("TASKLY_TOKEN", "TASKLY_SERVER", "TASKLY_WORKSPACE", "TASKLY_BOARD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name, url = create_database()
    yield url
    drop_database(name)


@pytest.fixture(scope="session")
def server_env(database_url: str) -> dict[str, str]:
    return {"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET, "TASKLY_DEV_LOGIN": "1",
            **RATE_LIMITS_OFF}


@pytest.fixture(scope="session")
def server(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `taskly-server run` process for the session."""
    process = start_server(server_env, tmp_path_factory.mktemp("server"))
    yield process
    process.stop()


@pytest.fixture
def api(server: ServerProcess) -> Api:
    """A fresh user, signed in."""
    return Api.login(server.url)


@pytest.fixture
def make_api(server: ServerProcess):
    """Signs in more users: make_api() or make_api("alice")."""
    return lambda username=None: Api.login(server.url, username)


def pytest_report_header() -> str:
    return f"taskly: CI={os.environ.get('CI', '')}"
