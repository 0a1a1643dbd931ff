"""`GET /api/v1/jobs/{job_id}`: follow background work (branch creation, repository connection)."""

from __future__ import annotations

from litestar import get
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import JobOut

from ...lib.principal import Principal
from ..github.results import visible_result
from .services import JobService, job_out


@get("/api/v1/jobs/{job_id:str}", tags=["jobs"])
async def read_job(principal: Principal, db: AsyncSession, state: State, job_id: str) -> JobOut:
    """A job you started (or may follow): queued, active, complete (with `result`) or failed
    (with `error`, one line). Poll it, or wait for the change it makes on the WebSocket."""
    job = await JobService(db, state.queue).get(principal, job_id)
    return job_out(job, visible_result(state.settings, principal, job))


ROUTES = [read_job]
