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


def test_the_notebook_is_written_once_at_the_end_not_at_every_cell(tmp_path, monkeypatch):
    import papermill.engines
    import papermill.execute

    writes = []
    for module in (papermill.engines, papermill.execute):
        original = module.write_ipynb
        monkeypatch.setattr(
            module, "write_ipynb", lambda nb, path, _w=original, **kw: (writes.append(path), _w(nb, path, **kw))
        )
    cells = [f"print({i})" for i in range(6)] + ["raise ValueError('late')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "00_late.ipynb")
    r = stage.run_stage(str(tmp_path / "00_late.ipynb"), str(tmp_path / "out"), {}, shared_kernel=False)
    # papermill wrote before and after each of the 7 cells (14 writes and more); now: at its start,
    # at the failing cell and at its end
    assert len(writes) <= 4, writes
    assert r["status"] == "failed" and "late" in r["error"]
    done = json.loads((tmp_path / "out" / "notebooks" / "00_late.ipynb").read_text())
    printed = ["".join(o.get("text", "")) for c in done["cells"] for o in c.get("outputs", []) if o.get("name")]
    assert printed == [f"{i}\n" for i in range(6)]  # every cell before the error kept its output


def test_pages_keep_the_attributes_nbconvert_added():
    # the page exporter skips nbconvert's BeautifulSoup pass over the page and adds its
    # attributes itself (alternative text on an image without one, keyboard focus on input and
    # output areas): the same elements, attributes and text as nbconvert's own exporter
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    from loyalty_lib.report.pages import _page_exporter_class

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    cell = nbformat.v4.new_code_cell("plot()", execution_count=1)
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("stream", name="stdout", text="n = 3 & <b>\n"),
        nbformat.v4.new_output(
            "display_data", data={"text/html": '<table><tr><td><img src="x.png"></td></tr></table>'}
        ),
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A stage\n\n![a plot](p.png)"), cell])

    def parsed(exporter):
        soup = BeautifulSoup(exporter.from_notebook_node(nb)[0], "html.parser")
        return [(t.name, sorted(t.attrs.items(), key=str)) for t in soup.find_all(True)], soup.get_text()

    ours = parsed(_page_exporter_class()(template_name="lab"))
    assert ours == parsed(HTMLExporter(template_name="lab"))
    assert sum(dict(attrs).get("tabindex") == "0" for _, attrs in ours[0]) == 5  # 2 inputs, 3 outputs
    assert sum(name == "img" and "alt" in dict(attrs) for name, attrs in ours[0]) == 3


def test_trends_in_the_background_let_the_data_go():
    import gc
    import weakref

    import pandas as pd

    from loyalty_lib.report import runner

    class Data:  # receipts without the columns the trends need: a plain reason instead of a figure
        transactions = pd.DataFrame({"x": [1]})
        cards = None

    ds = Data()
    gone = weakref.ref(ds)
    held = [ds]
    del ds
    trends, note = runner._in_background(runner._trends_then_give_back, held)()
    gc.collect()
    assert trends is None and "could not be computed" in note
    assert held == [] and gone() is None  # nothing keeps the loaded data once the trends are done
    failing = runner._in_background(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing()
