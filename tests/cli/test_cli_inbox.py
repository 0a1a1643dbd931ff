"""The inbox, settings and recurring cards through the real `taskly` command against a real server
and worker (ConsumerStack): notifications made by the worker's consumer appear in `taskly inbox`
(and `--json`), `inbox read` marks them, `status` counts them, `status --prompt` shows the branch's
card, the unread count and queued writes, `inbox --watch` and `taskly watch` stream new ones;
`config set timezone|notify.KIND`, `add/edit --repeat/--every/--remind` in the user's zone, `show`
with the rule and next due date, and a recurring card completed by `taskly mv` giving one next card."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.support import TASKLY, cli_login, ok, run_taskly, taskly_env, unique
from tests.cli.test_cli_startup import HEAVY, imports
from tests.support.api import Api
from tests.support.consumers import ConsumerStack, consumer_database

pytestmark = pytest.mark.timeout(240)
__all__ = ["consumer_database"]


@pytest.fixture(scope="module")
def stack(consumer_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsumerStack]:
    stack = ConsumerStack.start(tmp_path_factory.mktemp("inbox"), consumer_database)
    yield stack
    stack.stop()


class Team:
    """The CLI's user (signed in through `taskly login`) owns workspace and board WEB; `other` is a
    member who assigns them cards through the API."""

    def __init__(self, stack: ConsumerStack) -> None:
        self.stack = stack
        self.username = cli_login(stack.url)
        name = unique("ws")
        ok("workspace", "create", name)
        ok("board", "create", "Web", "--key", "WEB")
        self.me = Api.login(stack.url, self.username)
        [workspace] = [w for w in self.me.ok("GET", "/workspaces") if w["name"] == name]
        self.workspace = workspace
        [self.board] = self.me.ok("GET", f"/workspaces/{workspace['id']}/boards")
        self.other = stack.login()
        invitation = self.me.ok("POST", f"/workspaces/{workspace['id']}/invitations", json={})
        self.other.ok("POST", f"/invitations/{invitation['token']}/accept")

    def assign_me(self, title: str) -> dict:
        """A card made by `other` with the CLI's user assigned: an `assigned` notification."""
        return self.other.ok("POST", f"/boards/{self.board['id']}/cards",
                             json={"title": title, "assignees": [self.username]})


def git_repo(path: Path, branch: str) -> Path:
    path.mkdir()
    for args in (["init", "-q", "-b", "main"], ["checkout", "-q", "-b", branch]):
        subprocess.run(["git", *args], cwd=path, check=True)
    return path


def test_inbox_read_status_and_prompt(stack: ConsumerStack, tmp_path: Path) -> None:
    team = Team(stack)
    card = team.assign_me("Fix login")
    stack.wait_caught_up()

    listed = ok("inbox", "--json").json()
    assert [(n["kind"], n["card_key"], n["actor"], n["read_at"]) for n in listed] == [
        ("assigned", card["key"], team.other.username, None)]
    assert listed[0]["message"] == f"{team.other.username} assigned you to {card['key']}"
    assert set(listed[0]) == {"id", "seq", "kind", "workspace_id", "card_id", "card_key", "card_title", "actor",
                              "message", "created_at", "read_at"}
    plain = ok("inbox")
    assert listed[0]["id"][:8] in plain.stdout and "assigned you to WEB-1" in plain.stdout
    assert "1 unread" in plain.stderr

    status = ok("status", "--json").json()
    assert status["unread"] == 1
    assert "unread     1 notification (taskly inbox)" in ok("status").stdout

    # the prompt: the branch's card and column, unread, queued writes — from the cache only
    ok("sync")
    repo = git_repo(tmp_path / "repo", "web-1-fix-login")
    column = ok("show", card["key"], "--json").json()["column"]
    assert ok("status", "--prompt", cwd=repo).stdout == f"WEB-1 ▸ {column}  ✉ 1\n"
    ok("edit", card["key"], "--title", "Fix login now", "--offline")
    assert ok("status", "--prompt", cwd=repo).stdout == f"WEB-1 ▸ {column}  ✉ 1  ⇡ 1\n"
    assert ok("status", "--prompt", cwd=tmp_path).stdout == "✉ 1  ⇡ 1\n"  # not in a repository
    ok("sync")
    # offline, the server gone: still the cache's answer (the prompt never asks the server)
    assert ok("status", "--prompt", cwd=repo, env={"TASKLY_SERVER": stack.url}).stdout == f"WEB-1 ▸ {column}  ✉ 1\n"

    # the prompt's start-up: no typer, pydantic, httpx, rich, re or json (see bench_prompt.py)
    _, modules = imports("status", "--prompt")
    assert not modules & {"typer", "pydantic", "rich", "re", "json", "tomllib", "taskly_shared", *HEAVY}, modules

    # mark one read by its short id, then the rest with --all
    second = team.assign_me("Second")
    stack.wait_caught_up()
    newest = ok("inbox", "--json").json()
    assert [n["card_key"] for n in newest] == [second["key"], card["key"]]  # newest first
    marked = ok("inbox", "read", listed[0]["id"][:8], "--json").json()
    assert marked == {"marked": 1, "unread": 1}
    assert [n["card_key"] for n in ok("inbox", "--json").json()] == [second["key"]]
    every = ok("inbox", "--all", "--json").json()
    assert [(n["card_key"], n["read_at"] is None) for n in every] == [(second["key"], True), (card["key"], False)]
    assert ok("status", "--prompt", cwd=repo).stdout == f"WEB-1 ▸ {column}  ✉ 1\n"
    assert ok("inbox", "read", "--all").stdout == "marked 1 read; 0 unread\n"
    assert ok("inbox", "--json").json() == []
    assert ok("status", "--prompt", cwd=repo).stdout == f"WEB-1 ▸ {column}\n"
    assert ok("inbox", "--offline", "--all", "--json").json()[0]["read_at"] is not None

    # read elsewhere: the next refresh of the cache says so
    third = team.assign_me("Third")
    stack.wait_caught_up()
    assert ok("status", "--json").json()["unread"] == 1
    team.me.ok("POST", "/notifications/read", json={"all": True})
    assert ok("status", "--json").json()["unread"] == 0
    assert third["key"] in {n["card_key"] for n in ok("inbox", "--all", "--json").json()}

    # bad input: one line, documented exit codes
    for args, code, needle in ((["inbox", "read"], 2, "IDs or --all"),
                               (["inbox", "read", "zz-not-an-id"], 2, "not a notification id"),
                               (["inbox", "read", "00000000"], 3, "no notification"),
                               (["inbox", "read", "00000000-0000-0000-0000-000000000000"], 3, ""),
                               (["inbox", "--bell"], 2, "--watch"),
                               (["inbox", "read", "--all", "--offline"], 6, "needs the server")):
        result = run_taskly(*args)
        assert result.code == code, (args, result)
        assert result.stderr.startswith("taskly: ") and result.stderr.count("\n") == 1, result.stderr
        assert needle in result.stderr


class Streamer:
    """A streaming `taskly …` in the background: stdout lines on a queue, stderr kept."""

    def __init__(self, *args: str, ready: str) -> None:
        self.process = subprocess.Popen([str(TASKLY), *args], env=taskly_env(), text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str] = queue.Queue()
        self.messages: list[str] = []
        self.ready_text, self.ready = ready, threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_messages, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def _read_messages(self) -> None:
        for line in self.process.stderr:
            self.messages.append(line)
            if self.ready_text in line:
                self.ready.set()

    def wait_ready(self, timeout: float = 30) -> None:
        assert self.ready.wait(timeout), "".join(self.messages)

    def next(self, timeout: float = 20) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            code, stderr = self.stop()
            raise AssertionError(f"no line within {timeout} s (exit {code}); stderr:\n{stderr}") from None

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        code = self.process.wait(15)
        time.sleep(0.1)
        return code, "".join(self.messages)


def test_inbox_watch_and_watch_stream_new_notifications(stack: ConsumerStack) -> None:
    team = Team(stack)
    old = team.assign_me("Before watching")
    stack.wait_caught_up()
    inbox = Streamer("inbox", "--watch", "--bell", ready="watching")
    watch = Streamer("watch", ready="watching")
    try:
        inbox.wait_ready()
        watch.wait_ready()
        card = team.assign_me("Watched [bold]red[/]")  # made while they may still be connecting
        line = inbox.next()
        assert old["key"] not in line  # only new ones
        assert line.endswith("\a") or line.endswith("\n")
        assert f"assigned  {card['key']}  {team.other.username} assigned you to {card['key']}" in line
        while True:
            record = json.loads(watch.next())
            if record.get("type") == "notification":
                break
            assert record["entity_type"] in ("card", "board", "column", "member")  # changes as before
        notification = record["notification"]
        assert (notification["kind"], notification["card_key"], notification["card_title"]) == (
            "assigned", card["key"], "Watched [bold]red[/]")
        assert notification["read_at"] is None and notification["actor"] == team.other.username
    finally:
        inbox_code, inbox_err = inbox.stop()
        watch_code, watch_err = watch.stop()
    assert inbox_code == 0 and "Traceback" not in inbox_err, inbox_err
    assert watch_code == 0 and "Traceback" not in watch_err, watch_err
    # the notification --watch saw is in the cache: unread now 2
    assert ok("status", "--json").json()["unread"] == 2


def test_settings_repeat_and_remind_through_the_cli(stack: ConsumerStack) -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    Team(stack)
    assert ok("config", "set", "timezone", "Europe/Berlin", "--json").json()["timezone"] == "Europe/Berlin"
    assert ok("config", "set", "notify.reminder", "off", "--json").json()["notify"] == {"reminder": False}
    shown = ok("config", "show")
    assert "timezone  Europe/Berlin" in shown.stdout and "notify.reminder" in shown.stdout
    for args, needle in ((["timezone", "Mars/Base"], "unknown time zone"), (["notify.nope", "off"], "unknown notification kind"),
                         (["notify.assigned", "maybe"], "on or off"), (["colour", "red"], "unknown setting")):
        result = run_taskly("config", "set", *args)
        assert result.code == 2 and needle in result.stderr and result.stderr.count("\n") == 1, result

    # --remind in the user's zone (Berlin: UTC+1 in January), --repeat and --every
    card = ok("add", "Standup", "--repeat", "weekly", "--every", "2", "--due", "2030-01-04",
              "--remind", "2030-01-04 09:30", "--json").json()
    assert (card["recurrence"], card["recurrence_interval"], card["due"]) == ("weekly", 2, "2030-01-04")
    assert card["remind_at"] == "2030-01-04T08:30:00Z"
    shown = ok("show", card["key"]).stdout
    assert "repeats   every 2 weeks; next due 2030-01-18" in shown
    assert "remind    2030-01-04 09:30 CET" in shown
    berlin = ZoneInfo("Europe/Berlin")
    tomorrow = datetime.now(berlin).date() + timedelta(days=1)
    edited = ok("edit", card["key"], "--remind", "tomorrow 9:00", "--json").json()
    expected = datetime.combine(tomorrow, datetime.min.time().replace(hour=9), tzinfo=berlin).astimezone(UTC)
    assert datetime.fromisoformat(edited["remind_at"].replace("Z", "+00:00")) == expected
    ok("edit", card["key"], "--remind", "2030-01-04T09:30")

    # completed via `taskly mv`: exactly one next card, seen by `taskly ls`
    ok("mv", card["key"], "Done")
    stack.wait_caught_up()
    ok("mv", card["key"], "Todo")
    ok("mv", card["key"], "Done")  # out of done and back: still one next card
    stack.wait_caught_up()
    standups = [c for c in ok("ls", "--json").json() if c["title"] == "Standup"]
    assert len(standups) == 2, standups
    [following] = [c for c in standups if c["key"] != card["key"]]
    assert (following["due"], following["remind_at"], following["recurrence"], following["recurrence_interval"]) == (
        "2030-01-18", "2030-01-18T08:30:00Z", "weekly", 2)
    assert following["column"] != "Done"
    assert f"next_occurrence: {following['key']}" in ok("log", card["key"]).stdout

    stopped = ok("edit", following["key"], "--repeat", "none", "--remind", "none", "--json").json()
    assert (stopped["recurrence"], stopped["remind_at"]) == ("none", None)
    assert "repeats" not in ok("show", following["key"]).stdout
    for args, needle in ((["add", "X", "--every", "2"], "--every goes with --repeat"),
                         (["add", "X", "--repeat", "yearly"], "--repeat"),
                         (["edit", card["key"], "--remind", "soon"], "--remind 'soon'")):
        result = run_taskly(*args)
        assert result.code == 2 and needle in result.stderr and result.stderr.count("\n") == 1, result
