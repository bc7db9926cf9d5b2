"""The Makefile's commands, as the README promises them (checked with ``make -n``: nothing is run)."""

import os
import shutil
import subprocess

import pytest

from loyalty_lib import config

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_dry_run(*args: str) -> list[str]:
    """The command lines ``make -n`` would run, one per line."""
    out = subprocess.run(["make", "-n", *args], cwd=config.PROJECT_DIR, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def lab_command(*args: str) -> list[str]:
    (line,) = [x for x in make_dry_run("lab", *args) if "jupyter lab" in x]
    return line.split()


def test_make_lab_allows_root_only_for_root():
    assert "--allow-root" in lab_command("USER_ID=0")
    assert "--allow-root" not in lab_command("USER_ID=1000")
    assert lab_command("USER_ID=1000")[-1] == "notebooks/"


def test_make_lab_asks_for_the_current_user():
    assert ("--allow-root" in lab_command()) == (os.getuid() == 0)


def test_jupyter_lab_knows_the_allow_root_flag():
    from jupyter_server.serverapp import ServerApp, flags

    assert "allow-root" in flags and "allow_root" in ServerApp.class_trait_names()


def test_reinstalling_the_package_does_not_regenerate_existing_data(tmp_path):
    """`make report` after a dependency change reuses the generated data instead of refusing to overwrite it."""
    (tmp_path / "ground_truth.json").write_text("{}", encoding="utf-8")
    lines = make_dry_run(f"DATA={tmp_path}", "-W", ".venv/.installed", "data")  # as if just reinstalled
    assert not any("loyalty generate" in x for x in lines), lines
    fresh = make_dry_run(f"DATA={tmp_path / 'none'}", "data")
    assert any("loyalty generate" in x for x in fresh), fresh
