"""GitHub REST v3 response bodies, field for field as api.github.com sends them."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from tests.support.fake_github_git import Commit, Signature
from tests.support.fake_github_state import (
    CheckRun,
    Hook,
    IssueComment,
    Pull,
    Repo,
    Review,
    Status,
    User,
    level_at_least,
    now_iso,
)

DOCS = "https://docs.github.com/rest"


def node_id(kind: str, number: int | str) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode().rstrip("=")


def iso(signature: Signature) -> str:
    return now_iso(signature.timestamp)


class Shapes:
    """Builds response bodies; every URL in them points back at the fake."""

    def __init__(self, web_url: str, api_url: str, account: Callable[[str], dict[str, Any]]):
        self.web = web_url
        self.api = api_url
        self.account = account  # login -> simple user/organization object

    def simple_user(self, login: str, user_id: int, kind: str = "User") -> dict[str, Any]:
        url = f"{self.api}/users/{login}"
        return {
            "login": login, "id": user_id, "node_id": node_id(kind, user_id),
            "avatar_url": f"{self.web}/avatars/u/{user_id}?v=4", "gravatar_id": "",
            "url": url, "html_url": f"{self.web}/{login}",
            "followers_url": f"{url}/followers", "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}", "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions", "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos", "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events", "type": kind,
            "user_view_type": "public", "site_admin": False,
        }

    def user(self, user: User, *, private: bool = False) -> dict[str, Any]:
        body = self.simple_user(user.login, user.id)
        body.update({
            "name": user.name, "company": None, "blog": "", "location": None, "email": user.email,
            "hireable": None, "bio": None, "twitter_username": None, "public_repos": 0,
            "public_gists": 0, "followers": 0, "following": 0,
            "created_at": user.created_at, "updated_at": user.created_at,
        })
        if private:
            body.update({"private_gists": 0, "total_private_repos": 0, "owned_private_repos": 0,
                         "disk_usage": 0, "collaborators": 0, "two_factor_authentication": True,
                         "plan": {"name": "free", "space": 976562499, "collaborators": 0,
                                  "private_repos": 10000}})
        return body

    def repo(self, repo: Repo, level: str | None) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}"
        open_pulls = sum(1 for pull in repo.pulls.values() if pull.state == "open")
        body: dict[str, Any] = {
            "id": repo.id, "node_id": node_id("Repository", repo.id), "name": repo.name,
            "full_name": repo.full_name, "private": repo.private, "owner": self.account(repo.owner),
            "html_url": html, "description": repo.description, "fork": False, "url": url,
        }
        for name, suffix in URL_TEMPLATES:
            body[name] = f"{url}/{suffix}"
        body.update({
            "created_at": repo.created_at, "updated_at": repo.created_at, "pushed_at": repo.created_at,
            "git_url": f"git://{self.web.split('://', 1)[1]}/{repo.full_name}.git",
            "ssh_url": f"git@{self.web.split('://', 1)[1]}:{repo.full_name}.git",
            "clone_url": repo.git.path.as_uri(), "svn_url": html, "homepage": None, "size": 1,
            "stargazers_count": 0, "watchers_count": 0, "language": None, "has_issues": True,
            "has_projects": True, "has_downloads": True, "has_wiki": True, "has_pages": False,
            "has_discussions": False, "forks_count": 0, "mirror_url": None, "archived": False,
            "disabled": False, "open_issues_count": open_pulls, "license": None,
            "allow_forking": True, "is_template": False, "web_commit_signoff_required": False,
            "topics": [], "visibility": "private" if repo.private else "public", "forks": 0,
            "open_issues": open_pulls, "watchers": 0, "default_branch": repo.default_branch,
            "network_count": 0, "subscribers_count": 0,
        })
        if level is not None:
            body["permissions"] = {
                "admin": level_at_least(level, "admin"), "maintain": level_at_least(level, "maintain"),
                "push": level_at_least(level, "write"), "triage": level_at_least(level, "triage"),
                "pull": True,
            }
        return body

    def _signature(self, signature: Signature) -> dict[str, Any]:
        return {"name": signature.name, "email": signature.email, "date": iso(signature)}

    def git_commit(self, repo: Repo, commit: Commit) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo.full_name}/git/commits/{commit.sha}"
        return {
            "sha": commit.sha, "node_id": node_id("Commit", commit.sha[:12]), "url": url,
            "html_url": f"{self.web}/{repo.full_name}/commit/{commit.sha}",
            "author": self._signature(commit.author), "committer": self._signature(commit.committer),
            "tree": {"sha": commit.tree, "url": f"{self.api}/repos/{repo.full_name}/git/trees/{commit.tree}"},
            "message": commit.message.rstrip("\n"),
            "parents": [{"sha": sha, "url": f"{self.api}/repos/{repo.full_name}/git/commits/{sha}",
                         "html_url": f"{self.web}/{repo.full_name}/commit/{sha}"} for sha in commit.parents],
            "verification": {"verified": False, "reason": "unsigned", "signature": None,
                             "payload": None, "verified_at": None},
        }

    def commit(self, repo: Repo, commit: Commit) -> dict[str, Any]:
        """The /commits/{sha} shape (a commit wrapping its git commit)."""
        url = f"{self.api}/repos/{repo.full_name}/commits/{commit.sha}"
        inner = self.git_commit(repo, commit)
        for key in ("sha", "node_id", "html_url", "parents"):
            del inner[key]
        inner["comment_count"] = 0
        return {
            "sha": commit.sha, "node_id": node_id("Commit", commit.sha[:12]), "commit": inner,
            "url": url, "html_url": f"{self.web}/{repo.full_name}/commit/{commit.sha}",
            "comments_url": f"{url}/comments", "author": None, "committer": None,
            "parents": [{"sha": sha, "url": f"{self.api}/repos/{repo.full_name}/commits/{sha}",
                         "html_url": f"{self.web}/{repo.full_name}/commit/{sha}"} for sha in commit.parents],
        }

    def branch(self, repo: Repo, name: str, commit: Commit) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo.full_name}/branches/{name}"
        return {
            "name": name, "commit": self.commit(repo, commit),
            "_links": {"self": url, "html": f"{self.web}/{repo.full_name}/tree/{name}"},
            "protected": False,
            "protection": {"enabled": False, "required_status_checks": {
                "enforcement_level": "off", "contexts": [], "checks": []}},
            "protection_url": f"{url}/protection",
        }

    def short_branch(self, repo: Repo, name: str, sha: str) -> dict[str, Any]:
        return {"name": name, "commit": {"sha": sha, "url": f"{self.api}/repos/{repo.full_name}/commits/{sha}"},
                "protected": False}

    def ref(self, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
        base = f"{self.api}/repos/{repo.full_name}/git"
        return {"ref": ref, "node_id": node_id("Ref", f"{repo.id}:{ref}"), "url": f"{base}/{ref}",
                "object": {"sha": sha, "type": "commit", "url": f"{base}/commits/{sha}"}}

    def hook(self, repo: Repo, hook: Hook) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo.full_name}/hooks/{hook.id}"
        config = dict(hook.config)
        if config.get("secret"):
            config["secret"] = "********"
        if hook.last_status is None:
            last = {"code": None, "status": "unused", "message": None}
        else:
            ok = 200 <= hook.last_status < 300
            last = {"code": hook.last_status, "status": "active" if ok else "failed",
                    "message": "OK" if ok else f"Invalid HTTP Response: {hook.last_status}"}
        return {
            "type": "Repository", "id": hook.id, "name": hook.name, "active": hook.active,
            "events": list(hook.events), "config": config, "updated_at": hook.updated_at,
            "created_at": hook.created_at, "url": url, "test_url": f"{url}/test",
            "ping_url": f"{url}/pings", "deliveries_url": f"{url}/deliveries", "last_response": last,
        }

    def _pull_end(self, repo: Repo, branch: str, sha: str | None, repo_body: dict[str, Any]) -> dict[str, Any]:
        return {"label": f"{repo.owner}:{branch}", "ref": branch, "sha": sha,
                "user": self.account(repo.owner), "repo": repo_body}

    def pull(self, repo: Repo, pull: Pull, head_sha: str | None, base_sha: str | None) -> dict[str, Any]:
        repo_url = f"{self.api}/repos/{repo.full_name}"
        url = f"{repo_url}/pulls/{pull.number}"
        html = f"{self.web}/{repo.full_name}/pull/{pull.number}"
        repo_body = self.repo(repo, None)
        return {
            "url": url, "id": pull.id, "node_id": node_id("PullRequest", pull.id), "html_url": html,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "issue_url": f"{repo_url}/issues/{pull.number}", "number": pull.number,
            "state": pull.state, "locked": False, "title": pull.title, "user": self.account(pull.login),
            "body": pull.body, "created_at": pull.created_at, "updated_at": pull.updated_at,
            "closed_at": pull.closed_at, "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha, "assignee": None, "assignees": [],
            "requested_reviewers": [], "requested_teams": [], "labels": [], "milestone": None,
            "draft": pull.draft, "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{repo_url}/pulls/comments{{/number}}",
            "comments_url": f"{repo_url}/issues/{pull.number}/comments",
            "statuses_url": f"{repo_url}/statuses/{head_sha}",
            "head": self._pull_end(repo, pull.head, head_sha, repo_body),
            "base": self._pull_end(repo, pull.base, base_sha, repo_body),
            "_links": {
                "self": {"href": url}, "html": {"href": html},
                "issue": {"href": f"{repo_url}/issues/{pull.number}"},
                "comments": {"href": f"{repo_url}/issues/{pull.number}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{repo_url}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{repo_url}/statuses/{head_sha}"},
            },
            "author_association": "OWNER" if pull.login.lower() == repo.owner.lower() else "CONTRIBUTOR",
            "auto_merge": None, "active_lock_reason": None, "merged": pull.merged,
            "mergeable": None if pull.state == "closed" else pull.mergeable, "rebaseable": None,
            "mergeable_state": "unknown" if pull.state == "closed" else pull.mergeable_state,
            "merged_by": self.account(pull.merged_by) if pull.merged_by else None,
            "comments": sum(1 for c in repo.comments.values() if c.number == pull.number),
            "review_comments": 0, "maintainer_can_modify": False, "commits": pull.commits,
            "additions": pull.additions, "deletions": pull.deletions,
            "changed_files": max(1, min(pull.additions + pull.deletions, 3000)),
        }

    def issue_comment(self, repo: Repo, comment: IssueComment) -> dict[str, Any]:
        """An issue (or pull request conversation) comment, as GET /repos/{o}/{r}/issues/comments/{id}."""
        url = f"{self.api}/repos/{repo.full_name}/issues/comments/{comment.id}"
        association = "OWNER" if comment.login.lower() == repo.owner.lower() else "COLLABORATOR"
        return {
            "url": url, "html_url": f"{self.web}/{repo.full_name}/pull/{comment.number}#issuecomment-{comment.id}",
            "issue_url": f"{self.api}/repos/{repo.full_name}/issues/{comment.number}", "id": comment.id,
            "node_id": node_id("IssueComment", comment.id), "user": self.account(comment.login),
            "created_at": comment.created_at, "updated_at": comment.updated_at,
            "author_association": association, "body": comment.body,
            "reactions": {"url": f"{url}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
                          "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
            "performed_via_github_app": None,
        }

    def review(self, repo: Repo, pull: Pull, review: Review) -> dict[str, Any]:
        pull_url = f"{self.api}/repos/{repo.full_name}/pulls/{pull.number}"
        html = f"{self.web}/{repo.full_name}/pull/{pull.number}#pullrequestreview-{review.id}"
        return {
            "id": review.id, "node_id": node_id("PullRequestReview", review.id),
            "user": self.account(review.login), "body": review.body, "state": review.state,
            "html_url": html, "pull_request_url": pull_url, "author_association": "COLLABORATOR",
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "submitted_at": review.submitted_at, "commit_id": review.commit_id,
        }

    def status(self, repo: Repo, sha: str, status: Status) -> dict[str, Any]:
        return {
            "url": f"{self.api}/repos/{repo.full_name}/statuses/{sha}", "id": status.id,
            "node_id": node_id("StatusContext", status.id), "state": status.state,
            "description": status.description, "target_url": status.target_url,
            "context": status.context, "created_at": status.created_at, "updated_at": status.created_at,
            "avatar_url": f"{self.web}/avatars/u/0?v=4",
        }

    def combined_status(self, repo: Repo, sha: str, statuses: list[Status]) -> dict[str, Any]:
        latest: dict[str, Status] = {}
        for status in statuses:
            latest[status.context] = status
        states = {status.state for status in latest.values()}
        if states & {"error", "failure"}:
            state = "failure"
        elif not states or "pending" in states:
            state = "pending"
        else:
            state = "success"
        url = f"{self.api}/repos/{repo.full_name}"
        return {
            "state": state, "statuses": [self.status(repo, sha, s) for s in latest.values()],
            "sha": sha, "total_count": len(latest), "repository": self.repo(repo, None),
            "commit_url": f"{url}/commits/{sha}", "url": f"{url}/commits/{sha}/status",
        }

    def check_run(self, repo: Repo, sha: str, run: CheckRun) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo.full_name}/check-runs/{run.id}"
        return {
            "id": run.id, "node_id": node_id("CheckRun", run.id), "head_sha": sha,
            "external_id": "", "url": url,
            "html_url": f"{self.web}/{repo.full_name}/runs/{run.id}", "details_url": None,
            "status": run.status, "conclusion": run.conclusion, "started_at": run.started_at,
            "completed_at": run.completed_at, "name": run.name,
            "output": {"title": None, "summary": None, "text": None, "annotations_count": 0,
                       "annotations_url": f"{url}/annotations"},
            "check_suite": {"id": run.id}, "app": None, "pull_requests": [],
        }


URL_TEMPLATES = (
    ("forks_url", "forks"), ("keys_url", "keys{/key_id}"),
    ("collaborators_url", "collaborators{/collaborator}"), ("teams_url", "teams"),
    ("hooks_url", "hooks"), ("issue_events_url", "issues/events{/number}"), ("events_url", "events"),
    ("assignees_url", "assignees{/user}"), ("branches_url", "branches{/branch}"),
    ("tags_url", "tags"), ("blobs_url", "git/blobs{/sha}"), ("git_tags_url", "git/tags{/sha}"),
    ("git_refs_url", "git/refs{/sha}"), ("trees_url", "git/trees{/sha}"),
    ("statuses_url", "statuses/{sha}"), ("languages_url", "languages"),
    ("stargazers_url", "stargazers"), ("contributors_url", "contributors"),
    ("subscribers_url", "subscribers"), ("subscription_url", "subscription"),
    ("commits_url", "commits{/sha}"), ("git_commits_url", "git/commits{/sha}"),
    ("comments_url", "comments{/number}"), ("issue_comment_url", "issues/comments{/number}"),
    ("contents_url", "contents/{+path}"), ("compare_url", "compare/{base}...{head}"),
    ("merges_url", "merges"), ("archive_url", "{archive_format}{/ref}"),
    ("downloads_url", "downloads"), ("issues_url", "issues{/number}"),
    ("pulls_url", "pulls{/number}"), ("milestones_url", "milestones{/number}"),
    ("notifications_url", "notifications{?since,all,participating}"),
    ("labels_url", "labels{/name}"), ("releases_url", "releases{/id}"),
    ("deployments_url", "deployments"),
)
