"""The indexed router answers every request as Starlette's scan over the routes would."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, Router
from starlette.testclient import TestClient

from bot.api.routing import IndexedRouter
from bot.app import ROUTES


def _echo(name: str):
    async def endpoint(request) -> PlainTextResponse:
        return PlainTextResponse(f"{name} {dict(request.path_params)}")

    return endpoint


# Shapes the index must get right: a fixed child beside a parameter (declared after
# it, so the scan picks the parameter), methods that differ, a mount, nested paths.
SAMPLE = [
    Route("/healthz", _echo("health")),
    Route("/v1/items", _echo("items"), methods=["GET", "POST"]),
    Route("/v1/items/{id:int}", _echo("item"), methods=["GET"]),
    Route("/v1/boxes/{id:int}", _echo("box"), methods=["GET"]),
    Route("/v1/boxes/{id}", _echo("box-any"), methods=["DELETE"]),
    Route("/v1/things/{name}", _echo("thing")),
    Route("/v1/things/special", _echo("special")),
    Route("/v1/a/{x}/b/{y}", _echo("two")),
    Route("/hook", _echo("hook"), methods=["POST"]),
    Mount("/assets", routes=[Route("/{file}", _echo("asset"))]),
]
REQUESTS = [
    (method, path)
    for method in ("GET", "POST", "DELETE", "HEAD", "PATCH")
    for path in (
        "/healthz", "/healthz/", "/v1/items", "/v1/items/", "/v1/items/7", "/v1/items/x",
        "/v1/items/7/", "/v1/boxes/7", "/v1/boxes/x", "/v1/things/special", "/v1/things/else",
        "/v1/a/1/b/2", "/hook",
        "/hook/", "/assets/app.js", "/assets/", "/nowhere", "/", "/v1/", "/v1/items/7/more",
    )
]  # fmt: skip


def _answers(router: Router) -> list[tuple[int, str, str | None]]:
    app = Starlette()
    app.router = router
    with TestClient(app, follow_redirects=False) as client:
        return [
            (r.status_code, r.text, r.headers.get("location"))
            for r in (client.request(method, path) for method, path in REQUESTS)
        ]


def test_every_request_gets_the_scans_answer() -> None:
    indexed = IndexedRouter(SAMPLE)
    assert _answers(indexed) == _answers(Router(SAMPLE))
    # The index is used where it can be, and left to the scan where it cannot.
    assert indexed.indexed("/v1/items/7") is SAMPLE[2]
    assert indexed.indexed("/hook") is SAMPLE[8]
    assert indexed.indexed("/v1/things/else") is None  # a fixed child: the scan decides
    assert indexed.indexed("/v1/boxes/7") is None  # two routes under one parent: likewise


@pytest.mark.parametrize("route", [r for r in ROUTES if isinstance(r, Route)], ids=str)
def test_each_of_the_services_routes_is_found_by_the_index(route: Route) -> None:
    path = route.path.replace("{id}", "7")
    found = IndexedRouter(ROUTES).indexed(path)
    assert found is route
