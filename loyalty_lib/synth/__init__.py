"""Synthetic loyalty-program data with planted, known effects (the Sergey case by default).

:func:`generate` composes small behavioural pieces, each a module of its own:
:mod:`~loyalty_lib.synth.population` (who buys, hidden habits),
:mod:`~loyalty_lib.synth.purchasing` (when, where, how much without a program),
:mod:`~loyalty_lib.synth.enrollment` (cards offered, accepted, stock),
:mod:`~loyalty_lib.synth.members` (frequency uplift, goal gradient),
:mod:`~loyalty_lib.synth.tiers` (check uplift, bunching, discounts),
:mod:`~loyalty_lib.synth.items` (catalogue and receipt lines),
:mod:`~loyalty_lib.synth.rewards` (stamp/points ledger),
:mod:`~loyalty_lib.synth.surveys`, :mod:`~loyalty_lib.synth.campaigns` and
:mod:`~loyalty_lib.synth.costs`; :mod:`~loyalty_lib.synth.truth` writes down what was planted.
Every visit also carries its no-program counterfactual, so the true incremental revenue and
ROI are exact, not estimated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from loyalty_lib.dataset import Dataset
from loyalty_lib.synth import (
    campaigns,
    costs,
    enrollment,
    items,
    members,
    population,
    purchasing,
    rewards,
    shapes,
    tiers,
)
from loyalty_lib.synth import surveys as survey_piece
from loyalty_lib.synth.scenario import SCENARIOS, Scenario
from loyalty_lib.synth.truth import ground_truth

__all__ = ["generate", "SCENARIOS", "Scenario"]

_SPAN = 1024.0  # key = customer row * _SPAN + day, for binary searches over all receipts


def _timestamps(sc: Scenario, t: np.ndarray) -> pd.Series:
    """Days from the data start to shop-hours timestamps (9:00-21:00), to the second."""
    day = np.floor(t)
    seconds = np.round(9 * 3600 + (t - day) * 12 * 3600).astype(np.int64)
    stamp = sc.t_start + pd.to_timedelta(day, unit="D") + pd.to_timedelta(seconds, unit="s")
    return pd.Series(stamp).astype("datetime64[ns]")


def _ns_dates(**tables: pd.DataFrame | None) -> dict:
    """Give every timestamp column one resolution (ns), as the loader does."""
    for df in tables.values():
        if df is not None:
            for c in df.columns:
                if pd.api.types.is_datetime64_any_dtype(df[c]):
                    df[c] = df[c].astype("datetime64[ns]")
    return tables


def _visits_with_campaigns(base, joins, act_join, latent, customers, use_prob, sc, rng):
    """Member visits and campaign contacts and visits, simulated together wave by wave.

    A campaign visit where the card is shown earns a stamp, which raises the holder's visit rate
    (goal gradient) from then on; and a contact's win-back offer depends on the visits before
    its wave. So :func:`~loyalty_lib.synth.members.member_visits` stops at each wave, the wave's
    contacts are drawn from the visits so far, and their visits go back to it as stamps.

    Returns
    -------
    tuple of pandas.DataFrame
        Member visits (as :func:`~loyalty_lib.synth.members.member_visits`), contacts (as
        :func:`~loyalty_lib.synth.campaigns.contacts`) and campaign visits ``offer_row, cust, t,
        card_used``.
    """
    base_keys = np.sort(base["cust"].to_numpy() * _SPAN + base["t"].to_numpy())
    p_contact = campaigns.contact_probability(joins, len(customers), sc, latent["rate"].to_numpy())
    waves = dict((tw, wave) for wave, tw in campaigns.wave_times(sc))
    parts_c, parts_v = [], []

    def extra(tw: float, last_member: np.ndarray) -> pd.DataFrame:
        done = pd.concat(parts_v, ignore_index=True) if parts_v else None

        def last_visit(m: np.ndarray, tw: float) -> np.ndarray:
            last = campaigns.last_visit_before(base_keys, m.astype(float), np.full(len(m), tw), _SPAN)
            last = np.fmax(last, last_member[m])
            if done is not None and len(done):
                earlier = done[done["t"] < tw].groupby("cust")["t"].max()
                last = np.fmax(last, earlier.reindex(m).to_numpy(dtype=float))
            return last

        c = campaigns.wave_contacts(waves[tw], tw, joins, customers, p_contact, last_visit, sc, rng)
        v = campaigns.campaign_visits(c, sc, rng)
        v = v.assign(
            offer_row=v["offer_row"] + sum(len(p) for p in parts_c),
            card_used=rng.random(len(v)) < use_prob[v["cust"].to_numpy()],
        )
        parts_c.append(c)
        parts_v.append(v)
        return v

    mv = members.member_visits(joins[act_join], latent, use_prob, sc, rng, breaks=list(waves), extra_visits=extra)
    contacts = pd.concat([c for c in parts_c if len(c)] or parts_c[:1], ignore_index=True) if parts_c else None
    if contacts is None:  # no campaign wave inside the data
        contacts = campaigns.contacts(joins.iloc[:0], customers, base_keys, _SPAN, sc, rng)
    cv = pd.concat(parts_v, ignore_index=True) if parts_v else campaigns.campaign_visits(contacts, sc, rng)
    if "card_used" not in cv:
        cv = cv.assign(card_used=np.zeros(len(cv), dtype=bool))
    return mv, contacts, cv


def generate(
    scenario: str | Scenario = "sergey_branch",
    *,
    n_customers: int = 25_000,
    seed: int = 42,
    progress: bool = False,
    **settings,
) -> Dataset:
    """Generate a synthetic branch: the contract's tables plus the planted ground truth.

    Parameters
    ----------
    scenario : str or Scenario
        A name in :data:`SCENARIOS` (``"sergey_branch"``: discount tiers plus a stamp card;
        ``"sergey_discount_only"``: tiers only, no ledger; ``"sergey_points"``: points per
        rouble) or a :class:`Scenario`.
    n_customers : int
        Customers in the population (default 25,000, a realistic branch).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same data.
    progress : bool
        Show a progress bar (useful at a million customers).
    **settings
        Any :class:`Scenario` field to override, e.g. ``tier_thresholds=(1000, 4000, 12000)``.

    Returns
    -------
    Dataset
        Tables ``customers, cards, transactions, transaction_items, products, points_ledger``
        (``None`` without rewards), ``surveys, offers, program_costs``; ``truth`` (see
        docs/ground_truth.md) and ``truth_tables`` (``customers``, ``transactions``).

    Examples
    --------
    >>> ds = generate(n_customers=500, seed=1)
    >>> sorted(ds.tables)[:3]
    ['cards', 'customers', 'offers']
    """
    if isinstance(scenario, str) and scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    sc = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    sc = sc.with_(**settings) if settings else sc
    if n_customers < 50:
        raise ValueError("n_customers must be at least 50")
    rng = np.random.default_rng(seed)
    n_printed = sc.printed_cards if sc.printed_cards is not None else round(10_000 * n_customers / 25_000)
    bar = tqdm(total=7, desc="generating", disable=not progress, unit="step")

    def step(label: str) -> None:
        bar.set_postfix_str(label)
        bar.update(1)

    # population and the no-program purchase process
    customers, latent = population.population(sc, n_customers, rng)
    base = purchasing.base_visits(latent, sc, rng)
    base = pd.concat([base, purchasing.visit_context(base["cust"].to_numpy(), latent, customers, sc, rng)], axis=1)
    step("population and visits")

    # enrollment: offers at purchases, acceptance, finite stock
    offer_rate = enrollment.seller_offer_rates(sc, rng)
    cards, joins = enrollment.issue_cards(base, latent, offer_rate, n_printed, sc, rng)
    activator = np.zeros(n_customers, dtype=bool)
    act_join = rng.random(len(joins)) < sc.activation_prob
    activator[joins["cust"].to_numpy()[act_join]] = True
    use_prob = np.where(activator, rng.beta(sc.card_use_alpha, sc.card_use_beta, n_customers), 0.0)
    if sc.always_show_card:
        use_prob = activator.astype(float)
    t_issue = np.full(n_customers, np.inf)
    t_issue[joins["cust"].to_numpy()] = joins["t_issue"].to_numpy()
    step("cards issued")

    # active holders' visits after issue replace their no-program visits
    c = base["cust"].to_numpy()
    keep = ~(activator[c] & (base["t"].to_numpy() > t_issue[c]))
    base = base[keep].assign(card_used=False, cf_exists=True, stamps_before=-1, offer_row=-1)
    if sc.reward == "stamps" and sc.goal_gradient:
        # the stamps a campaign visit earns pull the next visits closer: simulate wave by wave
        mv, contacts, cv = _visits_with_campaigns(base, joins, act_join, latent, customers, use_prob, sc, rng)
    else:
        mv, contacts, cv = members.member_visits(joins[act_join], latent, use_prob, sc, rng), None, None
    mv = pd.concat([mv, purchasing.visit_context(mv["cust"].to_numpy(), latent, customers, sc, rng)], axis=1)
    visits = pd.concat([base, mv.assign(offer_row=-1)], ignore_index=True)
    if contacts is None:  # campaigns: contacts with holdout; treated contacts add visits
        keys = np.sort(visits["cust"].to_numpy() * _SPAN + visits["t"].to_numpy())
        contacts = campaigns.contacts(joins, customers, keys, _SPAN, sc, rng, rate=latent["rate"].to_numpy())
        cv = campaigns.campaign_visits(contacts, sc, rng)
    cv_ctx = purchasing.visit_context(cv["cust"].to_numpy(), latent, customers, sc, rng)
    cv = pd.concat([cv.reset_index(drop=True), cv_ctx], axis=1).assign(cf_exists=False, stamps_before=-1)
    if "card_used" not in cv:  # drawn after the context, as before the wave-by-wave simulation
        cv["card_used"] = rng.random(len(cv)) < use_prob[cv["cust"].to_numpy()]
    step("member visits and campaigns")
    visits = pd.concat([visits, cv], ignore_index=True)
    visits = visits.sort_values(["t", "cust"], kind="stable").reset_index(drop=True)
    if sc.program_stores is not None:  # the card counts only where the program runs
        visits["card_used"] = visits["card_used"].to_numpy(dtype=bool) & visits["store_id"].isin(sc.program_stores)

    # checks: no-program basket, then card uplift, bunching and tier discounts
    cust = visits["cust"].to_numpy()
    used = visits["card_used"].to_numpy(dtype=bool)
    base_gross = purchasing.draw_baskets(cust, latent, sc, rng)
    gross, rate, bunched = tiers.apply_tiers(base_gross, used, sc, rng)
    discount = np.round(gross * rate, 2)
    cf_gross = np.where(visits["cf_exists"].to_numpy(dtype=bool), np.maximum(np.round(base_gross, 2), 0.01), 0.0)
    card_of = np.zeros(n_customers, dtype=np.int64)
    card_of[joins["cust"].to_numpy()] = joins["card_id"].to_numpy()
    tx_id = np.arange(1, len(visits) + 1, dtype=np.int64)
    catalogue = items.products(sc, rng)
    lines, n_items = items.receipt_lines(
        tx_id,
        gross,
        catalogue,
        rng,
        line_scale=400.0 * sc.b2c_basket_median / 1200,
        customer=cust,
        n_customers=n_customers,
        repertoire_size=sc.repertoire_size,
        repertoire_share=sc.repertoire_share,
        taste_rng=np.random.default_rng([seed, 13]),  # its own stream: the other tables do not change
    )
    tx = pd.DataFrame(
        {
            "transaction_id": tx_id,
            "customer_id": latent["customer_id"].to_numpy()[cust],
            "date": _timestamps(sc, visits["t"].to_numpy()),
            "gross_amount": gross,
            "discount_amount": discount,
            "amount": np.round(gross - discount, 2),
            "discount_rate": rate,
            "channel": visits["channel"].array,
            "store_id": visits["store_id"].array,
            "seller_id": visits["seller_id"].array,
            "card_id": pd.array(np.where(used, card_of[cust], -1), dtype="Int64"),
            "n_items": n_items,
        }
    )
    tx.loc[~used, "card_id"] = pd.NA
    coupon = shapes.coupons(len(tx), sc, rng)
    if coupon is not None:  # a shop coupon is redeemed in both worlds: it lowers the paid amount in each
        coupon = np.minimum(coupon, np.round(tx["amount"].to_numpy() - 0.01, 2).clip(0))
        tx.insert(tx.columns.get_loc("discount_amount") + 1, "other_discount_amount", coupon)
        tx["amount"] = np.round(tx["amount"].to_numpy() - coupon, 2)
        cf_gross = np.where(cf_gross > 0, np.maximum(np.round(cf_gross - coupon, 2), 0.01), 0.0)
    step("checks and receipt lines")

    # ledger, surveys, offers with responses, costs
    card_tx = tx.loc[used, ["transaction_id", "customer_id", "card_id", "date", "amount"]].assign(cust=cust[used])
    card_tx = card_tx.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    ledger = rewards.ledger(card_tx.drop(columns="cust"), sc) if sc.reward != "none" else None
    surveys = survey_piece.surveys(card_tx, latent["satisfaction_z"].to_numpy(), sc, rng)
    step("ledger and surveys")

    order = np.lexsort((visits["t"].to_numpy(), cust))
    rkeys = cust[order] * _SPAN + visits["t"].to_numpy()[order]
    cum = np.r_[0.0, np.cumsum(tx["amount"].to_numpy()[order])]
    responded, resp_amount = campaigns.responses(contacts, rkeys, cum, _SPAN, sc.response_window_days)
    offers = pd.DataFrame(
        {
            "offer_id": np.arange(1, len(contacts) + 1, dtype=np.int64),
            "customer_id": latent["customer_id"].to_numpy()[contacts["cust"].to_numpy().astype(np.int64)],
            "date": _timestamps(sc, contacts["t"].to_numpy()),
            "channel": contacts["channel"].to_numpy(),
            "offer_type": contacts["offer_type"].to_numpy(),
            "group": np.where(contacts["treated"].to_numpy(dtype=bool), "treatment", "holdout"),
            "responded": responded,
            "response_amount": np.round(resp_amount, 2),
            "response_window_days": sc.response_window_days,
        }
    )
    program_costs = costs.cost_ledger(tx, cards, ledger, offers, n_printed, sc)
    step("offers and costs")

    ds = Dataset(
        **_ns_dates(
            customers=customers,
            cards=cards,
            transactions=tx,
            transaction_items=lines,
            products=catalogue,
            points_ledger=ledger,
            surveys=surveys,
            offers=offers,
            program_costs=program_costs,
        ),
        source=f"synthetic:{sc.name}:seed={seed}:n={n_customers}",
    )
    offer_row = visits["offer_row"].to_numpy()
    truth_tx = pd.DataFrame(
        {
            "transaction_id": tx_id,
            "cf_gross_amount": cf_gross if coupon is None else cf_gross + coupon * (cf_gross > 0),
            "cf_amount": cf_gross,
            "incremental": ~visits["cf_exists"].to_numpy(dtype=bool),
            "bunched": bunched >= 0,
            "campaign_offer_id": pd.array(np.where(offer_row >= 0, offer_row + 1, -1), dtype="Int64"),
        }
    )
    truth_tx.loc[offer_row < 0, "campaign_offer_id"] = pd.NA
    truth_cust = pd.DataFrame(
        {
            "customer_id": latent["customer_id"],
            "base_rate_per_year": latent["rate"] * 365.0,
            "basket_scale": latent["basket_scale"],
            "satisfaction_z": latent["satisfaction_z"],
            "established": latent["established"],
            "member": np.isfinite(t_issue),
            "issued_date": pd.Series(
                sc.t_start + pd.to_timedelta(np.floor(np.where(np.isfinite(t_issue), t_issue, np.nan)), unit="D")
            ),
            "activator": activator,
            "card_use_prob": use_prob,
        }
    )
    truth = ground_truth(
        ds,
        sc,
        seed=seed,
        n_customers=n_customers,
        n_printed=n_printed,
        latent=latent,
        visits=visits,
        joins=joins,
        offer_rate=offer_rate,
        bunched=bunched,
        truth_tx=truth_tx,
        contacts=contacts,
        activator=activator,
        t_issue=t_issue,
    )
    step("ground truth")
    bar.close()
    ds = Dataset(**{**ds.__dict__, "truth": truth, "truth_tables": {"customers": truth_cust, "transactions": truth_tx}})
    if sc.shape == "full":
        return ds
    world = shapes.World(latent=latent, visits=visits, activator=activator, t_issue=t_issue, bunched=bunched)
    return shapes.apply(ds, world, sc, seed)
