"""One Settings class for every server process, read from `TASKLY_*` variables (and `.env`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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
    db_connect_timeout: float = Field(default=5.0, gt=0)
    """Seconds to open a PostgreSQL connection, or to wait for a free one in the pool; then 503."""
    db_statement_timeout: float = Field(default=30.0, gt=0)
    """Longest a server's SQL statement may run (`statement_timeout`; also the wait on a silent database)."""
    request_timeout: float = Field(default=10.0, gt=0)
    """Seconds an HTTP request may take before it is answered 503 (WebSockets are exempt)."""
    shutdown_timeout: float = Field(default=10.0, gt=0)
    """Seconds from SIGTERM to exit: WebSockets are closed (1001), requests in flight finish."""
    log_level: str = "INFO"
    """Log level of the structured JSON logs."""
    queue_name: str = Field(default="taskly", min_length=1, max_length=100)
    """Name of the SAQ job queue (deployments sharing one Redis or database use different names)."""
    worker_in_process: bool | None = None
    """Run the SAQ worker inside each server process; unset: only on the embedded Postgres."""
    sentry_dsn: SecretStr | None = None
    """Sentry DSN for reports of unhandled server and worker errors (credentials scrubbed); unset: off."""
    body_limit: int = Field(default=1024 * 1024, ge=1024, le=25 * 1024 * 1024)
    """Largest request body in bytes (card, board, column, comment writes …): a larger one gets 413
    before it is read, from its Content-Length or as soon as a chunked body passes the limit."""
    body_limit_auth: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    """Largest body of the sign-in, refresh, logout, API-token and invitation routes."""
    body_limit_bulk: int = Field(default=4 * 1024 * 1024, ge=1024, le=25 * 1024 * 1024)
    """Largest body of `POST /api/v1/cards/bulk-update` (up to 500 card patches)."""
    body_limit_webhook: int = Field(default=25 * 1024 * 1024, ge=1024, le=25 * 1024 * 1024)
    """Largest GitHub webhook delivery (GitHub sends at most 25 MB); its signature is checked on
    the raw bytes before the payload is parsed."""
    large_bodies_at_once: int = Field(default=2, ge=1, le=64)
    """Request bodies over 1 MB each process reads and parses at once; the others wait their turn
    (up to 30 s, then 503), so a burst of large bodies cannot exhaust memory."""
    rendered_cache_mb: int = Field(default=64, ge=0, le=4096)
    """Documents each process keeps as it rendered them (lib/rendered.py `Rendered`)."""
    snapshot_split_at: int = Field(default=2000, ge=1)
    """Cards past which a snapshot's are rendered by two Postgres processes at once."""
    json_max_depth: int = Field(default=64, ge=2, le=512)
    """Deepest nesting of arrays and objects a JSON body may have; deeper → 400."""
    rate_limit_user: int = Field(default=100, ge=0)
    """Requests per user (by bearer token's user) per `rate_limit_window`; 0: no limit. Over it → 429."""
    rate_limit_ip: int = Field(default=1000, ge=0)
    """Requests per client IP per `rate_limit_window`; 0: no limit. Webhooks, health, metrics and
    the schema are exempt. Counted in Redis when `redis_url` is set (shared by replicas)."""
    rate_limit_window: Literal["second", "minute", "hour"] = "minute"
    """The period the rate limits are counted over (a token bucket refilling evenly across it)."""
    consumer_sweep_interval: int = Field(default=2, ge=1, le=5)
    """Seconds between a worker's looks for feed consumers behind their workspace (heals lost notices)."""
    test_clock_file: Path | None = None
    """Tests only: a file holding an ISO time the reminders cron and the feed consumers take as
    now (read at each use; an empty or missing file is the real clock). Never set in production."""
    test_consumer_crash: str | None = None
    """Tests only: the worker exits abruptly after consumer NAME's effects, before its commit."""

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
