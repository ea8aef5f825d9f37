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
import pyarrow as pa
import pyarrow.compute as pc

from ringwatch.loaders.values import byte_matrix

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
    return IdInfo(
        s, kind, True, checksum, s[:6], born, sex, None if checksum in (True, None) else "校验位错误"
    )


def parse_series(ids: pd.Series) -> pd.DataFrame:
    """Vectorised :func:`parse` for a column of normalised ID numbers.

    Returns
    -------
    DataFrame indexed like ``ids`` with ``kind`` (ID18/ID15/OTHER), ``ok`` (bool),
    ``checksum_ok`` (bool, ``pd.NA`` when not 18 digits), ``region``, ``birth_date``
    (datetime64, NaT when unknown), ``sex`` and ``problem``.
    """
    index = ids.index
    n = len(ids)
    text = pa.array(ids.astype("string").fillna(""), type=pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    length = np.asarray(pc.utf8_length(text).to_numpy(zero_copy_only=False), dtype=np.int64)
    is18 = length == 18
    is15 = length == 15
    # the first 18 bytes of every value as a matrix: one NumPy operation per column, none per row
    head = pc.utf8_slice_codeunits(text, 0, 18)
    got = byte_matrix(head)
    assert got is not None
    b = np.zeros((n, 18), dtype=np.uint8)
    b[:, : min(18, got[0].shape[1])] = got[0][:, :18]
    d = b.astype(np.int16) - ord("0")
    isdigit = (d >= 0) & (d <= 9)
    digits18 = is18 & isdigit[:, :17].all(axis=1) & (isdigit[:, 17] | (b[:, 17] == ord("X")))
    digits15 = is15 & isdigit[:, :15].all(axis=1)
    wellformed = digits18 | digits15
    dd = np.where(isdigit, d, 0).astype(np.int32)
    year = np.where(
        is18, dd[:, 6] * 1000 + dd[:, 7] * 100 + dd[:, 8] * 10 + dd[:, 9], 1900 + dd[:, 6] * 10 + dd[:, 7]
    )
    month = np.where(is18, dd[:, 10] * 10 + dd[:, 11], dd[:, 8] * 10 + dd[:, 9])
    day = np.where(is18, dd[:, 12] * 10 + dd[:, 13], dd[:, 10] * 10 + dd[:, 11])
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.asarray([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)
    max_day = month_days[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
    real = wellformed & (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= max_day)
    too_old = real & (year < 1880)
    ok = real & ~too_old
    since_1970 = ((np.where(ok, year, 1970) - 1970) * 12 + np.where(ok, month, 1) - 1).astype(
        "timedelta64[M]"
    )
    first_of_month = (np.datetime64("1970-01", "M") + since_1970).astype("datetime64[D]")
    born = (first_of_month + (np.where(ok, day, 1) - 1).astype("timedelta64[D]")).astype("datetime64[us]")
    born[~ok] = np.datetime64("NaT")
    seq_last = np.where(is18, dd[:, 16], dd[:, 14])

    # check digit of well-formed 18-digit numbers
    total = dd[:, :17] @ np.asarray(WEIGHTS, dtype=np.int32)
    expect = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[total % 11]
    checksum = pd.array(expect == b[:, 17], dtype="boolean")
    checksum[~digits18] = pd.NA

    kind = np.where(is18, 0, np.where(is15, 1, 2))
    problem = np.full(n, -1, dtype=np.int64)
    problem[~(is18 | is15)] = 0
    problem[(is18 & ~digits18) | (is15 & ~digits15)] = 1
    problem[wellformed & ~real] = 2
    problem[too_old] = 3
    problem[ok & digits18 & (expect != b[:, 17])] = 4
    problems = ("长度不是15或18位", "非数字字符", "出生日期不存在", "出生日期不合理", "校验位错误")
    region = pc.if_else(pa.array(ok), pc.utf8_slice_codeunits(text, 0, 6), pa.scalar(None, pa.string()))
    sex = np.where(ok, seq_last % 2, -1)
    return pd.DataFrame(
        {
            "kind": _labels(("ID18", "ID15", "OTHER"), kind, index),
            "ok": ok,
            "checksum_ok": checksum,
            "region": region.to_pandas().set_axis(index),
            "birth_date": pd.Series(born, index=index),
            "sex": _labels(("F", "M"), sex, index),
            "problem": _labels(problems, problem, index),
        },
        index=index,
    )


def _labels(labels: tuple[str, ...], codes: np.ndarray, index: pd.Index) -> pd.Series:
    """A ``str`` Series of ``labels[code]`` (missing where ``code < 0``), built in Arrow."""
    idx = pa.array(codes, mask=codes < 0, type=pa.int64())
    out = pa.array(labels, type=pa.string()).take(idx).to_pandas()
    out.index = index
    return out
