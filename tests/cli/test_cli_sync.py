"""`taskly status`, `taskly sync` and `taskly watch`: the real executable against real servers."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.cli.support import TASKLY, cli_board, ok, run_taskly, taskly_env
from tests.support.processes import free_port, start_server


def join_workspace(make_api):
    """A second user, member of the CLI user's current workspace (invited through the CLI)."""
    token = ok("workspace", "invite", "--role", "member").stdout.strip()
    other = make_api()
    other.ok("POST", f"/invitations/{token}/accept")
    return other


def test_status_and_sync_show_queued_writes_conflicts_and_refusals(server, make_api) -> None:
    me = cli_board(server.url)
    card = ok("add", "Fix login", "--json").json()
    ok("add", "Write docs", "--column", "todo")
    other = join_workspace(make_api)

    # Someone renames the card; we rename it too, offline, from the version we had seen.
    other.ok("PATCH", f"/cards/{card['id']}", json={"title": "Fix login redirect"})
    assert "queued" in ok("edit", "WEB-1", "--title", "Fix the login loop", "--offline").stderr
    ok("mv", "WEB-2", "In Review", "--offline")
    ok("add", "Offline idea", "--offline")

    status = ok("status", "--json", "--offline").json()
    assert status["user"] == {"username": me, "source": "login"}
    assert status["server"] == {"url": server.url, "source": "user config"}
    assert status["board"] == {"name": "WEB", "source": "user config"}
    assert status["online"] is None and status["queued"] == 3
    assert [(w["operation"], w["key"], w["fields"]) for w in status["pending"]] == [
        ("card.update", "WEB-1", ["title"]), ("card.move", "WEB-2", ["column"]),
        ("card.create", None, ["column", "title"])]
    text = ok("status", "--offline").stdout
    assert "queued     3 writes (--verbose lists them)" in text
    assert "not checked (--offline)" in text
    verbose = ok("status", "-v", "--offline").stdout
    assert "card.update WEB-1 (title)" in verbose and "card.move WEB-2 (column)" in verbose

    # Meanwhile the target column of the queued move disappears: the server will refuse that write.
    board = next(b for b in ok("board", "ls", "--json", "--offline").json() if b["key"] == "WEB")
    review = next(c for c in board["columns"] if c["name"] == "In Review")
    make_api(me).ok("DELETE", f"/columns/{review['id']}", params={"move_to": "Done"})

    result = run_taskly("sync", "--json")  # refused writes and conflicts: exit 5, one line naming them
    error = result.stderr.splitlines()[-1]  # after the notes (an offline card's new key)
    assert result.code == 5 and error.startswith("taskly: "), result
    assert "refused card.move WEB-2" in error and "WEB-1 title overwritten" in error
    synced = result.json()
    assert [w["operation"] for w in synced["pushed"]] == ["card.update", "card.create"]
    assert synced["pushed"][1]["key"] == "WEB-3" and synced["queued"] == 0
    assert [(w["operation"], w["key"]) for w in synced["failed"]] == [("card.move", "WEB-2")]
    assert synced["failed"][0]["error"] and synced["failed"][0]["code"]
    (conflict,) = synced["conflicts"]
    assert (conflict["key"], conflict["field"], conflict["old"], conflict["new"]) == (
        "WEB-1", "title", "Fix login redirect", "Fix the login loop")
    assert conflict["by"] == me and conflict["mine"] is True

    status = ok("status", "--json").json()
    assert status["online"] is True and status["online_error"] is None and status["last_sync"]
    assert status["queued"] == 0 and status["conflicts"] == []  # shown by sync, so seen
    assert [w["key"] for w in status["failed"]] == ["WEB-2"]
    assert "writes the server refused" in ok("status").stdout

    # Our pushed title is overwritten by someone who had not seen it: a conflict from the feed.
    seen = other.ok("GET", f"/cards/{card['id']}")["version"]
    ok("edit", "WEB-1", "--title", "Ours")
    other.ok("PATCH", f"/cards/{card['id']}", json={"title": "Theirs", "base_version": seen})
    plain = run_taskly("sync", "--discard-failed")
    assert plain.code == 5 and "WEB-1 title overwritten" in plain.stderr
    assert 'WEB-1 title: "Ours" → "Theirs" by ' + other.username in plain.stdout
    assert "discarded 1" in plain.stderr
    status = ok("status", "--json").json()
    assert status["failed"] == [] and status["conflicts"] == []


def test_sync_offline_exits_6_and_pushes_once_when_the_server_returns(server_env,
                                                                     tmp_path: Path) -> None:
    port = free_port()
    own = start_server(server_env, tmp_path / "server", port=port)
    try:
        cli_board(own.url)
        ok("add", "Before the outage")
    finally:
        own.stop()
    result = run_taskly("add", "During the outage", "--json")
    assert result.code == 0 and "queued" in result.stderr
    offline = run_taskly("sync")
    assert offline.code == 6 and "1 write still queued" in offline.stderr
    assert run_taskly("sync", "--offline").code == 6
    status = run_taskly("status", "--json")
    assert status.code == 0 and status.json()["online"] is False and status.json()["queued"] == 1
    assert status.json()["online_error"] == "server not reachable (connection refused)"

    own = start_server(server_env, tmp_path / "server", port=port)
    try:
        synced = ok("sync", "--json").json()
        assert [w["key"] for w in synced["pushed"]] == ["WEB-2"] and synced["queued"] == 0
        assert ok("sync", "--json").json()["pushed"] == []
        titles = [c["title"] for c in ok("ls", "--json").json()]
        assert titles == ["Before the outage", "During the outage"]  # pushed exactly once
    finally:
        own.stop()


def test_status_and_sync_when_not_logged_in(server) -> None:
    result = run_taskly("status", "--json", env={"TASKLY_SERVER": server.url})
    assert result.code == 4 and result.json()["user"] is None and result.json()["online"] is True
    assert result.json()["server"] == {"url": server.url, "source": "env"}
    assert run_taskly("sync", env={"TASKLY_SERVER": server.url}).code == 4
    assert run_taskly("watch", env={"TASKLY_SERVER": server.url}).code == 4


class Watcher:
    """`taskly watch` in the background; its stdout lines on a queue."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([str(TASKLY), "watch", *args], env=taskly_env(), text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str] = queue.Queue()
        self.messages: list[str] = []
        self.started = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_messages, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def _read_messages(self) -> None:
        for line in self.process.stderr:
            self.messages.append(line)
            if line.startswith("watching"):
                self.started.set()

    def wait_started(self, timeout: float = 20) -> None:
        """Until the stream's starting seq is read: later changes are all reported."""
        assert self.started.wait(timeout), "".join(self.messages)

    def next(self, timeout: float = 10) -> dict:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            code, stderr = self.stop()
            message = f"no change within {timeout} s (exit {code}); stderr:\n{stderr}"
            raise AssertionError(message) from None
        assert line.endswith("\n")
        return json.loads(line)

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        code = self.process.wait(15)
        time.sleep(0.1)  # the reader thread takes the last lines
        return code, "".join(self.messages)


def test_watch_streams_changes_of_other_clients_as_json_lines(server, make_api) -> None:
    cli_board(server.url)
    card = ok("add", "Watch me", "--json").json()
    other = join_workspace(make_api)
    watcher = Watcher()
    try:
        watcher.wait_started()  # the socket may not be up yet: the stream starts at the seq it read
        started = time.monotonic()
        other.ok("PATCH", f"/cards/{card['id']}", json={"title": "Watched", "priority": "high"})
        record = watcher.next()
        assert time.monotonic() - started < 5
        assert set(record) == {"seq", "workspace_id", "workspace", "entity_type", "entity_id", "key", "op",
                               "changes", "actor", "created_at"}
        [workspace] = ok("workspace", "ls", "--json").json()
        assert (record["workspace_id"], record["workspace"]) == (workspace["id"], workspace["name"])
        assert (record["entity_type"], record["entity_id"], record["key"], record["op"]) == (
            "card", card["id"], "WEB-1", "update")
        assert record["changes"] == {"title": {"old": "Watch me", "new": "Watched"},
                                     "priority": {"old": "none", "new": "high"}}
        assert record["actor"]["name"] == other.username and record["actor"]["type"] == "user"
        other.ok("POST", f"/cards/{card['id']}/move", json={"column": "Done"})
        moved = watcher.next()
        assert moved["op"] == "move" and moved["seq"] == record["seq"] + 1
        assert moved["changes"]["column"] == {"old": "Backlog", "new": "Done"}
    finally:
        code, stderr = watcher.stop(signal.SIGINT)
    assert code == 0 and "Traceback" not in stderr and f"watching {workspace['name']} (after seq" in stderr
    assert workspace["id"] not in stderr  # people read names, not ids


def test_watch_since_replays_and_sigterm_ends_cleanly(server) -> None:
    cli_board(server.url)
    ok("add", "First")
    watcher = Watcher("--since", "0")
    try:
        watcher.wait_started()
        replayed = [watcher.next() for _ in range(3)]
        assert [r["seq"] for r in replayed] == [1, 2, 3]
        assert replayed[0]["entity_type"] == "workspace" and replayed[0]["op"] == "create"
        ok("add", "Second")
        while (record := watcher.next())["entity_type"] != "card" or record["key"] != "WEB-2":
            pass
        assert record["op"] == "create"
        assert record["changes"]["title"] == {"old": None, "new": "Second"}
    finally:
        code, stderr = watcher.stop(signal.SIGTERM)
    assert code == 0 and "Traceback" not in stderr
    assert run_taskly("watch", "--offline").code == 6
    assert run_taskly("watch", "--workspace", "no-such-workspace").code == 3
