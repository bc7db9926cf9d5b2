"""The committed teaching sample is exactly what the generator makes for its seed."""

import numpy as np
import pandas as pd

from loyalty_lib import config, io, synth


def test_sample_matches_the_generator():
    committed = io.load(config.SAMPLE_DIR)
    fresh = synth.generate(n_customers=config.SAMPLE_CUSTOMERS, seed=config.SAMPLE_SEED)
    assert committed.truth == fresh.truth, "regenerate the sample with `make sample`"
    for name, df in fresh.tables.items():
        got = committed.tables[name]
        assert list(got.columns) == list(df.columns), name
        assert len(got) == len(df), name
        for col in df.columns:
            a, b = df[col], got[col]
            if pd.api.types.is_float_dtype(a):
                np.testing.assert_allclose(b.to_numpy(float), a.to_numpy(float), rtol=1e-9, err_msg=f"{name}.{col}")
            else:
                assert (a.isna().to_numpy() == b.isna().to_numpy()).all(), f"{name}.{col}"
                ok = a.notna().to_numpy()
                assert (a[ok].astype(str).to_numpy() == b[ok].astype(str).to_numpy()).all(), f"{name}.{col}"


def test_sample_is_small():
    size = sum(p.stat().st_size for p in config.SAMPLE_DIR.iterdir())
    assert size < 8 * 2**20
