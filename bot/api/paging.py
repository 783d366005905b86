"""Paged lists: the JSON array stays the body, a `Link` header carries the pages."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from bot.api.params import MAX_ID, query_int

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def page_of(request: Request) -> Page:
    # Bounded so that the offset stays a 64-bit integer for the database.
    number = query_int(request, "page", default=1, maximum=MAX_ID)
    size = query_int(request, "per_page", default=DEFAULT_PER_PAGE, maximum=MAX_PER_PAGE)
    assert number is not None and size is not None
    return Page(number, size)


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
