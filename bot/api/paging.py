"""Paged lists: the JSON array stays the body, a `Link` header carries the pages.

The lists in id order (projects, users, pull requests) also page with a keyset cursor,
GitHub's way (`ListPage`): their `next` link carries `after=<the last id shown>`, and
the page is `WHERE id > :after ORDER BY id LIMIT :per_page`, as cheap at the end of
the table as at its start. A client that sends `page` gets page numbers as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from bot.api.conditional import data_version_of
from bot.api.declare import Header, Reply
from bot.api.errors import ValidationError
from bot.api.models import CursorPaging, Paging
from bot.store.paging import Window

TOTAL_SCHEMA = {"type": "integer", "minimum": 0}
# What a paged answer carries beside its array, declared once for every list.
PAGED = {
    "Link": Header("GitHub-style pages: first, prev, next, last."),
    "X-Total-Count": Header("Items in all pages.", TOTAL_SCHEMA),
}
# The same for the lists that also take `after` (see ListPage).
CURSOR_PAGED = {
    "Link": Header(
        "GitHub-style pages. With `page`: first, prev, next and last, by page number. "
        "Without: `next` (while more items follow) carries an `after` cursor, the last "
        "id of this page; the first page adds `last` by page number, an `after` page "
        "`first`."
    ),
    "X-Total-Count": Header("Items in all pages; not sent with `after`.", TOTAL_SCHEMA),
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


@dataclass(frozen=True)
class ListPage:
    """One request for a page of a list in id order: by page number (`page` sent), after
    a cursor (`after` sent), or the first page (neither: today's first page, whose
    `next` is a cursor)."""

    size: int
    number: int | None  # `page`, when sent
    after: int | None
    window: Window

    @classmethod
    async def of(cls, request: Request, query: CursorPaging) -> ListPage:
        """The window to read; 400 for `after` with `page`. Totals are counted at the data
        version this request read (bot/store/paging.py: once per version and filters)."""
        number = query.page if "page" in query.model_fields_set else None
        size = query.per_page
        if number is not None:
            if query.after is not None:
                message = "cannot be sent with page"
                raise ValidationError({"after": message}, detail=f"invalid query: after: {message}")
            page = Page(number, size)
            window = Window(size, offset=page.offset, total_at=await data_version_of(request))
            return cls(size, number, None, window)
        # One row more than shown says whether a next page exists, with no count.
        total_at = None if query.after is not None else await data_version_of(request)
        return cls(size, None, query.after, Window(size + 1, after=query.after, total_at=total_at))

    def reply(self, request: Request, total: int | None, rows: Sequence[Any]) -> Reply:
        """The rows with their `Link` (and `X-Total-Count` unless after a cursor)."""
        if self.number is not None:
            assert total is not None
            return Reply(rows, headers=paging_headers(request, Page(self.number, self.size), total))
        shown = rows[: self.size]
        links = []
        if len(rows) > self.size:
            after = shown[-1]["id"]
            url = request.url.include_query_params(after=after, per_page=self.size)
            links.append(f'<{url}>; rel="next"')
        if self.after is not None:
            first = request.url.remove_query_params("after").include_query_params(
                per_page=self.size
            )
            links.append(f'<{first}>; rel="first"')
            return Reply(shown, headers={"Link": ", ".join(links)})
        assert total is not None
        last = max(1, -(-total // self.size))
        url = request.url.include_query_params(page=last, per_page=self.size)
        links.append(f'<{url}>; rel="last"')
        return Reply(shown, headers={"Link": ", ".join(links), "X-Total-Count": str(total)})
