from concurrent.futures import ProcessPoolExecutor

from loyalty_lib import io, synth
from loyalty_lib.synth.cache import cached_branch, generator_fingerprint


def _make(cache_dir):
    folder = cached_branch(n_customers=300, seed=5, cache_dir=cache_dir)
    return str(folder), (folder / "ground_truth.json").stat().st_mtime_ns


def test_two_processes_share_one_generated_folder(tmp_path):
    with ProcessPoolExecutor(2) as pool:
        (a, ta), (b, tb) = pool.map(_make, [tmp_path, tmp_path])
    assert a == b and ta == tb, "the second process reused the folder the first one wrote"
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == [a.rsplit("/", 1)[1]]
    assert generator_fingerprint() in a and "seed5-n300" in a
    ds = io.load(a)
    fresh = synth.generate(n_customers=300, seed=5)
    assert ds.truth["cards_issued"] == fresh.truth["cards_issued"]
    assert len(ds.transactions) == len(fresh.transactions)
    assert set(ds.truth_tables) == {"customers", "transactions"}


def test_a_folder_left_incomplete_is_generated_again(tmp_path):
    folder = cached_branch(n_customers=300, seed=5, cache_dir=tmp_path)
    (folder / ".complete").unlink()
    (folder / "transactions.parquet").unlink()
    again = cached_branch(n_customers=300, seed=5, cache_dir=tmp_path)
    assert again == folder and (folder / "transactions.parquet").exists() and (folder / ".complete").exists()


def test_a_different_seed_or_size_is_a_different_folder(tmp_path):
    a = cached_branch(n_customers=300, seed=5, cache_dir=tmp_path)
    b = cached_branch(n_customers=300, seed=6, cache_dir=tmp_path)
    c = cached_branch(n_customers=400, seed=5, cache_dir=tmp_path)
    assert len({a, b, c}) == 3
