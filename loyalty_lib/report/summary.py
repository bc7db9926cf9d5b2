"""The executive summary on top of ``index.html``: one verdict per owner's question, and what to do next.

Each question is answered by one headline figure of the scorecard (the first of its candidate
keys that a stage published), with its interval, its target and its status in words and colour;
a few supporting figures follow in small type. A figure the data cannot support shows "not
available" and the reason. The actions come from :data:`ACTION_RULES`, each a documented rule on
one figure's status or value (docs/report.md lists them); the list never invents a figure.
Naive figures (``naive_*``) appear only under "what a naive dashboard would say", subordinate.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import pandas as pd

from loyalty_lib.report.scoring import card_row, fmt

#: Status in words, for a verdict.
VERDICT_TEXT = {
    "green": "on target",
    "amber": "too early to tell: the target is inside the interval",
    "red": "off target",
    "grey": "no target set",
    "info": "for information",
    "na": "not available",
}


@dataclass(frozen=True)
class Question:
    """An owner's question, and the figures that answer it (``kpi`` keys; ``*`` matches any text)."""

    key: str
    text: str
    headline: tuple[str, ...]
    support: tuple[str, ...] = ()
    naive: tuple[str, ...] = ()
    note: str = ""


#: The owner's questions, in the order of the brief, with the figures that answer each.
QUESTIONS = (
    Question(
        "pays",
        "Does the program pay?",
        ("roi_pct",),
        ("incremental_gross_revenue", "cost_total", "did_revenue"),
        ("naive_roi_pct", "naive_gap"),
    ),
    Question(
        "reach",
        "Is it reaching customers?",
        ("issue_rate",),
        ("activation_rate", "repeat_use_rate", "sellers_below_target"),
    ),
    Question(
        "return",
        "Are members coming back?",
        ("active_share_*", "return_after_first_visit"),
        ("return_after_first_visit", "return_after_second_visit", "member_churn_rate"),
    ),
    Question(
        "checks",
        "Are checks growing?",
        ("member_check_paired_change", "member_net_check"),
        ("member_net_check", "discount_share_of_revenue"),
    ),
    Question("satisfied", "Are clients satisfied?", ("nps", "csat_share"), ("csat_share", "nps_after_first_use")),
    Question(
        "grow",
        "Which segment should we grow?",
        ("segment_headroom",),
        ("top_segment_share", "b2b_revenue_share", "active_customer_share"),
        note="extra revenue a year if the segment with the most room spent like the segment just above it",
    ),
    Question(
        "offers",
        "Which offer and channel pay?",
        ("best_offer_uplift",),
        ("best_channel_uplift", "campaign_roi_pct", "response_uplift", "ndcg_gain_over_baseline"),
        note="extra share of contacted clients who buy, against a randomised holdout",
    ),
    Question(
        "holdout",
        "How big must the next holdout be?",
        ("next_holdout_size",),
        ("contactable_clients", "response_uplift"),
        note="addressees a campaign needs to detect the uplift aimed at, against the clients who can be contacted",
    ),
)


#: Figures of the program's effect per member-month, each on its basis; "does it pay?" sets the
#: one on the break-even's basis beside the break-even.
EFFECT_KEYS = ("did_revenue", "did_gross_revenue")


@dataclass(frozen=True)
class ActionRule:
    """One rule of the action list: when figure ``kpi`` has a status in ``when``, recommend ``text``.

    ``text`` may use ``{estimate}``, ``{target}`` and ``{label}``, formatted for people, and
    ``{detail}``: the label and estimate of the figure ``detail`` names (the thing to act on, such
    as the service point rated lowest), or ``detail_missing`` when no stage published it.
    """

    kpi: str
    when: tuple[str, ...]
    text: str
    priority: int = 2
    detail: str = ""
    detail_missing: str = ""


#: The action rules, most urgent first (docs/report.md lists them; a test keeps the two in step).
ACTION_RULES = (
    ActionRule(
        "roi_pct",
        ("red",),
        "Rework the program before spending more: its ROI ({estimate}) is below the target of {target}. "
        "Cut the costliest reward or the printing, or aim the cards at clients the program can still win.",
        1,
    ),
    ActionRule(
        "roi_pct",
        ("amber",),
        "Keep the program, and measure again next month: the ROI ({estimate}) may or may not reach "
        "{target}; the data cannot tell yet.",
        3,
    ),
    ActionRule(
        "roi_pct",
        ("green",),
        "Keep the program: it pays (ROI {estimate}, target {target}). Put the next budget into the "
        "weakest stage below.",
        4,
    ),
    ActionRule(
        "sellers_below_target",
        ("red", "amber"),
        "Coach the {estimate} seller(s) below the card-issuance target: the seller league table on the "
        "enrollment page names them.",
        2,
    ),
    ActionRule(
        "issue_rate",
        ("red",),
        "Offer the card at every purchase and delivery: {estimate} of buyers got one, below the target of {target}.",
        2,
    ),
    ActionRule(
        "activation_rate",
        ("red",),
        "Welcome new card holders with an offer for their next visit: only {estimate} of cards get used "
        "(target {target}).",
        2,
    ),
    ActionRule(
        "return_after_first_visit",
        ("red",),
        "Contact clients after their first visit (a reminder or a second-visit offer): {estimate} come back, "
        "below the target of {target}.",
        2,
    ),
    ActionRule(
        "member_churn_rate",
        ("red",),
        "Start a win-back campaign for silent members: {estimate} have not bought for a long time (target {target}).",
        2,
    ),
    ActionRule(
        "days_to_stock_out",
        ("red",),
        "Reprint cards now: the stock runs out in {estimate}, sooner than the reprint lead time of {target}.",
        1,
    ),
    ActionRule(
        "cost_per_active_member",
        ("red",),
        "Lower the cost per active member ({estimate}, target {target}): print fewer cards or give them to "
        "clients likely to use them.",
        3,
    ),
    ActionRule(
        "discount_share_of_revenue",
        ("red",),
        "Review the discount tiers: discounts take {estimate} of gross revenue, above the target of {target}.",
        2,
    ),
    ActionRule(
        "nps",
        ("red",),
        "Find out why clients are unhappy (NPS {estimate}, target {target}): call back the detractors of the "
        "latest surveys.",
        2,
    ),
    ActionRule(
        "csat_share",
        ("red",),
        "Improve the service where clients rate it lowest ({detail} of answers 4 or 5): overall {estimate} of "
        "survey answers are 4 or 5, below the target of {target}. Ask these clients what went wrong and brief "
        "the staff there first.",
        3,
        detail="csat_weakest_point",
        detail_missing="the satisfaction page lists the scores by channel and client type",
    ),
    ActionRule(
        "segment_headroom",
        ("info", "grey", "green", "amber", "red"),
        "Aim the next offers at the segment with the most room to grow: {label} would bring about {estimate} "
        "more a year (the audience page ranks the other segments).",
        3,
    ),
    ActionRule(
        "best_offer_uplift",
        ("green",),
        "Send more {label}: they raised the share of contacted clients who buy by {estimate} against the "
        "holdout (target {target}); {detail}.",
        3,
        detail="best_channel_uplift",
        detail_missing="the campaigns page compares the channels",
    ),
    ActionRule(
        "best_offer_uplift",
        ("amber", "red"),
        "Do not scale any offer yet: even the best ({label}, {estimate}) is not clearly above the target uplift "
        "of {target}. Test fewer, stronger offers, each with a holdout.",
        3,
    ),
    ActionRule(
        "next_holdout_size",
        ("red",),
        "Do not plan the next campaign as a test of a small uplift: it would need {estimate} addressees, more "
        "than the {target} clients who can be contacted. Test a stronger offer (a larger uplift needs far fewer "
        "clients) or pool several months into one test.",
        2,
    ),
    ActionRule(
        "next_holdout_size",
        ("green",),
        "Keep a holdout in the next campaign: {estimate} addressees, within the {target} who can be contacted, "
        "are enough to show whether the contact pays.",
        4,
    ),
)


def _find(card: pd.DataFrame, patterns) -> pd.Series | None:
    """The first scorecard row whose key matches a pattern, trying the patterns in order."""
    for pat in patterns:
        hit = card[[fnmatch.fnmatchcase(str(k), pat) for k in card["kpi"]]]
        if len(hit):
            return hit.iloc[0]
    return None


def _row(r: pd.Series) -> dict:
    row = card_row(r)
    row["verdict"] = VERDICT_TEXT[r["status"]]
    return row


def _same_basis(effect: pd.Series | None, break_even: pd.Series | None) -> str:
    """The basis both figures are counted on, or ``""`` when they are not comparable."""
    if effect is None or break_even is None:
        return ""
    a, b = str(effect.get("basis") or ""), str(break_even.get("basis") or "")
    return a if a and a == b and effect["unit"] == break_even["unit"] else ""


def verdicts(card: pd.DataFrame) -> list[dict]:
    """One verdict per owner's question (:data:`QUESTIONS`), from the scorecard of a run.

    Parameters
    ----------
    card : pandas.DataFrame
        The run's :func:`~loyalty_lib.report.scoring.scorecard`.

    Returns
    -------
    list of dict
        Per question: ``key, question, status`` (the headline figure's status, ``"na"`` without
        one), ``verdict`` (the status in words), ``headline`` (the figure as texts, or ``None``),
        ``support`` (further figures), ``comparison`` (effect beside break-even, only when both are
        counted on the same basis), ``naive`` (naive figures, shown subordinate) and ``reason``.

    Examples
    --------
    >>> from loyalty_lib.report.scoring import scorecard
    >>> card = scorecard([{"name": "07_roi", "kpis": [
    ...     {"kpi": "roi_pct", "label": "ROI", "estimate": 0.5, "ci_low": 0.2, "ci_high": 0.8,
    ...      "unit": "%", "target": 0.1}]}])
    >>> v = verdicts(card)[0]
    >>> v["question"], v["status"], v["headline"]["estimate"], v["verdict"]
    ('Does the program pay?', 'green', '50.0 %', 'on target')
    >>> verdicts(card)[1]["status"], verdicts(card)[1]["reason"]
    ('na', 'no stage of this run published this figure')
    """
    out = []
    for q in QUESTIONS:
        head = _find(card[~card["naive"]], q.headline)
        support = []
        for pat in q.support:
            r = _find(card, (pat,))
            if r is not None and (head is None or r["kpi"] != head["kpi"]):
                support.append(_row(r))
        naive = [_row(r) for pat in q.naive if (r := _find(card, (pat,))) is not None]
        comparison = None
        if q.key == "pays":
            be = _find(card, ("break_even_uplift",))
            # the effect counted on the break-even's own basis (06 publishes it net, 07 gross)
            effects = [e for k in EFFECT_KEYS if (e := _find(card, (k,))) is not None]
            effect = next((e for e in effects if _same_basis(e, be)), effects[0] if effects else None)
            basis = _same_basis(effect, be)
            if basis and pd.notna(effect["estimate"]) and pd.notna(be["estimate"]):
                comparison = {
                    "effect": fmt(effect["estimate"], effect["unit"]),
                    "break_even": fmt(be["estimate"], be["unit"]),
                    "basis": basis,
                    "pays": bool(effect["estimate"] >= be["estimate"]),
                }
        status = head["status"] if head is not None else "na"
        reason = (
            head["reason"]
            if head is not None and status == "na"
            else ""
            if head is not None
            else "no stage of this run published this figure"
        )
        out.append(
            {
                "key": q.key,
                "question": q.text,
                "note": q.note,
                "status": status,
                "verdict": VERDICT_TEXT[status],
                "headline": _row(head) if head is not None else None,
                "support": support,
                "comparison": comparison,
                "naive": naive,
                "reason": reason,
            }
        )
    return out


def actions(card: pd.DataFrame) -> list[dict]:
    """The recommended actions of a run: every rule of :data:`ACTION_RULES` whose condition holds.

    Parameters
    ----------
    card : pandas.DataFrame
        The run's :func:`~loyalty_lib.report.scoring.scorecard`.

    Returns
    -------
    list of dict
        ``text, kpi, label, status, priority``, most urgent first (rule order within a priority).

    Examples
    --------
    >>> from loyalty_lib.report.scoring import scorecard
    >>> card = scorecard([{"name": "02", "kpis": [
    ...     {"kpi": "sellers_below_target", "label": "Sellers below", "estimate": 3.0, "unit": "count"}]}])
    >>> [a["text"][:40] for a in actions(card)]
    ['Coach the 3 seller(s) below the card-iss']
    """
    found = []
    for order, rule in enumerate(ACTION_RULES):
        r = _find(card[~card["naive"]], (rule.kpi,))
        if r is None or r["status"] not in rule.when:
            continue
        unit = r["unit"]
        detail = _find(card, (rule.detail,)) if rule.detail else None
        text = rule.text.format(
            estimate=fmt(r["estimate"], unit),
            target=fmt(r["target"], unit) if pd.notna(r["target"]) else "–",
            label=r["label"],
            detail=(
                f"{detail['label']}: {fmt(detail['estimate'], detail['unit'])}"
                if detail is not None and pd.notna(detail["estimate"])
                else rule.detail_missing
            ),
        )
        found.append(
            {
                "text": text,
                "kpi": r["kpi"],
                "label": r["label"],
                "status": r["status"],
                "priority": rule.priority,
                "order": order,
            }
        )
    found.sort(key=lambda a: (a["priority"], a["order"]))
    return found


def next_steps(card: pd.DataFrame) -> dict:
    """The "What to do next?" verdict: the actions, and a status (red when an urgent one is among them)."""
    acts = actions(card)
    urgent = any(a["status"] == "red" for a in acts)
    status = "red" if urgent else ("green" if acts else "info")
    text = (
        f"{len(acts)} action{'s' if len(acts) != 1 else ''}, most urgent first"
        if acts
        else "no figure of this run calls for an action"
    )
    return {"key": "next", "question": "What to do next?", "status": status, "verdict": text, "actions": acts}
