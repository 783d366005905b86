"""Routes declared once: method, path, inputs, answers and auth, from which the route
validates its input, shapes its answer and is described in /docs.json.

How to add a route
------------------

1. Declare its shapes in `bot/api/models.py` (or beside the route). Inputs are pydantic
   models: a query subclasses `models.Query` (values are text; unknown ones ignored), a
   body `models.Body` (JSON types as they are; an unknown field is 400). Answers are
   `TypedDict`s: pydantic serialises our rows (dicts) straight through them, with no
   object or validation per row, dropping columns the shape does not name. Use the field
   types of `bot/api/fields.py` where a rule needs saying (`Id`, `Text`, `WholeNumber`,
   `Matches`, `NonEmpty`, `Flag`): the document then states the rule the server applies,
   and a refusal says it in our words.
2. Add it to the module's `Api` (each module keeps one, `api = Api("tag")`)::

       @api.get(
           "/v1/queue",
           summary="Open pull requests with each pending reviewer",
           query=QueueQuery,                       # a model; leave out when none
           answers=[Answer(200, "The queue.", list[QueueItem], headers=PAGED), BAD_QUERY],
       )
       async def queue(request: Request, query: QueueQuery) -> Reply:
           ...
           return Reply(rows, headers=paging_headers(request, page, total))

   Declarable: `query=`, `headers=` (request headers: a model whose field aliases are
   the header names, e.g. `plan_url: str | None = Field(None, alias="PlanUrl")`),
   `body=` (`body_media=(JSON, FORM)`, `body_required=False`, `max_body=` when JSON
   alone, required, up to 1 MB does not fit), `auth=`, `guard=` (a check that runs
   before everything, auth included), `error_page=` (errors as a page for browsers),
   `description=`. `{id}` in the path is validated as an `Id` (bad: 404).
   The handler takes `path=`, `query=`, `headers=`, `body=` and `auth=` as it needs
   (validated models; what the auth check returned). It returns the body of the first
   2xx answer, a `Reply(body, status=…, headers=…, background=…)` (a declared status;
   `shape=` picks one member of a union such as `UserDetails | User`), or a Starlette
   `Response` (HTML pages). Errors are raised as `ApiError` (bot/api/errors.py) with a
   declared status; a body that fails its model is 400 naming each field ("invalid
   body: …"), a query or header likewise ("invalid query: …"). An undeclared status is
   an AssertionError, so a test finds it.
   An `Answer` says a status, a description, the JSON `shape`, the `headers` it carries
   (`Header(description, schema)`), other `media` (`("text/html",)`) and `links` to
   operations (by handler name) that take a value of it (`$response.body#/id`).
3. `auth=BEARER` checks the API token first (401/403, declared for you); `auth=APPROVAL`
   (bot/api/approval.py) looks up the `?token=` of an approval link and hands the
   approver to the handler as `auth=`. Write a new scheme as an `Auth`.
4. List the module's `api` in `bot/app.py`'s ROUTES (once per module); a path declared by
   several modules is one route. Every declared route is in /docs.json from then on,
   and tests/test_schemathesis.py exercises it: run it (schemathesis.toml says how it is
   told credentials and what it is told to leave out, with the reason).

A route whose body belongs to someone else (GitHub's webhooks, Slack's events) is
declared with `raw=True`: a plain Starlette endpoint, described but not parsed here.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import types
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, NotRequired, Union, get_args, get_origin
from urllib.parse import parse_qs, parse_qsl

from pydantic import BaseModel, Field, TypeAdapter
from pydantic import ValidationError as PydanticError
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from typing_extensions import TypedDict

from bot.api.auth import require_token
from bot.api.errors import ApiError, ValidationError
from bot.api.fields import Id

UNIONS = (Union, types.UnionType)
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# A JSON body for the API is small; anything far larger is refused before it is parsed.
MAX_JSON_BYTES = 1_000_000


@dataclass(frozen=True)
class Header:
    """A header an answer carries."""

    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: where a value of this answer leads (`operation` is the handler's
    name; `parameters` map its parameters to expressions like `$response.body#/id`)."""

    operation: str
    parameters: Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    """One status a route answers, with its body's shape (None: no body) and headers.

    A `shape` is serialised as JSON. `media` names other bodies (an HTML page, YAML),
    which the handler builds as a Response; `schema` describes them in the document.
    """

    status: int
    description: str
    shape: Any = None
    headers: Mapping[str, Header] = field(default_factory=dict)
    media: Sequence[str] = ()
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    links: Mapping[str, Link] = field(default_factory=dict)

    @property
    def media_types(self) -> tuple[str, ...]:
        """Every media type of the body: JSON first when there is a shape."""
        return (JSON, *self.media) if self.shape is not None else tuple(self.media)

    def adapters(self) -> dict[Any, TypeAdapter[Any]]:
        """Serialisers by shape: the declared one, and each alternative of a union (a
        union of TypedDicts cannot pick by itself: our rows carry more keys than shown)."""
        if self.shape is None:
            return {}
        alternatives = get_args(self.shape) if get_origin(self.shape) in UNIONS else ()
        return {shape: TypeAdapter(shape) for shape in (self.shape, *alternatives)}


@dataclass(frozen=True)
class Auth:
    """How a route is authorised: the OpenAPI security scheme, the answers it adds, and
    the check run before anything else. The check raises ApiError to refuse; what it
    returns (an approver, say) reaches a handler that takes `auth=`. A raw route checks
    for itself (`check=None`): the scheme still says what it takes."""

    name: str
    scheme: Mapping[str, Any]
    answers: Sequence[Answer]
    check: Callable[[Request], Any] | None = None
    # Other schemes that do as well, each alone; `optional`: none at all may do too
    # (reads while READ_ACCESS is public).
    also: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    optional: bool = False
    # Headers the request may send and the 2xx answers carry (If-None-Match, ETag).
    request_headers: Mapping[str, Header] = field(default_factory=dict)
    answer_headers: Mapping[str, Header] = field(default_factory=dict)


class Error(TypedDict):
    """The contract's error body."""

    detail: Annotated[str, Field(description="What is wrong.")]
    errors: NotRequired[
        Annotated[dict[str, str], Field(description="A message per field that failed.")]
    ]


def error(status: int, description: str) -> Answer:
    """An error answer: `{"detail": …}`, with `errors` where fields failed."""
    return Answer(status, description, Error)


NOT_FOUND = error(404, "No such resource.")
BAD_BODY = error(400, "Malformed or incomplete body; `errors` names each field.")
BAD_QUERY = error(400, "A malformed query parameter; `errors` names each.")
TOO_LARGE = error(413, "The body is over 1 MB.")
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "A token from API_TOKENS (for reads, READ_TOKENS too).",
}
BEARER = Auth(
    "bearer",
    BEARER_SCHEME,
    [error(401, "No bearer token."), error(403, "A bearer token that is not in API_TOKENS.")],
    require_token,
)


@dataclass
class Reply:
    """An answer with a status (declared for the route), headers or a background task;
    `shape` picks one alternative of a union the route declares."""

    body: Any = None
    status: int | None = None
    shape: Any = None
    headers: Mapping[str, str] | None = None
    background: BackgroundTask | None = None


Handler = Callable[..., Awaitable[Any]]


@dataclass(eq=False)
class Operation:
    """One method on one path: everything the route and its description need."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    answers: Sequence[Answer]
    query: type[BaseModel] | None = None
    # Request headers the route reads, as a model whose field aliases are the names.
    headers: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    # Media types the body may come in (JSON, FORM); without `body_required`, an empty
    # body is the model's defaults.
    body_media: Sequence[str] = (JSON,)
    body_required: bool = True
    max_body: int = MAX_JSON_BYTES
    auth: Auth | None = None
    # Checked before anything else, auth included: whether the route applies at all.
    guard: Callable[[Request], Any] | None = None
    # Turns an error into the page a browser is shown (None: the JSON error as usual).
    error_page: Callable[[Request, ApiError], Response | None] | None = None
    raw: bool = False
    raw_body: Mapping[str, Any] | None = None  # a raw route's body, for the document
    description: str | None = None

    def __post_init__(self) -> None:
        names = [p.strip("{}") for p in self.path.split("/") if p.startswith("{")]
        self.path_model = PATH_MODELS.get(tuple(names)) if names else None
        self.all_answers = [*self.answers, *(self.auth.answers if self.auth else ())]
        self.by_status = {a.status: a for a in self.all_answers}
        assert len(self.by_status) == len(self.all_answers), f"{self.path}: a status twice"
        self.adapters = {a.status: a.adapters() for a in self.all_answers}
        # The first success; a route that only redirects (sign-in) answers for itself.
        self.default_status = next(a.status for a in self.answers if a.status < 400)
        accepted = set(inspect.signature(self.handler).parameters)
        inputs = ("path", "query", "headers", "body", "auth")
        self.handler_takes = {n for n in inputs if n in accepted}

    @property
    def name(self) -> str:
        return self.handler.__name__

    async def __call__(self, request: Request) -> Response:
        if self.raw:
            return await self.handler(request)
        try:
            inputs = await self.inputs(request)
            result = await self.handler(request, **inputs)
        except ApiError as exc:
            page = self.error_page(request, exc) if self.error_page else None
            if page is None:
                raise
            return page
        if isinstance(result, Response):
            return result
        return self.respond(result if isinstance(result, Reply) else Reply(result))

    async def inputs(self, request: Request) -> dict[str, Any]:
        """Auth first, then the path, the query, the headers and the body, each validated."""
        inputs: dict[str, Any] = {}
        if self.guard is not None:
            self.guard(request)
        if self.auth is not None and self.auth.check is not None:
            checked = self.auth.check(request)
            inputs["auth"] = await checked if inspect.isawaitable(checked) else checked
        if self.path_model is not None:
            inputs["path"] = path_params(self.path_model, request)
        if self.query is not None:
            inputs["query"] = query_params(self.query, request)
        if self.headers is not None:
            inputs["headers"] = header_params(self.headers, request)
        if self.body is not None:
            inputs["body"] = validated(self.body, await self.read_body(request), "invalid body")
        return {k: v for k, v in inputs.items() if k in self.handler_takes}

    async def read_body(self, request: Request) -> dict[str, Any]:
        """The body as a dict to validate, from JSON or a form as the route declares."""
        body = await limited_body(request, self.max_body)
        if not body.strip() and not self.body_required:
            return {}
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media == FORM and FORM in self.body_media:
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            return {name: values[-1] for name, values in form.items()}
        # A JSON-only route reads JSON whatever the label (`curl -d` says it sends a form).
        if JSON not in self.body_media or (FORM in self.body_media and media not in (JSON, "")):
            raise ApiError(415, f"send {' or '.join(self.body_media)}")
        if not body:
            raise ApiError(400, "a JSON object body is required")
        return json_object(body)

    def respond(self, reply: Reply) -> Response:
        status = reply.status or self.default_status
        # An undeclared status or shape is the route's bug: it fails loudly in the tests.
        assert status in self.by_status, f"{self.method} {self.path} answered undeclared {status}"
        adapter = None
        if self.by_status[status].shape is not None:
            adapter = self.adapters[status][reply.shape or self.by_status[status].shape]
        content = adapter.dump_json(reply.body) if adapter is not None else b""
        return Response(
            content,
            status_code=status,
            headers=dict(reply.headers or {}),
            media_type=JSON if adapter is not None else None,
            background=reply.background,
        )


class IdPath(BaseModel):
    """`{id}` in a path: a resource's id."""

    id: Id


PATH_MODELS: dict[tuple[str, ...], type[BaseModel]] = {("id",): IdPath}


class ApiRoute(Route):
    """A Starlette route for one path, with every declared method on it (so a 405's
    Allow lists them all)."""

    def __init__(self, path: str, operations: Sequence[Operation]) -> None:
        self.operations = {op.method: op for op in operations}
        super().__init__(path, self.dispatch, methods=list(self.operations))
        # Starlette wraps each route in its exception handlers again; the app's
        # ExceptionMiddleware, just outside the router, answers with the same ones.
        self.app = self.serve

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.dispatch(Request(scope, receive, send))
        await response(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await self.operations[method](request)


class Api:
    """A module's declared routes; `bot/app.py` turns every module's into routes."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.operations: list[Operation] = []

    def route(self, method: str, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            declared.setdefault("tag", self.tag)
            self.operations.append(Operation(method, path, handler, **declared))
            return handler

        return register

    def get(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **declared)

    def post(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **declared)

    def patch(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **declared)

    def delete(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **declared)


def api_routes(*apis: Api) -> list[ApiRoute]:
    """One route per path, across modules, in the order first declared."""
    by_path: dict[str, list[Operation]] = {}
    for api in apis:
        for operation in api.operations:
            by_path.setdefault(operation.path, []).append(operation)
    return [ApiRoute(path, operations) for path, operations in by_path.items()]


def operations_of(routes: Sequence[Any]) -> list[Operation]:
    """Every declared operation among an app's routes, in order."""
    return [op for r in routes if isinstance(r, ApiRoute) for op in r.operations.values()]


# --- reading the input -------------------------------------------------------------------


def messages(exc: PydanticError) -> dict[str, str]:
    """One message per field, in our words: "is required", "must be a string"…"""
    errors: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        name = str(err["loc"][0]) if err["loc"] else "body"
        if err["type"] == "literal_error":  # ctx: "'open', 'closed' or 'all'"
            choices = re.findall(r"'([^']*)'", err["ctx"]["expected"])
            errors.setdefault(name, f"must be one of {', '.join(choices)}")
        errors.setdefault(name, MESSAGES.get(err["type"], err["msg"]))
    return errors


# pydantic's own checks, said as the API always said them; ours (fields.py) say their own.
MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
}


def validated(model: type[BaseModel], value: Any, what: str) -> Any:
    try:
        return model.model_validate(value)
    except PydanticError as exc:
        errors = messages(exc)
        detail = f"{what}: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise ValidationError(errors, detail=detail) from None


def path_params(model: type[BaseModel], request: Request) -> Any:
    """The path's parameters; one that is malformed names nothing there is: 404."""
    try:
        return model.model_validate(request.path_params)
    except PydanticError as exc:
        name, message = next(iter(messages(exc).items()))
        raw = request.path_params.get(name)
        raise ApiError(404, f"{name} {message}, got {raw!r}") from None


def query_params(model: type[BaseModel], request: Request) -> Any:
    """The query's parameters (the last of repeated ones); 400 naming each bad one."""
    return validated(model, dict(query_values(request.scope["query_string"])), "invalid query")


@functools.lru_cache(maxsize=1024)
def query_values(query_string: bytes) -> types.MappingProxyType[str, str]:
    """The values of a raw query string, the last of repeated ones, read as Starlette's
    `request.query_params` reads them; kept by the raw query, which a polling client
    sends the same each time (reading it was half the cost of a route's inputs)."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return types.MappingProxyType(dict(pairs))


def header_params(model: type[BaseModel], request: Request) -> Any:
    """The headers the model names (by alias, in any letter case); 400 naming each bad one."""
    names = {(f.alias or name): name for name, f in model.model_fields.items()}
    sent = {alias: request.headers[alias] for alias in names if alias in request.headers}
    return validated(model, sent, "invalid headers")


def whole_number(raw: str) -> int | None:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 100:
        return None
    return int(raw)


async def limited_body(request: Request, limit: int = MAX_JSON_BYTES) -> bytes:
    """The body, or 413 when it exceeds `limit` (by its Content-Length: before reading)."""
    declared = whole_number(request.headers.get("content-length", ""))
    if declared is not None and declared > limit:
        raise ApiError(413, f"the body exceeds {limit} bytes")
    body = await request.body()
    if len(body) > limit:  # sent chunked, without a length
        raise ApiError(413, f"the body exceeds {limit} bytes")
    return body


def json_object(body: bytes) -> dict[str, Any]:
    """`body` parsed as a JSON object, or 400 saying why it is not one."""
    try:
        value = json.loads(body)
        # Lone surrogates ("\ud800") parse but can never be answered back as UTF-8.
        json.dumps(value, ensure_ascii=False).encode()
    except RecursionError:  # "[[[[…" nested deeper than the parser goes
        raise ApiError(400, "the body is nested too deeply") from None
    except UnicodeEncodeError:
        raise ApiError(400, "the body holds an unpaired surrogate (\\ud800-\\udfff)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "the body must be a JSON object")
    return value
