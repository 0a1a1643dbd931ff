"""GitHubClient's PyGithub connections: requests' environment settings (proxies, CA bundle) are
read once per connection, and still honoured."""

from __future__ import annotations

from pathlib import Path

import pytest
from taskly_server.domain.github.breaker import CircuitBreaker
from taskly_server.domain.github.client import GitHubClient, _HTTPConnection, _HTTPSConnection

from tests.support.fake_github import FakeGitHub


def test_proxies_and_the_ca_bundle_come_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "ghe.internal")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    proxied = _HTTPSConnection("api.github.com", 443)
    assert proxied.session.proxies["https"] == "http://proxy.invalid:3128"
    assert proxied.verify == "/etc/ssl/corporate.pem"
    assert proxied.session.trust_env is False  # requests no longer walks os.environ per request
    direct = _HTTPSConnection("ghe.internal", 443)
    assert "https" not in direct.session.proxies
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert _HTTPConnection("127.0.0.1", 8080).verify is True


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
