"""`reviewer replay` posts a saved payload, signed, to a running instance over HTTP."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from bot import cli
from bot.app import create_app
from tests.conftest import WEBHOOK_SECRET
from tests.webhook_client import PAYLOADS


@pytest.fixture
def server_url(settings) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET)
    # `cli.main` sets up JSON logging on the root logger; give pytest's back afterwards.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def answer_line(out: str) -> str:
    """The command's own line (the server, in this process, logs JSON lines too)."""
    [line] = [x for x in out.splitlines() if not x.startswith("{")]
    return line


def test_replay_applies_a_saved_payload(server_url: str, environment, capsys) -> None:
    path = PAYLOADS / "pull_request" / "opened.payload.json"
    argv = [
        "replay",
        str(path),
        "--event",
        "pull_request",
        "--url",
        f"{server_url}/github/webhooks",
    ]
    assert cli.main([*argv, "--delivery", "replayed-1"]) == 0
    assert answer_line(capsys.readouterr().out) == "HTTP 200 OK"
    [pr] = httpx.get(f"{server_url}/v1/pull_requests").json()
    assert pr["github_id"] == 279147437
    # The same GUID again is a duplicate, still a success.
    assert cli.main([*argv, "--delivery", "replayed-1"]) == 0
    assert '"duplicate"' in capsys.readouterr().out


def test_replay_with_a_wrong_secret_or_a_bad_file_fails(
    server_url: str, environment, monkeypatch, tmp_path: Path, capsys
) -> None:
    url = f"{server_url}/github/webhooks"
    ping = str(PAYLOADS / "ping" / "payload.json")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "not-the-secret")
    assert cli.main(["replay", ping, "--event", "ping", "--url", url]) == 1
    assert answer_line(capsys.readouterr().out) == "HTTP 401 Unauthorized"
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    assert cli.main(["replay", str(broken), "--event", "ping", "--url", url]) == 2
    assert "is not JSON" in capsys.readouterr().err
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET")
    assert cli.main(["replay", ping, "--event", "ping", "--url", url]) == 2
    assert "GITHUB_WEBHOOK_SECRET" in capsys.readouterr().err
