"""The REST v3 endpoints of the fake GitHub (the subset PyGithub 2.x calls for Taskly)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request

from tests.support.fake_github_git import SHA_RE, GitError
from tests.support.fake_github_shapes import DOCS
from tests.support.fake_github_state import Hook, IssueComment, Repo, level_at_least, now_iso

if TYPE_CHECKING:
    from tests.support.fake_github import FakeGitHub

REFS_DOCS = f"{DOCS}/git/refs"
# Anonymous callers may use every GET except these (public repositories only, as on GitHub).
AUTH_REQUIRED = {"get_authenticated_user", "list_emails", "list_hooks", "get_hook", "list_user_repos"}
HOOK_READ_SCOPES = ("repo", "admin:repo_hook", "write:repo_hook", "read:repo_hook")
HOOK_WRITE_SCOPES = ("repo", "admin:repo_hook", "write:repo_hook")


class ApiError(Exception):
    """An error answer in GitHub's shape: {"message", "documentation_url", "status"} (+ "errors")."""

    def __init__(self, status: int, message: str, docs: str = DOCS, **extra: Any):
        super().__init__(message)
        self.status = status
        self.body = {"message": message, **extra, "documentation_url": docs, "status": str(status)}


def not_found(docs: str = DOCS) -> ApiError:
    return ApiError(404, "Not Found", docs)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One authenticated (or anonymous) API request as the handlers see it."""

    request: Request
    login: str | None
    scopes: tuple[str, ...]
    headers: dict[str, str] = field(default_factory=dict)

    def json_object(self, docs: str = DOCS) -> dict[str, Any]:
        raw = self.request.get_data(as_text=True)
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(400, "Problems parsing JSON", docs) from None
        if not isinstance(body, dict):
            raise ApiError(400, "Body should be a JSON object", docs)
        return body

    def require_scope(self, accepted: tuple[str, ...], docs: str = DOCS) -> None:
        """GitHub answers 404 when the token lacks every scope the endpoint accepts."""
        self.headers["X-Accepted-OAuth-Scopes"] = ", ".join(sorted(accepted))
        if not set(accepted) & set(self.scopes):
            raise not_found(docs)


def required(body: dict[str, Any], name: str, docs: str) -> Any:
    if body.get(name) is None:
        raise ApiError(422, f'Invalid request.\n\n"{name}" wasn\'t supplied.', docs)
    return body[name]


REPO = "/repos/<owner>/<name>"
ROUTES = [
    ("GET", "/user", "get_authenticated_user"),
    ("GET", "/user/emails", "list_emails"),
    ("GET", "/user/repos", "list_user_repos"),
    ("GET", "/users/<login>", "get_user"),
    ("GET", "/rate_limit", "get_rate_limit"),
    ("GET", "/repositories/<int:repo_id>", "get_repo_by_id"),
    ("GET", REPO, "get_repo"),
    ("GET", f"{REPO}/branches", "list_branches"),
    ("GET", f"{REPO}/branches/<path:branch>", "get_branch"),
    ("GET", f"{REPO}/git/ref/<path:ref>", "get_ref"),
    ("GET", f"{REPO}/git/refs", "list_refs"),
    ("GET", f"{REPO}/git/refs/<path:ref>", "get_refs_by_prefix"),
    ("GET", f"{REPO}/git/matching-refs/<path:ref>", "list_matching_refs"),
    ("POST", f"{REPO}/git/refs", "create_ref"),
    ("PATCH", f"{REPO}/git/refs/<path:ref>", "update_ref"),
    ("DELETE", f"{REPO}/git/refs/<path:ref>", "delete_ref"),
    ("GET", f"{REPO}/git/commits/<sha>", "get_git_commit"),
    ("GET", f"{REPO}/commits/<path:ref>/status", "get_combined_status"),
    ("GET", f"{REPO}/commits/<path:ref>/statuses", "list_statuses"),
    ("GET", f"{REPO}/commits/<path:ref>/check-runs", "list_check_runs"),
    ("GET", f"{REPO}/commits/<path:ref>", "get_commit"),
    ("GET", f"{REPO}/hooks", "list_hooks"),
    ("POST", f"{REPO}/hooks", "create_hook"),
    ("GET", f"{REPO}/hooks/<int:hook_id>", "get_hook"),
    ("PATCH", f"{REPO}/hooks/<int:hook_id>", "update_hook"),
    ("DELETE", f"{REPO}/hooks/<int:hook_id>", "delete_hook"),
    ("POST", f"{REPO}/hooks/<int:hook_id>/pings", "ping_hook"),
    ("GET", f"{REPO}/pulls", "list_pulls"),
    ("GET", f"{REPO}/pulls/<int:number>", "get_pull"),
    ("GET", f"{REPO}/pulls/<int:number>/reviews", "list_reviews"),
    ("GET", f"{REPO}/issues/<int:number>/comments", "list_issue_comments"),
    ("POST", f"{REPO}/issues/<int:number>/comments", "create_issue_comment"),
    ("GET", f"{REPO}/issues/comments/<int:comment_id>", "get_issue_comment"),
    ("PATCH", f"{REPO}/issues/comments/<int:comment_id>", "update_issue_comment"),
    ("DELETE", f"{REPO}/issues/comments/<int:comment_id>", "delete_issue_comment"),
]


def url_map(prefix: str) -> Map:
    return Map([Rule(prefix + path, endpoint=name, methods=[method]) for method, path, name in ROUTES],
               strict_slashes=False, merge_slashes=False)


class RestApi:
    """Handlers; each runs under the fake's lock and returns a Reply or raises ApiError."""

    def __init__(self, fake: FakeGitHub):
        self.fake = fake
        self.shapes = fake.shapes

    # -- helpers -------------------------------------------------------------------------------

    def repo(self, call: Call, owner: str, name: str, need: str = "read", docs: str = DOCS) -> Repo:
        """The repository if the caller may `need` on it; 404 otherwise, exactly like GitHub."""
        repo = self.fake.state_repo(f"{owner}/{name}")
        if repo is None:
            raise not_found(docs)
        level = repo.level(call.login)
        if level is None or (repo.private and "repo" not in call.scopes):
            raise not_found(docs)
        if not level_at_least(level, need):
            raise not_found(docs)
        if need != "read" and not {"repo", "public_repo"} & set(call.scopes):
            raise not_found(docs)
        return repo

    def paginate(self, call: Call, items: list[Any]) -> Reply:
        args = call.request.args
        try:
            page = max(int(args.get("page", 1)), 1)
            per_page = min(max(int(args.get("per_page", 30)), 1), self.fake.max_per_page)
        except ValueError:
            page, per_page = 1, min(30, self.fake.max_per_page)
        last = max((len(items) + per_page - 1) // per_page, 1)
        headers = {}
        if last > 1:
            base = call.request.base_url
            query = {key: value for key, value in args.items() if key not in ("page", "per_page")}
            links = []
            targets = [("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)]
            for rel, number in targets:
                if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last):
                    links.append(f'<{base}?{urlencode({**query, "per_page": per_page, "page": number})}>; rel="{rel}"')
            headers["Link"] = ", ".join(links)
        return Reply(200, items[(page - 1) * per_page: page * per_page], headers)

    def resolve(self, repo: Repo, ref: str, docs: str) -> str:
        sha = repo.git.resolve(ref) if ref else None
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {ref}", docs)
        return sha

    # -- users ---------------------------------------------------------------------------------

    def get_authenticated_user(self, call: Call) -> Reply:
        user = self.fake.state_user(call.login)
        return Reply(200, self.shapes.user(user, private=True))

    def list_emails(self, call: Call) -> Reply:
        call.require_scope(("user", "user:email"), f"{DOCS}/users/emails")
        user = self.fake.state_user(call.login)
        email = user.email or f"{user.id}+{user.login}@users.noreply.github.invalid"
        return self.paginate(call, [{"email": email, "primary": True, "verified": True,
                                     "visibility": "private"}])

    def list_user_repos(self, call: Call) -> Reply:
        """Repositories the user owns or collaborates on (explicit access: a public repository of
        others is not listed), private ones with the `repo` scope; each with their `permissions`."""
        docs = f"{DOCS}/repos/repos#list-repositories-for-the-authenticated-user"
        args = call.request.args
        if args.get("type") and (args.get("visibility") or args.get("affiliation")):
            raise ApiError(422, "Validation Failed", docs, errors=[
                {"resource": "Repository", "field": "type", "code": "invalid"}])
        affiliation = set((args.get("affiliation") or "owner,collaborator,organization_member").split(","))
        visibility = args.get("visibility", "all")
        login = (call.login or "").lower()
        found = []
        for repo in self.fake.repos.values():
            owned = repo.owner.lower() == login
            if not (("owner" in affiliation and owned)
                    or ("collaborator" in affiliation and not owned and login in repo.collaborators)):
                continue
            if (repo.private and "repo" not in call.scopes) or visibility not in ("all", "private" if repo.private else "public"):
                continue
            found.append(repo)
        sort = args.get("sort", "full_name")
        key = (lambda r: r.full_name.lower()) if sort == "full_name" else (lambda r: (r.created_at, r.id))
        found.sort(key=key, reverse=args.get("direction", "asc" if sort == "full_name" else "desc") == "desc")
        return self.paginate(call, [self.shapes.repo(repo, repo.level(call.login)) for repo in found])

    def get_user(self, call: Call, login: str) -> Reply:
        user = self.fake.state_user(login)
        if user is None:
            raise not_found(f"{DOCS}/users/users#get-a-user")
        return Reply(200, self.shapes.user(user))

    def get_rate_limit(self, call: Call) -> Reply:
        window = self.fake.dispatcher.rate_window(call)
        core = {"limit": window.limit, "remaining": window.remaining, "reset": window.reset_at,
                "used": window.used, "resource": "core"}
        return Reply(200, {"resources": {"core": core}, "rate": core})

    # -- repositories and branches ---------------------------------------------------------------

    def get_repo(self, call: Call, owner: str, name: str) -> Reply:
        repo = self.repo(call, owner, name, docs=f"{DOCS}/repos/repos#get-a-repository")
        return Reply(200, self.shapes.repo(repo, repo.level(call.login) if call.login else None))

    def get_repo_by_id(self, call: Call, repo_id: int) -> Reply:
        repo = next((r for r in self.fake.repos.values() if r.id == repo_id), None)
        if repo is None:
            raise not_found()
        return self.get_repo(call, repo.owner, repo.name)

    def list_branches(self, call: Call, owner: str, name: str) -> Reply:
        repo = self.repo(call, owner, name)
        heads = repo.git.refs("refs/heads/")
        branches = [self.shapes.short_branch(repo, ref.removeprefix("refs/heads/"), sha)
                    for ref, sha in heads.items()]
        return self.paginate(call, branches)

    def get_branch(self, call: Call, owner: str, name: str, branch: str) -> Reply:
        docs = f"{DOCS}/branches/branches#get-a-branch"
        repo = self.repo(call, owner, name, docs=docs)
        sha = repo.git.ref_sha(f"refs/heads/{branch}")
        if sha is None:
            raise ApiError(404, "Branch not found", docs)
        return Reply(200, self.shapes.branch(repo, branch, repo.git.read_commit(sha)))

    # -- git refs --------------------------------------------------------------------------------

    def get_ref(self, call: Call, owner: str, name: str, ref: str) -> Reply:
        docs = f"{REFS_DOCS}#get-a-reference"
        repo = self.repo(call, owner, name, docs=docs)
        sha = repo.git.ref_sha(f"refs/{ref}")
        if sha is None:
            raise not_found(docs)
        return Reply(200, self.shapes.ref(repo, f"refs/{ref}", sha))

    def list_refs(self, call: Call, owner: str, name: str) -> Reply:
        repo = self.repo(call, owner, name)
        return self.paginate(call, [self.shapes.ref(repo, r, s) for r, s in repo.git.refs().items()])

    def get_refs_by_prefix(self, call: Call, owner: str, name: str, ref: str) -> Reply:
        """The legacy form: the ref itself when it exists, else every ref it prefixes, else 404."""
        repo = self.repo(call, owner, name, docs=f"{REFS_DOCS}#get-a-reference")
        refs = repo.git.refs()
        full = f"refs/{ref}"
        if full in refs:
            return Reply(200, self.shapes.ref(repo, full, refs[full]))
        matching = [self.shapes.ref(repo, r, s) for r, s in refs.items() if r.startswith(full)]
        if not matching:
            raise not_found(f"{REFS_DOCS}#get-a-reference")
        return self.paginate(call, matching)

    def list_matching_refs(self, call: Call, owner: str, name: str, ref: str) -> Reply:
        repo = self.repo(call, owner, name)
        full = f"refs/{ref}"
        refs = repo.git.refs()
        return self.paginate(call, [self.shapes.ref(repo, r, s) for r, s in refs.items() if r.startswith(full)])

    def create_ref(self, call: Call, owner: str, name: str) -> Reply:
        docs = f"{REFS_DOCS}#create-a-reference"
        repo = self.repo(call, owner, name, need="write", docs=docs)
        body = call.json_object(docs)
        ref, sha = required(body, "ref", docs), required(body, "sha", docs)
        if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
            raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.", docs)
        if not isinstance(sha, str) or repo.git.object_type(sha) is None:
            raise ApiError(422, "Object does not exist", docs)
        if not repo.git.valid_ref_name(ref):
            raise ApiError(422, "Reference update failed", docs)
        try:
            created = repo.git.create_ref(ref, sha)
        except GitError:  # e.g. refs/heads/a/b while refs/heads/a exists
            raise ApiError(422, "Reference update failed", docs) from None
        if not created:
            raise ApiError(422, "Reference already exists", docs)
        location = f"{self.fake.api_url}/repos/{repo.full_name}/git/{ref}"
        return Reply(201, self.shapes.ref(repo, ref, sha), {"Location": location})

    def update_ref(self, call: Call, owner: str, name: str, ref: str) -> Reply:
        docs = f"{REFS_DOCS}#update-a-reference"
        repo = self.repo(call, owner, name, need="write", docs=docs)
        body = call.json_object(docs)
        sha = required(body, "sha", docs)
        full = f"refs/{ref}"
        old = repo.git.ref_sha(full)
        if old is None:
            raise ApiError(422, "Reference does not exist", docs)
        if not isinstance(sha, str) or repo.git.object_type(sha) != "commit":
            raise ApiError(422, "Object does not exist", docs)
        if not body.get("force") and not repo.git.is_ancestor(old, sha):
            raise ApiError(422, "Update is not a fast forward", docs)
        repo.git.move_ref(full, sha, old)
        return Reply(200, self.shapes.ref(repo, full, sha))

    def delete_ref(self, call: Call, owner: str, name: str, ref: str) -> Reply:
        docs = f"{REFS_DOCS}#delete-a-reference"
        repo = self.repo(call, owner, name, need="write", docs=docs)
        if repo.git.ref_sha(f"refs/{ref}") is None:
            raise ApiError(422, "Reference does not exist", docs)
        repo.git.delete_ref(f"refs/{ref}")
        return Reply(204, None)

    # -- commits and CI --------------------------------------------------------------------------

    def get_git_commit(self, call: Call, owner: str, name: str, sha: str) -> Reply:
        repo = self.repo(call, owner, name)
        commit = repo.git.read_commit(sha) if SHA_RE.match(sha) else None
        if commit is None:
            raise not_found(f"{DOCS}/git/commits#get-a-commit-object")
        return Reply(200, self.shapes.git_commit(repo, commit))

    def get_commit(self, call: Call, owner: str, name: str, ref: str) -> Reply:
        docs = f"{DOCS}/commits/commits#get-a-commit"
        repo = self.repo(call, owner, name, docs=docs)
        sha = self.resolve(repo, ref, docs)
        return Reply(200, self.shapes.commit(repo, repo.git.read_commit(sha)))

    def get_combined_status(self, call: Call, owner: str, name: str, ref: str) -> Reply:
        repo = self.repo(call, owner, name)
        sha = self.resolve(repo, ref, f"{DOCS}/commits/statuses")
        return Reply(200, self.shapes.combined_status(repo, sha, repo.statuses.get(sha, [])))

    def list_statuses(self, call: Call, owner: str, name: str, ref: str) -> Reply:
        repo = self.repo(call, owner, name)
        sha = self.resolve(repo, ref, f"{DOCS}/commits/statuses")
        statuses = [self.shapes.status(repo, sha, s) for s in reversed(repo.statuses.get(sha, []))]
        return self.paginate(call, statuses)

    def list_check_runs(self, call: Call, owner: str, name: str, ref: str) -> Reply:
        repo = self.repo(call, owner, name)
        sha = self.resolve(repo, ref, f"{DOCS}/checks/runs")
        args = call.request.args
        runs = [self.shapes.check_run(repo, sha, run) for run in repo.check_runs.get(sha, [])
                if args.get("check_name") in (None, run.name) and args.get("status") in (None, run.status)]
        page = self.paginate(call, runs)
        return Reply(200, {"total_count": len(runs), "check_runs": page.body}, page.headers)

    # -- hooks -----------------------------------------------------------------------------------

    def hook_repo(self, call: Call, owner: str, name: str, write: bool) -> Repo:
        """Hooks need admin on the repository and a hook scope; anything less is a 404."""
        docs = f"{DOCS}/repos/webhooks"
        call.require_scope(HOOK_WRITE_SCOPES if write else HOOK_READ_SCOPES, docs)
        return self.repo(call, owner, name, need="admin", docs=docs)

    def hook(self, repo: Repo, hook_id: int) -> Hook:
        hook = repo.hooks.get(hook_id)
        if hook is None:
            raise not_found(f"{DOCS}/repos/webhooks#get-a-repository-webhook")
        return hook

    def list_hooks(self, call: Call, owner: str, name: str) -> Reply:
        repo = self.hook_repo(call, owner, name, write=False)
        return self.paginate(call, [self.shapes.hook(repo, hook) for hook in repo.hooks.values()])

    def create_hook(self, call: Call, owner: str, name: str) -> Reply:
        docs = f"{DOCS}/repos/webhooks#create-a-repository-webhook"
        repo = self.hook_repo(call, owner, name, write=True)
        body = call.json_object(docs)
        config = body.get("config") or {}
        if not isinstance(config, dict) or not config.get("url"):
            raise ApiError(422, "Validation Failed", docs, errors=[
                {"resource": "Hook", "code": "custom", "message": "Config must contain a URL"}])
        if any(hook.config.get("url") == config["url"] for hook in repo.hooks.values()):
            raise ApiError(422, "Validation Failed", docs, errors=[
                {"resource": "Hook", "code": "custom", "message": "Hook already exists on this repository"}])
        config = {"content_type": "form", "insecure_ssl": "0", **config}
        hook = Hook(self.fake.next_id("hook"), body.get("name") or "web", config,
                    list(body.get("events") or ["push"]), bool(body.get("active", True)))
        repo.hooks[hook.id] = hook
        if self.fake.ping_hooks:
            self.fake.schedule_ping(repo, hook)
        location = f"{self.fake.api_url}/repos/{repo.full_name}/hooks/{hook.id}"
        return Reply(201, self.shapes.hook(repo, hook), {"Location": location})

    def get_hook(self, call: Call, owner: str, name: str, hook_id: int) -> Reply:
        repo = self.hook_repo(call, owner, name, write=False)
        return Reply(200, self.shapes.hook(repo, self.hook(repo, hook_id)))

    def update_hook(self, call: Call, owner: str, name: str, hook_id: int) -> Reply:
        repo = self.hook_repo(call, owner, name, write=True)
        hook = self.hook(repo, hook_id)
        body = call.json_object()
        if isinstance(body.get("config"), dict):
            hook.config = {**hook.config, **body["config"]}
        if body.get("events") is not None:
            hook.events = list(body["events"])
        hook.events += [event for event in body.get("add_events") or [] if event not in hook.events]
        hook.events = [event for event in hook.events if event not in (body.get("remove_events") or [])]
        if body.get("active") is not None:
            hook.active = bool(body["active"])
        hook.updated_at = now_iso()
        return Reply(200, self.shapes.hook(repo, hook))

    def delete_hook(self, call: Call, owner: str, name: str, hook_id: int) -> Reply:
        repo = self.hook_repo(call, owner, name, write=True)
        del repo.hooks[self.hook(repo, hook_id).id]
        return Reply(204, None)

    def ping_hook(self, call: Call, owner: str, name: str, hook_id: int) -> Reply:
        repo = self.hook_repo(call, owner, name, write=False)
        hook = self.hook(repo, hook_id)
        self.fake.schedule_ping(repo, hook)
        return Reply(204, None)

    # -- pull requests ---------------------------------------------------------------------------

    def list_pulls(self, call: Call, owner: str, name: str) -> Reply:
        repo = self.repo(call, owner, name)
        args = call.request.args
        state = args.get("state", "open")
        sort = args.get("sort", "created")
        if sort not in ("created", "updated", "popularity", "long-running"):
            raise ApiError(422, "Validation Failed", f"{DOCS}/pulls/pulls#list-pull-requests", errors=[
                {"resource": "Issue", "field": "sort", "code": "invalid"}])
        # GitHub's default direction is desc, except asc for popularity and long-running
        default = "asc" if sort in ("popularity", "long-running") else "desc"
        field = (lambda p: (p.updated_at, p.number)) if sort == "updated" else (lambda p: (p.created_at, p.number))
        pulls = sorted(repo.pulls.values(), key=field, reverse=args.get("direction", default) != "asc")
        selected = [
            pull for pull in pulls
            if (state == "all" or pull.state == state)
            and (not args.get("head") or args["head"] in (pull.head, f"{repo.owner}:{pull.head}"))
            and (not args.get("base") or args["base"] == pull.base)
        ]
        return self.paginate(call, [self.fake.pull_body(repo, pull) for pull in selected])

    def get_pull(self, call: Call, owner: str, name: str, number: int) -> Reply:
        docs = f"{DOCS}/pulls/pulls#get-a-pull-request"
        repo = self.repo(call, owner, name, docs=docs)
        pull = repo.pulls.get(number)
        if pull is None:
            raise not_found(docs)
        return Reply(200, self.fake.pull_body(repo, pull))

    def list_reviews(self, call: Call, owner: str, name: str, number: int) -> Reply:
        repo = self.repo(call, owner, name)
        pull = repo.pulls.get(number)
        if pull is None:
            raise not_found(f"{DOCS}/pulls/reviews#list-reviews-for-a-pull-request")
        return self.paginate(call, [self.shapes.review(repo, pull, review) for review in pull.reviews])

    # -- issue comments (a pull request's conversation) --------------------------------------------

    def comment_repo(self, call: Call, owner: str, name: str, docs: str) -> Repo:
        repo = self.repo(call, owner, name, docs=docs)
        if call.request.method != "GET" and not {"repo", "public_repo"} & set(call.scopes):
            raise not_found(docs)
        return repo

    def comment(self, repo: Repo, comment_id: int, docs: str) -> IssueComment:
        comment = repo.comments.get(comment_id)
        if comment is None:
            raise not_found(docs)
        return comment

    def list_issue_comments(self, call: Call, owner: str, name: str, number: int) -> Reply:
        docs = f"{DOCS}/issues/comments#list-issue-comments"
        repo = self.comment_repo(call, owner, name, docs)
        if number not in repo.pulls:
            raise not_found(docs)
        found = sorted((c for c in repo.comments.values() if c.number == number), key=lambda c: c.id)
        return self.paginate(call, [self.shapes.issue_comment(repo, c) for c in found])

    def create_issue_comment(self, call: Call, owner: str, name: str, number: int) -> Reply:
        docs = f"{DOCS}/issues/comments#create-an-issue-comment"
        repo = self.comment_repo(call, owner, name, docs)
        if number not in repo.pulls:
            raise not_found(docs)
        body = required(call.json_object(docs), "body", docs)
        if not isinstance(body, str) or not body.strip() or len(body) > 65536:
            raise ApiError(422, "Validation Failed", docs, errors=[
                {"resource": "IssueComment", "code": "custom", "field": "body",
                 "message": "body is too long (maximum is 65536 characters)" if isinstance(body, str)
                 and len(body) > 65536 else "body cannot be blank"}])
        comment = IssueComment(self.fake.next_id("comment"), number, self.fake._login(call.login), body)
        repo.comments[comment.id] = comment
        repo.pulls[number].updated_at = now_iso()
        shape = self.shapes.issue_comment(repo, comment)
        return Reply(201, shape, {"Location": shape["url"]})

    def get_issue_comment(self, call: Call, owner: str, name: str, comment_id: int) -> Reply:
        docs = f"{DOCS}/issues/comments#get-an-issue-comment"
        repo = self.comment_repo(call, owner, name, docs)
        return Reply(200, self.shapes.issue_comment(repo, self.comment(repo, comment_id, docs)))

    def update_issue_comment(self, call: Call, owner: str, name: str, comment_id: int) -> Reply:
        docs = f"{DOCS}/issues/comments#update-an-issue-comment"
        repo = self.comment_repo(call, owner, name, docs)
        comment = self.comment(repo, comment_id, docs)
        if comment.login.lower() != call.login.lower() and not level_at_least(repo.level(call.login), "write"):
            raise ApiError(403, "Must have admin rights to Repository.", docs)
        body = required(call.json_object(docs), "body", docs)
        if not isinstance(body, str) or not body.strip():
            raise ApiError(422, "Validation Failed", docs, errors=[
                {"resource": "IssueComment", "code": "custom", "field": "body", "message": "body cannot be blank"}])
        comment.body, comment.updated_at = body, now_iso()
        return Reply(200, self.shapes.issue_comment(repo, comment))

    def delete_issue_comment(self, call: Call, owner: str, name: str, comment_id: int) -> Reply:
        docs = f"{DOCS}/issues/comments#delete-an-issue-comment"
        repo = self.comment_repo(call, owner, name, docs)
        comment = self.comment(repo, comment_id, docs)
        if comment.login.lower() != call.login.lower() and not level_at_least(repo.level(call.login), "write"):
            raise ApiError(403, "Must have admin rights to Repository.", docs)
        del repo.comments[comment.id]
        return Reply(204, None)
