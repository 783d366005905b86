"""A regular install (Heroku's `pip install .`, an image's) migrates and finds app.yml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.processes import ROOT, environment


def test_an_installed_wheel_carries_migrations_and_the_manifest(tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, ROOT],
        check=True,
        capture_output=True,
    )
    env = environment(DATABASE_URL=f"sqlite:///{tmp_path}/r.db", PUBLIC_URL="https://r.example")
    env["PYTHONPATH"] = str(site)  # the installed copy, not the checkout
    script = (
        "import bot, bot.setup.manifest as m; print(bot.__file__); "
        "print(m.load_manifest(m.APP_YML, 'https://r.example')['redirect_url'])"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    where, redirect = shown.stdout.splitlines()
    assert Path(where).is_relative_to(site)
    assert redirect == "https://r.example/setup/callback"
    migrated = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.startswith("applied 0001")
