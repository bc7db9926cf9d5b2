"""Output folders that cannot hurt the user's files.

Every folder the suite writes into (a report folder, a quarantine folder) goes through these rules:

- **Never near the data.** A folder that is a data folder, lies inside one or contains one is
  refused (:func:`refuse_data_overlap`): the user's files are only ever read.
- **A manifest of what the suite wrote.** Each output folder carries ``.loyalty-manifest.json``
  listing every file the suite put there. Replacing an earlier output removes only the files
  that list names (:func:`remove_listed`); a folder without a manifest, or holding any file the
  manifest does not list, is refused (:func:`check_replaceable`), ``--force`` or not.
- **One run at a time.** A run holds an exclusive lock on its output folder
  (:class:`FolderLock`: ``.<name>.lock`` beside it, an ``flock`` the system drops when the
  process dies, so the lock of a killed run is never in the way).
- **Whole or nothing.** A report is built in a hidden folder beside its target
  (:func:`new_build_dir`) and swapped in by one atomic rename when it is complete
  (:func:`publish`); until then the previous report stays as it was. The hidden folders a
  killed run leaves behind are recognised by their names and removed by the next run into the
  same folder (:func:`clean_leftovers`).
- **No orphans.** Worker processes stop their kernels' process groups when they are told to
  stop or when the process that started them disappears (:func:`kill_child_groups`,
  :func:`watch_parent`).
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import json
import os
import secrets
import shutil
import signal
import socket
import threading
from pathlib import Path

#: Name of the list of files the suite wrote into an output folder.
MANIFEST = ".loyalty-manifest.json"


class OutputFolderError(ValueError):
    """An output folder cannot be used: it overlaps the data, holds foreign files, or is busy."""


# --------------------------------------------------------------------------- data folders


def overlaps(a: str | Path, b: str | Path) -> bool:
    """Return whether folder ``a`` is folder ``b``, lies inside it, or contains it.

    Examples
    --------
    >>> overlaps("/d/x", "/d/x/report"), overlaps("/d/x", "/d"), overlaps("/d/x", "/d/y")
    (True, True, False)
    """
    a, b = Path(a).resolve(), Path(b).resolve()
    return a == b or a in b.parents or b in a.parents


def refuse_data_overlap(out: str | Path, data_dirs, *, what: str = "--out") -> None:
    """Raise :class:`OutputFolderError` when ``out`` is, lies inside or contains a data folder.

    Parameters
    ----------
    out : str or Path
        The output folder.
    data_dirs : iterable of str or Path
        Folders whose files are only read (``None`` entries are skipped).
    what : str
        How the message names the output folder (``--out``, ``--quarantine`` ...).
    """
    out = Path(out).resolve()
    for data in data_dirs:
        if data is None:
            continue
        data = Path(data).resolve()
        if not overlaps(out, data):
            continue
        how = "is" if out == data else "lies inside" if data in out.parents else "contains"
        raise OutputFolderError(
            f"{what} {out} {how} the data folder {data}: output folders must be outside the data "
            "folder (its files are only read, never written); choose another folder"
        )


# --------------------------------------------------------------------------- manifest


def _atomic_json(path: Path, obj) -> None:
    fd, tmp = _mkstemp(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mkstemp(path: Path):
    import tempfile

    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")


def write_manifest(folder: str | Path) -> list[str]:
    """List every file now in ``folder`` (relative POSIX paths) in its manifest; return the list."""
    folder = Path(folder)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    files = [f for f in files if f != MANIFEST]  # a sub-folder's own manifest is listed too
    _atomic_json(folder / MANIFEST, {"written_by": "loyalty_lib", "files": files})
    return files


def _safe_entry(entry: object) -> bool:
    if not isinstance(entry, str) or not entry or entry.startswith("/") or "\\" in entry:
        return False
    return ".." not in entry.split("/")


def read_manifest(folder: str | Path) -> list[str] | None:
    """Return the files the manifest of ``folder`` lists, or ``None`` without a valid manifest.

    Entries that could point outside the folder (absolute, ``..``) are never returned.
    """
    path = Path(folder) / MANIFEST
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(spec, dict) or spec.get("written_by") != "loyalty_lib" or not isinstance(spec.get("files"), list):
        return None
    return [f for f in spec["files"] if _safe_entry(f)]


def foreign_files(folder: str | Path) -> list[str]:
    """Return the files in ``folder`` that its manifest does not list (all of them without one)."""
    folder = Path(folder)
    listed = set(read_manifest(folder) or [])
    present = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())
    return sorted(f for f in present if f != MANIFEST and f not in listed)


def check_replaceable(folder: str | Path, *, force: bool, what: str = "--out", kind: str = "report") -> None:
    """Refuse an output folder whose contents the suite may not replace.

    A missing or empty folder is fine. A non-empty folder must carry the suite's manifest, list
    every file in it, and ``force`` must be set.

    Raises
    ------
    OutputFolderError
        With a message that names the folder and what to do.
    """
    folder = Path(folder)
    if not folder.exists() and not folder.is_symlink():
        return
    if not folder.is_dir():
        raise OutputFolderError(f"{what} {folder} is a file, not a folder")
    if not any(folder.iterdir()):
        return
    if read_manifest(folder) is None:
        legacy = (folder / "index.html").is_file() and (folder / "run.json").is_file()
        raise OutputFolderError(
            f"{what} {folder} is not empty and was not written by this suite (no {MANIFEST}); "
            "choose a new or empty folder. Nothing in it was touched."
            + (
                " (A report from a version of the suite older than the manifest looks like this: "
                "delete or move it yourself if it is one.)"
                if legacy
                else ""
            )
        )
    foreign = foreign_files(folder)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise OutputFolderError(
            f"{what} {folder} holds files this suite did not write ({shown}); move them out or "
            f"choose another folder: the suite only ever replaces the files its {MANIFEST} lists"
        )
    if not force:
        raise OutputFolderError(
            f"{what} {folder} already holds a {kind}; pass --force to replace it, or choose another folder"
        )


def remove_listed(folder: str | Path) -> list[str]:
    """Remove the files the manifest of ``folder`` lists, then its empty sub-folders and itself.

    Files the manifest does not list stay where they are.

    Returns
    -------
    list of str
        The files left in the folder (relative paths); empty when the folder is gone.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    for entry in read_manifest(folder) or []:
        p = folder / entry
        if p.is_file() or p.is_symlink():
            p.unlink()
    (folder / MANIFEST).unlink(missing_ok=True)
    for d in sorted((p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True):
        try:
            d.rmdir()
        except OSError:
            pass
    try:
        folder.rmdir()
    except OSError:
        return foreign_files(folder)
    return []


def check_regenerable(folder: str | Path) -> None:
    """Refuse ``loyalty generate --force`` into a folder the generator did not write.

    ``--force`` may replace synthetic data only: a folder holding contract tables must also
    hold ``ground_truth.json`` (which every generated folder has and no shop export has), and
    nothing but the generator's files (tables, ``truth_*`` tables, the truth file).

    Raises
    ------
    OutputFolderError
        Naming the folder and why it is not the generator's.
    """
    from loyalty_lib.io import FORMATS, TRUTH_FILE, TRUTH_PREFIX
    from loyalty_lib.schema import TABLES

    folder = Path(folder)
    if not folder.is_dir():
        return
    tables = {f"{n}.{f}" for n in TABLES for f in FORMATS}
    names = [p.name for p in folder.iterdir()]
    if not tables.intersection(names):
        return
    if TRUTH_FILE not in names:
        raise OutputFolderError(
            f"--out {folder} holds contract tables the generator did not write (no {TRUTH_FILE}): "
            "--force never overwrites a shop's own exports; choose another folder"
        )
    ours = tables | {TRUTH_FILE, MANIFEST}
    foreign = sorted(
        n
        for n in names
        if n not in ours and not n.startswith(TRUTH_PREFIX) and not (n.startswith(".") and n.endswith(".tmp"))
    )
    if foreign:
        raise OutputFolderError(
            f"--out {folder} holds files the generator did not write ({', '.join(foreign[:5])}); "
            "move them out or choose another folder"
        )


# --------------------------------------------------------------------------- lock


def pid_alive(pid: int) -> bool:
    """Return whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FolderLock:
    """An exclusive lock on an output folder, held by one run at a time.

    The lock is the file ``.<name>.lock`` beside the folder, locked with ``flock``: the system
    releases it when the holding process ends, even by ``kill -9``. The file holds the holder's
    process id, host and start time, for the message a second run gets.

    Parameters
    ----------
    folder : str or Path
        The output folder (need not exist yet).
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).resolve()
        self.path = self.folder.parent / f".{self.folder.name}.lock"
        self.fd: int | None = None
        #: What the lock file said when a dead run had left it (``None`` otherwise).
        self.stale: dict | None = None

    def _read(self, fd: int) -> dict:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            info = json.loads(os.read(fd, 4096).decode("utf-8") or "{}")
            return info if isinstance(info, dict) else {}
        except (OSError, ValueError):
            return {}

    def acquire(self) -> FolderLock:
        """Take the lock, or raise :class:`OutputFolderError` naming the run that holds it."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                info = self._read(fd)
                os.close(fd)
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                who = f"pid {info.get('pid', '?')} on {info.get('host', '?')}, started {info.get('started', '?')}"
                raise OutputFolderError(
                    f"another report run ({who}) is writing into {self.folder}; wait until it "
                    "finishes or choose another --out"
                ) from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:  # the holder removed the file between our open and our lock: retry
                os.close(fd)
                continue
            old = self._read(fd)
            if old.get("pid"):
                self.stale = old
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            me = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            }
            os.write(fd, json.dumps(me).encode())
            self.fd = fd
            return self

    def release(self) -> None:
        """Drop the lock and remove its file."""
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


# --------------------------------------------------------------------------- build and publish

_BUILD, _OLD = "build", "old"


def _hidden(out: Path, kind: str) -> Path:
    return out.parent / f".{out.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _leftover_kind(out: Path, p: Path) -> str | None:
    for kind in (_BUILD, _OLD):
        prefix = f".{out.name}.{kind}-"
        if p.name.startswith(prefix) and p.name[len(prefix) :].split("-")[0].isdigit():
            return kind
    return None


def new_build_dir(out: str | Path) -> Path:
    """Create and return a hidden, empty folder beside ``out`` to build its next contents in."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    build = _hidden(out, _BUILD)
    build.mkdir()
    return build


def clean_leftovers(out: str | Path) -> list[Path]:
    """Remove what interrupted runs into ``out`` left beside it; call it while holding the lock.

    Build folders (``.<name>.build-<pid>-<token>``) are removed whole: only the suite writes
    there. Replaced reports (``.<name>.old-...``) lose the files their manifest lists; anything
    else in them stays.

    Returns
    -------
    list of Path
        The leftovers found.
    """
    out = Path(out).resolve()
    if not out.parent.is_dir():
        return []
    found = []
    for p in out.parent.iterdir():
        kind = _leftover_kind(out, p)
        if kind is None or not p.is_dir() or p.is_symlink():
            continue
        found.append(p)
        if kind == _BUILD:
            for _ in range(3):  # a dying worker may still be writing for a moment
                shutil.rmtree(p, ignore_errors=True)
                if not p.exists():
                    break
        else:
            remove_listed(p)
    return found


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); ``False`` if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def publish(build: str | Path, out: str | Path) -> list[str]:
    """Put a finished build folder in place of ``out`` in one step; remove the replaced files.

    The build gets its manifest first. When ``out`` exists (an earlier report, or an empty
    folder), the two are exchanged atomically where the system allows it, so ``out`` always
    holds one whole report; then the replaced report loses the files its manifest lists.

    Returns
    -------
    list of str
        Files of the replaced folder that were kept because the suite had not written them.
    """
    build, out = Path(build), Path(out).resolve()
    write_manifest(build)
    if not out.exists():
        os.rename(build, out)
        return []
    if _exchange(build, out):
        old = build
    else:  # two renames: ``out`` is missing for an instant
        old = _hidden(out, _OLD)
        os.rename(out, old)
        os.rename(build, out)
    return remove_listed(old)


# --------------------------------------------------------------------------- processes


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux ``/proc``; empty elsewhere)."""
    kids = []
    proc = Path("/proc")
    if not proc.is_dir():
        return kids
    for p in proc.iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            kids.append(int(p.name))
    return kids


def kill_child_groups(sig: int = signal.SIGKILL) -> list[int]:
    """Signal every child of this process; a child leading its own process group, whole group.

    Jupyter kernels run in a session (and process group) of their own, so signalling the group
    also reaches whatever the kernel started. Returns the children signalled.
    """
    me, my_group = os.getpid(), os.getpgrp()
    hit = []
    for kid in _children(me):
        try:
            group = os.getpgid(kid)
            if group == kid and group != my_group:
                os.killpg(group, sig)
            else:
                os.kill(kid, sig)
            hit.append(kid)
        except (ProcessLookupError, PermissionError):
            continue
    return hit


def watch_parent(on_orphaned, interval: float = 0.25) -> threading.Thread:
    """Call ``on_orphaned()`` from a daemon thread as soon as this process's parent is gone."""
    parent = os.getppid()

    def poll():
        import time

        while os.getppid() == parent:
            time.sleep(interval)
        on_orphaned()

    t = threading.Thread(target=poll, name="loyalty-parent-watch", daemon=True)
    t.start()
    return t


def stop_worker(*_args) -> None:
    """End a worker process now, its kernels' process groups first (a signal handler)."""
    kill_child_groups(signal.SIGKILL)
    os._exit(143)


def worker_init() -> None:
    """Set up a stage worker process.

    Ctrl-C is the parent's business (it stops the workers itself); SIGTERM, or the parent
    vanishing (``kill -9``), ends the worker and its kernels at once.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop_worker)
    watch_parent(stop_worker)
