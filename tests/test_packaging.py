"""A production install leaves out the sandbox extra (the emulators and their filter parser,
`lark`): the API, the worker and the CLI must work without it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import switchboard

PACKAGE = Path(switchboard.__file__).resolve().parent
#: Product modules that may start the emulators (the demo, and `switchboard sandbox`).
MAY_IMPORT_SANDBOX = {"demo.py", "cli.py"}

WITHOUT_SANDBOX_EXTRA = """
import sys
sys.modules["lark"] = None  # as if the sandbox extra were not installed: `import lark` fails
from switchboard.config import load_settings
from switchboard.main import create_app
import switchboard.domains, switchboard.worker_process, switchboard.cli
app = create_app(load_settings(_env_file=None, ENV="test"))
paths = sorted(app.openapi()["paths"])
assert "/api/health" in paths and "/api/dicts/po-types" in paths, paths
loaded = sorted(name for name in sys.modules if name.startswith("switchboard.sandbox"))
assert not loaded, loaded
print("ok", len(paths))
"""


def test_the_platform_starts_without_the_sandbox_extra() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_SANDBOX_EXTRA],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok ")


def test_the_cli_answers_without_the_sandbox_extra() -> None:
    script = (
        "import sys; sys.modules['lark'] = None; sys.argv = ['switchboard', '--help']\n"
        "from switchboard.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "serve" in result.stdout
    assert "worker" in result.stdout


@pytest.mark.parametrize("command", ["sandbox", "demo"])
def test_the_emulator_commands_say_the_extra_is_missing(command: str) -> None:
    script = (
        f"import sys; sys.modules['lark'] = None; sys.argv = ['switchboard', {command!r}]\n"
        "from switchboard.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "ENV": "dev"},
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert f"{command} needs the sandbox extra (lark is not installed)" in result.stderr


def _sandbox_imports(path: Path) -> list[str]:
    """Every `switchboard.sandbox` import in a module, at any depth (functions included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [
                alias.name for alias in node.names if alias.name.startswith("switchboard.sandbox")
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "switchboard.sandbox"
        ):
            found.append(node.module or "")
        elif isinstance(node, ast.ImportFrom) and node.module == "switchboard":
            found += [f"switchboard.{a.name}" for a in node.names if a.name == "sandbox"]
    return found


def test_product_code_imports_the_sandbox_only_from_the_demo_and_the_cli() -> None:
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "sandbox" or str(relative) in MAY_IMPORT_SANDBOX:
            continue
        imports = _sandbox_imports(path)
        if imports:
            offenders[str(relative)] = imports
    assert offenders == {}


def test_the_scan_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from switchboard.sandbox.server import LoopServer\n")
    assert _sandbox_imports(module) == ["switchboard.sandbox.server"]
