"""The widget's scripts as sites load them: small, plain JavaScript at stable addresses, cached
by version with ETags, loadable from any site; and the snippet the inbox settings show."""

from __future__ import annotations

import re

import httpx

from switchboard.messenger.widget.endpoints import (
    STATIC,
    embed_snippet,
    loader_script,
    version_of,
    widget_script,
)

LIMIT = 40 * 1024


def test_the_widget_is_small_and_the_loader_tiny() -> None:
    widget = (STATIC / "widget.js").read_bytes()
    loader = (STATIC / "widget-loader.js").read_bytes()
    assert len(widget) < LIMIT, f"widget.js is {len(widget)} bytes (limit {LIMIT})"
    assert len(loader) < 2 * 1024
    # Hand-written and self-contained: no framework, no third-party host, a Shadow DOM.
    assert b"attachShadow" in widget
    assert not re.search(rb"https?://(?!www\.w3\.org)", widget)
    assert b"import " not in widget


def test_the_widget_never_turns_the_visitors_text_into_html() -> None:
    widget = (STATIC / "widget.js").read_text("utf-8")
    # innerHTML is assigned twice only: the launcher's fixed icon and the server's sanitized
    # `html` of a stored message.
    assignments = re.findall(r"innerHTML = ([^;]+);", widget)
    assert assignments[1:] == ["message.html"], assignments
    assert assignments[0].startswith("'<svg")
    assert "insertAdjacentHTML" not in widget
    assert "document.write" not in widget


async def test_the_scripts_are_served_as_javascript_for_any_site(
    client: httpx.AsyncClient,
) -> None:
    origin = {"Origin": "https://shop.example.net"}
    loader = await client.get("/widget/widget-loader.js", headers=origin)
    assert loader.status_code == 200
    assert loader.headers["content-type"] == "text/javascript; charset=utf-8"
    assert loader.headers["access-control-allow-origin"] == "*"
    assert loader.headers["cross-origin-resource-policy"] == "cross-origin"
    assert loader.headers["x-content-type-options"] == "nosniff"
    assert loader.headers["cache-control"] == "public, max-age=300"
    assert "set-cookie" not in loader.headers

    # The loader names the current widget's version; that address is cached for a year.
    version = version_of(widget_script())
    assert f"widget.js?v={version}" in loader.text
    assert "__WIDGET_VERSION__" not in loader.text
    widget = await client.get("/widget/widget.js", params={"v": version}, headers=origin)
    assert widget.status_code == 200
    assert widget.headers["content-type"] == "text/javascript; charset=utf-8"
    assert widget.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert widget.headers["access-control-allow-origin"] == "*"
    assert widget.content == widget_script()
    assert len(widget.content) < LIMIT

    # Another (older) version or none: the current script, cached briefly.
    stale = await client.get("/widget/widget.js", params={"v": "0123456789abcdef"})
    assert stale.headers["cache-control"] == "public, max-age=300"
    assert stale.content == widget_script()
    bare = await client.get("/widget/widget.js")
    assert bare.headers["cache-control"] == "public, max-age=300"


async def test_etags_answer_304_to_a_browser_that_has_the_script(
    client: httpx.AsyncClient,
) -> None:
    for path, content in (
        ("/widget/widget.js", widget_script()),
        ("/widget/widget-loader.js", loader_script()),
    ):
        first = await client.get(path)
        etag = first.headers["etag"]
        assert etag == f'"{version_of(content)}"'
        again = await client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        weak = await client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        changed = await client.get(path, headers={"If-None-Match": '"other"'})
        assert changed.status_code == 200
        assert changed.content == content


async def test_bad_query_is_a_clear_400_or_422(client: httpx.AsyncClient) -> None:
    unknown = await client.get("/widget/widget.js", params={"x": "1"})
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unknown_filter"
    bad = await client.get("/widget/widget.js", params={"v": "<script>"})
    assert bad.status_code == 422


def test_the_embed_snippet_loads_the_loader_with_the_inbox_key() -> None:
    snippet = embed_snippet("https://api.example.com/", "pub_Key-1")
    assert snippet == (
        '<script src="https://api.example.com/widget/widget-loader.js" '
        'data-inbox="pub_Key-1" data-api="https://api.example.com" async></script>'
    )
    # Whatever an administrator typed cannot break out of the attributes.
    hostile = embed_snippet('https://x.example"><script>', 'k"><b>')
    assert "<script>" not in hostile.removeprefix("<script ").removesuffix("</script>")
    assert '"><' not in hostile
