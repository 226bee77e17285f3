"""`./dev` installs the environment only when the lock or the project changed, one at a time.

Run against a copy of the script in a temporary folder, with a stand-in `uv` that records each
`sync` (and takes a while, like a real one), so nothing of the real `.venv` is touched.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _uv_version() -> str:
    match = re.search(r'^UV_VERSION="([^"]+)"', (ROOT / "dev").read_text(), re.MULTILINE)
    assert match
    return match.group(1)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of `./dev` beside a lock and a project file, with a recording stand-in `uv`."""
    shutil.copy(ROOT / "dev", tmp_path / "dev")
    (tmp_path / "uv.lock").write_text("version = 1\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    uv = tmp_path / ".cache" / "bootstrap" / "bin" / "uv"
    uv.parent.mkdir(parents=True)
    uv.write_text(
        textwrap.dedent(
            f"""\
            #!/usr/bin/env bash
            if [ "$1" = "--version" ]; then echo "uv {_uv_version()}"; exit 0; fi
            echo "$@" >> sync.log
            if [ -f sync.fails ]; then exit 1; fi
            sleep "${{FAKE_SYNC_SECONDS:-0}}"
            mkdir -p .venv/bin
            ln -sf {sys.executable} .venv/bin/python
            printf '#!/usr/bin/env bash\\necho "switchboard $*"\\n' > .venv/bin/switchboard
            chmod +x .venv/bin/switchboard
            """
        )
    )
    uv.chmod(0o755)
    return tmp_path


def run_dev(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [str(project / "dev"), *args],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def syncs(project: Path) -> list[str]:
    log = project / "sync.log"
    return log.read_text().splitlines() if log.exists() else []


def test_the_environment_is_installed_once_while_nothing_changes(project: Path) -> None:
    first = run_dev(project, "hello")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "switchboard hello"
    second = run_dev(project, "hello", "again")
    assert second.stdout.strip() == "switchboard hello again"
    assert len(syncs(project)) == 1
    assert "--extra sandbox" in syncs(project)[0]
    assert "--locked" in syncs(project)[0]


@pytest.mark.parametrize("changed", ["uv.lock", "pyproject.toml"])
def test_a_changed_lock_or_project_installs_again(project: Path, changed: str) -> None:
    run_dev(project, "hello")
    with (project / changed).open("a") as handle:
        handle.write("# changed\n")
    run_dev(project, "hello")
    run_dev(project, "hello")
    assert len(syncs(project)) == 2


def test_a_failed_install_is_retried_next_time(project: Path) -> None:
    (project / "sync.fails").touch()
    failed = run_dev(project, "hello")
    assert failed.returncode != 0
    assert not (project / ".venv" / ".dev-sync-stamp").exists()
    (project / "sync.fails").unlink()
    assert run_dev(project, "hello").returncode == 0
    assert len(syncs(project)) == 2


def test_a_lost_environment_is_installed_again(project: Path) -> None:
    run_dev(project, "hello")
    shutil.rmtree(project / ".venv")
    assert run_dev(project, "hello").returncode == 0
    assert len(syncs(project)) == 2


@pytest.mark.skipif(shutil.which("flock") is None, reason="no flock(1) on this machine")
def test_two_dev_commands_at_once_install_once(project: Path) -> None:
    import os

    env = {**os.environ, "FAKE_SYNC_SECONDS": "1"}
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [str(project / "dev"), "hello", str(n)],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert sorted(out.strip() for out, _ in outputs) == [
        "switchboard hello 0",
        "switchboard hello 1",
    ]
    assert len(syncs(project)) == 1  # the second waited for the first, then found it current
    assert time.monotonic() - started < 30
