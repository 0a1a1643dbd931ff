"""Real bare git repositories behind the fake GitHub: every ref it reports or creates lives in git.

The hot paths of the API (read a ref, check an object, create a ref) go through dulwich, in this
process: it reads loose refs and packed-refs, and writes a loose ref through `<ref>.lock` and a
rename, exactly as git does, so `git fetch`/`git push` and the fake see the same repository. A git
subprocess per call would cap the fake at a few dozen branches per second. Everything else (commits,
moving and deleting refs, listings, rev-parse) runs git itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from dulwich.objects import object_class
from dulwich.refs import DiskRefsContainer, check_ref_format
from dulwich.repo import Repo as DulwichRepo

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
IDENTITY = ("Fake GitHub", "noreply@github.invalid")


class GitError(RuntimeError):
    """A git command failed; carries its stderr."""


@dataclass(frozen=True)
class Signature:
    name: str
    email: str
    timestamp: int
    offset: str  # "+0200"


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Signature
    committer: Signature
    message: str


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Git without the developer's configuration, with a fixed identity."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update({
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": IDENTITY[0], "GIT_AUTHOR_EMAIL": IDENTITY[1],
        "GIT_COMMITTER_NAME": IDENTITY[0], "GIT_COMMITTER_EMAIL": IDENTITY[1],
    })
    env.update(extra or {})
    return env


class BareRepo:
    """One bare repository on disk, driven by git plumbing commands."""

    def __init__(self, path: Path):
        self.path = path

    @cached_property
    def _dulwich(self) -> DulwichRepo:
        return DulwichRepo(str(self.path))

    @cached_property
    def _refs(self) -> DiskRefsContainer:
        """Loose refs and packed-refs (re-read whenever another process rewrites packed-refs)."""
        return DiskRefsContainer(str(self.path))

    def git(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["git", "--git-dir", str(self.path), *args], input=input, capture_output=True,
            text=True, env=_env(env), timeout=30,
        )
        if check and result.returncode != 0:
            raise GitError(f"git {' '.join(args)}: {result.stderr.strip()}")
        return result

    @classmethod
    def create(cls, path: Path, default_branch: str) -> BareRepo:
        """A bare repository whose default branch holds one commit with a README."""
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch", default_branch, str(path)],
                       check=True, capture_output=True, env=_env(), timeout=30)
        repo = cls(path)
        title = path.name.removesuffix(".git")
        repo.commit(default_branch, "Initial commit", {"README.md": f"# {title}\n"}, create=True)
        return repo

    def resolve(self, ref: str) -> str | None:
        """The commit sha a ref or sha names, or None."""
        result = self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return result.stdout.strip() or None

    def object_type(self, sha: str) -> str | None:
        """"commit", "tree", "blob" or "tag" (loose or packed object), or None when absent."""
        known = self._types.get(sha)
        if known is not None or not SHA_RE.match(sha):
            return known
        try:
            type_num, _ = self._dulwich.object_store.get_raw(sha.encode())
        except KeyError:
            return None
        found = self._types[sha] = object_class(type_num).type_name.decode()
        return found

    @cached_property
    def _types(self) -> dict[str, str]:
        """The type of each object read so far: objects never change, only appear."""
        return {}

    def refs(self, prefix: str = "refs/") -> dict[str, str]:
        """Every ref under `prefix` with the sha it points to, sorted by name."""
        output = self.git("for-each-ref", "--format=%(refname) %(objectname)", prefix).stdout
        pairs = (line.split(" ", 1) for line in output.splitlines() if line)
        return dict(sorted((name, sha) for name, sha in pairs))

    def ref_sha(self, ref: str) -> str | None:
        """The sha a full ref name (`refs/heads/main`) holds, loose or packed; None when absent."""
        try:
            sha = self._refs[ref.encode()]
        except (KeyError, ValueError):
            return None
        return sha.decode() if sha else None

    def valid_ref_name(self, ref: str) -> bool:
        """git check-ref-format's rules."""
        return check_ref_format(ref.encode())

    def create_ref(self, ref: str, sha: str) -> bool:
        """Creates `ref` at `sha` atomically; False when it already exists; GitError when another
        ref is in the way (`refs/heads/a/b` while `refs/heads/a` exists, or the other way round)."""
        name = ref.encode()
        if any(other.startswith(name + b"/") or name.startswith(other + b"/")
               for other in self._refs.get_packed_refs()):
            raise GitError(f"cannot lock ref '{ref}': a packed ref is in the way")
        try:
            created = self._refs.add_if_new(name, sha.encode())
        except OSError as error:  # a loose ref where this ref needs a directory
            raise GitError(f"cannot lock ref '{ref}': {error}") from None
        if created or self.ref_sha(ref) is not None:
            return created
        raise GitError(f"cannot lock ref '{ref}': a directory of refs is in the way")

    def move_ref(self, ref: str, new_sha: str, old_sha: str) -> None:
        self.git("update-ref", ref, new_sha, old_sha)

    def delete_ref(self, ref: str) -> None:
        self.git("update-ref", "-d", ref)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.git("merge-base", "--is-ancestor", ancestor, descendant, check=False).returncode == 0

    def read_commit(self, sha: str) -> Commit | None:
        if self.object_type(sha) != "commit":
            return None
        raw = self.git("cat-file", "commit", sha).stdout
        header, _, message = raw.partition("\n\n")
        tree, parents, people = "", [], {}
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key in ("author", "committer"):
                match = re.match(r"^(.*) <(.*)> (\d+) ([+-]\d{4})$", value)
                if match:
                    people[key] = Signature(match[1], match[2], int(match[3]), match[4])
        return Commit(sha, tree, tuple(parents), people["author"], people["committer"], message)

    def commit(self, branch: str, message: str, files: dict[str, str], *,
               author: tuple[str, str] | None = None, create: bool = False) -> str:
        """Writes `files` on top of `branch` (or as its first commit) and moves the branch; the new sha."""
        ref = f"refs/heads/{branch}"
        parent = self.ref_sha(ref)
        if parent is None and not create:
            raise GitError(f"no branch {branch}")
        with tempfile.TemporaryDirectory() as scratch:
            index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            if parent:
                self.git("read-tree", parent, env=index)
            for path, content in files.items():
                blob = self.git("hash-object", "-w", "--stdin", input=content).stdout.strip()
                self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
            tree = self.git("write-tree", env=index).stdout.strip()
        who = {}
        if author:
            who = {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1]}
        parent_args = ["-p", parent] if parent else []
        sha = self.git("commit-tree", tree, *parent_args, "-m", message, env=who).stdout.strip()
        self.git("update-ref", ref, sha, parent or "0" * 40)
        return sha
