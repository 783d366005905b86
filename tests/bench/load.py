"""Load for `make bench`: wrk when it is installed, else a small asyncio HTTP/1.1 client.

Both keep CONNECTIONS keep-alive connections busy for a few seconds against 127.0.0.1
and report requests per second, p50 and p99 (milliseconds) and the answers that were
not 2xx/3xx. Webhook deliveries are pre-signed bodies; each request gets a GUID of its
own (`RUN-thread-n`), so none is a duplicate.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
WRK = shutil.which("wrk") if os.environ.get("BENCH_LOADER", "wrk") == "wrk" else None


@dataclass(frozen=True)
class Figures:
    rps: float
    p50: float
    p99: float
    errors: int


@dataclass(frozen=True)
class Delivery:
    event: str
    signature: str
    body: bytes


def _lua_string(data: bytes) -> str:
    text = data.decode()
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


WEBHOOK_LUA = """
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
local run = "run"
function init(args)
  run = args[1]
end
function request()
  n = n + 1
  local d = deliveries[((n * 7 + tid) % #deliveries) + 1]
  return wrk.format("POST", "/github/webhooks", {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = d[1],
    ["X-Hub-Signature-256"] = d[2],
    ["X-GitHub-Delivery"] = run .. "-" .. tid .. "-" .. n,
  }, d[3])
end
"""


def webhook_script(deliveries: list[Delivery], folder: Path) -> Path:
    """A wrk script cycling through `deliveries` (each thread its own share of GUIDs)."""
    path = folder / "webhooks.lua"
    with path.open("w") as out:
        out.write("deliveries = {\n")
        for d in deliveries:
            out.write(f'{{"{d.event}", "{d.signature}", {_lua_string(d.body)}}},\n')
        out.write("}\n")
        out.write(WEBHOOK_LUA)
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _millis(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> Figures:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _millis(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _millis(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = int(bad.group(1)) if bad else 0
    failed = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if failed:
        errors += sum(int(g) for g in failed.groups())
    return Figures(rps, p50, p99, errors)


def run_wrk(
    port: int, path: str, script: Path | None, run: str, headers: dict[str, str]
) -> Figures:
    assert WRK is not None
    command = [
        WRK,
        f"-t{min(2, CONNECTIONS)}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(SECONDS))}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(f"http://127.0.0.1:{port}{path}")
    if script is not None:
        command += ["--", run]
    done = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS + 60, check=True)
    return parse_wrk(done.stdout)


# --- the Python load generator ----------------------------------------------------------


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


def request_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def drive(
    port: int, requests: object, seconds: float | None, connections: int = CONNECTIONS
) -> Figures:
    """Send the requests (an iterator of raw bytes) over `connections`, for `seconds`
    or until the iterator ends."""
    samples: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = None if seconds is None else started + seconds
    it = iter(requests)  # type: ignore[call-overload]

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while deadline is None or time.perf_counter() < deadline:
                request = next(it, None)
                if request is None:
                    return
                sent = time.perf_counter()
                status = await _exchange(reader, writer, request)
                samples.append((time.perf_counter() - sent) * 1000)
                errors += status >= 400
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    samples.sort()
    if not samples:
        return Figures(0.0, 0.0, 0.0, errors)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return Figures(len(samples) / elapsed, statistics.median(samples), p99, errors)


def run_python(
    port: int,
    path: str,
    deliveries: list[Delivery] | None,
    run: str,
    headers: dict[str, str],
) -> Figures:
    def requests() -> object:
        n = 0
        while True:
            n += 1
            if deliveries is None:
                yield request_bytes("GET", path, headers)
                continue
            d = deliveries[n % len(deliveries)]
            yield request_bytes(
                "POST",
                path,
                {
                    **headers,
                    "Content-Type": "application/json",
                    "X-GitHub-Event": d.event,
                    "X-Hub-Signature-256": d.signature,
                    "X-GitHub-Delivery": f"{run}-{n}",
                },
                d.body,
            )

    return asyncio.run(drive(port, requests(), SECONDS))


class Loader:
    """One load run against a port: a GET path, or the webhook deliveries."""

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.deliveries = deliveries
        self.runs = 0
        self._folder = tempfile.TemporaryDirectory()
        self.script = webhook_script(deliveries, Path(self._folder.name)) if WRK else None

    @property
    def name(self) -> str:
        return "wrk" if WRK else "python asyncio"

    def _run_id(self) -> str:
        self.runs += 1
        return f"bench{os.getpid()}x{self.runs}"

    def get(self, port: int, path: str, headers: dict[str, str] | None = None) -> Figures:
        if WRK:
            return run_wrk(port, path, None, "", headers or {})
        return run_python(port, path, None, "", headers or {})

    def webhooks(self, port: int) -> Figures:
        run = self._run_id()
        if WRK:
            return run_wrk(port, "/github/webhooks", self.script, run, {})
        return run_python(port, "/github/webhooks", self.deliveries, run, {})

    def close(self) -> None:
        self._folder.cleanup()
