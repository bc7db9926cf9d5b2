"""The mutation script (tools/mutate.py): which mistakes it makes, and what it leaves alone."""

import importlib.util
import sys

from loyalty_lib import config

_spec = importlib.util.spec_from_file_location("mutate", config.PROJECT_DIR / "tools" / "mutate.py")
mutate = sys.modules.setdefault("mutate", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(mutate)

SOURCE = '''
def ci(x, level=0.95, *, ddof=1, cluster=True):
    """Docstring with 0.95 and a < b is left alone."""
    if x < 0:
        raise ValueError(f"bad {x + 1}")
    half = 1.96 * x.std(ddof=ddof) / len(x) ** 0.5
    return x.mean() - half, x.mean() + half


def other(y):
    return y + 1
'''


def test_mutants_are_listed_in_a_fixed_order_with_their_place():
    found = mutate.list_mutants(SOURCE)
    assert [m.description for m in found][:5] == ["0.95 -> 0.9", "1 -> 2", "True -> False", "1.96 -> 1.645", "* -> /"]
    assert {m.function for m in found} == {"ci", "other"}
    assert found == mutate.list_mutants(SOURCE)
    # the guard `if x < 0: raise` and the error message are input checks, not estimates
    assert not [m for m in found if m.line in (4, 5)]


def test_a_mutant_changes_one_thing():
    found = mutate.list_mutants(SOURCE)
    level = next(m for m in found if m.description == "0.95 -> 0.9")
    src = mutate.mutated_source(SOURCE, level.index)
    assert "level=0.9," in src and "1.96 *" in src and "Docstring with 0.95" in src
    flag = next(m for m in found if m.description == "True -> False")
    assert "cluster=False" in mutate.mutated_source(SOURCE, flag.index)
    mean = next(m for m in found if m.description == ".mean() -> .sum()")
    assert mutate.mutated_source(SOURCE, mean.index).count(".sum()") == 1


def test_only_the_named_functions_are_mutated():
    found = mutate.list_mutants(SOURCE, {"other"})
    assert [(m.function, m.description) for m in found] == [("other", "1 -> 2"), ("other", "+ -> -")]
    assert "return y + 2" in mutate.mutated_source(SOURCE, 0, {"other"})
    assert "return y - 1" in mutate.mutated_source(SOURCE, 1, {"other"})


def test_every_listed_module_has_its_tests():
    for module, tests in mutate.MODULE_TESTS.items():
        assert (config.PROJECT_DIR / module).exists(), module
        assert any((config.PROJECT_DIR / t).exists() for t in tests), module


def _results(n, survivors):
    class M:
        index, function, line, description = 7, "ci", 3, "`<` -> `<=`"

    path = config.PROJECT_DIR / "loyalty_lib" / "stats.py"
    return {path: {"n": n, "survivors": [M()] * survivors, "rate": (n - survivors) / n}}


def test_the_report_keeps_the_text_written_by_hand(tmp_path):
    out = tmp_path / "mutation.md"
    out.write_text("# Mutation testing\n\nWritten by hand: why each mark is there.\n")
    mutate._write_report(out, _results(10, 1))
    first = out.read_text()
    assert first.startswith("# Mutation testing\n\nWritten by hand: why each mark is there.\n")
    assert "| `loyalty_lib/stats.py` | 10 | 9 | 90% |" in first
    assert "- #7 `ci` line 3: `<` -> `<=`" in first
    # A second run replaces its own section only: the hand-written text after it stays too.
    out.write_text(first + "\n## Notes after the run\n\nKept.\n")
    mutate._write_report(out, _results(20, 0))
    second = out.read_text()
    assert second.count(mutate.BEGIN_MARK) == 1
    assert "| `loyalty_lib/stats.py` | 20 | 20 | 100% |" in second
    assert "10 | 9 | 90%" not in second and "#7 `ci`" not in second
    assert second.startswith("# Mutation testing\n\nWritten by hand") and second.endswith("Kept.\n")


def test_the_report_is_created_when_missing(tmp_path):
    out = tmp_path / "new.md"
    mutate._write_report(out, _results(4, 0))
    assert out.read_text().startswith("# Mutation testing: kill rate per module")
    assert "| 4 | 4 | 100% |" in out.read_text()
