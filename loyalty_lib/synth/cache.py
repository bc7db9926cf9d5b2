"""A generated branch written to disk once and reused, safely shared between processes.

Tests and batch runs that need a realistic synthetic data set (the notebook truth checks run on
the default-size branch) call :func:`cached_branch`. The folder name carries the scenario, seed,
size and a fingerprint of the generator's source, so a change to the generator or to the way
tables are written gives a new folder instead of stale data. Processes running at the same time
(pytest-xdist workers) take a file lock: the first one generates, the others wait and reuse it.
A folder is only ever visible complete: it is written under a temporary name and renamed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from loyalty_lib import config

#: Where :func:`cached_branch` keeps its folders unless told otherwise.
CACHE_DIR = config.OUTPUTS_DIR / "cache"

# sources whose change changes the data written: the generator, the tables' contract and writer
_SOURCES = ("synth/*.py", "schema.py", "io.py", "dataset.py")


def generator_fingerprint() -> str:
    """Short hash of the generator's and writer's source files (the cache key's version part)."""
    h = hashlib.sha256()
    files = sorted(p for pattern in _SOURCES for p in config.PACKAGE_DIR.glob(pattern))
    for p in files:
        h.update(p.relative_to(config.PACKAGE_DIR).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


@contextlib.contextmanager
def _file_lock(path: Path):
    """Exclusive lock on ``path`` for the ``with`` block (released if the process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def cached_branch(
    *,
    n_customers: int = 25_000,
    seed: int = 42,
    scenario: str = "sergey_branch",
    fmt: str = "parquet",
    cache_dir: str | Path | None = None,
) -> Path:
    """Return a folder holding a generated branch, generating it only if it is not there yet.

    Parameters
    ----------
    n_customers, seed, scenario
        Generator settings (see :func:`loyalty_lib.synth.generate`).
    fmt : {"parquet", "csv"}
        File format of the tables.
    cache_dir : str or Path, optional
        Parent folder (default ``outputs/cache``).

    Returns
    -------
    Path
        A contract folder with the tables, ``ground_truth.json`` and the truth tables, ready
        for :func:`loyalty_lib.io.load` or a notebook's ``data_dir``.

    Examples
    --------
    >>> import tempfile
    >>> folder = cached_branch(n_customers=300, seed=1, cache_dir=tempfile.mkdtemp())
    >>> (folder / "ground_truth.json").exists()
    True
    """
    from loyalty_lib import io, synth

    root = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    folder = root / f"{scenario}-seed{seed}-n{n_customers}-{fmt}-{generator_fingerprint()}"
    done = folder / ".complete"
    if done.exists():
        return folder
    with _file_lock(root / f".{folder.name}.lock"):
        if done.exists():  # another process generated it while we waited
            return folder
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{folder.name}."))
        try:
            io.save(synth.generate(scenario, n_customers=n_customers, seed=seed), tmp, fmt=fmt, force=True)
            (tmp / ".complete").touch()
            shutil.rmtree(folder, ignore_errors=True)  # an incomplete folder left by a killed run
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return folder
