"""JSON request bodies decoded with limits, and off the event loop when large.

`JsonRequest` is the app's request class: its `json()`, which Litestar calls for a route's `data`
body, reads the body (already bounded by `lib.protection`) and decodes it, so that:

- nesting deeper than `TASKLY_JSON_MAX_DEPTH` is a 400 — so is nesting deep enough to exhaust the
  decoder's recursion (`RecursionError`), which used to be a 500 on every JSON route;
- an object with more than `MAX_MEMBERS` members is a 400 (no body of the API has one: the
  validator would otherwise build one error per unknown key);
- a body over `THREAD_THRESHOLD` bytes is decoded and checked in a worker thread, so the event
  loop keeps answering other requests and WebSockets meanwhile.
"""

from __future__ import annotations

from typing import Any, ClassVar

import anyio.to_thread
import msgspec
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.types import Empty

THREAD_THRESHOLD = 256 * 1024
MAX_MEMBERS = 1000
_CONTAINERS = (dict, list)


class BadJson(HTTPException):
    status_code = 400


def decode(body: bytes, max_depth: int) -> Any:
    """The JSON value of `body`; `BadJson` when it is malformed, too deep or too wide."""
    try:
        value = msgspec.json.decode(body)
    except RecursionError:
        raise BadJson(detail=f"the JSON body is nested more than {max_depth} levels deep") from None
    except msgspec.DecodeError as exc:
        raise BadJson(detail=f"the body is not valid JSON: {str(exc)[:200]}") from None
    problem = _shape_problem(value, max_depth)
    if problem:
        raise BadJson(detail=problem)
    return value


def _shape_problem(value: Any, max_depth: int) -> str | None:
    """Why `value` is too deep or too wide to validate, if it is (iterative: no recursion)."""
    if type(value) not in _CONTAINERS:
        return None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return f"the JSON body is nested more than {max_depth} levels deep"
        if type(node) is dict:
            if len(node) > MAX_MEMBERS:
                return f"a JSON object in the body has more than {MAX_MEMBERS} members"
            children = node.values()
        else:
            children = node
        stack.extend((child, depth + 1) for child in children if type(child) in _CONTAINERS)
    return None


class JsonRequest(Request[Any, Any, Any]):
    """The app's request class: `json()` decodes with the limits above (see the module docstring).

    Litestar reads a route's JSON `data` through `Request.json()`, so only the routes that take a
    body pay for the checks; the others see no extra layer at all.
    """

    __slots__ = ()
    max_depth: ClassVar[int] = 64

    async def json(self) -> Any:
        if self._json is Empty:
            state = self._connection_state
            if state.json is not Empty:
                self._json = state.json
            else:
                body = await self.body()
                if not body:
                    value = None
                elif len(body) > THREAD_THRESHOLD:
                    value = await anyio.to_thread.run_sync(decode, body, self.max_depth)
                else:
                    value = decode(body, self.max_depth)
                self._json = state.json = value
        return self._json


def json_request_class(max_depth: int) -> type[JsonRequest]:
    """`JsonRequest` with `TASKLY_JSON_MAX_DEPTH`: the `request_class` of the app."""
    return type("JsonRequest", (JsonRequest,), {"__slots__": (), "max_depth": max_depth})
