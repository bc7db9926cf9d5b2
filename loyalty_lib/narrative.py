"""Plain-words pieces every stage notebook shares: its study, its sections that cannot run, money.

A stage notebook builds its :class:`~loyalty_lib.study.Study` once with :func:`stage_study`,
asks ``study.can(...)`` before each analysis and, when the data do not support it, shows
:func:`unavailable` (one sentence: why, and what data would enable it) and goes on. Amounts are
written with :func:`money` in ``study.currency``; :func:`currency_note` says once when the
currency is unknown.

The teaching case (Sergey's branch: its story, its roubles, its 10,000 cards, its exercises)
belongs to the teaching data only: :func:`is_teaching` says whether the data are that case.
"""

from __future__ import annotations

from collections.abc import Mapping

from loyalty_lib.dataset import Dataset
from loyalty_lib.escape import md_escape
from loyalty_lib.stats import format_number
from loyalty_lib.study import ANALYSES, PARAMETERS, Study

__all__ = [
    "TEACHING_CURRENCY",
    "currency_note",
    "is_teaching",
    "money",
    "stage_study",
    "study_parameters",
    "unavailable",
]

#: The currency of the teaching case (the generator's amounts are roubles).
TEACHING_CURRENCY = "RUB"


def is_teaching(ds: Dataset) -> bool:
    """Return whether ``ds`` is the teaching case: generated data of one of Sergey's scenarios.

    Only the narration depends on it (the case text, the exercises); the analysis set-up never
    does. A shop's export, and a generated scenario that imitates one, are not the case.

    Examples
    --------
    >>> import pandas as pd
    >>> empty = pd.DataFrame()
    >>> is_teaching(Dataset(empty, empty, empty, truth={"scenario": "sergey_branch"}))
    True
    >>> is_teaching(Dataset(empty, empty, empty))
    False
    """
    if ds.truth is None:
        return False
    return str(ds.truth.get("scenario", "")).startswith("sergey")


def _has_currency_column(ds: Dataset) -> bool:
    return any("currency" in ds.columns_of(n) for n in ds.table_names())


def stage_study(ds: Dataset, params: Mapping | None = None) -> Study:
    """Build the study of a stage notebook from its data and its parameters.

    The notebook's parameters whose names are study parameters (``docs/study.md``) are passed
    on; the others (targets, bootstrap sizes) are left out. On the teaching data, whose tables
    carry no currency column, amounts are roubles unless the ``currency`` parameter says
    otherwise.

    Parameters
    ----------
    ds : Dataset
    params : mapping, optional
        The notebook's parameters (empty values mean "derive from the data").

    Returns
    -------
    Study
    """
    return Study.from_data(ds, study_parameters(ds, params))


def study_parameters(ds: Dataset, params: Mapping | None = None) -> dict:
    """The study parameters :func:`stage_study` derives a notebook's study with.

    The notebook's parameters that are study parameters, plus the teaching data's currency
    (roubles) when none is given and the tables carry no currency column.

    Parameters
    ----------
    ds : Dataset
    params : mapping, optional
        The notebook's parameters.

    Returns
    -------
    dict
    """
    p = {k: v for k, v in dict(params or {}).items() if k in PARAMETERS}
    if not p.get("currency") and is_teaching(ds) and not _has_currency_column(ds):
        p["currency"] = TEACHING_CURRENCY
    return p


def money(value, study: Study) -> str:
    """Write an amount for people in the study's currency (no unit when it is unknown).

    Examples
    --------
    >>> class S:
    ...     currency = "USD"
    >>> money(1234.5, S())
    '1\u202f234 USD'
    """
    return format_number(value, study.currency)


def currency_note(study: Study) -> str:
    """One sentence on the currency amounts are shown in (said once per page).

    Examples
    --------
    >>> class S:
    ...     currency = ""
    >>> currency_note(S())[:30]
    'The currency of these amounts '
    """
    if study.currency:
        return f"Amounts are in {md_escape(study.currency)}."
    return (
        "The currency of these amounts is not known (no currency column in the data and no `currency` "
        "parameter): amounts are shown without a unit."
    )


def unavailable(study: Study, analysis: str, what: str | None = None) -> str:
    """Markdown for a section the data cannot support: what is missing and what would enable it.

    Parameters
    ----------
    study : Study
    analysis : str
        A key of :data:`loyalty_lib.study.ANALYSES` (or one of its aliases).
    what : str, optional
        The section's subject in plain words; default the analysis label.

    Returns
    -------
    str
        One Markdown paragraph (the reason escaped, since it may quote values from the data).
    """
    label = what or ANALYSES.get(analysis, analysis)
    return f"**Not available on these data: {md_escape(label)}.** {md_escape(_sentence(study.why(analysis)))}"


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")) if text else text
