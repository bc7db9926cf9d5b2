"""What a stage notebook may change in its kernel, put back before the next stage runs there.

``loyalty report`` runs the stages of one worker one after another in the same kernel when the
data are small (:data:`loyalty_lib.report.stage.SHARED_KERNEL_MAX_RECEIPTS`): starting a kernel
and importing pandas, matplotlib, scipy and the library costs about 2.5 CPU-seconds, more than
many stages' own work on the teaching branch. Before each stage :func:`fresh_stage` runs in that
kernel. The first time it records the state of the fresh kernel; every later time it puts it
back: the notebook's variables are deleted (IPython's ``reset``, which also restarts the
execution count at 1), figures are closed, and matplotlib's settings, pandas' and numpy's
options, the warning filters, the working folder and ``sys.path`` are what they were before the
first stage. Modules stay imported, which is the point.
"""

from __future__ import annotations

_BASELINE: dict | None = None


def _capture() -> dict:
    import os
    import sys
    import warnings

    import matplotlib
    import matplotlib.pyplot  # noqa: F401 - the inline backend applies its settings on this import
    import numpy as np

    return {
        "rc": matplotlib.rcParams.copy(),
        "warnings": list(warnings.filters),
        "numpy_err": np.geterr(),
        "numpy_print": np.get_printoptions(),
        "cwd": os.getcwd(),
        "path": list(sys.path),
    }


def fresh_stage() -> None:
    """Record the fresh kernel's state (first call), or put it back (every later call)."""
    global _BASELINE
    if _BASELINE is None:
        _BASELINE = _capture()
        return
    import gc
    import os
    import sys
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from IPython import get_ipython

    ip = get_ipython()
    if ip is not None:
        ip.reset(new_session=True)
    plt.close("all")
    b = _BASELINE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matplotlib.rcParams.update(b["rc"])
        pd.reset_option("all")
    warnings.filters[:] = b["warnings"]
    getattr(warnings, "_filters_mutated", lambda: None)()
    np.seterr(**b["numpy_err"])
    np.set_printoptions(**b["numpy_print"])
    os.chdir(b["cwd"])
    sys.path[:] = b["path"]
    gc.collect()
