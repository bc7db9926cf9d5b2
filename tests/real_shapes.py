"""Real-export shapes for the stage-notebook tests.

``members_only``: the generator's scenario of a chain whose program is older than the data: every
identified customer is a member, non-members' receipts are absent, the card issue dates are
unknown, there are no cards in stock, no surveys, no points ledger and no costs, and the campaigns
went to the heaviest buyers. ``own_data``: the example shop of ``examples/own_data``, read
through its column mapping.
"""

from __future__ import annotations

from pathlib import Path

from loyalty_lib import config, io, synth

EXAMPLE_DIR = config.PROJECT_DIR / "examples" / "own_data"


def write_members_only(folder: Path, *, n_customers: int = 2000, seed: int = 3) -> Path:
    """Write the generator's ``members_only`` scenario (a small one) to ``folder``."""
    return io.save(synth.generate("members_only", n_customers=n_customers, seed=seed), folder, force=True)


def write_own_data(folder: Path) -> Path:
    """Read ``examples/own_data`` through its column mapping and write the clean tables to ``folder``.

    This is what ``loyalty report`` does before the notebooks run.
    """
    ds = io.load(EXAMPLE_DIR / "export", mapping=EXAMPLE_DIR / "mapping.yaml")
    return io.save(ds, folder, force=True)
