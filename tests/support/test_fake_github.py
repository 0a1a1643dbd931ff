"""The fake GitHub, exercised the way Taskly will use it: through PyGithub, plain HTTP and git."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from github import Auth, Github
from github.GithubException import (
    BadCredentialsException,
    GithubException,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.GithubRetry import GithubRetry
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.support.fake_github_process import FakeGitHubProcess
from tests.support.fixtures import webhook_fixture

if TYPE_CHECKING:
    from tests.support.fake_github import FakeGitHub


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def client(fake: Any, token: str | None, retry: Any = None) -> Github:
    """PyGithub as Taskly's jobs will build it, minus the throttling that would slow tests down."""
    return Github(base_url=fake.api_url, auth=Auth.Token(token) if token else None, retry=retry,
                  seconds_between_requests=None, seconds_between_writes=None, timeout=10)


def git(*args: str, cwd: Path | None = None) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.invalid"})
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                            timeout=30, env=env)
    return result.stdout.strip()


@pytest.fixture
def alice(fake_github: FakeGitHub) -> str:
    """alice administers the private repository acme/web; returns her token."""
    user = fake_github.add_user("alice", token="gho_alice")
    fake_github.add_repo("acme/web", collaborators={"alice": "admin"})
    return user.token


# -- REST through PyGithub -------------------------------------------------------------------------

def test_pygithub_reads_the_user_the_repository_its_branch_and_ref(fake_github: FakeGitHub, alice: str):
    gh = client(fake_github, alice)
    assert gh.get_user().login == "alice"
    repo = gh.get_repo("acme/web")
    info = fake_github.repo_info("acme/web")
    assert (repo.id, repo.full_name, repo.default_branch, repo.private) == (info.id, "acme/web", "main", True)
    assert repo.owner.login == "acme" and repo.owner.type == "Organization"
    assert (repo.permissions.admin, repo.permissions.push, repo.permissions.pull) == (True, True, True)
    assert repo.get_branch("main").commit.sha == info.head_sha
    ref = repo.get_git_ref("heads/main")
    assert (ref.ref, ref.object.sha, ref.object.type) == ("refs/heads/main", info.head_sha, "commit")
    headers = repo.raw_headers
    assert headers["x-ratelimit-limit"] == "5000" and headers["x-ratelimit-resource"] == "core"
    assert int(headers["x-ratelimit-used"]) == 5000 - int(headers["x-ratelimit-remaining"]) == 2
    assert int(headers["x-ratelimit-reset"]) > time.time()
    assert headers["x-oauth-scopes"] == "repo, read:user, user:email"
    assert gh.get_repo("ACME/Web").id == info.id  # names are case-insensitive, as on GitHub
    assert [r.method + " " + r.path for r in fake_github.requests][:3] == [
        "GET /user", "GET /repos/acme/web", "GET /repos/acme/web/branches/main"]


def test_a_ref_created_through_the_api_is_fetched_by_git_and_pushes_show_in_the_api(
        fake_github: FakeGitHub, alice: str, tmp_path: Path):
    clone = tmp_path / "clone"
    git("clone", "--quiet", fake_github.repo_info("acme/web").clone_url, str(clone))
    repo = client(fake_github, alice).get_repo("acme/web")
    base = repo.get_branch("main").commit.sha

    created = repo.create_git_ref("refs/heads/card-12-fix-login", base)
    assert (created.ref, created.object.sha) == ("refs/heads/card-12-fix-login", base)
    assert fake_github.requests[-1] == ("POST", "/repos/acme/web/git/refs",
                                        {"ref": "refs/heads/card-12-fix-login", "sha": base})
    git("fetch", "--quiet", "origin", cwd=clone)
    assert git("rev-parse", "origin/card-12-fix-login", cwd=clone) == base
    git("switch", "--quiet", "card-12-fix-login", cwd=clone)
    assert git("rev-parse", "--abbrev-ref", "@{upstream}", cwd=clone) == "origin/card-12-fix-login"

    (clone / "login.py").write_text("fixed = True\n")
    git("add", "login.py", cwd=clone)
    git("commit", "--quiet", "-m", "CARD-12 fix login", cwd=clone)
    git("push", "--quiet", "origin", "card-12-fix-login", cwd=clone)
    pushed = git("rev-parse", "HEAD", cwd=clone)
    assert repo.get_branch("card-12-fix-login").commit.sha == pushed
    assert repo.get_branch("card-12-fix-login").commit.commit.message == "CARD-12 fix login"
    assert fake_github.commit("acme/web", "main", "someone else") == repo.get_branch("main").commit.sha


def test_an_existing_ref_is_422_and_ref_updates_follow_github_rules(fake_github: FakeGitHub, alice: str):
    repo = client(fake_github, alice).get_repo("acme/web")
    base = repo.get_branch("main").commit.sha
    repo.create_git_ref("refs/heads/feature", base)
    with pytest.raises(GithubException) as raised:
        repo.create_git_ref("refs/heads/feature", base)
    assert raised.value.status == 422
    assert raised.value.data["message"] == "Reference already exists"
    assert raised.value.data["documentation_url"] == "https://docs.github.com/rest/git/refs#create-a-reference"
    with pytest.raises(GithubException) as raised:
        repo.create_git_ref("refs/heads/other", "0" * 40)
    assert (raised.value.status, raised.value.data["message"]) == (422, "Object does not exist")

    newer = fake_github.commit("acme/web", "main", "ahead")
    ref = repo.get_git_ref("heads/feature")
    ref.edit(newer)  # a fast-forward
    assert fake_github.branch_sha("acme/web", "feature") == newer
    with pytest.raises(GithubException) as raised:
        ref.edit(base)
    assert (raised.value.status, raised.value.data["message"]) == (422, "Update is not a fast forward")
    ref.edit(base, force=True)
    assert fake_github.branch_sha("acme/web", "feature") == base
    ref.delete()
    assert "refs/heads/feature" not in fake_github.refs("acme/web")
    with pytest.raises(UnknownObjectException):
        repo.get_git_ref("heads/feature")


def test_refs_in_the_way_packed_refs_and_bad_names_are_422_like_git(fake_github: FakeGitHub, alice: str):
    """Refs are read and written in-process (loose files, packed-refs) with git's rules."""
    repo = client(fake_github, alice).get_repo("acme/web")
    base = repo.get_branch("main").commit.sha
    repo.create_git_ref("refs/heads/a", base)
    repo.create_git_ref("refs/heads/dir/b", base)
    for blocked in ("refs/heads/a/b", "refs/heads/dir", "refs/heads/bad..name", "refs/heads/x.lock"):
        with pytest.raises(GithubException) as raised:
            repo.create_git_ref(blocked, base)
        assert (raised.value.status, raised.value.data["message"]) == (422, "Reference update failed"), blocked
    git_dir = fake_github.repo_info("acme/web").git_dir
    git("--git-dir", git_dir, "pack-refs", "--all")  # now every ref lives in packed-refs
    assert repo.get_git_ref("heads/a").object.sha == base
    with pytest.raises(GithubException) as raised:
        repo.create_git_ref("refs/heads/a", base)
    assert raised.value.data["message"] == "Reference already exists"
    with pytest.raises(GithubException) as raised:
        repo.create_git_ref("refs/heads/a/c", base)  # the packed ref is in the way
    assert raised.value.data["message"] == "Reference update failed"
    repo.create_git_ref("refs/heads/fresh", base)
    listed = git("--git-dir", git_dir, "for-each-ref", "--format=%(refname) %(objectname)")
    assert f"refs/heads/fresh {base}" in listed and f"refs/heads/a {base}" in listed
    assert git("--git-dir", git_dir, "fsck", "--no-dangling") == ""
    assert not list(Path(git_dir).rglob("*.lock"))


def test_a_bad_token_is_401_bad_credentials_and_no_token_is_401_requires_authentication(
        fake_github: FakeGitHub, alice: str):
    with pytest.raises(BadCredentialsException) as raised:
        _ = client(fake_github, "gho_revoked").get_user().login
    assert raised.value.status == 401 and raised.value.data["message"] == "Bad credentials"
    with pytest.raises(GithubException) as raised:
        _ = client(fake_github, None).get_user().login
    assert (raised.value.status, raised.value.data["message"]) == (401, "Requires authentication")
    fake_github.revoke_token(alice)
    with pytest.raises(BadCredentialsException):
        client(fake_github, alice).get_repo("acme/web")


def test_unknown_and_invisible_repositories_are_404_and_reading_is_not_writing(fake_github: FakeGitHub, alice: str):
    bob = fake_github.add_user("bob").token
    with pytest.raises(UnknownObjectException) as raised:
        client(fake_github, alice).get_repo("acme/missing")
    assert raised.value.status == 404 and raised.value.data["message"] == "Not Found"
    with pytest.raises(UnknownObjectException):
        client(fake_github, bob).get_repo("acme/web")  # private and bob is not a collaborator

    fake_github.add_repo("acme/docs", private=False)
    docs = client(fake_github, bob).get_repo("acme/docs")
    assert (docs.permissions.pull, docs.permissions.push) == (True, False)
    with pytest.raises(UnknownObjectException):
        docs.create_git_ref("refs/heads/bob", docs.get_branch("main").commit.sha)
    assert client(fake_github, None).get_repo("acme/docs").full_name == "acme/docs"  # anonymous read

    fake_github.grant("acme/web", "bob", "write")
    repo = client(fake_github, bob).get_repo("acme/web")
    assert repo.create_git_ref("refs/heads/bob", repo.get_branch("main").commit.sha).ref == "refs/heads/bob"
    with pytest.raises(UnknownObjectException) as raised:
        repo.get_branch("nope")
    assert raised.value.data["message"] == "Branch not found"


# -- failures, rate limits, latency ----------------------------------------------------------------

def test_an_injected_502_reaches_pygithub_and_retries_get_through(fake_github: FakeGitHub, alice: str):
    repo = client(fake_github, alice).get_repo("acme/web")
    sha = repo.get_branch("main").commit.sha
    fake_github.fail_next("POST", r"/git/refs$", status=502)
    with pytest.raises(GithubException) as raised:
        repo.create_git_ref("refs/heads/one", sha)
    assert raised.value.status == 502 and raised.value.data == {"message": "Server Error"}
    assert "refs/heads/one" not in fake_github.refs("acme/web")
    assert repo.create_git_ref("refs/heads/one", sha).ref == "refs/heads/one"  # only the next one failed

    fake_github.fail_next("POST", r"/git/refs$", status=503, times=2)
    retrying = client(fake_github, alice, GithubRetry(total=3, backoff_factor=0)).get_repo("acme/web")
    fake_github.clear_requests()
    assert retrying.create_git_ref("refs/heads/two", sha).ref == "refs/heads/two"
    assert [r.method for r in fake_github.requests] == ["POST", "POST", "POST"]


def test_the_primary_rate_limit_is_403_with_its_headers(fake_github: FakeGitHub, alice: str):
    gh = client(fake_github, alice)
    gh.get_repo("acme/web")
    fake_github.rate_limit(remaining=0, reset_in=120)
    with pytest.raises(RateLimitExceededException) as raised:
        gh.get_repo("acme/web")
    error = raised.value
    assert error.status == 403
    assert error.data["message"].startswith(f"API rate limit exceeded for user ID {fake_github.users['alice'].id}.")
    assert error.headers["x-ratelimit-remaining"] == "0"
    assert 100 < int(error.headers["x-ratelimit-reset"]) - time.time() <= 121

    started = time.monotonic()
    capped = client(fake_github, alice, GithubRetry(total=3, max_rate_limit_wait=1))
    with pytest.raises(RateLimitExceededException):  # RateLimitExceededExceedsMaxWait: no two-minute sleep
        capped.get_repo("acme/web")
    assert time.monotonic() - started < 5

    fake_github.rate_limit(remaining=0, reset_in=-1)  # the window has already reset
    assert gh.get_repo("acme/web").full_name == "acme/web"
    assert gh.get_rate_limit().resources.core.remaining == 4999


def test_the_secondary_rate_limit_sends_retry_after(fake_github: FakeGitHub, alice: str):
    fake_github.secondary_rate_limit(retry_after=60, path_regex="^/repos/")
    with pytest.raises(RateLimitExceededException) as raised:
        client(fake_github, alice).get_repo("acme/web")
    assert raised.value.headers["retry-after"] == "60"
    assert raised.value.data["message"].startswith("You have exceeded a secondary rate limit.")

    fake_github.secondary_rate_limit(retry_after=0, times=1)
    retrying = client(fake_github, alice, GithubRetry(total=2, backoff_factor=0))
    assert retrying.get_repo("acme/web").full_name == "acme/web"


def test_latency_delays_only_what_it_matches(fake_github: FakeGitHub, alice: str):
    fake_github.latency(0.4, path_regex=r"^/user$", times=1)
    headers = {"Authorization": f"token {alice}"}
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{fake_github.api_url}/user", headers=headers, timeout=0.15)
    started = time.monotonic()
    assert httpx.get(f"{fake_github.api_url}/user", headers=headers).json()["login"] == "alice"
    assert time.monotonic() - started < 0.3


def test_lists_are_paginated_with_link_headers(fake_github: FakeGitHub, alice: str):
    git_dir = fake_github.repo_info("acme/web").git_dir
    sha = fake_github.repo_info("acme/web").head_sha
    commands = "".join(f"create refs/heads/b{n:02} {sha}\n" for n in range(35))
    subprocess.run(["git", "--git-dir", git_dir, "update-ref", "--stdin"], input=commands, text=True, check=True)
    response = httpx.get(f"{fake_github.api_url}/repos/acme/web/git/refs", headers={"Authorization": f"token {alice}"})
    assert len(response.json()) == 30 and 'rel="next"' in response.headers["link"]
    refs = client(fake_github, alice).get_repo("acme/web").get_git_refs()
    assert len(list(refs)) == 36


def test_user_repos_lists_explicit_access_with_permissions_page_by_page(fake_github: FakeGitHub, alice: str):
    from taskly_server.integrations.github.client import GitHubClient

    fake_github.add_user("bob", token="gho_bob")
    fake_github.add_repo("bob/own")  # bob's: admin
    fake_github.add_repo("acme/api", collaborators={"alice": "write"})
    fake_github.add_repo("acme/docs", private=False)  # public, no explicit access: not listed
    fake_github.add_repo("acme/site", collaborators={"alice": "maintain"})
    fake_github.add_repo("acme/ops", collaborators={"alice": "admin", "bob": "read"})
    fake_github.max_per_page = 2
    response = httpx.get(f"{fake_github.api_url}/user/repos", params={"per_page": 50},
                         headers={"Authorization": f"token {alice}"})
    assert [r["full_name"] for r in response.json()] == ["acme/api", "acme/ops"]
    assert 'page=2>; rel="next"' in response.headers["link"] and 'per_page=2' in response.headers["link"]
    assert response.json()[0]["permissions"] == {"admin": False, "maintain": False, "push": True,
                                                 "triage": True, "pull": True}
    listed = [(r.full_name, r.permissions.admin) for r in client(fake_github, alice).get_user().get_repos()]
    assert listed == [("acme/api", False), ("acme/ops", True), ("acme/site", False), ("acme/web", True)]
    assert httpx.get(f"{fake_github.api_url}/user/repos").status_code == 401
    assert httpx.get(f"{fake_github.api_url}/user/repos", params={"type": "owner", "visibility": "all"},
                     headers={"Authorization": f"token {alice}"}).status_code == 422

    github = GitHubClient(fake_github.api_url, alice)
    fake_github.clear_requests()
    admin = github.user_repositories(admin_only=True)
    assert [r["full_name"] for r in admin] == ["acme/ops", "acme/web"]
    assert len([r for r in fake_github.requests if r.path.endswith("/user/repos")]) == 2  # 4 repos, 2 a page
    assert [r["full_name"] for r in GitHubClient(fake_github.api_url, "gho_bob").user_repositories()] == [
        "acme/ops", "bob/own"]
    public_only = fake_github.add_token("alice", scopes=("read:user",))
    assert GitHubClient(fake_github.api_url, public_only).user_repositories() == []  # private ones need `repo`


# -- hooks and deliveries --------------------------------------------------------------------------

def test_hooks_need_admin_and_a_hook_scope(fake_github: FakeGitHub, alice: str):
    writer = fake_github.add_user("bob").token
    fake_github.grant("acme/web", "bob", "write")
    config = {"url": "https://taskly.example/api/v1/webhooks/github", "content_type": "json", "secret": "s3cret"}
    with pytest.raises(UnknownObjectException):
        client(fake_github, writer).get_repo("acme/web").create_hook("web", config, ["pull_request"], True)
    with pytest.raises(UnknownObjectException):
        list(client(fake_github, writer).get_repo("acme/web").get_hooks())
    narrow = fake_github.add_token("alice", scopes=("read:user",))
    with pytest.raises(UnknownObjectException):
        client(fake_github, narrow).get_repo("acme/web")  # without `repo` a private repository is invisible

    repo = client(fake_github, alice).get_repo("acme/web")
    hook = repo.create_hook("web", config, ["pull_request", "push"], True)
    assert (hook.name, hook.events, hook.active, hook.config["secret"]) == ("web", ["pull_request", "push"], True, "********")
    with pytest.raises(GithubException) as raised:
        repo.create_hook("web", config, ["push"], True)
    assert raised.value.status == 422
    assert raised.value.data["errors"][0]["message"] == "Hook already exists on this repository"
    assert [h.id for h in repo.get_hooks()] == [hook.id]
    assert fake_github.hooks("acme/web")[0]["config"]["secret"] == "s3cret"
    hook.edit("web", config, remove_events=["push"])
    assert fake_github.hooks("acme/web")[0]["events"] == ["pull_request"]
    hook.delete()
    assert fake_github.hooks("acme/web") == []


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A tiny webhook receiver recording what it gets; answers 202."""
    received: list[tuple[dict[str, str], bytes]] = []

    def app(environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        received.append((dict(request.headers), request.get_data()))
        return Response("", 202)(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    thread.join(5)
    server.server_close()


def test_deliveries_are_signed_like_github_signs_them(fake_github: FakeGitHub, alice: str, receiver: Any):
    url, received = receiver
    repo = client(fake_github, alice).get_repo("acme/web")
    hook = repo.create_hook("web", {"url": url, "content_type": "json", "secret": "s3cret"}, ["pull_request"], True)
    payload = json.loads(webhook_fixture("pull_request", "opened.payload.json").read_text())

    assert fake_github.deliver("acme/web", "pull_request", payload) == [202]
    assert fake_github.deliver("acme/web", "push", {"ref": "refs/heads/main"}) == []  # not subscribed
    headers, body = received[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == expected
    assert (headers["X-Github-Event"], headers["X-Github-Hook-Id"]) == ("pull_request", str(hook.id))
    assert json.loads(body) == payload
    assert fake_github.deliveries[0].id == headers["X-Github-Delivery"]

    hook.ping()
    fake_github.sender.join()
    assert received[-1][0]["X-Github-Event"] == "ping"
    assert json.loads(received[-1][1])["hook_id"] == hook.id
    assert repo.get_hook(hook.id).last_response.status == "active"


# -- pull requests and CI --------------------------------------------------------------------------

def test_pull_requests_reviews_and_ci_status(fake_github: FakeGitHub, alice: str):
    repo = client(fake_github, alice).get_repo("acme/web")
    repo.create_git_ref("refs/heads/card-12-fix", repo.get_branch("main").commit.sha)
    head = fake_github.commit("acme/web", "card-12-fix", "CARD-12 fix")
    number = fake_github.add_pull("acme/web", head="card-12-fix", title="Fix login", body="Closes CARD-12",
                                  user="alice")

    pull = repo.get_pull(number)
    assert (pull.title, pull.body, pull.state, pull.draft, pull.merged) == ("Fix login", "Closes CARD-12", "open", False, False)
    assert (pull.head.ref, pull.head.sha, pull.base.ref, pull.user.login) == ("card-12-fix", head, "main", "alice")
    assert [p.number for p in repo.get_pulls(head="acme:card-12-fix")] == [number]

    fake_github.add_review("acme/web", number, "alice", "CHANGES_REQUESTED")
    fake_github.add_status("acme/web", head, "ci/tests", "pending")
    fake_github.add_status("acme/web", head, "ci/tests", "success")
    fake_github.add_check_run("acme/web", head, "lint", conclusion="failure")
    assert [r.state for r in pull.get_reviews()] == ["CHANGES_REQUESTED"]
    commit = repo.get_commit(head)
    assert commit.get_combined_status().state == "success"
    assert [(run.name, run.conclusion) for run in commit.get_check_runs()] == [("lint", "failure")]

    merged = fake_github.update_pull("acme/web", number, merged=True, updated_at="2030-01-02T03:04:05Z")
    assert (merged["state"], merged["merged"], merged["merged_by"]["login"]) == ("closed", True, "alice")
    again = repo.get_pull(number)
    assert again.merged and again.merge_commit_sha == head
    assert again.updated_at.isoformat() == "2030-01-02T03:04:05+00:00" and again.closed_at is not None
    assert merged == fake_github.pull_json("acme/web", number)
    assert [p.number for p in repo.get_pulls(state="closed")] == [number]
    assert list(repo.get_pulls()) == []


# -- OAuth -----------------------------------------------------------------------------------------

def device_code(fake: FakeGitHub, client_id: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{fake.url}/login/device/code", data={"client_id": client_id, "scope": "repo read:user"},
                      headers=headers)


def poll(fake: FakeGitHub, client_id: str, code: str) -> dict[str, Any]:
    response = httpx.post(f"{fake.url}/login/oauth/access_token", headers={"Accept": "application/json"},
                          data={"client_id": client_id, "device_code": code, "grant_type": DEVICE_GRANT})
    assert response.status_code == 200  # GitHub answers device-flow errors with 200 too
    return response.json()


def test_device_flow_with_slow_down_then_approval(fake_github: FakeGitHub, alice: str):
    app = fake_github.add_oauth_app(device_interval=1)
    form = device_code(fake_github, app.client_id)
    assert form.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert set(parse_qs(form.text)) == {"device_code", "user_code", "verification_uri", "expires_in", "interval"}

    start = device_code(fake_github, app.client_id, Accept="application/json").json()
    assert (start["verification_uri"], start["expires_in"], start["interval"]) == (
        f"{fake_github.url}/login/device", 900, 1)
    assert poll(fake_github, app.client_id, start["device_code"])["error"] == "authorization_pending"
    slow = poll(fake_github, app.client_id, start["device_code"])  # polled again at once
    assert (slow["error"], slow["interval"]) == ("slow_down", 6)

    fake_github.approve_device(start["user_code"].lower(), "alice")
    token = poll(fake_github, app.client_id, start["device_code"])
    assert (token["token_type"], token["scope"]) == ("bearer", "repo,read:user")
    assert client(fake_github, token["access_token"]).get_user().login == "alice"
    assert poll(fake_github, app.client_id, start["device_code"])["error"] == "incorrect_device_code"


def test_device_flow_denied_expired_and_misused(fake_github: FakeGitHub, alice: str):
    app = fake_github.add_oauth_app(device_interval=0)
    denied = device_code(fake_github, app.client_id, Accept="application/json").json()
    fake_github.deny_device(denied["user_code"])
    assert poll(fake_github, app.client_id, denied["device_code"])["error"] == "access_denied"
    expired = device_code(fake_github, app.client_id, Accept="application/json").json()
    fake_github.expire_device(expired["user_code"])
    assert poll(fake_github, app.client_id, expired["device_code"])["error"] == "expired_token"
    assert poll(fake_github, "someone-else", expired["device_code"])["error"] == "incorrect_client_credentials"
    assert device_code(fake_github, "unknown-client").status_code == 404
    disabled = fake_github.add_oauth_app(device_flow=False)
    refused = device_code(fake_github, disabled.client_id)
    assert (refused.status_code, parse_qs(refused.text)["error"]) == (400, ["device_flow_disabled"])


def test_web_flow_redirects_with_code_and_state_and_checks_the_secret(fake_github: FakeGitHub, alice: str):
    app = fake_github.add_oauth_app(callback_url="http://127.0.0.1:8000/api/v1/auth/github/callback")
    authorize = f"{fake_github.url}/login/oauth/authorize"
    query = {"client_id": app.client_id, "scope": "repo", "state": "xyz",
             "redirect_uri": "http://127.0.0.1:9999/api/v1/auth/github/callback"}
    assert "Sign in to GitHub" in httpx.get(authorize, params=query).text  # nobody signed in yet

    fake_github.web_login("alice")
    redirected = httpx.get(authorize, params=query)
    location = urlsplit(redirected.headers["location"])
    assert (redirected.status_code, location.port, location.path) == (302, 9999, "/api/v1/auth/github/callback")
    values = parse_qs(location.query)
    assert values["state"] == ["xyz"]

    exchange = {"client_id": app.client_id, "client_secret": "wrong", "code": values["code"][0]}
    token_url = f"{fake_github.url}/login/oauth/access_token"
    assert parse_qs(httpx.post(token_url, data=exchange).text)["error"] == ["incorrect_client_credentials"]
    exchange["client_secret"] = app.client_secret
    token = parse_qs(httpx.post(token_url, data=exchange).text)
    assert (token["token_type"], token["scope"]) == (["bearer"], ["repo"])
    assert client(fake_github, token["access_token"][0]).get_user().login == "alice"
    assert parse_qs(httpx.post(token_url, data=exchange).text)["error"] == ["bad_verification_code"]

    elsewhere = httpx.get(authorize, params={**query, "redirect_uri": "http://evil.example/callback"})
    assert parse_qs(urlsplit(elsewhere.headers["location"]).query)["error"] == ["redirect_uri_mismatch"]
    fake_github.web_login("alice", approve=False)
    denied = parse_qs(urlsplit(httpx.get(authorize, params=query).headers["location"]).query)
    assert (denied["error"], denied["state"]) == (["access_denied"], ["xyz"])


# -- as a separate process -------------------------------------------------------------------------

def test_the_fake_runs_as_a_subprocess_driven_over_http(fake_github_process: FakeGitHubProcess):
    fake = fake_github_process
    token = fake.add_user("carol").token
    repo = fake.add_repo("carol/app", private=True)
    assert Path(repo.git_dir).is_dir()
    gh = client(fake, token)
    created = gh.get_repo("carol/app").create_git_ref("refs/heads/x", repo.head_sha)
    assert created.object.sha == fake.branch_sha("carol/app", "x") == repo.head_sha
    assert fake.requests[-1] == ("POST", "/repos/carol/app/git/refs", {"ref": "refs/heads/x", "sha": repo.head_sha})
    fake.fail_next("GET", "/user$", status=500)
    with pytest.raises(GithubException) as raised:
        _ = gh.get_user().login
    assert (raised.value.status, raised.value.data) == (500, {"message": "Server Error"})
    with pytest.raises(RuntimeError, match="no device code ABCD-EFGH"):
        fake.approve_device("ABCD-EFGH", "nobody")


def test_the_subprocess_seeds_users_and_repositories_from_its_command_line(tmp_path: Path):
    args = ("--user", "dave:gho_dave", "--repo", "dave/tool", "--repo", "acme/api:dave")
    with FakeGitHubProcess.start(tmp_path / "github", args=args) as fake:
        gh = client(fake, "gho_dave")
        assert gh.get_repo("acme/api").permissions.admin
        assert gh.get_repo("dave/tool").owner.login == "dave"
        process = fake.process
    assert process.returncode == 0
