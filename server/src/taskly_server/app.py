"""create_app(settings): plugins, dependency injection, routes and the one error handler."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import ProblemDetailsPlugin
from sqlalchemy.ext.asyncio import AsyncSession

from .db.session import create_engine, create_sessionmaker, dispose
from .domain.activity import controllers as activity
from .domain.auth import controllers as auth
from .domain.auth.controllers import provide_principal
from .domain.boards import controllers as boards
from .domain.cards import controllers as cards
from .domain.feed import controllers as feed
from .domain.feed.reads import HeldFeed
from .domain.github import controllers as github
from .domain.health import controllers as health
from .domain.jobs import controllers as jobs
from .domain.labels import controllers as labels
from .domain.notifications import controllers as notifications
from .domain.pulls import controllers as pulls
from .domain.repositories import controllers as repositories
from .domain.sprints import controllers as sprints
from .domain.webhooks import controllers as webhooks
from .domain.workspaces import controllers as workspaces
from .errors import PROBLEM_DETAILS
from .lib.deadlines import Deadline, bounded
from .lib.json_bodies import json_request_class
from .lib.openapi import document_problems, render_plugins
from .lib.protection import Protection, largest_body_limit
from .lib.rate_limits import RateLimiter
from .lib.rendered import Rendered
from .observability import instrument
from .realtime import ROUTES as REALTIME_ROUTES
from .realtime import create_channels
from .realtime import lifespan as realtime_lifespan
from .settings import Settings
from .worker import queue_lifespan


async def provide_db(state: State) -> AsyncGenerator[AsyncSession, None]:
    async with state.sessionmaker() as session:
        yield session


def provide_settings(state: State) -> Settings:
    return state.settings


def create_app(settings: Settings) -> Litestar:
    """The ASGI app; `settings.database_url` must point at a migrated database."""
    assert settings.database_url, "create_app needs a database URL (start embedded Postgres first)"

    limiter = RateLimiter(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        engine = create_engine(settings.database_url, settings.db_pool_size,
                               connect_timeout=settings.db_connect_timeout,
                               statement_timeout=settings.db_statement_timeout)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.rendered = Rendered(settings.rendered_cache_mb * 2**20)
        app.state.held_feed = HeldFeed()
        try:
            yield
        finally:
            await bounded(limiter.close(), 2, "rate limiter")
            await bounded(dispose(engine), 2, "database pool")

    app = Litestar(
        route_handlers=[*health.ROUTES, *auth.ROUTES, *workspaces.ROUTES, *boards.ROUTES,
                        *cards.ROUTES, *feed.ROUTES, *REALTIME_ROUTES,
                        *github.ROUTES, *repositories.ROUTES, *jobs.ROUTES,
                        *webhooks.ROUTES, *pulls.ROUTES, *notifications.ROUTES, *sprints.ROUTES,
                        *labels.ROUTES, *activity.ROUTES],
        state=State({"settings": settings, "after_commit": [], "rate_limiter": limiter}),
        lifespan=[lifespan, queue_lifespan, realtime_lifespan],
        dependencies={
            "db": Provide(provide_db),
            "principal": Provide(provide_principal),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        plugins=[ProblemDetailsPlugin(PROBLEM_DETAILS), create_channels(settings)],
        request_class=json_request_class(settings.json_max_depth),
        # gzip for answers over 1 KB when the client accepts it; level 1: a 360 KB board shrinks
        # to ~6 % in ~1 ms of CPU (level 9, the default, costs ~3.5x that for 1 % less)
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024, gzip_compress_level=1),
        openapi_config=OpenAPIConfig(
            title="Taskly", version="1.0.0", path="/schema", render_plugins=render_plugins(),
            components=Components(security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT or API token"),
            }),
            security=[{"BearerToken": []}],
        ),
        # each route's own limit is enforced by `Protection` before reading; this is the backstop
        request_max_body_size=largest_body_limit(settings),
        logging_config=None,  # observability.configure_logging owns logging
        debug=False,
    )
    document_problems(app.routes)
    app.asgi_handler = Protection(Deadline(app.asgi_handler, settings.request_timeout),
                                  settings, limiter)
    return instrument(app)
