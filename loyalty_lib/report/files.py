"""Files of a report: atomic writes and the choice of a report folder that can hurt no file.

The folder rules themselves (manifest, lock, build-and-swap) live in :mod:`loyalty_lib.outdir`;
this module turns their refusals into :class:`~loyalty_lib.report.base.ReportError`.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from loyalty_lib import config
from loyalty_lib.report.base import ReportError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _publish(tmp: str | Path, path: Path) -> None:
    """Give a finished temporary file normal permissions and move it into place."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to ``path`` via a temporary file in the same folder and :func:`os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        _publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_out_dir(
    out: str | Path | None,
    *,
    force: bool = False,
    runs_dir: Path | None = None,
    data_dir: str | Path | None = None,
) -> Path:
    """Return the report folder a run will publish into, refusing any that could hurt a file.

    Nothing is written into the folder here: the report is built beside it and swapped in when
    complete (see :mod:`loyalty_lib.outdir`).

    Parameters
    ----------
    out : str or Path or None
        Wanted folder; ``None`` makes a new, empty ``outputs/runs/YYYYmmdd-HHMMSS`` folder (with
        a ``-2``, ``-3`` ... suffix when two runs start in the same second).
    force : bool
        Allow replacing an earlier report of the suite in ``out``.
    runs_dir : Path, optional
        Parent of timestamped folders (default ``outputs/runs``).
    data_dir : str or Path, optional
        The data folder: ``out`` may not be it, lie inside it or contain it.

    Returns
    -------
    Path
        Absolute path of the folder.

    Raises
    ------
    ReportError
        When ``out`` overlaps the data folder; holds files the suite did not write (no
        manifest, or files the manifest does not list: ``force`` never removes those); or
        holds an earlier report and ``force`` is not set.
    """
    from loyalty_lib import outdir

    if out is None:
        parent = Path(runs_dir or config.OUTPUTS_DIR / "runs")
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        if data_dir is not None:
            _refuse(outdir.refuse_data_overlap, parent / stamp, [data_dir])
        parent.mkdir(parents=True, exist_ok=True)
        for i in range(1, 1000):
            cand = parent / (stamp if i == 1 else f"{stamp}-{i}")
            try:
                cand.mkdir()
                return cand.resolve()
            except FileExistsError:
                continue
        raise ReportError(f"could not make a new run folder in {parent}")  # pragma: no cover
    out = Path(out).resolve()
    _refuse(outdir.refuse_data_overlap, out, [data_dir])
    _refuse(outdir.check_replaceable, out, force=force, what="--out")
    return out


def _refuse(check, *args, **kwargs) -> None:
    """Run an output-folder check; turn its refusal into a :class:`ReportError` (exit 2)."""
    from loyalty_lib.outdir import OutputFolderError

    try:
        check(*args, **kwargs)
    except OutputFolderError as e:
        raise ReportError(str(e)) from None
