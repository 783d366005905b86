"""Azure DevOps' Invoke REST API check in callback mode, on both backends.

POST /release carries Azure's headers; the decision goes to the plan's events
endpoint of tests/fake_azure.py, served on loopback, which records what it received.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from bot.logs import configure_logging
from bot.releases.work import process_pending_releases
from bot.store import release_callbacks
from tests.fake_azure import FakeAzure
from tests.fake_github import Clock
from tests.loopback import serving
from tests.releases.conftest import DEVX_URL, RELEASE
from tests.releases.helpers import AUTH, audit, call

ANN = {"name": "Ann", "email": "ann@example.com"}
BOB = {"name": "Bob", "email": "bob@example.com"}
AUTH_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.job-access-token.sig"
PROJECT = "7f1b3c2e-8d0a-4b5e-9c6f-0a1b2c3d4e5f"
PLAN = "1c9e8f4a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
JOB = "a3b4c5d6-e7f8-4a9b-8c0d-1e2f3a4b5c6d"
TASK = "0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f"
EVENTS = f"/fabrikam/{PROJECT}/_apis/distributedtask/hubs/build/plans/{PLAN}/events"


@pytest.fixture
def azure(source) -> Iterator[tuple[FakeAzure, str]]:
    """The fake events endpoint, reached over real HTTP (respx lets loopback through)."""
    fake = FakeAzure(AUTH_TOKEN)
    source.route(host="127.0.0.1").pass_through()
    with serving(fake.app) as url:
        yield fake, url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gate(make_client, clock):
    client = make_client()
    client.app.state.clock = clock
    return client


def azure_headers(url: str, **changes: str) -> dict[str, str]:
    """What the check sends: our API token, and its callback headers."""
    headers = {
        **AUTH,
        "PlanUrl": f"{url}/fabrikam/",
        "ProjectId": PROJECT,
        "HubName": "build",
        "PlanId": PLAN,
        "JobId": JOB,
        "TimelineId": "b1b2b3b4-0000-4000-8000-000000000000",
        "TaskInstanceId": TASK,
        "AuthToken": AUTH_TOKEN,
    }
    headers.update(changes)
    return {k: v for k, v in headers.items() if v}


def approvers(source, *people) -> None:
    source.get(DEVX_URL).mock(return_value=httpx.Response(200, json=list(people)))


def secret_kept(gate, release_id: int) -> str | None:
    return call(gate, release_callbacks.secret_of, gate.app.state.db, release_id)


def test_a_callback_mode_release_approved(gate, source, inbox, azure) -> None:
    fake, url = azure
    approvers(source, ANN, BOB)
    created = gate.post("/release", json=RELEASE, headers=azure_headers(url))
    assert created.status_code == 202
    release_id = created.json()["id"]
    assert fake.events == []  # nothing is decided yet
    record = audit(gate, release_id)
    assert record["source"] == "azure"
    assert record["details"]["task_instance_id"] == TASK
    assert record["callback"] == "waiting"
    assert AUTH_TOKEN not in created.text + str(record)
    assert secret_kept(gate, release_id) == AUTH_TOKEN

    # Azure may call again (a re-evaluation): the same release, answered at once.
    again = gate.post("/release", json=RELEASE, headers=azure_headers(url))
    assert (again.status_code, again.json()["id"]) == (200, release_id)

    gate.post("/approval", params={"token": inbox.to("ann@example.com")[0].token})
    assert fake.events == []  # Azure takes no status reports, only the result
    gate.post("/approval", params={"token": inbox.to("bob@example.com")[0].token})
    [event] = fake.events
    assert (event.path, event.query, event.status) == (
        EVENTS,
        {"api-version": "2.0-preview.1"},
        204,
    )
    assert event.auth == f"Bearer {AUTH_TOKEN}"
    assert event.body == {
        "name": "TaskCompleted",
        "taskId": TASK,
        "jobId": JOB,
        "result": "succeeded",
    }
    record = audit(gate, release_id)
    assert (record["status"], record["callback"]) == ("approved", "delivered")
    # Delivered: the token is no longer kept anywhere.
    assert secret_kept(gate, release_id) is None


def test_a_callback_mode_release_rejected(gate, source, inbox, azure) -> None:
    fake, url = azure
    approvers(source, ANN, BOB)
    release_id = gate.post("/release", json=RELEASE, headers=azure_headers(url)).json()["id"]
    token = inbox.to("bob@example.com")[0].token
    gate.post(
        "/approval", params={"token": token}, data={"decision": "reject", "comment": "not today"}
    )
    [event] = fake.accepted()
    assert event.body["result"] == "failed"
    record = audit(gate, release_id)
    assert record["status"] == "rejected"
    assert record["approvers"][1]["comment"] == "not today"
    assert secret_kept(gate, release_id) is None


def test_azure_down_is_retried_by_the_job_until_it_takes_it(
    gate, source, inbox, azure, clock
) -> None:
    fake, url = azure
    approvers(source, ANN)
    release_id = gate.post("/release", json=RELEASE, headers=azure_headers(url)).json()["id"]
    fake.fail_next(4, status=503)
    gate.post("/approval", params={"token": inbox.mails[0].token})
    record = audit(gate, release_id)
    assert record["callback"] == "pending"
    assert record["callbacks"][0]["error"] == "Azure DevOps answered 503"
    assert secret_kept(gate, release_id) == AUTH_TOKEN  # still needed

    clock.advance(minutes=2)
    call(gate, process_pending_releases, gate.app.state)
    assert [e.status for e in fake.events] == [503, 503, 503, 503, 204]
    assert audit(gate, release_id)["callback"] == "delivered"
    assert secret_kept(gate, release_id) is None


def test_a_refused_token_is_not_retried_and_not_kept(gate, source, inbox, azure, clock) -> None:
    fake, url = azure
    fake.token = "another-token"  # Azure no longer takes ours (it expired after 48 h)
    approvers(source, ANN)
    release_id = gate.post("/release", json=RELEASE, headers=azure_headers(url)).json()["id"]
    gate.post("/approval", params={"token": inbox.mails[0].token})
    assert audit(gate, release_id)["callback"] == "refused"
    assert secret_kept(gate, release_id) is None
    clock.advance(hours=1)
    call(gate, process_pending_releases, gate.app.state)
    assert len(fake.events) == 1


def test_incomplete_or_odd_headers_are_400_and_store_nothing(gate, source, azure) -> None:
    _, url = azure
    cases = {
        "AuthToken": azure_headers(url, AuthToken=""),
        "PlanUrl": azure_headers(url, PlanUrl="ftp://fabrikam/"),
        "PlanId": azure_headers(url, PlanId="../../_apis/other"),
        "HubName": azure_headers(url, HubName="build?x=1"),
    }
    for header, headers in cases.items():
        answer = gate.post("/release", json=RELEASE, headers=headers)
        assert answer.status_code == 400, header
        assert header in answer.json()["errors"], answer.json()
    assert gate.get("/v1/releases").json() == []


def test_a_re_run_check_takes_the_new_callback_and_the_same_answer(
    gate, source, inbox, azure
) -> None:
    fake, url = azure
    approvers(source, ANN)
    release_id = gate.post("/release", json=RELEASE, headers=azure_headers(url)).json()["id"]
    gate.post("/approval", params={"token": inbox.mails[0].token})
    fake.token = "token-of-the-re-run"
    new_task = "9e8d7c6b-5a49-4837-9261-5f4e3d2c1b0a"
    headers = azure_headers(url, TaskInstanceId=new_task, AuthToken="token-of-the-re-run")
    again = gate.post("/release", json=RELEASE, headers=headers)
    assert again.json()["status"] == "approved"
    assert [(e.body["taskId"], e.status) for e in fake.events] == [(TASK, 204), (new_task, 204)]
    assert secret_kept(gate, release_id) is None


@contextmanager
def service_logs(level: str) -> Iterator[io.StringIO]:
    """The service's log output, set up as `reviewer serve` sets it up, in a buffer."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    buffer = io.StringIO()
    configure_logging(level, stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


def test_the_auth_token_never_reaches_the_logs(gate, source, inbox, azure) -> None:
    fake, url = azure
    approvers(source, ANN)
    fake.fail_next(1, status=500)
    with service_logs("DEBUG") as logs:
        gate.post("/release", json=RELEASE, headers=azure_headers(url))
        gate.post("/approval", params={"token": inbox.mails[0].token})
    assert len(fake.accepted()) == 1
    assert '"release callback delivered"' in logs.getvalue()
    assert AUTH_TOKEN not in logs.getvalue()
