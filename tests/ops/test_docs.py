"""The API documentation pages load nothing from another host, and can be switched off."""

from __future__ import annotations

import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from switchboard.sandbox.server import BackgroundServer
from tests.browser import CHROMIUM, needs_chromium

BASE = "http://testserver"


class _References(HTMLParser):
    """Every URL a page makes the browser load: script/img/iframe `src`, link `href`."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "src" or (tag == "link" and name == "href")):
                self.urls.append(value)


def _loaded_urls(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_documentation_pages_load_only_from_the_app(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    urls = _loaded_urls(response.text)
    assert any(url.endswith(".js") for url in urls), urls
    for url in urls:
        absolute = urljoin(BASE + page, url)
        assert urlsplit(absolute).netloc == "testserver", f"{page} loads {url} from elsewhere"
        asset = await client.get(absolute)
        assert asset.status_code == 200, url
        assert asset.content
    # The pages' inline scripts point at the schema on the same host, too.
    assert "cdn.jsdelivr.net" not in response.text
    assert "fonts.googleapis.com" not in response.text
    assert (await client.get("/openapi.json")).status_code == 200


async def test_the_assets_come_from_the_installed_package(client: httpx.AsyncClient) -> None:
    from switchboard.ops.docs import assets_directory

    directory = assets_directory()
    assert "site-packages" in str(directory) or ".venv" in str(directory)
    served = await client.get("/docs-assets/swagger-ui-bundle.js")
    assert served.content == (directory / "swagger-ui-bundle.js").read_bytes()


def test_no_copy_of_the_assets_is_committed() -> None:
    root = Path(__file__).resolve().parents[2]
    listed = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [
        name for name in listed if name.endswith(("swagger-ui-bundle.js", "redoc.standalone.js"))
    ]


@pytest.mark.parametrize(
    ("overrides", "served"),
    [
        ({"API_DOCS": "false"}, False),
        ({"API_DOCS": "true"}, True),
    ],
)
async def test_documentation_can_be_switched_off(
    runtime_factory: Any, client_factory: Any, overrides: dict[str, str], served: bool
) -> None:
    runtime = await runtime_factory(**overrides)
    client = await client_factory(runtime)
    for path in ("/docs", "/redoc", "/openapi.json", "/docs-assets/swagger-ui.css"):
        status = (await client.get(path)).status_code
        assert (status == 200) is served, (path, status)
    assert (await client.get("/api/health")).status_code == 200


async def test_production_hides_the_documentation_by_default(
    runtime_factory: Any, client_factory: Any
) -> None:
    secret = "p" * 32
    runtime = await runtime_factory(
        ENV="prod",
        FRONT_SECRET=secret,
        METRICS_TOKEN=secret,
        SECRET_KEYS="LEAxRghxYsSJGUYF8MwfJ6IkY6RAChrRZ3jFagk-JOA=",
    )
    client = await client_factory(runtime)
    assert (await client.get("/docs")).status_code == 404
    assert (await client.get("/openapi.json")).status_code == 404


@needs_chromium
@pytest.mark.parametrize(("page", "marker"), [("/docs", "swagger-ui"), ("/redoc", "redoc")])
def test_a_browser_renders_the_pages_offline(
    clean_database: str, settings_factory: Any, page: str, marker: str, tmp_path: Path
) -> None:
    """Headless Chromium with every host but 127.0.0.1 unreachable renders the page."""
    from switchboard.main import create_app

    settings = settings_factory(DATABASE_URL=clean_database, LOAD_DICTS_ON_START="false")
    app = create_app(settings, database_url=clean_database, migrate=False)
    with BackgroundServer(app) as server:
        result = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={tmp_path}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--virtual-time-budget=10000",
                "--dump-dom",
                server.url + page,
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert marker in dom
    # Rendered, not blank: the operations of the API appear in the page.
    assert "/api/dicts/po-types" in dom
