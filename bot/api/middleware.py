"""One JSON log line per HTTP request: method, path, status and duration.

Only the path is logged: query strings carry approval tokens, headers carry bearer
tokens and signatures, bodies carry anything; none of them is ever written.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.logs import RecordMaker

log = logging.getLogger("bot.request")
line = RecordMaker(log, logging.INFO, "request")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering
        logged = False

        def log_line() -> None:
            nonlocal logged
            logged = True
            line.log(
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            # Logged when the last byte is sent, before any background task runs.
            if message["type"] == "http.response.body" and not message.get("more_body"):
                log_line()

        try:
            await self.app(scope, receive, send_logged)
        finally:
            if not logged:
                log_line()
