"""The example exports committed in ``examples/``, and how each is rebuilt (``make examples``).

- Three generated exports in the realistic shapes of :mod:`loyalty_lib.synth.shapes`
  (:data:`GENERATED`), written by :func:`loyalty_lib.synth.export.write_export`:
  ``examples/<name>/export/`` holds the files as the retailer's systems write them,
  ``examples/<name>/mapping.yaml`` the mapping that reads them and ``examples/<name>/planted.json``
  what the generator planted. The truth stays outside the export folder: a report on the export
  treats it as a shop's own data (no teaching case, no planted values on its pages).
- ``examples/cdnow/``: the public CDNOW sample (Fader and Hardie; 2,357 customers' CD purchases,
  1997-98), a real log with customers and purchases and nothing else (:func:`write_cdnow`).

``params.yaml`` beside each is written by hand and left alone. The same code gives the same
files, byte for byte (an ``.xlsx`` stamps the time it was written: compare its cells).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from loyalty_lib import config
from loyalty_lib.synth.export import MAPPING_FILE, write_export

#: Where the examples live.
EXAMPLES_DIR = config.PROJECT_DIR / "examples"
#: Generated examples: generator size and seed of each. Small enough to commit (each export under
#: about 1.5 MB), large enough for every stage to have something to show.
GENERATED: dict[str, dict] = {
    "members_only": {"n_customers": 1500, "seed": 11},
    # walk_ins: seed 11 drew the one miss in 40 seeds of its bunching intervals (tests/metrics/test_basket.py)
    "walk_ins": {"n_customers": 2400, "seed": 12},
    "messy_till": {"n_customers": 900, "seed": 11},
}
#: File of a generated example holding what the generator planted (beside the export, never inside it).
PLANTED_FILE = "planted.json"
#: The CDNOW sample as published (whitespace-separated, no header), kept with the tests' data.
CDNOW_SOURCE = config.PROJECT_DIR / "tests" / "data" / "CDNOW_sample.txt"


def write_example(name: str, root: str | Path = EXAMPLES_DIR) -> Path:
    """Generate one example of :data:`GENERATED` and write it under ``root/<name>/``.

    Returns
    -------
    Path
        The example's folder (``export/``, ``mapping.yaml``, ``planted.json``).
    """
    from loyalty_lib import synth

    ds = synth.generate(name, **GENERATED[name])
    folder = Path(root) / name
    write_export(ds, folder / "export", force=True, mapping_path=folder / MAPPING_FILE)
    text = json.dumps(ds.truth, indent=2, default=float)
    (folder / PLANTED_FILE).write_text(text + "\n", encoding="utf-8")
    return folder


#: Mapping of the CDNOW example: a web store's purchase log with nothing but customers and purchases.
CDNOW_MAPPING = {
    "currency": "USD",
    "tables": {
        "customers": {
            "file": "customers.csv",
            "columns": {"customer": "customer_id"},
            "constants": {"customer_type": "b2c"},
        },
        "cards": {"file": "cards.csv"},
        "transactions": {
            "file": "purchases.csv",
            "columns": {
                "purchase": "transaction_id",
                "customer": "customer_id",
                "date": "date",
                "dollars": "amount",
                "dollars_before_discount": "gross_amount",
                "card": "card_id",
            },
            "date_formats": {"date": "%Y%m%d"},
            "constants": {"discount_amount": 0.0, "channel": "delivery", "store_id": "CDNOW"},
        },
    },
}


def write_cdnow(root: str | Path = EXAMPLES_DIR, source: str | Path = CDNOW_SOURCE) -> Path:
    """Write the CDNOW sample as a folder of CSV exports with a header, and its mapping.

    The published file has no header and is aligned with runs of spaces, which no export
    reader should guess at; this writes the same rows as CSV with a header and nothing
    changed: ``customer`` (the master id with its leading zeros), ``date`` (``YYYYMMDD``),
    ``cds`` (number of CDs) and ``dollars``. A purchase has no id of its own in the source:
    ``purchase`` is its line number there. CDNOW gave no discounts, so
    ``dollars_before_discount`` repeats ``dollars``, and ``card`` is empty (the store had no
    loyalty card). ``customers.csv`` lists every customer id once; ``cards.csv`` has a header
    and no rows.

    Returns
    -------
    Path
        The example's folder (``export/`` and ``mapping.yaml``).
    """
    raw = pd.read_csv(
        source, sep=r"\s+", header=None, names=["customer", "sample_id", "date", "cds", "dollars"], dtype=str
    )
    folder = Path(root) / "cdnow"
    export = folder / "export"
    export.mkdir(parents=True, exist_ok=True)
    purchases = raw.drop(columns="sample_id").assign(dollars_before_discount=raw["dollars"], card="")
    purchases.insert(0, "purchase", range(1, len(raw) + 1))
    purchases.to_csv(export / "purchases.csv", index=False)
    pd.DataFrame({"customer": raw["customer"].drop_duplicates()}).to_csv(export / "customers.csv", index=False)
    (export / "cards.csv").write_text("card_id,customer_id,issued_date,issue_channel\n", encoding="utf-8")
    head = (
        "# Column mapping of the CDNOW sample (Fader and Hardie): a web store's CD purchases, 1997-98.\n"
        "# Written by loyalty_lib.examples.write_cdnow (tools/make_examples.py); see docs/own_data.md.\n"
    )
    body = yaml.safe_dump(CDNOW_MAPPING, sort_keys=False, width=110)
    (folder / MAPPING_FILE).write_text(head + body, encoding="utf-8")
    return folder


#: Every committed example, by name, and the function that writes it.
WRITERS = {**{name: write_example for name in GENERATED}, "cdnow": lambda name, root=EXAMPLES_DIR: write_cdnow(root)}
