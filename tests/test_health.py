import asyncio
import shutil
import uuid

import pytest
from starlette.testclient import TestClient

from bot.app import create_app
from bot.settings import load_settings
from bot.store.migrate import migrate
from tests.conftest import BACKENDS, _pg_admin, _server_url


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_with_the_backend(client: TestClient, settings) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == ("postgresql" if settings.is_postgres else "sqlite")


def _settings(url: str, tmp_path):
    return load_settings({"DATABASE_URL": url, "SCHEDULER": "off"}, env_file=tmp_path / "none")


def test_readyz_503_once_the_sqlite_file_is_gone(tmp_path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    url = f"sqlite:///{folder}/reviewer.db"
    migrate(url)
    with TestClient(create_app(_settings(url, tmp_path))) as client:
        assert client.get("/readyz").status_code == 200
        shutil.rmtree(folder)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["detail"] == "the database does not answer"
        assert client.get("/healthz").status_code == 200


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL backend not selected")
def test_readyz_503_once_the_postgres_database_is_dropped(tmp_path, postgres_database) -> None:
    name = f"reviewer_gone_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    with TestClient(create_app(_settings(_server_url(name), tmp_path))) as client:
        assert client.get("/readyz").status_code == 200
        asyncio.run(_pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
