import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from loyalty_lib import synth  # noqa: E402
from loyalty_lib.synth.cache import cached_branch  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def small_ds():
    """A small generated branch shared by tests (read-only: never modify its tables)."""
    return synth.generate(n_customers=3000, seed=11)


@pytest.fixture(scope="session")
def default_ds():
    """The default-size branch (25k customers), generated once per test session."""
    return synth.generate(n_customers=25_000, seed=42)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def branch_dir():
    """The default-size branch (25k customers, seed 42) as a contract folder on disk.

    Generated once into ``outputs/cache`` and reused by later runs while the generator is
    unchanged; pytest-xdist workers share it through a file lock.
    """
    return cached_branch(n_customers=25_000, seed=42)
