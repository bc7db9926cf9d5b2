"""Mutation testing of the estimators: some test must fail when an estimator is subtly wrong.

For every function of the chosen modules this script makes small, plausible mistakes one at a
time (a *mutant*), runs that module's test file against it and counts the mutants some test
kills (the module's docstring examples run too, as in ``make test``). A surviving mutant is a
wrong estimator the tests cannot tell from the right one.

Mutations (each applied alone):

- comparisons: ``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``in`` ↔ ``not in``, ``is`` ↔ ``is not``
- arithmetic: ``+`` ↔ ``-``, ``*`` ↔ ``/``, ``//`` → ``/``, ``**`` → ``*``; unary minus and
  ``not``/``~`` dropped; ``and`` ↔ ``or``, ``&`` ↔ ``|``
- numbers: a confidence level or quantile moved (0.95 → 0.90, 0.975 → 0.95, 1.96 → 1.645,
  0.5 → 0.25, 0.05 → 0.10), any other int ``n`` → ``n + 1``, float ``x`` → ``2x`` (``0`` → ``1``);
  this covers ``ddof=1`` → ``ddof=2`` and ``ddof=0`` → ``ddof=1``
- flags: ``True`` ↔ ``False`` anywhere (``cluster_entity=True``, ``dropna=False``, defaults, ...)
- reductions: ``.sum`` ↔ ``.mean``, ``.median`` → ``.mean``, ``.min`` ↔ ``.max``,
  ``.cumsum`` → ``.cumprod``, ``.nunique`` ↔ ``.count``

Left alone: docstrings and other strings, ``raise`` statements, and ``if`` guards whose whole
body is a ``raise`` (input checks, which the bad-input tests cover), and any line carrying
``# no mutate``.

How it runs: one parent process imports the test environment once and memoises
``synth.generate`` (the generated branches the tests share are made once); each mutant runs in a
forked child that re-executes the mutated module source into the live module, rebinds every
reference other modules hold to its old functions, and calls ``pytest -x`` on the module's test
files with a timeout. Nothing is written to the source tree.

Usage (from the repository root, inside ``.venv``)::

    python tools/mutate.py loyalty_lib/metrics/activity.py            # one module
    python tools/mutate.py --all                                      # every module in MODULE_TESTS
    python tools/mutate.py loyalty_lib/stats.py --list                # list the mutants, run nothing
    python tools/mutate.py loyalty_lib/metrics/basket.py --function bunching_estimate

or ``make mutation`` (all modules; about an hour on two cores). The exit status is 0 when the
kill rate of every module reaches ``--target`` (default 90 %), 1 otherwise; ``--report FILE``
writes the survivors as Markdown.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import signal
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The test files run against the mutants of each module.
MODULE_TESTS: dict[str, list[str]] = {
    # the quick hand-worked tables first: most mutants die there, before the slower recovery tests
    "loyalty_lib/metrics/activity.py": ["tests/metrics/test_activity_mutations.py", "tests/metrics/test_activity.py"],
    "loyalty_lib/metrics/basket.py": ["tests/metrics/test_basket_mutations.py", "tests/metrics/test_basket.py"],
    "loyalty_lib/metrics/enrollment.py": [
        "tests/metrics/test_enrollment_mutations.py",
        "tests/metrics/test_enrollment.py",
    ],
    "loyalty_lib/metrics/satisfaction.py": [
        "tests/metrics/test_satisfaction.py",
        "tests/metrics/test_satisfaction_mutations.py",
    ],
    "loyalty_lib/metrics/roi.py": ["tests/metrics/test_roi.py", "tests/metrics/test_roi_mutations.py"],
    "loyalty_lib/metrics/impact.py": [
        "tests/metrics/test_impact_mutations.py",
        "tests/metrics/test_impact.py",
        "tests/metrics/test_impact_fit.py",
        "tests/metrics/test_impact_calibration.py",
    ],
    "loyalty_lib/stats.py": ["tests/test_stats.py", "tests/test_stats_mutations.py"],
}

#: Generated branches a module's tests make themselves (``synth.generate`` calls with these exact
#: arguments): made once in the parent, so a surviving mutant does not regenerate them.
SHARED_BRANCHES: dict[str, list[tuple[tuple, dict]]] = {
    "loyalty_lib/metrics/activity.py": [((), {"n_customers": 10_000, "seed": 11})],
    "loyalty_lib/metrics/basket.py": [
        *((("sergey_branch",), {"n_customers": 8000, "seed": s}) for s in range(1, 6)),
        ((), {"n_customers": 8000, "seed": 1}),
        *((("walk_ins",), {"n_customers": 2400, "seed": s}) for s in range(1, 6)),
    ],
    "loyalty_lib/metrics/enrollment.py": [((), {"n_customers": 10_000, "seed": 11})],
    "loyalty_lib/metrics/impact.py": [(("sergey_branch",), {"n_customers": 3000, "seed": 42})],
}

LEVELS = {0.95: 0.90, 0.975: 0.95, 1.96: 1.645, 0.5: 0.25, 0.05: 0.10, 0.025: 0.05}
COMPARE = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
BINOP = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Pow: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
}
REDUCTIONS = {
    "sum": "mean",
    "mean": "sum",
    "median": "mean",
    "min": "max",
    "max": "min",
    "cumsum": "cumprod",
    "nunique": "count",
    "count": "nunique",
}


@dataclass(frozen=True)
class Mutant:
    """One small change to a module: where it is and what it does."""

    index: int
    function: str
    line: int
    description: str


def _is_guard(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and all(isinstance(s, ast.Raise) for s in node.body) and not node.orelse


class _Mutator(ast.NodeTransformer):
    """Walk a module; count the possible mutations, and apply the one numbered ``target``."""

    def __init__(self, lines: list[str], functions: set[str] | None, target: int = -1):
        self.lines, self.functions, self.target = lines, functions, target
        self.found: list[Mutant] = []
        self.function: str | None = None

    # -- scope
    def visit_FunctionDef(self, node):  # noqa: N802 (ast API)
        if self.function is None and self.functions is not None and node.name not in self.functions:
            return node
        outer, self.function = self.function, self.function or node.name
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        a = node.args  # defaults only: annotations are never evaluated
        a.defaults = [self.visit(d) for d in a.defaults]
        a.kw_defaults = [d if d is None else self.visit(d) for d in a.kw_defaults]
        node.body = node.body[: len(node.body) - len(body)] + [self.visit(s) for s in body]
        self.function = outer
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_ClassDef(self, node):  # noqa: N802
        return node

    def visit_Raise(self, node):  # noqa: N802
        return node

    def visit_AnnAssign(self, node):  # noqa: N802
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_If(self, node):  # noqa: N802
        return node if _is_guard(node) else self.generic_visit(node)

    def visit_JoinedStr(self, node):  # noqa: N802
        return node

    # -- mutations
    def _offer(self, node: ast.AST, description: str) -> bool:
        """Record a possible mutation; True when it is the one to apply."""
        if self.function is None:
            return False
        line = getattr(node, "lineno", 0)
        if line and "# no mutate" in self.lines[line - 1]:
            return False
        self.found.append(Mutant(len(self.found), self.function, line, description))
        return self.found[-1].index == self.target

    def visit_Compare(self, node):  # noqa: N802
        self.generic_visit(node)
        for i, op in enumerate(node.ops):
            new = COMPARE.get(type(op))
            if new and self._offer(node, f"{_sym(op)} -> {_sym(new())}"):
                node.ops[i] = new()
        return node

    def _swap_op(self, node, suffix: str = ""):
        self.generic_visit(node)
        new = BINOP.get(type(node.op))
        if new and self._offer(node, f"{_sym(node.op)}{suffix} -> {_sym(new())}{suffix}"):
            node.op = new()
        return node

    def visit_BinOp(self, node):  # noqa: N802
        return self._swap_op(node)

    def visit_AugAssign(self, node):  # noqa: N802
        return self._swap_op(node, "=")

    def visit_UnaryOp(self, node):  # noqa: N802
        self.generic_visit(node)
        if isinstance(node.op, ast.USub | ast.Not | ast.Invert) and self._offer(node, f"drop unary {_sym(node.op)}"):
            return node.operand
        return node

    def visit_BoolOp(self, node):  # noqa: N802
        self.generic_visit(node)
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        if self._offer(node, f"{_sym(node.op)} -> {_sym(new())}"):
            node.op = new()
        return node

    def visit_Constant(self, node):  # noqa: N802
        v = node.value
        if isinstance(v, bool):
            if self._offer(node, f"{v} -> {not v}"):
                return ast.copy_location(ast.Constant(not v), node)
        elif isinstance(v, int | float) and not isinstance(v, complex):
            new = LEVELS.get(v) if isinstance(v, float) else None
            if new is None:
                new = v + 1 if isinstance(v, int) else (v * 2 if v else 1.0)
            if self._offer(node, f"{v!r} -> {new!r}"):
                return ast.copy_location(ast.Constant(new), node)
        return node

    def visit_Call(self, node):  # noqa: N802
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in REDUCTIONS:
            new = REDUCTIONS[f.attr]
            if self._offer(node, f".{f.attr}() -> .{new}()"):
                f.attr = new
        return node


def _sym(op: ast.AST) -> str:
    names = {
        ast.Lt: "<",
        ast.LtE: "<=",
        ast.Gt: ">",
        ast.GtE: ">=",
        ast.Eq: "==",
        ast.NotEq: "!=",
        ast.In: "in",
        ast.NotIn: "not in",
        ast.Is: "is",
        ast.IsNot: "is not",
        ast.Add: "+",
        ast.Sub: "-",
        ast.Mult: "*",
        ast.Div: "/",
        ast.FloorDiv: "//",
        ast.Pow: "**",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.USub: "-",
        ast.Not: "not",
        ast.Invert: "~",
        ast.And: "and",
        ast.Or: "or",
    }
    return names[type(op)]


def list_mutants(source: str, functions: set[str] | None = None) -> list[Mutant]:
    """Every mutation the script would try on ``source``, numbered in a fixed order.

    Parameters
    ----------
    source : str
        Python source of a module.
    functions : set of str, optional
        Mutate only these top-level functions (default: every function).

    Returns
    -------
    list of Mutant
        With the function, line and a short description of each mutation.
    """
    m = _Mutator(source.splitlines(), functions)
    m.visit(ast.parse(source))
    return m.found


def mutated_source(source: str, index: int, functions: set[str] | None = None) -> str:
    """Return ``source`` with mutation number ``index`` applied (see :func:`list_mutants`)."""
    m = _Mutator(source.splitlines(), functions, target=index)
    tree = m.visit(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree))


# --------------------------------------------------------------------------- running


def _memoise_generator() -> None:
    """Generate each synthetic branch once in the parent; forked children share it."""
    from loyalty_lib import synth

    original, cache = synth.generate, {}

    def generate(*args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = original(*args, **kwargs)
        return cache[key]

    synth.generate = generate
    for size, seed in [(3000, 11), (25_000, 42)]:  # the small_ds and default_ds fixtures
        generate(n_customers=size, seed=seed)


def _install(module_name: str, source: str, path: Path) -> None:
    """Re-execute ``source`` into the live module and repoint references to its old objects."""
    mod = sys.modules[module_name]
    old = {k: v for k, v in vars(mod).items() if isinstance(v, types.FunctionType)}
    exec(compile(source, str(path), "exec"), mod.__dict__)
    swap = {id(v): mod.__dict__[k] for k, v in old.items() if k in mod.__dict__}
    for other in list(sys.modules.values()):
        name = getattr(other, "__name__", "")
        if other is mod or not name.startswith("loyalty_lib"):
            continue
        for k, v in list(vars(other).items()):
            if id(v) in swap:
                setattr(other, k, swap[id(v)])


#: Plugins the estimator tests do not use; not loading them saves seconds per mutant.
UNUSED_PLUGINS = ("cacheprovider", "nbval", "xdist.plugin", "xdist.looponfail", "benchmark", "typeguard", "anyio")


def _pytest_args(path: Path, tests: list[str]) -> list[str]:
    # the module's own docstring examples count too: make test runs them
    args = [*tests, str(path), "--doctest-modules", "-x", "-q", "-m", "not slow", "-W", "ignore"]
    for plugin in UNUSED_PLUGINS:
        args += ["-p", f"no:{plugin}"]
    return args


def _run_child(module_name: str, source: str, path: Path, tests: list[str]) -> int:
    import pytest

    _install(module_name, source, path)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    return int(pytest.main(_pytest_args(path, tests)))


def run_mutant(module_name: str, source: str, path: Path, tests: list[str], timeout: float) -> str:
    """Run the tests on one mutated source in a forked child: ``killed``, ``survived`` or ``timeout``."""
    pid = os.fork()
    if pid == 0:  # child
        try:
            code = _run_child(module_name, source, path, tests)
        except BaseException:  # noqa: BLE001 - a mutant that breaks the import is killed
            code = 3
        os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return "survived" if code == 0 else "killed"
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.05)


def mutate_module(path: Path, *, functions: set[str] | None, tests: list[str], timeout: float | None, log) -> dict:
    """Run every mutant of one module; return counts and the survivors."""
    source = path.read_text()
    module_name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    importlib.import_module(module_name)
    t0 = time.monotonic()
    baseline = run_mutant(module_name, ast.unparse(ast.parse(source)), path, tests, timeout or 3600)
    base_s = time.monotonic() - t0
    if baseline != "survived":
        raise SystemExit(f"{path}: the tests fail on the unmutated module ({baseline}); fix them first")
    timeout = timeout or max(30.0, 3 * base_s + 10)
    mutants = list_mutants(source, functions)
    log(f"{path.relative_to(ROOT)}: {len(mutants)} mutants, tests {' '.join(tests)} ({base_s:.0f} s unmutated)")
    result = {"killed": 0, "survived": 0, "timeout": 0, "survivors": []}
    for m in mutants:
        outcome = run_mutant(module_name, mutated_source(source, m.index, functions), path, tests, timeout)
        result[outcome] += 1
        if outcome == "survived":
            result["survivors"].append(m)
            log(f"  survived #{m.index} {m.function} line {m.line}: {m.description}")
    n = len(mutants)
    killed = result["killed"] + result["timeout"]
    result.update(n=n, rate=killed / n if n else 1.0)
    log(f"  killed {killed}/{n} = {result['rate']:.0%} ({result['timeout']} by timeout)")
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: mutate modules, print the kill rate per module, exit 1 below the target."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", type=Path, help="module files (default with --all: every known module)")
    ap.add_argument("--all", action="store_true", help="every module listed in MODULE_TESTS")
    ap.add_argument("--function", action="append", help="mutate only this function (repeatable)")
    ap.add_argument("--tests", action="append", help="test file to run (default: the module's own)")
    ap.add_argument("--timeout", type=float, help="seconds per mutant (default: 3 x the unmutated run + 10)")
    ap.add_argument("--list", action="store_true", help="list the mutants and run nothing")
    ap.add_argument("--target", type=float, default=0.9, help="kill rate every module must reach (default 0.9)")
    ap.add_argument("--report", type=Path, help="write the kill rates and survivors to this Markdown file")
    args = ap.parse_args(argv)

    paths = [ROOT / m for m in MODULE_TESTS] if args.all else [p.resolve() for p in args.modules]
    if not paths:
        ap.error("name a module file or pass --all")
    functions = set(args.function) if args.function else None
    if args.list:
        for p in paths:
            for m in list_mutants(p.read_text(), functions):
                print(f"{p.relative_to(ROOT)} #{m.index} {m.function} line {m.line}: {m.description}")
        return 0

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    _memoise_generator()
    from loyalty_lib import synth

    for p in paths:
        for gen_args, gen_kwargs in SHARED_BRANCHES.get(str(p.relative_to(ROOT)), []):
            synth.generate(*gen_args, **gen_kwargs)
    import pytest  # noqa: F401 - imported once here, not in every child
    import scipy.stats  # noqa: F401
    import statsmodels.api  # noqa: F401

    results = {}
    for p in paths:
        tests = args.tests or MODULE_TESTS.get(str(p.relative_to(ROOT)))
        if not tests:
            ap.error(f"no test files known for {p}; pass --tests")
        tests = [t for t in tests if (ROOT / t).exists()]
        results[p] = mutate_module(p, functions=functions, tests=tests, timeout=args.timeout, log=_log)
    print("\nmodule | mutants | killed | rate")
    for p, r in results.items():
        print(f"{p.relative_to(ROOT)} | {r['n']} | {r['n'] - len(r['survivors'])} | {r['rate']:.0%}")
    if args.report:
        _write_report(args.report, results)
    return 0 if all(r["rate"] >= args.target for r in results.values()) else 1


def _log(message: str) -> None:
    print(message, flush=True)


BEGIN_MARK = "<!-- mutate.py: generated section, rewritten by --report -->"
END_MARK = "<!-- mutate.py: end of generated section -->"


def _report_section(results: dict) -> list[str]:
    """The generated Markdown: the kill-rate table and the survivors of this run."""
    lines = [
        "| module | mutants | killed | rate |",
        "|---|---|---|---|",
    ]
    for p, r in results.items():
        lines.append(f"| `{p.relative_to(ROOT)}` | {r['n']} | {r['n'] - len(r['survivors'])} | {r['rate']:.0%} |")
    for p, r in results.items():
        if r["survivors"]:
            lines += ["", f"### Survivors in `{p.relative_to(ROOT)}`", ""]
            lines += [f"- #{m.index} `{m.function}` line {m.line}: {m.description}" for m in r["survivors"]]
    return lines


def _write_report(out: Path, results: dict) -> None:
    """Write this run's kill rates into ``out`` without touching the text written by hand.

    Only the part between ``BEGIN_MARK`` and ``END_MARK`` is replaced; a file without the marks
    gets the section appended at its end, and a missing file is created with a title.
    """
    section = "\n".join([BEGIN_MARK, *_report_section(results), END_MARK])
    if not out.exists():
        out.write_text("# Mutation testing: kill rate per module\n\n## Last run\n\n" + section + "\n")
        return
    text = out.read_text()
    if BEGIN_MARK in text and END_MARK in text.split(BEGIN_MARK, 1)[1]:
        head, rest = text.split(BEGIN_MARK, 1)
        tail = rest.split(END_MARK, 1)[1]
        out.write_text(head + section + tail)
    else:
        out.write_text(text.rstrip("\n") + "\n\n## Last `make mutation` run\n\n" + section + "\n")


if __name__ == "__main__":
    sys.exit(main())
