"""Notebook parameters of a run: the params YAML, the stage notebooks and what each declares."""

from __future__ import annotations

from pathlib import Path

import yaml

from loyalty_lib import config
from loyalty_lib.report.base import NOTEBOOK_PATTERN, ReportError


def read_params(params: str | Path | dict | None) -> tuple[dict, dict]:
    """Split a params YAML into parameters for all notebooks and per-notebook overrides.

    Parameters
    ----------
    params : path, dict or None
        Top-level keys apply to every notebook; a ``notebooks: {NN_name: {...}}`` section
        overrides them per notebook. A ``targets:`` section is the scorecard's, not the
        notebooks' (:func:`loyalty_lib.report.targets.read_targets`).

    Returns
    -------
    common : dict
    per_notebook : dict of str to dict

    Raises
    ------
    ReportError
        When the file is missing or malformed.
    """
    if params is None:
        return {}, {}
    if isinstance(params, dict):
        spec = dict(params)
    else:
        path = Path(params)
        if not path.is_file():
            raise ReportError(f"params file {path} does not exist")
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ReportError(f"params file {path} is not valid YAML: {e}") from e
    if not isinstance(spec, dict):
        raise ReportError("params: the file must hold a mapping of parameter names to values")
    spec.pop("targets", None)  # the scorecard's targets: see loyalty_lib.report.targets.read_targets
    per = spec.pop("notebooks", None) or {}
    if not isinstance(per, dict) or not all(isinstance(v, dict) or v is None for v in per.values()):
        raise ReportError("params: 'notebooks' must map notebook names (NN_name) to parameter mappings")
    return spec, {str(k).removesuffix(".ipynb"): dict(v or {}) for k, v in per.items()}


def find_notebooks(folder: str | Path | None = None) -> list[Path]:
    """Return the stage notebooks ``NN_*.ipynb`` of ``folder`` (default ``notebooks/``), sorted."""
    folder = Path(folder or config.NOTEBOOKS_DIR)
    if not folder.is_dir():
        raise ReportError(f"notebook folder {folder} does not exist")
    return sorted(p for p in folder.iterdir() if NOTEBOOK_PATTERN.match(p.name))


def declared_parameters(path: Path) -> set[str]:
    """Return the names assigned in a notebook's cell tagged ``parameters``.

    See :func:`loyalty_lib.params.parameters_cell`.
    """
    from loyalty_lib.params import parameters_cell

    return set(parameters_cell(path))


def notebook_parameters(path: Path, common: dict, per_notebook: dict, data_dir: str | None) -> tuple[dict, dict]:
    """Return the parameters to pass to one notebook, and those it does not declare.

    Only parameters that the notebook's ``parameters`` cell declares are passed (see
    :func:`declared_parameters`); ``data_dir`` is passed as an absolute path.

    Returns
    -------
    passed : dict
    ignored : dict
    """
    declared = declared_parameters(path)
    wanted = dict(common)
    if data_dir is not None:
        wanted["data_dir"] = data_dir
    wanted.update(per_notebook.get(path.stem, {}))
    passed = {k: v for k, v in wanted.items() if k in declared}
    ignored = {k: v for k, v in wanted.items() if k not in declared}
    return passed, ignored
