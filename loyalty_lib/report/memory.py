"""How much memory each stage's kernel takes, and which stages may run side by side.

On a large data set two heavy stages running at once can together need more memory than the
machine has, and the system then kills one of them. The report therefore estimates each stage's
peak memory from the number of receipts (:func:`stage_memory_mb`, from peaks measured per stage)
and starts a stage only while the estimates of the stages running beside it and its own fit in
the memory the machine has free (:func:`next_stage`). The free memory is read again each time a
stage is to start (:func:`memory_budget_mb`), with what the report's own stages hold counted as
theirs: when other programs take or give back memory during a long run, the schedule follows.
On small data every estimate is far below the budget and the schedule is the plain
longest-first order; above it a heavy stage waits for a light one rather than running out of
memory beside another heavy one.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterator, Mapping, Sequence

#: A stage kernel's memory before it reads any data (Python, pandas, matplotlib, the library), MB.
BASE_MB = 450.0

#: Each stage kernel's peak memory beyond :data:`BASE_MB`, in MB per million receipts (about
#: 100,000 customers and 3 million receipt lines of the generator's data), measured with one
#: stage at a time at 250,000 customers (2.6M receipts) or at a million (10.4M receipts), as each
#: line says (docs/scale.md). Stages whose models run on a sample above 200,000 customers (06, 07,
#: 11) grow less than in proportion: their rows are the slope to the million-customer peak.
MB_PER_MILLION_RECEIPTS = {
    "00_case_and_data": 240.0,  # 2,935 MB at 10.4M receipts (stored study, six receipt columns)
    "01_metrics_map": 720.0,  # 7,961 MB at 10.4M receipts (1M customers, one stage alone)
    "02_enrollment": 500.0,  # 5,683 MB at 10.4M receipts (1M customers, one stage alone)
    "03_activity": 505.0,  # 5,712 MB at 10.4M receipts (1M customers, one stage alone)
    "04_average_check": 830.0,  # 2,588 MB at 2.6M receipts
    "05_satisfaction": 185.0,  # 2,344 MB at 10.4M receipts (stored study, five receipt columns)
    "06_impact": 525.0,  # 5,900 MB at 10.4M receipts (models on a 200,000-customer sample)
    "07_roi_clv": 565.0,  # 6,300 MB at 10.4M receipts (models on a 200,000-customer sample)
    "08_audience": 520.0,  # 1,787 MB at 2.6M receipts (08's own work on codes, 28 Nov)
    "09_offers": 870.0,  # 2,687 MB at 2.6M receipts (coded line history, 28 Nov; 4,112 before)
    "10_campaigns": 360.0,  # 4,150 MB at 10.4M receipts (1M customers, one stage alone)
    "11_program_design": 490.0,  # 5,530 MB at 10.4M receipts (calibrated on a 200,000-customer sample)
}

#: Share of the memory free at the start of the stages that their estimates may fill together.
BUDGET_SHARE = 0.85


def stage_memory_mb(name: str, n_receipts: int) -> float:
    """Estimated peak memory of a stage's kernel on data with ``n_receipts`` receipts, in MB.

    Parameters
    ----------
    name : str
        The stage notebook's name (``06_impact``); a stage without a measurement counts as
        heavy as the heaviest one.
    n_receipts : int
        Receipts in the data.

    Returns
    -------
    float
        :data:`BASE_MB` plus the stage's MB per million receipts times the receipts.

    Examples
    --------
    >>> stage_memory_mb("06_impact", 0)
    450.0
    >>> stage_memory_mb("new_stage", 1_000_000) == BASE_MB + max(MB_PER_MILLION_RECEIPTS.values())
    True
    """
    per = MB_PER_MILLION_RECEIPTS.get(name, max(MB_PER_MILLION_RECEIPTS.values()))
    return BASE_MB + per * max(int(n_receipts), 0) / 1e6


def available_mb() -> float | None:
    """Memory the system can give to new processes now (``MemAvailable``), in MB; ``None`` if unknown.

    Returns
    -------
    float or None
    """
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def next_stage(
    pending: Sequence[str],
    running: Sequence[str],
    *,
    workers: int,
    budget_mb: float | None,
    estimate: Mapping[str, float],
) -> str | None:
    """The stage to start now, or ``None`` to wait for a running one to end.

    The first pending stage (they come longest first) whose estimate fits in the budget beside
    the running stages' estimates; a stage runs alone whatever its estimate, so every stage
    runs even when one needs more than the budget.

    Parameters
    ----------
    pending : sequence of str
        Stages not started yet, in the order they should start.
    running : sequence of str
        Stages running now.
    workers : int
        Stages that may run at once.
    budget_mb : float or None
        Memory the running stages' estimates may fill together; ``None``: no limit.
    estimate : mapping of str to float
        Each stage's estimated peak memory (:func:`stage_memory_mb`).

    Returns
    -------
    str or None
        The stage to start.

    Examples
    --------
    >>> est = {"06_impact": 9000.0, "09_offers": 8000.0, "05_satisfaction": 500.0}
    >>> next_stage(["09_offers", "05_satisfaction"], ["06_impact"], workers=2, budget_mb=12000, estimate=est)
    '05_satisfaction'
    >>> next_stage(["09_offers"], ["06_impact"], workers=2, budget_mb=12000, estimate=est) is None
    True
    >>> next_stage(["09_offers"], [], workers=2, budget_mb=5000, estimate=est)
    '09_offers'
    """
    if not pending or len(running) >= workers:
        return None
    if not running or budget_mb is None:
        return pending[0]
    used = sum(estimate[n] for n in running)
    for name in pending:
        if used + estimate[name] <= budget_mb:
            return name
    return None


def run_within(
    submit: Callable[[str], cf.Future],
    order: Sequence[str],
    *,
    workers: int,
    budget_mb: float | None,
    estimate: Mapping[str, float],
) -> Iterator[tuple[str, cf.Future]]:
    """Start the stages as :func:`next_stage` allows and yield each one's future as it ends.

    Parameters
    ----------
    submit : callable
        Starts a stage by name and returns its future (``pool.submit(run_stage, ...)``).
    order : sequence of str
        Every stage, in the order they should start (longest first).
    workers, estimate
        As in :func:`next_stage`.
    budget_mb : float, None or callable
        As in :func:`next_stage`; a callable is asked again each time a stage is to start (the
        memory free then, :func:`memory_budget_mb`).

    Yields
    ------
    tuple of (str, concurrent.futures.Future)
        A stage that ended and its future, in the order they end.
    """
    pending, running = list(order), {}

    def budget():
        return budget_mb() if callable(budget_mb) else budget_mb

    while pending or running:
        while (
            name := next_stage(pending, list(running.values()), workers=workers, budget_mb=budget(), estimate=estimate)
        ) is not None:
            pending.remove(name)
            running[submit(name)] = name
        done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
        for f in done:
            yield running.pop(f), f


def memory_budget_mb(share: float = BUDGET_SHARE, held_mb: float = 0.0) -> float | None:
    """The stages' memory budget: ``share`` of the memory free now plus what the stages hold; ``None`` where unknown.

    Parameters
    ----------
    share : float
        Part of the memory the estimates may fill (the rest is the margin for the estimates'
        error, the report process and the machine's other work).
    held_mb : float
        Memory the report's running stages hold now (:func:`process_tree_mb` of its workers):
        it is not free, but the running stages' estimates already count it, so it belongs to
        the budget they are measured against.

    Returns
    -------
    float or None
        MB.

    Examples
    --------
    >>> memory_budget_mb(held_mb=1000.0) >= memory_budget_mb() or available_mb() is None
    True
    """
    free = available_mb()
    return None if free is None else share * (free + max(float(held_mb), 0.0))


def process_tree_mb(pids) -> float:
    """Resident memory of the processes ``pids`` and all their descendants (kernels), in MB.

    Processes that ended meanwhile count 0; without ``psutil`` the result is 0 (the budget is
    then the free memory alone, the cautious side).

    Parameters
    ----------
    pids : iterable of int

    Returns
    -------
    float

    Examples
    --------
    >>> import os
    >>> process_tree_mb([os.getpid()]) > 0
    True
    """
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return 0.0
    total, seen = 0, set()
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for p in procs:
            if p.pid in seen:
                continue
            seen.add(p.pid)
            try:
                total += p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
    return total / 2**20


__all__ = [
    "BASE_MB",
    "MB_PER_MILLION_RECEIPTS",
    "available_mb",
    "memory_budget_mb",
    "next_stage",
    "process_tree_mb",
    "run_within",
    "stage_memory_mb",
]
