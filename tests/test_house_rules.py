"""The house rules of docs/architecture.md that a machine can check."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "switchboard"


def _sources(skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    files = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith(skip):
            files.append((relative, path.read_text("utf-8")))
    return files


def test_only_the_edge_commits() -> None:
    offenders = [
        name
        for name, text in _sources(skip=("core/db/", "migrations/", "sandbox/"))
        if re.search(r"\.commit\(\)", text)
    ]
    assert offenders == [], "commit() belongs to core/db/session.py only"


def test_httpx_only_in_the_adapter_kit_and_the_clients() -> None:
    allowed = ("core/http/", "sandbox/")
    offenders = [
        name
        for name, text in _sources(skip=allowed)
        if re.search(r"^\s*(import httpx|from httpx)", text, re.MULTILINE)
        and not name.endswith("/client.py")
    ]
    assert offenders == [], "HTTP to peers goes through core/http and integrations/*/client.py"


def test_no_naive_now() -> None:
    offenders = [
        name
        for name, text in _sources(skip=("sandbox/",))
        if re.search(r"datetime\.(utcnow|now)\(\)", text)
    ]
    assert offenders == [], "use datetime.now(UTC) / utcnow() from core.db"


def test_no_fire_and_forget_tasks_in_domain_code() -> None:
    offenders = [
        name
        for name, text in _sources(skip=("core/", "sandbox/", "demo.py", "main.py"))
        if "create_task(" in text
    ]
    assert offenders == [], "work that must not be lost is a durable job, not a bare task"


def test_relationships_never_load_lazily() -> None:
    offenders = [
        name for name, text in _sources() if "relationship(" in text and 'lazy="raise"' not in text
    ]
    assert offenders == []
