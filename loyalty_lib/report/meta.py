"""Run metadata shown on the index: git commit, package versions, the command, relative paths."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

from loyalty_lib import config
from loyalty_lib.report.base import VERSION_PACKAGES


def _git(*args: str) -> str:
    """Output of one ``git`` command run in the project folder (stripped)."""
    return subprocess.run(
        ["git", "-C", str(config.PROJECT_DIR), *args],
        capture_output=True,
        text=True,
        timeout=5,
        check=True,
    ).stdout.strip()


def _git_commit() -> str:
    try:
        sha = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        return sha + (" (with local changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "not available"


def package_versions() -> dict[str, str]:
    """Return the versions of Python and the main packages, for the run's metadata."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for p in VERSION_PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            continue
    return out


def _relative(path: str | Path, base: Path) -> str:
    """``path`` relative to the report folder, for pages that must not show absolute paths."""
    return os.path.relpath(Path(path).resolve(), base)


def _command_line(out: Path) -> str:
    """The ``loyalty`` command of this run, with absolute paths made relative to the report."""
    if not (sys.argv and "loyalty" in sys.argv[0]):
        return "run_report(...)"
    args = []
    for a in sys.argv[1:]:
        flag, eq, value = a.partition("=") if a.startswith("--") else ("", "", a)
        if os.path.isabs(value):
            value = _relative(value, out)
        args.append(f"{flag}{eq}{value}")
    return " ".join(["loyalty", *args])
