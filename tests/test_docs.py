"""The OpenAPI description: valid, complete, and rendered by a self-contained page."""

import re

import yaml
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient


def served_operations(client: TestClient) -> set[tuple[str, str]]:
    operations = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route):
            for method in route.methods or ():
                if method != "HEAD":
                    operations.add((route.path, method.lower()))
    return operations


def test_docs_json_is_valid_openapi_3(client: TestClient) -> None:
    response = client.get("/docs.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    validate(spec)
    assert spec["servers"] == [{"url": "http://reviewer.test"}]


def test_every_served_route_is_described(client: TestClient) -> None:
    spec = client.get("/docs.json").json()
    described = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    missing = served_operations(client) - described
    assert not missing, f"routes missing from the OpenAPI description: {sorted(missing)}"
    assert ("/v1/projects", "post") in described


def test_docs_yaml_says_the_same(client: TestClient) -> None:
    response = client.get("/docs.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(response.text) == client.get("/docs.json").json()


def test_docs_page_loads_nothing_from_elsewhere(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'fetch("docs.json")' in response.text
    # No external scripts, styles or fonts: the page works offline.
    assert not re.search(r"""(src|href)=["']https?://""", response.text)
