"""The report runs its stages longest first."""

import json

from loyalty_lib.report.runner import EXPECTED_SECONDS, _longest_first


def jobs(*names):
    return [(f"/nb/{n}.ipynb", "/out", {}, "python3") for n in names]


def test_longest_first_from_the_previous_run(tmp_path):
    run = {
        "stages": [{"name": "00_a", "seconds": 3.0}, {"name": "01_b", "seconds": 40.0}, {"name": "02_c", "seconds": 9}]
    }
    (tmp_path / "run.json").write_text(json.dumps(run))
    order = [j[0] for j in _longest_first(jobs("00_a", "01_b", "02_c", "03_new"), tmp_path)]
    # a stage the previous run did not have counts as long as the longest, so it starts early
    assert order == ["/nb/03_new.ipynb", "/nb/01_b.ipynb", "/nb/02_c.ipynb", "/nb/00_a.ipynb"]


def test_a_first_run_uses_the_measured_lengths(tmp_path):
    names = sorted(EXPECTED_SECONDS)
    order = [j[0].split("/")[-1][:-6] for j in _longest_first(jobs(*names), tmp_path)]
    assert order[0] == "06_impact" and order == sorted(names, key=lambda n: -EXPECTED_SECONDS[n])
