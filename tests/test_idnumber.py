"""loaders/idnumber.py against hand-computed GB 11643-1999 examples.

Hand computation for 11010519491231002X (weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2):
1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 5*4 + 1*2 + 9*1 + 4*6 + 9*3 + 1*7 + 2*9 + 3*10 + 1*5 + 0*8 + 0*4
+ 2*2 = 167; 167 mod 11 = 2 -> check character "X" (table 1 0 X 9 8 7 6 5 4 3 2).
For 34052419800101001X the sum is 189; 189 mod 11 = 2 -> "X" as well.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from ringwatch.loaders.idnumber import check_char, parse, parse_series, upgrade15

VALID_F = "11010519491231002X"  # Beijing Xicheng... born 1949-12-31, sequence 002 (even: female)
VALID_M = "34052419800101001X"  # born 1980-01-01, sequence 001 (odd: male)


def test_check_char_hand_computed() -> None:
    assert check_char("11010519491231002") == "X"
    assert check_char("34052419800101001") == "X"


def test_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        check_char("1101051949123100")  # 16 digits
    with pytest.raises(ValueError):
        check_char("1101051949123100A")


def test_upgrade15() -> None:
    assert upgrade15("110105491231002") == VALID_F
    with pytest.raises(ValueError):
        upgrade15("11010549123100")


def test_parse_valid_18() -> None:
    info = parse(VALID_F)
    assert info.ok and info.kind == "ID18" and info.checksum_ok is True
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "F"
    assert info.region == "110105"
    assert info.problem is None
    assert parse(VALID_M).sex == "M"


def test_parse_wrong_check_digit_is_well_formed_but_flagged() -> None:
    info = parse("110105194912310021")
    assert info.ok is True
    assert info.checksum_ok is False
    assert info.problem == "校验位错误"


def test_parse_15_digit() -> None:
    info = parse("110105491231002")
    assert info.ok and info.kind == "ID15" and info.checksum_ok is None
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "F"


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("11010519490230002X", "出生日期不存在"),  # 30 February
        ("110105190002290014", "出生日期不存在"),  # 1900 was not a leap year
        ("110105187912310014", "出生日期不合理"),  # before 1880
        ("1101051949123100AX", "非数字字符"),
        ("11010519491231002x", "非数字字符"),  # parse expects the normalised upper-case X
        ("11010549123100A", "非数字字符"),
        ("1101051949123100", "长度不是15或18位"),
        ("", "长度不是15或18位"),
    ],
)
def test_parse_malformed(number: str, problem: str) -> None:
    info = parse(number)
    assert info.ok is False
    assert info.problem == problem
    assert info.birth_date is None


def test_leap_day_2000_is_valid() -> None:
    body = "11010520000229001"
    assert parse(body + check_char(body)).birth_date == date(2000, 2, 29)


def test_parse_series_matches_scalar_parse() -> None:
    numbers = [
        VALID_F,
        VALID_M,
        "110105194912310021",
        "110105491231002",
        "11010519490230002X",
        "110105187912310014",
        "1101051949123100AX",
        "11010549123100A",
        "1101051949123100",
        "",
    ]
    out = parse_series(pd.Series(numbers, index=range(10, 20)))
    assert list(out.index) == list(range(10, 20))
    for i, number in enumerate(numbers):
        row = out.iloc[i]
        info = parse(number)
        assert row["kind"] == info.kind, number
        assert bool(row["ok"]) is info.ok, number
        if info.problem is None:
            assert pd.isna(row["problem"]), number
        else:
            assert row["problem"] == info.problem, number
        if info.ok:
            if info.checksum_ok is None:
                assert pd.isna(row["checksum_ok"]), number
            else:
                assert bool(row["checksum_ok"]) is info.checksum_ok, number
            assert row["birth_date"].date() == info.birth_date
            assert row["sex"] == info.sex
            assert row["region"] == info.region
        else:
            assert pd.isna(row["birth_date"]) and pd.isna(row["sex"]) and pd.isna(row["region"])


def test_parse_series_handles_nulls_and_empty() -> None:
    out = parse_series(pd.Series([None, VALID_F], dtype=object))
    assert not bool(out["ok"].iloc[0])
    assert bool(out["ok"].iloc[1])
    empty = parse_series(pd.Series([], dtype=object))
    assert len(empty) == 0
