"""The schema of the notebooks' parameters, and ``--params`` checked before any notebook runs."""

from __future__ import annotations

import ast

import nbformat
import pytest
from test_report import run_cli, write_notebooks, write_tiny_data

from loyalty_lib import params, report
from loyalty_lib.params import PARAMETERS, ParameterError, check_params, lookup

SUITE = report.find_notebooks()


def _defaults(nb) -> dict:
    cell = next(c for c in nbformat.read(nb, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    return {n.target.id: ast.literal_eval(n.value) for n in ast.parse(cell.source).body}


@pytest.mark.parametrize("nb", SUITE, ids=lambda p: p.stem)
def test_every_notebook_parameter_is_in_the_schema_with_its_type(nb):
    for name, annotation in params.parameters_cell(nb).items():
        spec = lookup(name, nb.stem)
        assert spec is not None, f"{nb.stem}: parameter {name} is not declared in loyalty_lib/params.py"
        assert spec.kind == annotation or (spec.kind == "date" and annotation == "str"), (name, spec.kind, annotation)


@pytest.mark.parametrize("nb", SUITE, ids=lambda p: p.stem)
def test_every_default_value_passes_its_own_rule(nb):
    for name, value in _defaults(nb).items():
        assert lookup(name, nb.stem).problem(value) is None, (nb.stem, name, value)


def test_every_schema_entry_is_declared_by_the_notebooks_it_names_and_only_once():
    declared = {nb.stem: set(params.parameters_cell(nb)) for nb in SUITE}
    seen = set()
    for p in PARAMETERS:
        for nb in p.notebooks:
            assert p.name in declared[nb], f"schema lists {p.name} for {nb}, which does not declare it"
            assert (p.name, nb) not in seen, f"{p.name} has two entries for {nb}"
            seen.add((p.name, nb))


@pytest.mark.parametrize(
    ("name", "notebook", "value", "message"),
    [
        ("target_issue_rate", "02_enrollment", "30%", "percentage text (a share between 0 and 1: 30 % is written 0.3)"),
        ("target_issue_rate", "02_enrollment", 30, "a share between 0 and 1"),  # 30 meant as per cent
        ("n_boot", "06_impact", -5, "between 10 and 100000; got -5"),
        ("n_boot", "06_impact", 200.5, "whole number"),
        ("n_boot", "06_impact", True, "whole number"),  # YAML yes/true is not a count
        ("target_member_check", "04_average_check", -100.0, "at least 0; got -100"),
        ("target_nps", "05_satisfaction", 130, "between -100 and 100 NPS points"),
        ("survey_horizon_days", "05_satisfaction", -3, "at least 0 days"),
        ("return_horizon_days", "03_activity", -1, "at least 0 days"),
        ("launch_date", "06_impact", "01.03.2025", "YYYY-MM-DD"),
        ("cohort_by", "03_activity", "week", "one of first_purchase, card_issue"),
        ("tier_thresholds", "04_average_check", [5000, 1500], "increasing"),
        ("margin_range", "07_roi_clv", [0.35, 0.25], "low <= high"),
        ("activation_horizons", "02_enrollment", [30, "90"], "item 2 must be a whole number"),
        ("generate", "00_case_and_data", "yes", "true or false"),
        ("margin", "07_roi_clv", float("nan"), "finite"),
    ],
)
def test_a_value_breaking_its_rule_is_named(name, notebook, value, message):
    assert message in lookup(name, notebook).problem(value)


@pytest.mark.parametrize(
    ("name", "notebook", "value"),
    [
        ("target_issue_rate", "02_enrollment", 0.3),
        ("target_issue_rate", "02_enrollment", 1),  # a whole number is a number
        ("return_horizon_days", "03_activity", 0),  # 0: the default horizon clipped to the window
        ("tier_thresholds", "04_average_check", []),  # empty: from the card discounts
        ("target_roi_pct", "07_roi_clv", -20.0),  # a loss can be the target
        ("tier_thresholds", "01_metrics_map", []),  # empty: from the card discounts
        ("launch_date", "06_impact", ""),
        ("launch_date", "06_impact", "2025-03-01"),
    ],
)
def test_a_valid_value_passes(name, notebook, value):
    assert lookup(name, notebook).problem(value) is None


def test_check_params_names_parameter_notebook_and_where_it_was_set():
    with pytest.raises(ParameterError) as e:
        check_params({"target_issue_rate": "30%"}, {"06_impact": {"n_boot": -5}}, SUITE)
    text = str(e.value)
    assert "2 parameter problems; no notebook was run" in text
    assert "target_issue_rate (notebooks 01_metrics_map, 02_enrollment), set in the params file:" in text
    assert "n_boot (notebook 06_impact), set in the params file under notebooks: 06_impact:" in text


def test_data_dir_cannot_come_from_a_params_file():
    with pytest.raises(ParameterError, match="data_dir, set in the params file under notebooks: 00_case_and_data"):
        check_params({}, {"00_case_and_data": {"data_dir": "/etc"}}, SUITE)


def test_bad_params_stop_the_report_before_any_notebook_runs(tmp_path):
    """Defect 8: ``"30%"`` or ``n_boot: -5`` failed inside a notebook with no parameter named."""
    nbs = write_notebooks(tmp_path / "nbs")  # 01_kpis declares ``target: float``: not in the schema
    p = tmp_path / "p.yaml"
    p.write_text('target: "30%"\nnotebooks:\n  01_kpis:\n    data_dir: /etc\n')
    data = write_tiny_data(tmp_path / "d")
    out = tmp_path / "o"
    argv = ["report", "--data", str(data), "--out", str(out), "--notebooks", str(nbs), "--params", str(p)]
    code, _, err = run_cli([*argv, "--quiet"])
    assert code == 2
    assert "parameter target (notebook 01_kpis), set in the params file: must be a number" in err and "'30%'" in err
    assert "data_dir" in err and "--data" in err
    assert not out.exists()


def test_study_checks_its_params_file_too(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("notebooks:\n  06_impact:\n    n_boot: -5\n")
    code, _, err = run_cli(["study", str(write_tiny_data(tmp_path / "d")), "--params", str(p)])
    assert code == 2 and "parameter n_boot (notebook 06_impact)" in err


def test_every_generator_scenario_is_a_choice_of_the_activity_notebook():
    """03 can generate each realistic export in memory: its scenario takes every name the generator knows."""
    for name in ("members_only", "walk_ins", "messy_till", "bgnbd_check"):
        check_params({}, {"03_activity": {"scenario": name}}, SUITE)
    with pytest.raises(ParameterError, match="scenario"):
        check_params({}, {"03_activity": {"scenario": "sergey_brunch"}}, SUITE)
