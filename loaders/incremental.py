"""What an incremental load needs to know about the graph already in a store.

A nightly extract holds new and changed rows only. Loaded on its own it would quarantine
rows about persons, identities, benefits ... that exist only in the store, and it would
derive aggregates (deaths, payment lists, address texts) from tonight's rows alone.
:class:`BaseGraph` answers the loader's questions about the stored graph by key look-ups
(never by reading whole tables), and caches every answer for the rest of the load:

* which referenced keys exist (reference checks), with the person of each stored identity
  and the account of each stored benefit;
* the stored death of a person and the identities of a person (a death arriving tonight
  goes on the person and on every one of their identities, earliest death wins, §4);
* the stored text of an address key (the smallest spelling of a key names the node);
* the stored ``PAID_TO`` edges of a benefit, as payment rows, so the payments of every
  touched benefit are re-aggregated from stored and new rows.

Any store with ``lookup_nodes`` / ``lookup_rels`` / ``tables`` (both backends) will do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ringwatch.contract import TABLES
from ringwatch.loaders.values import arrow, to_str_series

#: node label holding each referenced table's rows
TABLE_LABEL: dict[str, str] = {
    "persons": "Person",
    "identities": "Identity",
    "employers": "Employer",
    "benefits": "Benefit",
    "hospitals": "Hospital",
    "doctors": "Doctor",
}


class StoreLookup(Protocol):
    """The read side of a store an incremental load uses (both stores implement it)."""

    def lookup_nodes(
        self,
        label: str,
        values: Sequence[str] | pa.Array,
        *,
        by: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame: ...

    def lookup_rels(
        self, rel_type: str, values: Sequence[str] | pa.Array, *, by: str = "src", compact: bool = False
    ) -> pd.DataFrame: ...

    def tables(self) -> frozenset[str]: ...


def _strings(values: pd.Series | pa.Array | pa.ChunkedArray | Sequence[str]) -> pa.Array:
    """Distinct non-empty values as an Arrow string array."""
    if isinstance(values, pd.Series):
        arr: pa.Array | pa.ChunkedArray = arrow(values.dropna())
    elif isinstance(values, (pa.Array, pa.ChunkedArray)):
        arr = values
    else:
        arr = pa.array(list(values), type=pa.string())
    arr = pc.unique(pc.drop_null(pc.cast(arr, pa.string())))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.filter(pc.not_equal(pc.utf8_length(arr), 0))


class BaseGraph:
    """Cached key look-ups into the graph an incremental load is merged into.

    Parameters
    ----------
    store
        The open store (see :class:`StoreLookup`).
    """

    def __init__(self, store: StoreLookup) -> None:
        self.store = store
        self.tables: frozenset[str] = store.tables()
        self._asked: dict[str, set[str]] = {}
        self._found: dict[str, set[str]] = {}
        #: person of every stored identity looked up so far (id_number -> person_id)
        self.id_person = pd.Series([], dtype="str")
        #: account of every stored benefit looked up so far that has one
        self.benefit_account = pd.Series([], dtype="str")

    @property
    def has_data(self) -> bool:
        """Whether the store holds a loaded graph (else the load is a first, full load)."""
        return bool(self.tables)

    def existing(self, table: str, values: pd.Series | pa.Array | Sequence[str]) -> pa.Array:
        """Which of ``values`` are keys of stored ``table`` rows (nodes of its label)."""
        label = TABLE_LABEL[table]
        key = TABLES[table].key[0]
        want = _strings(values)
        asked = self._asked.setdefault(table, set())
        found = self._found.setdefault(table, set())
        new = [v for v in want.to_pylist() if v not in asked]
        if new:
            asked.update(new)
            cols = [key]
            if table == "identities":
                cols.append("person_id")
            elif table == "benefits":
                cols.append("account_no")
            rows = self.store.lookup_nodes(label, new, columns=cols)
            found.update(str(k) for k in rows[key])
            if table == "identities" and len(rows):
                add = pd.Series(rows["person_id"].to_numpy(dtype=object), index=rows["id_number"].to_numpy())
                self.id_person = _concat_series(self.id_person, add.dropna().astype("str"))
            elif table == "benefits" and len(rows):
                add = pd.Series(
                    rows["account_no"].to_numpy(dtype=object), index=rows["benefit_id"].to_numpy()
                )
                self.benefit_account = _concat_series(self.benefit_account, add.dropna().astype("str"))
        hit = [v for v in want.to_pylist() if v in found]
        return pa.array(hit, type=pa.string())

    # -- deaths -------------------------------------------------------------------------------
    def merge_deaths(self, new: pd.DataFrame, touched: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Combine tonight's deaths with the stored ones (earliest wins, §4).

        Parameters
        ----------
        new
            ``person_id``, ``death_date``, ``death_source`` from tonight's ``deaths`` rows
            (one row per person, as :func:`~ringwatch.semantics.earliest_deaths` gives).
        touched
            Persons whose nodes or identities tonight's load writes (their death must be
            attached to the new rows too).

        Returns
        -------
        (dead, changed)
            ``dead``: the death of every touched or newly dead person who has one (stored or
            new, earliest by date then source); ``changed``: the persons among them whose
            death differs from the stored one (their stored identities need the update).
        """
        cols = ["person_id", "death_date", "death_source"]
        people = _strings(pd.concat([new["person_id"].astype(object), touched.astype(object)]))
        stored = self.store.lookup_nodes("Person", people, columns=cols)
        stored = stored[stored["death_date"].notna()]
        both = pd.concat([stored.assign(_old=True), new[cols].assign(_old=False)], ignore_index=True).astype(
            {"person_id": "str", "death_source": object}
        )
        both["death_date"] = pd.to_datetime(both["death_date"]).astype("datetime64[us]")
        both = both.sort_values(
            ["person_id", "death_date", "death_source", "_old"],
            ascending=[True, True, True, False],
            kind="mergesort",
        )
        dead = both.drop_duplicates("person_id", keep="first")
        changed = dead.loc[~dead["_old"].to_numpy(dtype=bool), "person_id"]
        # a new row equal to the stored death is no change
        same = dead[["person_id", "death_date", "death_source"]].merge(stored[cols], on=cols, how="inner")[
            "person_id"
        ]
        changed = changed[~changed.isin(set(same))]
        return dead[cols].reset_index(drop=True), pd.DataFrame({"person_id": changed.to_numpy(dtype=object)})

    def identities_of(self, persons: pd.Series) -> pd.DataFrame:
        """``id_number``, ``person_id`` of the stored identities of ``persons``."""
        return self.store.lookup_nodes(
            "Identity", _strings(persons), by="person_id", columns=["id_number", "person_id"]
        )

    # -- addresses ------------------------------------------------------------------------------
    def addresses(self, keys: pd.Series) -> pd.DataFrame:
        """``address_key``, ``address`` of the stored ``Address`` nodes among ``keys``."""
        return self.store.lookup_nodes("Address", _strings(keys), columns=["address_key", "address"])

    # -- payments -------------------------------------------------------------------------------
    def benefits_paying(self, payment_ids: pd.Series) -> pa.Array:
        """Benefits whose stored ``PAID_TO`` edges hold any of ``payment_ids`` (a payment may move)."""
        got = self.store.lookup_rels("PAID_TO", _strings(payment_ids), by="payment_ids")
        return _strings(got["src"]) if len(got) else pa.array([], type=pa.string())

    def stored_payments(self, benefits: pa.Array) -> pd.DataFrame:
        """The payments stored on the ``PAID_TO`` edges of ``benefits``, one row per payment.

        Columns ``payment_id``, ``benefit_id``, ``month``, ``amount``, ``account_no``; rows
        edge by edge in stored list order (month, then the order the rows were loaded in).
        """
        edges = self.store.lookup_rels("PAID_TO", benefits, by="src", compact=True)
        ids = _list_column(edges["payment_ids"], pa.string())
        months = _list_column(edges["months"], pa.string())
        amounts = _list_column(edges["amounts"], pa.float64())
        parent = pc.list_parent_indices(ids)
        idx = pd.RangeIndex(len(parent))
        src = pa.array(edges["src"], type=pa.string())
        dst = pa.array(edges["dst"], type=pa.string())
        return pd.DataFrame(
            {
                "payment_id": to_str_series(pa.chunked_array([pc.list_flatten(ids)]), idx),
                "benefit_id": to_str_series(pa.chunked_array([src.take(parent)]), idx),
                "month": to_str_series(pa.chunked_array([pc.list_flatten(months)]), idx),
                "amount": pd.Series(
                    pc.list_flatten(amounts).to_numpy(zero_copy_only=False), index=idx, dtype="float64"
                ),
                "account_no": to_str_series(pa.chunked_array([dst.take(parent)]), idx),
            }
        )

    def benefit_accounts(self, benefits: pa.Array) -> pd.Series:
        """Stored ``account_no`` of ``benefits`` (index benefit_id; benefits without one left out)."""
        self.existing("benefits", benefits)
        acc = self.benefit_account
        return acc[index_in(acc.index, benefits)]


def index_in(index: pd.Index, values: pa.Array | pd.Index) -> np.ndarray:
    """Boolean mask: each label of a string ``index`` is one of ``values`` (in Arrow, fast)."""
    if not len(index):
        return np.zeros(0, dtype=bool)
    if isinstance(values, pd.Index):
        values = pa.array(values.to_numpy(dtype=object), type=pa.string())
    labels = pa.array(index.to_numpy(dtype=object), type=pa.string())
    found = pc.fill_null(pc.is_in(labels, value_set=values.cast(pa.string())), False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _list_column(values: pd.Series, item: pa.DataType) -> pa.Array:
    """A list column as one Arrow list array (zero-copy for Arrow-backed columns)."""
    arr = pa.array(values) if isinstance(values.dtype, pd.ArrowDtype) else pa.array(list(values))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    target = pa.list_(item)
    if not len(arr):
        return pa.array([], type=target)
    return arr if arr.type == target else arr.cast(target)


def _concat_series(a: pd.Series, b: pd.Series) -> pd.Series:
    """``a`` plus the entries of ``b`` whose index is not in ``a`` yet."""
    if not len(a):
        return b
    return pd.concat([a, b[~index_in(b.index, a.index)]])
