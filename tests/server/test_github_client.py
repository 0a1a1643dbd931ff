"""GitHubClient's PyGithub connection (`transport.Connection`): the environment's proxies and CA
bundle are honoured, one keep-alive connection serves a thread, threads sharing one client each
get their own answers, and PyGithub's retry policy still applies."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import urllib3
from taskly_server.integrations.github.breaker import CircuitBreaker
from taskly_server.integrations.github.client import GitHubClient, GitHubError
from taskly_server.integrations.github.transport import Connection, HTTPSConnection

from tests.support.fake_github import FakeGitHub


def test_proxies_and_the_ca_bundle_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    bundle = tmp_path / "corporate.pem"
    bundle.write_text("")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "ghe.internal")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    proxied = HTTPSConnection("api.github.com", 443).pools
    assert isinstance(proxied, urllib3.ProxyManager)
    assert proxied.proxy.url == "http://proxy.invalid:3128"
    assert proxied.connection_pool_kw["ca_certs"] == str(bundle)
    assert proxied.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    direct = HTTPSConnection("ghe.internal", 443).pools
    assert not isinstance(direct, urllib3.ProxyManager)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    plain = Connection("127.0.0.1", 8080)
    assert plain.origin == "http://127.0.0.1:8080"
    assert plain.pools.connection_pool_kw["ca_certs"].endswith(".pem")  # requests' default bundle
    unverified = HTTPSConnection("ghe.internal", verify=False).pools  # Github(verify=False)
    assert unverified.connection_pool_kw["cert_reqs"] == "CERT_NONE"


def test_the_client_keeps_one_connection_alive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib3.connection

    opened = []
    original = urllib3.connection.HTTPConnection.connect

    def counting(self: urllib3.connection.HTTPConnection) -> None:
        opened.append(self.host)
        original(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect", counting)
    with FakeGitHub(tmp_path / "github") as fake:
        user = fake.add_user("keepalive")
        fake.add_repo("acme/keepalive", collaborators={"keepalive": "admin"})
        client = GitHubClient(fake.api_url, user.token, CircuitBreaker("GitHub (test)"))
        sha = client.branch_sha("acme/keepalive", "main")
        for n in range(5):
            assert client.create_branch("acme/keepalive", f"b{n}", sha) is True
        assert client.create_branch("acme/keepalive", "b0", sha) is False  # exists: success
        assert len(opened) == 1
        assert fake.errors == []


def test_threads_sharing_a_client_each_get_their_own_answer(tmp_path: Path) -> None:
    """PyGithub's own connection keeps the pending request in attributes that every thread shares:
    a thread switch between `request` and `getresponse` sent another thread's request."""
    with FakeGitHub(tmp_path / "github") as fake:
        user = fake.add_user("threads")
        fake.add_repo("acme/threads", collaborators={"threads": "admin"})
        client = GitHubClient(fake.api_url, user.token, CircuitBreaker("GitHub (test)"))
        shas = {}
        for n in range(8):  # eight branches, each at its own commit
            shas[f"b{n}"] = fake.commit("acme/threads", "main", f"commit {n}")
            assert client.create_branch("acme/threads", f"b{n}", shas[f"b{n}"])
        names = [f"b{n % 8}" for n in range(2000)]  # PyGithub's own: ~9 of them answered wrongly
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads as often as possible
        try:
            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(lambda name: client.branch_sha("acme/threads", name), names))
        finally:
            sys.setswitchinterval(interval)
        assert answers == [shas[name] for name in names]
        assert fake.errors == []


def test_server_errors_are_retried_by_pygithubs_policy(tmp_path: Path) -> None:
    with FakeGitHub(tmp_path / "github") as fake:
        user = fake.add_user("retries")
        fake.add_repo("acme/retries", collaborators={"retries": "admin"})
        client = GitHubClient(fake.api_url, user.token, CircuitBreaker("GitHub (test)"))
        fake.fail_next("GET", r"/git/ref/heads/main$", 502, times=2)
        assert client.branch_sha("acme/retries", "main") == fake.branch_sha("acme/retries", "main")
        fake.fail_next("GET", r"/git/ref/heads/main$", 503, times=3)
        with pytest.raises(GitHubError) as failed:
            client.branch_sha("acme/retries", "main")
        assert failed.value.status == 503 and failed.value.retryable
        gets = [r for r in fake.requests if r.path.endswith("/git/ref/heads/main")]
        assert len(gets) == 3 + 3  # each call: the first try and two retries
