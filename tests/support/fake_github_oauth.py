"""GitHub's OAuth endpoints on the web host: the device flow and the web (authorization code) flow.

GitHub answers token-endpoint errors with HTTP 200 and an `error` field, form-encoded unless the
client sends `Accept: application/json`; the fake does the same.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from tests.support.fake_github_state import DeviceGrant, WebGrant, parse_scopes, user_code

if TYPE_CHECKING:
    from tests.support.fake_github import FakeGitHub

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_DOCS = "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow"
TOKEN_DOCS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/"
AUTHORIZE_DOCS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/"
ERRORS = {
    "authorization_pending": "The authorization request is still pending.",
    "slow_down": "Too many requests have been made in the same timeframe.",
    "expired_token": "The device_code has expired.",
    "access_denied": "The authorization request was denied.",
    "unsupported_grant_type": "The grant type is not supported.",
    "incorrect_client_credentials": "The client_id and/or client_secret passed are incorrect.",
    "incorrect_device_code": "The device_code provided is not valid.",
    "device_flow_disabled": "Device Flow must be explicitly enabled for this App",
    "bad_verification_code": "The code passed is incorrect or expired.",
    "redirect_uri_mismatch": "The redirect_uri MUST match the registered callback URL for this application.",
}
CODE_LIFETIME = 600
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def params(request: Request) -> dict[str, str]:
    """OAuth parameters from the query string, a form body or a JSON body (GitHub takes all three)."""
    merged = dict(request.args.items())
    if request.mimetype == "application/json":
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            body = {}
        if isinstance(body, dict):
            merged.update({key: str(value) for key, value in body.items() if value is not None})
    else:
        merged.update(request.form.items())
    return merged


def reply(request: Request, body: dict[str, Any], status: int = 200) -> Response:
    if "application/json" in request.headers.get("Accept", ""):
        return Response(json.dumps(body), status, content_type="application/json; charset=utf-8")
    return Response(urlencode({k: v for k, v in body.items() if v is not None}), status,
                    content_type="application/x-www-form-urlencoded; charset=utf-8")


def error(request: Request, code: str, docs: str = TOKEN_DOCS, status: int = 200, **extra: Any) -> Response:
    uri = DEVICE_DOCS if docs == DEVICE_DOCS else f"{docs}#{code.replace('_', '-')}"
    return reply(request, {"error": code, "error_description": ERRORS[code], "error_uri": uri, **extra}, status)


def html(status: int, title: str) -> Response:
    page = f"<!DOCTYPE html><html><head><title>{title} · GitHub</title></head><body><h1>{title}</h1></body></html>"
    return Response(page, status, content_type="text/html; charset=utf-8")


def with_query(url: str, values: dict[str, str | None]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query) + [(k, v) for k, v in values.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def redirect(location: str) -> Response:
    return Response("", 302, headers={"Location": location}, content_type="text/html; charset=utf-8")


def redirect_allowed(callback: str, redirect_uri: str) -> bool:
    """Same scheme and host, same port (any port on loopback), path at or under the callback's."""
    registered, wanted = urlsplit(callback), urlsplit(redirect_uri)
    if (registered.scheme, registered.hostname) != (wanted.scheme, wanted.hostname):
        return False
    if registered.port != wanted.port and wanted.hostname not in LOOPBACK:
        return False
    base = registered.path.rstrip("/")
    return wanted.path == registered.path or wanted.path.startswith(base + "/") or not base


class OAuth:
    """Handlers for /login/...; each runs under the fake's lock."""

    def __init__(self, fake: FakeGitHub):
        self.fake = fake

    def device_code(self, request: Request) -> Response:
        values = params(request)
        app = self.fake.apps.get(values.get("client_id", ""))
        if app is None:
            return html(404, "Page not found")
        if not app.device_flow:
            return error(request, "device_flow_disabled", DEVICE_DOCS, status=400)
        grant = DeviceGrant(
            device_code=secrets.token_hex(20), user_code=user_code(), client_id=app.client_id,
            scopes=parse_scopes(values.get("scope")), interval=app.device_interval,
            expires_at=time.monotonic() + app.device_expires_in,
        )
        self.fake.devices[grant.device_code] = grant
        return reply(request, {
            "device_code": grant.device_code, "user_code": grant.user_code,
            "verification_uri": f"{self.fake.url}/login/device",
            "expires_in": app.device_expires_in, "interval": grant.interval,
        })

    def access_token(self, request: Request) -> Response:
        values = params(request)
        grant_type = values.get("grant_type")
        if grant_type == DEVICE_GRANT:
            return self.device_token(request, values)
        if "device_code" in values or grant_type not in (None, "authorization_code"):
            return error(request, "unsupported_grant_type", DEVICE_DOCS)
        return self.code_token(request, values)

    def device_token(self, request: Request, values: dict[str, str]) -> Response:
        if values.get("client_id") not in self.fake.apps:
            return error(request, "incorrect_client_credentials", DEVICE_DOCS)
        grant = self.fake.devices.get(values.get("device_code", ""))
        if grant is None or grant.client_id != values["client_id"] or grant.used:
            return error(request, "incorrect_device_code", DEVICE_DOCS)
        now = time.monotonic()
        if now >= grant.expires_at:
            return error(request, "expired_token", DEVICE_DOCS)
        if grant.denied:
            return error(request, "access_denied", DEVICE_DOCS)
        if grant.login is not None:
            grant.used = True
            return self.token_reply(request, grant.login, grant.scopes)
        too_fast = grant.last_poll is not None and now - grant.last_poll < grant.interval
        grant.last_poll = now
        if too_fast:
            grant.interval += 5
            return error(request, "slow_down", DEVICE_DOCS, interval=grant.interval)
        return error(request, "authorization_pending", DEVICE_DOCS)

    def code_token(self, request: Request, values: dict[str, str]) -> Response:
        app = self.fake.apps.get(values.get("client_id", ""))
        if app is None or values.get("client_secret") != app.client_secret:
            return error(request, "incorrect_client_credentials")
        grant = self.fake.web_grants.get(values.get("code", ""))
        if grant is None or grant.used or grant.client_id != app.client_id or time.monotonic() >= grant.expires_at:
            return error(request, "bad_verification_code")
        if values.get("redirect_uri") and values["redirect_uri"] != grant.redirect_uri:
            return error(request, "redirect_uri_mismatch")
        grant.used = True
        return self.token_reply(request, grant.login, grant.scopes)

    def token_reply(self, request: Request, login: str, scopes: tuple[str, ...]) -> Response:
        token = self.fake.issue_token(login, scopes)
        return reply(request, {"access_token": token, "token_type": "bearer", "scope": ",".join(scopes)})

    def authorize(self, request: Request) -> Response:
        values = params(request)
        app = self.fake.apps.get(values.get("client_id", ""))
        if app is None:
            return html(404, "Page not found")
        redirect_uri = values.get("redirect_uri") or app.callback_url
        if redirect_uri is None:
            return html(400, "The redirect_uri is missing")
        state = values.get("state")
        if app.callback_url and not redirect_allowed(app.callback_url, redirect_uri):
            return redirect(with_query(app.callback_url, {
                "error": "redirect_uri_mismatch", "error_description": ERRORS["redirect_uri_mismatch"],
                "error_uri": f"{AUTHORIZE_DOCS}#redirect-uri-mismatch", "state": state}))
        session = self.fake.browser
        if session is None:
            return html(200, "Sign in to GitHub")
        login, approve = session
        if not approve:
            return redirect(with_query(redirect_uri, {
                "error": "access_denied", "error_description": "The user has denied your application access.",
                "error_uri": f"{AUTHORIZE_DOCS}#access-denied", "state": state}))
        grant = WebGrant(secrets.token_hex(10), app.client_id, login, parse_scopes(values.get("scope")),
                         redirect_uri, time.monotonic() + CODE_LIFETIME)
        self.fake.web_grants[grant.code] = grant
        return redirect(with_query(redirect_uri, {"code": grant.code, "state": state}))

    def device_page(self, request: Request) -> Response:
        return html(200, "Device Activation")
