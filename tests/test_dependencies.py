"""Dependencies: every one pinned for CI, and the test-only peers installed, so no comparison skips."""

import importlib
import re
import tomllib

from loyalty_lib import config


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _pins() -> dict[str, str]:
    lines = (config.PROJECT_DIR / "requirements" / "constraints.txt").read_text().splitlines()
    return {_name(x): x.split("==")[1] for x in lines if "==" in x and not x.startswith("#")}


def _pyproject() -> dict:
    return tomllib.loads((config.PROJECT_DIR / "pyproject.toml").read_text())


def test_every_dependency_is_pinned():
    project = _pyproject()["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    pins = _pins()
    missing = [_name(r) for r in wanted if _name(r) not in pins]
    assert not missing, f"pin {missing} in requirements/constraints.txt"


def test_lifetimes_peer_is_installed_for_the_comparisons():
    # tests/test_clv.py compares rfm_summary and the lifetime-value figures with lifetimes; they
    # skip when it is missing, so its absence from the test environment must fail here instead
    lifetimes = importlib.import_module("lifetimes")
    importlib.import_module("lifetimes.utils")
    assert lifetimes.__version__ == _pins()["lifetimes"]


def test_licence_is_an_spdx_expression_with_its_file():
    project = _pyproject()["project"]
    assert project["license"] == "MIT"
    assert all((config.PROJECT_DIR / f).exists() for f in project["license-files"])
