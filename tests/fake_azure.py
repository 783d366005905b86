"""A fake of Azure DevOps' plan events endpoint (Post Event), on loopback for tests.

It takes `POST {collection}/{project}/_apis/distributedtask/hubs/{hub}/plans/{plan}/events`
as Azure does: a Bearer token (the check's AuthToken) and a JSON event, answered 204.
It records every request and can be told to fail the next ones:

    with serving(fake.app) as url:      # tests.loopback
        fake.fail_next(2, status=503)   # two 503s, then normal answers
        fake.events                     # [Event(path, query, auth, body, status), ...]
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

EVENTS_PATH = "/{collection}/{project}/_apis/distributedtask/hubs/{hub}/plans/{plan}/events"


@dataclass(frozen=True)
class Event:
    path: str
    query: dict[str, str]
    auth: str
    body: Any
    status: int


class FakeAzure:
    def __init__(self, token: str) -> None:
        self.token = token  # the AuthToken the fake accepts
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._failures: list[int] = []
        self.app = Starlette(routes=[Route(EVENTS_PATH, self._post_event, methods=["POST"])])

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def accepted(self) -> list[Event]:
        return [e for e in self.events if e.status == 204]

    def fail_next(self, times: int, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * times)

    async def _post_event(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        try:
            body = await request.json()
        except ValueError:
            body = None
        with self._lock:
            status = self._failures.pop(0) if self._failures else None
            if status is None:
                well_formed = (
                    request.query_params.get("api-version") == "2.0-preview.1"
                    and isinstance(body, dict)
                    and body.get("name") == "TaskCompleted"
                )
                authorized = auth == f"Bearer {self.token}"
                status = (204 if well_formed else 400) if authorized else 401
            self._events.append(
                Event(request.url.path, dict(request.query_params), auth, body, status)
            )
        if status == 204:
            return Response(status_code=204)
        return JSONResponse({"message": "fake failure"}, status_code=status)
