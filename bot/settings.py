"""Settings read from the environment (and a `.env` file), validated once at start-up.

Each setting is declared once below, as a field of `Settings`: its type, its default, its
validation and its one-line meaning (the `description`). The README's settings table is
generated from these declarations (`python -m bot.settings --markdown`), and
tests/test_settings.py fails when the two differ.

The environment variable of a field is its name in upper case. Values are stripped, and a
blank value counts as unset. A malformed value becomes a `ConfigError`: one line naming the
variable and what is wrong, never the value of a secret.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)

# Periods and lifetimes past these overflow the scheduler's and the tokens' timedeltas
# long before they could mean anything.
MINUTES_IN_A_YEAR = 365 * 24 * 60
HOURS_IN_A_YEAR = 365 * 24
DAYS_IN_TEN_YEARS = 10 * 365
GITHUB_LABEL_LENGTH = 50  # GitHub refuses longer label names


class ConfigError(Exception):
    """A setting is malformed; `str()` is one line naming the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        problem = " ".join(problem.split())  # one line, whatever the value held
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


# --- parsers of raw values: each raises ValueError with the problem, never the secret ---


def _url(raw: str, schemes: tuple[str, ...]) -> str:
    problem = f"expected a URL starting with {' or '.join(schemes)}://"
    try:
        parts = urlsplit(raw)
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 host
        raise ValueError(f"{problem} ({exc})") from None
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(problem)
    return raw


def _http_url(raw: str | None) -> str | None:
    return None if raw is None else _url(raw, ("http", "https"))


def _comma_list(raw: Any) -> Any:
    """`a, b,,c` -> ("a", "b", "c"); values already split pass through."""
    if isinstance(raw, str):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw


def _tokens(raw: Any) -> Any:
    tokens = _comma_list(raw)
    if any(any(c.isspace() or not c.isprintable() for c in t) for t in tokens):
        raise ValueError("a token holds no spaces or control characters")
    return tokens


def _lower(raw: Any) -> Any:
    return raw.lower() if isinstance(raw, str) else raw


def _clock(raw: str, whole: str) -> int:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", raw.strip(), flags=re.ASCII)
    if not match or int(match[2]) > 59:
        raise ValueError(f"expected HH:MM-HH:MM, got {whole!r}")
    minutes = int(match[1]) * 60 + int(match[2])
    if minutes > 24 * 60:
        raise ValueError(f"{raw.strip()} is past 24:00")
    return minutes


def parse_working_hours(raw: Any) -> Any:
    """`09:00-18:00` -> (540, 1080): minutes from midnight; `00:00-24:00` is all day."""
    if not isinstance(raw, str):
        return raw
    start, sep, end = raw.partition("-")
    if not sep:
        raise ValueError(f"expected HH:MM-HH:MM, got {raw!r}")
    hours = (_clock(start, raw), _clock(end, raw))
    if hours[0] >= hours[1]:
        raise ValueError(f"the start must be before the end, got {raw!r}")
    return hours


WEEKDAY_NAMES = {
    name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
}


def _weekday(raw: str, whole: str) -> int:
    raw = raw.strip().lower()
    number = WEEKDAY_NAMES.get(raw[:3]) if raw[:3] in WEEKDAY_NAMES and len(raw) == 3 else None
    if number is None:
        if not (raw.isascii() and raw.isdigit()) or int(raw) > 7:
            raise ValueError(f"expected crontab day numbers 0-7 (0 or 7 Sunday), got {whole!r}")
        number = int(raw)
    return number


def parse_working_days(raw: Any) -> Any:
    """Crontab's day-of-week field (`1-5`, `0,6`, `mon-fri`, `*`) -> ISO weekdays (1=Mon..7=Sun)."""
    if not isinstance(raw, str):
        return raw
    days: set[int] = set()
    for part in raw.split(","):
        if part.strip() == "*":
            days.update(range(1, 8))
            continue
        first, sep, last = part.partition("-")
        low = _weekday(first, raw)
        high = _weekday(last, raw) if sep else low
        if low > high:
            raise ValueError(f"a range runs from low to high, got {raw!r}")
        days.update(7 if day == 0 else day for day in range(low, high + 1))
    return frozenset(days)


def parse_switch(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    switch = raw.lower()
    if switch not in ("on", "off", "true", "false", "1", "0"):
        raise ValueError(f"expected on or off, got {raw!r}")
    return switch in ("on", "true", "1")


def normalize_database_url(raw: str) -> str:
    """Accept the `postgres://` form hosting platforms hand out; validate the rest."""
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in ("sqlite", "postgresql"):
        raise ValueError("expected sqlite:///path, postgresql://… or postgres://…")
    if scheme == "sqlite" and not raw.startswith("sqlite:///"):
        raise ValueError("a SQLite URL is sqlite:///relative/path or sqlite:////abs")
    return raw


def _pem(key: str) -> str:
    if "PRIVATE KEY" not in key:
        raise ValueError("not a PEM private key")
    return key


# --- declarations ---

Tokens = Annotated[tuple[str, ...], BeforeValidator(_tokens)]
Minutes = Annotated[int, Field(ge=1, le=MINUTES_IN_A_YEAR)]


def setting(
    default: Any,
    meaning: str,
    *,
    secret: bool = False,
    shown: str | None = None,
    **constraints: Any,
) -> Any:
    """A setting's declaration: default, one-line meaning (the README's), constraints.

    `secret` keeps the value out of repr and out of error messages; `shown` is the default
    as the README states it, where the Python value does not say it.
    """
    extra = {"secret": secret, "shown": shown}
    return Field(
        default, description=meaning, repr=not secret, json_schema_extra=extra, **constraints
    )


class Settings(BaseSettings):
    """Every setting of the service; immutable. Build it with `load_settings()`."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_default=False)

    database_url: str = setting(
        "sqlite:///reviewer.db",
        "`sqlite:///path`, `postgresql://…` or `postgres://…` (as hosting platforms hand out)",
        secret=True,  # a platform's DATABASE_URL carries the database password
    )
    port: int = setting(8000, "port for `reviewer serve`", ge=1, le=65535)
    github_app_id: str | None = setting(None, "the GitHub App's id")
    github_private_key: str | None = setting(
        None, "the App's PEM key, inline (`\\n` escapes allowed)", secret=True
    )
    github_private_key_path: Path | None = setting(
        None, "the App's PEM key as a file (when `GITHUB_PRIVATE_KEY` is unset)"
    )
    github_webhook_secret: str | None = setting(
        None,
        "secret for `X-Hub-Signature-256`; without it webhooks are refused (503)",
        secret=True,
    )
    github_api_url: str = setting(
        "https://api.github.com", "GitHub Enterprise Server, or a local fake in tests"
    )
    github_token: str | None = setting(
        None, "a token used instead of App auth (local runs without an App)", secret=True
    )
    github_client_id: str | None = setting(
        None,
        "the App's OAuth client id, for signing in with GitHub",
        pattern=r"^[A-Za-z0-9._-]+$",
    )
    github_client_secret: str | None = setting(None, "the App's OAuth client secret", secret=True)
    slack_bot_token: str | None = setting(
        None, "Slack bot token; Slack features are off without it", secret=True
    )
    slack_signing_secret: str | None = setting(
        None, "Slack signing secret; Slack features are off without it", secret=True
    )
    slack_api_url: str = setting("https://slack.com/api/", "Slack's Web API")
    slack_channel: str | None = setting(
        None, "team channel for reminders of users without a `slack_id`"
    )
    api_tokens: Tokens = setting(
        (), "comma-separated bearer tokens for mutating routes and `/release`", secret=True
    )
    read_tokens: Tokens = setting(
        (), "comma-separated bearer tokens that may only read (`READ_ACCESS=token`)", secret=True
    )
    read_access: Literal["github", "token", "public"] = setting(
        None,
        "who may read: `github` (signed in), `token` (a bearer token) or `public`",
        shown="`github` with `GITHUB_CLIENT_ID`, else `public`",
        validate_default=True,
    )
    session_secret: str | None = setting(
        None, "key that signs sign-in sessions (at least 32 characters)", secret=True
    )
    public_url: str = setting(
        None,
        "base of links the service sends out",
        shown="`http://localhost:$PORT`",
        validate_default=True,
    )
    approvers_url: str | None = setting(
        None,
        "URL that returns the approvers of a release (`{TeamProject}` and `{Environment}` are "
        "filled in)",
    )
    pull_request_sync_minutes: Minutes = setting(90, "PullRequestFetcher period")
    review_sync_minutes: Minutes = setting(15, "ReviewFetcher period")
    redeliver_minutes: int = setting(
        10,
        "period of the redelivery of missed webhooks (`0`: off)",
        ge=0,
        le=MINUTES_IN_A_YEAR,
    )
    reminder_cron: str = setting(
        "30 15 * * *", "time of each person's daily reminder, crontab syntax, in their own zone"
    )
    timezone: str = setting("UTC", "time zone of `REMINDER_CRON`, and of people without one")
    reminder_min_idle_hours: float = setting(
        0.0,
        "a request counts for reminders only once it is this many working hours old",
        ge=0.0,
        le=float(HOURS_IN_A_YEAR),
        allow_inf_nan=False,
        shown="`0`",
    )
    reminder_working_hours: Annotated[tuple[int, int], BeforeValidator(parse_working_hours)] = (
        setting(
            (9 * 60, 18 * 60),
            "a person's working hours, in their own time zone (`00:00-24:00`: all day)",
            shown="`09:00-18:00`",
        )
    )
    reminder_working_days: Annotated[frozenset[int], BeforeValidator(parse_working_days)] = setting(
        frozenset(range(1, 6)),
        "crontab day numbers (0 or 7 Sunday) of working days",
        shown="`1-5`",
    )
    reminder_ignore_labels: Annotated[frozenset[str], BeforeValidator(_comma_list)] = setting(
        frozenset(), "comma-separated labels (any case) whose pull requests are never reminded"
    )
    reminder_escalate_days: int | None = setting(
        None,
        "idle this many working days: also named in `SLACK_CHANNEL`",
        ge=1,
        le=DAYS_IN_TEN_YEARS,
    )
    scheduler: Annotated[bool, BeforeValidator(parse_switch)] = setting(
        True, "`off` runs no periodic jobs in this process", shown="`on`"
    )
    smtp_url: str | None = setting(
        None,
        "mail for approvers (`smtp://user:pass@host:port` or `smtps://…`)",
        secret=True,
    )
    smtp_from: str | None = setting(None, "sender address of mail to approvers")
    release_min_approvals: int | None = setting(
        None, "approvals that approve a release; every approver when unset", ge=1
    )
    release_token_ttl_hours: int = setting(
        72, "lifetime of an approval token", ge=1, le=HOURS_IN_A_YEAR
    )
    log_level: Annotated[LogLevel, BeforeValidator(str.upper)] = setting(
        "INFO", "least severe level that is logged"
    )
    log_format: Annotated[Literal["json", "text"] | None, BeforeValidator(_lower)] = setting(
        None,
        "`json` (JSON lines) or `text` on standard output",
        shown="`json` for `serve`, `text` for other commands",
    )
    web_concurrency: int = setting(1, "worker processes of `reviewer serve`", ge=1, le=256)
    sentry_dsn: str | None = setting(
        None, "report errors to Sentry (install the `sentry` extra)", secret=True
    )

    # --- validation that a type and a bound do not say ---

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("github_app_id")
    @classmethod
    def _app_id(cls, value: str | None) -> str | None:
        if value is not None and not (value.isascii() and value.isdigit()):
            raise ValueError(f"expected a number, got {value!r}")
        return value

    @field_validator("github_private_key")
    @classmethod
    def _inline_key(cls, value: str | None) -> str | None:
        return None if value is None else _pem(value.replace("\\n", "\n"))

    @field_validator("github_private_key_path")
    @classmethod
    def _key_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        try:
            key = value.expanduser().read_text()
        except OSError as exc:
            raise ValueError(f"cannot read {value}: {exc.strerror}") from None
        if "PRIVATE KEY" not in key:
            raise ValueError(f"{value} is not a PEM private key")
        return value

    @field_validator("github_api_url", "public_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _url(value, ("http", "https")).rstrip("/")

    @field_validator("slack_api_url", "approvers_url", "sentry_dsn")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        # A malformed SENTRY_DSN would stop start-up with sentry_sdk.init's traceback.
        return _http_url(value)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value, ("smtp", "smtps"))

    @field_validator("github_client_secret")
    @classmethod
    def _client_secret(cls, value: str | None) -> str | None:
        if value is not None and any(c.isspace() or not c.isprintable() for c in value):
            raise ValueError("holds spaces or control characters")
        return value

    @field_validator("session_secret")
    @classmethod
    def _session_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 32:
            raise ValueError(f"must be at least 32 characters, got {len(value)}")
        return value

    @field_validator("read_access", mode="before")
    @classmethod
    def _read_access(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return "github" if info.data.get("github_client_id") else "public"
        return _lower(value)

    @field_validator("read_access")
    @classmethod
    def _read_access_needs(cls, value: str, info: ValidationInfo) -> str:
        if value == "github" and not info.data.get("github_client_id"):
            raise ValueError("github needs GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET")
        if value == "github" and not info.data.get("github_client_secret"):
            raise ValueError("github (default with GITHUB_CLIENT_ID) needs GITHUB_CLIENT_SECRET")
        return value

    @field_validator("public_url", mode="before")
    @classmethod
    def _public_url_default(cls, value: Any, info: ValidationInfo) -> Any:
        return f"http://localhost:{info.data.get('port', 8000)}" if value is None else value

    @field_validator("reminder_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from bot.jobs.cron import crontab_trigger

        if len(value.split()) != 5:
            raise ValueError(f"expected 5 crontab fields, got {value!r}")
        crontab_trigger(value, "UTC")  # its ValueError says which field is wrong
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("reminder_working_days")
    @classmethod
    def _some_days(cls, value: frozenset[int]) -> frozenset[int]:
        if not value or not value <= set(range(1, 8)):
            raise ValueError("expected ISO weekdays 1-7, at least one")
        return value

    @field_validator("reminder_working_hours")
    @classmethod
    def _hours_in_a_day(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= value[0] < value[1] <= 24 * 60:
            raise ValueError(f"expected minutes 0 <= start < end <= 1440, got {value}")
        return value

    @field_validator("reminder_ignore_labels")
    @classmethod
    def _labels_lower(cls, value: frozenset[str]) -> frozenset[str]:
        for label in value:
            if len(label) > GITHUB_LABEL_LENGTH or not label.isprintable():
                raise ValueError(
                    f"a label is up to {GITHUB_LABEL_LENGTH} printable characters, got {label!r}"
                )
        return frozenset(label.lower() for label in value)

    @model_validator(mode="after")
    def _key_from_file(self) -> Settings:
        if self.github_private_key is None and self.github_private_key_path is not None:
            # Frozen: set once here, while the model is still being built.
            key = self.github_private_key_path.expanduser().read_text()
            object.__setattr__(self, "github_private_key", key)
        return self

    @property
    def github_app_configured(self) -> bool:
        return bool(self.github_app_id and self.github_private_key)

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        **_: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what the caller hands in: load_settings reads the environment through
        # `Environment`, so a test can hand in its own instead of os.environ.
        return (init_settings,)


def env_name(field_name: str) -> str:
    return field_name.upper()


class Environment(PydanticBaseSettingsSource):
    """A mapping of environment variables as a settings source: stripped, blanks unset."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str | None]) -> None:
        super().__init__(settings_cls)
        self.env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raw = self.env.get(env_name(field_name))
        value = raw.strip() if isinstance(raw, str) else None
        return value or None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        # The inline key wins; a key file fills it in when there is none.
        if "github_private_key_path" in values and "github_private_key" in values:
            del values["github_private_key_path"]
        return values


def read_environment(
    environ: Mapping[str, str] | None = None, env_file: str | Path = ".env"
) -> dict[str, str | None]:
    """The process environment over the `.env` file (the environment wins)."""
    values: dict[str, str | None] = {}
    path = Path(env_file)
    if path.is_file():
        values.update(dotenv_values(path))
    values.update(os.environ if environ is None else environ)
    return values


def _problem(error: Mapping[str, Any], secret: bool) -> str:
    """pydantic's error, in the words of a person setting an environment variable."""
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    got = "" if secret else f", got {value!r}"
    if kind == "value_error":
        return str(ctx["error"])
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"expected a whole number{got}"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"expected a number{got}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}" + ("" if secret else f", got {value}")
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}" + ("" if secret else f", got {value}")
    if kind == "literal_error":  # ctx["expected"] reads "'a', 'b' or 'c'"
        return "expected one of " + ", ".join(re.findall(r"'([^']*)'", ctx["expected"]))
    if kind == "string_pattern_mismatch":
        return f"unexpected characters{got}"
    return str(error["msg"])


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path = ".env"
) -> Settings:
    """Build validated settings; raise ConfigError naming the first malformed one."""
    values = Environment(Settings, read_environment(environ, env_file))()
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        field = Settings.model_fields.get(name)
        secret = bool(field and field.repr is False)
        raise ConfigError(env_name(name), _problem(error, secret)) from None
    return settings


# --- the README's table ---


def _shown_default(field: FieldInfo) -> str:
    extra = field.json_schema_extra or {}
    assert isinstance(extra, dict)
    if extra.get("shown"):
        return str(extra["shown"])
    default = field.default
    if default is None or default == () or default == frozenset():
        return "\N{EN DASH}"  # the README's "none"
    return f"`{default}`"


def markdown_table() -> str:
    """The README's settings table, one row per setting, from the declarations above."""
    rows = ["| name | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `{env_name(name)}` | {_shown_default(field)} | {field.description} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m bot.settings --markdown")
    sys.stdout.write(markdown_table())
