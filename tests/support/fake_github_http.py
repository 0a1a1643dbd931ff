"""Request dispatch for the fake GitHub: logging, injected faults, authentication, rate limits."""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.handlers import SimpleHandler
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import LimitedStream

from tests.support.fake_github_oauth import html
from tests.support.fake_github_rest import AUTH_REQUIRED, ApiError, Call, Reply, url_map
from tests.support.fake_github_state import (
    ANONYMOUS_RATE_LIMIT,
    RATE_LIMIT,
    Fault,
    LoggedRequest,
    RateWindow,
)

if TYPE_CHECKING:
    from tests.support.fake_github import FakeGitHub

API_PREFIX = "/api/v3"
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SERVER_ERRORS = {
    500: {"message": "Server Error"},
    502: {"message": "Server Error"},
    503: {"message": "Service Unavailable"},
    504: {"message": "We couldn't respond to your request in time. Sorry about that. Please try "
                     "resubmitting your request and contact us if the problem persists."},
}


class _Handler(SimpleHandler):
    """wsgiref's handler, as an HTTP/1.1 origin server that GitHub's name is on."""

    http_version = "1.1"
    server_software = "GitHub.com"


class _Connection(WSGIRequestHandler):
    """One client connection, kept alive: its requests are answered in turn, in its own thread.

    wsgiref's own request handler answers one request and closes the connection, so every API
    call paid for a new TCP connection and a new thread on both sides; a request body the
    application does not read is drained, so the next request starts where it should.
    """

    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    wbufsize = -1  # an answer leaves in one send (wsgiref flushes after the body)
    disable_nagle_algorithm = True

    def handle(self) -> None:
        self.close_connection = False
        while not self.close_connection:
            self.answer_one()

    def answer_one(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():  # answered with an error already
            return
        body = LimitedStream(self.rfile, int(self.headers.get("Content-Length") or 0))
        _Handler(body, self.wfile, sys.stderr, self.get_environ(), multithread=True).run(self.server.get_app())
        self.wfile.flush()
        body.exhaust()

    def address_string(self) -> str:
        return self.client_address[0]

    def log_message(self, format: str, *args: Any) -> None:  # every request is in fake.requests
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: Callable[..., Any]) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Connection)
        self.set_app(app)

    def server_bind(self) -> None:
        """HTTPServer's bind without its reverse DNS lookup of the host."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.connections_lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class HttpServer:
    """The fake's HTTP/1.1 server: keep-alive connections, like GitHub's, each served by a thread
    of its own (a `latency` fault sleeps in one of them). The socket is bound on construction, so
    the port is known before `start`; every answer says `Server: GitHub.com`."""

    def __init__(self, host: str, port: int, app: Callable[..., Any]) -> None:
        self._server = _ThreadingServer((host, port), app)
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fake-github", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops accepting, closes the listening socket and every open connection."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()
        self._server.drop_connections()


def request_id() -> str:
    """GitHub's request id: five groups of hex digits, like 9E1A:3C5B27:1F0A21B:2044C3F:6570D1B2."""
    digits = secrets.token_hex(17).upper()
    return ":".join(digits[start:end] for start, end in ((0, 4), (4, 10), (10, 18), (18, 26), (26, 34)))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    text = "" if body is None else json.dumps(body)
    return Response(text, status, headers=headers or {}, content_type="application/json; charset=utf-8")


def rate_headers(window: RateWindow) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(window.limit), "X-RateLimit-Remaining": str(max(window.remaining, 0)),
            "X-RateLimit-Reset": str(window.reset_at), "X-RateLimit-Used": str(window.used),
            "X-RateLimit-Resource": "core"}


def fault_response(fault: Fault, headers: dict[str, str]) -> Response:
    if isinstance(fault.body, str):
        return Response(fault.body, fault.status, headers=headers, content_type="text/html; charset=utf-8")
    return json_response(fault.status, fault.body, headers)


def logged_body(request: Request) -> Any:
    if request.mimetype == "application/json":
        raw = request.get_data(as_text=True)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw
    if request.mimetype == "application/x-www-form-urlencoded":
        return dict(request.form.items()) or None
    return request.get_data(as_text=True) or None


class Dispatcher:
    """The WSGI application: every request is logged, may be delayed or failed, then routed."""

    def __init__(self, fake: FakeGitHub):
        self.fake = fake
        self.api_routes = url_map(API_PREFIX).bind("api.github.com")
        self.web_map = Map([
            Rule("/login/device/code", endpoint="device_code", methods=["POST"]),
            Rule("/login/oauth/access_token", endpoint="access_token", methods=["POST"]),
            Rule("/login/oauth/authorize", endpoint="authorize", methods=["GET"]),
            Rule("/login/device", endpoint="device_page", methods=["GET"]),
        ])

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith("/_fake/"):
            from tests.support.fake_github_process import control

            return control(self.fake, request)(environ, start_response)
        return self.handle(request)(environ, start_response)

    def take(self, kind: str, method: str, path: str) -> Fault | None:
        for fault in self.fake.faults:
            if fault.kind == kind and fault.matches(method, path):
                fault.consume()
                return fault
        return None

    def handle(self, request: Request) -> Response:
        fake = self.fake
        is_api = request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")
        path = (request.path[len(API_PREFIX):] or "/") if is_api else request.path
        with fake.lock:
            fake.requests.append(LoggedRequest(request.method, path, logged_body(request)))
            slow = self.take("latency", request.method, path)
        if slow is not None:
            time.sleep(slow.seconds)
        try:
            with fake.lock:
                if is_api:
                    return self.api(request, path)
                fault = self.take("fail", request.method, path)
                if fault is not None:
                    return fault_response(fault, fault.headers)
                return self.web(request)
        except Exception:
            fake.errors.append(traceback.format_exc())
            return json_response(500, SERVER_ERRORS[500])

    def web(self, request: Request) -> Response:
        try:
            endpoint, _ = self.web_map.bind_to_environ(request.environ).match()
        except HTTPException:
            return html(404, "Page not found")
        return getattr(self.fake.oauth, endpoint)(request)

    def rate_window(self, call: Call) -> RateWindow:
        """The caller's core window: per user, or per IP address for anonymous calls."""
        fake = self.fake
        key = call.login.lower() if call.login else f"ip:{call.request.remote_addr}"
        window = fake.windows.get(key)
        if window is None:
            template = fake.window_template
            if template is not None:
                window = RateWindow(template.limit, template.remaining, template.reset_at)
            else:
                window = RateWindow.fresh(RATE_LIMIT if call.login else ANONYMOUS_RATE_LIMIT)
            fake.windows[key] = window
        window.roll()
        return window

    def api(self, request: Request, path: str) -> Response:
        headers = {"X-GitHub-Media-Type": "github.v3; format=json",
                   "X-GitHub-Api-Version-Selected": "2022-11-28",
                   "X-GitHub-Request-Id": request_id()}
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = self.fake.tokens.get(value.strip()) if scheme.lower() in ("token", "bearer") else None
        call = Call(request, token.login if token else None, token.scopes if token else ())
        window = self.rate_window(call)
        headers.update(rate_headers(window))
        fault = self.take("fail", request.method, path)
        if fault is not None:
            return fault_response(fault, {**headers, **fault.headers})
        if request.headers.get("Authorization") and token is None:
            return json_response(401, ApiError(401, "Bad credentials").body, headers)
        if token is not None:
            headers["X-OAuth-Scopes"] = ", ".join(token.scopes)
        try:
            endpoint, arguments = self.api_routes.match(request.path, request.method)
        except HTTPException:
            endpoint, arguments = None, {}
        if endpoint is not None and call.login is None and (request.method != "GET" or endpoint in AUTH_REQUIRED):
            return json_response(401, ApiError(401, "Requires authentication").body, headers)
        limited = self.rate_limited(call, path, window, endpoint, headers)
        if limited is not None:
            return limited
        try:
            if endpoint is None:
                raise ApiError(404, "Not Found")
            reply = getattr(self.fake.rest, endpoint)(call, **arguments)
        except ApiError as error:
            reply = Reply(error.status, error.body)
        headers.update(rate_headers(window))
        return json_response(reply.status, reply.body, {**headers, **call.headers, **reply.headers})

    def rate_limited(self, call: Call, path: str, window: RateWindow, endpoint: str | None,
                     headers: dict[str, str]) -> Response | None:
        """The 403 GitHub sends for a secondary or an exhausted primary limit; else counts the call."""
        request_id = headers["X-GitHub-Request-Id"]
        secondary = self.take("secondary", call.request.method, path)
        if secondary is not None:
            message = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try "
                       "again. If you reach out to GitHub Support for help, please include the request ID "
                       f"{request_id}.")
            body = ApiError(403, message, f"{RATE_DOCS}#about-secondary-rate-limits").body
            return json_response(403, body, {**headers, **secondary.headers})
        if endpoint == "get_rate_limit":  # asking for the limit does not count against it
            return None
        if window.remaining > 0:
            window.remaining -= 1
            return None
        if call.login:
            who = f"user ID {self.fake.users[call.login.lower()].id}"
        else:
            who = (f"{call.request.remote_addr}. (But here's the good news: Authenticated requests get a "
                   "higher rate limit. Check out the documentation for more details.)")
        message = (f"API rate limit exceeded for {who}. If you reach out to GitHub Support for help, please "
                   f"include the request ID {request_id} and timestamp "
                   f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}.")
        return json_response(403, ApiError(403, message, RATE_DOCS).body, headers)
