import numpy as np
import pandas as pd
import pytest

from loyalty_lib import config
from loyalty_lib.dataset import Dataset
from loyalty_lib.metrics import metrics_map as mm


def test_map_columns_and_order():
    m = mm.metrics_map()
    assert list(m.columns) == mm.MAP_COLUMNS
    assert m["order"].tolist() == list(range(1, len(m) + 1))
    # every stage of the journey has at least one metric, and the map follows the journey:
    # you cannot measure repeat use before you issue, nor impact before you plan it
    assert set(m["stage"]) == set(mm.JOURNEY_STAGES)
    codes = m["stage"].cat.codes.to_numpy()
    assert (np.diff(codes) >= 0).all()
    assert m.iloc[0]["stage"] == "card offered" and m.iloc[-1]["stage"] == "program level"
    assert m["key"].is_unique
    assert m[["metric", "when", "how", "why_first"]].apply(lambda s: s.str.len() > 10).all().all()


def test_map_points_at_existing_notebooks_and_functions():
    import importlib

    m = mm.metrics_map()
    for nb in m["notebook"]:
        assert (config.NOTEBOOKS_DIR / f"{nb}.ipynb").exists(), nb
    for funcs in m["function"]:
        for f in funcs.split(", "):
            module, name = f.split(".")
            assert hasattr(importlib.import_module(f"loyalty_lib.metrics.{module}"), name), f


def test_map_is_a_fresh_copy():
    a = mm.metrics_map()
    a.loc[0, "metric"] = "changed"
    assert mm.metrics_map().loc[0, "metric"] != "changed"


@pytest.fixture(scope="module")
def figures(small_ds):
    return mm.headline_figures(small_ds, n_boot=50, seed=1)


def test_headline_figures_shape(figures):
    assert list(figures.columns) == mm.FIGURE_COLUMNS
    keys = set(figures["key"])
    # every map key with a figure of its own is quoted (ROI lives in 07 only)
    assert set(mm.metrics_map()["key"]) - {"roi"} <= keys | {"did_revenue"}
    shares = figures[figures["unit"] == "%"]
    assert shares["estimate"].between(0, 1).all()
    assert shares["ci_low"].dropna().ge(0).all() and shares["ci_high"].dropna().le(1).all()
    ci = figures.dropna(subset=["ci_low"])
    assert (ci["ci_low"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["ci_high"]).all()


def test_headline_figures_cover_planted_truth(figures):
    # return curve and bunching: planted values inside the intervals (fixed seed)
    planted = figures.dropna(subset=["truth", "ci_low"])
    assert {"return_after_first", "bunching_1500"} <= set(planted["key"])
    for r in planted.itertuples():
        assert r.ci_low <= r.truth <= r.ci_high, r


def test_headline_figures_without_surveys(small_ds):
    ds = Dataset(
        customers=small_ds.customers, cards=small_ds.cards, transactions=small_ds.transactions
    )  # real-data shape: no truth, no surveys
    out = mm.headline_figures(ds, n_boot=20)
    assert not out["key"].str.startswith("nps").any()
    assert out["truth"].isna().all()
    assert {"issue_rate", "activation_rate", "member_check"} <= set(out["key"])


def test_headline_figures_names_missing_column(small_ds):
    ds = Dataset(
        customers=small_ds.customers,
        cards=small_ds.cards,
        transactions=small_ds.transactions.drop(columns="gross_amount"),
    )
    with pytest.raises(ValueError, match="gross_amount"):
        mm.headline_figures(ds, n_boot=10)


def test_map_keys_match_figure_keys_for_notebook():
    m = mm.metrics_map()
    assert (
        pd.Series(["issue_rate", "activation_rate", "member_check", "nps_after_first_use", "did_revenue"])
        .isin(m["key"])
        .all()
    )
