"""Validate and normalise the rows of each contract table; quarantine the rows that break a rule.

Each table goes through the same steps, all vectorised over whole columns:

1. every string NFKC-normalised and trimmed; ID numbers upper-cased; address keys computed;
2. empty rows, cells longer than any real value, ids holding line breaks or other control
   characters, and empty required values;
3. per-column parsing by the contract's column kind (dates, months, money, whole numbers,
   enums, sex) -- a non-empty value that does not parse is a bad row;
4. table rules (ID numbers of identities, renumbering sides, payment accounts);
5. references to other tables (unknown person / identity / employer / benefit / hospital /
   doctor), checked against the rows of those tables that were loaded;
6. duplicate keys: the first remaining occurrence is kept, later ones are quarantined.

The first rule a row breaks is its quarantine ``reason`` (with the ``column``); a row is
either loaded or quarantined, never dropped. Reasons never contain cell values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from ringwatch.contract import ACCOUNT_ROLES, SEX, TABLES, Column, Table
from ringwatch.loaders.idnumber import parse_series
from ringwatch.loaders.incremental import BaseGraph, index_in
from ringwatch.loaders.reading import RawTable, column_label
from ringwatch.loaders.values import (
    address_key_series,
    arrow,
    empty,
    extra_json,
    isin,
    lookup,
    nfkc_trim,
    parse_dates,
    parse_enum,
    parse_months,
    parse_numbers,
    to_str_series,
)

SEX_ALIASES = {"男": "M", "女": "F", "male": "M", "female": "F"}

#: longest value a contract column may hold; no name, address or id comes near it
MAX_CELL_CHARS = 4096
#: longest value an extra (non-contract) column may hold (free-text remarks)
MAX_EXTRA_CELL_CHARS = 65536
_CONTROL = r"[\x00-\x1f\x7f]"


def is_identifier(col: Column) -> bool:
    """True for columns holding ids: ID numbers, phones, ``*_id`` keys and ``*_no`` account numbers."""
    return col.kind in ("id_number", "phone") or (col.kind == "str" and col.name.endswith(("_id", "_no")))


#: parse_series problems (Chinese) in plain English, for quarantine reasons
ID_PROBLEMS = {
    "长度不是15或18位": "its length is not 15 or 18 characters",
    "非数字字符": "it contains characters other than digits (and a final X)",
    "出生日期不存在": "the birth date encoded in it does not exist",
    "出生日期不合理": "the birth date encoded in it is not plausible",
}

#: what a referenced table's key names, for "unknown ..." reasons
REF_WHAT = {
    "persons": "person",
    "identities": "identity",
    "employers": "employer",
    "benefits": "benefit",
    "hospitals": "hospital",
    "doctors": "doctor",
}


@dataclass
class TableReport:
    """What happened to one input table.

    Attributes
    ----------
    table, file
        Contract table name and the file it was read from.
    rows_in
        Data rows in the file (trailing all-empty rows not counted).
    loaded, quarantined
        ``rows_in == loaded + quarantined`` always.
    reasons
        Quarantined rows per reason.
    """

    table: str
    file: str
    rows_in: int
    loaded: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class Cleaned:
    """A validated table: the loaded rows (typed) and the quarantined rows (as read)."""

    name: str
    frame: pd.DataFrame
    quarantine: pd.DataFrame
    report: TableReport


@dataclass
class Context:
    """Keys of the tables cleaned so far, for reference checks.

    ``id_person`` maps every known ID number (listed in identities or inferred from a
    renumbering) to its person_id. ``keys`` holds the loaded key values of employers,
    benefits, hospitals and doctors. A reference to a table that was not loaded at all
    is not checked (the loader creates a node with only the key instead).
    """

    loaded: frozenset[str]
    id_person: pd.Series = field(default_factory=lambda: pd.Series([], dtype="str"))
    keys: dict[str, pa.Array] = field(default_factory=dict)
    benefit_account: tuple[pa.Array, pa.Array] = (pa.array([], pa.string()), pa.array([], pa.string()))
    inferred: pd.DataFrame | None = None
    #: the graph already in the store (incremental load): its keys count as known too
    base: BaseGraph | None = None

    def set_id_person(self, id_person: pd.Series) -> None:
        """Replace the ID number -> person_id map (unique index) and its key set."""
        self.id_person = id_person
        self.keys["identities"] = pa.array(id_person.index.to_numpy(dtype=object), type=pa.string())

    def known(self, table: str, values: pd.Series | None = None) -> pa.Array | None:
        """Key values of ``table`` loaded so far; None when the table was not loaded at all.

        In an incremental load (``base``) a table counts as loaded when the store has it,
        and the stored keys among ``values`` are known as well (looked up once, cached).
        """
        if table not in self.loaded:
            return None
        own = self.keys.get(table, pa.array([], type=pa.string()))
        if self.base is None or values is None:
            return own
        missing = values[~empty(values)]
        missing = missing[~isin(missing, own)]
        if not len(missing):
            return own
        return pa.concat_arrays([own, self.base.existing(table, missing)])

    def person_map(self) -> pd.Series:
        """ID number -> person_id of tonight's identities, then of the stored ones looked up."""
        if self.base is None or not len(self.base.id_person):
            return self.id_person
        stored = self.base.id_person
        return pd.concat([self.id_person, stored[~index_in(stored.index, self.id_person.index)]])

    def account_of_benefits(self) -> tuple[pa.Array, pa.Array]:
        """(benefit_id, account_no) pairs: tonight's benefits with an account, then stored ones.

        A benefit row tonight with an empty account keeps its stored account (nulls never
        erase, as in the store).
        """
        if self.base is None or not len(self.base.benefit_account):
            return self.benefit_account
        mine, acc = self.benefit_account
        stored = self.base.benefit_account
        stored = stored[~index_in(stored.index, mine)]
        return (
            pa.concat_arrays([mine, pa.array(stored.index.to_numpy(dtype=object), type=pa.string())]),
            pa.concat_arrays([acc, pa.array(stored.to_numpy(dtype=object), type=pa.string())]),
        )


class Checker:
    """Normalised text of one table plus the per-row quarantine state."""

    def __init__(self, raw: RawTable) -> None:
        self.raw = raw
        self.table: Table = TABLES[raw.name]
        n = raw.num_rows
        self.n = n
        index = pd.RangeIndex(n)
        cols: dict[str, pd.Series] = {}
        for name, col in zip(raw.data.column_names, raw.data.columns, strict=True):
            cols[name] = to_str_series(nfkc_trim(col), index)
        self.extra_columns = [c for c in raw.data.column_names if c not in self.table.column_names]
        self.present = [c for c in self.table.column_names if c in cols]
        for c in self.table.column_names:
            if c not in cols:
                cols[c] = pd.Series([""] * n, index=index, dtype="str")
        self.cols = cols
        self.index = index
        self.bad = np.zeros(n, dtype=bool)
        self.reason = np.full(n, None, dtype=object)
        self.column = np.full(n, None, dtype=object)

    @property
    def ok(self) -> np.ndarray:
        return ~self.bad

    def flag(self, mask: np.ndarray | pd.Series, column: str | None, reason: str) -> None:
        """Quarantine the rows in ``mask`` that are not quarantined yet (first reason wins)."""
        m = np.asarray(mask, dtype=bool) & ~self.bad
        if not m.any():
            return
        self.reason[m] = reason
        self.column[m] = column
        self.bad |= m

    # -- the steps shared by every table -------------------------------------------------
    def standard(self) -> pd.DataFrame:
        """Empty rows, required values and per-kind parsing; returns the typed columns."""
        is_empty = {c: empty(v) for c, v in self.cols.items()}
        all_empty = np.ones(self.n, dtype=bool)
        for c in [*self.present, *self.extra_columns]:
            all_empty &= is_empty[c]
        self.flag(all_empty, None, "empty row")
        self.oversized()
        self.control_characters()
        for c in self.table.required_columns:
            self.flag(is_empty[c], c, f"{c} is empty but required")
        typed: dict[str, pd.Series] = {}
        for col in self.table.columns:
            v = self.cols[col.name]
            if col.kind == "id_number":
                v = v.str.upper()
                typed[col.name] = v
            elif col.kind == "date":
                dates, bad = parse_dates(v)
                self.flag(bad, col.name, f"{col.name} is not a real date (expected YYYY-MM-DD)")
                typed[col.name] = dates
            elif col.kind == "month":
                months, bad = parse_months(v)
                self.flag(bad, col.name, f"{col.name} is not a month (expected YYYY-MM)")
                typed[col.name] = months
            elif col.kind in ("money", "int"):
                integer = col.kind == "int"
                nums, not_number, negative = parse_numbers(v, integer=integer)
                if integer:
                    self.flag(not_number, col.name, f"{col.name} is not a whole number")
                    self.flag(negative, col.name, f"{col.name} is negative (expected a whole number >= 0)")
                else:
                    self.flag(
                        not_number, col.name, f"{col.name} is not a number (expected an amount in yuan)"
                    )
                    self.flag(negative, col.name, f"{col.name} is negative (expected an amount >= 0)")
                typed[col.name] = nums
            elif col.kind == "enum":
                aliases = SEX_ALIASES if col.choices == SEX else None
                canon, unknown = parse_enum(v, col.choices, aliases)
                expected = ", ".join(col.choices) + (", 男, 女" if col.choices == SEX else "")
                self.flag(unknown, col.name, f"{col.name} has an unknown value (expected one of: {expected})")
                typed[col.name] = canon
            elif col.kind == "address":
                typed[col.name] = v
                typed[col.name + "_key"] = address_key_series(v).where(~is_empty[col.name])
            else:  # str, phone
                typed[col.name] = v
            if col.kind in ("str", "phone", "id_number", "address") and is_empty[col.name].any():
                typed[col.name] = typed[col.name].where(~is_empty[col.name])  # empty = unknown (null)
        frame = pd.DataFrame(typed, index=self.index)
        frame["extra"] = extra_json({c: self.cols[c] for c in self.extra_columns}, self.index)
        return frame

    def oversized(self) -> None:
        """Quarantine rows with a cell longer than any real value (usually a quote never closed).

        Contract columns may hold :data:`MAX_CELL_CHARS` characters, extra columns
        :data:`MAX_EXTRA_CELL_CHARS`.
        """
        for i, c in enumerate(self.raw.data.column_names, start=1):
            contract = c in self.table.column_names
            limit = MAX_CELL_CHARS if contract else MAX_EXTRA_CELL_CHARS
            lengths = self.cols[c].str.len().to_numpy(dtype="int64", na_value=0)
            if lengths.max(initial=0) > limit:
                label = column_label(c, i, self.table)
                self.flag(
                    lengths > limit,
                    label,
                    f"{label} is too long (more than {limit:,} characters; "
                    "a quote that is never closed can swallow the rows after it)",
                )

    def control_characters(self) -> None:
        """Quarantine rows whose id (a key, reference, ID number, account or phone) holds a control character.

        Line breaks, tabs and NUL bytes never belong in an id; they mean rows were joined
        (a quote never closed) or a binary value leaked in. Free text (names, addresses)
        may hold line breaks and is left alone.
        """
        for col in self.table.columns:
            if not is_identifier(col):
                continue
            v = self.cols[col.name]
            bad = v.str.contains(_CONTROL, regex=True).to_numpy(dtype=bool, na_value=False)
            self.flag(
                bad,
                col.name,
                f"{col.name} contains a line break or another control character "
                "(an id never does; check for a quote that is never closed)",
            )

    def references(self, frame: pd.DataFrame, ctx: Context) -> None:
        """Quarantine rows naming a person / identity / employer / ... that was not loaded."""
        for col, target in self.table.references.items():
            known = ctx.known(target, frame[col])
            if known is None:
                continue
            v = frame[col]
            unknown = ~empty(v) & ~isin(v, known)
            self.flag(unknown, col, f"unknown {col}: no such {REF_WHAT[target]} in {target}")

    def duplicates(self, frame: pd.DataFrame) -> None:
        """Quarantine later occurrences of a key among the rows still loaded."""
        key = list(self.table.key)
        if not key:
            return
        ok = self.ok
        dup = np.zeros(self.n, dtype=bool)
        dup[ok] = frame.loc[ok, key].duplicated(keep="first").to_numpy()
        self.flag(dup, key[0], f"duplicate key: an earlier row has the same {', '.join(key)}")

    def finish(self, frame: pd.DataFrame) -> Cleaned:
        """Split into loaded rows and quarantined rows; build the report."""
        ok = self.ok
        loaded = frame.loc[ok] if self.bad.any() else frame
        q_idx = np.flatnonzero(self.bad)
        raw = (
            self.raw.data.take(pa.array(q_idx, type=pa.int64())) if len(q_idx) else self.raw.data.slice(0, 0)
        )
        q = pd.DataFrame({name: raw.column(i).to_pandas() for i, name in enumerate(raw.column_names)})
        extra_names = {"row": q_idx + 1, "column": self.column[q_idx], "reason": self.reason[q_idx]}
        for name in extra_names:
            if name in q.columns:
                new = name + "_input"
                while new in q.columns:
                    new += "_"
                q = q.rename(columns={name: new})
        for name, values in extra_names.items():
            q[name] = values
        q["row"] = q["row"].astype("int64")
        reasons = pd.Series(self.reason[q_idx]).value_counts(sort=False)
        report = TableReport(
            table=self.table.name,
            file=self.raw.file,
            rows_in=self.n,
            loaded=int(ok.sum()),
            quarantined=int(len(q_idx)),
            reasons={str(k): int(v) for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], str(kv[0])))},
        )
        return Cleaned(self.table.name, loaded, q.reset_index(drop=True), report)


# -- table rules -------------------------------------------------------------------------------
def _default_id_type(ids: pd.Series) -> np.ndarray:
    length = ids.str.len().to_numpy(dtype="int64", na_value=0)
    return np.where(length == 18, "ID18", np.where(length == 15, "ID15", "OTHER"))


def _id_problems(ids: pd.Series, types: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Parse national ID numbers; returns (parsed, wrong_length, malformed) for type ID18/ID15 rows."""
    parsed = parse_series(ids)
    national = np.isin(types, ("ID18", "ID15"))
    wrong_len = national & (parsed["kind"].to_numpy() != types)
    malformed = national & ~wrong_len & ~parsed["ok"].to_numpy(dtype=bool)
    return parsed, wrong_len, malformed


def _flag_id_problems(
    chk: Checker, column: str, parsed: pd.DataFrame, wrong_len: np.ndarray, malformed: np.ndarray
) -> None:
    chk.flag(
        wrong_len,
        column,
        f"{column} is malformed: its length does not fit its type (ID18 needs 18 characters, ID15 needs 15)",
    )
    problems = parsed["problem"].to_numpy(dtype=object)
    for code, text in ID_PROBLEMS.items():
        chk.flag(malformed & (problems == code), column, f"{column} is malformed: {text}")
    chk.flag(malformed, column, f"{column} is malformed")


def identity_fields(ids: pd.Series, types: np.ndarray, parsed: pd.DataFrame) -> pd.DataFrame:
    """checksum_ok, id_birth_date, id_sex, id_region of well-formed national ID numbers."""
    national_ok = np.isin(types, ("ID18", "ID15")) & parsed["ok"].to_numpy(dtype=bool)
    is18 = national_ok & (types == "ID18")
    checksum = parsed["checksum_ok"].astype("boolean").where(is18)
    return pd.DataFrame(
        {
            "checksum_ok": checksum,
            "id_birth_date": parsed["birth_date"].where(national_ok).astype("datetime64[us]"),
            "id_sex": parsed["sex"].astype("str").where(national_ok),
            "id_region": parsed["region"].astype("str").where(national_ok),
        },
        index=ids.index,
    )


def clean_identities(chk: Checker, ctx: Context) -> pd.DataFrame:
    """Identities: id_type defaults from length; malformed ID18/ID15 numbers are quarantined.

    An 18-digit number with a wrong check digit is kept with ``checksum_ok=False``; every
    well-formed national number gets the birth date, sex and area code it encodes.
    """
    frame = chk.standard()
    ids = frame["id_number"]
    given = frame["id_type"]
    types = np.where(given.isna().to_numpy(), _default_id_type(ids), given.fillna("").to_numpy(dtype=object))
    frame["id_type"] = pd.Series(types, index=frame.index, dtype="str")
    parsed, wrong_len, malformed = _id_problems(ids, types)
    _flag_id_problems(chk, "id_number", parsed, wrong_len, malformed)
    fields = identity_fields(ids, types, parsed)
    for c in fields.columns:
        frame[c] = fields[c]
    frame["inferred"] = False
    chk.references(frame, ctx)
    chk.duplicates(frame)
    return frame


def clean_renumberings(chk: Checker, ctx: Context) -> pd.DataFrame:
    """Renumberings: both sides known -> edge; one side known -> infer the other; neither -> quarantine.

    Inference runs to a fixpoint so chains whose middle numbers appear only in renumberings
    (A->B->C with only C listed) resolve; the person of an inferred number is the person of
    the known side of the first row (in file order) that names it.
    """
    frame = chk.standard()
    old, new = frame["old_id_number"], frame["new_id_number"]
    same = ~empty(old) & (old == new).to_numpy(dtype=bool, na_value=False)
    chk.flag(same, "new_id_number", "new_id_number is the same as old_id_number")

    # malformed numbers of the sides that are not listed in identities (they would become nodes)
    listed = ctx.known("identities", pd.concat([old, new], ignore_index=True))
    assert listed is not None
    for col, values in (("old_id_number", old), ("new_id_number", new)):
        unlisted = ~isin(values, listed)
        types = _default_id_type(values)
        parsed, wrong_len, malformed = _id_problems(values, types)
        _flag_id_problems(chk, col, parsed, wrong_len & unlisted, malformed & unlisted)

    person = ctx.person_map()
    known = listed
    inferred_parts: list[pd.DataFrame] = []
    while True:
        ok = chk.ok
        ko = isin(old, known)
        kn = isin(new, known)
        one = ok & (ko ^ kn)
        if not one.any():
            break
        unknown_id = np.where(ko, new.to_numpy(dtype=object), old.to_numpy(dtype=object))[one]
        known_id = np.where(ko, old.to_numpy(dtype=object), new.to_numpy(dtype=object))[one]
        add = pd.DataFrame({"id_number": unknown_id, "person_id": person.reindex(known_id).to_numpy()})
        add = add.drop_duplicates("id_number", keep="first")
        inferred_parts.append(add)
        person = pd.concat(
            [person, pd.Series(add["person_id"].to_numpy(), index=add["id_number"].to_numpy())]
        )
        known = pa.concat_arrays([known, pa.array(add["id_number"].to_numpy(dtype=object), type=pa.string())])
    neither = ~isin(old, known) & ~isin(new, known)
    chk.flag(neither, "old_id_number", "neither old_id_number nor new_id_number is a known identity")

    if inferred_parts:
        inf = pd.concat(inferred_parts, ignore_index=True)
        ids = inf["id_number"].astype("str")
        types = _default_id_type(ids)
        parsed = parse_series(ids)
        inferred = pd.DataFrame(
            {
                "id_number": ids,
                "person_id": inf["person_id"].astype("str"),
                "id_type": pd.Series(types, dtype="str"),
            }
        )
        fields = identity_fields(ids, types, parsed)
        for c in fields.columns:
            inferred[c] = fields[c].to_numpy()
        inferred["inferred"] = True
        ctx.inferred = inferred
        ctx.set_id_person(
            pd.Series(person.to_numpy(), index=pd.Index(person.index.to_numpy(), dtype="str"), dtype="str")
        )
    return frame


def clean_accounts(chk: Checker, ctx: Context) -> pd.DataFrame:
    """Accounts: ``role`` defaults to ``holder``."""
    frame = chk.standard()
    frame["role"] = frame["role"].fillna(ACCOUNT_ROLES[0])
    chk.references(frame, ctx)
    chk.duplicates(frame)
    return frame


def clean_payments(chk: Checker, ctx: Context) -> pd.DataFrame:
    """Payments: an empty account_no becomes the benefit's account_no; with neither, quarantine."""
    frame = chk.standard()
    chk.references(frame, ctx)
    acct = frame["account_no"]
    missing = empty(acct)
    if missing.any():
        fallback = lookup(frame["benefit_id"], *ctx.account_of_benefits())
        frame["account_no"] = acct.where(~missing, fallback).fillna("")
        chk.flag(
            empty(frame["account_no"]),
            "account_no",
            "account_no is empty and the benefit has no account_no (no account to attach the payment to)",
        )
    chk.duplicates(frame)
    return frame


def clean_generic(chk: Checker, ctx: Context) -> pd.DataFrame:
    """The shared steps only: values, references, duplicate keys."""
    frame = chk.standard()
    chk.references(frame, ctx)
    chk.duplicates(frame)
    return frame


CLEANERS = {
    "identities": clean_identities,
    "renumberings": clean_renumberings,
    "accounts": clean_accounts,
    "payments": clean_payments,
}


def clean_table(raw: RawTable, ctx: Context) -> Cleaned:
    """Validate one table against the rows loaded so far; updates ``ctx`` with its keys."""
    chk = Checker(raw)
    frame = CLEANERS.get(raw.name, clean_generic)(chk, ctx)
    cleaned = chk.finish(frame)
    f = cleaned.frame
    name = raw.name
    if name == "identities":
        ctx.set_id_person(
            pd.Series(
                f["person_id"].to_numpy(), index=pd.Index(f["id_number"].to_numpy(), dtype="str"), dtype="str"
            )
        )
    elif name in ("persons", "employers", "benefits", "hospitals", "doctors"):
        key = TABLES[name].key[0]
        ctx.keys[name] = arrow(f[key])
        if name == "benefits":
            has = ~empty(f["account_no"])
            ctx.benefit_account = (arrow(f.loc[has, "benefit_id"]), arrow(f.loc[has, "account_no"]))
    return cleaned
