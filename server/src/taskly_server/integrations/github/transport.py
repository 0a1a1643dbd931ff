"""PyGithub's HTTP connection, on urllib3 directly and safe to share between threads.

PyGithub sends every request through one connection object per `Github` (an http.client
look-alike): `request()` stores the request on the object and `getresponse()` sends it. Its own
classes keep that pending request in attributes, so two threads sharing a client can send each
other's requests (PyGithub#2052); here it is kept per thread. They also go through a requests
`Session`, whose preparation (cookies, hooks, environment, adapters) cost as much CPU again as
urllib3's own work per call; here urllib3's pool manager is called directly, with the settings
requests would have used (proxies, NO_PROXY and the CA bundle from the environment, read once)
and PyGithub's `GithubRetry` as urllib3's retry policy, exactly as requests applied it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import ItemsView, Iterator
from typing import Any

import requests
import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH


class Response:
    """What PyGithub reads of an answer (the http.client response's names)."""

    __slots__ = ("_body", "headers", "status")

    def __init__(self, answer: urllib3.BaseHTTPResponse) -> None:
        self.status = answer.status
        self.headers = answer.headers
        self._body = answer.data

    def getheaders(self) -> ItemsView[str, str]:
        return self.headers.items()

    def read(self) -> str:
        return self._body.decode("utf-8", errors="replace")

    def iter_content(self, chunk_size: int | None = 1) -> Iterator[bytes]:
        size = chunk_size or len(self._body) or 1
        for start in range(0, len(self._body), size):
            yield self._body[start:start + size]


def pool_manager(scheme: str, host: str, port: int, *, pool_size: int, retry: Any,
                 timeout: float | None, verify: bool | str = True) -> urllib3.PoolManager:
    """urllib3's pools for one GitHub host, configured from the environment as requests would
    (`verify`: PyGithub's own, True, False or a CA bundle)."""
    found = requests.Session().merge_environment_settings(f"{scheme}://{host}:{port}/", {}, None,
                                                          verify, None)
    verify = found["verify"]
    if verify is False:
        tls: dict[str, Any] = {"cert_reqs": "CERT_NONE"}
    else:
        bundle = DEFAULT_CA_BUNDLE_PATH if verify is True else verify
        tls = {"cert_reqs": "CERT_REQUIRED",
               ("ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"): bundle}
    if retry is None:  # requests' default: no retries
        retry = urllib3.Retry(0, read=False)
    options = {"num_pools": 4, "maxsize": pool_size, "block": False, "retries": retry,
               "timeout": urllib3.Timeout(connect=timeout, read=timeout), **tls}
    proxy = found["proxies"].get(scheme)
    return urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)


class Connection:
    """One per `Github`; its methods are PyGithub's connection interface."""

    protocol = "http"
    default_port = 80

    def __init__(self, host: str, port: int | None = None, strict: bool = False,
                 timeout: float | None = None, retry: Any = None, pool_size: int | None = None,
                 **kwargs: Any) -> None:
        self.host = host
        self.port = port or self.default_port
        self.origin = f"{self.protocol}://{host}:{self.port}"
        self.pools = pool_manager(self.protocol, host, self.port, pool_size=pool_size or 10,
                                  retry=retry, timeout=timeout, verify=kwargs.get("verify", True))
        self._pending = threading.local()

    def request(self, verb: str, url: str, input: Any, headers: dict[str, str],
                stream: bool = False) -> None:
        self._pending.request = (verb, url, input, headers)

    def getresponse(self) -> Response:
        verb, url, body, headers = self._pending.request
        del self._pending.request
        return Response(self.pools.urlopen(verb, self.origin + url, body=body, headers=headers,
                                           redirect=False))

    def close(self) -> None:
        self.pools.clear()


class HTTPSConnection(Connection):
    protocol = "https"
    default_port = 443
