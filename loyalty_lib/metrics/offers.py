"""Personalised offers: what to offer each customer next, why, through which channel, and does it work.

The product recommender and its baselines take the receipt lines (``transaction_items`` joined
to ``transactions``); :func:`next_best_offers` adds the triggered offers (replenishment, birthday,
win-back, up-sell, personal discount) and picks a channel. Everything runs on integer codes,
sparse matrices (:mod:`scipy.sparse`) and numpy reductions; scoring goes through customers in
batches, so memory stays bounded at a million customers and no loop runs per customer.

Offline evaluation (:func:`evaluate_recommendations`) splits time: the recommender learns on the
receipts before a day and is judged on what each customer bought after it, against two
baselines a shop would use without it (the most popular products; what the customer bought
last).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from loyalty_lib.stats import check_columns, mean_frame

__all__ = [
    "OFFER_TYPES",
    "LineHistory",
    "association_rules",
    "coded_line_history",
    "evaluate_recommendations",
    "interaction_matrix",
    "item_similarity",
    "last_bought",
    "line_history",
    "next_best_offers",
    "popular_products",
    "recommend_products",
]

#: Offer types :func:`next_best_offers` proposes (the contract's ``offers.offer_type`` values).
OFFER_TYPES = (
    "replenishment",
    "cross_sell",
    "similar_clients",
    "up_sell",
    "birthday",
    "win_back",
    "personal_discount",
)

_DAY_NS = 86_400 * 10**9


def line_history(
    transaction_items: pd.DataFrame,
    transactions: pd.DataFrame,
    products: pd.DataFrame | None = None,
    *,
    start=None,
    end=None,
) -> pd.DataFrame:
    """Receipt lines of identified customers with their date (and category when a catalogue is given).

    Parameters
    ----------
    transaction_items : pandas.DataFrame
        Lines: ``transaction_id, product_id`` (``line_amount`` optional).
    transactions : pandas.DataFrame
        Receipts: ``transaction_id, customer_id, date``; anonymous receipts are left out.
    products : pandas.DataFrame, optional
        Catalogue: ``product_id, category`` (``is_premium``, ``replenishment_days`` optional).
    start, end : str or Timestamp, optional
        Keep receipts in ``[start, end)``.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, transaction_id, date, product_id`` (+ ``line_amount``, ``category``), in
        the order of the lines table.

    Examples
    --------
    >>> items = pd.DataFrame({"transaction_id": ["t1", "t1", "t2"], "product_id": ["p", "q", "p"]})
    >>> tx = pd.DataFrame({"transaction_id": ["t1", "t2"], "customer_id": ["a", None],
    ...                    "date": pd.to_datetime(["2026-01-02", "2026-01-03"])})
    >>> line_history(items, tx)["product_id"].tolist()
    ['p', 'q']
    """
    check_columns(transaction_items, ["transaction_id", "product_id"], "line_history", table="transaction_items")
    check_columns(transactions, ["transaction_id", "customer_id", "date"], "line_history", table="transactions")
    tx = transactions[["transaction_id", "customer_id", "date"]]
    tx = tx[tx["customer_id"].notna()]
    if start is not None:
        tx = tx[tx["date"] >= pd.Timestamp(start)]
    if end is not None:
        tx = tx[tx["date"] < pd.Timestamp(end)]
    pos = pd.Index(tx["transaction_id"]).get_indexer(transaction_items["transaction_id"])
    keep = pos >= 0
    out = pd.DataFrame(
        {
            "customer_id": tx["customer_id"].to_numpy()[pos[keep]],
            "transaction_id": transaction_items["transaction_id"].to_numpy()[keep],
            "date": tx["date"].to_numpy()[pos[keep]],
            "product_id": transaction_items["product_id"].to_numpy()[keep],
        }
    )
    if "line_amount" in transaction_items:
        out["line_amount"] = transaction_items["line_amount"].to_numpy()[keep]
    if products is not None:
        check_columns(products, ["product_id", "category"], "line_history", table="products")
        cat = pd.Index(products["product_id"]).get_indexer(out["product_id"])
        out["category"] = np.where(cat >= 0, products["category"].to_numpy()[np.maximum(cat, 0)], None)
    return out


@dataclass(frozen=True)
class LineHistory:
    """Receipt lines of identified customers as small integer codes, and what each code stands for.

    ``lines`` has the columns of :func:`line_history` (``customer_id, transaction_id, date,
    product_id, category``) holding codes instead of text: ``customer_id`` is the customer's row
    in the customers table, ``transaction_id`` the receipt's row in the receipts table,
    ``product_id`` the product's position in :attr:`products`, ``category`` the category's in
    :attr:`categories` (missing for a product outside the catalogue). Every function of this
    module takes them as they are; the labels turn the codes back into ids for people.
    """

    lines: pd.DataFrame
    customers: pd.Index
    products: pd.Index
    categories: pd.Index

    def label(self, frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
        """``frame`` with some code columns turned back into ids.

        Parameters
        ----------
        frame : pandas.DataFrame
            A table holding codes (the lines, a rules table, a recommendation list).
        columns : mapping of str to str
            Column name to the kind of code it holds: ``customer``, ``product`` or ``category``.

        Returns
        -------
        pandas.DataFrame
            A copy with those columns as ids.
        """
        names = {"customer": self.customers, "product": self.products, "category": self.categories}
        return frame.assign(
            **{
                col: np.asarray(names[kind], dtype=object)[frame[col].to_numpy(dtype=np.int64)]
                for col, kind in columns.items()
            }
        )


def coded_line_history(ds, *, end=None, backend="auto") -> LineHistory:
    """The receipt lines of identified customers of a data set, as codes (:class:`LineHistory`).

    The same lines, in the same order, as :func:`line_history`, but as four integer columns
    and a small category code instead of text ids: at a million customers (31M lines) about
    0.6 GB instead of several GB. The join runs in the engine
    (:func:`loyalty_lib.engine.aggregates.receipt_lines`): on DuckDB straight from a report
    snapshot's Parquet files when the receipts reach the engine's size (``backend="auto"``),
    in memory otherwise.

    Parameters
    ----------
    ds : loyalty_lib.dataset.Dataset
        With ``transactions``, ``transaction_items``, ``customers`` and ``products``.
    end : date-like, optional
        Keep receipts dated before it.
    backend : str
        As the engine's functions take it (``auto``, ``pandas``, ``duckdb``).

    Returns
    -------
    LineHistory

    Examples
    --------
    >>> from loyalty_lib import synth
    >>> h = coded_line_history(synth.generate(n_customers=200, seed=1))
    >>> h.lines.columns.tolist(), str(h.lines["product_id"].dtype)
    (['customer_id', 'transaction_id', 'date', 'product_id', 'category'], 'int32')
    """
    from loyalty_lib.engine import aggregates

    folder = getattr(ds, "_folder", None)
    tx_file = Path(folder) / "transactions.parquet" if folder is not None else None
    on_files = tx_file is not None and tx_file.is_file() and (Path(folder) / "transaction_items.parquet").is_file()
    if on_files and aggregates.resolve(backend, aggregates._n_rows(tx_file)) is not None:
        items, receipts = Path(folder), Path(folder)  # the database reads the snapshot's files
    else:
        items = ds.read_columns("transaction_items", ["transaction_id", "product_id"])
        receipts = ds.transactions
    customers = ds.customers["customer_id"]
    check_columns(ds.products, ["product_id", "category"], "coded_line_history", table="products")
    raw, products = aggregates.receipt_lines(
        items, receipts, customers=customers, products=ds.products["product_id"], end=end, backend=backend
    )
    cat_code, cats = pd.factorize(ds.products["category"], sort=True)
    p = raw["product"].to_numpy()
    known = (p >= 0) & (p < len(cat_code))
    category = pd.array(np.where(known, cat_code[np.where(known, p, 0)], 0).astype(np.int16), dtype="Int16")
    category[~known | (np.where(known, cat_code[np.where(known, p, 0)], -1) < 0)] = pd.NA
    lines = pd.DataFrame(
        {
            "customer_id": raw["customer"].to_numpy(),
            "transaction_id": raw["receipt"].to_numpy(),
            "date": raw["date"].to_numpy(),
            "product_id": p,
            "category": category,
        }
    )
    return LineHistory(lines, pd.Index(customers), products, pd.Index(cats))


def interaction_matrix(
    lines: pd.DataFrame, *, customers=None, items=None, item: str = "product_id"
) -> tuple[sparse.csr_matrix, pd.Index, pd.Index]:
    """Customers x items sparse matrix of how many lines each customer bought of each item.

    Parameters
    ----------
    lines : pandas.DataFrame
        From :func:`line_history` (``customer_id`` and the item column).
    customers, items : array-like, optional
        Row and column labels (default: those in ``lines``); lines outside them are left out.
    item : str
        Item column (``product_id`` or ``category``).

    Returns
    -------
    matrix : scipy.sparse.csr_matrix
        ``(n_customers, n_items)`` line counts.
    customers, items : pandas.Index
        Row and column labels.

    Examples
    --------
    >>> m, c, i = interaction_matrix(pd.DataFrame({"customer_id": ["a", "a", "b"], "product_id": ["p", "p", "q"]}))
    >>> m.toarray().tolist(), list(c), list(i)
    ([[2.0, 0.0], [0.0, 1.0]], ['a', 'b'], ['p', 'q'])
    """
    check_columns(lines, ["customer_id", item], "interaction_matrix", table="receipt lines")
    cust = pd.Index(pd.unique(lines["customer_id"])) if customers is None else pd.Index(customers)
    its = pd.Index(np.sort(pd.unique(lines[item].dropna()))) if items is None else pd.Index(items)
    r, c = cust.get_indexer(lines["customer_id"]), its.get_indexer(lines[item])
    ok = (r >= 0) & (c >= 0)
    m = sparse.csr_matrix(
        (np.ones(int(ok.sum()), dtype=np.float32), (r[ok], c[ok])), shape=(len(cust), len(its)), dtype=np.float32
    )
    m.sum_duplicates()
    return m.astype(np.float64), cust, its


def association_rules(
    lines: pd.DataFrame,
    *,
    item: str = "category",
    min_support: float = 0.001,
    min_confidence: float = 0.0,
) -> pd.DataFrame:
    """Association rules "A -> B" between items bought on the same receipt, on a sparse matrix.

    With ``X`` the receipts x items 0/1 matrix, ``C = X'X`` counts the receipts holding both
    items of each pair: support = C[a, b] / receipts, confidence = C[a, b] / C[a, a] (the share of
    receipts with A that also hold B), lift = confidence / support of B (above 1: bought together
    more often than chance).

    Parameters
    ----------
    lines : pandas.DataFrame
        ``transaction_id`` and the item column.
    item : str
        ``category`` (cross-sell between categories) or ``product_id``.
    min_support, min_confidence : float
        Rules below either are left out.

    Returns
    -------
    pandas.DataFrame
        ``antecedent, consequent, n_both, support, confidence, lift``, by lift (highest first).

    Examples
    --------
    >>> l = pd.DataFrame({"transaction_id": [1, 1, 2, 2, 3, 4], "category": ["a", "b", "a", "b", "a", "c"]})
    >>> r = association_rules(l).set_index(["antecedent", "consequent"])
    >>> r.loc[("a", "b"), ["support", "confidence", "lift"]].tolist()  # 2/4; 2/3; (2/3) / (2/4)
    [0.5, 0.6666666666666666, 1.3333333333333333]
    """
    check_columns(lines, ["transaction_id", item], "association_rules", table="receipt lines")
    rec, rec_idx = pd.factorize(lines["transaction_id"])
    it, it_idx = pd.factorize(lines[item])
    ok = it >= 0
    x = sparse.csr_matrix((np.ones(int(ok.sum())), (rec[ok], it[ok])), shape=(len(rec_idx), len(it_idx)))
    x.data[:] = 1.0  # a line counted twice on one receipt is still one receipt
    x.sum_duplicates()
    x.data[:] = 1.0
    c = (x.T @ x).tocoo()
    n = float(len(rec_idx))
    diag = np.asarray(x.sum(axis=0)).ravel()
    keep = c.row != c.col
    a, b, both = c.row[keep], c.col[keep], c.data[keep]
    support = both / n
    confidence = both / diag[a]
    lift = confidence / (diag[b] / n)
    out = pd.DataFrame(
        {
            "antecedent": np.asarray(it_idx)[a],
            "consequent": np.asarray(it_idx)[b],
            "n_both": both.astype(np.int64),
            "support": support,
            "confidence": confidence,
            "lift": lift,
        }
    )
    out = out[(out["support"] >= min_support) & (out["confidence"] >= min_confidence)]
    return out.sort_values(["lift", "n_both"], ascending=False, kind="stable").reset_index(drop=True)


def item_similarity(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    """Cosine similarity between the item columns of a customers x items matrix (0 on the diagonal).

    Two products are similar when the same customers buy them ("clients like you bought").

    Parameters
    ----------
    matrix : scipy.sparse matrix
        From :func:`interaction_matrix`; counts are read as bought / not bought.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n_items, n_items)``.

    Examples
    --------
    >>> m = sparse.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1.0]]))
    >>> np.round(item_similarity(m).toarray(), 3).tolist()  # p,q: 2 / sqrt(2 * 3)
    [[0.0, 0.816, 0.0], [0.816, 0.0, 0.577], [0.0, 0.577, 0.0]]
    """
    b = sparse.csr_matrix(matrix, copy=True)
    b.data[:] = 1.0
    norms = np.sqrt(np.asarray(b.sum(axis=0)).ravel())
    inv = sparse.diags(np.where(norms > 0, 1 / np.maximum(norms, 1e-12), 0.0))
    s = (inv @ (b.T @ b) @ inv).tocsr()
    s.setdiag(0.0)
    s.eliminate_zeros()
    return s


def popular_products(lines: pd.DataFrame, *, k: int = 10, labels: Sequence | None = None) -> pd.Index:
    """The ``k`` products on most receipt lines (ties by product id).

    Parameters
    ----------
    lines : pandas.DataFrame
        ``product_id`` of each line.
    k : int
        Products returned.
    labels : sequence, optional
        When ``product_id`` holds codes (:class:`LineHistory`), the id of each code: ties are
        broken by the id, as on the ids themselves; the codes are returned.

    Returns
    -------
    pandas.Index
        Product ids (or codes), most lines first.

    Examples
    --------
    >>> popular_products(pd.DataFrame({"product_id": [1, 0, 1, 0, 2]}), k=2, labels=["b", "a", "c"]).tolist()
    [1, 0]
    """
    counts = lines.groupby("product_id").size()
    if labels is None:
        counts = counts.sort_index(kind="stable")
    else:
        counts = counts.iloc[np.argsort(np.asarray(labels, dtype=object)[counts.index.to_numpy()], kind="stable")]
    counts = counts.sort_values(ascending=False, kind="stable")
    return counts.index[:k]


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores of each row, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def recommend_products(
    matrix: sparse.spmatrix,
    similarity: sparse.spmatrix,
    *,
    k: int = 10,
    prior_weight: float = 2.0,
    neighbour_share: float = 0.5,
    exclude_bought: bool = False,
    batch: int = 5_000,
) -> pd.DataFrame:
    """Top-``k`` products per customer: their own habit, shrunk towards what similar buyers buy.

    The score of product ``i`` for customer ``u`` is the expected share of ``i`` among ``u``'s
    next lines: ``(n_ui + a * prior_ui) / (n_u + a)``, with ``n_ui`` the lines of ``i`` the
    customer bought, ``n_u`` all their lines, ``a = prior_weight`` pseudo-lines, and the prior a
    mix of "clients like you" (the customer's history times the item similarity, normalised;
    weight ``neighbour_share``) and the products' popularity. A customer with a long history is
    scored mostly on it, a new one mostly on the prior. The reason of each recommendation is the
    part that contributed most: ``bought before``, ``clients like you`` or ``popular``.

    Parameters
    ----------
    matrix : scipy.sparse matrix
        Customers x products line counts (:func:`interaction_matrix`).
    similarity : scipy.sparse matrix
        Products x products (:func:`item_similarity`).
    k : int
        Products per customer.
    prior_weight, neighbour_share : float
        Pseudo-lines of the prior, and the share of it from similar buyers (rest: popularity).
    exclude_bought : bool
        Leave out products the customer already bought (for "new to you" offers).
    batch : int
        Customers scored at once (memory: ``batch x products`` floats).

    Returns
    -------
    pandas.DataFrame
        ``row`` (customer row of ``matrix``), ``item`` (product column), ``rank`` (1 = best),
        ``score``, ``reason``.

    Examples
    --------
    Customer 0 bought product 0 three times; "clients like you" leans to product 2 (its cosine
    with product 0 is 0.71, product 1's 0.5), popularity to product 1 (2 lines against 1):
    (0 + 0.586 + 0.143) / 5 beats (0 + 0.414 + 0.286) / 5.

    >>> m = sparse.csr_matrix(np.array([[3.0, 0, 0], [0, 1, 0], [1, 1, 1]]))
    >>> r = recommend_products(m, item_similarity(m), k=2)
    >>> r[r["row"] == 0][["item", "reason"]].values.tolist()
    [[0, 'bought before'], [2, 'clients like you']]
    """
    m = sparse.csr_matrix(matrix)
    s = sparse.csr_matrix(similarity)
    n_c, n_p = m.shape
    pop = np.asarray(m.sum(axis=0)).ravel()
    pop = pop / max(pop.sum(), 1e-12)
    frames = []
    for lo in range(0, n_c, batch):  # batches of customers, each scored as one matrix
        h = m[lo : lo + batch].toarray()
        n_u = h.sum(axis=1, keepdims=True)
        near = np.asarray((m[lo : lo + batch] @ s).todense())
        tot = near.sum(axis=1, keepdims=True)
        near = np.where(tot > 0, near / np.where(tot > 0, tot, 1.0), pop[None, :])
        w_near, w_pop = prior_weight * neighbour_share, prior_weight * (1 - neighbour_share)
        score = (h + w_near * near + w_pop * pop[None, :]) / (n_u + prior_weight)
        if exclude_bought:
            score[h > 0] = -np.inf
        top = _top_k(score, k)
        rows = np.repeat(np.arange(lo, lo + len(h)), top.shape[1])
        flat = top.ravel()
        local = rows - lo
        # the reason: the largest of the three parts of the chosen products' scores
        why = np.argmax(np.vstack([h[local, flat], w_near * near[local, flat], w_pop * pop[flat]]), axis=0)
        sc = score[local, flat]
        ok = np.isfinite(sc)
        frames.append(
            pd.DataFrame(
                {
                    "row": rows[ok],
                    "item": flat[ok],
                    "rank": np.tile(np.arange(1, top.shape[1] + 1), len(h))[ok],
                    "score": sc[ok],
                    "reason": np.array(["bought before", "clients like you", "popular"])[why[ok]],
                }
            )
        )
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["row", "item", "rank", "score", "reason"])
    )


def _first_of_each(key: np.ndarray) -> np.ndarray:
    """Position of the first occurrence of each distinct value of ``key``, in the order of the values.

    What ``numpy.unique(key, return_index=True)[1]`` returns, from one stable argsort.
    """
    if not len(key):
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    k = key[order]
    return order[np.r_[True, k[1:] != k[:-1]]]


def last_bought(lines: pd.DataFrame, *, k: int = 10, fill: Sequence | None = None) -> pd.DataFrame:
    """Baseline "what they bought last": each customer's products, most recently bought first.

    Parameters
    ----------
    lines : pandas.DataFrame
        ``customer_id, date, product_id`` (from :func:`line_history`).
    k : int
        Products per customer.
    fill : sequence, optional
        Products to fill a short list with, in order (e.g. the most popular); ``None``: no fill.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, product_id, rank``.

    Examples
    --------
    >>> l = pd.DataFrame({"customer_id": ["a", "a", "a"], "product_id": ["p", "q", "p"],
    ...                   "date": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"])})
    >>> last_bought(l, k=3, fill=["z", "p"])["product_id"].tolist()
    ['p', 'q', 'z']
    """
    check_columns(lines, ["customer_id", "date", "product_id"], "last_bought", table="receipt lines")
    c, c_idx = pd.factorize(lines["customer_id"])
    p, p_idx = pd.factorize(lines["product_id"])
    t = lines["date"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    order = np.lexsort((-t, c))  # each customer's lines, latest first
    key = c[order].astype(np.int64) * (len(p_idx) + 1) + p[order]
    first = np.sort(_first_of_each(key))  # latest line of each (customer, product)
    cc, pp = c[order][first], p[order][first]
    if fill is not None and len(fill):
        f_codes = pd.Index(p_idx).get_indexer(pd.Index(fill))
        new = f_codes < 0  # products to fill with that nobody in lines bought
        p_idx = pd.Index(list(p_idx) + [x for x, n in zip(fill, new, strict=True) if n])
        f_codes[new] = np.arange(len(p_idx) - int(new.sum()), len(p_idx))
        n_c = len(c_idx)
        cc = np.r_[cc, np.repeat(np.arange(n_c), len(f_codes))]
        pp = np.r_[pp, np.tile(f_codes, n_c)]
        o = np.r_[np.zeros(len(first)), np.ones(n_c * len(f_codes))]
        srt = np.lexsort((np.arange(len(cc)), o, cc))
        cc, pp = cc[srt], pp[srt]
        keep = np.sort(_first_of_each(cc.astype(np.int64) * (len(p_idx) + 1) + pp))
        cc, pp = cc[keep], pp[keep]
    starts = np.r_[0, np.flatnonzero(np.diff(cc)) + 1]
    rank = np.arange(len(cc)) - np.repeat(starts, np.diff(np.r_[starts, len(cc)])) + 1
    ok = rank <= k
    return pd.DataFrame(
        {"customer_id": np.asarray(c_idx)[cc[ok]], "product_id": np.asarray(p_idx)[pp[ok]], "rank": rank[ok]}
    )


def evaluate_recommendations(
    recommendations: Mapping[str, pd.DataFrame],
    test_lines: pd.DataFrame,
    *,
    k: int,
    n_products: int,
    customers=None,
    level: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hit rate, precision@k, recall@k and NDCG@k of several recommenders, with intervals.

    Each customer in ``customers`` (default: everyone who bought in the test period) is one
    draw; the intervals are Student-t over customers, and the second frame compares every
    method with every other on the same customers (paired differences), so "A beats B" has its
    own interval.

    Parameters
    ----------
    recommendations : mapping of str to pandas.DataFrame
        Method name to ``customer_id, product_id, rank`` (rank 1 = best).
    test_lines : pandas.DataFrame
        What customers bought after the split: ``customer_id, product_id``.
    k : int
        Length of the lists judged.
    n_products : int
        Catalogue size, for the coverage (share of products recommended to anyone).
    customers : array-like, optional
        Customers judged.
    level : float
        Confidence level.

    Returns
    -------
    summary : pandas.DataFrame
        Rows ``(method, metric)`` for ``hit_rate, precision, recall, ndcg``: ``estimate, ci_low,
        ci_high, n``; plus a ``coverage`` row per method (no interval).
    paired : pandas.DataFrame
        Rows ``(method, baseline, metric)``: the mean per-customer difference with its interval.

    Examples
    --------
    >>> recs = {"m": pd.DataFrame({"customer_id": ["a", "a", "b"], "product_id": ["p", "q", "p"], "rank": [1, 2, 1]})}
    >>> test = pd.DataFrame({"customer_id": ["a", "b", "b"], "product_id": ["q", "r", "s"]})
    >>> s, _ = evaluate_recommendations(recs, test, k=2, n_products=4)
    >>> s.loc[("m", "precision"), "estimate"], s.loc[("m", "recall"), "estimate"]  # a: 1/2 and 1/1; b: 0 and 0
    (np.float64(0.25), np.float64(0.5))
    """
    check_columns(test_lines, ["customer_id", "product_id"], "evaluate_recommendations", table="test lines")
    who = pd.Index(pd.unique(test_lines["customer_id"]) if customers is None else pd.unique(np.asarray(customers)))
    prod = pd.Index(
        pd.unique(
            np.concatenate(
                [test_lines["product_id"].to_numpy()] + [r["product_id"].to_numpy() for r in recommendations.values()]
            )
        )
    )
    tc, tp = who.get_indexer(test_lines["customer_id"]), prod.get_indexer(test_lines["product_id"])
    tkey = np.sort(tc[tc >= 0].astype(np.int64) * len(prod) + tp[tc >= 0])
    tkey = tkey[np.r_[True, tkey[1:] != tkey[:-1]]] if len(tkey) else tkey  # sorted, each pair once
    n_rel = np.bincount(tkey // len(prod), minlength=len(who)).astype(float)
    disc = 1 / np.log2(np.arange(2, k + 2))
    idcg = np.cumsum(disc)[np.minimum(np.maximum(n_rel, 1), k).astype(int) - 1]
    per, coverage = {}, {}
    for name, rec in recommendations.items():
        check_columns(rec, ["customer_id", "product_id", "rank"], "evaluate_recommendations", table=name)
        r = rec[rec["rank"] <= k]
        rc = who.get_indexer(r["customer_id"])
        r, rc = r[rc >= 0], rc[rc >= 0]
        coverage[name] = r["product_id"].nunique() / n_products if n_products else np.nan
        rkey = rc.astype(np.int64) * len(prod) + prod.get_indexer(r["product_id"])
        hit = np.zeros(len(rkey), dtype=bool)
        if len(tkey):  # a binary search in the sorted test pairs
            hit = tkey[np.minimum(np.searchsorted(tkey, rkey), len(tkey) - 1)] == rkey
        hits = np.bincount(rc[hit], minlength=len(who)).astype(float)
        dcg = np.bincount(rc[hit], disc[r["rank"].to_numpy()[hit] - 1], minlength=len(who))
        with np.errstate(divide="ignore", invalid="ignore"):
            per[name] = pd.DataFrame(
                {
                    "hit_rate": (hits > 0).astype(float),
                    "precision": hits / k,
                    "recall": np.where(n_rel > 0, hits / n_rel, np.nan),
                    "ndcg": np.where(n_rel > 0, dcg / idcg, np.nan),
                },
                index=who,
            )
    rows = []
    for name, f in per.items():
        for metric in f.columns:
            e = mean_frame(f[metric].to_numpy(), level=level).iloc[0]
            rows.append((name, metric, e.estimate, e.ci_low, e.ci_high, int(e.n)))
        rows.append((name, "coverage", coverage[name], np.nan, np.nan, int(n_products)))
    summary = pd.DataFrame(rows, columns=["method", "metric", "estimate", "ci_low", "ci_high", "n"]).set_index(
        ["method", "metric"]
    )
    pairs = []
    for a in per:
        for b in per:
            if a == b:
                continue
            for metric in per[a].columns:
                e = mean_frame((per[a][metric] - per[b][metric]).to_numpy(), level=level).iloc[0]
                pairs.append((a, b, metric, e.estimate, e.ci_low, e.ci_high, int(e.n)))
    paired = pd.DataFrame(pairs, columns=["method", "baseline", "metric", "estimate", "ci_low", "ci_high", "n"])
    return summary, paired.set_index(["method", "baseline", "metric"])


def _receipt_stats(code: np.ndarray, date: pd.Series, amount: np.ndarray, n: int, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per customer code before ``as_of``: receipts, days since the latest and the earliest, spend by 90 days."""
    before = (date < as_of).to_numpy() & (code >= 0)
    c = code[before]
    t = (as_of - date[before]).dt.total_seconds().to_numpy() / 86400
    a = amount[before]
    last = np.full(n, np.inf)  # days since the latest receipt
    first = np.zeros(n)  # days since the earliest receipt
    if len(c):
        o = np.lexsort((t, c))  # each customer's receipts, latest first
        starts = np.r_[0, np.flatnonzero(np.diff(c[o])) + 1]
        ends = np.r_[starts[1:], len(o)] - 1
        last[c[o][starts]] = t[o][starts]
        first[c[o][ends]] = t[o][ends]
    return pd.DataFrame(
        {
            "receipts": np.bincount(c, minlength=n),
            "days_since_last": last,
            "days_since_first": first,
            "spend_recent": np.bincount(c, np.where(t <= 90, a, 0.0), minlength=n),
            "spend_before": np.bincount(c, np.where((t > 90) & (t <= 180), a, 0.0), minlength=n),
        }
    )


def _pair_groups(c: np.ndarray, p: np.ndarray, day: np.ndarray, cat_code: np.ndarray, n_p: int) -> dict:
    """The (customer, product) pairs of the lines, sorted by customer, category and product, in one sort.

    Returns arrays, one entry per pair: ``c, p``; ``lines`` (lines of the pair), ``days``
    (distinct days), ``first_day, last_day``; ``first`` (the position of its first line, which
    breaks ties as the order of first appearance would); ``k`` (the product's category code).
    """
    rank = np.empty(n_p, dtype=np.int64)
    rank[np.lexsort((np.arange(n_p), cat_code))] = np.arange(n_p)  # products by category, then code
    by_rank = np.argsort(rank)
    d0 = int(day.min()) if len(day) else 0
    n_days = int(day.max()) - d0 + 1 if len(day) else 1
    key = (c.astype(np.int64) * n_p + rank[p]) * n_days + (day - d0)
    order = np.argsort(key)
    key = key[order]
    pair = key // n_days
    start = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if len(key) else np.zeros(0, dtype=np.int64)
    end = np.r_[start[1:], len(key)]
    new_day = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
    day_sorted = key % n_days + d0
    pc = pair[start]
    del key, pair
    out = {
        "c": (pc // n_p).astype(np.int64),
        "p": by_rank[pc % n_p],
        "lines": end - start,
        "days": np.add.reduceat(new_day.astype(np.int64), start) if len(start) else np.zeros(0, np.int64),
        "first_day": day_sorted[start],
        "last_day": day_sorted[end - 1] if len(start) else np.zeros(0, np.int64),
        "first": np.minimum.reduceat(order, start) if len(start) else np.zeros(0, np.int64),
    }
    out["k"] = cat_code[out["p"]]
    return out


def _best_per_customer(c: np.ndarray, score: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Mask of the row with the highest ``score`` of each customer (rows grouped by ``c``); ties: smallest ``first``.

    The row a stable sort by ``score`` (highest first) would put first for each customer, were the
    rows in the order of ``first``; found by reductions over each customer's rows, without a sort.
    """
    if not len(c):
        return np.zeros(0, dtype=bool)
    start = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    size = np.diff(np.r_[start, len(c)])
    top = score == np.repeat(np.maximum.reduceat(score, start), size)
    f = np.where(top, first, np.iinfo(np.int64).max)
    return top & (f == np.repeat(np.minimum.reduceat(f, start), size))


def _first_rule_not_bought(
    c: np.ndarray, a: np.ndarray, rules: pd.DataFrame, bought: np.ndarray, n_p: int
) -> pd.DataFrame:
    """Per customer ``c`` with favourite ``a``: the first rule "a -> b" (in the rules' order) whose b they never bought.

    ``bought`` are the sorted keys ``customer * n_p + product`` of what each bought. One step per
    position in a product's list of rules, over the customers still without a rule.
    """
    ant, con = rules["antecedent"].to_numpy(np.int64), rules["consequent"].to_numpy(np.int64)
    by_ant = np.argsort(ant, kind="stable")  # each antecedent's rules, in the rules' order
    lo = np.searchsorted(ant[by_ant], np.arange(n_p), "left")
    hi = np.searchsorted(ant[by_ant], np.arange(n_p), "right")
    who = np.flatnonzero(lo[a] < hi[a])
    chosen_c, chosen_rule = [], []
    j = 0
    while len(who):
        at = lo[a[who]] + j
        live = at < hi[a[who]]
        who, at = who[live], at[live]
        rule = by_ant[at]
        key = c[who].astype(np.int64) * n_p + con[rule]
        pos = np.minimum(np.searchsorted(bought, key), len(bought) - 1)
        new = bought[pos] != key
        chosen_c.append(c[who[new]])
        chosen_rule.append(rule[new])
        who = who[~new]
        j += 1
    rule = np.concatenate(chosen_rule) if chosen_rule else np.zeros(0, dtype=np.int64)
    out = rules.iloc[rule].reset_index(drop=True)
    out.insert(0, "c", np.concatenate(chosen_c) if chosen_c else np.zeros(0, dtype=np.int64))
    return out


def _category_groups(grp: dict, cat_code: np.ndarray, premium: np.ndarray) -> pd.DataFrame:
    """(customer, category) pairs from the (customer, product) pairs: lines, premium lines, first line."""
    ck = grp["c"] * (int(cat_code.max()) + 2 if len(cat_code) else 1) + (grp["k"] + 1)
    start = np.flatnonzero(np.r_[True, ck[1:] != ck[:-1]]) if len(ck) else np.zeros(0, dtype=np.int64)
    if not len(start):
        return pd.DataFrame({"c": [], "k": [], "size": [], "sum": [], "first": []})
    return pd.DataFrame(
        {
            "c": grp["c"][start],
            "k": grp["k"][start],
            "size": np.add.reduceat(grp["lines"], start),
            "sum": np.add.reduceat(grp["lines"] * premium[grp["p"]], start),
            "first": np.minimum.reduceat(grp["first"], start),
        }
    )


def next_best_offers(
    lines: pd.DataFrame,
    transactions: pd.DataFrame,
    customers: pd.DataFrame,
    products: pd.DataFrame,
    *,
    as_of,
    n_offers: int = 3,
    valid_days: int = 14,
    birthday_days: int = 30,
    win_back_factor: float = 3.0,
    win_back_min_days: int = 60,
    min_lift: float = 1.1,
    type_weight: Mapping[str, float] | None = None,
    channel_weight: Mapping[str, float] | None = None,
    contacts: pd.DataFrame | None = None,
    codes: bool = False,
) -> pd.DataFrame:
    """Ranked offers per customer, each with a reason a person understands and a channel.

    Candidates (each customer gets at most one of each type, scored 0 to 1):

    - ``replenishment``: a product due again: bought on at least three days, every ``cycle``
      days on average (or fewer times, with the catalogue's ``replenishment_days``), and due
      within ``valid_days`` or overdue by less than one cycle;
    - ``cross_sell``: the product a rule "A -> B" (:func:`association_rules` on products bought on
      the same receipt, lift at least ``min_lift``) pairs with the customer's favourite product
      A, never bought by them;
    - ``similar_clients``: the best product they never bought, by "clients like you"
      (:func:`recommend_products` with ``exclude_bought``);
    - ``up_sell``: the most popular premium product of a category they bought at least three
      times, never premium;
    - ``birthday``: a birthday within ``birthday_days``;
    - ``win_back``: no purchase for ``win_back_factor`` times their usual gap (at least
      ``win_back_min_days``);
    - ``personal_discount``: spend in the last 90 days under half of the 90 before.

    A candidate's score times its offer type's weight (``type_weight``: for instance the
    response uplift each type had in past campaigns) ranks a customer's offers; the best
    ``n_offers`` are kept. The channel is the opted-in one with the highest
    ``channel_weight`` plus the customer's own past response rate in it (``contacts``: the
    offers table); without any opt-in, ``in_store`` (printed on the receipt). Ids are turned
    into integer codes once, so the work is hash lookups, sorts and sparse products.

    Parameters
    ----------
    lines : pandas.DataFrame
        Receipt lines (:func:`line_history`: ``customer_id, transaction_id, date, product_id``);
        only those before ``as_of`` count.
    transactions : pandas.DataFrame
        Receipts: ``customer_id, date, amount``.
    customers : pandas.DataFrame
        ``customer_id``; ``birthday`` and ``opt_in_*`` columns when the CRM has them.
    products : pandas.DataFrame
        Catalogue: ``product_id, category, is_premium`` (``replenishment_days`` optional).
    as_of : str or Timestamp
        The day the offers start.
    n_offers, valid_days, birthday_days, win_back_factor, win_back_min_days, min_lift
        See above.
    type_weight, channel_weight : mapping, optional
        Weights by offer type and by channel (default 1 each).
    contacts : pandas.DataFrame, optional
        Past contacts: ``customer_id, channel, group, responded``.
    codes : bool
        ``lines`` hold codes (:attr:`LineHistory.lines`, of these ``customers`` and
        ``products`` tables) instead of ids: nothing is looked up by text.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, rank, offer_type, product_id, category, reason, channel, valid_from,
        valid_to, score``, one row per offer, best first within each customer.

    Examples
    --------
    >>> cust = pd.DataFrame({"customer_id": ["a"], "birthday": pd.to_datetime(["1980-03-10"]), "opt_in_sms": [True]})
    >>> prod = pd.DataFrame({"product_id": ["p"], "category": ["tea"], "is_premium": [False]})
    >>> tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2026-01-05"]), "amount": [10.0],
    ...                    "transaction_id": ["t"]})
    >>> lines = pd.DataFrame({"customer_id": ["a"], "transaction_id": ["t"], "date": tx["date"], "product_id": ["p"]})
    >>> nbo = next_best_offers(lines, tx, cust, prod, as_of="2026-03-01")
    >>> nbo[["offer_type", "reason", "channel"]].values.tolist()
    [['birthday', 'birthday on 10 Mar', 'sms']]
    """
    check_columns(
        lines, ["customer_id", "transaction_id", "date", "product_id"], "next_best_offers", table="receipt lines"
    )
    check_columns(transactions, ["customer_id", "date", "amount"], "next_best_offers", table="transactions")
    check_columns(products, ["product_id", "category", "is_premium"], "next_best_offers", table="products")
    check_columns(customers, ["customer_id"], "next_best_offers", table="customers")
    as_of = pd.Timestamp(as_of)
    tw = {t: 1.0 for t in OFFER_TYPES} | dict(type_weight or {})
    cidx, pidx = pd.Index(customers["customer_id"]), pd.Index(products["product_id"])
    n_c, n_p = len(cidx), len(pidx)
    cat_code, cats = pd.factorize(products["category"])
    premium = products["is_premium"].fillna(False).to_numpy(dtype=bool)
    rep_days = (
        pd.to_numeric(products["replenishment_days"], errors="coerce").to_numpy(dtype=float)
        if "replenishment_days" in products
        else np.full(n_p, np.nan)
    )
    before = (lines["date"] < as_of).to_numpy()
    if codes:  # positions in customers and products already; a code past the catalogue is a product outside it
        c, p = lines["customer_id"].to_numpy()[before], lines["product_id"].to_numpy()[before]
        c, p = np.where(c < n_c, c, -1), np.where(p < n_p, p, -1)
    else:
        c, p = cidx.get_indexer(lines["customer_id"][before]), pidx.get_indexer(lines["product_id"][before])
    day = (lines["date"].to_numpy()[before].astype("datetime64[D]") - as_of.to_datetime64()) // np.timedelta64(1, "D")
    r = lines["transaction_id"].to_numpy()[before]
    ok = (c >= 0) & (p >= 0)
    c, p, day, r = c[ok], p[ok], day[ok].astype(np.int64), r[ok]
    pid = np.asarray(pidx, dtype=object)  # ids and categories by code, for the reasons
    cat_name = np.asarray(cats, dtype=object)
    cand = []

    def add(frame: pd.DataFrame, kind: str, reason, score, product=None, until=None) -> None:
        cand.append(
            pd.DataFrame(
                {
                    "c": frame["c"].to_numpy(),
                    "offer_type": kind,
                    "p": -1 if product is None else np.asarray(product),
                    "reason": reason,
                    "score": np.asarray(score, dtype=float),
                    "until": until if until is not None else pd.NaT,
                }
            )
        )

    # every (customer, product) pair the lines hold, sorted by customer, then category, then product
    grp = _pair_groups(c, p, day, cat_code, n_p)
    del day

    # replenishment: per (customer, product) purchase days; own cycle, or the catalogue's
    g = pd.DataFrame(
        {"c": grp["c"], "p": grp["p"], "min": grp["first_day"], "max": grp["last_day"], "size": grp["days"]}
    )
    own = (g["max"] - g["min"]) / (g["size"] - 1).where(g["size"] >= 3)  # a cycle needs two gaps at least
    cycle = own.fillna(pd.Series(rep_days[g["p"].to_numpy()], index=g.index))
    due_in = g["max"] + cycle  # days from as_of to the next purchase due (negative: overdue)
    ok = (cycle.notna() & (cycle >= 1) & (due_in <= valid_days) & (due_in >= -cycle)).to_numpy()
    r_ok = g[ok].assign(s=np.exp(-np.abs(due_in[ok]) / cycle[ok]), cyc=cycle[ok])
    r_ok = r_ok[_best_per_customer(r_ok["c"].to_numpy(), r_ok["s"].to_numpy(), grp["first"][ok])]
    add(
        r_ok,
        "replenishment",
        [
            f"due again: bought about every {c:.0f} days, last {-a:.0f} days ago"
            for c, a in zip(r_ok["cyc"], r_ok["max"], strict=True)
        ],
        r_ok["s"],
        r_ok["p"],
    )
    del g, own, cycle, due_in, r_ok

    # cross-sell: rules between products bought on the same receipt, from the customer's favourite product
    fav = _best_per_customer(grp["c"], grp["lines"], grp["first"])
    fav_c, fav_p = grp["c"][fav], grp["p"][fav]
    rules = association_rules(pd.DataFrame({"transaction_id": r, "p": p}), item="p")
    del r
    rules = rules[rules["lift"] >= min_lift]
    if len(rules):
        x = _first_rule_not_bought(fav_c, fav_p, rules, grp["c"].astype(np.int64) * n_p + grp["p"], n_p)
        add(
            x,
            "cross_sell",
            [
                f"clients who buy product {pid[a]} ({cat_name[cat_code[a]]}) buy product {pid[b]} "
                f"({cat_name[cat_code[b]]}) {lift:.1f} times as often as others"
                for a, b, lift in zip(x["antecedent"], x["consequent"], x["lift"], strict=True)
            ],
            x["confidence"].clip(0, 1),
            x["consequent"],
        )

    # clients like you: the best product never bought
    m = sparse.csr_matrix((grp["lines"].astype(np.float64), (grp["c"], grp["p"])), shape=(n_c, n_p))
    m.sum_duplicates()  # canonical (sorted), as interaction_matrix builds it
    if m.nnz:
        rec = recommend_products(m, item_similarity(m), k=1, exclude_bought=True, prior_weight=1.0, neighbour_share=1.0)
        rec = rec[(rec["score"] > 0) & (np.asarray(m.sum(axis=1)).ravel()[rec["row"]] > 0)]
        add(
            rec.rename(columns={"row": "c"}),
            "similar_clients",
            "clients who buy what you buy also bought it",
            rec["score"] / max(rec["score"].max(), 1e-12) if len(rec) else [],
            rec["item"],
        )
    del m

    # up-sell: a category bought at least three times, never in its premium range
    u = _category_groups(grp, cat_code, premium)
    u = u[(u["sum"] == 0) & (u["size"] >= 3)]
    pop = np.bincount(p, minlength=n_p)
    best_prem = pd.Series(np.where(premium, pop, -1)).groupby(cat_code).idxmax()
    best_prem = best_prem[premium[best_prem.to_numpy()]]  # categories that have a premium product
    u = u[u["k"].isin(best_prem.index)]
    u = u[_best_per_customer(u["c"].to_numpy(), u["size"].to_numpy(), u["first"].to_numpy())]
    add(
        u,
        "up_sell",
        [
            f"buys {cat_name[k]} often ({n} times), never the premium range"
            for k, n in zip(u["k"], u["size"], strict=True)
        ],
        np.minimum(u["size"] / 10, 1.0),
        best_prem.reindex(u["k"]).to_numpy(),
    )
    del grp, c, p

    # birthday
    if "birthday" in customers:
        bd = pd.to_datetime(customers["birthday"])
        has = bd.notna().to_numpy()
        bd = bd[has]
        day = np.where((bd.dt.month == 2) & (bd.dt.day == 29), 28, bd.dt.day)
        this = pd.to_datetime(pd.DataFrame({"year": as_of.year, "month": bd.dt.month.to_numpy(), "day": day}))
        nxt = this.where(this >= as_of, this + pd.DateOffset(years=1))
        soon = ((nxt - as_of).dt.days < birthday_days).to_numpy()
        b = pd.DataFrame({"c": np.flatnonzero(has)[soon]})
        add(
            b,
            "birthday",
            [f"birthday on {d:%d %b}" for d in nxt[soon]],
            np.ones(len(b)),
            until=(nxt[soon] + pd.Timedelta(days=7)).to_numpy(),
        )

    # win-back and personal discount, from the receipts
    from loyalty_lib.validation import _position  # Arrow's hash lookup: get_indexer on text ids is 5x slower

    st = _receipt_stats(
        _position(transactions["customer_id"], pd.Series(cidx)),
        transactions["date"],
        transactions["amount"].to_numpy(dtype=float),
        n_c,
        as_of,
    )
    gap = (st["days_since_first"] - st["days_since_last"]) / (st["receipts"] - 1).where(st["receipts"] > 1)
    wb = st[(st["receipts"] > 1) & (st["days_since_last"] > np.maximum(win_back_factor * gap, win_back_min_days))]
    wb = wb.assign(c=wb.index, gap=gap[wb.index])
    add(
        wb,
        "win_back",
        [
            f"no purchase for {d:.0f} days; usually every {x:.0f}"
            for d, x in zip(wb["days_since_last"], wb["gap"], strict=True)
        ],
        np.minimum(wb["days_since_last"] / (2 * win_back_factor * wb["gap"]), 1.0),
    )
    pdc = st[(st["spend_before"] > 0) & (st["spend_recent"] < 0.5 * st["spend_before"]) & (st["days_since_last"] <= 90)]
    pdc = pdc.assign(c=pdc.index)
    add(
        pdc,
        "personal_discount",
        [
            f"spent {a:,.0f} in the last 90 days, {b:,.0f} in the 90 before"
            for a, b in zip(pdc["spend_recent"], pdc["spend_before"], strict=True)
        ],
        1 - pdc["spend_recent"] / pdc["spend_before"],
    )

    offers = pd.concat(cand, ignore_index=True)
    offers["score"] = offers["score"] * offers["offer_type"].map(tw).fillna(1.0).to_numpy()
    offers = offers.sort_values(["c", "score"], ascending=[True, False], kind="stable")
    offers["rank"] = offers.groupby("c", sort=False).cumcount() + 1
    offers = offers[offers["rank"] <= n_offers].reset_index(drop=True)
    p = offers["p"].to_numpy(dtype=np.int64)
    channel = _best_channel(customers, channel_weight or {}, contacts)
    return pd.DataFrame(
        {
            "customer_id": cidx[offers["c"].to_numpy()],
            "rank": offers["rank"].to_numpy(),
            "offer_type": offers["offer_type"].to_numpy(),
            "product_id": np.where(p >= 0, np.asarray(pidx, dtype=object)[np.maximum(p, 0)], None),
            "category": np.where(p >= 0, np.asarray(cats, dtype=object)[cat_code[np.maximum(p, 0)]], None),
            "reason": offers["reason"].to_numpy(),
            "channel": channel[offers["c"].to_numpy()],
            "valid_from": as_of,
            "valid_to": pd.to_datetime(offers["until"]).fillna(as_of + pd.Timedelta(days=valid_days)).to_numpy(),
            "score": offers["score"].to_numpy(),
        }
    )


def _best_channel(customers: pd.DataFrame, weight: Mapping[str, float], contacts: pd.DataFrame | None) -> np.ndarray:
    """Each customer's best opted-in channel (``in_store`` without any): weight plus own past response rate."""
    chans = [c.removeprefix("opt_in_") for c in customers.columns if c.startswith("opt_in_")]
    if not chans:
        return np.full(len(customers), "in_store", dtype=object)
    opt = customers[[f"opt_in_{c}" for c in chans]].fillna(False).to_numpy(dtype=bool)
    base = np.array([float(weight.get(c, 1.0)) for c in chans])
    score = np.tile(base, (len(customers), 1))
    if contacts is not None and {"customer_id", "channel", "group", "responded"} <= set(contacts.columns):
        sent = contacts[contacts["group"] == "treatment"]
        own = sent.groupby(["customer_id", "channel"])["responded"].mean().unstack()
        own = own.reindex(index=customers["customer_id"], columns=chans).fillna(0.0).to_numpy()
        score = score + 0.5 * own * max(float(np.max(np.abs(base))), 1e-9)
    score = np.where(opt, score, -np.inf)
    best = np.asarray(chans, dtype=object)[np.argmax(score, axis=1)]
    return np.where(opt.any(axis=1), best, "in_store")
