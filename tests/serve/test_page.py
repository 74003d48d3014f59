"""The studio page as files (no browser: tests/serve/test_browser.py drives one): `GET /` and
its static files are served by the app itself, from the package, with a policy that allows
nothing from elsewhere; the page's scripts name no other host and call only /api/v1; the
files are behind the token like the API; a browser without the token gets a short page
saying how to get in; nothing outside the static folder can be reached through it."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("fastapi", reason="adcut serve's extra is not installed: pip install "
                                      "'adcut[serve]'")

from fastapi.testclient import TestClient

from adcut import __version__
from adcut.serve.app import create_app
from adcut.serve.page import STATIC
from adcut.serve.settings import ServeSettings
from tests.serve.conftest import BASE_URL

TOKEN = "page-test-token-0123456789"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """No lifespan needed: these routes read only the package's files."""
    data = tmp_path_factory.mktemp("page") / "data"
    return TestClient(create_app(ServeSettings(data_dir=data)), base_url=BASE_URL)


def test_the_page_and_every_file_it_names_are_served_by_the_app(page):
    index = page.get("/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    csp = index.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "{{version}}" not in index.text and f"?v={__version__}" in index.text
    names = re.findall(r'(?:src|href)="(/static/[^"?]+)', index.text)
    assert {"/static/studio.css", "/static/js/main.js", "/static/icon.svg"} <= set(names)
    scripts = sorted(p for p in STATIC.rglob("*.js"))
    imported = {f"/static/js/{m}" for p in scripts
                for m in re.findall(r'from "\./([\w.]+)"', p.read_text())}
    assert imported and imported <= {f"/static/js/{p.name}" for p in scripts}
    for name in {*names, *imported}:
        got = page.get(name)
        assert got.status_code == 200, name
        assert got.headers["cache-control"] == "no-cache"
    assert page.get("/static/js/main.js").headers["content-type"].startswith("text/javascript")


def test_the_page_names_no_other_host_and_calls_only_the_api():
    for path in STATIC.rglob("*"):
        if path.suffix not in (".js", ".css", ".html"):
            continue
        text = path.read_text().replace("http://www.w3.org/2000/svg", "")  # a namespace
        assert not re.search(r"(?<![\w.])(https?:)?//[\w-]+\.[\w.-]+", text), path
        for url in re.findall(r"""fetch\(\s*[`'"]([^`'"]+)""", text):
            assert url.startswith("/api/v1/"), (path, url)


@pytest.mark.parametrize("name", ["../page.py", "..%2fpage.py", "%2e%2e/app.py", ".hidden",
                                  "js/../../page.py", "js", "index.html.bak", ""])
def test_nothing_outside_the_static_folder_is_served(page, name):
    got = page.get(f"/static/{name}")
    assert got.status_code == 404 and "def " not in got.text


def test_the_page_is_behind_the_token_and_a_browser_is_told_how_to_get_in(tmp_path):
    app = create_app(ServeSettings(data_dir=tmp_path / "data", host="0.0.0.0", token=TOKEN))
    client = TestClient(app, base_url="http://192.0.2.10:8000")
    html = {"Accept": "text/html,application/xhtml+xml"}
    refused = client.get("/", headers=html)
    assert refused.status_code == 401 and refused.headers["content-type"].startswith("text/html")
    assert "needs a token" in refused.text and "/?token=YOUR_TOKEN" in refused.text
    assert "<script" not in refused.text
    assert client.get("/static/js/main.js").status_code == 401
    api = client.get("/api/v1/libraries", headers=html)  # the API answers JSON, always
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthorized"
    opened = client.get(f"/?token={TOKEN}", headers=html)
    assert opened.status_code == 200 and "adcut_token=" in opened.headers["set-cookie"]
    assert client.get("/static/js/main.js",
                      headers={"Cookie": f"adcut_token={TOKEN}"}).status_code == 200
