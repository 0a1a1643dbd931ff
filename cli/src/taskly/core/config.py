"""Where the server, workspace and board come from: flags > env > .taskly.toml > user config."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_FILE = ".taskly.toml"
KEYS = ("server", "workspace", "board")


@dataclass
class Config:
    server: str | None = None
    workspace: str | None = None
    board: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    """Where each value came from: flag, env, project or user."""
    project: dict[str, Any] = field(default_factory=dict)
    """The current repository's .taskly.toml (branch template, repository, require_key …)."""
    project_root: Path | None = None
    user: dict[str, Any] = field(default_factory=dict)
    user_path: Path | None = None


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest folder holding .taskly.toml or .git, walking up from `start`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file() or (folder / ".git").exists():
            return folder
    return None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError) as exc:
        from .errors import UsageError

        raise UsageError(f"cannot read {path}: {exc}") from None


def user_config_path(environ: dict[str, str] | None = None) -> Path:
    from .paths import config_dir

    return config_dir(environ) / "config.toml"


def resolve(flags: Any, environ: dict[str, str] | None = None, cwd: Path | None = None) -> Config:
    environ = dict(os.environ) if environ is None else environ
    user_path = user_config_path(environ)
    user = read_toml(user_path)
    root = find_project_root(cwd)
    project = read_toml(root / PROJECT_FILE) if root else {}
    config = Config(project=project, project_root=root, user=user, user_path=user_path)
    for key in KEYS:
        candidates = (
            ("flag", getattr(flags, key, None)),
            ("env", environ.get(f"TASKLY_{key.upper()}")),
            ("project", project.get(key)),
            ("user", user.get(key)),
        )
        for source, value in candidates:
            if value:
                _check(key, value, _where(source, key, root, user_path))
                setattr(config, key, str(value).rstrip("/") if key == "server" else str(value))
                config.sources[key] = source
                break
    return config


def _where(source: str, key: str, root: Path | None, user_path: Path) -> str:
    return {"flag": f"--{key}", "env": f"TASKLY_{key.upper()}",
            "project": str((root or Path()) / PROJECT_FILE), "user": str(user_path)}[source]


def _check(key: str, value: Any, where: str) -> None:
    """A value of the wrong kind is a usage error naming where it came from (never a later
    `not logged in to 42`, nor an offline error for a server that is not a URL)."""
    from .errors import UsageError

    if not isinstance(value, str):
        raise UsageError(f"{key} in {where} must be a string, not {value!r}")
    if key == "server" and not value.strip().lower().startswith(("http://", "https://")):
        raise UsageError(f"{key} {value!r} (from {where}) is not a URL: give http://HOST or https://HOST")


def save_user(path: Path, **values: Any) -> None:
    """Merge `values` into the user config file (None removes a key)."""
    import tomli_w

    data = read_toml(path)
    for key, value in values.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    from .paths import private_dir

    private_dir(path.parent)  # the folder of the credentials file too
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(data))
    tmp.replace(path)


def write_project(root: Path, values: dict[str, Any]) -> Path:
    import tomli_w

    path = root / PROJECT_FILE
    data = {**read_toml(path), **{k: v for k, v in values.items() if v is not None}}
    path.write_text(tomli_w.dumps(data))
    return path
