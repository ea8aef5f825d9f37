"""The generator's working state: growable integer-keyed tables and date helpers.

Every entity (person, identity, account, phone, address, employer, benefit, hospital, doctor)
is an integer *handle*: its row number in its table. Rows refer to each other by handle and
all dates are ``datetime64[D]``; strings (ID numbers, names, addresses …) are made from the
handles only when the tables are written (:mod:`ringwatch.synth.materialize`), so planted
cases can be built before anything is numbered and nothing in the order of rows or ids
reveals what was planted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[Any]
DateArray = npt.NDArray[Any]
#: a ``numpy.datetime64`` day (numpy's scalar typing is too narrow to be useful here)
Day = Any

NAT = np.datetime64("NaT", "D")
DAYS_PER_YEAR = 365.2425
DAYS_PER_MONTH = DAYS_PER_YEAR / 12

# person flags: which background generators may touch the person
BG_BENEFIT = 1 << 0
BG_EMPLOY = 1 << 1
BG_DEATH = 1 << 2
BG_LEGACY = 1 << 3
BG_PHONE = 1 << 4
BG_ACCOUNT = 1 << 5
BG_CLAIMS = 1 << 6
BG_ACTIVITIES = 1 << 7
BG_RESIDENCE = 1 << 8
PLANTED = 1 << 9
FORCE_PENSION = 1 << 10
NAME_LOCKED = 1 << 11  # planted name that must stay (namesakes, one person behind two records)
BACKGROUND_FLAGS = (
    BG_BENEFIT
    | BG_EMPLOY
    | BG_DEATH
    | BG_LEGACY
    | BG_PHONE
    | BG_ACCOUNT
    | BG_CLAIMS
    | BG_ACTIVITIES
    | BG_RESIDENCE
)
PLANTED_FLAGS = BG_PHONE | BG_ACCOUNT | BG_CLAIMS | BG_ACTIVITIES | BG_RESIDENCE | PLANTED

# enum codes used in the integer tables (index into the contract's tuples)
MALE, FEMALE = 0, 1
ID18, ID15 = 0, 1
HOLDER, AGENT = 0, 1
HUKOU, RESIDENCE, MAILING = 0, 1, 2
# address kinds
ADDR_HOME, ADDR_NURSING, ADDR_COLLECTIVE, ADDR_WELFARE = 0, 1, 2, 3
# renumbering reasons (contract RENUMBER_REASONS order)
R_UPGRADE15, R_BIRTH_FIX, R_SEX_CHANGE, R_DUPLICATE_FIX, R_OTHER = 0, 1, 2, 3, 4
# schemes (contract SCHEMES order)
S_PENSION_EMP, S_PENSION_RES, S_UNEMPLOYMENT, S_WORK_INJURY, S_SURVIVOR, S_OTHER = 0, 1, 2, 3, 4, 5
# household roles
ROLE_HEAD, ROLE_WIFE, ROLE_CHILD, ROLE_GRANDPA, ROLE_GRANDMA, ROLE_SINGLE, ROLE_RESIDENT = 0, 1, 2, 3, 4, 5, 6


def _fill_value(dtype: np.dtype[Any]) -> Any:
    if dtype.kind == "M":
        return np.datetime64("NaT")
    if dtype.kind == "f":
        return np.nan
    if dtype.kind == "b":
        return False
    if dtype.kind in "iu":
        return -1 if dtype.kind == "i" else 0
    raise TypeError(f"unsupported dtype {dtype}")


class Table:
    """A growable table of NumPy columns; a row's index is its handle.

    Parameters
    ----------
    spec
        Column name -> dtype. Columns not given to :meth:`add` get a neutral fill value
        (NaT, NaN, -1, False).
    """

    def __init__(self, spec: dict[str, str]) -> None:
        self.dtypes = {k: np.dtype(v) for k, v in spec.items()}
        self._buf = {k: np.empty(16, dtype=d) for k, d in self.dtypes.items()}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def _grow(self, need: int) -> None:
        cap = len(next(iter(self._buf.values())))
        if need <= cap:
            return
        new_cap = max(need, cap * 2)
        for k, b in self._buf.items():
            nb = np.empty(new_cap, dtype=b.dtype)
            nb[: self._n] = b[: self._n]
            self._buf[k] = nb

    def add(self, n: int | None = None, **cols: Any) -> IntArray:
        """Append rows; scalars broadcast. Returns the new handles."""
        if n is None:
            lens = [len(v) for v in cols.values() if isinstance(v, np.ndarray | list | tuple)]
            n = lens[0] if lens else 1
        unknown = set(cols) - set(self.dtypes)
        if unknown:
            raise KeyError(f"unknown columns {sorted(unknown)}")
        start = self._n
        self._grow(start + n)
        for k, b in self._buf.items():
            if k in cols:
                b[start : start + n] = np.asarray(cols[k]).astype(b.dtype, copy=False)
            else:
                b[start : start + n] = _fill_value(b.dtype)
        self._n = start + n
        return np.arange(start, start + n, dtype=np.int64)

    def add1(self, **vals: Any) -> int:
        """Append one row; returns its handle."""
        return int(self.add(1, **vals)[0])

    def __getitem__(self, name: str) -> np.ndarray:
        """A live view of a column (writes go to the table)."""
        return self._buf[name][: self._n]

    def columns(self) -> dict[str, np.ndarray]:
        """All columns as views."""
        return {k: b[: self._n] for k, b in self._buf.items()}


# -- dates ------------------------------------------------------------------------------------
def ymd(d: DateArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month and day of dates (NaT gives garbage; mask it yourself)."""
    d = np.asarray(d, dtype="M8[D]")
    months = d.astype("M8[M]")
    y = months.astype("M8[Y]").astype(np.int64) + 1970
    m = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("M8[D]")).astype(np.int64) + 1
    return y, m, day


def from_ymd(y: IntArray | int, m: IntArray | int, day: IntArray | int) -> DateArray:
    """Dates from year, month, day; days past the month's end are clamped to it."""
    y = np.asarray(y, dtype=np.int64)
    m = np.asarray(m, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    mo = ((y - 1970) * 12 + (m - 1)).astype("M8[M]")
    first = mo.astype("M8[D]")
    length = ((mo + 1).astype("M8[D]") - first).astype(np.int64)
    return first + (np.minimum(day, length) - 1).astype("m8[D]")


def add_years(d: DateArray, n: IntArray | int) -> DateArray:
    """Same day ``n`` years later (29 Feb becomes 28 Feb)."""
    y, m, day = ymd(d)
    out = from_ymd(y + n, m, day)
    return np.where(np.isnat(np.asarray(d, dtype="M8[D]")), NAT, out)


def month_ord(d: DateArray) -> IntArray:
    """Month ordinal (months since 1970-01) of dates."""
    return np.asarray(d, dtype="M8[D]").astype("M8[M]").astype(np.int64)


def month_first(o: IntArray | int) -> DateArray:
    """First day of month ordinals."""
    return np.asarray(o, dtype=np.int64).astype("M8[M]").astype("M8[D]")


def month_last(o: IntArray | int) -> DateArray:
    """Last day of month ordinals."""
    return (np.asarray(o, dtype=np.int64) + 1).astype("M8[M]").astype("M8[D]") - np.timedelta64(1, "D")


def days(x: npt.ArrayLike) -> np.ndarray:
    """Whole days as ``timedelta64[D]``."""
    return np.round(np.asarray(x, dtype=np.float64)).astype(np.int64).astype("m8[D]")


def months_back(ref: Day, m: npt.ArrayLike) -> DateArray:
    """Dates ``m`` (fractional) months before ``ref``."""
    return np.asarray(ref - days(np.asarray(m, dtype=np.float64) * DAYS_PER_MONTH), dtype="M8[D]")


def years_back(ref: Day, y: npt.ArrayLike) -> DateArray:
    """Dates ``y`` (fractional) years before ``ref``."""
    return np.asarray(ref - days(np.asarray(y, dtype=np.float64) * DAYS_PER_YEAR), dtype="M8[D]")


def uniform_dates(rng: np.random.Generator, lo: Day, hi: Day) -> DateArray:
    """A uniform date in ``[lo, hi]`` per row (``hi`` where ``hi < lo``)."""
    lo = np.asarray(lo, dtype="M8[D]")
    hi = np.asarray(hi, dtype="M8[D]")
    span = np.maximum((hi - lo).astype(np.int64), 0)
    off = np.floor(rng.random(np.broadcast(lo, hi).shape) * (span + 1)).astype(np.int64)
    return np.where(hi < lo, hi, lo + off.astype("m8[D]"))


def skewed_dates(rng: np.random.Generator, lo: Day, hi: Day, a: float = 1.0, b: float = 2.2) -> DateArray:
    """A date in ``[lo, hi]`` drawn from Beta(a, b) (default: skewed towards ``lo``)."""
    lo = np.asarray(lo, dtype="M8[D]")
    hi = np.asarray(hi, dtype="M8[D]")
    span = np.maximum((hi - lo).astype(np.int64), 0)
    off = np.floor(rng.beta(a, b, np.broadcast(lo, hi).shape) * (span + 1)).astype(np.int64)
    return np.where(hi < lo, hi, lo + off.astype("m8[D]"))


def age_years(birth: DateArray, at: Day) -> np.ndarray:
    """Age in (fractional) years at a date."""
    return (np.asarray(at, dtype="M8[D]") - np.asarray(birth, dtype="M8[D]")).astype(np.int64) / DAYS_PER_YEAR


# -- truth --------------------------------------------------------------------------------------
@dataclass
class TruthEntry:
    """One planted case or decoy, members as handles by contract member type."""

    detector: str
    kind: str  # "case" or "decoy"
    variant: str
    members: dict[str, list[int]]
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Counts:
    """How many cases and decoys were planted per detector (filled by the planting code)."""

    cases: dict[str, int] = field(default_factory=dict)
    decoys: dict[str, int] = field(default_factory=dict)


class World:
    """All tables of one generation run, keyed by handles.

    Parameters
    ----------
    seed
        Random seed.
    end_month
        Month ordinal of the last payment month (the reference date is its last day).
    months
        Payment history length in months.
    """

    def __init__(self, seed: int, end_month: int, months: int) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.end_month = end_month
        self.months = months
        self.start_month = end_month - months + 1
        self.ref: Day = month_last(end_month)[()]
        self.truth: list[TruthEntry] = []
        self.persons = Table(
            {
                "sex": "i1",
                "birth": "M8[D]",
                "surname": "i2",
                "given": "i4",
                "region": "i2",
                "household": "i8",
                "role": "i1",
                "cutoff": "M8[D]",
                "death": "M8[D]",
                "flags": "i4",
                "spouse": "i8",
                "identity": "i8",
                "account": "i8",
                "pay_account": "i8",
                "id_region": "i2",
            }
        )
        # a household is one hukou address; institutions are households too
        self.households = Table({"region": "i2", "address": "i8"})
        self.address_ents = Table({"kind": "i1", "region": "i2", "name": "i2"})
        self.identities = Table(
            {
                "person": "i8",
                "kind": "i1",
                "region": "i2",
                "birth": "M8[D]",
                "sex": "i1",
                "issued": "M8[D]",
                "twin": "i8",
            }
        )
        self.renumberings = Table({"old": "i8", "new": "i8", "date": "M8[D]", "reason": "i1", "region": "i2"})
        self.accounts = Table({"person": "i8", "bank": "i1", "opened": "M8[D]", "role": "i1"})
        self.phone_ents = Table({"prefix": "i1"})
        self.phones = Table({"person": "i8", "phone": "i8", "since": "M8[D]"})
        self.addresses = Table({"person": "i8", "address": "i8", "type": "i1", "since": "M8[D]"})
        self.employers = Table(
            {"region": "i2", "founded": "M8[D]", "legal_rep": "i8", "brand": "i2", "industry": "i2", "form": "i1",
             "shell": "b1", "address_key": "i8"}
        )  # fmt: skip
        self.employments = Table(
            {
                "identity": "i8",
                "employer": "i8",
                "start": "M8[D]",
                "end": "M8[D]",
                "base": "f8",
                "back_paid": "i4",
            }
        )
        self.benefits = Table(
            {"identity": "i8", "scheme": "i1", "region": "i2", "start": "M8[D]", "end": "M8[D]", "account": "i8",
             "amount": "f8", "pay_from": "i8", "pay_to": "i8"}
        )  # fmt: skip
        self.hospitals = Table(
            {"level": "i1", "region": "i2", "name": "i2", "large": "b1", "doctor0": "i8", "ndoc": "i4"}
        )
        self.doctors = Table({"hospital": "i8", "surname": "i2", "given": "i4"})
        self.claims = Table(
            {"identity": "i8", "hospital": "i8", "doctor": "i8", "admit": "M8[D]", "discharge": "M8[D]", "diag": "i1",
             "amount": "f8", "fund": "f8"}
        )  # fmt: skip
        self.deaths = Table({"identity": "i8", "date": "M8[D]", "source": "i1"})
        self.activities = Table({"identity": "i8", "date": "M8[D]", "source": "i1", "kind": "i1"})
        self.counts = Counts()
        self.employer_weight: np.ndarray = np.zeros(0)
        self.bg_employers: IntArray = np.zeros(0, dtype=np.int64)

    # -- helpers ------------------------------------------------------------------------------
    def child_rng(self, name: str) -> np.random.Generator:
        """An independent generator for one part of the run (stable per seed and name)."""
        key = [self.seed & 0xFFFFFFFF, self.seed >> 32 & 0xFFFFFFFF] + [ord(c) for c in name]
        return np.random.default_rng(np.random.SeedSequence(key))

    def add_truth(
        self, detector: str, kind: str, variant: str, facts: dict[str, Any] | None = None, **members: Any
    ) -> None:
        """Record a planted case or decoy (members by contract type, as handles)."""
        clean = {
            k: sorted({int(x) for x in np.atleast_1d(v)}) for k, v in members.items() if len(np.atleast_1d(v))
        }
        self.truth.append(TruthEntry(detector, kind, variant, clean, dict(facts or {})))
        bucket = self.counts.cases if kind == "case" else self.counts.decoys
        bucket[detector] = bucket.get(detector, 0) + 1
