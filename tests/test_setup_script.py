"""``scripts/setup.sh`` (run by ``run-app.sh`` at every start) skips the Debian check and pip when
nothing changed. It runs for real on a copy of the repository's scripts; only the two slow tools
it calls, ``dpkg-query`` and the venv's pip, are stand-ins on PATH that record being called.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def test_setup_skips_the_debian_check_and_pip_when_nothing_changed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for name in ("setup.sh", "debs.sh"):
        shutil.copy(ROOT / "scripts" / name, repo / "scripts" / name)
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    calls = tmp_path / "calls.log"
    tools = tmp_path / "bin"
    _executable(tools / "dpkg-query", f'#!/bin/sh\necho dpkg-query >> "{calls}"\necho "install ok installed"\n')
    _executable(repo / ".venv" / "bin" / "python", f'#!/bin/sh\necho "python $*" >> "{calls}"\n')
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"}

    def setup() -> list[str]:
        calls.write_text("")
        proc = subprocess.run(["bash", "scripts/setup.sh", "app"], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        return calls.read_text().splitlines()

    first = setup()
    assert "dpkg-query" in first
    assert any(line.startswith("python -m pip install") for line in first)
    assert setup() == []  # nothing changed: neither the Debian check nor pip
    (repo / "pyproject.toml").write_text((repo / "pyproject.toml").read_text() + "\n# changed\n")
    again = setup()
    assert "dpkg-query" in again
    assert any(line.startswith("python -m pip install") for line in again)
    assert setup() == []
    # A pulled catalogue is compiled again at the next start, once; the rest is still skipped.
    (repo / "i18n").mkdir()
    (repo / "i18n" / "zh_CN.po").write_text("# a new translation\n")
    assert setup() == ["python scripts/translations.py compile"]
    assert setup() == []
