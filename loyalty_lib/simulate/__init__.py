"""Program-design simulator: which loyalty program to launch, calibrated on the data in front of it.

Program variants (:mod:`~loyalty_lib.simulate.variants`), behavioural responses and their
sources (:mod:`~loyalty_lib.simulate.responses`), the forward simulation with and without a
program on the same simulated customers (:mod:`~loyalty_lib.simulate.model`). See
docs/program_design.md.
"""

from loyalty_lib.simulate.model import RESULT_COLUMNS, Population, run, simulate, summarise
from loyalty_lib.simulate.responses import PRIORS, Responses, draw_responses, prior_ranges
from loyalty_lib.simulate.variants import (
    Combined,
    FixedCosts,
    NoProgram,
    Points,
    Referral,
    StampCard,
    TieredDiscount,
    Variant,
    variant_from_dict,
)

__all__ = [
    "PRIORS",
    "RESULT_COLUMNS",
    "Combined",
    "FixedCosts",
    "NoProgram",
    "Points",
    "Population",
    "Referral",
    "Responses",
    "StampCard",
    "TieredDiscount",
    "Variant",
    "draw_responses",
    "prior_ranges",
    "run",
    "simulate",
    "summarise",
    "variant_from_dict",
]
