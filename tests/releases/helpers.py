"""Small helpers shared by the release tests."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import API_TOKEN

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def call(client: TestClient, func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a coroutine function on the app's own event loop."""
    assert client.portal is not None
    return client.portal.call(functools.partial(func, *args, **kwargs))


def post_release(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post("/release", json=body, headers=AUTH)


def audit(client: TestClient, release_id: int) -> dict[str, Any]:
    response = client.get(f"/v1/releases/{release_id}")
    assert response.status_code == 200
    return response.json()


def wait_for(condition: Callable[[], bool]) -> None:
    """Bolt acks first and works after; wait (boundedly) for that work to show."""
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never came true")
        time.sleep(0.02)
