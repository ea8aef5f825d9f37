"""Turn the handle-keyed world into the contract's tables and write them.

Ids are made from handles with per-seed affine permutations (unique by construction), so
neither the ids nor the row order (tables are sorted by their ids) tell planted rows from
background rows. ID numbers get valid GB 11643 check digits, bank cards a Luhn digit,
employers a GB 32100 unified social credit code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ringwatch.contract import (
    ACCOUNT_ROLES,
    ADDRESS_TYPES,
    DEATH_SOURCES,
    DETECTORS,
    ID_TYPES,
    RENUMBER_REASONS,
    SCHEMES,
    TABLE_ORDER,
    TABLES,
)

from . import vocab
from .world import (
    ADDR_COLLECTIVE,
    ADDR_HOME,
    ADDR_NURSING,
    ADDR_WELFARE,
    ID15,
    ID18,
    World,
    month_ord,
    ymd,
)

_ID_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_REGION_CODES = np.array([int(r.code) for r in vocab.REGIONS], dtype=np.int64)
_CN_NUM = ("一", "二", "三", "四", "五", "六")


# -- small vectorised string helpers ----------------------------------------------------------------
def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Decimal digits (as uint8 ASCII) of non-negative ints, zero-padded: shape (n, width)."""
    v = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((len(v), width), dtype=np.uint8)
    for k in range(width - 1, -1, -1):
        out[:, k] = v % 10 + 48
        v //= 10
    return out


def _bytes_to_str(mat: np.ndarray) -> pa.Array:
    """Rows of an ASCII uint8 matrix as a string array."""
    mat = np.ascontiguousarray(mat)
    n, w = mat.shape
    if n == 0:
        return pa.array([], type=pa.string())
    return pa.array(mat.view(f"S{w}").ravel()).cast(pa.string())


def _num(values: np.ndarray, width: int) -> pa.Array:
    return _bytes_to_str(_digits(values, width))


def _take(words: tuple[str, ...] | list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(list(words), type=pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))


def _given(codes: np.ndarray) -> pa.Array:
    """Given names from their integer codes (first character * 4096 + second)."""
    chars = list(vocab.GIVEN_CHARS) + [""] * (vocab.NO_CHAR + 1 - len(vocab.GIVEN_CHARS))
    codes = np.asarray(codes, dtype=np.int64)
    return _cat(_take(chars, codes // 4096), _take(chars, codes % 4096))


def _cat(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _unique_random(n: int, modulus: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct random integers in ``[0, modulus)``, in random order (one per handle)."""
    if n > modulus:
        raise ValueError("too many entities for the id space")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(rng.choice(modulus, size=n, replace=False), dtype=np.int64)


def _rank_within(kind: np.ndarray) -> np.ndarray:
    """Rank of each row among rows of the same kind (in handle order)."""
    order = np.argsort(kind, kind="stable")
    ranks = np.empty(len(kind), dtype=np.int64)
    sk = kind[order]
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
    pos = np.arange(len(kind)) - np.repeat(starts, np.diff(np.r_[starts, len(kind)]))
    ranks[order] = pos
    return ranks


def _mixed_radix(u: np.ndarray, radices: tuple[int, ...]) -> list[np.ndarray]:
    out = []
    v = np.asarray(u, dtype=np.int64).copy()
    for r in radices:
        out.append(v % r)
        v //= r
    return out


# -- ids ----------------------------------------------------------------------------------------------
def id_numbers(w: World, rng: np.random.Generator) -> pa.Array:
    """18- and 15-digit ID numbers for all identities (unique, valid check digits)."""
    ids = w.identities
    n = len(ids)
    kind = ids["kind"]
    birth = ids["birth"]
    sex = ids["sex"]
    area = _REGION_CODES[ids["region"]]
    is18 = kind == ID18
    idx18 = np.flatnonzero(is18)
    # sequence numbers: unique within (area, birth date, sex)
    bday = birth[idx18].astype(np.int64)
    order = np.lexsort((idx18, sex[idx18], bday, area[idx18]))
    a_s, b_s, s_s = area[idx18][order], bday[order], sex[idx18][order]
    new_group = np.r_[True, (a_s[1:] != a_s[:-1]) | (b_s[1:] != b_s[:-1]) | (s_s[1:] != s_s[:-1])]
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.r_[starts, len(order)])
    if len(sizes) and sizes.max() >= 499:
        raise ValueError("too many persons share an area, birth date and sex")
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    r0 = np.repeat(rng.integers(0, 499, len(starts)), sizes)
    half = (r0 + rank * 211) % 499
    seq_sorted = np.where(s_s == 0, 2 * half + 1, 2 * half + 2)
    seq = np.empty(len(idx18), dtype=np.int64)
    seq[order] = seq_sorted
    y, m, d = ymd(birth[idx18])
    mat = np.empty((len(idx18), 18), dtype=np.uint8)
    mat[:, 0:6] = _digits(area[idx18], 6)
    mat[:, 6:14] = _digits(y * 10000 + m * 100 + d, 8)
    mat[:, 14:17] = _digits(seq, 3)
    total = (mat[:, :17].astype(np.int64) - 48) @ _ID_WEIGHTS
    mat[:, 17] = _ID_CHECK[total % 11]
    full = np.zeros((n, 18), dtype=np.uint8)
    full[idx18] = mat
    # 15-digit numbers: the legacy form of their 18-digit twin
    idx15 = np.flatnonzero(kind == ID15)
    twin = ids["twin"][idx15]
    if (twin < 0).any() or (kind[twin] != ID18).any():
        raise ValueError("every 15-digit number needs an 18-digit twin")
    t = full[twin]
    mat15 = np.concatenate([t[:, :6], t[:, 8:17]], axis=1)
    out18 = _bytes_to_str(mat)
    out15 = _bytes_to_str(mat15)
    result = np.empty(n, dtype=object)
    result[idx18] = np.asarray(out18.to_numpy(zero_copy_only=False), dtype=object)
    result[idx15] = np.asarray(out15.to_numpy(zero_copy_only=False), dtype=object)
    arr = pa.array(result, type=pa.string())
    if len(pc.unique(arr)) != n:
        raise ValueError("duplicate ID numbers generated")
    return arr


def _luhn_digit(mat: np.ndarray) -> np.ndarray:
    """Luhn check digit for rows of ASCII digits."""
    d = mat.astype(np.int64) - 48
    n = d.shape[1]
    # double every second digit from the right (the check digit will be appended)
    dbl = np.zeros(n, dtype=bool)
    dbl[n - 1 :: -2] = True
    x = np.where(dbl, d * 2, d)
    x = np.where(x > 9, x - 9, x)
    return ((10 - x.sum(axis=1) % 10) % 10 + 48).astype(np.uint8)


def account_numbers(w: World, rng: np.random.Generator) -> pa.Array:
    """19-digit bank card numbers: bank BIN, unique body, Luhn digit."""
    acc = w.accounts
    n = len(acc)
    bins = np.array([int(b[1]) for b in vocab.BANKS], dtype=np.int64)[acc["bank"]]
    body = _unique_random(n, 10**12, rng)
    mat = np.empty((n, 19), dtype=np.uint8)
    mat[:, :6] = _digits(bins, 6)
    mat[:, 6:18] = _digits(body, 12)
    mat[:, 18] = _luhn_digit(mat[:, :18]) if n else mat[:, 18]
    return _bytes_to_str(mat)


def phone_numbers(w: World, rng: np.random.Generator) -> pa.Array:
    """11-digit mobile numbers (unique 8-digit body)."""
    ph = w.phone_ents
    body = _unique_random(len(ph), 10**8, rng)
    prefixes = np.array([int(p) for p in vocab.PHONE_PREFIXES], dtype=np.int64)[ph["prefix"]]
    return _num(prefixes * 10**8 + body, 11)


def _region_prefix(region: np.ndarray) -> pa.Array:
    return _take([r.prefix for r in vocab.REGIONS], region)


def address_texts(w: World, rng: np.random.Generator) -> pa.Array:
    """Unique address text per address entity (ordinary homes, institutions)."""
    a = w.address_ents
    n = len(a)
    kind = a["kind"].astype(np.int64)
    region = a["region"].astype(np.int64)
    rural = np.array([r.rural for r in vocab.REGIONS])[region] & (kind == ADDR_HOME)
    group = np.where(rural, 10, kind)
    _rank_within(group)
    out = np.empty(n, dtype=object)
    prefix = _region_prefix(region)
    ns, nsuf = len(vocab.STREETS), len(vocab.STREET_SUFFIXES)
    # urban homes
    m = np.flatnonzero((kind == ADDR_HOME) & ~rural)
    if len(m):
        rad: tuple[int, ...] = (ns, nsuf, 300, len(vocab.COMPOUNDS), 30, 6, 33, 4)
        st, sf, num, comp, bldg, unit, floor, door = _mixed_radix(
            _unique_random(len(m), int(np.prod(rad)), rng), rad
        )
        txt = _cat(
            prefix.take(pa.array(m)), _take(vocab.STREETS, st), _take(vocab.STREET_SUFFIXES, sf), _num_str(num + 1), "号",
            _take(vocab.COMPOUNDS, comp), _num_str(bldg + 1), "幢", _num_str(unit + 1), "单元",
            _num_str((floor + 1) * 100 + door + 1), "室",
        )  # fmt: skip
        out[m] = txt.to_numpy(zero_copy_only=False)
    m = np.flatnonzero(rural)
    if len(m):
        rad = (len(vocab.TOWNS), 2, len(vocab.VILLAGES), 15, 300)
        town, tk, vil, grp, num = _mixed_radix(_unique_random(len(m), int(np.prod(rad)), rng), rad)
        txt = _cat(
            prefix.take(pa.array(m)), _take(vocab.TOWNS, town), _take(("镇", "乡"), tk), _take(vocab.VILLAGES, vil), "村",
            _num_str(grp + 1), "组", _num_str(num + 1), "号",
        )  # fmt: skip
        out[m] = txt.to_numpy(zero_copy_only=False)
    for k, names in ((ADDR_NURSING, vocab.NURSING_HOMES), (ADDR_COLLECTIVE, vocab.COLLECTIVES),
                     (ADDR_WELFARE, vocab.WELFARE_INSTITUTIONS)):  # fmt: skip
        m = np.flatnonzero(kind == k)
        if not len(m):
            continue
        rad = (ns, nsuf, 300)
        st, sf, num = _mixed_radix(_unique_random(len(m), int(np.prod(rad)), rng), rad)
        txt = _cat(
            prefix.take(pa.array(m)), _take(vocab.STREETS, st), _take(vocab.STREET_SUFFIXES, sf), _num_str(num + 1), "号",
            _take(names, a["name"][m] % len(names)),
        )  # fmt: skip
        out[m] = txt.to_numpy(zero_copy_only=False)
    arr = pa.array(out, type=pa.string())
    if len(pc.unique(arr)) != n:
        raise ValueError("duplicate addresses generated")
    return arr


def _num_str(v: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(v, dtype=np.int64)), pa.string())


def _uscc(rng: np.random.Generator, region_code: str, founded_year: int) -> str:
    """A unified social credit code (GB 32100-2015) with valid check characters."""
    chars = vocab.USCC_CHARS
    if founded_year >= 2016:
        body = "MA" + "".join(chars[int(i)] for i in rng.integers(0, len(chars), 6))
    else:
        body = "".join(str(int(i)) for i in rng.integers(0, 10, 8))
    total = sum(
        (int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, vocab.ORG_WEIGHTS, strict=True)
    )
    c9 = 11 - total % 11
    org = body + ("X" if c9 == 10 else "0" if c9 == 11 else str(c9))
    first17 = "91" + region_code + org
    s = sum(chars.index(c) * w for c, w in zip(first17, vocab.USCC_WEIGHTS, strict=True))
    return first17 + chars[(31 - s % 31) % 31]


def employer_strings(w: World, rng: np.random.Generator) -> tuple[list[str], list[str], list[str]]:
    """Employer ids (credit codes), names and addresses."""
    e = w.employers
    ids: list[str] = []
    names: list[str] = []
    seen_id: set[str] = set()
    seen_name: set[str] = set()
    years = ymd(e["founded"])[0]
    for i in range(len(e)):
        reg = vocab.REGIONS[int(e["region"][i])]
        while True:
            code = _uscc(rng, reg.code, int(years[i]))
            if code not in seen_id:
                seen_id.add(code)
                break
        ids.append(code)
        ind = vocab.INDUSTRIES[int(e["industry"][i])]
        brand = vocab.BRANDS[int(e["brand"][i])]
        form = vocab.COMPANY_FORMS[int(e["form"][i])]
        candidates = [reg.short + brand + ind + form, reg.short + reg.district[:-1] + brand + ind + form]
        name = next((c for c in candidates if c not in seen_name), None)
        k = 2
        while name is None:
            c = reg.short + brand + ind + form[:-2] + f"第{k}分公司"
            name = c if c not in seen_name else None
            k += 1
        seen_name.add(name)
        names.append(name)
    key = np.where(e["address_key"] < 0, np.arange(len(e)), e["address_key"])
    uniq, inv = np.unique(key, return_inverse=True)
    rad = (len(vocab.STREETS), len(vocab.STREET_SUFFIXES), 300, 30, 20)
    st, sf, num, bldg, floor = _mixed_radix(_unique_random(len(uniq), int(np.prod(rad)), rng)[inv], rad)
    addrs = [
        vocab.REGIONS[int(e["region"][i])].prefix + vocab.STREETS[st[i]] + vocab.STREET_SUFFIXES[sf[i]]
        + f"{num[i] + 1}号{bldg[i] + 1}号楼{floor[i] + 1}层"
        for i in range(len(e))
    ]  # fmt: skip
    return ids, names, addrs


def hospital_strings(w: World, rng: np.random.Generator) -> tuple[list[str], list[str], list[str]]:
    """Hospital ids (``H`` + area code + 5 digits), names by level and addresses."""
    h = w.hospitals
    n = len(h)
    body = _unique_random(n, 10**5, rng)
    rad = (len(vocab.STREETS), len(vocab.STREET_SUFFIXES), 300)
    st, sf, num = _mixed_radix(_unique_random(n, int(np.prod(rad)), rng), rad)
    ids, names, addrs = [], [], []
    seen: set[str] = set()
    for i in range(n):
        reg = vocab.REGIONS[int(h["region"][i])]
        ids.append(f"H{reg.code}{body[i]:05d}")
        t = int(h["name"][i])
        lv = int(h["level"][i])
        street = vocab.STREETS[st[i]]
        brand = vocab.HOSPITAL_BRANDS[t % len(vocab.HOSPITAL_BRANDS)]
        if lv == 2:
            opts = [f"{reg.short}市第{_CN_NUM[t % 6]}人民医院", f"{reg.short}市中心医院",
                    f"{reg.short}医科大学附属第{_CN_NUM[t % 3]}医院", f"{reg.short}市中医医院"]  # fmt: skip
        elif lv == 1:
            opts = [f"{reg.district}人民医院", f"{reg.district}中医医院", f"{reg.district}妇幼保健院",
                    f"{reg.short}{brand}医院"]  # fmt: skip
        else:
            town = vocab.TOWNS[t % len(vocab.TOWNS)]
            opts = [f"{reg.district}{street}街道社区卫生服务中心", f"{reg.district}{town}镇卫生院",
                    f"{reg.short}{brand}门诊部", f"{reg.district}{street}社区医院"]  # fmt: skip
        name = opts[(t >> 4) % len(opts)]
        k = 2
        base = name
        while name in seen:
            name = f"{base}第{k}分院"
            k += 1
        seen.add(name)
        names.append(name)
        addrs.append(f"{reg.prefix}{street}{vocab.STREET_SUFFIXES[sf[i]]}{num[i] + 1}号")
    return ids, names, addrs


# -- table assembly -----------------------------------------------------------------------------------
def _date(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype="M8[D]"), type=pa.date32())


def _money(values: np.ndarray) -> pa.Array:
    return pa.array(np.round(np.asarray(values, dtype=np.float64), 2), type=pa.float64())


def _enum(names: tuple[str, ...], idx: np.ndarray) -> pa.Array:
    return _take(names, idx)


def _months(ordinals: np.ndarray) -> pa.Array:
    uniq, inv = np.unique(ordinals, return_inverse=True)
    labels = [str(np.datetime64(int(o), "M")) for o in uniq]
    return _take(labels, inv)


class Strings:
    """String ids of every entity, indexed by handle."""

    def __init__(self, w: World) -> None:
        rng = w.child_rng("ids")
        self.person_num = _unique_random(len(w.persons), 10**9, rng)
        self.person = _bytes_to_str(np.concatenate(
            [np.full((len(w.persons), 1), ord("P"), dtype=np.uint8), _digits(self.person_num, 9)], axis=1))  # fmt: skip
        self.identity = id_numbers(w, rng)
        self.account = account_numbers(w, rng)
        self.phone = phone_numbers(w, rng)
        self.address = address_texts(w, rng)
        self.employer, self.employer_name, self.employer_address = employer_strings(w, rng)
        self.hospital, self.hospital_name, self.hospital_address = hospital_strings(w, rng)
        self.doctor_num = _unique_random(len(w.doctors), 10**7, rng)
        region_code = _REGION_CODES[w.hospitals["region"][w.doctors["hospital"]]]
        self.doctor = _cat("D", _num(region_code * 10**7 + self.doctor_num, 13))
        self.benefit_num = _unique_random(len(w.benefits), 10**10, rng)
        self.benefit = _cat("BF", _num(self.benefit_num, 10))

    def lookup(self, kind: str, handles: list[int]) -> list[str]:
        """String ids of handles of one member type."""
        src: Any = {
            "person": self.person,
            "identity": self.identity,
            "account": self.account,
            "phone": self.phone,
            "address": self.address,
            "employer": self.employer,
            "hospital": self.hospital,
            "doctor": self.doctor,
            "benefit": self.benefit,
        }[kind]
        if isinstance(src, list):
            return [src[h] for h in handles]
        return [str(x) for x in src.take(pa.array(handles, type=pa.int64())).to_pylist()]


def build_tables(w: World, s: Strings, wanted: Collection[str]) -> dict[str, pa.Table]:
    """All contract tables (only those in ``wanted``), sorted by their ids."""
    out: dict[str, pa.Table] = {}
    rng = w.child_rng("tables")
    per = w.persons
    pnum = s.person_num
    ids = w.identities
    id_person = ids["person"]

    def emit(name: str, cols: dict[str, pa.Array], order: np.ndarray) -> None:
        t = pa.table(cols).take(pa.array(order, type=pa.int64()))
        out[name] = t.select(list(TABLES[name].column_names))

    if "persons" in wanted:
        name = _cat(_take(vocab.SURNAMES_ONLY, per["surname"]), _given(per["given"]))
        emit(
            "persons",
            {
                "person_id": s.person,
                "name": name,
                "sex": _enum(("M", "F"), per["sex"]),
                "birth_date": _date(per["birth"]),
                "region_code": _take([r.code for r in vocab.REGIONS], per["region"]),
            },
            np.argsort(pnum, kind="stable"),
        )
    if "identities" in wanted:
        kind = ids["kind"]
        emit(
            "identities",
            {
                "id_number": s.identity,
                "person_id": s.person.take(pa.array(id_person)),
                "id_type": _enum(ID_TYPES, np.where(kind == ID15, 1, 0)),
                "issued_date": _date(ids["issued"]),
            },
            np.lexsort((np.arange(len(ids)), kind, pnum[id_person])),
        )
    if "renumberings" in wanted:
        r = w.renumberings
        emit(
            "renumberings",
            {
                "old_id_number": s.identity.take(pa.array(r["old"])),
                "new_id_number": s.identity.take(pa.array(r["new"])),
                "changed_date": _date(r["date"]),
                "reason": _enum(RENUMBER_REASONS, r["reason"]),
                "region_code": _take([x.code for x in vocab.REGIONS], r["region"]),
            },
            np.lexsort((np.arange(len(r)), pnum[id_person[r["old"]]], r["date"].astype(np.int64))),
        )
    if "accounts" in wanted:
        a = w.accounts
        emit(
            "accounts",
            {
                "account_no": s.account,
                "person_id": s.person.take(pa.array(a["person"])),
                "bank": _take([b[0] for b in vocab.BANKS], a["bank"]),
                "opened_date": _date(a["opened"]),
                "role": _enum(ACCOUNT_ROLES, a["role"]),
            },
            np.lexsort((np.arange(len(a)), a["opened"].astype(np.int64), pnum[a["person"]])),
        )
    if "phones" in wanted:
        ph = w.phones
        emit(
            "phones",
            {
                "person_id": s.person.take(pa.array(ph["person"])),
                "phone": s.phone.take(pa.array(ph["phone"])),
                "since": _date(ph["since"]),
            },
            np.lexsort((np.arange(len(ph)), pnum[ph["person"]])),
        )
    if "addresses" in wanted:
        ad = w.addresses
        emit(
            "addresses",
            {
                "person_id": s.person.take(pa.array(ad["person"])),
                "address": s.address.take(pa.array(ad["address"])),
                "address_type": _enum(ADDRESS_TYPES, ad["type"]),
                "since": _date(ad["since"]),
            },
            np.lexsort((np.arange(len(ad)), ad["type"], pnum[ad["person"]])),
        )
    if "employers" in wanted:
        e = w.employers
        emit(
            "employers",
            {
                "employer_id": pa.array(s.employer, type=pa.string()),
                "name": pa.array(s.employer_name, type=pa.string()),
                "region_code": _take([x.code for x in vocab.REGIONS], e["region"]),
                "address": pa.array(s.employer_address, type=pa.string()),
                "legal_rep_id_number": s.identity.take(pa.array(e["legal_rep"])),
                "founded_date": _date(e["founded"]),
            },
            np.argsort(np.array(s.employer), kind="stable"),
        )
    if "employments" in wanted:
        em = w.employments
        emit(
            "employments",
            {
                "id_number": s.identity.take(pa.array(em["identity"])),
                "employer_id": pa.array(s.employer, type=pa.string()).take(pa.array(em["employer"])),
                "start_date": _date(em["start"]),
                "end_date": _date(em["end"]),
                "contribution_base": _money(em["base"]),
                "back_paid_months": pa.array(em["back_paid"], type=pa.int32()),
            },
            np.lexsort((np.arange(len(em)), em["start"].astype(np.int64), pnum[id_person[em["identity"]]])),
        )
    b = w.benefits
    if "benefits" in wanted:
        emit(
            "benefits",
            {
                "benefit_id": s.benefit,
                "id_number": s.identity.take(pa.array(b["identity"])),
                "scheme": _enum(SCHEMES, b["scheme"]),
                "region_code": _take([x.code for x in vocab.REGIONS], b["region"]),
                "start_date": _date(b["start"]),
                "end_date": _date(b["end"]),
                "account_no": s.account.take(pa.array(b["account"])),
            },
            np.argsort(s.benefit_num, kind="stable"),
        )
    if "payments" in wanted:
        lo = np.maximum(b["pay_from"], w.start_month)
        hi = np.minimum(b["pay_to"], w.end_month)
        k = np.maximum(hi - lo + 1, 0)
        bi = np.repeat(np.arange(len(b)), k)
        month = lo[bi] + (np.arange(len(bi)) - np.repeat(np.cumsum(k) - k, k))
        order = np.lexsort((month, s.benefit_num[bi]))
        bi, month = bi[order], month[order]
        emit(
            "payments",
            {
                "payment_id": _cat("PM", _num(np.arange(len(bi)) + 1, 11)),
                "benefit_id": s.benefit.take(pa.array(bi)),
                "month": _months(month),
                "amount": _money(b["amount"][bi]),
                "account_no": s.account.take(pa.array(b["account"][bi])),
            },
            np.arange(len(bi)),
        )
    if "hospitals" in wanted:
        h = w.hospitals
        emit(
            "hospitals",
            {
                "hospital_id": pa.array(s.hospital, type=pa.string()),
                "name": pa.array(s.hospital_name, type=pa.string()),
                "level": _take(vocab.LEVELS, h["level"]),
                "region_code": _take([x.code for x in vocab.REGIONS], h["region"]),
                "address": pa.array(s.hospital_address, type=pa.string()),
            },
            np.argsort(np.array(s.hospital), kind="stable"),
        )
    if "doctors" in wanted:
        d = w.doctors
        emit(
            "doctors",
            {
                "doctor_id": s.doctor,
                "hospital_id": pa.array(s.hospital, type=pa.string()).take(pa.array(d["hospital"])),
                "name": _cat(_take(vocab.SURNAMES_ONLY, d["surname"]), _given(d["given"])),
            },
            np.argsort(np.asarray(s.doctor.to_numpy(zero_copy_only=False), dtype=str), kind="stable"),
        )
    if "claims" in wanted:
        c = w.claims
        order = np.lexsort((rng.random(len(c)), c["admit"].astype(np.int64)))
        claim_no = np.empty(len(c), dtype=np.int64)
        claim_no[order] = np.arange(len(c)) + 1
        y = ymd(c["admit"])[0]
        emit(
            "claims",
            {
                "claim_id": _cat("CL", _num(y * 10**8 + claim_no, 12)),
                "id_number": s.identity.take(pa.array(c["identity"])),
                "hospital_id": pa.array(s.hospital, type=pa.string()).take(pa.array(c["hospital"])),
                "doctor_id": s.doctor.take(pa.array(c["doctor"])),
                "admit_date": _date(c["admit"]),
                "discharge_date": _date(c["discharge"]),
                "diagnosis_code": _take([x.code for x in vocab.DIAGNOSES], c["diag"]),
                "amount": _money(c["amount"]),
                "fund_paid": _money(c["fund"]),
            },
            order,
        )
    if "deaths" in wanted:
        dt = w.deaths
        emit(
            "deaths",
            {
                "id_number": s.identity.take(pa.array(dt["identity"])),
                "death_date": _date(dt["date"]),
                "source": _enum(DEATH_SOURCES, dt["source"]),
            },
            np.lexsort((np.arange(len(dt)), pnum[id_person[dt["identity"]]], dt["date"].astype(np.int64))),
        )
    if "activities" in wanted:
        ac = w.activities
        emit(
            "activities",
            {
                "id_number": s.identity.take(pa.array(ac["identity"])),
                "date": _date(ac["date"]),
                "source": _take(vocab.ACTIVITY_SOURCE_NAMES, ac["source"]),
                "kind": _take(vocab.ACTIVITY_KINDS, ac["kind"]),
            },
            np.lexsort((np.arange(len(ac)), ac["date"].astype(np.int64), pnum[id_person[ac["identity"]]])),
        )
    return out


def _safe_for_plain_csv(t: pa.Table) -> bool:
    for col in t.columns:
        if (
            pa.types.is_string(col.type)
            and len(col)
            and pc.any(pc.match_substring_regex(col, r'[,"\r\n]')).as_py()
        ):
            return False
    return True


def write_table(t: pa.Table, path: Path, fmt: str) -> None:
    """Write one table as CSV (UTF-8, header, no quoting unless needed) or Parquet."""
    if fmt == "parquet":
        pq.write_table(t, path, compression="zstd")
        return
    plain = _safe_for_plain_csv(t)
    with path.open("wb") as f:
        f.write((",".join(t.column_names) + "\n").encode("utf-8"))
        pacsv.write_csv(
            t, f, pacsv.WriteOptions(include_header=False, quoting_style="none" if plain else "needed")
        )


def truth_lines(w: World, s: Strings) -> list[str]:
    """Truth file lines, grouped by detector (contract order), cases before decoys."""
    lines: list[str] = []
    for det in DETECTORS:
        entries = [e for e in w.truth if e.detector == det]
        entries = [e for e in entries if e.kind == "case"] + [e for e in entries if e.kind == "decoy"]
        for k, e in enumerate(entries, 1):
            members = {t: sorted(s.lookup(t, v)) for t, v in sorted(e.members.items())}
            obj: dict[str, Any] = {
                "case_id": f"{det}-{k:04d}",
                "detector": det,
                "kind": e.kind,
                "variant": e.variant,
                "members": members,
            }
            if e.facts:
                obj["facts"] = e.facts
            lines.append(json.dumps(obj, ensure_ascii=False, separators=(", ", ": ")))
    return lines


def write_all(
    w: World,
    out_dir: Path,
    truth_path: Path,
    fmt: str,
    tables: Collection[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, int], dict[str, int]]:
    """Write the tables and the truth file; returns (rows, bytes) per table."""
    wanted = list(TABLE_ORDER) if tables is None else [t for t in TABLE_ORDER if t in set(tables)]
    s = Strings(w)
    built = build_tables(w, s, wanted)
    rows: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for name in wanted:
        path = out_dir / f"{name}.{fmt}"
        write_table(built[name], path, fmt)
        rows[name] = built[name].num_rows
        sizes[name] = path.stat().st_size
        if progress:
            progress(f"wrote {name}: {rows[name]:,} rows")
    truth_path.write_text("\n".join(truth_lines(w, s)) + "\n", encoding="utf-8")
    return rows, sizes


__all__ = ["Strings", "build_tables", "month_ord", "truth_lines", "write_all", "write_table"]
