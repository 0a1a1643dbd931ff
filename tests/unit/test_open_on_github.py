"""What `taskly open` and the TUI's `o` open: the pull request rule, the browser (BROWSER) and the
GitHub repositories' view of `GET /user/repos`."""

from __future__ import annotations

import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path

from taskly.cards.actions import browse, main_pull
from taskly.core.context import Factory, Globals
from taskly_shared.models import PullRequestOut


def pull(number: int, state: str, day: int | None, url: bool = True) -> PullRequestOut:
    return PullRequestOut(id=uuid.uuid4(), repository="acme/web", number=number, title=f"#{number}", state=state,
                          url=f"https://github.test/acme/web/pull/{number}" if url else None,
                          updated_at=datetime(2030, 1, day, tzinfo=UTC) if day else None)


def test_the_open_pull_request_else_the_most_recent() -> None:
    assert main_pull([]) is None
    assert main_pull([pull(1, "open", 1, url=False)]) is None
    assert main_pull([pull(1, "closed", 9), pull(2, "open", 1), pull(3, "merged", 8)]).number == 2
    assert main_pull([pull(1, "draft", 9), pull(2, "open", 1)]).number == 2  # a draft after an open one
    assert main_pull([pull(1, "closed", 9), pull(2, "draft", 1)]).number == 2
    assert main_pull([pull(1, "closed", 3), pull(2, "merged", 5), pull(3, "closed", 4)]).number == 2
    assert main_pull([pull(1, "closed", None), pull(2, "closed", 1)]).number == 2
    assert main_pull([pull(4, "open", None), pull(3, "open", None)]).number == 4
    assert main_pull([pull(1, "open", 2), pull(2, "open", 1, url=False)]).number == 1


def test_browse_runs_the_factorys_browser_only_with_a_display(tmp_path: Path) -> None:
    seen = tmp_path / "opened"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" >> {seen}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    address = "https://github.test/acme/web/pull/7"

    def factory(**environ: str) -> Factory:
        return Factory(globals=Globals(), environ={"TASKLY_HOME": str(tmp_path), **environ})

    assert browse(factory(BROWSER=f"{script} %s"), address) is False  # no display: nothing run
    assert not seen.exists()
    assert browse(factory(DISPLAY=":0", BROWSER=f"/nonexistent/browser %s:{script} %s"), address) is True
    assert seen.read_text().split() == [address]  # the first that works
    assert browse(factory(WAYLAND_DISPLAY="wayland-0", BROWSER="/nonexistent/browser %s"), address) is False


def test_o_in_the_details_has_an_id_users_can_remap() -> None:
    from taskly.tui.bindings import DETAIL, GROUPS, keymap_from_config

    (binding,) = [b for b in DETAIL if b.id == "detail.open_github"]
    assert (binding.key, binding.action, binding.description) == ("o", "open_on_github", "Open on GitHub")
    assert any(bindings is DETAIL for _, bindings in GROUPS)  # listed by the help screen
    assert keymap_from_config({"keys": {"detail": {"open_github": "O"}}}) == ({"detail.open_github": "O"}, [])


def test_a_github_repository_object_as_the_wire_shows_it() -> None:
    from taskly_server.domain.github.available import repository_view

    view = repository_view({
        "id": 7, "name": "web", "full_name": "acme/web", "owner": {"login": "acme"}, "private": True,
        "description": "The site", "default_branch": "trunk", "html_url": "https://github.test/acme/web",
        "permissions": {"admin": True, "push": True, "pull": True}, "pushed_at": "2030-01-01T00:00:00Z"})
    assert (view.github_id, view.owner, view.name, view.full_name, view.default_branch) == (
        7, "acme", "web", "acme/web", "trunk")
    assert view.admin and view.push and view.private and view.pushed_at.year == 2030
    bare = repository_view({"id": 8, "full_name": "acme/api"})  # no permissions: not an admin's
    assert (bare.owner, bare.name, bare.admin, bare.push, bare.default_branch) == ("acme", "api", False, False, "main")
