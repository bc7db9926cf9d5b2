"""Scorecard targets: the report's documented defaults (``targets.yaml``) and the params file's ``targets:``.

Order of precedence for a figure's target, highest first: the ``targets:`` section of the params
file given to ``loyalty report --params``; the target the stage notebook published (from its own
``target_*`` parameter); the default of :data:`DEFAULTS_FILE`. A default with ``target: null``
marks a figure that is shown for information: no target makes sense for it.
"""

from __future__ import annotations

import fnmatch
import math
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from loyalty_lib.report.base import ReportError

#: The documented defaults, one entry per figure key (``*`` matches any text).
DEFAULTS_FILE = Path(__file__).with_name("targets.yaml")


@lru_cache(maxsize=1)
def default_targets() -> dict[str, dict]:
    """Return the defaults of :data:`DEFAULTS_FILE`: figure key (or pattern) to ``target, better, why``."""
    spec = yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8")) or {}
    return {str(k): _entry(k, v, str(DEFAULTS_FILE.name)) for k, v in spec.items()}


def _entry(key, value, where: str) -> dict:
    """One target entry from a number, ``null`` or a mapping ``{target, better, why}``."""
    if value is None or isinstance(value, int | float) and not isinstance(value, bool):
        value = {"target": value}
    if not isinstance(value, dict) or set(value) - {"target", "better", "why"}:
        raise ReportError(
            f"{where}: targets.{key} must be a number, null or a mapping of target, better and why; got {value!r}"
        )
    target = value.get("target")
    if target is not None and (
        isinstance(target, bool) or not isinstance(target, int | float) or not math.isfinite(target)
    ):
        raise ReportError(f"{where}: targets.{key}.target must be a number (30 % is written 0.3); got {target!r}")
    better = value.get("better")
    if better is not None and better not in ("higher", "lower"):
        raise ReportError(f"{where}: targets.{key}.better must be 'higher' or 'lower'; got {better!r}")
    return {"target": None if target is None else float(target), "better": better, "why": value.get("why", "")}


def read_targets(params) -> dict[str, dict]:
    """Return the ``targets:`` section of a params file (a path or a dict), checked.

    Parameters
    ----------
    params : path, dict or None
        The params file of ``loyalty report --params``.

    Returns
    -------
    dict
        Figure key (or pattern) to ``{"target", "better", "why"}``; empty without a section.

    Raises
    ------
    ReportError
        When an entry is not a number, ``null`` or a ``{target, better, why}`` mapping.

    Examples
    --------
    >>> read_targets({"targets": {"nps": 40, "sellers_below_target": {"target": 2, "better": "lower"}}})["nps"]
    {'target': 40.0, 'better': None, 'why': ''}
    """
    if params is None:
        return {}
    if isinstance(params, dict):
        spec = params
    else:
        try:
            spec = yaml.safe_load(Path(params).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):  # read_params reports these with the file's name
            return {}
    section = spec.get("targets") if isinstance(spec, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ReportError("params: 'targets' must map figure keys (as published by the stages) to targets")
    return {str(k): _entry(k, v, "params") for k, v in section.items()}


def _lookup(key: str, table: dict[str, dict]) -> dict | None:
    if key in table:
        return table[key]
    for pattern, entry in table.items():
        if fnmatch.fnmatchcase(key, pattern):
            return entry
    return None


def apply_targets(card: pd.DataFrame, overrides: dict[str, dict] | None = None) -> pd.DataFrame:
    """Fill in and override targets and directions of scorecard rows, and mark figures for information.

    Parameters
    ----------
    card : pandas.DataFrame
        Rows with at least ``kpi, target, better``.
    overrides : dict, optional
        The params file's ``targets:`` (see :func:`read_targets`).

    Returns
    -------
    pandas.DataFrame
        A copy with ``target`` and ``better`` completed and a boolean ``info`` column: ``True``
        for a figure without a target whose default says none makes sense.

    Examples
    --------
    >>> card = pd.DataFrame({"kpi": ["sellers_below_target", "customers", "nps"],
    ...                      "target": [float("nan"), float("nan"), 30.0], "better": ["higher"] * 3})
    >>> out = apply_targets(card, {"nps": {"target": 40.0, "better": None, "why": ""}})
    >>> out[["target", "better", "info"]].values.tolist()
    [[0.0, 'lower', False], [nan, 'higher', True], [40.0, 'higher', False]]
    """
    out = card.copy()
    defaults = default_targets()
    overrides = overrides or {}
    info = []
    for i, key in zip(out.index, out["kpi"].astype(str), strict=True):
        user, default = _lookup(key, overrides), _lookup(key, defaults)
        for entry in (default, user):  # the user's entry last: it wins
            if entry is None:
                continue
            if entry["better"]:
                out.at[i, "better"] = entry["better"]
            if entry is user and entry["target"] is not None:
                out.at[i, "target"] = entry["target"]
            elif entry is default and pd.isna(out.at[i, "target"]) and entry["target"] is not None:
                out.at[i, "target"] = entry["target"]
        info.append(bool(pd.isna(out.at[i, "target"]) and default is not None and default["target"] is None))
    out["info"] = info
    return out
