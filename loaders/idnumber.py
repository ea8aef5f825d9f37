"""Chinese resident ID numbers (GB 11643-1999): 18-digit and legacy 15-digit.

18 digits: 6-digit area code, 8-digit birth date ``YYYYMMDD``, 3-digit sequence (odd = male,
even = female), check character (ISO 7064 MOD 11-2, ``X`` for 10).
15 digits (legacy, before 1999): 6-digit area, 6-digit birth date ``YYMMDD`` (19xx), 3-digit
sequence; upgraded to 18 digits by inserting ``19`` and appending the check character.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # index = (sum of weighted digits) mod 11


def check_char(first17: str) -> str:
    """Check character for the first 17 digits of an 18-digit number."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def upgrade15(id15: str) -> str:
    """The 18-digit number of a legacy 15-digit number (birth year 19xx)."""
    if len(id15) != 15 or not id15.isdigit():
        raise ValueError("need exactly 15 digits")
    body = id15[:6] + "19" + id15[6:]
    return body + check_char(body)


@dataclass(frozen=True)
class IdInfo:
    """What an ID number encodes. ``ok`` = well-formed (length, digits, real birth date)."""

    id_number: str
    kind: str  # "ID18", "ID15" or "OTHER"
    ok: bool
    checksum_ok: bool | None  # None for non-18-digit numbers
    region: str | None
    birth_date: date | None
    sex: str | None  # "M"/"F"
    problem: str | None = None


def parse(id_number: str) -> IdInfo:
    """Parse one normalised ID number (upper-case ``X``)."""
    s = id_number
    if len(s) == 18:
        body, last = s[:17], s[17]
        if not body.isdigit() or not (last.isdigit() or last == "X"):
            return IdInfo(s, "ID18", False, None, None, None, None, "非数字字符")
        ymd = body[6:14]
        seq = body[14:17]
        kind = "ID18"
    elif len(s) == 15:
        if not s.isdigit():
            return IdInfo(s, "ID15", False, None, None, None, None, "非数字字符")
        ymd = "19" + s[6:12]
        seq = s[12:15]
        kind = "ID15"
    else:
        return IdInfo(s, "OTHER", False, None, None, None, None, "长度不是15或18位")
    try:
        born = date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:8]))
    except ValueError:
        return IdInfo(s, kind, False, None, s[:6], None, None, "出生日期不存在")
    if born.year < 1880:
        return IdInfo(s, kind, False, None, s[:6], None, None, "出生日期不合理")
    sex = "M" if int(seq[-1]) % 2 == 1 else "F"
    checksum = check_char(s[:17]) == s[17] if kind == "ID18" else None
    return IdInfo(s, kind, True, checksum, s[:6], born, sex, None if checksum in (True, None) else "校验位错误")


def parse_series(ids: pd.Series) -> pd.DataFrame:
    """Vectorised :func:`parse` for a column of normalised ID numbers.

    Returns
    -------
    DataFrame indexed like ``ids`` with ``kind`` (ID18/ID15/OTHER), ``ok`` (bool),
    ``checksum_ok`` (bool, ``pd.NA`` when not 18 digits), ``region``, ``birth_date``
    (datetime64, NaT when unknown), ``sex`` and ``problem``.
    """
    s = ids.astype("string").fillna("")
    n = len(s)
    length = s.str.len().to_numpy()
    is18 = length == 18
    is15 = length == 15
    body18 = s.str.slice(0, 17)
    digits18 = is18 & body18.str.fullmatch(r"\d{17}").fillna(False).to_numpy() & s.str.slice(17).str.fullmatch(
        r"[\dX]"
    ).fillna(False).to_numpy()
    digits15 = is15 & s.str.fullmatch(r"\d{15}").fillna(False).to_numpy()
    ymd = pd.Series(np.where(is18, s.str.slice(6, 14), "19" + s.str.slice(6, 12)), index=s.index)
    born = pd.to_datetime(ymd.where(digits18 | digits15), format="%Y%m%d", errors="coerce")
    born = born.where(born >= pd.Timestamp("1880-01-01"))
    seq_last = pd.Series(np.where(is18, s.str.slice(16, 17), s.str.slice(14, 15)), index=s.index)
    odd = pd.to_numeric(seq_last, errors="coerce") % 2 == 1
    ok = (digits18 | digits15) & born.notna().to_numpy()

    # check digit, vectorised over the 17-digit bodies of well-formed 18-digit numbers
    checksum = pd.Series(pd.NA, index=s.index, dtype="boolean")
    idx = np.flatnonzero(digits18)
    if len(idx):
        b = body18.iloc[idx].to_numpy(dtype="U17")
        arr = np.frombuffer(b.astype("S17").tobytes(), dtype=np.uint8).reshape(len(idx), 17) - ord("0")
        total = arr.astype(np.int64) @ np.asarray(WEIGHTS, dtype=np.int64)
        expect = np.asarray(list(CHECK_CHARS))[total % 11]
        last = s.iloc[idx].str.slice(17).to_numpy(dtype="U1")
        checksum.iloc[idx] = expect == last

    kind = np.where(is18, "ID18", np.where(is15, "ID15", "OTHER"))
    problem = np.full(n, None, dtype=object)
    problem[~(is18 | is15)] = "长度不是15或18位"
    problem[(is18 & ~digits18) | (is15 & ~digits15)] = "非数字字符"
    problem[(digits18 | digits15) & born.isna().to_numpy()] = "出生日期不存在"
    problem[ok & (checksum == False).fillna(False).to_numpy()] = "校验位错误"  # noqa: E712
    return pd.DataFrame(
        {
            "kind": kind,
            "ok": ok,
            "checksum_ok": checksum,
            "region": s.str.slice(0, 6).where(ok),
            "birth_date": born.where(ok),
            "sex": pd.Series(np.where(odd, "M", "F"), index=s.index).where(ok),
            "problem": problem,
        },
        index=s.index,
    )
