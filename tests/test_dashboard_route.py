"""GET / and its assets: served by the service, self-contained, locked to our own origin."""

import re
from pathlib import Path

from starlette.testclient import TestClient

from bot.api.dashboard import ASSETS


def test_the_page_and_its_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    # Nothing from elsewhere: no CDN script, style or font (a plain link is fine).
    assert not re.search(r"""<(script|link)[^>]+(src|href)=["']https?://""", page.text)
    script = client.get("/assets/dashboard.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    style = client.get("/assets/dashboard.css")
    assert style.headers["content-type"].startswith("text/css")
    again = client.get("/assets/dashboard.css", headers={"If-None-Match": style.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/assets/nothing.js").status_code == 404


def test_the_script_never_writes_html() -> None:
    """Titles and names are other people's input: the page only ever sets text."""
    source = (Path(ASSETS) / "dashboard.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source
