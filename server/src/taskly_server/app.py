"""create_app(settings): plugins, dependency injection, routes and the one error handler."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import ProblemDetailsPlugin
from sqlalchemy.ext.asyncio import AsyncSession

from .db.session import create_engine, create_sessionmaker
from .domain.auth import controllers as auth
from .domain.auth.dependencies import provide_principal
from .domain.boards import controllers as boards
from .domain.cards import controllers as cards
from .domain.github import controllers as github
from .domain.health import controllers as health
from .domain.jobs import controllers as jobs
from .domain.pulls import controllers as pulls
from .domain.repositories import controllers as repositories
from .domain.sync import controllers as sync
from .domain.webhooks import controllers as webhooks
from .domain.workspaces import controllers as workspaces
from .errors import PROBLEM_DETAILS
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

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        engine = create_engine(settings.database_url, settings.db_pool_size)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        try:
            yield
        finally:
            await engine.dispose()

    return instrument(Litestar(
        route_handlers=[*health.ROUTES, *auth.ROUTES, *workspaces.ROUTES, *boards.ROUTES,
                        *cards.ROUTES, *sync.ROUTES, *REALTIME_ROUTES,
                        *github.ROUTES, *repositories.ROUTES, *jobs.ROUTES,
                        *webhooks.ROUTES, *pulls.ROUTES],
        state=State({"settings": settings, "after_commit": []}),
        lifespan=[lifespan, queue_lifespan, realtime_lifespan],
        dependencies={
            "db": Provide(provide_db),
            "principal": Provide(provide_principal),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        plugins=[ProblemDetailsPlugin(PROBLEM_DETAILS), create_channels(settings)],
        openapi_config=OpenAPIConfig(
            title="Taskly", version="1.0.0", path="/schema",
            components=Components(security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT or API token"),
            }),
            security=[{"BearerToken": []}],
        ),
        request_max_body_size=10 * 1024 * 1024,
        logging_config=None,  # observability.configure_logging owns logging
        debug=False,
    ))
