"""The app's router: Starlette's, with a request's route looked up by its path first.

Starlette tries each route's pattern in turn, so a request pays for every route declared
before its own: the webhook route, 25th, paid 24 failed matches per delivery, a pull
request's details 10. Here a fixed path is one dict lookup, and a path ending in one
`{parameter}` is looked up by its parent (`/v1/users/` for `/v1/users/{id}`). The route
found must still match fully, method included; otherwise Starlette's scan decides as it
always did (405, 404, the slash redirect), so the answer is the scan's in every case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, Route, Router, get_route_path
from starlette.types import Receive, Scope, Send


class IndexedRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute], **options: Any) -> None:
        super().__init__(list(routes), **options)
        self._by_path: dict[str, Route] = {}
        self._by_parent: dict[str, Route] = {}
        for route in self.routes:
            if not isinstance(route, Route):
                continue
            others = [r for r in self.routes if r is not route]
            parent, brace, _ = route.path.partition("{")
            if not brace:
                # Indexed unless another route's pattern takes that path too.
                if not any(_pattern(o).match(route.path) for o in others):
                    self._by_path[route.path] = route
            elif (
                route.path.endswith("}")
                and route.path.count("{") == 1
                and parent.endswith("/")
                # `parent` + one segment: indexed unless another route may take one.
                and not any(_may_take_a_child(o, parent) for o in others)
            ):
                self._by_parent[parent] = route

    def indexed(self, path: str) -> Route | None:
        """The one route that may serve `path`, if the index knows it."""
        found = self._by_path.get(path)
        if found is None:
            found = self._by_parent.get(path[: path.rfind("/") + 1])
        return found

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.indexed(get_route_path(scope))
            if route is not None:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)


def _pattern(route: BaseRoute) -> Any:
    return getattr(route, "path_regex", None) or _MATCHES_ALL


def _may_take_a_child(route: BaseRoute, parent: str) -> bool:
    """Whether `route` may take a path `parent` + one segment (erring towards yes)."""
    path = getattr(route, "path", None)
    if path is None:
        return True
    if isinstance(route, Route) and "{" not in path:
        return path.startswith(parent)
    # What every path it takes begins with.
    fixed = path.partition("{")[0] if isinstance(route, Route) else path + "/"
    return parent.startswith(fixed) or fixed.startswith(parent)


class _MatchesAll:
    @staticmethod
    def match(path: str) -> bool:
        return True


_MATCHES_ALL = _MatchesAll()
