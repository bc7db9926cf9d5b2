"""One schema of the stage notebooks' parameters: type, range, unit and meaning of each.

``loyalty report --params FILE.yaml`` checks every value against :data:`PARAMETERS` before any
notebook runs (:func:`check_params`); a value of the wrong type, outside its range or in the
wrong unit (``"30%"`` for a share, ``n_boot: -5``, a negative target) stops the run with a
message naming the parameter, the notebooks it goes to, the rule and the value given.

A name means one thing in every notebook that declares it (the study's parameters, such as
``return_horizon_days`` or ``tier_thresholds``, set the same study everywhere); where two
meanings would share a name, it has one entry per meaning, each listing its notebooks.
``tests/test_params.py`` checks that every parameter a suite notebook declares has exactly one
entry here, and every entry a parameter in the notebooks it names.

Notebooks outside the suite (``--notebooks``) may declare parameters this schema does not know:
those are checked against the type annotation of their ``parameters`` cell (``x: float = 0.3``).
"""

from __future__ import annotations

import ast
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from loyalty_lib.synth.scenario import SCENARIOS

#: The value types a parameter can have (``date`` is a ``YYYY-MM-DD`` string, empty allowed).
KINDS = ("int", "float", "bool", "str", "date", "list")

_SHARE_HINT = "a share between 0 and 1: 30 % is written 0.3"
_UNIT_TEXT = {"RUB": "RUB", "days": "days", "months": "months", "points": "NPS points", "%": "%", "count": ""}


class ParameterError(ValueError):
    """A notebook parameter has the wrong type, range or unit."""


@dataclass(frozen=True)
class Param:
    """One notebook parameter: its type, range and unit, and the notebooks that declare it.

    Attributes
    ----------
    name : str
        The variable of the ``parameters`` cell.
    kind : {"int", "float", "bool", "str", "date", "list"}
        Value type (``float`` also takes whole numbers; ``int`` only whole numbers).
    notebooks : tuple of str
        The stage notebooks (``NN_stage``) that declare it with this meaning.
    help : str
        Meaning in plain words.
    unit : str
        ``"share"`` (0 to 1), ``"RUB"``, ``"days"``, ``"months"``, ``"points"``, ``"%"``
        (0 to 100 style numbers), ``"count"`` or ``""``.
    low, high : float, optional
        Inclusive bounds of a number, or of each item of a list.
    choices : tuple of str
        Allowed values of a ``str`` parameter.
    item : {"int", "float", "str", "dict"}
        Type of a list's items (``dict``: a mapping, such as a program variant).
    min_len, max_len : int, optional
        Bounds of a list's length.
    order : {"", "increasing", "low-high"}
        A list's items strictly increasing, or a ``[low, high]`` pair with low <= high.
    """

    name: str
    kind: str
    notebooks: tuple[str, ...]
    help: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    item: str = "float"
    min_len: int | None = None
    max_len: int | None = None
    order: str = ""

    def _range_text(self) -> str:
        if self.unit == "share" and (self.low, self.high) == (0, 1):
            return _SHARE_HINT
        unit = _UNIT_TEXT.get(self.unit, self.unit)
        unit = f" {unit}" if unit else ""
        if self.low is not None and self.high is not None:
            return f"between {self.low:g} and {self.high:g}{unit}"
        if self.low is not None:
            return f"at least {self.low:g}{unit}"
        if self.high is not None:
            return f"at most {self.high:g}{unit}"
        return f"a number{unit}"

    def _number(self, value, kind: str) -> str | None:
        """The rule a single number breaks, or ``None``."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            shown = f"{value!r} ({type(value).__name__})"
            want = "a whole number" if kind == "int" else "a number"
            if isinstance(value, str) and value.strip().endswith("%"):
                return f"must be {want}, not a percentage text ({self._range_text()}); got {shown}"
            return f"must be {want} ({self._range_text()}); got {shown}"
        if kind == "int" and not isinstance(value, int):
            return f"must be a whole number ({self._range_text()}); got {value!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number; got {value!r}"
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            return f"must be {self._range_text()}; got {value!r}"
        return None

    def problem(self, value) -> str | None:
        """Return the rule ``value`` breaks (a sentence), or ``None`` when it is valid."""
        kind = self.kind
        if kind in ("int", "float"):
            return self._number(value, kind)
        if kind == "bool":
            return None if isinstance(value, bool) else f"must be true or false; got {value!r}"
        if kind in ("str", "date"):
            if not isinstance(value, str):
                return f"must be text; got {value!r} ({type(value).__name__})"
            if self.choices and value not in self.choices:
                return f"must be one of {', '.join(self.choices)}; got {value!r}"
            if kind == "date" and value:
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    return f"must be a date written YYYY-MM-DD (or empty); got {value!r}"
            return None
        if kind == "list":
            if not isinstance(value, list):
                return f"must be a list such as [1, 2]; got {value!r} ({type(value).__name__})"
            if self.min_len is not None and len(value) < self.min_len:
                return f"must have at least {self.min_len} item(s); got {value!r}"
            if self.max_len is not None and len(value) > self.max_len:
                return f"must have at most {self.max_len} item(s); got {value!r}"
            for i, v in enumerate(value):
                if self.item == "dict":
                    bad = None if isinstance(v, dict) else f"must be a mapping such as {{kind: stamps}}; got {v!r}"
                elif self.item == "str":
                    bad = None if isinstance(v, str) else f"must be text; got {v!r}"
                else:
                    bad = self._number(v, self.item)
                if bad:
                    return f"item {i + 1} {bad}"
            if self.order == "increasing" and any(b <= a for a, b in zip(value, value[1:], strict=False)):
                return f"must be increasing; got {value!r}"
            if self.order == "low-high" and len(value) == 2 and value[0] > value[1]:
                return f"must be [low, high] with low <= high; got {value!r}"
            return None
        raise ValueError(f"unknown parameter kind {kind!r}")  # pragma: no cover - schema error


_ALL = ("00_case_and_data", "01_metrics_map", "02_enrollment", "03_activity", "04_average_check")
_ALL += ("05_satisfaction", "06_impact", "07_roi_clv")
#: Stage notebooks that build their study from these parameters.
_STUDY = ("00_case_and_data", "01_metrics_map", "02_enrollment", "03_activity", "04_average_check", "05_satisfaction")
_ALL += ("08_audience", "09_offers", "10_campaigns")
_ALL += ("11_program_design",)
#: The program-design notebook (loyalty_lib.simulate).
_DESIGN = ("11_program_design",)
#: The audience, offers and campaigns notebooks, which take the study's window and currency.
_AUDIENCE = ("08_audience", "09_offers", "10_campaigns")


def _p(name, kind, notebooks, help, **kw) -> Param:
    return Param(name, kind, tuple(notebooks), help, **kw)


def _share(name, notebooks, help) -> Param:
    return _p(name, "float", notebooks, help, unit="share", low=0, high=1)


def _n_boot(notebooks) -> Param:
    return _p("n_boot", "int", notebooks, "bootstrap resamples for the intervals", unit="count", low=10, high=100_000)


_THRESHOLDS = dict(item="float", low=0.01, order="increasing")
_PAIR = dict(low=0, min_len=2, max_len=2, order="low-high")

#: Every parameter of the suite's stage notebooks.
PARAMETERS: tuple[Param, ...] = (
    # every notebook
    _p("data_dir", "str", _ALL, "folder of contract tables; set by --data, never by --params"),
    _p("generate", "bool", _ALL, "generate synthetic data in memory instead of reading a folder"),
    _p("seed", "int", _ALL, "generator seed (and bootstrap seed)", low=0),
    _p("n_customers", "int", _ALL, "generator size", unit="count", low=1, high=5_000_000),
    # the study (loyalty_lib.study, docs/study.md): the same set-up in every stage notebook that declares it
    _p("currency", "str", _STUDY, "currency code of every amount (USD, EUR ...); empty: from the data"),
    _p("start", "date", _STUDY, "first day of the observation window; empty: the first receipt"),
    _p("end", "date", _STUDY, "first day after the observation window; empty: the day after the last receipt"),
    _p("launch_date", "date", _STUDY, "program launch; empty: from the data"),
    _p("program_older_than_data", "bool", _STUDY, "the program ran before the data start; false: from the data"),
    _p(
        "printed_cards",
        "int",
        ["00_case_and_data", "01_metrics_map", "02_enrollment", "07_roi_clv"],
        "cards printed; 0: known only from the cards in stock in the cards table",
        unit="count",
        low=0,
    ),
    # 01
    _p(
        "tier_thresholds",
        "list",
        ["01_metrics_map", "04_average_check", "05_satisfaction"],
        "check-size tiers; empty: from the card discounts",
        **_THRESHOLDS,
    ),
    _p(
        "tier_rates",
        "list",
        ["01_metrics_map", "04_average_check"],
        "discount of each tier; empty: from the data",
        unit="share",
        low=0,
        high=1,
    ),
    _p(
        "return_horizon_days",
        "int",
        ["01_metrics_map", "03_activity"],
        "return-curve horizon; 0: 180 days or half the window",
        unit="days",
        low=0,
    ),
    _p(
        "survey_horizon_days",
        "int",
        ["01_metrics_map", "05_satisfaction"],
        "return window after a survey; 0: 90 days or half the window",
        unit="days",
        low=0,
    ),
    _n_boot(["01_metrics_map", "04_average_check", "05_satisfaction", "06_impact", "07_roi_clv"]),
    _share("target_issue_rate", ["01_metrics_map", "02_enrollment"], "target share of buyers who got a card"),
    _share("target_activation_rate", ["01_metrics_map", "02_enrollment"], "target share of cards used at least once"),
    _share("target_return_after_first", ["01_metrics_map", "03_activity"], "target return after a first visit"),
    # 02
    _share("issuance_target", ["02_enrollment"], "target share of purchases at which a seller hands out a card"),
    _p("pace_window_days", "int", ["02_enrollment"], "days that set the stock-out pace", unit="days", low=1),
    _p("projection_as_of", "date", ["02_enrollment"], "date of the stock projection; empty means the data end"),
    _p(
        "activation_horizons",
        "list",
        ["02_enrollment"],
        "days after issue at which activation is read; empty: 30, 90, 180 within the data",
        unit="days",
        item="int",
        low=1,
        order="increasing",
    ),
    _p("cost_categories", "list", ["02_enrollment"], "cost categories counted as acquisition cost", item="str"),
    _share("target_repeat_rate", ["02_enrollment"], "target share of activated cards used twice"),
    _p("reprint_lead_days", "int", ["02_enrollment"], "days a reprint takes", unit="days", low=0),
    _p("target_cost_per_active", "float", ["02_enrollment"], "target cost per active member (data currency)", low=0),
    # 03
    _p(
        "scenario",
        "str",
        ["03_activity"],
        "generator scenario",
        choices=tuple(SCENARIOS),
    ),
    _p(
        "active_windows",
        "list",
        ["03_activity"],
        "windows for the active shares; empty: 30 and 90 within the window",
        unit="days",
        item="int",
        low=1,
        order="increasing",
    ),
    _p("k_max", "int", ["03_activity"], "longest visit number on the return curve", unit="count", low=2, high=50),
    _p(
        "churn_days",
        "int",
        ["03_activity"],
        "days without a purchase: churned; 0: 90 or half the window",
        unit="days",
        low=0,
    ),
    _p("inactive_days", "int", ["03_activity"], "inactivity after which stamps are lost", unit="days", low=1),
    _p("cohort_by", "str", ["03_activity"], "cohort of the heatmap", choices=("first_purchase", "card_issue")),
    _p("max_cohort_months", "int", ["03_activity"], "months shown in the heatmap", unit="months", low=1, high=120),
    _share("target_active_share", ["03_activity"], "target share of members active in the last 90 days"),
    _share("target_return_after_second", ["03_activity"], "target return after a second visit"),
    _share("target_churn_rate", ["03_activity"], "target upper limit of the churn rate"),
    # 04
    _p("plant_at_thresholds", "bool", ["04_average_check"], "generator plants its tiers at tier_thresholds"),
    _share("gross_margin", ["04_average_check"], "share of gross revenue kept as margin"),
    _p(
        "window_days",
        "int",
        ["04_average_check"],
        "window around each card issue; 0: 365 or the window",
        unit="days",
        low=0,
    ),
    _p("bunching_span_pct", "float", ["04_average_check"], "range around a threshold", unit="%", low=1, high=100),
    _p("bunching_bin_pct", "float", ["04_average_check"], "histogram bin width", unit="%", low=0.01, high=50),
    _p("bunching_below_pct", "float", ["04_average_check"], "window below left out", unit="%", low=0, high=100),
    _p("bunching_above_pct", "float", ["04_average_check"], "window above left out", unit="%", low=0, high=100),
    _p("bunching_degree", "int", ["04_average_check"], "polynomial degree of the fit", low=0, high=9),
    _p("target_member_check", "float", ["04_average_check"], "target members' average check; 0: no target", low=0),
    _share("target_discount_share", ["04_average_check"], "target ceiling of discounts over gross revenue"),
    # 05
    _p("min_answers", "int", ["05_satisfaction"], "hide segments with fewer answers", unit="count", low=1),
    _p("target_nps", "float", ["05_satisfaction"], "target NPS", unit="points", low=-100, high=100),
    _share("target_csat_share", ["05_satisfaction"], "target share of CSAT answers 4-5"),
    # 06
    _p("launch_date", "date", ["06_impact", "07_roi_clv"], "program launch; empty means from the data"),
    _p("currency", "str", ["06_impact", "07_roi_clv"], "currency code of the amounts; empty means from the data"),
    _p("propensity_clip", "float", ["06_impact"], "propensity scores clipped to [1 - clip, clip]", low=0.5, high=1),
    _p(
        "max_model_customers",
        "int",
        ["06_impact", "07_roi_clv"],
        "customers the customer-level models are fitted on (a random sample above it); 0 means all",
        unit="count",
        low=0,
    ),
    _p(
        "engine_backend",
        "str",
        ["03_activity", "06_impact", "08_audience"],
        "where the receipts are summed: auto (pandas below 1M receipts, DuckDB above), pandas, duckdb "
        "or an Ibis connection string",
    ),
    _p(
        "backend",
        "str",
        ["07_roi_clv"],
        "where receipts are summarised: pandas, duckdb or an Ibis connection string; empty: by size",
    ),
    _p("target_effect_revenue", "float", ["06_impact"], "target revenue caused per member-month; 0 none", low=0),
    _p("target_effect_visits", "float", ["06_impact"], "target extra visits per member-month; 0 none", low=0),
    # 07
    _share("margin", ["07_roi_clv"], "gross-margin share of a sale"),
    _p("cost_scale", "float", ["07_roi_clv"], "multiplier of every ledger entry", low=0, high=100),
    _p("extra_cost", "float", ["07_roi_clv"], "cost not in the ledger (a cost parameter)", low=0),
    _p("card_print_cost", "float", ["07_roi_clv"], "cost of a printed card; 0 means none", low=0),
    _p("fixed_cost_no_ledger", "float", ["07_roi_clv"], "set-up cost without a ledger; 0 means none", low=0),
    _p("fixed_categories", "list", ["07_roi_clv"], "ledger categories that do not grow with members", item="str"),
    _p(
        "margin_range",
        "list",
        ["07_roi_clv"],
        "margin low/high",
        unit="share",
        low=0,
        high=1,
        min_len=2,
        max_len=2,
        order="low-high",
    ),
    _p("cost_range", "list", ["07_roi_clv"], "cost multiplier low/high", **_PAIR),
    _p("uplift_range", "list", ["07_roi_clv"], "uplift multiplier low/high", **_PAIR),
    _p("clv_horizon_months", "int", ["07_roi_clv"], "CLV horizon", unit="months", low=1, high=120),
    _p("discount_rate_annual", "float", ["07_roi_clv"], "CLV discount rate per year", unit="share", low=0, high=1),
    _p("holdout_months", "int", ["07_roi_clv"], "months held out to check the CLV model; 0 from the data", low=0),
    _p("clv_freq", "str", ["07_roi_clv"], "CLV time unit; empty means weeks", choices=("", "D", "W", "M")),
    _p("clv_amount", "str", ["07_roi_clv"], "receipt column the CLV spends; empty means gross_amount"),
    _p("clv_calibration_end", "date", ["07_roi_clv"], "first day of the CLV holdout; empty from the data"),
    _p("target_roi_pct", "float", ["07_roi_clv"], "target ROI; 0 means break even", unit="%", low=-100),
    _p("target_incremental_revenue", "float", ["07_roi_clv"], "target incremental gross revenue; 0 none", low=0),
    # 08, 09, 10: the study's window and currency
    _p("currency", "str", _AUDIENCE, "currency code of every amount (USD, EUR ...); empty: from the data"),
    _p("start", "date", _AUDIENCE, "first day of the observation window; empty: the first receipt"),
    _p("end", "date", _AUDIENCE, "first day after the observation window; empty: the day after the last receipt"),
    # 08
    _share("margin", ["08_audience"], "gross-margin share of a sale (a receipt's margin: margin x gross - discount)"),
    _n_boot(["08_audience"]),
    _p(
        "age_edges",
        "list",
        ["08_audience"],
        "lower edges of the age bands",
        item="int",
        low=1,
        high=120,
        min_len=1,
        order="increasing",
    ),
    _p("rfm_window_days", "int", ["08_audience"], "days of receipts counted for RFM", unit="days", low=1),
    _p("rfm_bins", "int", ["08_audience"], "RFM scores run from 1 to this", low=2, high=10),
    _p(
        "recency_cuts",
        "list",
        ["08_audience"],
        "recency cut points; empty: from the data",
        unit="days",
        low=0,
        order="increasing",
    ),
    _p(
        "frequency_cuts",
        "list",
        ["08_audience"],
        "frequency cut points; empty: from the data",
        low=0,
        order="increasing",
    ),
    _p("monetary_cuts", "list", ["08_audience"], "money cut points; empty: from the data", low=0, order="increasing"),
    _p("migration_months", "int", ["08_audience"], "months followed between segments", unit="months", low=1, high=120),
    _share("target_champion_share", ["08_audience"], "target share of active customers who are champions or loyal"),
    # 09
    _p("k", "int", ["09_offers"], "length of each recommended list judged", unit="count", low=1, high=100),
    _p("test_days", "int", ["09_offers"], "last days kept out to judge the recommender", unit="days", low=7),
    _p("n_offers", "int", ["09_offers"], "offers per client in the CRM file", unit="count", low=1, high=20),
    _p("valid_days", "int", ["09_offers"], "days an offer stays valid", unit="days", low=1),
    _p("birthday_days", "int", ["09_offers"], "birthday offers for birthdays within", unit="days", low=1, high=366),
    _p("win_back_factor", "float", ["09_offers"], "win-back after this many usual gaps", low=1),
    _p("win_back_min_days", "int", ["09_offers"], "and at least this many days", unit="days", low=1),
    _p("min_lift", "float", ["09_offers"], "lowest lift of a cross-sell rule", low=0),
    _p("export_dir", "str", ["09_offers"], "folder for the CRM file; empty: outputs/offers"),
    _p("target_ndcg_gain", "float", ["09_offers"], "target NDCG gain over the better baseline", low=-1, high=1),
    # 10
    _p(
        "response_window_days",
        "int",
        ["10_campaigns"],
        "days after a contact that count; 0: the table's",
        unit="days",
        low=0,
        high=365,
    ),
    _p(
        "history_days",
        "int",
        ["10_campaigns"],
        "days before a contact that describe the addressee",
        unit="days",
        low=1,
        high=730,
    ),
    _share("margin", ["10_campaigns"], "gross-margin share of a sale"),
    _p("cost_per_contact", "float", ["10_campaigns"], "cost of one contact; 0: the cost ledger", low=0),
    _share("test_share", ["10_campaigns"], "share of customers kept out of the targeting model to test it"),
    _share("target_top_share", ["10_campaigns"], "share of addressees the targeting rules are compared at"),
    _share("uplift_to_detect", ["10_campaigns"], "uplift in response rate the next campaign must detect"),
    _share("power", ["10_campaigns"], "chance the next campaign detects that uplift"),
    _share("alpha", ["10_campaigns"], "significance level of the next campaign's test"),
    _share("next_holdout_share", ["10_campaigns"], "share of the next campaign's addressees held out"),
    _share("target_response_uplift", ["10_campaigns"], "target uplift in the response rate"),
    _p("target_campaign_roi_pct", "float", ["10_campaigns"], "target ROI of the campaigns", unit="%", low=-100),
    # 11
    _p("currency", "str", _DESIGN, "currency code of the amounts; empty means from the data"),
    _share("margin", _DESIGN, "gross-margin share of a sale"),
    _p("horizon_days", "int", _DESIGN, "days simulated from the launch", unit="days", low=30, high=1830),
    _p("population", "int", _DESIGN, "customers simulated at most", unit="count", low=100, high=1_000_000),
    _p("n_worlds", "int", _DESIGN, "simulated worlds (seeds)", unit="count", low=2, high=1000),
    _p("variants", "list", _DESIGN, "programs to compare, one mapping each; empty: the standard set", item="dict"),
    _n_boot(_DESIGN),
    _p("target_roi_pct", "float", _DESIGN, "target ROI of the recommended program", unit="%", low=-100),
)

#: Parameters the report sets itself: a params file may not set them.
SET_BY_REPORT = {"data_dir": "--data"}


def lookup(name: str, notebook: str) -> Param | None:
    """Return the schema entry of parameter ``name`` in notebook ``notebook`` (``NN_stage``)."""
    for p in PARAMETERS:
        if p.name == name and notebook in p.notebooks:
            return p
    return None


def parameters_cell(path: str | Path) -> dict[str, str | None]:
    """Return the names a notebook's ``parameters`` cell assigns, with their type annotations.

    Read with :mod:`ast`, so a help comment that itself contains ``=`` (which
    :func:`papermill.inspect_notebook` cannot parse) does not hide a parameter.

    Returns
    -------
    dict of str to str or None
        Name to annotation (``"float"``, ``"list"`` ...; ``None`` when not annotated).
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    out: dict[str, str | None] = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            import papermill

            return {k: None for k in papermill.inspect_notebook(str(path))}
        for node in tree.body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                out[node.target.id] = ast.unparse(node.annotation)
            elif isinstance(node, ast.Assign):
                out.update({t.id: None for t in node.targets if isinstance(t, ast.Name)})
    return out


def _from_annotation(name: str, annotation: str | None) -> Param | None:
    base = (annotation or "").split("[")[0].strip()
    kind = {"int": "int", "float": "float", "bool": "bool", "str": "str", "list": "list"}.get(base)
    return Param(name, kind, (), "declared by the notebook") if kind else None


def check_params(common: dict, per_notebook: dict, notebooks) -> None:
    """Check every parameter a params file passes to the notebooks, before any of them runs.

    Parameters
    ----------
    common : dict
        Parameters for every notebook that declares them.
    per_notebook : dict of str to dict
        Overrides per notebook (``NN_stage`` to parameters).
    notebooks : list of Path
        The notebooks of the run.

    Raises
    ------
    ParameterError
        Listing, one per line, each parameter that breaks a rule: its name, the notebooks it
        goes to, where it was set, the rule and the value.
    """
    problems: dict[tuple[str, str, str], list[str]] = {}
    for key, source in [(k, "params file") for k in common] + [
        (k, f"params file under notebooks: {nb}") for nb, kv in per_notebook.items() for k in kv
    ]:
        if key in SET_BY_REPORT:
            problems.setdefault((key, source, f"is set by {SET_BY_REPORT[key]}, not by a params file"), [])
    for nb in notebooks:
        declared = parameters_cell(nb)
        values = {k: (v, "params file") for k, v in common.items()}
        values |= {k: (v, f"params file under notebooks: {nb.stem}") for k, v in per_notebook.get(nb.stem, {}).items()}
        for name, (value, source) in values.items():
            if name not in declared or name in SET_BY_REPORT:
                continue
            spec = lookup(name, nb.stem) or _from_annotation(name, declared[name])
            rule = spec.problem(value) if spec else None
            if rule:
                problems.setdefault((name, source, rule), []).append(nb.stem)
    if problems:
        lines = [
            f"- parameter {name}"
            + (f" (notebook{'s' if len(nbs) > 1 else ''} {', '.join(nbs)})" if nbs else "")
            + f", set in the {source}: {rule}"
            for (name, source, rule), nbs in problems.items()
        ]
        n = len(lines)
        raise ParameterError(f"{n} parameter problem{'s' if n > 1 else ''}; no notebook was run:\n" + "\n".join(lines))
