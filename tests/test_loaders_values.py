"""Vectorised helpers of the loaders against plain-Python reference implementations."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ringwatch.loaders import values as V
from ringwatch.semantics import address_key

MASK64 = (1 << 64) - 1


def reference_hash64(text: str) -> int:
    """The documented algorithm, one string at a time."""
    data = text.encode("utf-8")
    padded = data + b"\0" * (-len(data) % 8 or (8 if not data else 0))
    h = 0xCBF29CE484222325
    h = ((h ^ len(data)) * 0x100000001B3) & MASK64
    for i in range(0, len(padded), 8):
        h = ((h ^ int.from_bytes(padded[i : i + 8], "big")) * 0x100000001B3) & MASK64
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK64
    h ^= h >> 33
    return h


def s(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype="str")


def test_python_whitespace_set_is_exact() -> None:
    ws = "".join(chr(c) for c in range(0x110000) if re.match(r"\s", chr(c)))
    assert ws == V.PY_WHITESPACE


def test_nfkc_trim_matches_python() -> None:
    raw = [" １２３ａ ", "\u3000x y\u3000", "\x1cq\x85", "", "北京\u00a0", "Ｘ"]
    out = V.nfkc_trim(pa.array(raw)).to_pylist()
    import unicodedata

    assert out == [unicodedata.normalize("NFKC", v).strip() for v in raw]


def test_address_key_series_matches_semantics() -> None:
    values = ["北京市 朝阳区\u3000幸福路１２号", "a" + V.PY_WHITESPACE + "b", " x\ty ", ""]
    normalised = [V.nfkc_trim(pa.array([v])).to_pylist()[0] for v in values]
    assert V.address_key_series(s(normalised)).tolist() == [address_key(v) for v in values]


def test_parse_dates() -> None:
    dates, bad = V.parse_dates(
        s(["2023-02-30", "2024-02-29", "", "2023-1-5", "9999-12-31", None, "2023-02-28x"])
    )
    assert bad.tolist() == [True, False, False, True, False, False, True]
    assert dates.tolist()[1] == pd.Timestamp("2024-02-29")
    assert dates.tolist()[4] == pd.Timestamp("9999-12-31")
    assert str(dates.dtype) == "datetime64[us]"


def test_parse_months() -> None:
    months, bad = V.parse_months(s(["2023-02", "2023-13", "", "2023-2", "2023-00"]))
    assert bad.tolist() == [False, True, False, True, True]
    assert months.tolist()[0] == "2023-02"


def test_parse_numbers() -> None:
    nums, not_number, negative = V.parse_numbers(
        s(["1.5", "-2", "", "abc", "1e3", "inf", "nan", ".5", "+7", "1,000"])
    )
    assert not_number.tolist() == [False, False, False, True, False, True, True, False, False, True]
    assert negative.tolist() == [False, True, False, False, False, False, False, False, False, False]
    assert nums.tolist()[0] == 1.5 and nums.tolist()[4] == 1000.0 and nums.tolist()[8] == 7.0
    ints, not_whole, neg = V.parse_numbers(s(["3", "3.0", "3.5", "", "-1"]), integer=True)
    assert not_whole.tolist() == [False, False, True, False, False]
    assert neg.tolist() == [False, False, False, False, True]
    assert str(ints.dtype) == "Int64"
    assert ints.tolist()[:2] == [3, 3]


def test_parse_enum_case_and_aliases() -> None:
    canon, unknown = V.parse_enum(s(["m", "F", "男", "女", "x", ""]), ["M", "F"], {"男": "M", "女": "F"})
    assert canon.tolist()[:4] == ["M", "F", "M", "F"]
    assert unknown.tolist() == [False, False, False, False, True, False]


def test_isin_and_lookup() -> None:
    vals = s(["a", "b", None, "c"])
    assert V.isin(vals, pa.array(["a", "c"])).tolist() == [True, False, False, True]
    out = V.lookup(vals, pa.array(["a", "c"]), pa.array(["A", "C"]))
    assert out.tolist()[0] == "A" and out.tolist()[3] == "C"
    assert pd.isna(out.tolist()[1]) and pd.isna(out.tolist()[2])


def test_extra_json_matches_json_dumps() -> None:
    cols = {
        "b": s(['x"y', "", "a\\b\nc", "\x01"]),
        "a": s(["中", "", "", "ok"]),
    }
    out = V.extra_json(cols, pd.RangeIndex(4)).tolist()
    expected = [{"a": "中", "b": 'x"y'}, None, {"b": "a\\b\nc"}, {"a": "ok", "b": "\x01"}]
    for got, want in zip(out, expected, strict=True):
        if want is None:
            assert got is None
        else:
            assert got == json.dumps(want, ensure_ascii=False, sort_keys=True)
    assert V.extra_json({}, pd.RangeIndex(2)).tolist() == [None, None]


def test_sort_order_matches_python_sorting() -> None:
    rng = random.Random(3)
    a = ["".join(rng.choice("ab中é\u3000Z09") for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    a += [None, "", "a", "a", "a" * 200]  # a long value is sorted too
    b = [rng.choice(["x", "y", None, "xx"]) for _ in a]
    frame = pd.DataFrame({"a": s(a), "b": s(b)})
    expected = [
        i for _, _, i in sorted((x or "", y or "", i) for i, (x, y) in enumerate(zip(a, b, strict=True)))
    ]
    assert V.sort_order(frame, ["a", "b"]).tolist() == expected
    short = frame.iloc[:-1].reset_index(drop=True)  # without the long value: the radix path
    assert V.sort_order(short, ["a", "b"]).tolist() == [i for i in expected if i != len(a) - 1]


def test_hash64_is_the_documented_algorithm() -> None:
    texts = ["", "a", "abcdefgh", "abcdefghi", "中文|2024-01-01|medical||0", "x" * 40]
    got = V.hash64(pa.array(texts)).tolist()
    assert got == [reference_hash64(t) for t in texts]
    # a string's hash does not depend on the other strings hashed with it
    assert [V.hash64(pa.array([t])).tolist()[0] for t in texts] == got
    # pinned value: activity ids must not change between versions
    assert V.hex64(V.hash64(pa.array(["a"]))).to_pylist() == [f"{reference_hash64('a'):016x}"]
    assert V.hex64(
        V.hash64(pa.array(["a", "11010519491231002X|2024-01-01|medical|visit|0"]))
    ).to_pylist() == [
        "6793acc2d2b24185",
        "e39e7b794104ad8a",
    ]
    assert len(set(V.hash64(pa.array([f"id{i}" for i in range(20000)])).tolist())) == 20000


def test_hex64() -> None:
    out = V.hex64(np.array([0, 1, MASK64, 0x0123456789ABCDEF], dtype=np.uint64)).to_pylist()
    assert out == ["0000000000000000", "0000000000000001", "ffffffffffffffff", "0123456789abcdef"]


@pytest.mark.parametrize("n", [0, 1])
def test_small_inputs(n: int) -> None:
    frame = pd.DataFrame({"a": s(["x"] * n)})
    assert V.sort_order(frame, ["a"]).tolist() == list(range(n))
    assert len(V.hash64(pa.array(["x"] * n, pa.string()))) == n
