"""Keep committed notebooks clean: outputs only in the deterministic KPI cells nbval checks.

``python -m loyalty_lib.nbtools refresh notebooks/02_enrollment.ipynb`` executes a notebook on
its default parameters (the committed teaching sample), then strips every output except those of
cells marked ``# NBVAL_CHECK_OUTPUT``, so nbval has real numbers to compare against.
``python -m loyalty_lib.nbtools check notebooks/*.ipynb`` fails when any other cell keeps output.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import nbformat

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def is_checked(cell) -> bool:
    """Whether a cell's stored output is compared by nbval."""
    return cell.cell_type == "code" and CHECK_MARK in cell.source


def strip(nb):
    """Remove outputs except in checked cells; drop execution noise from metadata."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    count = 0
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        if is_checked(cell):
            count += 1
            cell.execution_count = count
            for out in cell.outputs:
                if "execution_count" in out:
                    out["execution_count"] = count
        else:
            cell.outputs = []
            cell.execution_count = None
    return nb


def stray_outputs(nb) -> list[int]:
    """Indices of cells that carry output but are not checked by nbval."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs and not is_checked(c)]


def refresh(path: Path) -> None:
    """Execute ``path`` on its defaults and store only the checked cells' outputs."""
    import papermill as pm

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / path.name
        pm.execute_notebook(str(path), str(out), kernel_name="python3", cwd=str(path.parent), progress_bar=False)
        nb = nbformat.read(out, as_version=4)
    nbformat.write(strip(nb), path)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``refresh`` or ``check`` notebooks."""
    ap = argparse.ArgumentParser(prog="python -m loyalty_lib.nbtools", description=__doc__)
    ap.add_argument("action", choices=["refresh", "strip", "check"])
    ap.add_argument("notebooks", nargs="+", type=Path)
    args = ap.parse_args(argv)
    bad = 0
    for p in args.notebooks:
        if args.action == "refresh":
            refresh(p)
        elif args.action == "strip":
            nbformat.write(strip(nbformat.read(p, as_version=4)), p)
        else:
            cells = stray_outputs(nbformat.read(p, as_version=4))
            if cells:
                bad += 1
                print(f"{p}: outputs in cells {cells} (only {CHECK_MARK} cells may keep output)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
