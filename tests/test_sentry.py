"""Sentry: off without SENTRY_DSN or the package; with both, errors reach the DSN's endpoint."""

from __future__ import annotations

import gzip
import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.app import create_app
from bot.logs import log_context
from bot.monitoring import init_sentry, scrub_breadcrumb, scrub_event
from bot.settings import load_settings
from bot.store.migrate import migrate
from tests.conftest import API_TOKEN
from tests.loopback import serving

ROOT = Path(__file__).resolve().parents[1]


def test_without_a_dsn_nothing_changes(client: TestClient, settings) -> None:
    assert settings.sentry_dsn is None
    assert init_sentry(settings) is False
    assert client.get("/healthz").status_code == 200
    try:
        import sentry_sdk
    except ImportError:
        return
    assert not sentry_sdk.get_client().is_active()


def test_without_the_package_a_dsn_only_warns(tmp_path: Path) -> None:
    """A process where sentry_sdk cannot be imported serves as before."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["sentry_sdk"] = None  # what `import sentry_sdk` sees when it is absent
        from starlette.testclient import TestClient
        from bot.app import create_app
        from bot.logs import configure_logging
        from bot.monitoring import init_sentry
        from bot.settings import load_settings

        configure_logging("INFO")
        settings = load_settings()
        assert init_sentry(settings) is False
        with TestClient(create_app(settings)) as client:
            print(client.get("/healthz").status_code)
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SENTRY_DSN": "http://key@127.0.0.1:9/1",
        "DATABASE_URL": f"sqlite:///{tmp_path}/r.db",
        "SCHEDULER": "off",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "200" in out
    warnings = [json.loads(line) for line in out if line.startswith("{")]
    assert any("sentry-sdk is not installed" in w["message"] for w in warnings)


def test_scrub_event_drops_what_may_hold_secrets() -> None:
    event = {
        "request": {
            "url": "http://x/approval?token=secret",
            "query_string": "token=secret",
            "headers": {"Authorization": "Bearer secret"},
            "method": "GET",
        }
    }
    assert scrub_event(event) == {"request": {"url": "http://x/approval", "method": "GET"}}


def test_scrub_breadcrumb_drops_query_strings() -> None:
    crumb = {
        "type": "http",
        "data": {"url": "https://approvers.example/list?key=secret", "http.query": "key=secret"},
    }
    assert scrub_breadcrumb(crumb) == {
        "type": "http",
        "data": {"url": "https://approvers.example/list"},
    }


def _decode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # only sent when the SDK found brotli, so it is importable

        return brotli.decompress(body)
    return body


@pytest.fixture
def sentry_endpoint() -> Iterator[tuple[str, list[bytes]]]:
    """A local stand-in for Sentry's ingestion: the DSN to use and the envelopes received."""
    sentry_sdk = pytest.importorskip("sentry_sdk")
    envelopes: list[bytes] = []

    async def envelope(request: Request) -> JSONResponse:
        raw = await request.body()
        envelopes.append(_decode(raw, request.headers.get("content-encoding")))
        return JSONResponse({"id": "0" * 32})

    app = Starlette(routes=[Route("/api/1/envelope/", envelope, methods=["POST"])])
    with serving(app) as base:
        yield base.replace("http://", "http://publickey@") + "/1", envelopes
    sentry_sdk.init()  # an inactive client again: nothing is reported after this test


def test_an_error_reaches_sentry_without_secrets(sentry_endpoint, tmp_path: Path) -> None:
    dsn, envelopes = sentry_endpoint
    folder = tmp_path / "data"
    folder.mkdir()
    url = f"sqlite:///{folder}/reviewer.db"
    migrate(url)
    settings = load_settings(
        {"DATABASE_URL": url, "SCHEDULER": "off", "SENTRY_DSN": dsn, "API_TOKENS": API_TOKEN},
        env_file=tmp_path / "none",
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
        # A bug under the running service (a database out of reach is a 503, not an error).
        with sqlite3.connect(folder / "reviewer.db") as broken:
            broken.execute("DROP TABLE projects")
        response = client.get(
            "/v1/projects",
            params={"token": "approval-token-value"},
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        )
        assert response.status_code == 500
        assert response.json() == {"detail": "internal error"}
        # A job's failure, as the scheduler logs it, is an error report too.
        token = log_context.set({"job": "ReviewFetcher"})
        try:
            raise TimeoutError("GitHub took too long")
        except TimeoutError:
            logging.getLogger("bot.jobs").exception("job failed")
        finally:
            log_context.reset(token)
    # Leaving the lifespan flushed the queue: the events have arrived.
    events = [
        json.loads(line)
        for body in envelopes
        for line in body.splitlines()
        if line.startswith(b"{") and b'"exception"' in line
    ]
    assert events, envelopes
    types = [event["exception"]["values"][-1]["type"] for event in events]
    assert "OperationalError" in types
    assert "TimeoutError" in types
    text = b"".join(envelopes).decode()
    assert "approval-token-value" not in text
    assert API_TOKEN not in text
