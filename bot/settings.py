"""Settings read from the environment (and a `.env` file), validated once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """A setting is malformed; `str()` is one line naming the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


@dataclass(frozen=True)
class Settings:
    # repr=False: a platform's DATABASE_URL carries the database password.
    database_url: str = field(default="sqlite:///reviewer.db", repr=False)
    port: int = 8000
    github_app_id: str | None = None
    github_private_key: str | None = field(default=None, repr=False)
    github_webhook_secret: str | None = field(default=None, repr=False)
    github_api_url: str = "https://api.github.com"
    github_token: str | None = field(default=None, repr=False)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"
    slack_channel: str | None = None
    api_tokens: tuple[str, ...] = field(default=(), repr=False)
    public_url: str = "http://localhost:8000"
    approvers_url: str | None = None
    pull_request_sync_minutes: int = 90
    review_sync_minutes: int = 15
    # RedeliveryBackstop period; 0 turns it off.
    redeliver_minutes: int = 10
    reminder_cron: str = "30 15 * * *"
    timezone: str = "UTC"
    scheduler: bool = True
    smtp_url: str | None = field(default=None, repr=False)
    smtp_from: str | None = None
    release_min_approvals: int | None = None
    release_token_ttl_hours: int = 72
    log_level: str = "INFO"
    sentry_dsn: str | None = field(default=None, repr=False)

    @property
    def github_app_configured(self) -> bool:
        return bool(self.github_app_id and self.github_private_key)

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


# Periods and lifetimes past these overflow the scheduler's and the tokens' timedeltas
# long before they could mean anything.
MINUTES_IN_A_YEAR = 365 * 24 * 60
HOURS_IN_A_YEAR = 365 * 24


def _int(
    name: str, raw: str | None, default: int | None, minimum: int = 0, maximum: int | None = None
) -> int | None:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(name, f"must be at most {maximum}, got {value}")
    return value


def _url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    problem = f"expected a URL starting with {' or '.join(schemes)}://"
    try:
        parts = urlsplit(raw)
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 host
        raise ConfigError(name, f"{problem} ({exc})") from None
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(name, problem)
    return raw


def normalize_database_url(raw: str) -> str:
    """Accept the `postgres://` form hosting platforms hand out; validate the rest."""
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in ("sqlite", "postgresql"):
        raise ConfigError("DATABASE_URL", "expected sqlite:///path, postgresql://… or postgres://…")
    if scheme == "sqlite" and not raw.startswith("sqlite:///"):
        raise ConfigError(
            "DATABASE_URL", "a SQLite URL is sqlite:///relative/path or sqlite:////abs"
        )
    return raw


def _cron(raw: str) -> str:
    from bot.jobs.cron import crontab_trigger

    if len(raw.split()) != 5:
        raise ConfigError("REMINDER_CRON", f"expected 5 crontab fields, got {raw!r}")
    try:
        crontab_trigger(raw, "UTC")
    except ValueError as exc:
        raise ConfigError("REMINDER_CRON", str(exc)) from None
    return raw


def _private_key(env: Mapping[str, str | None]) -> str | None:
    inline = _blank_to_none(env.get("GITHUB_PRIVATE_KEY"))
    path = _blank_to_none(env.get("GITHUB_PRIVATE_KEY_PATH"))
    if inline:
        key = inline.replace("\\n", "\n")
        if "PRIVATE KEY" not in key:
            raise ConfigError("GITHUB_PRIVATE_KEY", "not a PEM private key")
        return key
    if path:
        try:
            key = Path(path).expanduser().read_text()
        except OSError as exc:
            raise ConfigError(
                "GITHUB_PRIVATE_KEY_PATH", f"cannot read {path}: {exc.strerror}"
            ) from None
        if "PRIVATE KEY" not in key:
            raise ConfigError("GITHUB_PRIVATE_KEY_PATH", f"{path} is not a PEM private key")
        return key
    return None


def read_environment(
    environ: Mapping[str, str] | None = None, env_file: str | Path = ".env"
) -> dict:
    """The process environment over the `.env` file (the environment wins)."""
    values: dict[str, str | None] = {}
    path = Path(env_file)
    if path.is_file():
        values.update(dotenv_values(path))
    values.update(os.environ if environ is None else environ)
    return values


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path = ".env"
) -> Settings:
    """Build validated settings; raise ConfigError naming the first malformed one."""
    env = read_environment(environ, env_file)

    def get(name: str) -> str | None:
        return _blank_to_none(env.get(name))

    port = _int("PORT", get("PORT"), 8000, minimum=1, maximum=65535)
    assert port is not None

    level = (get("LOG_LEVEL") or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"expected one of {', '.join(LOG_LEVELS)}")

    timezone = get("TIMEZONE") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("TIMEZONE", f"unknown time zone {timezone!r}") from None

    scheduler_raw = (get("SCHEDULER") or "on").lower()
    if scheduler_raw not in ("on", "off", "true", "false", "1", "0"):
        raise ConfigError("SCHEDULER", f"expected on or off, got {scheduler_raw!r}")

    app_id = get("GITHUB_APP_ID")
    if app_id is not None and not (app_id.isascii() and app_id.isdigit()):
        raise ConfigError("GITHUB_APP_ID", f"expected a number, got {app_id!r}")

    smtp_url = get("SMTP_URL")
    if smtp_url is not None:
        _url("SMTP_URL", smtp_url, ("smtp", "smtps"))
    approvers_url = get("APPROVERS_URL")
    if approvers_url is not None:
        _url("APPROVERS_URL", approvers_url, ("http", "https"))

    sentry_dsn = get("SENTRY_DSN")
    if sentry_dsn is not None:
        # sentry_sdk.init raises on a malformed DSN, which would stop start-up with a traceback.
        _url("SENTRY_DSN", sentry_dsn, ("http", "https"))

    tokens = tuple(t.strip() for t in (get("API_TOKENS") or "").split(",") if t.strip())

    return Settings(
        database_url=normalize_database_url(get("DATABASE_URL") or "sqlite:///reviewer.db"),
        port=port,
        github_app_id=app_id,
        github_private_key=_private_key(env),
        github_webhook_secret=get("GITHUB_WEBHOOK_SECRET"),
        github_api_url=_url(
            "GITHUB_API_URL", get("GITHUB_API_URL") or "https://api.github.com", ("http", "https")
        ).rstrip("/"),
        github_token=get("GITHUB_TOKEN"),
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_api_url=_url(
            "SLACK_API_URL", get("SLACK_API_URL") or "https://slack.com/api/", ("http", "https")
        ),
        slack_channel=get("SLACK_CHANNEL"),
        api_tokens=tokens,
        public_url=_url(
            "PUBLIC_URL", get("PUBLIC_URL") or f"http://localhost:{port}", ("http", "https")
        ).rstrip("/"),
        approvers_url=approvers_url,
        pull_request_sync_minutes=_int(
            "PULL_REQUEST_SYNC_MINUTES",
            get("PULL_REQUEST_SYNC_MINUTES"),
            90,
            minimum=1,
            maximum=MINUTES_IN_A_YEAR,
        ),
        review_sync_minutes=_int(
            "REVIEW_SYNC_MINUTES",
            get("REVIEW_SYNC_MINUTES"),
            15,
            minimum=1,
            maximum=MINUTES_IN_A_YEAR,
        ),
        redeliver_minutes=_int(
            "REDELIVER_MINUTES",
            get("REDELIVER_MINUTES"),
            10,
            minimum=0,
            maximum=MINUTES_IN_A_YEAR,
        ),
        reminder_cron=_cron(get("REMINDER_CRON") or "30 15 * * *"),
        timezone=timezone,
        scheduler=scheduler_raw in ("on", "true", "1"),
        smtp_url=smtp_url,
        smtp_from=get("SMTP_FROM"),
        release_min_approvals=_int(
            "RELEASE_MIN_APPROVALS", get("RELEASE_MIN_APPROVALS"), None, minimum=1
        ),
        release_token_ttl_hours=_int(
            "RELEASE_TOKEN_TTL_HOURS",
            get("RELEASE_TOKEN_TTL_HOURS"),
            72,
            minimum=1,
            maximum=HOURS_IN_A_YEAR,
        ),
        log_level=level,
        sentry_dsn=sentry_dsn,
    )
