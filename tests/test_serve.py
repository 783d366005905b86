"""`reviewer serve` as a real process: a bad setting stops it in one line; SIGTERM drains it."""

from __future__ import annotations

import json
import queue
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.loopback import free_port
from tests.processes import run_reviewer, start_reviewer

TOKEN = "serve-test-token"
# A generous bound for a process to start or to stop: reached only when something is broken.
DEADLINE_SECONDS = 60


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"DATABASE_URL": "mysql://db/reviewer"}, "DATABASE_URL"),
        ({"GITHUB_PRIVATE_KEY_PATH": "/no/such/key.pem"}, "GITHUB_PRIVATE_KEY_PATH"),
        ({"REMINDER_CRON": "every day"}, "REMINDER_CRON"),
    ],
)
def test_a_malformed_setting_stops_serve_in_one_line(
    settings: dict[str, str], named: str, tmp_path: Path
) -> None:
    done = run_reviewer("serve", cwd=tmp_path, **settings)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"reviewer: bad setting {named}: ")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "reviewer.db").exists()


def test_a_malformed_setting_in_dotenv_is_named_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=loud\n")
    done = run_reviewer("serve", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "reviewer: bad setting LOG_LEVEL: expected one of " + (
        "DEBUG, INFO, WARNING, ERROR, CRITICAL\n"
    )


class Output:
    """The lines a process writes, read in a thread so the test can wait for one."""

    def __init__(self, process: Popen[Any]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: Popen[Any]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str) -> str:
        while True:
            try:
                line = self._queue.get(timeout=DEADLINE_SECONDS)
            except queue.Empty:
                raise AssertionError(f"no {text!r} in {self.lines}") from None
            if line is None:
                raise AssertionError(f"the process ended without {text!r}: {self.lines}")
            self.lines.append(line)
            if text in line:
                return line

    def rest(self) -> list[str]:
        self._thread.join(DEADLINE_SECONDS)
        while (line := self._queue.get_nowait()) is not None:
            self.lines.append(line)
        return self.lines

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.lines if line.startswith("{")]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Popen[Any], Output, int]]:
    """`python -m bot serve` on SQLite in tmp_path, with the scheduler off."""
    port = free_port()
    process = start_reviewer(
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path}/reviewer.db",
        SCHEDULER="off",
        API_TOKENS=TOKEN,
    )
    output = Output(process)
    try:
        output.wait_for("Uvicorn running on")
        yield process, output, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(DEADLINE_SECONDS)


def read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data


def test_sigterm_lets_the_request_in_flight_finish(server) -> None:
    process, output, port = server
    body = json.dumps({"name": "Hello", "repo_owner": "octo", "repo_name": "hello"}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_SECONDS) as sock:
        sock.sendall(
            b"POST /v1/projects HTTP/1.1\r\nHost: reviewer\r\n"
            + f"Authorization: Bearer {TOKEN}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n".encode()
            + b"Expect: 100-continue\r\n\r\n"
        )
        # The server says "100 Continue" once the route starts reading the body: the
        # request is in the hands of the app now.
        assert read_head(sock).startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(body[:7])

        process.send_signal(signal.SIGTERM)
        output.wait_for("Waiting for connections to close")
        assert process.poll() is None

        sock.sendall(body[7:])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk

    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201 Created\r\n"), answer
    project = json.loads(payload)
    assert (project["name"], project["repo_owner"], project["repo_name"]) == (
        "Hello",
        "octo",
        "hello",
    )
    assert process.wait(DEADLINE_SECONDS) == 0
    lines = output.rest()
    assert any("Application shutdown complete" in line for line in lines)
    stopped = [e["component"] for e in output.json_lines() if e["message"] == "component stopped"]
    # Every part closed, the database connection among them (other parts may join).
    assert "database" in stopped
    assert stopped.index("database") < stopped.index("error_reporting")
    logged = [e for e in output.json_lines() if e["message"] == "request"]
    assert [(e["method"], e["path"], e["status"]) for e in logged] == [
        ("POST", "/v1/projects", 201)
    ]
    assert not any(TOKEN in line for line in lines)
    assert not any("color_message" in entry for entry in output.json_lines())


def test_serve_sets_its_start_up_objects_aside_from_garbage_collection(server) -> None:
    """A full collection walked them all (62 ms with every request stalled); frozen, only
    what requests make is walked."""
    _, output, _ = server
    said = [e for e in output.json_lines() if e["message"].startswith("start-up objects")]
    assert len(said) == 1
    assert said[0]["objects"] > 50_000


def test_sigterm_on_an_idle_server_exits_cleanly(server) -> None:
    process, output, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_SECONDS) as sock:
        sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: reviewer\r\n\r\n")
        assert read_head(sock).startswith(b"HTTP/1.1 200 OK\r\n")
        # The connection stays open, idle: shutdown closes it rather than waiting.
        process.send_signal(signal.SIGTERM)
        assert process.wait(DEADLINE_SECONDS) == 0
    assert any("Application shutdown complete" in line for line in output.rest())


def children_of(pid: int) -> set[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def start_serving(tmp_path: Path, database_url: str, **settings: str) -> tuple[Popen, Output, int]:
    port = free_port()
    process = start_reviewer(
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=tmp_path,
        DATABASE_URL=database_url,
        SCHEDULER="off",
        **settings,
    )
    return process, Output(process), port


def started_workers(output: Output, count: int) -> set[int]:
    """The pids of `count` worker processes, once each says its app has started.

    Read as the lines come: one worker may be up before the next says it started.
    """
    pids: set[int] = set()
    ready = 0
    while len(pids) < count or ready < count:
        line = output.wait_for("")  # the next line, whatever it says
        if "Started server process" in line:
            pids.add(int(json.loads(line)["message"].rsplit("[", 1)[1].rstrip("]")))
        ready += "Application startup complete" in line
    return pids


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL backend not selected")
def test_web_concurrency_serves_from_that_many_processes_on_postgresql(
    tmp_path: Path, postgres_database: str
) -> None:
    process, output, port = start_serving(tmp_path, postgres_database, WEB_CONCURRENCY="2")
    try:
        workers = started_workers(output, 2)
        assert len(workers) == 2
        assert workers <= children_of(process.pid)
        for _ in range(4):  # a new connection each: either worker may take it
            answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=DEADLINE_SECONDS)
            assert answer.json() == {"status": "ok", "database": "postgresql"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(DEADLINE_SECONDS) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(DEADLINE_SECONDS)
    output.rest()
    logged = [e for e in output.json_lines() if e.get("message") == "request"]
    # Each worker writes the per-request JSON log line (it sets up logging itself).
    assert [(e["path"], e["status"]) for e in logged] == [("/readyz", 200)] * 4


def test_web_concurrency_on_sqlite_serves_from_one_process_and_says_why(tmp_path: Path) -> None:
    process, output, port = start_serving(
        tmp_path, f"sqlite:///{tmp_path}/reviewer.db", WEB_CONCURRENCY="3"
    )
    try:
        output.wait_for("Uvicorn running on")
        answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=DEADLINE_SECONDS)
        assert answer.json() == {"status": "ok", "database": "sqlite"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(DEADLINE_SECONDS) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(DEADLINE_SECONDS)
    output.rest()
    why = [e for e in output.json_lines() if e["message"].startswith("serving with one process")]
    assert len(why) == 1
    assert "SQLite" in why[0]["message"]
    assert why[0]["web_concurrency"] == 3
    assert sum("Started server process" in line for line in output.lines) == 1
    assert children_of(process.pid) == set()
