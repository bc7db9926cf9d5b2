"""Regenerate the realistic example exports in ``examples/`` (``make examples``).

Each example is a generated world of :mod:`loyalty_lib.synth` in one of the realistic-export
shapes, written by :func:`loyalty_lib.synth.export.write_example`: ``examples/<name>/export/``
holds the files as the retailer's systems would write them, ``examples/<name>/mapping.yaml`` the
column mapping that reads them, and ``examples/<name>/planted.json`` what the generator planted.
``params.yaml`` beside them is written by hand and left alone. The same code gives the same
files, byte for byte (``tests/test_examples.py`` checks the committed ones are up to date).

Usage::

    python tools/make_examples.py            # all three
    python tools/make_examples.py walk_ins   # one
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loyalty_lib.synth.export import EXAMPLES, write_example

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Write the examples named on the command line (default: all) and print their sizes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"examples to write: {', '.join(EXAMPLES)} (default: all)")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.names) - set(EXAMPLES))
    if unknown:
        ap.error(f"unknown example(s) {', '.join(unknown)}; choose from {', '.join(EXAMPLES)}")
    for name in args.names or EXAMPLES:
        folder = write_example(name, ROOT / "examples")
        size = sum(p.stat().st_size for p in (folder / "export").iterdir())
        print(f"{name}: {folder.relative_to(ROOT)} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
