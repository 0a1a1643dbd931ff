"""Start-up cost: what each command imports (`python -X importtime` of the real executable).

Heavy libraries (textual, sqlalchemy, httpx, websockets, keyring, litestar, PyGithub) are imported
only by commands that use them; `taskly ls --offline --json` does without pydantic too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.support import TASKLY, CliResult, cli_board, ok, taskly_env

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"textual", "sqlalchemy", "httpx", "websockets", "keyring", "litestar", "github"}


def imports(*args: str, env: dict[str, str | None] | None = None) -> tuple[CliResult, set[str]]:
    """Run `taskly ARGS` under -X importtime; its result and the top-level packages it imported."""
    completed = subprocess.run([sys.executable, "-X", "importtime", str(TASKLY), *args],
                               env=taskly_env(env), capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
    modules, stderr = set(), []
    for line in completed.stderr.splitlines():
        if line.startswith("import time:"):
            modules.add(line.rsplit("|", 1)[-1].strip().split(".")[0])
        else:
            stderr.append(line)
    assert "taskly" in modules, completed.stderr[-2000:]
    return CliResult(completed.returncode, completed.stdout, "\n".join(stderr)), modules


@pytest.mark.parametrize("args", [("--help",), ("ls", "--help"), ("demo", "--help"),
                                  ("watch", "--help"), ("workspace", "--help")])
def test_help_imports_no_heavy_library(args: tuple[str, ...]) -> None:
    result, modules = imports(*args)
    assert result.code == 0 and "Usage: taskly" in result.stdout
    assert "typer" in modules
    assert not modules & HEAVY, modules & HEAVY


def test_version_answers_before_typer() -> None:
    result, modules = imports("--version")
    assert result.code == 0 and result.stdout.startswith("taskly ")
    assert not modules & {"typer", "pydantic", *HEAVY}


def test_offline_reads_import_neither_network_nor_keyring_nor_pydantic(server) -> None:
    cli_board(server.url)
    ok("add", "Cached card", "--label", "bug", "-p", "high", "--due", "2030-01-02",
       "-d", "Some *text*")
    ok("add", "Another", "--column", "todo")
    ok("add", "Queued offline", "--offline")

    result, modules = imports("ls", "--offline", "--json")
    assert result.code == 0
    assert [c["title"] for c in result.json()] == ["Cached card", "Queued offline", "Another"]
    assert not modules & {"pydantic", *HEAVY}, modules & {"pydantic", *HEAVY}
    filtered, modules = imports("ls", "--offline", "--json", "--column", "backlog", "-l", "BUG")
    assert [c["title"] for c in filtered.json()] == ["Cached card"]
    assert not modules & {"pydantic", *HEAVY}

    # The cached JSON printed as is equals the wire model the other commands print.
    for card in result.json():
        if card["key"]:
            shown = ok("show", card["key"], "--offline", "--json").json()
            shown.pop("comments")
            assert card == shown

    for args in (("show", "WEB-1", "--offline"), ("ls", "--offline"), ("status", "--offline"),
                 ("add", "Another queued", "--offline")):
        result, modules = imports(*args)
        assert result.code == 0, result.stderr
        assert not modules & HEAVY, (args, modules & HEAVY)


def test_a_keyring_login_is_read_only_when_the_server_is_used(server, tmp_path: Path) -> None:
    keyring = {"PYTHON_KEYRING_BACKEND": "tests.cli.keyring_backend.FileKeyring",
               "PYTHONPATH": str(ROOT), "TASKLY_TEST_KEYRING_FILE": str(tmp_path / "keyring.json")}
    me = cli_board(server.url, env=keyring)
    ok("add", "In the cache", env=keyring)
    secrets = json.loads((tmp_path / "keyring.json").read_text())
    assert json.loads(secrets[f"taskly\n{server.url}"])["access_token"]
    credentials = Path(os.environ["TASKLY_HOME"]) / "config" / "credentials.json"
    stored = json.loads(credentials.read_text())
    assert stored == {server.url: {"username": me, "keyring": True}}  # who, never the tokens

    result, modules = imports("ls", "--offline", "--json", env=keyring)
    assert [c["title"] for c in result.json()] == ["In the cache"]
    assert not modules & {"keyring", "pydantic"}
    result, modules = imports("whoami", "--json", env=keyring)
    assert result.code == 0 and result.json()["user"]["username"] == me and "keyring" in modules
    ok("logout", env=keyring)
    assert json.loads((tmp_path / "keyring.json").read_text()) == {}
    assert imports("ls", "--offline", env=keyring)[0].code == 4
