"""Settings: defaults, .env, and one clear line for each malformed value."""

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import ConfigError, load_settings, markdown_table

ROOT = Path(__file__).resolve().parents[1]


def load(tmp_path: Path, **env: str):
    return load_settings(env, env_file=tmp_path / "none.env")


def test_defaults_follow_the_contract(tmp_path) -> None:
    s = load(tmp_path)
    assert s.database_url == "sqlite:///reviewer.db"
    assert s.port == 8000
    assert s.github_api_url == "https://api.github.com"
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.public_url == "http://localhost:8000"
    assert (s.pull_request_sync_minutes, s.review_sync_minutes) == (90, 15)
    assert (s.reminder_cron, s.timezone, s.scheduler) == ("30 15 * * *", "UTC", True)
    assert s.release_token_ttl_hours == 72
    assert s.release_min_approvals is None
    assert s.api_tokens == ()
    assert not s.github_app_configured and not s.slack_configured
    assert s.reminder_min_idle_hours == 0
    assert s.reminder_working_hours == (9 * 60, 18 * 60)
    assert s.reminder_working_days == {1, 2, 3, 4, 5}
    assert s.reminder_ignore_labels == frozenset()
    assert s.reminder_escalate_days is None
    assert (s.read_access, s.github_client_id, s.github_client_secret) == ("public", None, None)
    assert (s.read_tokens, s.session_secret) == ((), None)
    assert (s.redeliver_minutes, s.web_concurrency, s.log_format) == (10, 1, None)


def test_reminder_hours_days_and_labels(tmp_path) -> None:
    s = load(
        tmp_path,
        REMINDER_MIN_IDLE_HOURS="1.5",
        REMINDER_WORKING_HOURS="08:30-17:00",
        REMINDER_WORKING_DAYS="0,6",
        REMINDER_IGNORE_LABELS="WIP, Do Not Merge,,",
        REMINDER_ESCALATE_DAYS="3",
    )
    assert s.reminder_min_idle_hours == 1.5
    assert s.reminder_working_hours == (510, 1020)
    assert s.reminder_working_days == {6, 7}  # crontab's 0 is ISO's 7, Sunday
    assert s.reminder_ignore_labels == {"wip", "do not merge"}
    assert s.reminder_escalate_days == 3
    all_day = load(tmp_path, REMINDER_WORKING_HOURS="00:00-24:00", REMINDER_WORKING_DAYS="*")
    assert all_day.reminder_working_hours == (0, 1440)
    assert all_day.reminder_working_days == {1, 2, 3, 4, 5, 6, 7}
    assert load(tmp_path, REMINDER_WORKING_DAYS="5-7,mon").reminder_working_days == {1, 5, 6, 7}


def test_read_access_follows_the_oauth_app(tmp_path) -> None:
    oauth = {"GITHUB_CLIENT_ID": "Iv1.8a61f9b3a7aba766", "GITHUB_CLIENT_SECRET": "c" * 40}
    assert load(tmp_path, **oauth).read_access == "github"
    assert load(tmp_path, READ_ACCESS="Token", **oauth).read_access == "token"
    s = load(tmp_path, READ_ACCESS="token", READ_TOKENS="r1, r2", SESSION_SECRET="s" * 32)
    assert (s.read_access, s.read_tokens, s.session_secret) == ("token", ("r1", "r2"), "s" * 32)
    assert load(tmp_path, LOG_FORMAT="TEXT", WEB_CONCURRENCY="4").log_format == "text"
    assert load(tmp_path, REDELIVER_MINUTES="0").redeliver_minutes == 0


def test_settings_are_immutable_and_copied_with_changes(tmp_path) -> None:
    s = load(tmp_path)
    with pytest.raises(ValidationError):
        s.scheduler = False
    off = s.model_copy(update={"scheduler": False})
    assert (off.scheduler, s.scheduler, off.port) == (False, True, 8000)


def test_public_url_follows_port(tmp_path) -> None:
    assert load(tmp_path, PORT="9001").public_url == "http://localhost:9001"


def test_postgres_scheme_is_accepted(tmp_path) -> None:
    s = load(tmp_path, DATABASE_URL="postgres://u:p@db.example:5432/app")
    assert s.database_url == "postgresql://u:p@db.example:5432/app"
    assert s.is_postgres


def test_lists_keys_and_switches(tmp_path) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text("-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n")
    s = load(
        tmp_path,
        API_TOKENS=" one, two ,,",
        SCHEDULER="off",
        GITHUB_APP_ID="42",
        GITHUB_PRIVATE_KEY_PATH=str(key_file),
        LOG_LEVEL="debug",
    )
    assert s.api_tokens == ("one", "two")
    assert s.scheduler is False
    assert s.github_app_configured
    assert s.github_private_key.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert s.log_level == "DEBUG"
    inline = load(tmp_path, GITHUB_PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\\nabc\\n-----END")
    assert inline.github_private_key == "-----BEGIN PRIVATE KEY-----\nabc\n-----END"


def test_env_file_is_read_and_the_environment_wins(tmp_path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=9000\nSLACK_CHANNEL=#team\n")
    s = load_settings({"PORT": "9100"}, env_file=env_file)
    assert s.port == 9100
    assert s.slack_channel == "#team"


def test_secrets_stay_out_of_the_repr(tmp_path) -> None:
    s = load(
        tmp_path,
        API_TOKENS="sekrit-token",
        GITHUB_WEBHOOK_SECRET="hook-sekrit",
        DATABASE_URL="postgres://app:db-sekrit@db.example/app",
        READ_TOKENS="read-sekrit",
        GITHUB_CLIENT_ID="Iv1.abc",
        GITHUB_CLIENT_SECRET="client-sekrit",
        SESSION_SECRET="session-sekrit" * 3,
        SMTP_URL="smtp://u:smtp-sekrit@mail",
    )
    assert s.session_secret and s.read_tokens
    assert "sekrit" not in repr(s) and "sekrit" not in str(s)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSION_SECRET", "sekrit"),
        ("GITHUB_CLIENT_SECRET", "sek rit"),
        ("READ_TOKENS", "ok, sek rit"),
        ("API_TOKENS", "sek\x00rit"),
        ("GITHUB_PRIVATE_KEY", "sekrit"),
    ],
)
def test_malformed_secrets_stay_out_of_the_error(tmp_path, name, value) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, GITHUB_CLIENT_ID="Iv1.abc", READ_ACCESS="public", **{name: value})
    assert caught.value.setting == name
    assert "sekrit" not in str(caught.value) and "rit" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://localhost/x"),
        ("DATABASE_URL", "sqlite:/relative"),
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("GITHUB_APP_ID", "abc"),
        ("GITHUB_PRIVATE_KEY", "not a key"),
        ("GITHUB_PRIVATE_KEY_PATH", "/nonexistent/key.pem"),
        ("GITHUB_API_URL", "api.github.com"),
        ("SLACK_API_URL", "ftp://slack"),
        ("PUBLIC_URL", "reviewer.example.com"),
        ("APPROVERS_URL", "nope"),
        ("PULL_REQUEST_SYNC_MINUTES", "0"),
        ("REVIEW_SYNC_MINUTES", "-5"),
        ("REMINDER_CRON", "every day"),
        ("REMINDER_CRON", "61 15 * * *"),
        ("TIMEZONE", "Mars/Olympus"),
        ("SCHEDULER", "sometimes"),
        ("SMTP_URL", "http://mail"),
        ("RELEASE_MIN_APPROVALS", "zero"),
        ("RELEASE_TOKEN_TTL_HOURS", "0"),
        ("LOG_LEVEL", "LOUD"),
        # Each of these once got through and stopped start-up with a traceback instead.
        ("PUBLIC_URL", "http://[::1"),
        ("GITHUB_API_URL", "http://[github"),
        ("SENTRY_DSN", "not-a-dsn"),
        ("PULL_REQUEST_SYNC_MINUTES", "99999999999999999"),
        ("REVIEW_SYNC_MINUTES", "99999999999999999"),
        ("RELEASE_TOKEN_TTL_HOURS", "99999999999999999999"),
        ("GITHUB_APP_ID", "\u00b2"),
        # The settings other issues use.
        ("REMINDER_MIN_IDLE_HOURS", "soon"),
        ("REMINDER_MIN_IDLE_HOURS", "-1"),
        ("REMINDER_MIN_IDLE_HOURS", "nan"),
        ("REMINDER_WORKING_HOURS", "9-17"),
        ("REMINDER_WORKING_HOURS", "18:00-09:00"),
        ("REMINDER_WORKING_HOURS", "09:00-24:30"),
        ("REMINDER_WORKING_HOURS", "09:60-17:00"),
        ("REMINDER_WORKING_DAYS", "8"),
        ("REMINDER_WORKING_DAYS", "5-1"),
        ("REMINDER_WORKING_DAYS", "weekdays"),
        ("REMINDER_IGNORE_LABELS", "wip," + "x" * 51),
        ("REMINDER_IGNORE_LABELS", "wip,do\x07not"),
        ("REMINDER_ESCALATE_DAYS", "0"),
        ("REMINDER_ESCALATE_DAYS", "two"),
        ("READ_ACCESS", "everyone"),
        ("READ_ACCESS", "github"),  # without GITHUB_CLIENT_ID
        ("GITHUB_CLIENT_ID", "not an id"),
        ("GITHUB_CLIENT_SECRET", "has a space"),
        ("READ_TOKENS", "one, t w o"),
        ("SESSION_SECRET", "too-short"),
        ("REDELIVER_MINUTES", "-1"),
        ("REDELIVER_MINUTES", "99999999999999999"),
        ("WEB_CONCURRENCY", "0"),
        ("WEB_CONCURRENCY", "many"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_malformed_values_name_the_setting(tmp_path, name, value) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, **{name: value})
    assert caught.value.setting == name
    assert str(caught.value).startswith(f"{name}: ")
    assert "\n" not in str(caught.value)


def test_the_cli_stops_with_one_line_naming_the_setting(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "reviewer: bad setting PORT: expected a whole number, got 'eighty'"
    ]
    assert "Traceback" not in result.stderr


def test_an_oauth_client_id_needs_its_secret(tmp_path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, GITHUB_CLIENT_ID="Iv1.abc")
    assert str(caught.value).startswith("READ_ACCESS: ")
    assert "GITHUB_CLIENT_SECRET" in str(caught.value)
    assert load(tmp_path, GITHUB_CLIENT_ID="Iv1.abc", READ_ACCESS="public").read_access == "public"


def test_the_readme_table_is_the_declaration() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Settings") :]
    start = section.index("| name | default | meaning |")
    table = section[start : section.index("\n\n", start) + 1]
    assert table == markdown_table(), "regenerate: python -m bot.settings --markdown"


def test_the_table_is_printed_by_the_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.settings", "--markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == markdown_table()
    assert "| `REMINDER_WORKING_HOURS` | `09:00-18:00` |" in result.stdout
