"""Pytest set-up shared by the test suite and the docstring examples (``--doctest-modules``).

Figures are drawn off-screen, so neither the tests nor the examples need a display.
"""

import matplotlib

matplotlib.use("Agg")
