"""Errors anywhere answer JSON with a `detail`, never an HTML page or a traceback."""

from starlette.testclient import TestClient


def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = client.get("/v2/nothing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "Not Found"}


def test_wrong_method_is_json_405(client: TestClient) -> None:
    response = client.put("/v1/projects")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert "GET" in response.headers["allow"]


def test_wrong_token_never_echoes_it(client: TestClient) -> None:
    response = client.post(
        "/v1/projects", json={}, headers={"Authorization": "Bearer leaked-value-123"}
    )
    assert response.status_code == 403
    assert "leaked-value-123" not in response.text
