"""Job results that carry a secret: encrypted at rest in the queue, shown to the enqueuer only."""

from __future__ import annotations

import base64
from typing import Any

from saq import Job

from ...integrations.github.crypto import UndecryptableSecret, secret_box
from ...lib.principal import Principal
from ...settings import Settings

SECRET_FIELD = "secret_encrypted"


def result_context(job_key: str) -> str:
    return f"job-result:{job_key}"


def seal(settings: Settings, job_key: str, secret: str) -> str:
    """A secret as it is stored in a job result (the queue never holds it in clear)."""
    sealed = secret_box(settings.secret()).encrypt(secret, result_context(job_key))
    return base64.b64encode(sealed).decode()


def visible_result(settings: Settings, principal: Principal, job: Job) -> Any:
    """The job's result for this caller: a sealed secret opened for the enqueuer, dropped for others."""
    result = job.result
    if not isinstance(result, dict) or SECRET_FIELD not in result:
        return result
    shown = {key: value for key, value in result.items() if key != SECRET_FIELD}
    if (job.meta or {}).get("user_id") == str(principal.user_id):
        try:
            sealed = base64.b64decode(result[SECRET_FIELD])
            shown["secret"] = secret_box(settings.secret()).decrypt(sealed, result_context(job.key))
        except (ValueError, UndecryptableSecret):
            shown["secret"] = None
    return shown
