"""Regenerate the example exports in ``examples/`` (``make examples``); see :mod:`loyalty_lib.examples`.

Usage::

    python tools/make_examples.py            # all of them
    python tools/make_examples.py walk_ins   # one
"""

from __future__ import annotations

import argparse
import sys

from loyalty_lib.examples import EXAMPLES_DIR, WRITERS


def main(argv: list[str] | None = None) -> int:
    """Write the examples named on the command line (default: all) and print their sizes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"examples to write: {', '.join(WRITERS)} (default: all)")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.names) - set(WRITERS))
    if unknown:
        ap.error(f"unknown example(s) {', '.join(unknown)}; choose from {', '.join(WRITERS)}")
    for name in args.names or WRITERS:
        folder = WRITERS[name](name, EXAMPLES_DIR)
        size = sum(p.stat().st_size for p in (folder / "export").iterdir())
        print(f"{name}: {folder.relative_to(EXAMPLES_DIR.parent)} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
