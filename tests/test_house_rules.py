"""The house rules of docs/architecture.md that a machine can check."""

from __future__ import annotations

import ast
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
        for name, text in _sources(
            skip=("core/", "ops/", "sandbox/", "demo.py", "main.py", "worker_process.py")
        )
        if "create_task(" in text
    ]
    assert offenders == [], "work that must not be lost is a durable job, not a bare task"


def test_relationships_never_load_lazily() -> None:
    offenders = [
        name for name, text in _sources() if "relationship(" in text and 'lazy="raise"' not in text
    ]
    assert offenders == []


#: Where a transaction may be opened: the edges (endpoints, jobs, process entry points, the
#: request dependency) and the core that implements them.
TRANSACTION_EDGES = ("core/", "ops/", "sandbox/", "migrations/")
TRANSACTION_EDGE_FILES = ("endpoints.py", "tasks.py")
TRANSACTION_EDGE_MODULES = ("cli.py", "demo.py", "worker_process.py", "runtime.py")


def _is_transaction_edge(name: str) -> bool:
    return (
        name.startswith(TRANSACTION_EDGES)
        or name.endswith(TRANSACTION_EDGE_FILES)
        or name in TRANSACTION_EDGE_MODULES
    )


def test_transactions_are_opened_only_at_the_edges() -> None:
    offenders = [
        name
        for name, text in _sources()
        if not _is_transaction_edge(name) and re.search(r"\.transaction\(\)", text)
    ]
    assert offenders == [], (
        "services take a session; endpoints (the Session dependency), jobs and CLI commands "
        "open the transaction"
    )


#: Where SQL may be written: repositories, and the platform's own machinery (its tables, the job
#: queue, health probes, migrations) — never services, endpoints or adapters. Models may use
#: `text()` for server defaults.
SQL_PLACES = ("core/db/", "core/realtime/", "core/jobs.py", "core/housekeeping.py", "ops/")
SQL_BUILDERS = {"select", "insert", "update", "delete", "text"}


def _writes_sql(text: str) -> bool:
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("sqlalchemy")
            and SQL_BUILDERS & {alias.name for alias in node.names}
        ):
            return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"execute", "scalar", "scalars"}
        ):
            return True
    return False


def test_sql_lives_in_repositories() -> None:
    offenders = [
        name
        for name, text in _sources(skip=("migrations/", "sandbox/"))
        if not name.startswith(SQL_PLACES)
        and not name.endswith(("repository.py", "models.py"))
        and _writes_sql(text)
    ]
    assert offenders == [], "SQL belongs in a repository.py (services call repositories)"
