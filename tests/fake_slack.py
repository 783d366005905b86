"""A small fake of Slack's Web API, served by uvicorn on loopback, for tests.

The service reaches it through `SLACK_API_URL` (`fake.env()` gives the settings), so
slack_sdk's real aiohttp client, retries included, does the talking. It records every
call and can be scripted:

    fake.rate_limit("chat.postMessage", times=1, retry_after=0)  # 429 then normal answers
    fake.fail_channel("U2", "channel_not_found")  # chat.* calls to U2 answer ok=false
    fake.fail_method("users.lookupByEmail", "ratelimited")  # every call answers ok=false
    fake.add_user("ann@example.com", "U9")  # known to users.lookupByEmail
    fake.set_profile("U9", tz="Asia/Tokyo")  # what users.info answers for U9
    fake.calls_to("chat.postMessage")  # [Call(method, args, token), ...] in order
    fake.response_url("r1")  # for interactive payloads; respond() posts are "response_url" calls

The `fake_slack` fixture (tests/conftest.py) serves one per session and empties it for
each test. To run the service against it in a test module, override `settings`:

    @pytest.fixture
    def settings(make_settings, fake_slack):
        return make_settings(**fake_slack.env(SLACK_CHANNEL="#reviews"))

and `client`, `run` and `db` follow. tests/slack_signing.py signs requests to
`/slack/events` (`signed_headers`, `button_click`).
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "test-signing-secret"
TEAM_ID = "T0TEST"
BOT_USER_ID = "UBOT"


@dataclass(frozen=True)
class Call:
    """One Web API call as the fake received it."""

    method: str
    args: dict[str, Any]
    token: str | None
    status: int = 200

    def json_arg(self, name: str) -> Any:
        """An argument slack_sdk may send JSON-encoded in a form (e.g. `blocks`)."""
        value = self.args.get(name)
        return json.loads(value) if isinstance(value, str) else value


@dataclass
class _Script:
    rate_limits: dict[str, list[int]] = field(default_factory=dict)  # method -> Retry-After
    failing_channels: dict[str, str] = field(default_factory=dict)
    failing_methods: dict[str, str] = field(default_factory=dict)
    users_by_email: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id -> user


class FakeSlack:
    """The fake's state, shared by the server thread and the test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._script = _Script()
        self._ts = itertools.count(1)
        self.url = ""  # set once the server listens: http://127.0.0.1:PORT/api/
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._handle, methods=["GET", "POST"]),
                Route("/respond/{key}", self._respond, methods=["POST"]),
            ]
        )

    # --- for tests ---------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """Settings that point the service at this fake, e.g. `make_settings(**fake.env())`."""
        return {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.url,
            **extra,
        }

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str, *, answered: bool = True) -> list[Call]:
        """Calls of `method`; by default only those answered 200 (not the 429s)."""
        return [c for c in self.calls if c.method == method and (c.status == 200 or not answered)]

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 0) -> None:
        """Answer the next `times` calls of `method` with 429 and `Retry-After`."""
        with self._lock:
            self._script.rate_limits.setdefault(method, []).extend([retry_after] * times)

    def fail_channel(self, channel: str, error: str = "channel_not_found") -> None:
        """Answer chat.* calls to `channel` with `{"ok": false, "error": error}`."""
        with self._lock:
            self._script.failing_channels[channel] = error

    def fail_method(self, method: str, error: str) -> None:
        """Answer every call of `method` with `{"ok": false, "error": error}`."""
        with self._lock:
            self._script.failing_methods[method] = error

    def add_user(self, email: str, user_id: str) -> None:
        """Make `users.lookupByEmail` find `email` as `user_id`."""
        with self._lock:
            self._script.users_by_email[email.lower()] = user_id

    def set_profile(self, user_id: str, **fields: Any) -> None:
        """What `users.info` answers for `user_id`, e.g. `set_profile("U1", tz="Asia/Tokyo")`."""
        with self._lock:
            self._script.profiles[user_id] = {"id": user_id, "team_id": TEAM_ID, **fields}

    def response_url(self, key: str = "1") -> str:
        """A `response_url` for interactive payloads; Bolt's `respond()` posts there.

        Those posts are recorded as calls of the method "response_url" (args: the JSON body).
        """
        return self.url.removesuffix("api/") + f"respond/{key}"

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._script = _Script()

    # --- the server side -----------------------------------------------------------

    async def _handle(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        args = await _arguments(request)
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        with self._lock:
            delays = self._script.rate_limits.get(method)
            if delays:
                retry_after = delays.pop(0)
                self._calls.append(Call(method, args, token, status=429))
                return JSONResponse(
                    {"ok": False, "error": "ratelimited"},
                    status_code=429,
                    headers={"Retry-After": str(retry_after)},
                )
            self._calls.append(Call(method, args, token))
            script = self._script
            body = self._answer(method, args, token, script)
        return JSONResponse(body)

    async def _respond(self, request: Request) -> JSONResponse:
        body = await request.json()
        args = {"key": request.path_params["key"], **(body if isinstance(body, dict) else {})}
        with self._lock:
            self._calls.append(Call("response_url", args, None))
        return JSONResponse({"ok": True})

    def _answer(self, method: str, args: dict, token: str | None, script: _Script) -> dict:
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != BOT_TOKEN:
            return {"ok": False, "error": "invalid_auth"}
        if method in script.failing_methods:
            return {"ok": False, "error": script.failing_methods[method]}
        channel = args.get("channel")
        if method.startswith("chat.") and channel in script.failing_channels:
            return {"ok": False, "error": script.failing_channels[channel]}
        handler = _ANSWERS.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        return handler(self, args, script)

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"


def _dm_channel(channel: str) -> str:
    # Posting to a user id lands in the bot's DM with that user, as on Slack.
    return "D" + channel[1:] if channel.startswith(("U", "W")) else channel


def _post_message(fake: FakeSlack, args: dict, script: _Script) -> dict:
    if not args.get("channel"):
        return {"ok": False, "error": "channel_not_found"}
    if not args.get("text") and not args.get("blocks"):
        return {"ok": False, "error": "no_text"}
    ts = fake._next_ts()
    channel = _dm_channel(args["channel"])
    message = {"type": "message", "text": args.get("text", ""), "ts": ts, "user": BOT_USER_ID}
    return {"ok": True, "channel": channel, "ts": ts, "message": message}


def _update(fake: FakeSlack, args: dict, script: _Script) -> dict:
    if not args.get("channel") or not args.get("ts"):
        return {"ok": False, "error": "message_not_found"}
    return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": args.get("text", "")}


def _post_ephemeral(fake: FakeSlack, args: dict, script: _Script) -> dict:
    if not args.get("channel") or not args.get("user"):
        return {"ok": False, "error": "channel_not_found"}
    return {"ok": True, "message_ts": fake._next_ts()}


def _conversations_open(fake: FakeSlack, args: dict, script: _Script) -> dict:
    users = str(args.get("users", ""))
    if not users:
        return {"ok": False, "error": "users_list_not_supplied"}
    return {"ok": True, "channel": {"id": _dm_channel(users.split(",")[0])}}


def _lookup_by_email(fake: FakeSlack, args: dict, script: _Script) -> dict:
    email = str(args.get("email", "")).lower()
    user_id = script.users_by_email.get(email)
    if user_id is None:
        return {"ok": False, "error": "users_not_found"}
    return {"ok": True, "user": {"id": user_id, "team_id": TEAM_ID, "profile": {"email": email}}}


def _users_info(fake: FakeSlack, args: dict, script: _Script) -> dict:
    user = script.profiles.get(str(args.get("user", "")))
    if user is None:
        return {"ok": False, "error": "user_not_found"}
    return {"ok": True, "user": user}


def _views_publish(fake: FakeSlack, args: dict, script: _Script) -> dict:
    view = args.get("view")
    if not args.get("user_id") or not view:
        return {"ok": False, "error": "invalid_arguments"}
    view = json.loads(view) if isinstance(view, str) else view
    if view.get("type") != "home":
        return {"ok": False, "error": "invalid_arguments"}
    return {"ok": True, "view": {"id": "V1", **view}}


def _views_open(fake: FakeSlack, args: dict, script: _Script) -> dict:
    if not args.get("trigger_id"):
        return {"ok": False, "error": "invalid_trigger_id"}
    view = args.get("view")
    view = json.loads(view) if isinstance(view, str) else view
    if not isinstance(view, dict) or view.get("type") != "modal":
        return {"ok": False, "error": "invalid_arguments"}
    return {"ok": True, "view": {**view, "id": f"V{next(fake._ts)}"}}


def _auth_test(fake: FakeSlack, args: dict, script: _Script) -> dict:
    return {
        "ok": True,
        "url": "https://reviewer-test.slack.com/",
        "team": "Reviewer Test",
        "user": "reviewer",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": "BBOT",
    }


_ANSWERS = {
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "chat.postEphemeral": _post_ephemeral,
    "conversations.open": _conversations_open,
    "users.lookupByEmail": _lookup_by_email,
    "users.info": _users_info,
    "views.publish": _views_publish,
    "views.open": _views_open,
    "auth.test": _auth_test,
}


async def _arguments(request: Request) -> dict[str, Any]:
    """Query, form or JSON arguments, merged, as slack_sdk may send any of them."""
    args: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            body = await request.json()
            if isinstance(body, dict):
                args.update(body)
        else:
            # slack_sdk sends forms url-encoded (multipart only for file uploads).
            args.update(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    return args


class FakeSlackServer:
    """Serves a FakeSlack with uvicorn on 127.0.0.1, on a free port, in a daemon thread."""

    def __init__(self, fake: FakeSlack | None = None) -> None:
        self.fake = fake or FakeSlack()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # No delayed-ACK wait on each answer (see tests/loopback.py).
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.fake.url = f"http://127.0.0.1:{port}/api/"
        config = uvicorn.Config(self.fake.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> FakeSlack:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake Slack server did not start")
            time.sleep(0.01)
        return self.fake

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
