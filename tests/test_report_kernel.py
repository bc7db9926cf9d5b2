"""Stages that share a worker's kernel start as in a new kernel; a failed stage's kernel is not kept."""

import json

import nbformat
import pytest

from loyalty_lib.report import stage

FIRST = """import os
import warnings
import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
print(os.getpid(), matplotlib.rcParams["lines.linewidth"], pd.get_option("display.precision"))
left_over = 1
plt.figure()
pd.set_option("display.precision", 1)
matplotlib.rcParams["lines.linewidth"] = 9.0
warnings.filterwarnings("ignore", message="left over")
"""

SECOND = """import os
import warnings
import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
print(os.getpid(), matplotlib.rcParams["lines.linewidth"], pd.get_option("display.precision"))
print("left_over" in dir(), len(plt.get_fignums()), any(f[1] is not None and f[1].pattern == "left over"
      for f in warnings.filters))
"""


def _notebook(path, source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# x"), nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return str(path)


def _printed(out, name):
    nb = json.loads((out / "notebooks" / f"{name}.ipynb").read_text())
    cell = [c for c in nb["cells"] if c["cell_type"] == "code"][-1]
    return cell["execution_count"], "".join("".join(o.get("text", "")) for o in cell["outputs"]).split("\n")


@pytest.fixture
def shared():
    yield
    stage.drop_shared_kernel()


def test_a_shared_kernel_is_put_back_as_it_started(tmp_path, shared):
    out = tmp_path / "out"
    a = stage.run_stage(_notebook(tmp_path / "00_a.ipynb", FIRST), str(out), {}, shared_kernel=True)
    b = stage.run_stage(_notebook(tmp_path / "01_b.ipynb", SECOND), str(out), {}, shared_kernel=True)
    assert a["status"] == b["status"] == "ok"
    count_a, (first, *_) = _printed(out, "00_a")
    count_b, (second, leftovers, *_) = _printed(out, "01_b")
    assert first.split()[0] == second.split()[0]  # the same kernel process ran both
    assert first == second  # linewidth and pandas precision as in the fresh kernel
    assert leftovers == "False 0 False"  # no variable, figure or warning filter of the first stage
    assert count_a == count_b == 1  # execution counts start again


def test_a_failed_stage_does_not_hand_its_kernel_on(tmp_path, shared):
    out = tmp_path / "out"
    bad = _notebook(tmp_path / "00_bad.ipynb", "import os\nprint(os.getpid())\nraise ValueError('no')")
    r = stage.run_stage(bad, str(out), {}, shared_kernel=True)
    assert r["status"] == "failed" and "ValueError" in r["error"]
    nb = json.loads((out / "notebooks" / "00_bad.ipynb").read_text())
    pid_bad = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"] if o.get("name") == "stdout"]
    b = stage.run_stage(_notebook(tmp_path / "01_b.ipynb", SECOND), str(out), {}, shared_kernel=True)
    assert b["status"] == "ok"
    _, (second, leftovers, *_) = _printed(out, "01_b")
    assert "".join(pid_bad[0]["text"]).split()[0] != second.split()[0]
    assert leftovers == "False 0 False"


WARMED = """import os
import sys
print(os.getpid(), os.path.basename(os.getcwd()), "loyalty_lib.present" in sys.modules)
"""


def test_the_first_stage_runs_in_the_kernel_warmed_during_the_load(tmp_path, shared):
    out = tmp_path / "out"
    (out / "notebooks").mkdir(parents=True)
    assert stage.warm_shared_kernel("python3", str(out / "notebooks"), code="import os\nimport loyalty_lib.present")
    warmed_pid = stage._SHARED["km"].provisioner.pid
    a = stage.run_stage(_notebook(tmp_path / "00_a.ipynb", WARMED), str(out), {}, shared_kernel=True)
    assert a["status"] == "ok"
    _, (line, *_) = _printed(out, "00_a")
    pid, folder, imported = line.split()
    # the stage ran in the warmed kernel, in the stages' folder, with the library imported
    assert (int(pid), folder, imported) == (warmed_pid, "notebooks", "True")
    # a stage on large data (its own kernel) does not keep the warmed one running beside it
    stage.drop_shared_kernel()
    assert stage.warm_shared_kernel("python3", str(out / "notebooks"), code="pass")
    kept = stage._SHARED["km"]
    b = stage.run_stage(_notebook(tmp_path / "01_b.ipynb", WARMED), str(out), {}, shared_kernel=False)
    assert b["status"] == "ok" and not kept.has_kernel and stage._SHARED["km"] is None


def test_a_kernel_that_cannot_warm_up_is_not_kept(tmp_path, shared):
    assert not stage.warm_shared_kernel("python3", str(tmp_path), code="import no_such_module_here")
    assert stage._SHARED["km"] is None
