"""The data contract: one documented schema for synthetic data and a shop's own exports.

Every table is a tidy frame keyed by a ``<table>_id``-style column.  The contract is written
once, declaratively, in :data:`TABLES`; from it come the pandera schemas that check each table
alone (:func:`pandera_schema`), the cross-table rules in :mod:`loyalty_lib.validation`, the
date/number parsing in :mod:`loyalty_lib.io`, and the page ``docs/data_contract.md``
(:func:`contract_markdown`), so the documentation cannot drift from what is enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandera is imported when a check is built: a notebook reading a checked snapshot never needs it
    import pandera.pandas as pa

#: Column kinds of the contract and what each means for a user preparing an export.
KINDS = {
    "id": (
        "identifier, read as text exactly as written (`0001` stays `0001`; `02` and `2` are two ids; "
        "a mapping with `ids: integer` reads whole numbers instead)"
    ),
    "text": "free text",
    "category": "one of the listed values",
    "datetime": (
        "date or timestamp (ISO 8601 `2026-03-01` or `2026-03-01 14:05`); a UTC offset "
        "(`+03:00`, `Z`) is dropped and the wall-clock time written is kept"
    ),
    "float": "number (decimal point `.`, no thousands separator, unless the mapping declares them)",
    "int": "whole number",
    "bool": "true/false (`true`, `false`, `1`, `0`)",
}


@dataclass(frozen=True)
class Col:
    """One column of the contract.

    Parameters
    ----------
    name : str
        Column name in the contract.
    kind : str
        One of :data:`KINDS`.
    doc : str
        What the column means.
    required : bool
        Whether the column must be present when its table is present.
    nullable : bool
        Whether empty values are allowed.
    values : tuple of str, optional
        Allowed values for ``category`` columns.
    ge, le : float, optional
        Inclusive bounds for numbers.
    unique : bool
        Whether values must be unique (the table's key).
    money : bool
        An amount of money (either sign): checked for implausible size by absolute value.
    """

    name: str
    kind: str
    doc: str
    required: bool = True
    nullable: bool = False
    values: tuple[str, ...] | None = None
    ge: float | None = None
    le: float | None = None
    unique: bool = False
    money: bool = False


@dataclass(frozen=True)
class Table:
    """One table of the contract: its key, its columns and who needs it."""

    name: str
    key: str
    doc: str
    columns: tuple[Col, ...]
    required: bool = False
    used_by: tuple[str, ...] = field(default_factory=tuple)

    def col(self, name: str) -> Col:
        """Return the column spec called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r} in the contract")

    @property
    def names(self) -> list[str]:
        """Column names in contract order."""
        return [c.name for c in self.columns]


CHANNELS = ("offline", "delivery")
CONTACT_CHANNELS = ("email", "push", "sms", "social")
#: Channels a campaign contact may use: the opt-in channels, plus printed mail (no opt-in column).
OFFER_CHANNELS = (*CONTACT_CHANNELS, "direct_mail")
OFFER_TYPES = (
    "cross_sell",
    "up_sell",
    "similar_clients",
    "personal_discount",
    "replenishment",
    "birthday",
    "win_back",
    "subscription",
)
COST_CATEGORIES = ("card_printing", "discounts", "rewards", "communications", "staff", "other")


def _id(name: str, doc: str, **kw) -> Col:
    return Col(name, "id", doc, **kw)


def _money(name: str, doc: str, **kw) -> Col:
    return Col(name, "float", doc, money=True, **kw)


TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "customers",
            "customer_id",
            "Every known buyer, member or not (the control group lives here too).",
            (
                _id("customer_id", "Customer key.", unique=True),
                Col("customer_type", "category", "Private or business client.", values=("b2c", "b2b")),
                Col(
                    "first_seen",
                    "datetime",
                    "First purchase or CRM registration; empty when unknown. A date before the data start "
                    "says the customer was buying before the data began (a left-censored history).",
                    required=False,
                    nullable=True,
                ),
                Col("home_store_id", "id", "Store the customer buys at most.", required=False, nullable=True),
                Col("age", "int", "Age in years.", required=False, nullable=True, ge=14, le=110),
                Col(
                    "age_band",
                    "text",
                    "Age band as the CRM writes it (`35-44`), when exact ages are not known.",
                    required=False,
                    nullable=True,
                ),
                Col("gender", "category", "Gender.", required=False, nullable=True, values=("f", "m", "other")),
                Col(
                    "income_band",
                    "category",
                    "Income band.",
                    required=False,
                    nullable=True,
                    values=("low", "middle", "high"),
                ),
                Col("district", "text", "District of residence or business.", required=False, nullable=True),
                Col("birthday", "datetime", "Date of birth (for birthday offers).", required=False, nullable=True),
                Col("opt_in_email", "bool", "Agreed to e-mail contact.", required=False, nullable=True),
                Col("opt_in_sms", "bool", "Agreed to SMS contact.", required=False, nullable=True),
                Col("opt_in_push", "bool", "Agreed to app push contact.", required=False, nullable=True),
                Col("opt_in_social", "bool", "Reachable in social networks/messengers.", required=False, nullable=True),
            ),
            required=True,
            used_by=("all",),
        ),
        Table(
            "cards",
            "card_id",
            "Every printed card; a card not yet handed out has no customer and no issue date.",
            (
                _id("card_id", "Card number.", unique=True),
                _id("customer_id", "Holder; empty while the card is in stock.", nullable=True),
                Col(
                    "issued_date",
                    "datetime",
                    "When the card was handed out; empty when unknown (membership then dates from the "
                    "first receipt with the card).",
                    required=False,
                    nullable=True,
                ),
                Col(
                    "issue_channel",
                    "category",
                    "Handed out at an offline purchase or at delivery.",
                    required=False,
                    nullable=True,
                    values=CHANNELS,
                ),
                _id("store_id", "Store that issued the card.", required=False, nullable=True),
                _id("seller_id", "Seller or courier who issued the card.", required=False, nullable=True),
            ),
            required=True,
            used_by=("02_enrollment", "03_activity", "04_average_check", "06_impact", "07_roi_clv"),
        ),
        Table(
            "transactions",
            "transaction_id",
            "One row per receipt (check).",
            (
                _id("transaction_id", "Receipt key.", unique=True),
                _id(
                    "customer_id",
                    "Buyer; empty for an anonymous receipt (a walk-in buyer without card or account).",
                    nullable=True,
                ),
                Col("date", "datetime", "Time of purchase."),
                _money("gross_amount", "Check before any discount; negative for a return receipt."),
                _money(
                    "discount_amount",
                    "The program's own discount on the check (the card discount): the program's cost; "
                    "negative or 0 on a return receipt.",
                ),
                _money(
                    "other_discount_amount",
                    "Discounts the program did not cause (coupons, promotions, manufacturer offers).",
                    required=False,
                    nullable=True,
                ),
                _money(
                    "amount",
                    "Net paid: gross_amount - discount_amount - other_discount_amount; negative for a return.",
                ),
                Col(
                    "discount_rate",
                    "float",
                    "Discount rate applied (0.05 = 5 %).",
                    required=False,
                    nullable=True,
                    ge=0,
                    le=1,
                ),
                Col("channel", "category", "Bought in a store or by delivery.", values=CHANNELS),
                _id("store_id", "Store (or delivery hub) of the sale."),
                _id("seller_id", "Seller or courier.", required=False, nullable=True),
                _id("card_id", "Card presented, empty when none.", nullable=True),
                Col("n_items", "int", "Number of lines on the receipt.", required=False, nullable=True, ge=0),
                _id(
                    "original_receipt_id",
                    "For a return receipt, the receipt it refunds (when the till records it).",
                    required=False,
                    nullable=True,
                ),
                Col(
                    "currency",
                    "text",
                    "Currency code of the amounts (USD, EUR, RUB ...); a mapping's `currency:` fills it.",
                    required=False,
                    nullable=True,
                ),
            ),
            required=True,
            used_by=("all",),
        ),
        Table(
            "transaction_items",
            "transaction_item_id",
            "Receipt lines.",
            (
                _id("transaction_item_id", "Line key.", unique=True),
                _id("transaction_id", "Receipt."),
                _id("product_id", "Product."),
                Col(
                    "quantity",
                    "float",
                    "Units or weight; 0 on a voided or service line, negative on a returned line.",
                ),
                _money("unit_price", "Price per unit before the check discount.", required=False, nullable=True, ge=0),
                _money(
                    "line_amount",
                    "The line before the check discount (quantity x unit_price); negative on a returned "
                    "line; a receipt's lines add up to its gross_amount.",
                ),
            ),
            used_by=("04_average_check",),
        ),
        Table(
            "products",
            "product_id",
            "The product catalogue.",
            (
                _id("product_id", "Product key.", unique=True),
                Col("category", "text", "Product category."),
                Col("is_premium", "bool", "Premium variant (for up-sell).", required=False, nullable=True),
                _money("list_price", "Shelf price.", required=False, nullable=True, ge=0),
                Col(
                    "replenishment_days",
                    "float",
                    "Typical days until a re-buy (consumables).",
                    required=False,
                    nullable=True,
                    ge=0,
                ),
            ),
            used_by=("04_average_check",),
        ),
        Table(
            "points_ledger",
            "points_entry_id",
            "Accrual and redemption of points or stamps (points/stamp-card programs only).",
            (
                _id("points_entry_id", "Ledger entry key.", unique=True),
                _id("customer_id", "Member."),
                _id("card_id", "Card.", required=False, nullable=True),
                Col("date", "datetime", "When points moved."),
                _id("transaction_id", "Receipt that earned or spent them.", required=False, nullable=True),
                Col(
                    "entry_type", "category", "What happened.", values=("accrual", "redemption", "expiry", "adjustment")
                ),
                Col("points", "float", "Signed points: + earned, - redeemed or expired."),
                _money("value", "Money value of the points moved (absolute).", required=False, nullable=True, ge=0),
            ),
            used_by=("03_activity", "07_roi_clv"),
        ),
        Table(
            "surveys",
            "survey_id",
            "NPS/CSAT answers collected after card use.",
            (
                _id("survey_id", "Answer key.", unique=True),
                _id("customer_id", "Respondent."),
                Col("date", "datetime", "When answered."),
                _id("transaction_id", "Receipt the survey followed.", required=False, nullable=True),
                Col(
                    "stage",
                    "category",
                    "Journey stage of the survey.",
                    values=("after_first_use", "after_repeat", "periodic"),
                ),
                Col("nps", "int", "Likelihood to recommend, 0-10.", nullable=True, ge=0, le=10),
                Col("csat", "int", "Satisfaction, 1-5.", required=False, nullable=True, ge=1, le=5),
            ),
            used_by=("05_satisfaction",),
        ),
        Table(
            "offers",
            "offer_id",
            "Campaign contacts, with a randomised holdout that was not contacted.",
            (
                _id("offer_id", "Contact key.", unique=True),
                _id("customer_id", "Addressee."),
                Col("date", "datetime", "Contact date (planned date for the holdout)."),
                Col(
                    "channel", "category", "Contact channel (direct_mail: printed mail, flyers).", values=OFFER_CHANNELS
                ),
                Col("offer_type", "category", "Kind of offer.", values=OFFER_TYPES),
                Col("group", "category", "Contacted (treatment) or held out.", values=("treatment", "holdout")),
                Col("responded", "bool", "Bought within the response window."),
                _money("response_amount", "Net spend in the response window.", required=False, nullable=True, ge=0),
                Col(
                    "response_window_days", "int", "Length of the response window.", required=False, nullable=True, ge=1
                ),
            ),
            used_by=("07_roi_clv",),
        ),
        Table(
            "program_costs",
            "cost_id",
            "Cost ledger of the program.",
            (
                _id("cost_id", "Entry key.", unique=True),
                Col("date", "datetime", "Booking date."),
                Col("category", "category", "Cost type.", values=COST_CATEGORIES),
                _money("amount", "Cost, in money.", ge=0),
                Col("description", "text", "Free text.", required=False, nullable=True),
            ),
            used_by=("02_enrollment", "07_roi_clv"),
        ),
    ]
}

#: Cross-table rules checked by :func:`loyalty_lib.validation.validate`, for the docs page.
CROSS_RULES = (
    (
        "transactions.customer_id",
        "an identified receipt's customer exists in customers (an anonymous receipt has none)",
    ),
    (
        "transactions.card_id",
        "the card exists in cards and belongs to the receipt's customer (a receipt with a card names its holder)",
    ),
    ("transactions.card_id", "a card whose issue date is known is issued before (or on the day of) its first use"),
    ("transactions.amount", "amount = gross_amount - discount_amount - other_discount_amount (to the cent)"),
    (
        "transactions.discount_amount",
        "each discount lies between 0 and gross_amount (0 to -gross on a return receipt)",
    ),
    ("cards.issued_date", "a card with an issue date has a holder (a card in stock has neither)"),
    ("cards.customer_id", "the holder exists in customers"),
    ("transaction_items.transaction_id", "every line's receipt exists in transactions"),
    ("transaction_items.product_id", "warning only: lines of products missing from products are kept and counted"),
    ("transaction_items.line_amount", "a receipt's lines add up to its gross_amount (to 1 %)"),
    ("transactions.original_receipt_id", "warning only: a return whose original receipt is not in the data is kept"),
    ("points_ledger/surveys/offers.customer_id", "the customer exists in customers"),
)


#: How receipts are counted: the rules every stage follows (rendered into docs/data_contract.md).
RECEIPT_RULES = (
    "## Receipts, visits, returns and discounts: how they count",
    "",
    "Real till exports hold more than clean sales. These are accepted, and every stage counts",
    "them by the same rules (`loyalty_lib.dataset` has the helpers, so a visit has one definition):",
    "",
    "- **Receipt**: one row of `transactions`. Sales, return receipts and zero-value receipts are",
    "  all receipts (`loyalty_lib.dataset.receipt_kind` says which).",
    "- **Visit**: a receipt with `gross_amount > 0`, i.e. something was bought",
    "  (`loyalty_lib.dataset.visits_mask`). A return receipt (`gross_amount < 0`) and a zero",
    "  receipt (`gross_amount = 0`: voided, or only zero-quantity lines) are receipts but not",
    "  visits. An exchange on one receipt is a visit when what was bought outweighs what was",
    "  returned. A receipt fully paid by discounts (`amount = 0`, `gross_amount > 0`) is a visit.",
    "  This is the definition for counting visits; docs/metrics.md says, figure by figure, what",
    "  each stage counts (some count every receipt, or shopping days).",
    "- **Revenue** is the sum of `amount` over all receipts: net of every discount and net of",
    "  returns. A return's negative amount counts on the day, in the store and for the customer",
    "  of the return receipt (`loyalty_lib.dataset.net_revenue`).",
    "- **Return receipt**: negative `gross_amount` and `amount`; its `discount_amount` gives the",
    "  card discount back (between `gross_amount` and 0). `original_receipt_id`, when the till",
    "  records it, names the receipt refunded; one that is not in the data (bought before the",
    "  data start) is kept and counted as a warning.",
    "- **Receipt lines**: a returned line has a negative `quantity` and `line_amount`; a",
    "  zero-quantity line (voided item, service line) is kept and counted as a line. Weighed",
    "  goods may have fractional quantities: count lines, not units. A line whose product is not",
    "  in `products` (discontinued, internal codes) is kept; the check lists how many as a",
    "  warning, and basket analyses put it under an unknown category.",
    "- **Anonymous receipt**: `customer_id` empty (a walk-in buyer without card or account).",
    "  It counts in receipts, visits and revenue, and in the denominator of the member share of",
    "  receipts and revenue; it is never a customer (no customer-level figure counts it). A",
    "  receipt with a card names the card's holder, so an anonymous receipt has no card.",
    "- **Discounts**: `discount_amount` is the program's own discount (the card discount): it",
    "  is the program's cost in the ROI. `other_discount_amount` holds the discounts the",
    "  program did not cause (coupons, promotions, manufacturer offers): they lower revenue but",
    "  are not a program cost. An export with several discount columns adds them up into these",
    "  two with the mapping's `sums:` (docs/own_data.md).",
    "- **Unknown dates**: a card's `issued_date` may be empty (membership then dates from the",
    "  first receipt with the card), and so may a customer's `first_seen`; a `first_seen` before",
    "  the data start says the history began before the data (left-censored). The Study's",
    "  `program_older_than_data` and `left_censored` parameters say the same for everyone.",
    "- **Set aside whole**: when `loyalty validate --quarantine` or `loyalty report --quarantine`",
    "  sets a receipt line aside, its receipt and all of that receipt's lines go with it; a",
    "  receipt keeps its recorded total or is set aside whole, never changed. The rows set aside",
    "  per table, the receipts and their share of receipts and of revenue (by absolute amount,",
    "  so a return set aside weighs like a sale) are reported by `validate` and on the report.",
)


def pandera_schema(table: str, columns: list[str] | None = None) -> pa.DataFrameSchema:
    """Build the pandera schema that checks one table on its own.

    Parameters
    ----------
    table : str
        Table name in :data:`TABLES`.
    columns : list of str, optional
        Columns present in the frame; optional contract columns not listed are not checked.

    Returns
    -------
    pandera.pandas.DataFrameSchema
        Nullability, bounds, allowed values and key uniqueness of every present column.
        Types are already parsed by :func:`loyalty_lib.io.coerce_table`.
    """
    import pandera.pandas as pa

    spec = TABLES[table]
    cols = {}
    for c in spec.columns:
        if columns is not None and c.name not in columns and not c.required:
            continue
        checks = []
        if c.ge is not None:
            checks.append(pa.Check.ge(c.ge, error=f">= {c.ge}"))
        if c.le is not None:
            checks.append(pa.Check.le(c.le, error=f"<= {c.le}"))
        if c.values is not None:
            checks.append(pa.Check.isin(list(c.values), error=f"one of {', '.join(c.values)}"))
        cols[c.name] = pa.Column(None, checks=checks, nullable=c.nullable, unique=c.unique, required=c.required)
    return pa.DataFrameSchema(cols, name=table, strict=False)


def contract_markdown() -> str:
    """Render the contract as the Markdown page ``docs/data_contract.md``.

    Returns
    -------
    str
        The page text; a test keeps the committed page equal to it.
    """
    out = [
        "# Data contract",
        "",
        "<!-- Generated by `python -m loyalty_lib.schema > docs/data_contract.md`; edit schema.py. -->",
        "",
        "The suite reads a folder holding one file per table, `<table>.parquet`, `<table>.csv`",
        "(UTF-8 with or without BOM, or UTF-16 with a BOM; comma-, semicolon-, tab- or",
        "bar-separated, the separator read from the header row) or `<table>.xlsx` (its first",
        "sheet). A table must be there once: in two formats it is an error. Synthetic data from",
        "`loyalty generate` and a shop's own CRM/POS exports follow the same contract. Own file",
        "and column names, several files per table, date formats, decimal commas, thousands",
        "separators, currency signs, encodings, missing-value markers, constants and recoded",
        "values are declared in a column-mapping file (see docs/own_data.md); nothing is guessed.",
        "Check a folder with `loyalty validate DIR`: every problem is listed with its table,",
        "column, rule, the first offending row ids (a row without an id by its file and line)",
        "and the offending values as written; a value that does not parse affects only its own",
        "row. The files themselves are never modified.",
        "",
        "Column kinds: " + "; ".join(f"**{k}** {v}" for k, v in KINDS.items()) + ".",
        "",
        "A file that cannot be read (no permission, 0 bytes, not text in its encoding, a",
        "malformed line, a column named twice in the header) stops the check with a message",
        "naming the table and the file. An empty `customers` or `transactions` table is an",
        "error; an empty optional table is a warning.",
        "",
        "Implausible values are kept and reported as warnings with their counts: dates more",
        "than a year after the day of the check or before 1900, and amounts of money more than",
        "1,000 times their column's median (by absolute value, so a return counts like a sale).",
        "",
        *RECEIPT_RULES,
        "",
        "## Tables",
        "",
        "| table | key | needed | used by |",
        "|---|---|---|---|",
    ]
    for t in TABLES.values():
        need = "required" if t.required else "optional"
        out.append(f"| `{t.name}` | `{t.key}` | {need} | {', '.join(t.used_by)} |")
    out += ["", "A notebook whose optional table is missing says so in that section and goes on.", ""]
    for t in TABLES.values():
        out += [
            f"## `{t.name}`",
            "",
            t.doc,
            "",
            "| column | kind | required | empty allowed | rule | meaning |",
            "|---|---|---|---|---|---|",
        ]
        for c in t.columns:
            rule = []
            if c.unique:
                rule.append("unique")
            if c.values:
                rule.append(" / ".join(f"`{v}`" for v in c.values))
            if c.ge is not None:
                rule.append(f">= {c.ge:g}")
            if c.le is not None:
                rule.append(f"<= {c.le:g}")
            out.append(
                f"| `{c.name}` | {c.kind} | {'yes' if c.required else 'no'} | "
                f"{'yes' if c.nullable else 'no'} | {', '.join(rule)} | {c.doc} |"
            )
        out.append("")
    out += ["## Rules across tables", "", "| where | rule |", "|---|---|"]
    out += [f"| `{w}` | {r} |" for w, r in CROSS_RULES]
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(contract_markdown(), end="")
