"""The migrations and `db/models.py` describe the same schema: a database migrated to head has
every table, column, index and constraint the models declare, and nothing they don't (alembic's
autogenerate comparison finds no difference). Catches a model edited without its migration and a
migration whose names differ from the model's. SAQ's own saq_* tables live in the same database
and are not ours: one is made here so the comparison meets one whatever ran before."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from taskly_server.db.base import include_name
from taskly_server.db.models import Base


def test_a_migrated_database_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url.replace("+asyncpg", "+psycopg"))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS saq_probe (id int PRIMARY KEY)")
            conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS saq_probe_idx ON saq_probe (id)")
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name})
            differences = compare_metadata(context, Base.metadata)
            conn.rollback()
    finally:
        engine.dispose()
    assert differences == []
