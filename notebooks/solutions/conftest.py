"""The worked solutions are run by ``tests/test_solutions.py`` in one process, not by nbval.

nbval would start a kernel (and import the stack again) for each of them; the test runs them on
the teaching data one after the other and checks that each answers its stage's exercises.
"""

collect_ignore_glob = ["*.ipynb"]
