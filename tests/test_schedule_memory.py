"""The report keeps heavy stages from running beside each other on large data."""

import pytest

from loyalty_lib.report import memory
from loyalty_lib.report.memory import BASE_MB, MB_PER_MILLION_RECEIPTS, next_stage, stage_memory_mb

EST = {"06_impact": 9000.0, "09_offers": 8000.0, "07_roi_clv": 6000.0, "05_satisfaction": 500.0, "00_case": 600.0}


def run_all(order, *, workers, budget, est=EST):
    """Simulate the schedule with stages that end in start order; return the sets that ran together."""
    pending, running, together = list(order), [], []
    while pending or running:
        while (name := next_stage(pending, running, workers=workers, budget_mb=budget, estimate=est)) is not None:
            pending.remove(name)
            running.append(name)
        together.append(tuple(running))
        running.pop(0)  # the oldest stage ends
    return together


def test_a_heavy_stage_waits_and_a_light_one_fills_in():
    # 06 (9000) runs; 09 (8000) beside it would need 17000 > 12000, 07 15000 > 12000: the light 05 goes
    assert (
        next_stage(
            ["09_offers", "07_roi_clv", "05_satisfaction"], ["06_impact"], workers=2, budget_mb=12000, estimate=EST
        )
        == "05_satisfaction"
    )
    # with room for both, the longest-first order is kept
    assert (
        next_stage(["09_offers", "05_satisfaction"], ["06_impact"], workers=2, budget_mb=20000, estimate=EST)
        == "09_offers"
    )
    # nothing fits: wait
    assert next_stage(["09_offers", "07_roi_clv"], ["06_impact"], workers=2, budget_mb=12000, estimate=EST) is None


def test_workers_and_unknown_budget():
    assert next_stage(["05_satisfaction"], ["06_impact", "00_case"], workers=2, budget_mb=1e9, estimate=EST) is None
    assert next_stage(["09_offers"], ["06_impact"], workers=2, budget_mb=None, estimate=EST) == "09_offers"
    assert next_stage([], [], workers=2, budget_mb=1.0, estimate=EST) is None


def test_every_stage_runs_and_no_two_heavy_ones_together():
    order = ["06_impact", "09_offers", "07_roi_clv", "00_case", "05_satisfaction"]
    together = run_all(order, workers=2, budget=12000)
    ran = [n for group in together for n in group]
    assert set(ran) == set(order)
    # a stage above the budget alone still runs, alone
    assert ("06_impact",) in run_all(["06_impact", "09_offers"], workers=2, budget=5000)
    for group in together:
        assert len(group) == 1 or sum(EST[n] for n in group) <= 12000, group
    # by hand: 06 + 00 (9600; 09 or 07 would make 17000, 15000); 06 ends: 00 + 09 (8600); 00 ends: 09 + 05
    # (8500; 07 would make 14000); 09 ends: 05 + 07 (6500); 05 ends: 07 alone
    assert together == [
        ("06_impact", "00_case"),
        ("00_case", "09_offers"),
        ("09_offers", "05_satisfaction"),
        ("05_satisfaction", "07_roi_clv"),
        ("07_roi_clv",),
    ]


def test_estimates_grow_with_the_receipts():
    assert stage_memory_mb("06_impact", 0) == pytest.approx(BASE_MB)
    per = MB_PER_MILLION_RECEIPTS["06_impact"]
    assert stage_memory_mb("06_impact", 4_000_000) == pytest.approx(BASE_MB + 4 * per)
    # a stage never measured counts as heavy as the heaviest
    assert stage_memory_mb("12_new", 1_000_000) == pytest.approx(BASE_MB + max(MB_PER_MILLION_RECEIPTS.values()))
    # on the teaching data (25,000 customers, about 260,000 receipts) any two stages fit in 4 GB
    small = sorted(stage_memory_mb(n, 260_000) for n in MB_PER_MILLION_RECEIPTS)
    assert small[-1] + small[-2] < 4000


def test_the_budget_is_a_share_of_the_free_memory(monkeypatch):
    monkeypatch.setattr(memory, "available_mb", lambda: 20000.0)
    assert memory.memory_budget_mb(0.5) == pytest.approx(10000.0)
    monkeypatch.setattr(memory, "available_mb", lambda: None)
    assert memory.memory_budget_mb() is None


def test_run_within_a_pool_keeps_to_the_budget():
    import concurrent.futures as cf
    import threading
    import time

    lock, now, seen = threading.Lock(), [], []

    def stage(name):
        with lock:
            now.append(name)
            seen.append(tuple(sorted(now)))
        time.sleep(0.02)
        with lock:
            now.remove(name)
        return name

    order = ["06_impact", "09_offers", "07_roi_clv", "00_case", "05_satisfaction"]
    with cf.ThreadPoolExecutor(2) as pool:
        ended = [
            (n, f.result())
            for n, f in memory.run_within(
                lambda n: pool.submit(stage, n), order, workers=2, budget_mb=12000, estimate=EST
            )
        ]
    assert sorted(n for n, _ in ended) == sorted(order) and all(n == r for n, r in ended)
    assert all(len(g) == 1 or sum(EST[n] for n in g) <= 12000 for g in seen), seen
    assert max(len(g) for g in seen) == 2  # light stages still run beside the heavy ones


def test_the_measured_estimates_at_a_million_customers():
    # the 1M-customer report (10.4M receipts) once lost 06 (11.5 GB) and 09 (16.1 GB) running side by
    # side on a 24 GB machine; measured alone since, the heaviest stage needs under 10 GB, so with
    # about 20 GB free every stage runs beside another and the two heaviest never together
    big = {n: stage_memory_mb(n, 10_400_000) for n in MB_PER_MILLION_RECEIPTS}
    assert max(big.values()) < 10_000
    heaviest = sorted(big, key=big.get, reverse=True)[:2]
    assert big[heaviest[0]] + big[heaviest[1]] > 0.85 * 20_000
    order = sorted(big, key=big.get, reverse=True)
    together = run_all(order, workers=2, budget=0.85 * 20_000, est=big)
    assert all(len(g) == 2 for g in together[:-1]), together  # two at a time until the last one ends
    assert tuple(heaviest) not in together and tuple(reversed(heaviest)) not in together
    for group in together:
        assert sum(big[n] for n in group) <= 0.85 * 20_000, group


def test_the_budget_counts_what_the_stages_hold(monkeypatch):
    # 20,000 MB free and 6,000 MB held by the running stages: 0.5 * 26,000
    monkeypatch.setattr(memory, "available_mb", lambda: 20000.0)
    assert memory.memory_budget_mb(0.5, held_mb=6000.0) == pytest.approx(13000.0)


def _beside_06(budget_mb) -> bool:
    """Run 06 (9000, ends after half a second), 05 (500, ends at once), 00 (600): did 00 start while 06 ran?"""
    import concurrent.futures as cf
    import threading

    beside, running_06 = [], threading.Event()

    def submit(name):
        f = cf.Future()
        if name == "06_impact":
            running_06.set()

            def end():
                running_06.clear()
                f.set_result(name)

            threading.Timer(0.5, end).start()
        else:
            if name == "00_case":
                beside.append(running_06.is_set())
            f.set_result(name)
        return f

    order = ["06_impact", "05_satisfaction", "00_case"]
    assert [n for n, _ in memory.run_within(submit, order, workers=2, budget_mb=budget_mb, estimate=EST)]
    return beside == [True]


def test_the_free_memory_is_read_again_when_each_stage_is_to_start():
    # a fixed 12,000 MB: when 05 ends, 00 (600) starts beside 06 (9000)
    assert _beside_06(12000.0)
    # read each time: 12,000 MB for the first three choices, then another program takes memory
    # and 9,500 MB are left: 9000 + 600 no longer fit, 00 waits for 06 to end
    budgets = iter([12000.0] * 3 + [9500.0] * 20)
    assert not _beside_06(lambda: next(budgets))


def test_memory_of_a_process_tree():
    import os
    import subprocess
    import sys

    alone = memory.process_tree_mb([os.getpid()])
    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(50 * 2**20); time.sleep(30)"])
    try:
        import time

        for _ in range(100):  # the child has touched its 50 MB
            with_child = memory.process_tree_mb([os.getpid()])
            if with_child > alone + 40:
                break
            time.sleep(0.05)
        assert with_child > alone + 40
        assert memory.process_tree_mb([child.pid]) > 40
        assert memory.process_tree_mb([]) == 0.0
    finally:
        child.kill()
        child.wait()
