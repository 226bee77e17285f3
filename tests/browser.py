"""Debian's Chromium for the browser tests (Playwright cannot download one here).

`.ci/run` installs it with apt, so CI always runs these tests; on a machine without it they skip
and say how to get it.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium); .ci/run installs it",
)


async def launch_chromium(playwright: Any, **options: Any) -> Any:
    return await playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], **options
    )


def requests_elsewhere(page: Any, *origins: str, into: list[str] | None = None) -> list[str]:
    """The URLs `page` asks of any origin but `origins` (from now on; added to `into` when
    given): a page of ours must work offline, every script, style, font and picture served by
    the platform itself."""
    outside: list[str] = [] if into is None else into

    def note(request: Any) -> None:
        if not request.url.startswith((*origins, "data:", "blob:")):
            outside.append(request.url)

    page.on("request", note)
    return outside
