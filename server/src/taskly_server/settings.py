"""One Settings class for every server process, read from `TASKLY_*` variables (and `.env`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASKLY_", env_file=".env", extra="ignore")

    database_url: str | None = None
    """Postgres URL (postgresql+asyncpg://…); absent → an embedded Postgres under `home`."""
    redis_url: str | None = None
    """Redis URL: SAQ queue and realtime fan-out go through Redis when set, else Postgres."""
    secret_key: SecretStr | None = None
    """Signs tokens and derives encryption keys; generated once (0600 file) in embedded mode."""
    home: Path | None = None
    """Where embedded data lives; the user data directory when unset."""
    dev_login: bool = False
    """Allow `POST /api/v1/auth/dev-login` (sign in by name, no GitHub). Never in production."""
    public_url: str = "http://127.0.0.1:8000"
    """The URL GitHub and browsers reach this server at (webhooks, OAuth callback)."""
    github_api_url: str = "https://api.github.com"
    """GitHub's REST base URL (GitHub Enterprise, test fakes)."""
    github_oauth_url: str = "https://github.com"
    """GitHub's OAuth base URL (device flow and browser login)."""
    github_client_id: str | None = None
    """The GitHub OAuth app's client id."""
    github_client_secret: SecretStr | None = None
    """The GitHub OAuth app's client secret."""
    access_token_ttl: int = Field(default=15 * 60, ge=10)
    """Lifetime of an access token, in seconds."""
    refresh_token_ttl: int = Field(default=7 * 24 * 3600, ge=60)
    """Lifetime of a refresh token, in seconds."""
    feed_retention_days: float = Field(default=30.0, gt=0)
    """How long change-feed rows are kept; older cursors get 410 and reload a snapshot."""
    feed_poll_interval: float = Field(default=3.0, gt=0)
    """Seconds between checks of the feed heads: heals realtime notices lost in transit."""
    ws_auth_timeout: float = Field(default=5.0, gt=0)
    """Seconds a new WebSocket has to send its `auth` message."""
    ws_ping_interval: float = Field(default=20.0, gt=0)
    """Seconds between the server's `ping` messages on each WebSocket."""
    ws_ping_timeout: float = Field(default=20.0, gt=0)
    """A WebSocket silent this many seconds after a `ping` is dropped."""
    db_pool_size: int = Field(default=20, ge=1)
    """Connections kept by each server process."""
    log_level: str = "INFO"
    """Log level of the structured JSON logs."""
    queue_name: str = Field(default="taskly", min_length=1, max_length=100)
    """Name of the SAQ job queue (deployments sharing one Redis or database use different names)."""
    worker_in_process: bool | None = None
    """Run the SAQ worker inside each server process; unset: only on the embedded Postgres."""

    @property
    def data_dir(self) -> Path:
        """Embedded Postgres data and the generated secret live here."""
        if self.home is not None:
            return self.home / "server"
        import platformdirs

        return Path(platformdirs.user_data_dir("taskly")) / "server"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def secret(self) -> str:
        """The secret key; only valid after `ensure_secret_key`."""
        assert self.secret_key is not None, "secret key not configured"
        return self.secret_key.get_secret_value()


class SettingsError(Exception):
    """The configuration cannot run a server."""


def ensure_secret_key(settings: Settings) -> Settings:
    """Fill in the secret key: generated once and kept 0600 in embedded mode, required otherwise."""
    if settings.secret_key is not None:
        return settings
    if not settings.embedded:
        raise SettingsError("TASKLY_SECRET_KEY is required when TASKLY_DATABASE_URL is set")
    import os
    import secrets

    path = settings.data_dir / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return settings.model_copy(update={"secret_key": SecretStr(path.read_text().strip())})
