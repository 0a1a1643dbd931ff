"""The prompt segment's pure parts: its formatting, and the light copies of the card-key, config,
credentials and cache-path rules it uses to stay fast, checked against the real ones."""

from __future__ import annotations

import itertools
import json
import tomllib
from pathlib import Path

import pytest
from taskly.core.config import resolve
from taskly.core.paths import cache_db_path
from taskly.sync import prompt
from taskly.sync.prompt import Segment, format_segment
from taskly_shared.keys import key_from_branch


def test_format_segment_leaves_out_what_says_nothing() -> None:
    assert format_segment(Segment("WEB-12", "In Progress", unread=3, queued=1)) == "WEB-12 ▸ In Progress  ✉ 3  ⇡ 1"
    assert format_segment(Segment("WEB-12", None)) == "WEB-12"  # a card not in the cache
    assert format_segment(Segment(None, None, unread=2)) == "✉ 2"
    assert format_segment(Segment(None, None, queued=4)) == "⇡ 4"
    assert format_segment(Segment()) == ""
    assert format_segment(Segment("WEB-1", "Doing\x1b]0;pwned\x07")) == "WEB-1 ▸ Doing\\e]0;pwned\\x07"


BRANCHES = [
    "web-12-fix-login", "WEB-12", "feature/web-12", "a/b/web-3_x", "web-1/web-2-x", "web-0-x", "w-1", "abcdefghijk-1",
    "abcdefghij-1", "web-1234567890", "web-123456789", "web-12x", "web-12.x", "web-12é", "main", "feature/", "/web-1",
    "feat/../web-4", "web-4/", "fix//web-5", "wéb-1", "web--1", "web-1-", "a b/web-6", "release/2.0/api-7-x", "",
    "web-٣", "web-1٣", "ab-9_", "x/y-1/z", "héllo/web-8",
]


@pytest.mark.parametrize("branch", BRANCHES)
def test_branch_key_reads_branches_as_key_from_branch(branch: str) -> None:
    parsed = key_from_branch(branch)
    assert prompt.branch_key(branch) == (f"{parsed[0]}-{parsed[1]}" if parsed else None)


def test_branch_key_on_generated_branches() -> None:
    parts = ["web", "WEB", "w", "1", "12", "0", "-", "/", "_", ".", "x", "é"]
    for length in range(1, 5):
        for combo in itertools.product(parts, repeat=length):
            branch = "".join(combo)
            parsed = key_from_branch(branch)
            assert prompt.branch_key(branch) == (f"{parsed[0]}-{parsed[1]}" if parsed else None), branch


@pytest.mark.parametrize("text", [
    'server = "http://localhost:8000"\nworkspace = "Acme"\n', '# c\n\nboard = "WEB"\n', 'a = ""\n',
    'server = "x" # comment\n', "[section]\nserver = \"x\"\n", 'a.b = "x"\n', 'a = "x\\ty"\n', "a = 'x'\n",
    'a = """x"""\n', 'a = 1\n', '"q" = "x"\n', 'a = "x"\na = "y"\n', 'ключ = "x"\n',
])
def test_simple_toml_is_tomllib_or_declines(text: str) -> None:
    simple = prompt._simple_toml(text)
    if simple is not None:
        assert simple == tomllib.loads(text)


def test_read_json_is_json(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    for value in ({"http://a": {"username": "bob", "access_token": "x\u00e9\\n"}}, {}, [1, 2.5, None, True]):
        path.write_text(json.dumps(value, indent=2))
        assert prompt._read_json(str(path)) == value
    path.write_text('{"a": 1} x')
    with pytest.raises(ValueError):
        prompt._read_json(str(path))


@pytest.mark.parametrize("server", ["http://127.0.0.1:8000", "https://Taskly.Example.com", "http://host/",
                                    "https://user@host:9443", "http://[::1]:8000"])
@pytest.mark.parametrize("account", ["alice", "o'brien/ü x", None])
def test_cache_path_is_core_paths(server: str, account: str | None, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text(f'server = "{server}"\n')
    environ = {"TASKLY_HOME": str(home)}
    if account is None:
        environ["TASKLY_TOKEN"] = "tok-123"
        account = "token-" + __import__("hashlib").sha256(b"tok-123").hexdigest()[:12]
    else:
        (home / "config" / "credentials.json").write_text(
            json.dumps({server.rstrip("/"): {"username": account, "access_token": "a", "refresh_token": "r"}}))
    config = resolve(None, environ, cwd=tmp_path)
    assert prompt.configured_server(environ, str(tmp_path)) == config.server
    assert prompt.cache_path(environ, str(tmp_path)) == str(cache_db_path(config.server, account, environ))


def test_server_from_the_project_file_and_env(tmp_path: Path) -> None:
    home, repo = tmp_path / "home", tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / ".taskly.toml").write_text('server = "http://project:1"\n')
    environ = {"TASKLY_HOME": str(home)}
    assert prompt.configured_server(environ, str(repo / "sub")) == "http://project:1"
    assert prompt.configured_server({**environ, "TASKLY_SERVER": "http://env:2/"}, str(repo)) == "http://env:2"
    assert prompt.configured_server(environ, str(tmp_path)) is None
    (repo / ".taskly.toml").write_text('server = "ftp://x"\n')
    with pytest.raises(Exception, match="not a URL"):
        prompt.configured_server(environ, str(repo))


def test_head_branch_reads_git_head(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/web-7-x\n")
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert prompt.head_branch(str(tmp_path / "a" / "b")) == "web-7-x"
    (tmp_path / ".git" / "HEAD").write_text("0123456789abcdef0123456789abcdef01234567\n")
    assert prompt.head_branch(str(tmp_path)) is None  # detached
    worktree = tmp_path / "wt"
    worktree.mkdir()
    (tmp_path / ".git" / "worktrees" / "wt").mkdir(parents=True)
    (tmp_path / ".git" / "worktrees" / "wt" / "HEAD").write_text("ref: refs/heads/web-8\n")
    (worktree / ".git").write_text(f"gitdir: {tmp_path / '.git' / 'worktrees' / 'wt'}\n")
    assert prompt.head_branch(str(worktree)) == "web-8"
