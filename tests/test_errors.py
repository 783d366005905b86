"""Errors anywhere answer JSON with a `detail`, never an HTML page or a traceback."""

import pytest
from starlette.testclient import TestClient

from bot.api.declare import MAX_JSON_BYTES
from tests.factories import add_user


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


# Odd inputs a client may send: each one is a 4xx JSON detail on both backends, never a 500.
ODD_READS = [
    "/v1/projects/%C2%B2",  # "²" is a digit to str.isdigit, not to int()
    "/v1/projects?page=%C2%B2",
    "/v1/projects?page=99999999999999999999999999",  # an OFFSET past 64 bits
    "/v1/pull_requests?project_id=9999999999",  # past the 32-bit id column
    "/v1/pull_requests?user_id=%C2%B2",
]


@pytest.mark.parametrize("url", ODD_READS)
def test_odd_ids_and_query_values_are_4xx(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["detail"]


def test_an_id_in_other_digits_is_not_an_alias(client: TestClient, run, db) -> None:
    user = run(add_user, db, "ann")
    assert client.get(f"/v1/users/{user}").status_code == 200
    fullwidth = chr(0xFF10 + user)  # FULLWIDTH DIGIT n, which int() reads as n
    assert client.get(f"/v1/users/{fullwidth}").status_code == 404


def test_query_errors_name_the_query_not_a_body(client: TestClient) -> None:
    response = client.get("/v1/pull_requests?state=shut")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "invalid query: state: must be one of open, closed, all",
        "errors": {"state": "must be one of open, closed, all"},
    }


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        # PostgreSQL's text type cannot hold NUL.
        (b'{"name": "x\\u0000y", "repo_owner": "docker", "repo_name": "cli"}', "control"),
        # A lone surrogate parses, but no UTF-8 answer can carry it back.
        (b'{"name": "\\ud800", "repo_owner": "docker", "repo_name": "cli"}', "surrogate"),
        (b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested"),
    ],
)
def test_bodies_no_database_can_store_are_400(client: TestClient, auth, raw, detail) -> None:
    response = client.post("/v1/projects", content=raw, headers=auth)
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert client.get("/v1/projects").json() == []


def test_metadata_with_a_lone_surrogate_is_refused_so_reads_keep_working(
    client: TestClient, auth, run, db
) -> None:
    user = run(add_user, db, "ann")
    patch = client.patch(
        f"/v1/users/{user}", content=b'{"metadata": {"nick": "\\udc00"}}', headers=auth
    )
    assert patch.status_code == 400
    assert client.get(f"/v1/users/{user}").json()["metadata"] == {}
    assert client.get("/v1/users").status_code == 200


def test_an_oversized_body_is_413_unparsed(client: TestClient, auth, run, db) -> None:
    user = run(add_user, db, "ann")
    big = b'{"metadata": {"blob": "' + b"x" * (MAX_JSON_BYTES + 1) + b'"}}'
    response = client.patch(f"/v1/users/{user}", content=big, headers=auth)
    assert response.status_code == 413
    assert response.json()["detail"]

    def chunks():  # no Content-Length: the size is found while reading
        yield big

    chunked = client.patch(f"/v1/users/{user}", content=chunks(), headers=auth)
    assert chunked.status_code == 413
    assert client.get(f"/v1/users/{user}").json()["metadata"] == {}
