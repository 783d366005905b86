"""One-off commands speak to a person: a report on stdout, warnings readable on stderr."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import configure_logging, log_context
from bot.progress import Progress
from tests.processes import run_reviewer

NO_GITHUB = "reviewer: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY, or GITHUB_TOKEN"


def test_sync_without_github_says_one_sentence(tmp_path: Path) -> None:
    done = run_reviewer("sync", cwd=tmp_path, DATABASE_URL="sqlite:///r.db")

    assert done.returncode == 2
    assert done.stderr.strip() == NO_GITHUB
    # The migrations it applied are the report; no component start/stop log lines.
    assert done.stdout.splitlines()
    assert all(line.startswith("applied ") for line in done.stdout.splitlines())


def test_log_format_json_gives_machines_their_lines(tmp_path: Path) -> None:
    done = run_reviewer("sync", cwd=tmp_path, DATABASE_URL="sqlite:///r.db", LOG_FORMAT="json")

    assert done.stderr.strip() == NO_GITHUB
    logged = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {"component started", "component stopped"} <= {e["message"] for e in logged}


@pytest.fixture
def text_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer, log_format="text")
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)


def test_text_logs_keep_info_out_and_say_warnings_plainly(text_logs: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    token = log_context.set({"job": "ReviewFetcher"})
    try:
        log.info("component started", extra={"component": "database"})
        log.warning("rate limit low; the cycle stops early", extra={"left": 12})
    finally:
        log_context.reset(token)

    assert text_logs.getvalue().splitlines() == [
        "warning: rate limit low; the cycle stops early (job=ReviewFetcher, left=12)"
    ]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_a_bar_on_a_terminal_only() -> None:
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = Progress(stream)
        progress.begin(4)
        progress.step("one: done")
        progress.step("two: failed")
        progress.end()

    assert pipe.getvalue() == "  one: done\n  two: failed\n"
    shown = terminal.getvalue()
    assert "\r  [------------------------] 0/4" in shown
    assert "\r  [######------------------] 1/4" in shown
    assert "\r  [############------------] 2/4" in shown
    assert shown.endswith("\r\x1b[2K")
