"""Program variants the simulator compares: small frozen dataclasses, one per kind of program.

A variant says what a member gets (a discount by check size, points, stamps, a referral bonus)
and what the program costs to run (:class:`FixedCosts`). :class:`Combined` puts several
mechanics in one card, e.g. the teaching branch's discount tiers plus a stamp card.
:func:`variant_from_dict` reads the plain dicts of a notebook's parameters cell.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

__all__ = [
    "Combined",
    "FixedCosts",
    "NoProgram",
    "Points",
    "Referral",
    "StampCard",
    "TieredDiscount",
    "Variant",
    "mechanics",
    "variant_from_dict",
]


@dataclass(frozen=True)
class FixedCosts:
    """What running a program costs besides its discounts and rewards (money of the data).

    Attributes
    ----------
    cards_printed : int
        Cards printed; also the most members the program can enrol. 0: as many as join (and
        one card printed per member).
    card_print_cost : float
        Cost of one printed card.
    setup_cost : float
        One-off set-up (design, till software).
    communications_per_member_month : float
        Contacts (e-mail, SMS, push) per member and month of membership.
    staff_per_card : float
        Seller bonus (or staff time) per card handed out.
    """

    cards_printed: int = 0
    card_print_cost: float = 0.0
    setup_cost: float = 0.0
    communications_per_member_month: float = 0.0
    staff_per_card: float = 0.0

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"FixedCosts: {f.name} must be >= 0, got {getattr(self, f.name)}")


@dataclass(frozen=True, kw_only=True)
class Variant(ABC):
    """Base of every variant: a display ``name`` and the :class:`FixedCosts` of running it."""

    name: str = ""
    costs: FixedCosts = field(default_factory=FixedCosts)

    @property
    def label(self) -> str:
        """The name shown in tables (the class's own description when ``name`` is empty)."""
        return self.name or self.describe()

    @abstractmethod
    def describe(self) -> str:
        """One line of plain words on what a member gets."""


@dataclass(frozen=True, kw_only=True)
class NoProgram(Variant):
    """The baseline: no card, no cost. Every other variant is compared with it."""

    def describe(self) -> str:
        """One line of plain words on what a member gets."""
        return "no program"


@dataclass(frozen=True)
class TieredDiscount(Variant):
    """A discount whose rate depends on the check size (gross amount).

    Attributes
    ----------
    thresholds : tuple of float
        Check size at which each rate starts (strictly increasing).
    rates : tuple of float
        Discount rate of each tier, in [0, 1).

    Examples
    --------
    >>> TieredDiscount((1500, 5000, 15000), (0.05, 0.07, 0.10)).describe()
    'discount 5 % / 7 % / 10 % from 1,500 / 5,000 / 15,000'
    """

    thresholds: tuple[float, ...] = ()
    rates: tuple[float, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "thresholds", tuple(float(x) for x in self.thresholds))
        object.__setattr__(self, "rates", tuple(float(x) for x in self.rates))
        if len(self.thresholds) != len(self.rates) or not self.thresholds:
            raise ValueError(
                f"TieredDiscount: one rate per threshold, got thresholds {self.thresholds} and rates {self.rates}"
            )
        if list(self.thresholds) != sorted(set(self.thresholds)) or self.thresholds[0] < 0:
            raise ValueError(f"TieredDiscount: thresholds must be >= 0 and strictly increase, got {self.thresholds}")
        if not all(0 <= r < 1 for r in self.rates):
            raise ValueError(f"TieredDiscount: rates must be in [0, 1), got {self.rates}")

    def describe(self) -> str:
        """One line of plain words on what a member gets."""
        rates = " / ".join(f"{100 * r:g} %" for r in self.rates)
        return f"discount {rates} from " + " / ".join(f"{t:,.0f}" for t in self.thresholds)


@dataclass(frozen=True)
class Points(Variant):
    """Points on the amount paid, burnt for money off once a minimum balance is reached.

    Attributes
    ----------
    earn_rate : float
        Points per money unit paid.
    burn_value : float
        Money value of one point when redeemed.
    min_redemption : float
        Points needed before a redemption (redeemed in whole multiples of it).
    expiry_days : int
        Days after which unredeemed points lapse; 0: never.

    Examples
    --------
    >>> Points(0.05, 1.0, 500, 365).describe()
    '5 points per 100 paid, worth 1 each, redeemed from 500, lapse after 365 days'
    """

    earn_rate: float = 0.01
    burn_value: float = 1.0
    min_redemption: float = 100.0
    expiry_days: int = 0

    def __post_init__(self):
        if self.earn_rate < 0 or self.burn_value < 0 or self.min_redemption <= 0 or self.expiry_days < 0:
            raise ValueError(
                "Points: need earn_rate >= 0, burn_value >= 0, min_redemption > 0 and expiry_days >= 0, got "
                f"{self.earn_rate}, {self.burn_value}, {self.min_redemption}, {self.expiry_days}"
            )

    def describe(self) -> str:
        """One line of plain words on what a member gets."""
        lapse = f", lapse after {self.expiry_days} days" if self.expiry_days else ""
        return (
            f"{100 * self.earn_rate:g} points per 100 paid, worth {self.burn_value:g} each, "
            f"redeemed from {self.min_redemption:,.0f}{lapse}"
        )


@dataclass(frozen=True)
class StampCard(Variant):
    """A stamp per card purchase; a reward worth ``reward_value`` at every ``every_n``-th stamp.

    Examples
    --------
    >>> StampCard(10, 300).describe()
    'a reward worth 300 at every 10th purchase'
    """

    every_n: int = 10
    reward_value: float = 0.0

    def __post_init__(self):
        if int(self.every_n) != self.every_n or self.every_n < 1 or self.reward_value < 0:
            raise ValueError(
                f"StampCard: every_n must be a whole number >= 1 and reward_value >= 0, got {self.every_n}, "
                f"{self.reward_value}"
            )
        object.__setattr__(self, "every_n", int(self.every_n))

    def describe(self) -> str:
        """One line of plain words on what a member gets."""
        return f"a reward worth {self.reward_value:,.0f} at every {self.every_n}th purchase"


@dataclass(frozen=True)
class Referral(Variant):
    """A bonus paid for each new customer a member brings.

    Attributes
    ----------
    bonus : float
        Money paid to the member per new customer brought.
    newcomer_bonus : float
        Money given to the new customer as a welcome (0: none).
    """

    bonus: float = 0.0
    newcomer_bonus: float = 0.0

    def __post_init__(self):
        if self.bonus < 0 or self.newcomer_bonus < 0:
            raise ValueError(f"Referral: bonuses must be >= 0, got {self.bonus}, {self.newcomer_bonus}")

    def describe(self) -> str:
        """One line of plain words on what a member gets."""
        extra = f" (and {self.newcomer_bonus:,.0f} to the newcomer)" if self.newcomer_bonus else ""
        return f"{self.bonus:,.0f} per new customer brought{extra}"


@dataclass(frozen=True)
class Combined(Variant):
    """Several mechanics on one card (at most one of each kind), e.g. tiers plus a stamp card.

    Examples
    --------
    >>> Combined((TieredDiscount((1500,), (0.05,)), StampCard(10, 300))).describe()
    'discount 5 % from 1,500 + a reward worth 300 at every 10th purchase'
    """

    parts: tuple[Variant, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "parts", tuple(self.parts))
        kinds = [type(p).__name__ for p in self.parts]
        if not kinds or any(isinstance(p, (NoProgram, Combined)) for p in self.parts):
            raise ValueError(f"Combined: needs one or more mechanics (not NoProgram or Combined), got {kinds}")
        rewards = [k for k in kinds if k in ("Points", "StampCard")]
        if len(set(kinds)) != len(kinds) or len(rewards) > 1:
            raise ValueError(f"Combined: at most one mechanic of each kind and one reward scheme, got {kinds}")

    def describe(self) -> str:
        """One line of plain words on what a member gets."""
        return " + ".join(p.describe() for p in self.parts)


def mechanics(variant: Variant) -> dict[str, Variant | None]:
    """Split a variant into its mechanics: ``tiers``, ``reward`` (points or stamps), ``referral``.

    Examples
    --------
    >>> m = mechanics(Combined((TieredDiscount((1500,), (0.05,)), StampCard(10, 300))))
    >>> [type(v).__name__ if v is not None else None for v in m.values()]
    ['TieredDiscount', 'StampCard', None]
    """
    parts = variant.parts if isinstance(variant, Combined) else (variant,)
    out: dict[str, Variant | None] = {"tiers": None, "reward": None, "referral": None}
    for p in parts:
        if isinstance(p, TieredDiscount):
            out["tiers"] = p
        elif isinstance(p, (Points, StampCard)):
            out["reward"] = p
        elif isinstance(p, Referral):
            out["referral"] = p
    return out


KINDS = {
    "none": NoProgram,
    "tiers": TieredDiscount,
    "points": Points,
    "stamps": StampCard,
    "referral": Referral,
}
_COST_KEYS = {f.name for f in fields(FixedCosts)}


def variant_from_dict(spec: Mapping, *, default_costs: FixedCosts | None = None) -> Variant:
    """Build a variant from a plain dict (a notebook parameter or a grid file's entry).

    ``kind`` is one of ``none, tiers, points, stamps, referral``, or a list of them for a
    combined card; the other keys are the mechanics' fields (``thresholds, rates, earn_rate,
    burn_value, min_redemption, expiry_days, every_n, reward_value, bonus, newcomer_bonus``),
    ``name``, and any :class:`FixedCosts` field, which overrides ``default_costs``.

    Parameters
    ----------
    spec : mapping
        The variant's dict.
    default_costs : FixedCosts, optional
        Costs for the fields the dict does not give (default: none).

    Returns
    -------
    Variant

    Raises
    ------
    ValueError
        An unknown kind or key, named with the variant.

    Examples
    --------
    >>> v = variant_from_dict({"name": "stamps", "kind": "stamps", "every_n": 8, "reward_value": 250,
    ...                        "setup_cost": 1000})
    >>> v.every_n, v.costs.setup_cost
    (8, 1000.0)
    """
    spec = dict(spec)
    name = str(spec.pop("name", ""))
    kind = spec.pop("kind", None)
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise ValueError(f"variant {name!r}: kind must be one (or a list) of {', '.join(KINDS)}, got {kind!r}")
    base = default_costs or FixedCosts()
    cost_kw = {k: spec.pop(k) for k in list(spec) if k in _COST_KEYS}
    costs = FixedCosts(**{**base.__dict__, **{k: type(getattr(base, k))(v) for k, v in cost_kw.items()}})
    if kinds == ["none"]:
        if spec:
            raise ValueError(f"variant {name!r}: no program takes no settings, got {', '.join(spec)}")
        return NoProgram(name=name)
    parts = []
    for k in kinds:
        cls = KINDS[k]
        own = {f.name for f in fields(cls)} - {"name", "costs"}
        parts.append(cls(**{f: spec.pop(f) for f in list(spec) if f in own}))
    if spec:
        raise ValueError(f"variant {name!r}: unknown setting(s) {', '.join(sorted(spec))} for kind {kind!r}")
    if len(parts) == 1:
        from dataclasses import replace

        return replace(parts[0], name=name, costs=costs)
    return Combined(tuple(parts), name=name, costs=costs)
