"""Scenario settings of the generator: every behavioural knob, with its plain meaning."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

#: How a generated world is exported: the whole world, or the shape of a realistic export.
SHAPES = ("full", "members_only", "walk_ins", "messy_till")


@dataclass(frozen=True)
class Scenario:
    """All settings of one synthetic branch. Money in ``currency`` (RUB); rates per year unless stated.

    The defaults are Sergey's branch from the teaching case: 12 months before and 12 after the
    launch of a discount card with 5/7/10 % tiers by check size, 10,000 printed cards per
    25,000 customers, b2c and b2b clients, cards handed out at offline purchases and at delivery,
    and a stamp card on top (a reward at every 10th card purchase).
    """

    name: str = "sergey_branch"
    start: str = "2025-01-01"
    pre_days: int = 365
    post_days: int = 365
    printed_cards: int | None = None  # None: 10,000 x n_customers / 25,000
    tier_thresholds: tuple[float, ...] = (1500.0, 5000.0, 15000.0)
    tier_rates: tuple[float, ...] = (0.05, 0.07, 0.10)
    # population
    b2b_share: float = 0.12
    established_share: float = 0.55  # customers already known at the data start
    b2c_rate_shape: float = 0.222  # gamma shape of b2c visit rates (heterogeneity)
    b2c_rate_mean: float = 4.05  # visits per year
    b2b_rate_shape: float = 1.0
    b2b_rate_mean: float = 20.0
    max_rate: float = 150.0
    # drop-out after each repeat purchase with probability p ~ Beta(a, b), as in the BG/NBD model;
    # None: nobody drops out. Only for worlds without a program (printed_cards=0), where the
    # no-program counterfactual is the data itself.
    dropout_a: float | None = None
    dropout_b: float | None = None
    b2c_basket_median: float = 1200.0
    b2b_basket_median: float = 7000.0
    basket_customer_sigma: float = 0.5
    basket_visit_sigma: float = 0.55
    delivery_share: dict = field(default_factory=lambda: {"b2c": 0.2, "b2b": 0.5})
    n_stores: int = 3
    sellers_per_store: int = 5
    n_couriers: int = 4
    # enrollment
    offer_rate_mean: float = 0.3
    offer_rate_concentration: float = 6.0
    courier_offer_factor: float = 0.6
    accept_prob_at_mean: float = 0.4
    refuse_share: float = 0.35  # customers who never take a card, whatever they buy
    accept_log_odds_per_log_rate: float = 0.8  # self-selection: heavier buyers accept more
    accept_b2b_shift: float = 0.3
    activation_prob: float = 0.8
    card_use_alpha: float = 8.0
    card_use_beta: float = 2.0
    # planted member effects
    uplift_frequency: float = 0.15
    uplift_check: float = 0.08
    bunching_window: float = 0.12
    bunching_landing: float = 0.04
    bunching_prob: float = 0.35
    satisfaction_effect: float = 0.25  # log visit rate per SD of latent satisfaction
    # rewards
    reward: str = "stamps"  # "stamps", "points" or "none"
    reward_every: int = 10  # stamps per reward
    reward_value: float = 300.0
    goal_gradient: float = 0.04  # log visit rate per stamp held (stamps only)
    points_per_rub: float = 0.01
    points_per_reward: int = 300
    # surveys
    survey_first_use_prob: float = 0.35
    survey_repeat_prob: float = 0.2
    survey_periodic_prob: float = 0.05  # per member and month
    # campaigns
    contact_prob: float = 0.5  # per opted-in member and monthly wave
    holdout_share: float = 0.2
    response_window_days: int = 14
    extra_visit_prob: dict = field(
        default_factory=lambda: {
            "cross_sell": 0.04,
            "up_sell": 0.03,
            "similar_clients": 0.05,
            "personal_discount": 0.10,
            "replenishment": 0.08,
            "birthday": 0.15,
            "win_back": 0.12,
            "subscription": 0.02,
        }
    )
    channel_multiplier: dict = field(default_factory=lambda: {"email": 0.6, "push": 1.0, "sms": 1.2, "social": 0.8})
    contact_cost: dict = field(default_factory=lambda: {"email": 1.0, "push": 0.5, "sms": 4.0, "social": 2.0})
    # personal taste: a share of each customer's receipt lines come from their own repertoire of
    # products (two favourite categories), the rest from the whole catalogue by popularity
    repertoire_share: float = 0.6
    repertoire_size: int = 8
    # costs
    card_print_cost: float = 15.0
    seller_bonus_per_card: float = 50.0
    setup_cost: float = 150_000.0
    margin: float = 0.30
    # estimable targets
    return_horizon_days: int = 180
    satisfaction_horizon_days: int = 90
    # realistic-export shapes (see loyalty_lib.synth.shapes); the defaults keep Sergey's branch
    currency: str = "RUB"
    home_store_prob: float = 0.9  # share of offline visits at the customer's home store
    delivery_from_home_store: bool = False  # deliveries booked to the home store, not a hub
    program_stores: tuple[str, ...] | None = None  # stores running the program; None: all
    always_show_card: bool = False  # every active holder shows the card at every purchase
    campaign_targeting: float = 0.0  # log-odds of being contacted per log visit rate (0: at random)
    shape: str = "full"  # "full", "members_only", "walk_ins" or "messy_till"
    export_days: int | None = None  # members_only: the export covers only the last N days
    coupon_share: float = 0.0  # receipts carrying a shop coupon (a discount the program did not cause)
    coupon_value: float = 0.0  # mean coupon value
    return_share: float = 0.0  # receipts of which some lines are brought back later
    zero_qty_share: float = 0.0  # extra voided (zero-quantity) lines per line
    unknown_product_share: float = 0.0  # lines whose product is missing from the catalogue
    broken_receipts: int = 0  # receipts whose paid amount the till wrote wrong (to be set aside whole)

    @property
    def t_start(self) -> pd.Timestamp:
        """First day of data."""
        return pd.Timestamp(self.start)

    @property
    def t_launch(self) -> pd.Timestamp:
        """Launch day of the program."""
        return self.t_start + pd.Timedelta(days=self.pre_days)

    @property
    def t_end(self) -> pd.Timestamp:
        """First day after the data (exclusive end)."""
        return self.t_launch + pd.Timedelta(days=self.post_days)

    def with_(self, **kw) -> Scenario:
        """Return a copy with some settings changed (unknown names raise TypeError)."""
        for k in kw:
            if not hasattr(self, k):
                raise TypeError(f"unknown scenario setting {k!r}")
        if "tier_thresholds" in kw:
            kw["tier_thresholds"] = tuple(float(x) for x in kw["tier_thresholds"])
        if "tier_rates" in kw:
            kw["tier_rates"] = tuple(float(x) for x in kw["tier_rates"])
        out = replace(self, **kw)
        if list(out.tier_thresholds) != sorted(set(out.tier_thresholds)):
            raise ValueError(f"tier_thresholds must strictly increase, got {out.tier_thresholds}")
        if len(out.tier_rates) != len(out.tier_thresholds):
            raise ValueError(
                f"one discount rate per tier threshold: {len(out.tier_thresholds)} thresholds "
                f"{out.tier_thresholds} but {len(out.tier_rates)} rates {out.tier_rates}"
            )
        if (out.dropout_a is None) != (out.dropout_b is None):
            raise ValueError("set both dropout_a and dropout_b, or neither")
        if out.dropout_a is not None and out.printed_cards != 0:
            raise ValueError("drop-out is only planted in a world without the program: set printed_cards=0")
        if out.shape not in SHAPES:
            raise ValueError(f"shape must be one of {', '.join(SHAPES)}, got {out.shape!r}")
        if out.program_stores is not None:
            out = replace(out, program_stores=tuple(str(s) for s in out.program_stores))
        if not all(0 <= r < 1 for r in out.tier_rates):
            raise ValueError(f"tier_rates must be in [0, 1), got {out.tier_rates}")
        return out


SCENARIOS: dict[str, Scenario] = {
    "sergey_branch": Scenario(),
    "sergey_discount_only": Scenario(name="sergey_discount_only", reward="none", goal_gradient=0.0),
    "sergey_points": Scenario(name="sergey_points", reward="points", goal_gradient=0.0),
    # A world that is exactly the BG/NBD model (Fader, Hardie & Lee 2005), for checking the
    # lifetime-value fit against planted parameters: private clients only, all new, no program,
    # gamma visit rates (r = 0.8, mean 8 a year) and Beta(0.8, 2.4) drop-out after each purchase.
    "bgnbd_check": Scenario(
        name="bgnbd_check",
        printed_cards=0,
        b2b_share=0.0,
        established_share=0.0,
        satisfaction_effect=0.0,
        b2c_rate_shape=0.8,
        b2c_rate_mean=8.0,
        max_rate=1e9,
        dropout_a=0.8,
        dropout_b=2.4,
        reward="none",
        goal_gradient=0.0,
    ),
    # Realistic exports (issue 11): the same behavioural model, shown the way a retailer's
    # systems export it (loyalty_lib.synth.shapes; written to files by loyalty_lib.synth.export).
    # A chain whose program is older than the data: the last year of card holders' receipts in
    # US dollars, check-size tiers of 2/3/5 %, campaigns sent to the heaviest buyers, no holdout.
    "members_only": Scenario(
        name="members_only",
        shape="members_only",
        currency="USD",
        start="2024-01-01",
        pre_days=91,  # the export's year starts on 1 April 2025
        post_days=730,
        export_days=365,
        tier_thresholds=(30.0, 75.0, 200.0),
        tier_rates=(0.02, 0.03, 0.05),
        b2b_share=0.03,
        b2c_rate_shape=0.6,
        b2c_rate_mean=10.0,
        b2b_rate_mean=24.0,
        b2c_basket_median=38.0,
        b2b_basket_median=220.0,
        offer_rate_mean=0.5,
        refuse_share=0.15,
        activation_prob=1.0,
        always_show_card=True,
        reward="none",
        goal_gradient=0.0,
        holdout_share=0.0,
        campaign_targeting=1.5,
        contact_prob=0.25,
    ),
    # Four branches in euros; the first launches a discount card half-way through two years, the
    # others never do. Walk-in buyers are anonymous; only deliveries, business clients and card
    # receipts name the customer.
    "walk_ins": Scenario(
        name="walk_ins",
        shape="walk_ins",
        currency="EUR",
        n_stores=4,
        program_stores=("S1",),
        home_store_prob=1.0,
        delivery_from_home_store=True,
        b2b_share=0.06,
        tier_thresholds=(25.0, 80.0, 250.0),
        tier_rates=(0.03, 0.05, 0.08),
        b2c_basket_median=22.0,
        b2b_basket_median=130.0,
        uplift_frequency=0.3,
        uplift_check=0.1,
        reward="none",
        goal_gradient=0.0,
        card_print_cost=0.4,
        seller_bonus_per_card=1.0,
        setup_cost=2500.0,
        contact_cost={"email": 0.02, "push": 0.01, "sms": 0.06, "social": 0.03},
    ),
    # A shop's till in tenge, exported in Russian: return receipts, voided lines, unknown product
    # codes and a coupon discount beside the card discount; eight months before the launch.
    "messy_till": Scenario(
        name="messy_till",
        shape="messy_till",
        currency="KZT",
        start="2025-03-01",
        pre_days=245,
        post_days=365,
        n_stores=2,
        tier_thresholds=(8000.0, 25000.0, 70000.0),
        tier_rates=(0.03, 0.05, 0.07),
        b2c_basket_median=6500.0,
        b2b_basket_median=38000.0,
        reward="none",
        goal_gradient=0.0,
        card_print_cost=120.0,
        seller_bonus_per_card=250.0,
        setup_cost=600_000.0,
        contact_cost={"email": 5.0, "push": 2.5, "sms": 20.0, "social": 10.0},
        coupon_share=0.06,
        coupon_value=1000.0,
        return_share=0.03,
        zero_qty_share=0.03,
        unknown_product_share=0.02,
        broken_receipts=4,
    ),
}
