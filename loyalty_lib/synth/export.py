"""Write a generated data set the way a retailer's systems export it, with the mapping that reads it.

The suite's real users bring exports that were not made for analysis: their own file and column
names (some in Russian), semicolon-separated files with decimal commas and ``dd.mm.yyyy`` dates in
Windows Cyrillic (cp1251), UTF-8 files with a byte-order mark, receipts split into one file per
month, an ``.xlsx`` workbook, card numbers with leading zeros, receipt lines without a key of their
own, and words instead of the contract's codes. :func:`write_export` writes a
:class:`~loyalty_lib.dataset.Dataset` in one such *style* and writes beside it the
``mapping.yaml`` that reads it back through :func:`loyalty_lib.io.load` (the round trip is tested).

Three styles match the realistic scenarios of the generator (:data:`STYLES`):

- ``members_only``: a US grocery chain: English names in capitals, US dates
  (``%m/%d/%Y``), one receipt file per month, the catalogue as ``product.xlsx``, yes/no as
  ``Y``/``N``, receipt lines without a key or unit price, the campaign group and response
  window as constants of the mapping.
- ``walk_ins``: a chain of four branches in euros: UTF-8 with a byte-order mark, day-first dates
  (``%d/%m/%Y``), the client list as ``clients.xlsx``.
- ``messy_till``: a shop's till in tenge: Russian column names, ``;`` separators, decimal
  commas, ``dd.mm.yyyy`` dates, cp1251, card numbers of ten digits with leading zeros, receipt
  lines without a key.

Writing is vectorised (columns are formatted whole; a file per month is the only loop).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from loyalty_lib.dataset import Dataset
from loyalty_lib.schema import TABLES

MAPPING_FILE = "mapping.yaml"
#: Exported columns outside the contract: the mapping leaves them under their export names, and
#: the loader keeps them as they are (age in bands, which the contract's whole-year ``age`` cannot hold).
EXTRA_COLUMNS = frozenset({"age_band"})


@dataclass(frozen=True)
class Column:
    """One exported column.

    Parameters
    ----------
    contract : str
        Contract column it holds.
    name : str
        Its name in the export.
    date : str, optional
        ``strftime`` format of a date column in a CSV file (an ``.xlsx`` cell holds the date).
    values : mapping, optional
        Contract value -> the word the export writes (``{True: "Y", False: "N"}``).
    zfill : int
        Write ids with leading zeros to this many digits (``0000000123``).
    """

    contract: str
    name: str
    date: str | None = None
    values: Mapping | None = None
    zfill: int = 0


@dataclass(frozen=True)
class TableStyle:
    """How one contract table is exported.

    Parameters
    ----------
    table : str
        Contract table.
    file : str
        File name (``.csv`` or ``.xlsx``); a name holding ``{month}`` is written as one file per
        calendar month of column ``by`` (``transactions_{month}.csv`` -> ``transactions_2025_03.csv``).
    columns : tuple of Column
        Exported columns, in file order; contract columns not listed are not exported.
    constants : mapping
        Contract columns that are the same on every row: left out of the file and declared in
        the mapping.
    by : str, optional
        Date column splitting a monthly export.
    sheet : str, optional
        Sheet name of an ``.xlsx`` file.
    generate_key : bool
        The table's key is not exported (receipt lines): the mapping asks the loader to build it.
    """

    table: str
    file: str
    columns: tuple[Column, ...]
    constants: Mapping = field(default_factory=dict)
    by: str | None = None
    sheet: str | None = None
    generate_key: bool = False

    @property
    def is_xlsx(self) -> bool:
        """Whether the table is an ``.xlsx`` workbook."""
        return self.file.endswith(".xlsx")


@dataclass(frozen=True)
class ExportStyle:
    """The file conventions of one retailer's export.

    Parameters
    ----------
    name : str
    tables : tuple of TableStyle
    currency : str
        Currency code the mapping declares; empty when the receipts carry their own currency
        column (mapped like any other column).
    sep, decimal, encoding : str
        CSV conventions (``encoding="utf-8-sig"`` writes a byte-order mark).
    description : str
        One line for the mapping file's header.
    """

    name: str
    tables: tuple[TableStyle, ...]
    currency: str = ""
    sep: str = ","
    decimal: str = "."
    encoding: str = "utf-8"
    description: str = ""

    def table(self, name: str) -> TableStyle | None:
        """Return the style of contract table ``name``, or ``None`` when it is not exported."""
        return next((t for t in self.tables if t.table == name), None)


YN = {True: "Y", False: "N"}
DA = {True: "Да", False: "Нет"}
CHANNEL_WORDS = {"email": "e-mail", "push": "app", "sms": "SMS", "social": "social"}
OFFER_WORDS = {
    "cross_sell": "Cross-sell",
    "up_sell": "Up-sell",
    "similar_clients": "Clients like you",
    "personal_discount": "Personal discount",
    "replenishment": "Replenishment",
    "birthday": "Birthday",
    "win_back": "Win-back",
    "subscription": "Subscription",
}


def _opt_ins(names: Mapping[str, str], values=None) -> tuple[Column, ...]:
    return tuple(Column(f"opt_in_{k}", v, values=values) for k, v in names.items())


_US = "%m/%d/%Y %H:%M:%S"
MEMBERS_ONLY = ExportStyle(
    name="members_only",
    description="a US grocery chain: card holders' receipts of the last year, one file per month, "
    "each receipt with its currency",
    tables=(
        TableStyle(
            "customers",
            "households.csv",
            (
                Column("customer_id", "household_key"),
                Column("customer_type", "HH_TYPE", values={"b2c": "Household", "b2b": "Business"}),
                Column("age_band", "AGE_DESC"),
                Column("income_band", "INCOME_DESC", values={"low": "Under 35K", "middle": "35-74K", "high": "75K+"}),
                Column("gender", "GENDER", values={"f": "F", "m": "M"}),
                Column("home_store_id", "HOME_STORE"),
                *_opt_ins({"email": "EMAIL_OK", "sms": "SMS_OK", "push": "APP_OK", "social": "SOCIAL_OK"}, YN),
            ),
        ),
        TableStyle(
            "cards",
            "loyalty_cards.csv",
            (
                Column("card_id", "CARD_NO"),
                Column("customer_id", "household_key"),
                Column("issued_date", "ISSUED_ON", date="%m/%d/%Y"),  # empty: the CRM lost the issue dates
                Column("issue_channel", "ISSUED_VIA"),
            ),
        ),
        TableStyle(
            "transactions",
            "transactions_{month}.csv",
            (
                Column("transaction_id", "BASKET_ID"),
                Column("customer_id", "household_key"),
                Column("card_id", "CARD_NO"),
                Column("date", "PURCHASE_TIME", date=_US),
                Column("store_id", "STORE_ID"),
                Column("channel", "CHANNEL", values={"offline": "in-store", "delivery": "home delivery"}),
                Column("gross_amount", "SALES_VALUE"),
                Column("discount_amount", "CARD_DISC"),
                Column("amount", "NET_PAID"),
                Column("n_items", "LINES"),
                Column("currency", "CURRENCY"),
            ),
            by="date",
        ),
        TableStyle(
            "transaction_items",
            "transaction_lines.csv",
            (
                Column("transaction_id", "BASKET_ID"),
                Column("product_id", "PRODUCT_ID"),
                Column("quantity", "QUANTITY"),
                Column("line_amount", "SALES_VALUE"),
            ),
            generate_key=True,
        ),
        TableStyle(
            "products",
            "product.xlsx",
            (
                Column("product_id", "PRODUCT_ID"),
                Column("category", "DEPARTMENT"),
                Column("is_premium", "PREMIUM", values=YN),
                Column("list_price", "SHELF_PRICE"),
                Column("replenishment_days", "REBUY_DAYS"),
            ),
            sheet="products",
        ),
        TableStyle(
            "offers",
            "campaign_contacts.csv",
            (
                Column("offer_id", "CONTACT_ID"),
                Column("customer_id", "household_key"),
                Column("date", "SENT", date=_US),
                Column("channel", "CHANNEL", values=CHANNEL_WORDS),
                Column("offer_type", "OFFER", values=OFFER_WORDS),
                Column("responded", "REDEEMED", values=YN),
                Column("response_amount", "SPEND_14D"),
            ),
            constants={"group": "treatment", "response_window_days": 14},
        ),
    ),
)

_EU = "%d/%m/%Y %H:%M:%S"
_EU_DAY = "%d/%m/%Y"
WALK_INS = ExportStyle(
    name="walk_ins",
    currency="EUR",
    encoding="utf-8-sig",
    description="four branches in euros, most receipts anonymous; UTF-8 with a byte-order mark",
    tables=(
        TableStyle(
            "customers",
            "clients.xlsx",
            (
                Column("customer_id", "Client ID"),
                Column("customer_type", "Type", values={"b2c": "Private", "b2b": "Business"}),
                Column("first_seen", "Registered"),
                Column("home_store_id", "Branch"),
                Column("age", "Age"),
                Column("gender", "Gender", values={"f": "female", "m": "male"}),
                Column("income_band", "Income"),
                Column("district", "District"),
                Column("birthday", "Birthday"),
                *_opt_ins({"email": "E-mail OK", "sms": "SMS OK", "push": "Push OK", "social": "Social OK"}),
            ),
            sheet="Clients",
        ),
        TableStyle(
            "cards",
            "cards.csv",
            (
                Column("card_id", "Card No"),
                Column("customer_id", "Client ID"),
                Column("issued_date", "Issued", date=_EU_DAY),
                Column("issue_channel", "Issued at", values={"offline": "counter", "delivery": "delivery"}),
                Column("store_id", "Branch"),
                Column("seller_id", "Staff"),
            ),
        ),
        TableStyle(
            "transactions",
            "receipts.csv",
            (
                Column("transaction_id", "Receipt No"),
                Column("date", "Date", date=_EU),
                Column("store_id", "Branch"),
                Column("channel", "Sale", values={"offline": "counter", "delivery": "delivery"}),
                Column("customer_id", "Client ID"),
                Column("card_id", "Card No"),
                Column("gross_amount", "Gross"),
                Column("discount_amount", "Card discount"),
                Column("amount", "Paid"),
            ),
        ),
        TableStyle(
            "surveys",
            "survey_answers.csv",
            (
                Column("survey_id", "Answer ID"),
                Column("customer_id", "Client ID"),
                Column("date", "Answered", date=_EU),
                Column("transaction_id", "Receipt No"),
                Column(
                    "stage",
                    "Asked",
                    values={
                        "after_first_use": "after first card purchase",
                        "after_repeat": "after a repeat purchase",
                        "periodic": "monthly panel",
                    },
                ),
                Column("nps", "Would recommend (0-10)"),
                Column("csat", "Satisfied (1-5)"),
            ),
        ),
        TableStyle(
            "offers",
            "campaigns.csv",
            (
                Column("offer_id", "Contact ID"),
                Column("customer_id", "Client ID"),
                Column("date", "Date", date=_EU),
                Column("channel", "Channel", values=CHANNEL_WORDS),
                Column("offer_type", "Offer", values=OFFER_WORDS),
                Column("group", "Group", values={"treatment": "sent", "holdout": "held out"}),
                Column("responded", "Bought", values={True: "yes", False: "no"}),
                Column("response_amount", "Spend"),
                Column("response_window_days", "Window (days)"),
            ),
        ),
        TableStyle(
            "program_costs",
            "costs.csv",
            (
                Column("cost_id", "Entry"),
                Column("date", "Booked", date=_EU_DAY),
                Column("category", "Type"),
                Column("amount", "Amount"),
                Column("description", "Note"),
            ),
        ),
    ),
)

_RU = "%d.%m.%Y %H:%M:%S"
_RU_DAY = "%d.%m.%Y"
_CHANNEL_RU = {"offline": "магазин", "delivery": "доставка"}
_CARD = 10  # card numbers have ten digits, leading zeros included
MESSY_TILL = ExportStyle(
    name="messy_till",
    currency="KZT",
    sep=";",
    decimal=",",
    encoding="cp1251",
    description="a shop's till in tenge, exported in Russian: ';', decimal commas, dd.mm.yyyy, cp1251",
    tables=(
        TableStyle(
            "customers",
            "klienty.csv",
            (
                Column("customer_id", "Код клиента"),
                Column("customer_type", "Тип клиента", values={"b2c": "физлицо", "b2b": "юрлицо"}),
                Column("first_seen", "Дата регистрации", date=_RU_DAY),
                Column("home_store_id", "Магазин"),
                Column("age", "Возраст"),
                Column("gender", "Пол", values={"f": "Ж", "m": "М"}),
                Column("income_band", "Доход", values={"low": "низкий", "middle": "средний", "high": "высокий"}),
                Column("district", "Район"),
                Column("birthday", "Дата рождения", date=_RU_DAY),
                *_opt_ins(
                    {"email": "Согласие e-mail", "sms": "Согласие SMS", "push": "Согласие push", "social": "Соцсети"},
                    DA,
                ),
            ),
        ),
        TableStyle(
            "cards",
            "karty.csv",
            (
                Column("card_id", "Номер карты", zfill=_CARD),
                Column("customer_id", "Код клиента"),
                Column("issued_date", "Дата выдачи", date=_RU_DAY),
                Column("issue_channel", "Где выдана", values=_CHANNEL_RU),
                Column("store_id", "Магазин"),
                Column("seller_id", "Продавец"),
            ),
        ),
        TableStyle(
            "transactions",
            "cheki.csv",
            (
                Column("transaction_id", "Номер чека"),
                Column("date", "Дата и время", date=_RU),
                Column("store_id", "Магазин"),
                Column("seller_id", "Кассир"),
                Column("channel", "Канал продажи", values=_CHANNEL_RU),
                Column("customer_id", "Код клиента"),
                Column("card_id", "Номер карты", zfill=_CARD),
                Column("gross_amount", "Сумма без скидки"),
                Column("discount_amount", "Скидка по карте"),
                Column("other_discount_amount", "Скидка по купону"),
                Column("amount", "К оплате"),
                Column("discount_rate", "Ставка скидки"),
                Column("n_items", "Позиций"),
                Column("original_receipt_id", "Чек продажи"),
            ),
        ),
        TableStyle(
            "transaction_items",
            "stroki_chekov.csv",
            (
                Column("transaction_id", "Номер чека"),
                Column("product_id", "Код товара"),
                Column("quantity", "Кол-во"),
                Column("unit_price", "Цена"),
                Column("line_amount", "Сумма"),
            ),
            generate_key=True,
        ),
        TableStyle(
            "products",
            "tovary.csv",
            (
                Column("product_id", "Код товара"),
                Column("category", "Категория"),
                Column("is_premium", "Премиум", values=DA),
                Column("list_price", "Цена на полке"),
                Column("replenishment_days", "Повторная покупка, дней"),
            ),
        ),
        TableStyle(
            "surveys",
            "oprosy.csv",
            (
                Column("survey_id", "Номер анкеты"),
                Column("customer_id", "Код клиента"),
                Column("date", "Дата ответа", date=_RU),
                Column("transaction_id", "Номер чека"),
                Column(
                    "stage",
                    "Когда спросили",
                    values={
                        "after_first_use": "после первой покупки",
                        "after_repeat": "после повторной",
                        "periodic": "ежемесячно",
                    },
                ),
                Column("nps", "Порекомендуете (0-10)"),
                Column("csat", "Довольны (1-5)"),
            ),
        ),
        TableStyle(
            "offers",
            "rassylki.csv",
            (
                Column("offer_id", "Номер контакта"),
                Column("customer_id", "Код клиента"),
                Column("date", "Дата", date=_RU),
                Column(
                    "channel", "Канал", values={"email": "e-mail", "push": "push", "sms": "SMS", "social": "соцсети"}
                ),
                Column(
                    "offer_type",
                    "Предложение",
                    values={
                        "cross_sell": "кросс-продажа",
                        "up_sell": "допродажа",
                        "similar_clients": "похожие клиенты",
                        "personal_discount": "личная скидка",
                        "replenishment": "напоминание",
                        "birthday": "день рождения",
                        "win_back": "возврат клиента",
                        "subscription": "подписка",
                    },
                ),
                Column("group", "Группа", values={"treatment": "рассылка", "holdout": "контроль"}),
                Column("responded", "Купил", values=DA),
                Column("response_amount", "Сумма покупок"),
                Column("response_window_days", "Окно, дней"),
            ),
        ),
        TableStyle(
            "program_costs",
            "zatraty.csv",
            (
                Column("cost_id", "Номер"),
                Column("date", "Дата", date=_RU_DAY),
                Column(
                    "category",
                    "Статья",
                    values={
                        "card_printing": "печать карт",
                        "discounts": "скидки",
                        "rewards": "подарки",
                        "communications": "рассылки",
                        "staff": "премии продавцам",
                        "other": "прочее",
                    },
                ),
                Column("amount", "Сумма"),
                Column("description", "Комментарий"),
            ),
        ),
    ),
)

#: Export style by scenario name.
STYLES: dict[str, ExportStyle] = {s.name: s for s in (MEMBERS_ONLY, WALK_INS, MESSY_TILL)}


def _style(ds: Dataset, style: str | ExportStyle | None) -> ExportStyle:
    if isinstance(style, ExportStyle):
        return style
    name = style or (ds.truth or {}).get("scenario")
    if name not in STYLES:
        raise ValueError(f"no export style {name!r}; styles are {', '.join(STYLES)} (or pass an ExportStyle)")
    return STYLES[name]


def _cell(s: pd.Series, col: Column, *, xlsx: bool) -> pd.Series:
    """One column as the export writes it."""
    if col.values is not None:
        words = {k: v for k, v in col.values.items()}
        out = s.astype(object).map(words)
        unknown = s.notna() & out.isna()
        if unknown.any():
            raise ValueError(f"export column {col.name!r}: no word for value(s) {sorted(set(s[unknown].astype(str)))}")
        return out
    if col.zfill:
        text = s.astype("Int64").astype("string").str.zfill(col.zfill)
        return text.astype(object).where(s.notna(), None)
    if col.date is not None and not xlsx:
        return s.dt.strftime(col.date).astype(object).where(s.notna(), None)
    if pd.api.types.is_bool_dtype(s) and not xlsx:
        return s.map({True: "true", False: "false"}).astype(object)
    return s


def export_frame(df: pd.DataFrame, ts: TableStyle) -> pd.DataFrame:
    """Return table ``df`` with the export's columns, names and words (not yet written).

    Parameters
    ----------
    df : pandas.DataFrame
        A contract table.
    ts : TableStyle

    Returns
    -------
    pandas.DataFrame
        The exported columns in file order; dates as text in the CSV's format (kept as dates
        for ``.xlsx``), category and yes/no values as the export's words, ids zero-padded
        where the style says so.

    Examples
    --------
    >>> cols = (Column("card_id", "No", zfill=6), Column("issued_date", "On", date="%d.%m.%Y"))
    >>> ts = TableStyle("cards", "c.csv", cols)
    >>> df = pd.DataFrame({"card_id": [12], "issued_date": pd.to_datetime(["2026-03-01"])})
    >>> export_frame(df, ts).to_dict("records")
    [{'No': '000012', 'On': '01.03.2026'}]
    """
    missing = [c.contract for c in ts.columns if c.contract not in df]
    if missing:
        raise ValueError(f"export of {ts.table}: the table has no column(s) {', '.join(missing)}")
    cols = {c.name: _cell(df[c.contract], c, xlsx=ts.is_xlsx).reset_index(drop=True) for c in ts.columns}
    return pd.DataFrame(cols)


def _stable_xlsx(path: Path) -> None:
    """Give an ``.xlsx`` fixed file times inside its zip and fixed document dates.

    A workbook records when it was written; with fixed times the same data give the same bytes,
    so a regenerated example shows no change under version control.
    """
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    stamp = b"2026-01-01T00:00:00Z"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)


def _write(frame: pd.DataFrame, path: Path, ts: TableStyle, style: ExportStyle) -> None:
    if ts.is_xlsx:
        frame.to_excel(path, index=False, sheet_name=ts.sheet or "Sheet1", engine="openpyxl")
        _stable_xlsx(path)
    else:
        frame.to_csv(path, index=False, sep=style.sep, decimal=style.decimal, encoding=style.encoding)


def _table_mapping(ts: TableStyle) -> dict:
    spec: dict = {"file": ts.file.replace("{month}", "*") if "{month}" in ts.file else ts.file}
    if ts.sheet:
        spec["sheet"] = ts.sheet
    spec["columns"] = {c.name: c.contract for c in ts.columns if c.contract not in EXTRA_COLUMNS}
    dates = {c.contract: c.date for c in ts.columns if c.date and not ts.is_xlsx}
    if dates:
        spec["date_formats"] = dates
    values = {c.contract: {str(w): v for v, w in c.values.items()} for c in ts.columns if c.values}
    if values:
        spec["values"] = values
    if ts.constants:
        spec["constants"] = dict(ts.constants)
    if ts.generate_key:
        spec["generate_key"] = True
    return spec


def mapping_for(style: ExportStyle) -> dict:
    """Return the column mapping that reads an export written in ``style``.

    Returns
    -------
    dict
        Ready for :func:`loyalty_lib.io.load` (``mapping=``) or to be saved as YAML: the
        currency, the CSV conventions, and per table its file(s), sheet, column names, date
        formats, words to recode, constants and whether the line key is built.
    """
    spec: dict = {"currency": style.currency} if style.currency else {}
    csv = {}
    if style.sep != ",":
        csv["sep"] = style.sep
    if style.decimal != ".":
        csv["decimal"] = style.decimal
    if style.encoding not in ("utf-8", "utf-8-sig"):
        csv["encoding"] = style.encoding
    if csv:
        spec["csv"] = csv
    spec["tables"] = {ts.table: _table_mapping(ts) for ts in style.tables}
    return spec


def _mapping_text(style: ExportStyle, spec: dict, tables: list[str]) -> str:
    head = [
        f"# Column mapping for the example export '{style.name}': {style.description}.",
        "# Written by loyalty_lib.synth.export (tools/make_examples.py); see docs/own_data.md.",
        f"# Tables in this export: {', '.join(tables)}.",
        "",
    ]
    body = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=110)
    return "\n".join(head) + body


def write_export(
    ds: Dataset,
    folder: str | Path,
    style: str | ExportStyle | None = None,
    *,
    force: bool = False,
    mapping_path: str | Path | None = None,
) -> Path:
    """Write a data set as a retailer's export, and the mapping that reads it back.

    Parameters
    ----------
    ds : Dataset
        Usually ``synth.generate(<realistic scenario>)``; tables the style does not list, and
        tables the data set does not have, are not written.
    folder : str or Path
        Target folder, created if needed.
    style : str or ExportStyle, optional
        A name in :data:`STYLES`; default: the data set's scenario.
    force : bool
        Replace an earlier export in ``folder`` (the files this style writes, and the
        mapping); without it a folder holding files is refused.
    mapping_path : str or Path, optional
        Where the mapping is written (default ``folder/mapping.yaml``); the file names in it
        are relative to ``folder``, the data folder it reads.

    Returns
    -------
    Path
        The mapping file written.

    Examples
    --------
    >>> import tempfile
    >>> from loyalty_lib import synth
    >>> ds = synth.generate("messy_till", n_customers=200, seed=1)
    >>> mapping = write_export(ds, tempfile.mkdtemp())
    >>> sorted(p.name for p in mapping.parent.iterdir())[:3]
    ['cheki.csv', 'karty.csv', 'klienty.csv']
    """
    style = _style(ds, style)
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not force:
        raise FileExistsError(f"{folder} already holds files; pass force=True to replace an earlier export")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for ts in style.tables:
        df = getattr(ds, ts.table)
        if df is None:
            continue
        frame = export_frame(df, ts)
        if "{month}" in ts.file:
            for old in folder.glob(ts.file.replace("{month}", "*")):
                old.unlink()
            month = df[ts.by].dt.to_period("M").to_numpy()
            for m in np.unique(month):
                _write(frame[month == m], folder / ts.file.format(month=m.strftime("%Y_%m")), ts, style)
        else:
            _write(frame, folder / ts.file, ts, style)
        written.append(ts.table)
    spec = mapping_for(style)
    spec["tables"] = {k: v for k, v in spec["tables"].items() if k in written}
    path = Path(mapping_path) if mapping_path is not None else folder / MAPPING_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_mapping_text(style, spec, written), encoding="utf-8")
    return path


def expected_tables(ds: Dataset, style: str | ExportStyle | None = None) -> dict[str, pd.DataFrame]:
    """The tables a loader should read back from :func:`write_export`, for round-trip checks.

    Each exported table keeps its exported contract columns plus the constants; ids become the
    text the export writes (zero-padded where the style pads them); a key the export leaves out
    becomes ``<transaction_id>-<n>``, ``n`` the line's place in its receipt.

    Returns
    -------
    dict of str to pandas.DataFrame
    """
    style = _style(ds, style)
    out = {}
    for ts in style.tables:
        df = getattr(ds, ts.table)
        if df is None:
            continue
        cols = [c for c in ts.columns if c.contract not in EXTRA_COLUMNS]
        t = df[[c.contract for c in cols]].copy()
        kinds = {c.name: c.kind for c in TABLES[ts.table].columns}
        for c in cols:
            if kinds[c.contract] == "id":
                s = t[c.contract]
                text = s.astype("Int64").astype("string") if pd.api.types.is_numeric_dtype(s) else s.astype("string")
                t[c.contract] = text.str.zfill(c.zfill) if c.zfill else text
        for k, v in ts.constants.items():
            t[k] = v
        if ts.generate_key:
            n = t.groupby("transaction_id", sort=False).cumcount() + 1
            t.insert(0, TABLES[ts.table].key, t["transaction_id"] + "-" + n.astype("string"))
        out[ts.table] = t.reset_index(drop=True)
    return out
