"""Project paths and defaults, derived from the package location (never from the working directory)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DATA_DIR = PROJECT_DIR / "data"
SAMPLE_DIR = DATA_DIR / "sample"
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
OUTPUTS_DIR = PROJECT_DIR / "outputs"
DEFAULT_DATA_DIR = OUTPUTS_DIR / "data" / "sergey_branch"
QUARANTINE_DIR = OUTPUTS_DIR / "quarantine"
REPORT_DIR = OUTPUTS_DIR / "report"

#: Seed and size of the committed teaching sample in ``data/sample``.
SAMPLE_SEED = 7
SAMPLE_CUSTOMERS = 2000
