"""Routes: sign in with GitHub (device flow and browser flow), create a card's branch, and list
the repositories you can connect."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.params import Parameter, QueryParameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import (
    AuthTokens,
    CreateBranch,
    CreateBranchOut,
    DeviceCodeOut,
    DevicePoll,
    GitHubRepositoryOut,
)

from ...integrations.github.oauth import DEVICE_ERRORS, GitHubOAuth, problem
from ...lib.mutation import execute
from ...lib.principal import Principal
from .available import AvailableRepositories
from .branches import BranchService
from .services import STATE_COOKIE, STATE_TTL, GitHubAccounts, check_state, new_state

COOKIE_PATH = "/api/v1/auth/github"
QUERY_VALUE = Parameter(default=None, required=False, max_length=2000)


class GitHubAuthController(Controller):
    path = "/api/v1/auth/github"
    tags = ["auth"]
    security = []

    @post("/device", status_code=200)
    async def device(self, state: State) -> DeviceCodeOut:
        """Start `taskly login`: show `user_code`, send the user to `verification_uri`, then poll
        `/device/poll` every `interval` seconds until it answers tokens."""
        return await GitHubOAuth(state.settings).device_code()

    @post("/device/poll", status_code=200)
    async def device_poll(self, data: DevicePoll, state: State) -> AuthTokens:
        """Tokens once the user approved on GitHub; until then 428 `authorization_pending` or
        `slow_down` (with the new `interval`); 410 `expired_token`, 403 `access_denied`."""
        oauth = GitHubOAuth(state.settings)
        github_token = await oauth.poll_device(data.device_code)
        return await _sign_in(state, oauth, github_token)

    @get("/login", status_code=302)
    async def login(self, state: State) -> Redirect:
        """The browser flow: off to GitHub's consent page, back at `/callback`."""
        oauth = GitHubOAuth(state.settings)
        token, nonce = new_state(state.settings.secret())
        secure = state.settings.public_url.startswith("https://")
        cookie = Cookie(key=STATE_COOKIE, value=nonce, path=COOKIE_PATH, max_age=STATE_TTL,
                        httponly=True, samesite="lax", secure=secure)
        return Redirect(oauth.authorize_url(token, _callback_url(state)), status_code=302,
                        cookies=[cookie])

    @get("/callback", status_code=200)
    async def callback(self, request: Request, state: State, code: str | None = QUERY_VALUE,
                       github_state: str | None = QueryParameter(name="state", default=None, required=False,
                                                                 max_length=2000),
                       error: str | None = QUERY_VALUE) -> Response[AuthTokens]:
        """Where GitHub sends the browser back: the state is checked, the code exchanged."""
        oauth = GitHubOAuth(state.settings)
        check_state(state.settings.secret(), github_state, request.cookies.get(STATE_COOKIE))
        if error is not None or not code:
            status, error_code, title, detail = DEVICE_ERRORS["access_denied"]
            raise problem(status, error_code, title, detail)
        github_token = await oauth.exchange_code(code, _callback_url(state))
        tokens = await _sign_in(state, oauth, github_token)
        response = Response(tokens)
        response.delete_cookie(STATE_COOKIE, path=COOKIE_PATH)
        return response


def _callback_url(state: State) -> str:
    return f"{state.settings.public_url.rstrip('/')}/api/v1/auth/github/callback"


async def _sign_in(state: State, oauth: GitHubOAuth, github_token: str) -> AuthTokens:
    profile = await oauth.profile(github_token)
    async with state.sessionmaker() as db, db.begin():
        return await GitHubAccounts(db, state.settings).sign_in(profile, github_token)


@post("/api/v1/cards/{card_ref:str}/create-branch", status_code=202, tags=["cards"])
async def create_branch(request: Request, principal: Principal, state: State, card_ref: str,
                        data: CreateBranch | None = None) -> Response[CreateBranchOut]:
    """Create the card's branch on GitHub in a job (202 with its id; a running job is returned
    again). When it is done the card records the branch, is assigned to you and moves to in
    progress. 409 `no_repository`: the board has no connected repository; create it locally."""
    body = data or CreateBranch()
    return await execute(request, principal,
                         lambda m: BranchService(m, state.queue).request(principal, card_ref, body),
                         202)


@get("/api/v1/github/repositories", tags=["repositories"])
async def available_repositories(principal: Principal, db: AsyncSession, state: State,
                                 admin: bool = False) -> list[GitHubRepositoryOut]:
    """Your repositories on GitHub (`GET /user/repos`, every page, with your own token), by name;
    `admin=true`: only those you can administer, which `taskly repo connect` offers. 409
    `github_not_linked`: sign in with GitHub first (or again); 502 `github_unavailable`."""
    return await AvailableRepositories(db, state.settings).list(principal.user_id, admin_only=admin)


ROUTES = [GitHubAuthController, create_branch, available_repositories]
