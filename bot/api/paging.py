"""Paged lists: the JSON array stays the body, a `Link` header carries the pages."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from bot.api.declare import Header
from bot.api.models import Paging

# What a paged answer carries beside its array, declared once for every list.
PAGED = {
    "Link": Header("GitHub-style pages: first, prev, next, last."),
    "X-Total-Count": Header("Items in all pages.", {"type": "integer", "minimum": 0}),
}


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def page_of(query: Paging) -> Page:
    return Page(query.page, query.per_page)


def link_header(request: Request, page: Page, total: int) -> str:
    """GitHub-style `Link` with first, prev, next and last, as they apply."""
    last = max(1, -(-total // page.size))
    links = []

    def url(number: int) -> str:
        return str(request.url.include_query_params(page=number, per_page=page.size))

    if page.number > 1:
        links.append(f'<{url(1)}>; rel="first"')
        links.append(f'<{url(min(page.number - 1, last))}>; rel="prev"')
    if page.number < last:
        links.append(f'<{url(page.number + 1)}>; rel="next"')
    links.append(f'<{url(last)}>; rel="last"')
    return ", ".join(links)


def paging_headers(request: Request, page: Page, total: int) -> dict[str, str]:
    return {"Link": link_header(request, page, total), "X-Total-Count": str(total)}
