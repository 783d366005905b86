"""`reviewer replay` posts a saved payload, signed, to a receiver that checks it as GitHub's."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gidgethub import ValidationFailure
from gidgethub.sansio import Event
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.loopback import serving
from tests.processes import run_reviewer

SECRET = "replay-secret"
PAYLOADS = Path(__file__).parent / "payloads"


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, list[Event]]]:
    """A webhook endpoint that verifies deliveries with gidgethub, and what it accepted."""
    accepted: list[Event] = []

    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            event = Event.from_http(request.headers, body, secret=SECRET)
        except ValidationFailure as exc:
            return JSONResponse({"detail": f"bad signature: {exc}"}, status_code=401)
        accepted.append(event)
        return JSONResponse({"event": event.event, "delivery": event.delivery_id}, status_code=202)

    app = Starlette(routes=[Route("/github/webhooks", webhook, methods=["POST"])])
    with serving(app) as base:
        yield base, accepted


def test_replay_signs_like_github(receiver, tmp_path: Path) -> None:
    base, accepted = receiver
    payload = tmp_path / "opened.json"
    shutil.copy(PAYLOADS / "pull_request.opened.json", payload)
    before = len(accepted)

    done = run_reviewer(
        "replay",
        str(payload),
        "--event",
        "pull_request",
        "--url",
        f"{base}/github/webhooks",
        cwd=tmp_path,
        GITHUB_WEBHOOK_SECRET=SECRET,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("HTTP 202 Accepted\n")
    event = accepted[before]
    answer = json.loads(done.stdout.splitlines()[1])
    assert answer == {"event": "pull_request", "delivery": event.delivery_id}
    assert event.data == json.loads(payload.read_bytes())
    assert len(event.delivery_id) == 36  # a fresh uuid per replay


def test_replay_defaults_to_this_port_and_fresh_delivery_ids(receiver, tmp_path: Path) -> None:
    base, accepted = receiver
    port = base.rsplit(":", 1)[1]
    payload = PAYLOADS / "pull_request.opened.json"
    before = len(accepted)
    for _ in range(2):
        done = run_reviewer(
            "replay",
            str(payload),
            "--event",
            "pull_request",
            cwd=tmp_path,
            GITHUB_WEBHOOK_SECRET=SECRET,
            PORT=port,
        )
        assert done.returncode == 0, done.stderr
    first, second = accepted[before:]
    assert first.delivery_id != second.delivery_id


def test_a_wrong_secret_is_refused_by_the_receiver(receiver, tmp_path: Path) -> None:
    base, accepted = receiver
    before = len(accepted)
    done = run_reviewer(
        "replay",
        str(PAYLOADS / "pull_request.opened.json"),
        "--event=pull_request",
        f"--url={base}/github/webhooks",
        cwd=tmp_path,
        GITHUB_WEBHOOK_SECRET="not-the-secret",
    )
    assert done.returncode == 1
    assert done.stdout.startswith("HTTP 401 Unauthorized\n")
    assert len(accepted) == before


def test_replay_needs_a_secret_and_a_json_object(tmp_path: Path) -> None:
    payload = PAYLOADS / "pull_request.opened.json"
    done = run_reviewer("replay", str(payload), "--event", "ping", cwd=tmp_path)
    assert done.returncode == 2
    assert "GITHUB_WEBHOOK_SECRET is not set" in done.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2")
    done = run_reviewer(
        "replay", str(broken), "--event", "ping", cwd=tmp_path, GITHUB_WEBHOOK_SECRET=SECRET
    )
    assert done.returncode == 2
    assert "is not JSON" in done.stderr
    assert "Traceback" not in done.stderr
