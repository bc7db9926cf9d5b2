"""The study: every set-up choice of an analysis, derived from the data and the parameters.

A :class:`Study` is built once per run with :meth:`Study.from_data` and answers the questions
every stage used to answer on its own: where the observation window starts and ends, when the
program was launched (or that it is older than the data), which currency the money is in,
which check-size tiers the discount follows, who is observed from when, how the lifetime-value
model is split into calibration and holdout, which N-day horizons fit the window, and which
analyses the data support at all (:meth:`Study.can`, :meth:`Study.why`).

The Study reads the contract tables and the parameters only. It never reads the generator's
planted truth (``Dataset.truth``, ``Dataset.truth_tables``): on synthetic data it is derived
exactly as on a shop's own export, and :mod:`loyalty_lib.truth` puts the planted values beside
the estimates afterwards. Every rule is written down in ``docs/study.md``.

Dates follow one convention across the library: ``start`` is the first day of the window and
``end`` the first day *after* it (the window is ``[start, end)``); :attr:`Study.last_day` is
``end`` minus one day, for functions that take an inclusive last day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import NamedTuple

import numpy as np
import pandas as pd

from loyalty_lib.dataset import Dataset

#: Study parameters: name -> (default, meaning). Empty values (``""``, ``0``, ``[]``, ``None``)
#: mean "derive it from the data" or "use the default clipped to the window".
PARAMETERS: dict[str, tuple[object, str]] = {
    "start": ("", "first day of the observation window; empty: the day of the first receipt"),
    "end": ("", "first day after the observation window; empty: the day after the last receipt"),
    "launch_date": ("", "program launch, YYYY-MM-DD; empty: from the data (first card issue or first card receipt)"),
    "program_older_than_data": (None, "true: the program ran before the data start (no launch inside the window)"),
    "left_censored": (None, "true/false: customers' histories began before the data; empty: from the data"),
    "currency": ("", "currency code of every amount (USD, EUR, RUB ...); empty: a currency column, else unknown"),
    "tier_thresholds": ([], "check-size tiers (gross amount at which each discount rate starts); empty: from the data"),
    "tier_rates": ([], "discount rate of each tier, one per threshold"),
    "printed_cards": (0, "cards printed; 0: the rows of the cards table"),
    "return_horizon_days": (180, "horizon H of the return curve, days"),
    "activation_horizons": ([30, 90, 180], "days after issue at which activation is read"),
    "survey_horizon_days": (90, "a respondent returned if they bought again within this many days"),
    "churn_days": (90, "a customer has churned after this many days without a purchase"),
    "active_windows": ([30, 90], "windows in days for the active-customer shares"),
    "window_days": (365, "before/after window around each member's join date, days"),
    "clv_freq": ("W", "time unit of the lifetime-value model: D, W or M"),
    "holdout_months": (0, "months held out to check the lifetime-value model; 0: a third of the window, 1 to 6"),
    "clv_calibration_end": ("", "first day of the lifetime-value holdout, YYYY-MM-DD; empty: end minus holdout_months"),
    "card_print_cost": (None, "cost of one printed card (a cost parameter: enables ROI without a cost ledger)"),
    "fixed_cost_no_ledger": (None, "set-up cost of the program (a cost parameter)"),
    "extra_cost": (None, "cost not in the ledger, e.g. staff time (a cost parameter)"),
}

#: Columns of the receipts the study reads (those present): a prepared snapshot reads only these.
RECEIPT_COLUMNS = (
    "transaction_id",
    "customer_id",
    "date",
    "card_id",
    "store_id",
    "gross_amount",
    "discount_rate",
    "discount_amount",
)

#: Parameters that count as program costs when there is no ``program_costs`` table.
COST_PARAMETERS = ("card_print_cost", "fixed_cost_no_ledger", "extra_cost")

#: Smallest group an analysis compares (identified non-members, repeat buyers, answers ...).
MIN_GROUP = 20
#: A program whose first card (issue or use) falls this close to the data start is older than the data.
OLDER_TOLERANCE_DAYS = 7
#: The shortest pre-period before the launch that a difference-in-differences can use.
MIN_PRE_DAYS = 56
#: A card-discount rate seen on fewer card receipts than this share is not a tier (coupons, manual edits).
MIN_RATE_SHARE = 0.005
#: Share of card receipts whose rate the inferred tier rule must reproduce.
MIN_TIER_AGREEMENT = 0.95
#: Days at the data start inside which a left-censored customer's first receipt is expected.
CENSOR_DAYS = 28
#: The first week holds this many times an average week's share of first receipts -> left-censored.
PILE_UP_RATIO = 3.0

#: Analyses the Study knows, with a plain label, in the order of the journey.
ANALYSES: dict[str, str] = {
    "enrollment_funnel": "enrollment funnel (buyers since launch -> card -> first use -> repeat)",
    "activation": "activation: time from card issue to first use",
    "card_stock": "card stock: printed cards left and the projected stock-out",
    "return_curve": "return curve (another visit after visit k)",
    "goal_gradient": "goal gradient (members come sooner as a reward nears)",
    "bunching": "bunching of checks just above the discount tiers",
    "nps": "NPS and satisfaction",
    "did": "difference-in-differences against identified non-members",
    "imputation_did": "difference-in-differences by imputation (staggered joins)",
    "branch_did": "difference-in-differences of store-month figures against branches without the program",
    "propensity": "propensity weighting of members against non-members",
    "roi": "return on investment of the program",
    "clv": "customer lifetime value (BG/NBD and Gamma-Gamma) with a holdout check",
    "campaigns": "campaign results (offers, channels)",
    "campaign_uplift": "campaign uplift against a randomised holdout group",
    "recommendations": "personalised offers from the products each client bought",
}
_ALIASES = {
    "funnel": "enrollment_funnel",
    "enrollment": "enrollment_funnel",
    "satisfaction": "nps",
    "psw": "propensity",
    "lifetime_value": "clv",
    "offers": "campaigns",
}


class Capability(NamedTuple):
    """Whether one analysis is possible on the data, and why (not)."""

    available: bool
    reason: str


def _empty(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, (list, tuple)):
        return len(value) == 0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    return False


def _day(value) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


def _fmt_day(t) -> str:
    return "" if t is None or pd.isna(t) else f"{pd.Timestamp(t):%Y-%m-%d}"


def _nice_threshold(low: float, high: float) -> float:
    """Return the roundest number in ``(low, high]`` (steps 5, 2, 1 x 10^k, coarsest first)."""
    for e in range(9, -3, -1):
        for m in (5, 2, 1):
            step = m * 10.0**e
            t = (math.floor(low / step) + 1) * step
            if t <= high + 1e-9:
                return round(t, 2)
    return round(high, 2)


def infer_tiers(
    transactions: pd.DataFrame,
    *,
    card_col: str = "card_id",
    gross_col: str = "gross_amount",
    rate_col: str = "discount_rate",
    discount_col: str = "discount_amount",
) -> tuple[tuple[float, ...], tuple[float, ...], str]:
    """Infer check-size discount tiers from card receipts.

    Rule: among receipts with a card, each distinct positive discount rate (rounded to 0.1
    percentage point) seen on at least :data:`MIN_RATE_SHARE` of them starts at the smallest
    gross amount where it occurs. Ordered by rate, these starts must increase, the card receipts
    below the first start must carry no discount, and the schedule must reproduce the rate of at
    least :data:`MIN_TIER_AGREEMENT` of the card receipts; otherwise no tiers are visible. Each
    threshold is then rounded to the roundest number between the largest lower-rate check below
    it and its smallest check (1,500 rather than 1,500.27).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts with ``card_col``, ``gross_col`` and ``rate_col`` (or ``discount_col``, from
        which the rate is computed).
    card_col, gross_col, rate_col, discount_col : str
        Column names.

    Returns
    -------
    thresholds : tuple of float
        Gross amount at which each tier starts, increasing (empty when no tiers are visible).
    rates : tuple of float
        Discount rate of each tier.
    note : str
        One sentence saying what was found.

    Examples
    --------
    Five card receipts without discount, five at 5 % from 1,500.40 and five at 7 % from 5,100
    (a rate counts once it is seen on at least five receipts):

    >>> gross = [900, 1000, 1200, 1400, 1450, 1500.4, 1800, 2000, 3000, 4000, 5100, 6000, 7000, 8000, 9000]
    >>> rate = [0.0] * 5 + [0.05] * 5 + [0.07] * 5
    >>> tx = pd.DataFrame({"card_id": 1, "gross_amount": gross, "discount_rate": rate})
    >>> infer_tiers(tx)[:2]
    ((1500.0, 5000.0), (0.05, 0.07))
    """
    if card_col not in transactions or gross_col not in transactions:
        return (), (), "no card or gross amount column: tiers cannot be seen"
    card = transactions[transactions[card_col].notna()]
    gross = pd.to_numeric(card[gross_col], errors="coerce").to_numpy(float)
    if rate_col in card and card[rate_col].notna().any():
        rate = pd.to_numeric(card[rate_col], errors="coerce").to_numpy(float)
    elif discount_col in card:
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = pd.to_numeric(card[discount_col], errors="coerce").to_numpy(float) / gross
    else:
        return (), (), "no discount column: tiers cannot be seen"
    ok = np.isfinite(gross) & np.isfinite(rate) & (gross > 0)
    gross, rate = gross[ok], np.round(rate[ok], 3)
    n = len(gross)
    if n == 0:
        return (), (), "no receipt with a card: tiers cannot be seen"
    values, counts = np.unique(rate[rate > 0], return_counts=True)
    keep = values[counts >= max(5, MIN_RATE_SHARE * n)]
    if len(keep) == 0:
        return (), (), "no discount on card receipts: no tiers"
    starts = np.array([gross[rate == r].min() for r in keep])  # one per distinct rate (a handful)
    if np.any(np.diff(starts) <= 0):
        return (), (), "discount rates do not grow with the check size: no check-size tiers"
    if not np.any(gross < starts[0]):
        first = f"{keep[0]:.1%}"
        if len(keep) == 1:
            return (), (), f"a flat {first} discount on every card receipt: no check-size tiers"
        return (), (), f"a base discount of {first} on every card receipt with steps above it: not a tier schedule"
    predicted = np.concatenate([[0.0], keep])[np.searchsorted(starts, gross, side="right")]
    agreement = float(np.mean(np.isclose(predicted, rate, atol=5e-4)))
    if agreement < MIN_TIER_AGREEMENT:
        return (
            (),
            (),
            (f"the discount rates follow no check-size schedule (a tier rule fits {agreement:.0%} of card receipts)"),
        )
    thresholds, below = [], 0.0
    for s, r in zip(starts, keep, strict=True):
        lower = gross[(gross < s) & (rate < r)]
        low = max(float(lower.max()) if len(lower) else 0.0, below)
        below = _nice_threshold(low, float(s))
        thresholds.append(below)
    return (
        tuple(thresholds),
        tuple(float(r) for r in keep),
        f"card discounts follow check-size tiers on {agreement:.1%} of card receipts",
    )


def _currency(ds: Dataset) -> tuple[str, str]:
    for name in ds.table_names():  # the columns first: a prepared snapshot reads only what is used
        if "currency" in ds.columns_of(name):
            cur = ds.read_columns(name, ["currency"])["currency"]
            found = sorted({str(v).strip().upper() for v in cur.dropna() if str(v).strip()})
            if len(found) == 1:
                return found[0], f"the currency column of {name}"
            if len(found) > 1:
                return "", f"several currencies in {name} ({', '.join(found)}): set the currency parameter"
    return "", "no currency column and no parameter: amounts are shown as money units"


def _customer_frame(ds: Dataset, tx: pd.DataFrame, start, end) -> pd.DataFrame:
    """One row per identified customer: first/last receipt in the window, membership, join date."""
    ident = tx.loc[tx["customer_id"].notna(), [c for c in ("customer_id", "date", "card_id") if c in tx]]
    inside = (ident["date"] >= start) & (ident["date"] < end)
    in_win = ident if inside.all() else ident[inside]
    g = in_win.groupby("customer_id")["date"]
    per = pd.DataFrame({"first_purchase": g.min(), "last_purchase": g.max(), "n_receipts": g.size()})
    ids = pd.Index(ds.customers["customer_id"]).union(per.index)
    out = per.reindex(ids)
    out["n_receipts"] = out["n_receipts"].fillna(0).astype(np.int64)
    fs = ds.customers.set_index("customer_id")["first_seen"] if "first_seen" in ds.customers else None
    out["first_seen"] = pd.to_datetime(fs.reindex(ids)) if fs is not None else pd.NaT
    cards = ds.cards
    held = cards[cards["customer_id"].notna()]
    issued = (
        pd.to_datetime(held["issued_date"]).groupby(held["customer_id"]).min()
        if "issued_date" in held
        else pd.Series(dtype="datetime64[ns]")
    )
    card_tx = ident[ident["card_id"].notna()] if "card_id" in ident else ident.iloc[:0]
    first_use = card_tx.groupby("customer_id")["date"].min()
    from loyalty_lib.validation import _position  # Arrow's hash lookup: pandas' isin on text ids walks them in Python

    member = (_position(ids, held["customer_id"]) >= 0) | (_position(ids, first_use.index) >= 0)
    issue = issued.reindex(ids)
    use = first_use.reindex(ids)
    out["member"] = member
    out["join_date"] = issue.where(issue.notna(), use).to_numpy()
    out["join_source"] = np.select(
        [issue.notna().to_numpy(), use.notna().to_numpy()], ["issue date", "first card use"], default=""
    )
    out.loc[~out["member"], "join_source"] = ""
    out.index.name = "customer_id"
    return out.reset_index()


@dataclass(frozen=True)
class Study:
    """The set-up of one analysis run, derived from the data and the parameters.

    Build it with :meth:`from_data`; see ``docs/study.md`` for every rule.

    Attributes
    ----------
    start, end : pandas.Timestamp
        Observation window ``[start, end)``: first day, and first day after the data.
    launch : pandas.Timestamp or None
        Program launch inside (or, from a parameter, before) the window; ``None`` when the
        program is older than the data and no date was given, or when no program is visible.
    program : str
        ``"launched in the data"``, ``"older than the data"`` or ``"none in the data"``.
    currency : str
        Currency code, ``""`` when unknown (:attr:`currency_label` is then ``"money units"``).
    tier_thresholds, tier_rates : tuple of float
        Check-size tiers of the discount (empty when none).
    printed_cards : int
        Cards printed (parameter) or rows of the cards table.
    issue_dates_known : bool
        Whether card issue dates are in the data (else members join at their first card use).
    left_censored : bool
        Whether customers' histories began before the data start.
    n_customers, n_members, n_non_members : int
        Identified customers, members among them, and identified non-members with a receipt.
    n_receipts, n_anonymous_receipts : int
        Receipts in the window, and those without a customer id.
    pre_period_days : int
        Days from ``start`` to ``launch`` (0 when the program is not launched in the data).
    return_horizon_days, survey_horizon_days, churn_days, window_days : int
        N-day horizons of the stages.
    activation_horizons, active_windows : tuple of int
        Horizons read on the activation curve, and active-share windows.
    clv_freq : str
        Time unit of the lifetime-value model.
    clv_calibration_end : pandas.Timestamp
        First day of the holdout period (the calibration period is ``[start, clv_calibration_end)``).
    holdout_months : int
        Length of the holdout period.
    customers : pandas.DataFrame
        One row per identified customer: ``customer_id, first_purchase, last_purchase,
        n_receipts, first_seen, member, join_date, join_source`` (``"issue date"``, ``"first
        card use"`` or ``""``), ``established`` (history began before ``start``).
    rows : tuple of tuple
        The rows of :meth:`describe` (concept, value, source, note).
    capability : mapping of str to Capability
        What :meth:`can`, :meth:`why` and :meth:`capabilities` report, by analysis.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    launch: pd.Timestamp | None
    program: str
    currency: str
    tier_thresholds: tuple[float, ...]
    tier_rates: tuple[float, ...]
    printed_cards: int
    issue_dates_known: bool
    left_censored: bool
    n_customers: int
    n_members: int
    n_non_members: int
    n_receipts: int
    n_anonymous_receipts: int
    pre_period_days: int
    return_horizon_days: int
    activation_horizons: tuple[int, ...]
    survey_horizon_days: int
    churn_days: int
    active_windows: tuple[int, ...]
    window_days: int
    clv_freq: str
    clv_calibration_end: pd.Timestamp
    holdout_months: int
    customers: pd.DataFrame = field(repr=False, compare=False)
    rows: tuple[tuple[str, str, str, str], ...] = field(repr=False, compare=False, default=())
    capability: Mapping[str, Capability] = field(repr=False, compare=False, default_factory=dict)

    # ------------------------------------------------------------------ derived views
    @property
    def last_day(self) -> pd.Timestamp:
        """Last day of the window (inclusive), for functions that take an inclusive end."""
        return self.end - pd.Timedelta(days=1)

    @property
    def window_length_days(self) -> int:
        """Length of the observation window in days."""
        return int((self.end - self.start).days)

    @property
    def program_older_than_data(self) -> bool:
        """Whether the program ran before the data start."""
        return self.program == "older than the data"

    @property
    def currency_label(self) -> str:
        """The currency for labels: its code, or ``"money units"`` when unknown."""
        return self.currency or "money units"

    @property
    def month_start(self) -> pd.Timestamp:
        """First day of the first complete calendar month of the window (for monthly panels)."""
        m = self.start.to_period("M").to_timestamp()
        return m if m == self.start else (self.start.to_period("M") + 1).to_timestamp()

    @property
    def month_end(self) -> pd.Timestamp:
        """First day after the last complete calendar month of the window."""
        return self.end.to_period("M").to_timestamp()

    @property
    def has_tiers(self) -> bool:
        """Whether check-size tiers are known (from parameters or the data)."""
        return len(self.tier_thresholds) > 0

    @property
    def members(self) -> pd.DataFrame:
        """Members with their join date and where it comes from (rows of :attr:`customers`)."""
        return self.customers[self.customers["member"]].reset_index(drop=True)

    @property
    def established_ids(self) -> pd.Series:
        """Ids of customers whose history began before the data start."""
        c = self.customers
        return c.loc[c["established"], "customer_id"].reset_index(drop=True)

    @property
    def new_ids(self) -> pd.Series:
        """Ids of customers first seen inside the window (their first visit is in the data)."""
        c = self.customers
        return c.loc[~c["established"] & c["first_purchase"].notna(), "customer_id"].reset_index(drop=True)

    @property
    def new_ids_known(self) -> bool:
        """Whether :attr:`new_ids` are known to be new, so that a curve from a first visit means one.

        True when histories did not begin before the data, or when first-seen dates say who was
        buying before it (some fall before ``start``). When histories are left-censored and no
        first-seen date says so, a customer first seen a few weeks into the data may be an
        established one who buys rarely: :attr:`new_ids` is then only a guess (those first seen
        after the first ``CENSOR_DAYS`` days).
        """
        return not self.left_censored or bool((self.customers["first_seen"] < self.start).any())

    @property
    def member_since(self) -> pd.Series:
        """Day from which each member counts as a member, indexed by customer id.

        The join date (card issue, else first card use); when the program is older than the
        data, a member without an issue date already held the card at the data start, so
        counts as a member from ``start``.
        """
        m = self.members
        since = pd.to_datetime(m["join_date"])
        if self.program_older_than_data:
            since = since.where(m["join_source"] == "issue date", self.start)
        return pd.Series(since.to_numpy(), index=pd.Index(m["customer_id"], name="customer_id"), name="member_since")

    def clv_split(self) -> dict:
        """Arguments for :func:`loyalty_lib.clv.calibration_and_holdout` (exclusive ends).

        Returns
        -------
        dict
            ``calibration_end`` (first day of the holdout), ``end`` (first day after the data,
            :attr:`end`) and ``freq``.
        """
        return {"calibration_end": self.clv_calibration_end, "end": self.end, "freq": self.clv_freq}

    # ------------------------------------------------------------------ capabilities
    def _key(self, analysis: str) -> str:
        key = _ALIASES.get(analysis, analysis)
        if key not in ANALYSES:
            raise KeyError(f"unknown analysis {analysis!r}; known: {', '.join(ANALYSES)}")
        return key

    def can(self, analysis: str) -> bool:
        """Return whether the data support ``analysis`` (a key of :data:`ANALYSES`)."""
        return self.capability[self._key(analysis)].available

    def why(self, analysis: str) -> str:
        """Return the plain sentence on ``analysis``: why it cannot run and what would enable it.

        For an available analysis the sentence states the design it uses or its caveat.
        """
        return self.capability[self._key(analysis)].reason

    def capabilities(self) -> pd.DataFrame:
        """List every analysis with whether the data support it and why.

        Returns
        -------
        pandas.DataFrame
            Columns ``analysis`` (key), ``label``, ``available`` (bool), ``reason``.
        """
        return pd.DataFrame(
            [(k, ANALYSES[k], self.capability[k].available, self.capability[k].reason) for k in ANALYSES],
            columns=["analysis", "label", "available", "reason"],
        )

    def describe(self) -> pd.DataFrame:
        """Return the study as a tidy table for display.

        Returns
        -------
        pandas.DataFrame
            Columns ``concept``, ``value`` (text), ``source`` (``"parameter"``, ``"data"`` or
            ``"default"``) and ``note`` (the rule applied, in plain words).
        """
        return pd.DataFrame(list(self.rows), columns=["concept", "value", "source", "note"])

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_data(cls, ds: Dataset, params: Mapping | None = None) -> Study:
        """Derive the study from the contract tables and the parameters.

        Parameters
        ----------
        ds : loyalty_lib.dataset.Dataset
            The data. Only its contract tables are read, never its planted truth.
        params : mapping, optional
            Study parameters (:data:`PARAMETERS`); other keys (notebook targets ...) are
            ignored, and empty values mean "derive from the data".

        Returns
        -------
        Study

        Raises
        ------
        ValueError
            When a parameter is malformed (tier rates without thresholds, an end before the
            start, an unknown CLV time unit) or the window holds no receipt.
        """
        from loyalty_lib.snapshot import stored_study  # a report's snapshot may hold it already

        found = stored_study(ds, params)
        if found is not None:
            return found
        return _build(ds, dict(params or {}))

    def to_record(self) -> dict:
        """Return the study's scalars, rows and capabilities as plain JSON values.

        With :attr:`customers` (a table, stored apart) this is everything :meth:`from_record`
        needs to give back an equal study; a report stores it in its snapshot
        (:func:`loyalty_lib.snapshot.write_snapshot`) so that each stage loads it instead of
        deriving it again.

        Returns
        -------
        dict
        """
        rec = {}
        for f in fields(self):
            if f.name in _TABLE_FIELDS:
                continue
            value = getattr(self, f.name)
            if f.name in _DAY_FIELDS:
                value = None if value is None else pd.Timestamp(value).isoformat()
            elif f.name in _TUPLE_FIELDS:
                value = list(value)
            rec[f.name] = value
        rec["rows"] = [list(r) for r in self.rows]
        rec["capability"] = {k: [bool(c.available), c.reason] for k, c in self.capability.items()}
        return rec

    @classmethod
    def from_record(cls, record: Mapping, customers: pd.DataFrame) -> Study:
        """Rebuild a study from :meth:`to_record` and its :attr:`customers` table.

        Parameters
        ----------
        record : mapping
            What :meth:`to_record` returned (read back from JSON).
        customers : pandas.DataFrame
            The study's :attr:`customers` table.

        Returns
        -------
        Study
        """
        kw = {}
        for f in fields(cls):
            if f.name in _TABLE_FIELDS:
                continue
            value = record[f.name]
            if f.name in _DAY_FIELDS:
                value = None if value is None else pd.Timestamp(value)
            elif f.name in _TUPLE_FIELDS:
                value = tuple(_TUPLE_FIELDS[f.name](v) for v in value)
            kw[f.name] = value
        return cls(
            **kw,
            customers=customers,
            rows=tuple(tuple(r) for r in record["rows"]),
            capability={k: Capability(bool(a), str(r)) for k, (a, r) in record["capability"].items()},
        )


#: Fields of :class:`Study` stored apart from its scalars by :meth:`Study.to_record`.
_TABLE_FIELDS = ("customers", "rows", "capability")
#: Fields holding a day (or ``None``), written as ISO text.
_DAY_FIELDS = ("start", "end", "launch", "clv_calibration_end")
#: Fields holding a tuple, with the type of their items.
_TUPLE_FIELDS = {"tier_thresholds": float, "tier_rates": float, "activation_horizons": int, "active_windows": int}


def canonical_parameters(params: Mapping | None) -> dict:
    """The study parameters that change a study, in one written form.

    Two parameter sets with the same canonical form give the same study: names that are not
    study parameters are left out, and so are empty values (``""``, ``0``, ``[]``, ``None``:
    "derive it from the data") and a false ``program_older_than_data`` (the same as not
    saying it). ``left_censored`` keeps a false value, which overrides the data. Tuples
    become lists and dates text, so that the result is plain JSON.

    Parameters
    ----------
    params : mapping, optional

    Returns
    -------
    dict
        Sorted by name.

    Examples
    --------
    >>> canonical_parameters({"currency": "RUB", "launch_date": "", "n_boot": 300, "tier_thresholds": (1500, 5000)})
    {'currency': 'RUB', 'tier_thresholds': [1500, 5000]}
    >>> canonical_parameters({"program_older_than_data": False, "left_censored": False})
    {'left_censored': False}
    """
    out = {}
    for name in sorted(PARAMETERS):
        if name not in (params or {}):
            continue
        value = params[name]
        if name == "left_censored":
            if value is None or (isinstance(value, str) and value == ""):
                continue
            out[name] = bool(value)
        elif name == "program_older_than_data":
            if value:
                out[name] = True
        elif not _empty(value):
            out[name] = _plain(value)
    return out


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "isoformat"):
        return pd.Timestamp(value).isoformat()
    return value


# ---------------------------------------------------------------------------- the rules
def _param(params: Mapping, name: str):
    value = params.get(name, None)
    return None if _empty(value) else value


def _launch(ds: Dataset, tx: pd.DataFrame, params: Mapping, start, end, rows) -> tuple[pd.Timestamp | None, str]:
    given = _param(params, "launch_date")
    older_flag = params.get("program_older_than_data")
    if given is not None:
        launch = _day(given)
        if launch < start:
            rows.append(("program launch", _fmt_day(launch), "parameter", "given; before the data start"))
            return launch, "older than the data"
        rows.append(("program launch", _fmt_day(launch), "parameter", "given"))
        return launch, "launched in the data"
    if older_flag:
        rows.append(("program launch", "older than the data", "parameter", "program_older_than_data is set"))
        return None, "older than the data"
    cards = ds.cards
    held = cards[cards["customer_id"].notna()]
    issued = pd.to_datetime(held["issued_date"]).dropna() if "issued_date" in held else pd.Series(dtype="M8[ns]")
    card_dates = tx.loc[tx["card_id"].notna(), "date"] if "card_id" in tx else tx["date"].iloc[:0]
    tolerance = start + pd.Timedelta(days=OLDER_TOLERANCE_DAYS)
    if len(issued):
        first = issued.min().normalize()
        if first < start:
            rows.append(
                (
                    "program launch",
                    "older than the data",
                    "data",
                    f"cards were issued before the data start ({first:%Y-%m-%d})",
                )
            )
            return None, "older than the data"
        day = issued.dt.normalize()
        on_first = int((day == start).sum())
        later = day[(day > start) & (day < start + pd.Timedelta(days=CENSOR_DAYS))]
        daily_later = len(later) / (CENSOR_DAYS - 1)
        if first == start and on_first >= 10 and on_first >= PILE_UP_RATIO * max(daily_later, 1.0):
            rows.append(
                (
                    "program launch",
                    "older than the data",
                    "data",
                    f"{on_first:,} cards carry the data's first day as issue date, far more than on later days: "
                    "issue dates look truncated to the data start",
                )
            )
            return None, "older than the data"
        rows.append(("program launch", _fmt_day(first), "data", "the first card issue date"))
        return first, "launched in the data"
    if len(card_dates):
        first = card_dates.min().normalize()
        if first < tolerance:
            rows.append(
                (
                    "program launch",
                    "older than the data",
                    "data",
                    f"issue dates unknown and cards are used from the data's first {OLDER_TOLERANCE_DAYS} days",
                )
            )
            return None, "older than the data"
        rows.append(("program launch", _fmt_day(first), "data", "issue dates unknown: the first receipt with a card"))
        return first, "launched in the data"
    rows.append(("program launch", "no program in the data", "data", "no card issued and no receipt with a card"))
    return None, "none in the data"


def _left_censored(ds: Dataset, params: Mapping, cust: pd.DataFrame, start) -> tuple[bool, pd.Series, str, str]:
    """Whether histories began before the data, and which customers are established."""
    before = cust["first_seen"].notna() & (cust["first_seen"] < start)
    given = params.get("left_censored")
    first = cust["first_purchase"]
    early = first.notna() & (first < start + pd.Timedelta(days=CENSOR_DAYS))
    if given is not None and given != "":
        flag = bool(given)
        est = (before | early) if flag else before
        return flag, est, "parameter", "given"
    if before.any():
        return True, before, "data", f"{int(before.sum()):,} customers were first seen before the data start"
    n_week = int((first < start + pd.Timedelta(days=7)).sum())
    n_12 = int((first < start + pd.Timedelta(days=84)).sum())
    if n_12 >= MIN_GROUP and n_week >= PILE_UP_RATIO * n_12 / 12:
        return (
            True,
            early,
            "data",
            f"{n_week:,} of the {n_12:,} customers first seen in the first 12 weeks appear in the first week: "
            f"they were buying before the data; those first seen in the first {CENSOR_DAYS} days count as established",
        )
    return False, before, "data", "no customer was seen before the data start and first visits do not pile up at it"


def _clip(value, default, limit: int, rows, label: str) -> int:
    if value is not None:
        v = int(value)
        note = "given" if v <= limit else f"given; longer than the window allows ({limit} days): few customers qualify"
        rows.append((label, f"{v} days", "parameter", note))
        return v
    v = int(min(default, limit))
    note = f"default {default}" + ("" if v == default else f", clipped to {limit} (half the window)")
    rows.append((label, f"{v} days", "default", note))
    return v


def _clip_list(value, default, limit: int, rows, label: str) -> tuple[int, ...]:
    if value is not None:
        v = tuple(int(x) for x in value)
        rows.append((label, ", ".join(map(str, v)), "parameter", "given"))
        return v
    v = tuple(int(x) for x in default if x <= limit) or ((int(limit),) if limit >= 1 else ())
    note = f"default {', '.join(map(str, default))}" + ("" if v == tuple(default) else f", kept those <= {limit} days")
    rows.append((label, ", ".join(map(str, v)) or "none", "default", note))
    return v


def _build(ds: Dataset, params: dict) -> Study:
    rows: list[tuple[str, str, str, str]] = []
    tx = ds.read_columns("transactions", [c for c in ds.columns_of("transactions") if c in RECEIPT_COLUMNS])
    dates = pd.to_datetime(tx["date"])
    tx = tx.assign(date=dates)  # a copy with parsed dates; the user's table is left as it is
    if len(dates.dropna()) == 0:
        raise ValueError("Study: the transactions table holds no receipt with a date")
    p_start, p_end = _param(params, "start"), _param(params, "end")
    start = _day(p_start) if p_start is not None else dates.min().normalize()
    end = _day(p_end) if p_end is not None else dates.max().normalize() + pd.Timedelta(days=1)
    if end <= start:
        raise ValueError(f"Study: end {end:%Y-%m-%d} must be after start {start:%Y-%m-%d}")
    rows.append(
        (
            "observation start",
            _fmt_day(start),
            "parameter" if p_start else "data",
            "given" if p_start else "first receipt",
        )
    )
    rows.append(
        (
            "observation end",
            _fmt_day(end),
            "parameter" if p_end else "data",
            "given (first day after the window)" if p_end else "the day after the last receipt (exclusive end)",
        )
    )
    in_win = (dates >= start) & (dates < end)
    n_receipts = int(in_win.sum())
    win = tx if n_receipts == len(tx) else tx[in_win]  # the receipts in the window (all of them by default)
    if n_receipts == 0:
        raise ValueError(f"Study: no receipt between {start:%Y-%m-%d} and {end:%Y-%m-%d}")
    window = int((end - start).days)

    launch, program = _launch(ds, tx, params, start, end, rows)
    pre = int((launch - start).days) if program == "launched in the data" else 0
    rows.append(("pre-period before the launch", f"{pre} days", "data", "from the observation start to the launch"))

    cur = _param(params, "currency")
    if cur is not None:
        currency, csrc, cnote = str(cur).strip().upper(), "parameter", "given"
    else:
        currency, cnote = _currency(ds)
        csrc = "data" if currency else "default"
    rows.append(("currency", currency or "unknown (money units)", csrc, cnote))

    thr, rts = _param(params, "tier_thresholds"), _param(params, "tier_rates")
    if thr is not None:
        thresholds = tuple(float(t) for t in thr)
        if list(thresholds) != sorted(set(thresholds)):
            raise ValueError(f"Study: tier_thresholds must strictly increase, got {list(thresholds)}")
        rates = tuple(float(r) for r in rts) if rts is not None else ()
        if rates and len(rates) != len(thresholds):
            raise ValueError(f"Study: one tier rate per threshold: {len(thresholds)} thresholds but {len(rates)} rates")
        tsrc, tnote = "parameter", "given"
    elif rts is not None:
        raise ValueError("Study: tier_rates were given without tier_thresholds")
    else:
        thresholds, rates, tnote = infer_tiers(win)
        tsrc = "data"
    rows.append(("tier thresholds", ", ".join(f"{t:,.0f}" for t in thresholds) or "none", tsrc, tnote))
    rows.append(("tier rates", ", ".join(f"{r:.1%}" for r in rates) or "none", tsrc, tnote))

    printed = _param(params, "printed_cards")
    printed_cards = int(printed) if printed is not None else int(len(ds.cards))
    rows.append(
        (
            "printed cards",
            f"{printed_cards:,}",
            "parameter" if printed is not None else "data",
            "given" if printed is not None else "rows of the cards table (cards in stock included)",
        )
    )

    cust = _customer_frame(ds, tx, start, end)
    held = ds.cards[ds.cards["customer_id"].notna()]
    issue_known = bool("issued_date" in held and held["issued_date"].notna().any())
    n_members = int(cust["member"].sum())
    from_use = int((cust["join_source"] == "first card use").sum())
    rows.append(
        (
            "members' join date",
            "card issue date" if issue_known else ("first card use" if n_members else "no members"),
            "data",
            (f"{from_use:,} members without an issue date join at their first card use" if from_use else "")
            if issue_known
            else "issue dates unknown: each member joins at the first receipt with a card",
        )
    )
    censored, established, lsrc, lnote = _left_censored(ds, params, cust, start)
    cust["established"] = established.to_numpy()
    rows.append(("histories begin before the data", "yes" if censored else "no", lsrc, lnote))

    bought = cust["n_receipts"] > 0
    n_customers = int(bought.sum())
    n_non = int((bought & ~cust["member"]).sum())
    n_anon = int((tx.loc[in_win, "customer_id"].isna()).sum())
    rows.append(("identified customers with a receipt", f"{n_customers:,}", "data", ""))
    rows.append(("members", f"{n_members:,}", "data", "hold a card or bought with one"))
    rows.append(("identified non-members", f"{n_non:,}", "data", "bought without ever holding a card"))
    rows.append(
        (
            "anonymous receipts",
            f"{n_anon:,} ({n_anon / n_receipts:.1%})",
            "data",
            "receipts without a customer id (walk-in buyers)",
        )
    )

    half = max(window // 2, 1)
    H = _clip(_param(params, "return_horizon_days"), 180, half, rows, "return horizon")
    after = int((end - launch).days) if program == "launched in the data" else window
    act = _clip_list(_param(params, "activation_horizons"), (30, 90, 180), after, rows, "activation horizons")
    sv = _clip(_param(params, "survey_horizon_days"), 90, half, rows, "survey return horizon")
    churn = _clip(_param(params, "churn_days"), 90, half, rows, "churn after (days without purchase)")
    active = _clip_list(_param(params, "active_windows"), (30, 90), window, rows, "active-customer windows")
    wdays = _clip(_param(params, "window_days"), 365, window, rows, "before/after window")

    freq = str(_param(params, "clv_freq") or "W").upper()
    if freq not in ("D", "W", "M"):
        raise ValueError(f"Study: clv_freq must be D, W or M, got {freq!r}")
    months = (end.to_period("M") - start.to_period("M")).n
    hold_p = _param(params, "holdout_months")
    holdout = int(hold_p) if hold_p is not None else int(np.clip(months // 3, 1, 6)) if months >= 3 else 0
    cal_end = end - pd.DateOffset(months=holdout) if holdout else end
    cal_end = pd.Timestamp(max(cal_end, start))
    cal_p = _param(params, "clv_calibration_end")
    if cal_p is not None:  # a given calibration end wins; the holdout is what remains of the window
        cal_end = _day(cal_p)
        if not start < cal_end < end:
            raise ValueError(
                f"Study: clv_calibration_end {cal_end:%Y-%m-%d} must fall inside the window "
                f"({start:%Y-%m-%d} to {end:%Y-%m-%d})"
            )
        holdout = int(round((end - cal_end).days / 30.4375))
    rows.append(("CLV time unit", freq, "parameter" if _param(params, "clv_freq") else "default", "W: weeks"))
    rows.append(
        (
            "CLV holdout",
            f"{holdout} months",
            "parameter" if hold_p is not None or cal_p is not None else "default",
            "from the calibration end given"
            if cal_p is not None
            else "given"
            if hold_p is not None
            else "a third of the window's months, between 1 and 6",
        )
    )
    rows.append(
        (
            "CLV calibration end",
            _fmt_day(cal_end),
            "parameter" if cal_p is not None else "data",
            "first day of the holdout period",
        )
    )

    study = Study(
        start=start,
        end=end,
        launch=launch,
        program=program,
        currency=currency,
        tier_thresholds=thresholds,
        tier_rates=rates,
        printed_cards=printed_cards,
        issue_dates_known=issue_known,
        left_censored=censored,
        n_customers=n_customers,
        n_members=n_members,
        n_non_members=n_non,
        n_receipts=n_receipts,
        n_anonymous_receipts=n_anon,
        pre_period_days=pre,
        return_horizon_days=H,
        activation_horizons=act,
        survey_horizon_days=sv,
        churn_days=churn,
        active_windows=active,
        window_days=wdays,
        clv_freq=freq,
        clv_calibration_end=cal_end,
        holdout_months=holdout,
        customers=cust,
        rows=tuple(rows),
    )
    object.__setattr__(study, "capability", _capabilities(study, ds, params, win))
    return study


def _has_cost_parameters(params: Mapping) -> bool:
    return any(_param(params, k) is not None for k in COST_PARAMETERS)


def _branch_did(s: Study, tx: pd.DataFrame, launched: bool, no_launch: str) -> Capability:
    """Stores whose receipts never show a card are the control group of a store-month DiD."""
    if "store_id" not in tx or "card_id" not in tx:
        return Capability(False, "no store on the receipts; receipts with their branch would enable it")
    with_card = set(tx.loc[tx["card_id"].notna(), "store_id"].dropna().unique())  # unique first: a few stores
    stores = set(tx["store_id"].dropna().unique())
    control = stores - with_card
    missing = []
    if not with_card:
        missing.append("no receipt with a card")
    if not control:
        missing.append(f"cards are used in every branch ({len(stores)}): no branch without the program")
    if not launched:
        missing.append(f"no pre-period: {no_launch}")
    elif s.pre_period_days < MIN_PRE_DAYS:
        missing.append(f"the pre-period is only {s.pre_period_days} days (at least {MIN_PRE_DAYS} needed)")
    if missing:
        return Capability(
            False,
            "; ".join(missing) + "; receipts of a branch that did not run the program, before and after the launch, "
            "would enable it",
        )
    return Capability(
        True,
        f"{len(with_card)} branch(es) with the program against {len(control)} without: "
        + ", ".join(map(str, sorted(control))),
    )


def _card_stock(s: Study, ds: Dataset, params: Mapping) -> Capability:
    """The stock of printed cards is known from a parameter or from cards in stock (no holder)."""
    in_stock = int(ds.cards["customer_id"].isna().sum()) if "customer_id" in ds.cards else 0
    given = _param(params, "printed_cards") is not None
    missing = []
    if not given and in_stock == 0:
        missing.append(
            "the number of printed cards is unknown (every card in the table has a holder); the printed_cards "
            "parameter, or the cards still in stock in the cards table, would enable it"
        )
    if not s.issue_dates_known:
        missing.append("card issue dates are unknown; the date each card was handed out would enable it")
    if missing:
        return Capability(False, "; ".join(missing))
    src = "given" if given else f"{in_stock:,} cards in stock in the cards table"
    return Capability(True, f"{s.printed_cards:,} printed cards ({src})")


def _capabilities(s: Study, ds: Dataset, params: Mapping, tx: pd.DataFrame) -> dict[str, Capability]:
    cust = s.customers
    launched = s.program == "launched in the data"
    no_launch = (
        "the program is older than the data, so nobody is seen joining it"
        if s.program_older_than_data
        else "no card appears in the data"
    )
    caps: dict[str, Capability] = {}

    if not launched:
        caps["enrollment_funnel"] = Capability(
            False, f"{no_launch}; an export that starts before the launch, with card issue dates, would enable it"
        )
    elif not s.issue_dates_known:
        caps["enrollment_funnel"] = Capability(
            False,
            "card issue dates are unknown; the cards table with the date each card was handed out would enable it",
        )
    else:
        note = "" if s.n_non_members else " (no identified non-members: the issue rate counts card holders only)"
        caps["enrollment_funnel"] = Capability(
            True, f"buyers since {s.launch:%Y-%m-%d} through card issue and use{note}"
        )

    joined = cust["member"] & (cust["join_source"] == "issue date") & (cust["join_date"] >= s.start)
    if s.program_older_than_data:  # issue dates written as the data's first day are the export's, not real ones
        joined &= cust["join_date"] > s.start
    if not s.issue_dates_known:
        caps["activation"] = Capability(
            False,
            "card issue dates are unknown, so the wait from issue to first use cannot be measured; "
            "the date each card was handed out would enable it",
        )
    elif not joined.any():
        caps["activation"] = Capability(
            False, "no card was issued inside the data window; an export covering the issue dates would enable it"
        )
    else:
        caps["activation"] = Capability(True, f"{int(joined.sum()):,} cards issued inside the window")

    caps["card_stock"] = _card_stock(s, ds, params)

    repeaters = int((cust["n_receipts"] >= 2).sum())
    if repeaters == 0:
        caps["return_curve"] = Capability(
            False,
            "no identified customer bought twice; receipts tied to customers over a longer period would enable it",
        )
    else:
        n_new = int((~cust["established"] & (cust["n_receipts"] > 0)).sum())
        note = (
            f"{n_new:,} customers are first seen inside the data (the curve from a first visit); established "
            "customers' visits count from the data start, not from a first-ever visit"
            if s.left_censored
            else "visits counted from each customer's first visit"
        )
        caps["return_curve"] = Capability(True, f"{repeaters:,} customers bought at least twice; {note}")

    ledger = ds.points_ledger if ds.has("points_ledger") else None
    if ledger is None or not (ledger["entry_type"] == "accrual").any():
        caps["goal_gradient"] = Capability(
            False,
            "no stamp or points ledger in the data; a points_ledger table with each accrual and redemption would "
            "enable it",
        )
    else:
        caps["goal_gradient"] = Capability(
            True, f"{int((ledger['entry_type'] == 'accrual').sum()):,} accruals in the ledger"
        )

    n_card = int(tx["card_id"].notna().sum()) if "card_id" in tx else 0
    if not s.has_tiers:
        caps["bunching"] = Capability(
            False,
            "no check-size tiers are known (none given and none visible in the card discounts); "
            "the tier_thresholds parameter would enable it",
        )
    elif n_card == 0:
        caps["bunching"] = Capability(False, "no receipt with a card; receipts that record the card would enable it")
    else:
        caps["bunching"] = Capability(True, f"{n_card:,} card receipts")

    sv = ds.surveys if ds.has("surveys") else None
    if sv is None or "nps" not in sv or sv["nps"].notna().sum() == 0:
        caps["nps"] = Capability(
            False,
            "no survey answers in the data; a surveys table (customer, date, NPS 0-10 and optionally CSAT) would "
            "enable it",
        )
    else:
        caps["nps"] = Capability(True, f"{int(sv['nps'].notna().sum()):,} NPS answers")

    pre_ok = launched and s.pre_period_days >= MIN_PRE_DAYS
    non_ok = s.n_non_members >= MIN_GROUP
    missing = []
    if not non_ok:
        missing.append(
            f"too few identified non-members ({s.n_non_members:,}; the export ties receipts to card holders only)"
            if s.n_non_members
            else "no identified non-members: the export has receipts of card holders only"
        )
    if not pre_ok:
        missing.append(
            f"no pre-period: {no_launch}"
            if not launched
            else f"the pre-period is only {s.pre_period_days} days (at least {MIN_PRE_DAYS} needed)"
        )
    why = "; ".join(missing)
    if why:
        caps["did"] = Capability(
            False,
            why + "; a control group (another branch without the program, or receipts of identified non-members) "
            "observed before and after the launch would enable it",
        )
        caps["propensity"] = Capability(
            False,
            why + "; identified non-members and purchases before the launch (to compare like with like) would "
            "enable it",
        )
    else:
        caps["did"] = Capability(True, f"{s.n_non_members:,} identified non-members, {s.pre_period_days} days before")
        caps["propensity"] = Capability(True, "pre-launch purchases of members and non-members")

    staggered = joined & (cust["join_date"] >= s.start + pd.Timedelta(days=MIN_PRE_DAYS))
    if non_ok and launched:
        caps["imputation_did"] = Capability(True, "untreated months of non-members and of members before they joined")
    elif staggered.sum() >= MIN_GROUP:
        caps["imputation_did"] = Capability(
            True,
            f"{int(staggered.sum()):,} members joined inside the window with history before it: members not yet "
            "joined serve as controls (event study)",
        )
    else:
        caps["imputation_did"] = Capability(
            False,
            "no untreated comparison: no identified non-members and no members seen before they joined "
            "(issue dates inside the window); issue dates, or receipts of identified non-members, would enable it",
        )

    caps["branch_did"] = _branch_did(s, tx, launched, no_launch)
    impact_ok = any(caps[k].available for k in ("did", "imputation_did", "propensity", "branch_did"))
    costs_ok = ds.has("program_costs") or _has_cost_parameters(params)
    if not costs_ok:
        caps["roi"] = Capability(
            False,
            "no program costs: a program_costs table, or cost parameters (card_print_cost, fixed_cost_no_ledger, "
            "extra_cost), would enable it" + ("" if impact_ok else "; it also needs an impact estimate"),
        )
    elif not impact_ok:
        caps["roi"] = Capability(False, "no impact estimate to pay for the costs: " + caps["did"].reason)
    else:
        src = "the cost ledger" if ds.has("program_costs") else "cost parameters"
        caps["roi"] = Capability(True, f"costs from {src}, revenue caused from the impact estimate")

    cal = cust[cust["first_purchase"].notna()]
    ident = tx.loc[tx["customer_id"].notna(), ["customer_id", "date"]]
    in_cal = ident[ident["date"] < s.clv_calibration_end]
    repeat_cal = int((in_cal.groupby("customer_id").size() >= 2).sum()) if len(in_cal) else 0
    if s.window_length_days < 180 or s.holdout_months < 1:
        caps["clv"] = Capability(
            False,
            f"the window is {s.window_length_days} days; lifetime value needs at least 180 days of receipts tied to "
            "customers, a part of them held out to check the model",
        )
    elif repeat_cal < MIN_GROUP:
        caps["clv"] = Capability(
            False,
            f"only {repeat_cal:,} customers bought twice before the holdout period; receipts tied to customers over "
            "a longer period would enable it",
        )
    else:
        caps["clv"] = Capability(
            True, f"{len(cal):,} customers, {repeat_cal:,} repeat buyers in the calibration period"
        )

    offers = ds.offers if ds.has("offers") else None
    if offers is None:
        caps["campaigns"] = Capability(
            False,
            "no campaign contacts in the data; an offers table (who was contacted when, by which channel) would "
            "enable it",
        )
        caps["campaign_uplift"] = Capability(False, caps["campaigns"].reason)
    else:
        holdout = "group" in offers and (offers["group"] == "holdout").any()
        caps["campaigns"] = Capability(
            True,
            f"{len(offers):,} contacts"
            + ("" if holdout else "; not randomised, so targeted customers differ from the others by selection"),
        )
        caps["campaign_uplift"] = (
            Capability(True, f"{int((offers['group'] == 'holdout').sum()):,} customers held out at random")
            if holdout
            else Capability(
                False,
                "no holdout group: campaigns went to chosen customers; a randomly held-out group in the next "
                "campaign would enable it",
            )
        )
    caps["recommendations"] = _recommendations(ds, tx)
    return caps


def _recommendations(ds: Dataset, tx: pd.DataFrame) -> Capability:
    """Personalised offers need receipt lines with products, a catalogue, and receipts tied to clients."""
    missing = [n for n in ("transaction_items", "products") if not ds.has(n)]
    if missing:
        return Capability(
            False,
            f"no {' and no '.join(m.replace('_', ' ') for m in missing)} in the data; the till's receipt lines "
            "(receipt, product) and the product catalogue (category, premium range) would enable it",
        )
    from loyalty_lib.validation import _position  # Arrow's hash lookup: pandas' isin on text ids walks them in Python

    identified = tx.loc[tx["customer_id"].notna(), "transaction_id"]
    lines = ds.read_columns("transaction_items", ["transaction_id"])["transaction_id"]
    n_lines = int((_position(lines, identified) >= 0).sum())
    if n_lines == 0:
        return Capability(
            False, "no receipt line belongs to an identified client; receipts that record the card would enable it"
        )
    return Capability(True, f"{n_lines:,} receipt lines of identified clients, {len(ds.products):,} products")


def merge_parameters(common: Mapping, per_notebook: Mapping[str, Mapping]) -> tuple[dict, list[str]]:
    """Collect the study parameters of a params file (as split by ``report.read_params``).

    Top-level keys win. A study parameter set only inside ``notebooks:`` sections is taken when
    every section that sets it agrees (the example sets the tiers for ``04_average_check``
    only); when sections disagree it is left out and named in the notes.

    Parameters
    ----------
    common : mapping
        Top-level keys of the params file.
    per_notebook : mapping of str to mapping
        The ``notebooks:`` sections.

    Returns
    -------
    params : dict
        Study parameters.
    notes : list of str
        One line per parameter taken from a section or left out.
    """
    params = {k: v for k, v in common.items() if k in PARAMETERS}
    notes = []
    for name in PARAMETERS:
        if name in params:
            continue
        seen = {nb: sec[name] for nb, sec in per_notebook.items() if name in sec}
        if not seen:
            continue
        values = list(seen.values())
        if all(v == values[0] for v in values):
            params[name] = values[0]
            notes.append(f"{name} taken from the section of {', '.join(sorted(seen))}")
        else:
            notes.append(f"{name} differs between notebooks ({', '.join(sorted(seen))}): not used for the study")
    return params, notes


def format_study(study: Study, *, width: int = 110) -> str:
    """Render the study and its capabilities as plain text for a terminal.

    Parameters
    ----------
    study : Study
    width : int
        Line width for the notes.

    Returns
    -------
    str
    """
    import textwrap

    d = study.describe()
    w_c = int(d["concept"].str.len().max())
    w_v = int(d["value"].str.len().max())
    lines = [f"{'concept':<{w_c}}  {'value':<{w_v}}  source     note"]
    indent = " " * (w_c + w_v + 15)
    for r in d.itertuples(index=False):
        note = textwrap.wrap(r.note, max(width - len(indent), 30)) or [""]
        lines.append(f"{r.concept:<{w_c}}  {r.value:<{w_v}}  {r.source:<9}  {note[0]}")
        lines += [indent + n for n in note[1:]]
    caps = study.capabilities()
    lines += ["", "What these data support:"]
    w_l = int(caps["analysis"].str.len().max())
    for r in caps.itertuples(index=False):
        mark = "yes" if r.available else "no "
        body = textwrap.wrap(r.reason, max(width - w_l - 8, 30)) or [""]
        lines.append(f"  {mark}  {r.analysis:<{w_l}}  {body[0]}")
        lines += [" " * (w_l + 9) + b for b in body[1:]]
    return "\n".join(lines)


__all__ = [
    "ANALYSES",
    "PARAMETERS",
    "Capability",
    "Study",
    "canonical_parameters",
    "format_study",
    "infer_tiers",
    "merge_parameters",
]
