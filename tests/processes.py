"""Running `python -m bot …` as a separate process, as a user or a platform does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# Every setting the service reads, so the test's own environment never leaks in.
SETTING_NAMES = {name.upper() for name in Settings.model_fields} | {"GITHUB_PRIVATE_KEY_PATH"}


def environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **settings)
    return env


def reviewer_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]


def run_reviewer(*args: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` run to its end in `cwd`, with only the given settings."""
    return subprocess.run(
        reviewer_command(*args),
        cwd=cwd,
        env=environment(**settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


def start_reviewer(*args: str, cwd: Path, **settings: str) -> subprocess.Popen[Any]:
    """`python -m bot ARGS` started in the background; stdout and stderr on one pipe."""
    return subprocess.Popen(
        reviewer_command(*args),
        cwd=cwd,
        env=environment(**settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
