"""Loaders: every bad-input rule of the contract, encodings, formats and the graph they build.

All inputs are small real files written into ``tmp_path``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ringwatch.contract import TABLE_ORDER
from ringwatch.errors import InputError
from ringwatch.graph.base import conform
from ringwatch.graph.schema import NODES, RELS
from ringwatch.loaders import LoadResult, TableReport, load_directory, write_quarantine
from ringwatch.loaders.idnumber import check_char
from ringwatch.loaders.values import hash64, hex64


def texts(col: pd.Series) -> list[object]:
    """A text column's values with ``None`` for missing (frames keep text as pandas ``str``: NaN)."""
    return [None if pd.isna(v) else v for v in col]


def id18(body17: str) -> str:
    return body17 + check_char(body17)


# ID numbers used throughout (all well-formed with correct check digits unless said otherwise)
A18 = id18("11010519491231002")  # 11010519491231002X, born 1949-12-31, female
A15 = "110105491231002"  # A18's legacy 15-digit number
B18 = id18("34052419800101001")  # 34052419800101001X, born 1980-01-01, male
C18 = id18("31010119551111003")
D18 = id18("44010319600505004")
BAD_CHECK = A18[:17] + ("1" if A18[17] != "1" else "2")  # wrong check digit


def write_csv(
    d: Path,
    name: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    encoding: str = "utf-8",
    bom: bool = False,
) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue().encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path = d / f"{name}.csv"
    path.write_bytes(data)
    return path


PERSONS_HEADER = ["person_id", "name", "sex", "birth_date", "region_code"]
IDENT_HEADER = ["id_number", "person_id", "id_type", "issued_date"]


def base(d: Path) -> Path:
    """Three people and their identities."""
    d.mkdir(parents=True, exist_ok=True)
    write_csv(
        d,
        "persons",
        PERSONS_HEADER,
        [
            ["P1", "张三", "M", "1949-12-31", "110105"],
            ["P2", "李四", "F", "1980-01-01", "340524"],
            ["P3", "王五", "M", "1955-11-11", "310101"],
        ],
    )
    write_csv(
        d,
        "identities",
        IDENT_HEADER,
        [[A18, "P1", "", "2000-01-01"], [B18, "P2", "ID18", ""], [C18, "P3", "", ""]],
    )
    return d


def tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def quarantined(result: LoadResult, table: str) -> pd.DataFrame:
    return result.quarantine.get(table, pd.DataFrame(columns=["row", "column", "reason"]))


def check_invariant(result: LoadResult) -> None:
    for name, rep in result.reports.items():
        assert isinstance(rep, TableReport)
        assert rep.rows_in == rep.loaded + rep.quarantined, name
        assert rep.quarantined == sum(rep.reasons.values()), name
        assert rep.quarantined == len(quarantined(result, name)), name


# -- whole-file problems: InputError, nothing written ------------------------------------------------
def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    d = base(tmp_path / "data")
    write_csv(d, "accounts", ["account_no", "bank"], [["A1", "ICBC"]])
    before = tree(tmp_path)
    with pytest.raises(InputError) as ei:
        load_directory(d)
    err = ei.value
    assert err.file == "accounts.csv"
    assert err.column == "person_id"
    assert "accounts.csv" in str(err) and "person_id" in str(err)
    assert "required column" in str(err)
    assert err.exit_code == 2
    assert tree(tmp_path) == before  # nothing written anywhere


def test_unparsable_file_names_file_and_row(tmp_path: Path) -> None:
    d = base(tmp_path)
    (d / "phones.csv").write_text(f"person_id,phone,since\nP1,13800000000,2020-01-01\nP2,{A18},x,y\n")
    before = tree(tmp_path)
    with pytest.raises(InputError) as ei:
        load_directory(d)
    err = ei.value
    assert err.file == "phones.csv"
    assert err.row == 2
    assert "4 fields" in str(err) and "3" in str(err)
    assert A18 not in str(err)  # never quote cell values
    assert tree(tmp_path) == before


def test_empty_file_and_bad_parquet_are_input_errors(tmp_path: Path) -> None:
    d = base(tmp_path)
    (d / "phones.csv").write_bytes(b"")
    with pytest.raises(InputError, match="header") as ei:
        load_directory(d)
    assert ei.value.file == "phones.csv"
    (d / "phones.csv").unlink()
    (d / "phones.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="Parquet") as ei2:
        load_directory(d)
    assert ei2.value.file == "phones.parquet"


@pytest.mark.parametrize("missing", ["persons", "identities"])
def test_missing_required_table(tmp_path: Path, missing: str) -> None:
    d = base(tmp_path)
    (d / f"{missing}.csv").unlink()
    with pytest.raises(InputError, match=missing) as ei:
        load_directory(d)
    assert ei.value.file == f"{missing}.csv"


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_directory(tmp_path / "nope")


def test_csv_and_parquet_for_one_table_is_an_error(tmp_path: Path) -> None:
    d = base(tmp_path)
    pq.write_table(pa.table({"person_id": ["P1"], "phone": ["1"]}), d / "phones.parquet")
    write_csv(d, "phones", ["person_id", "phone"], [["P1", "1"]])
    with pytest.raises(InputError, match="both"):
        load_directory(d)


def test_duplicate_header_column_is_an_error(tmp_path: Path) -> None:
    d = base(tmp_path)
    (d / "phones.csv").write_text("person_id,phone,Phone \nP1,1,2\n")
    with pytest.raises(InputError, match="more than once") as ei:
        load_directory(d)
    assert ei.value.column == "phone"


def test_undecodable_file_names_encodings_tried(tmp_path: Path) -> None:
    d = base(tmp_path)
    (d / "phones.csv").write_bytes(b"person_id,phone\nP1,\xff\xff\xff\n")
    with pytest.raises(InputError) as ei:
        load_directory(d)
    assert ei.value.file == "phones.csv"
    assert "utf-8" in str(ei.value) and "gb18030" in str(ei.value)


def test_forced_encoding_that_does_not_fit_is_an_error(tmp_path: Path) -> None:
    d = base(tmp_path)
    with pytest.raises(InputError, match="ascii"):
        load_directory(d, encoding="ascii")


def test_other_files_are_ignored(tmp_path: Path) -> None:
    d = base(tmp_path)
    (d / "notes.txt").write_text("hello")
    write_csv(d, "unrelated", ["x"], [["1"]])
    res = load_directory(d)
    assert res.frames.loaded_tables == frozenset({"persons", "identities"})
    assert res.frames.meta["loaded_tables"] == "persons,identities"


# -- encodings ------------------------------------------------------------------------------------------
def test_utf8_bom(tmp_path: Path) -> None:
    d = tmp_path
    write_csv(d, "persons", PERSONS_HEADER, [["P1", "张三", "男", "1949-12-31", "110105"]], bom=True)
    write_csv(d, "identities", IDENT_HEADER, [[A18, "P1", "", ""]], bom=True)
    res = load_directory(d)
    assert res.encodings == {"persons": "utf-8-sig", "identities": "utf-8-sig"}
    p = res.frames.nodes("Person")
    assert p["person_id"].tolist() == ["P1"]
    assert p["name"].tolist() == ["张三"]
    assert p["sex"].tolist() == ["M"]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_and_gb18030_files(tmp_path: Path, encoding: str) -> None:
    d = tmp_path
    write_csv(
        d, "persons", PERSONS_HEADER, [["P1", "欧阳娜", "女", "1949-12-31", "110105"]], encoding=encoding
    )
    write_csv(d, "identities", IDENT_HEADER, [[A18, "P1", "", ""]], encoding=encoding)
    write_csv(
        d, "addresses", ["person_id", "address"], [["P1", "广东省广州市越秀区中山路１号"]], encoding=encoding
    )
    res = load_directory(d)
    # an ASCII-only file is valid UTF-8 and read as such
    assert res.encodings == {"persons": "gb18030", "identities": "utf-8", "addresses": "gb18030"}
    assert res.frames.nodes("Person")["name"].tolist() == ["欧阳娜"]
    assert res.frames.nodes("Person")["sex"].tolist() == ["F"]
    assert res.frames.nodes("Address")["address_key"].tolist() == ["广东省广州市越秀区中山路1号"]
    forced = load_directory(d, encoding="gb18030")
    assert forced.frames.nodes("Person")["name"].tolist() == ["欧阳娜"]


# -- Parquet ------------------------------------------------------------------------------------------------
def test_parquet_input_with_typed_columns(tmp_path: Path) -> None:
    import datetime as dt

    d = tmp_path
    pq.write_table(
        pa.table(
            {
                "person_id": ["P1", "P2"],
                "name": ["张三", None],
                "sex": ["M", "F"],
                "birth_date": pa.array([dt.date(1949, 12, 31), None], pa.date32()),
                "region_code": ["110105", "340524"],
                "score": pa.array([1.5, None]),  # an extra column
            }
        ),
        d / "persons.parquet",
    )
    pq.write_table(pa.table({"id_number": [A18, B18], "person_id": ["P1", "P2"]}), d / "identities.parquet")
    pq.write_table(
        pa.table(
            {
                "id_number": [A18, B18],
                "employer_id": ["E1", "E1"],
                "start_date": pa.array(
                    [dt.datetime(2001, 2, 3), dt.datetime(2002, 3, 4)], pa.timestamp("ms")
                ),
                "contribution_base": pa.array([3000.5, 0.0]),
                "back_paid_months": pa.array([36, None], pa.int64()),
            }
        ),
        d / "employments.parquet",
    )
    res = load_directory(d)
    check_invariant(res)
    assert res.encodings["persons"] == "parquet"
    p = res.frames.nodes("Person")
    assert p["birth_date"].tolist()[0] == pd.Timestamp("1949-12-31")
    assert pd.isna(p["birth_date"].tolist()[1])
    assert texts(p["name"]) == ["张三", None]
    assert json.loads(p["extra"].tolist()[0]) == {"score": "1.5"}
    assert pd.isna(p["extra"].tolist()[1])
    e = res.frames.rels("EMPLOYED_BY")
    assert e["start_date"].tolist() == [pd.Timestamp("2001-02-03"), pd.Timestamp("2002-03-04")]
    assert e["contribution_base"].tolist() == [3000.5, 0.0]
    assert e["back_paid_months"].tolist()[0] == 36
    assert pd.isna(e["back_paid_months"].tolist()[1])
    # employers table absent: the employer exists as a node with only its key (evidence)
    assert res.frames.nodes("Employer")["employer_id"].tolist() == ["E1"]


# -- row rules ------------------------------------------------------------------------------------------
def test_bad_dates_are_quarantined_with_row_and_reason(tmp_path: Path) -> None:
    d = tmp_path
    write_csv(
        d,
        "persons",
        PERSONS_HEADER,
        [
            ["P1", "张三", "M", "2023-02-30", "110105"],  # impossible date
            ["P2", "李四", "F", "1980/01/01", "340524"],  # wrong format
            ["P3", "王五", "M", "", "310101"],  # unknown: fine
            ["P4", "赵六", "M", "2024-02-29", "310101"],  # leap day: fine
        ],
    )
    write_csv(d, "identities", IDENT_HEADER, [[C18, "P3", "", ""]])
    res = load_directory(d)
    check_invariant(res)
    q = res.quarantine["persons"]
    assert q["row"].tolist() == [1, 2]
    assert q["column"].tolist() == ["birth_date", "birth_date"]
    assert all("YYYY-MM-DD" in r for r in q["reason"])
    assert q["birth_date"].tolist() == ["2023-02-30", "1980/01/01"]  # original text kept
    assert res.frames.nodes("Person")["person_id"].tolist() == ["P3", "P4"]
    rep = res.reports["persons"]
    assert (rep.rows_in, rep.loaded, rep.quarantined) == (4, 2, 2)


def test_unknown_person_is_quarantined(tmp_path: Path) -> None:
    d = base(tmp_path)
    write_csv(d, "accounts", ["account_no", "person_id"], [["A1", "P1"], ["A2", "P9"]])
    write_csv(d, "identities", IDENT_HEADER, [[A18, "P1", "", ""], [D18, "P404", "", ""]])
    res = load_directory(d)
    check_invariant(res)
    for table, key in (("accounts", "A2"), ("identities", D18)):
        q = res.quarantine[table]
        assert len(q) == 1
        assert q["column"].tolist() == ["person_id"]
        assert q["reason"].tolist() == ["unknown person_id: no such person in persons"]
        assert key in q.iloc[0].tolist()
    assert res.frames.nodes("Account")["account_no"].tolist() == ["A1"]


def test_malformed_id_numbers_are_quarantined(tmp_path: Path) -> None:
    d = base(tmp_path)
    rows = [
        [A18, "P1", "", ""],
        [A18[:17], "P1", "ID18", ""],  # 17 characters but typed ID18: wrong length for its type
        ["1101051949123100AX", "P1", "", ""],  # letters
        ["11010519490230002X", "P2", "", ""],  # 30 February
        ["11010549023000A", "P2", "ID15", ""],  # letters in a 15-digit number
        ["110105490230002", "P2", "", ""],  # 15 digits, impossible birth date
        [A18[:17], "P3", "", ""],  # 17 characters, untyped: OTHER, kept
        ["E12345678", "P3", "passport", ""],  # passport (enum case-insensitive): kept
    ]
    write_csv(d, "identities", IDENT_HEADER, rows)
    res = load_directory(d)
    check_invariant(res)
    q = res.quarantine["identities"]
    assert q["row"].tolist() == [2, 3, 4, 5, 6]
    assert set(q["column"]) == {"id_number"}
    reasons = q["reason"].tolist()
    assert "length" in reasons[0]
    assert "other than digits" in reasons[1] and "other than digits" in reasons[3]
    assert "birth date" in reasons[2] and "birth date" in reasons[4]
    ident = res.frames.nodes("Identity").set_index("id_number")
    assert ident.loc[A18[:17], "id_type"] == "OTHER"
    assert ident.loc["E12345678", "id_type"] == "PASSPORT"
    assert pd.isna(ident.loc["E12345678", "checksum_ok"])
    assert pd.isna(ident.loc["E12345678", "id_birth_date"])


def test_wrong_check_digit_is_kept_and_flagged(tmp_path: Path) -> None:
    d = base(tmp_path)
    write_csv(
        d,
        "identities",
        IDENT_HEADER,
        [[A18, "P1", "", ""], [BAD_CHECK, "P2", "", ""], [A15, "P1", "", ""]],
    )
    res = load_directory(d)
    assert "identities" not in res.quarantine
    ident = res.frames.nodes("Identity").set_index("id_number")
    assert bool(ident.loc[A18, "checksum_ok"]) is True
    assert bool(ident.loc[BAD_CHECK, "checksum_ok"]) is False
    assert pd.isna(ident.loc[A15, "checksum_ok"])  # no check digit in a 15-digit number
    assert ident.loc[BAD_CHECK, "id_birth_date"] == pd.Timestamp("1949-12-31")
    assert ident.loc[A15, "id_type"] == "ID15"
    assert ident.loc[A15, "id_birth_date"] == pd.Timestamp("1949-12-31")
    assert ident.loc[A18, "id_sex"] == "F"
    assert ident.loc[A18, "id_region"] == "110105"
    assert ident["inferred"].tolist() == [False] * len(ident)


def test_duplicate_keys_keep_the_first(tmp_path: Path) -> None:
    d = base(tmp_path)
    write_csv(
        d,
        "persons",
        PERSONS_HEADER,
        [
            ["P1", "张三", "M", "1949-12-31", "110105"],
            ["P2", "李四", "F", "1980-01-01", "340524"],
            ["P1", "张三丰", "M", "1950-01-01", "110105"],
            ["P3", "王五", "M", "1955-11-11", "310101"],
            ["P1", "又一个", "M", "", ""],
        ],
    )
    write_csv(d, "phones", ["person_id", "phone"], [["P1", "138"], ["P1", "138"], ["P1", "139"]])
    res = load_directory(d)
    check_invariant(res)
    q = res.quarantine["persons"]
    assert q["row"].tolist() == [3, 5]
    assert set(q["reason"]) == {"duplicate key: an earlier row has the same person_id"}
    persons = res.frames.nodes("Person").set_index("person_id")
    assert persons.loc["P1", "name"] == "张三"
    assert res.quarantine["phones"]["row"].tolist() == [2]
    assert res.frames.nodes("Phone")["phone"].tolist() == ["138", "139"]


def test_duplicate_after_a_bad_first_row_keeps_the_good_one(tmp_path: Path) -> None:
    d = base(tmp_path)
    write_csv(
        d,
        "accounts",
        ["account_no", "person_id", "opened_date"],
        [["A1", "P1", "2020-13-01"], ["A1", "P2", "2020-12-01"]],
    )
    res = load_directory(d)
    assert res.quarantine["accounts"]["column"].tolist() == ["opened_date"]
    assert res.frames.nodes("Account")["person_id"].tolist() == ["P2"]


def test_value_rules_enums_money_ints_months(tmp_path: Path) -> None:
    d = base(tmp_path)
    write_csv(
        d,
        "benefits",
        ["benefit_id", "id_number", "scheme", "account_no"],
        [["B1", A18, "Pension_Employee", "AC1"], ["B2", B18, "lottery", "AC2"], ["B3", "", "other", ""]],
    )
    write_csv(
        d,
        "payments",
        ["payment_id", "benefit_id", "month", "amount", "account_no"],
        [
            ["M1", "B1", "2024-01", "100.50", ""],
            ["M2", "B1", "2024-13", "100", ""],
            ["M3", "B1", "2024-02", "-1", ""],
            ["M4", "B1", "2024-03", "abc", ""],
            ["M5", "B1", "2024-04", "1,000", ""],
            ["M6", "B9", "2024-04", "1", ""],
            ["M7", "B1", "", "1", ""],
        ],
    )
    write_csv(
        d,
        "employments",
        ["id_number", "employer_id", "back_paid_months", "contribution_base"],
        [[A18, "E1", "36", "3000"], [A18, "E1", "2.5", ""], [A18, "E1", "-3", ""], [B18, "E1", "", "-0.01"]],
    )
    write_csv(
        d,
        "persons",
        PERSONS_HEADER,
        [["P1", "", "m", "", ""], ["P2", "", "女", "", ""], ["P3", "", "unknown", "", ""]],
    )
    res = load_directory(d)
    check_invariant(res)
    b = res.quarantine["benefits"]
    assert b["row"].tolist() == [2, 3]
    assert b["column"].tolist() == ["scheme", "id_number"]
    assert "unknown value" in b["reason"].tolist()[0] and "pension_employee" in b["reason"].tolist()[0]
    assert "is empty but required" in b["reason"].tolist()[1]
    assert res.frames.nodes("Benefit")["scheme"].tolist() == ["pension_employee"]
    p = res.quarantine["payments"]
    assert p["payment_id"].tolist() == ["M2", "M3", "M4", "M5", "M6", "M7"]
    assert p["column"].tolist() == ["month", "amount", "amount", "amount", "benefit_id", "month"]
    assert "YYYY-MM" in p["reason"].tolist()[0]
    assert "negative" in p["reason"].tolist()[1]
    assert "not a number" in p["reason"].tolist()[2]
    assert p["reason"].tolist()[4] == "unknown benefit_id: no such benefit in benefits"
    e = res.quarantine["employments"]
    assert e["row"].tolist() == [2, 3, 4]
    assert "whole number" in e["reason"].tolist()[0]
    assert "negative" in e["reason"].tolist()[1] and "negative" in e["reason"].tolist()[2]
    persons = res.frames.nodes("Person")
    assert persons["sex"].tolist() == ["M", "F"]
    assert texts(persons["name"]) == [None, None]  # empty = unknown
    assert res.quarantine["persons"]["column"].tolist() == ["sex"]


def test_empty_rows_and_trailing_blank_lines(tmp_path: Path) -> None:
    d = base(tmp_path)
    (d / "phones.csv").write_text("person_id,phone\nP1,138\n\nP2,139\n,\n\n\n")
    res = load_directory(d)
    check_invariant(res)
    rep = res.reports["phones"]
    assert rep.rows_in == 3  # interior blank line counts; trailing blank and all-empty rows do not
    assert res.quarantine["phones"]["row"].tolist() == [2]
    assert res.quarantine["phones"]["reason"].tolist() == ["empty row"]
    assert res.frames.rels("USES_PHONE")["src"].tolist() == ["P1", "P2"]


def test_quoted_fields_and_header_normalisation(tmp_path: Path) -> None:
    d = base(tmp_path)
    (d / "addresses.csv").write_text(
        ' Person_ID ,ADDRESS,address_type\nP1,"北京市,朝阳区\n1号",HUKOU\nP2,"上海市 ""某""路",\n'
    )
    res = load_directory(d)
    check_invariant(res)
    la = res.frames.rels("LIVES_AT")
    assert la["src"].tolist() == ["P1", "P2"]
    assert texts(la["address_type"]) == ["hukou", None]
    assert sorted(res.frames.nodes("Address")["address_key"]) == sorted(["北京市,朝阳区1号", '上海市"某"路'])


def test_full_width_digits_are_normalised_everywhere(tmp_path: Path) -> None:
    d = tmp_path
    fw = str.maketrans("0123456789PX", "０１２３４５６７８９ＰＸ")
    write_csv(d, "persons", PERSONS_HEADER, [["Ｐ１", "张三", "Ｍ", "１９４９-１２-３１", "１１０１０５"]])
    write_csv(d, "identities", IDENT_HEADER, [[A18.translate(fw).lower(), " P1\u3000", "", ""]])
    write_csv(d, "phones", ["person_id", "phone"], [["P1", "１３８ ００００"]])
    res = load_directory(d)
    check_invariant(res)
    assert not res.quarantine
    p = res.frames.nodes("Person")
    assert p["person_id"].tolist() == ["P1"]
    assert p["birth_date"].tolist() == [pd.Timestamp("1949-12-31")]
    assert p["region_code"].tolist() == ["110105"]
    ident = res.frames.nodes("Identity")
    assert ident["id_number"].tolist() == [A18]  # ASCII digits, upper-case X
    assert ident["person_id"].tolist() == ["P1"]
    assert res.frames.nodes("Phone")["phone"].tolist() == ["138 0000"]


def test_address_variants_collapse_to_one_node(tmp_path: Path) -> None:
    d = base(tmp_path)
    write_csv(
        d,
        "addresses",
        ["person_id", "address", "address_type", "since"],
        [
            ["P1", "北京市朝阳区幸福路１２号", "hukou", "2001-01-01"],
            ["P2", " 北京市 朝阳区\u3000幸福路12号 ", "residence", ""],
            ["P3", "北京市朝阳区\t幸福路 1 2 号", "mailing", ""],
            ["P3", "上海市黄浦区", "", ""],
        ],
    )
    res = load_directory(d)
    a = res.frames.nodes("Address")
    assert a["address_key"].tolist() == ["上海市黄浦区", "北京市朝阳区幸福路12号"]
    # display text: the first normalised variant in sorted order
    assert a.set_index("address_key").loc["北京市朝阳区幸福路12号", "address"] == "北京市 朝阳区 幸福路12号"
    la = res.frames.rels("LIVES_AT")
    assert (la["dst"] == "北京市朝阳区幸福路12号").sum() == 3
    assert la["since"].tolist()[0] == pd.Timestamp("2001-01-01")


def test_extra_columns_are_kept_as_json(tmp_path: Path) -> None:
    d = tmp_path
    write_csv(
        d,
        "persons",
        [*PERSONS_HEADER, "民族", "note"],
        [["P1", "张三", "M", "", "", "汉", 'say "hi"\\'], ["P2", "李四", "F", "", "", "", ""]],
    )
    write_csv(d, "identities", [*IDENT_HEADER, "source_system"], [[A18, "P1", "", "", "old"]])
    res = load_directory(d)
    p = res.frames.nodes("Person").set_index("person_id")
    extra = p.loc["P1", "extra"]
    assert json.loads(extra) == {"note": 'say "hi"\\', "民族": "汉"}
    assert extra == json.dumps({"note": 'say "hi"\\', "民族": "汉"}, ensure_ascii=False, sort_keys=True)
    assert pd.isna(p.loc["P2", "extra"])  # no non-empty extra value
    assert json.loads(res.frames.nodes("Identity")["extra"].tolist()[0]) == {"source_system": "old"}


def test_row_numbers_and_raw_values_in_quarantine_files(tmp_path: Path) -> None:
    d = base(tmp_path / "data")
    write_csv(
        d,
        "renumberings",
        ["old_id_number", "new_id_number", "reason"],
        [["X1", "X2", "other"], [A18, A18, "other"]],
    )
    write_csv(d, "phones", ["person_id", "phone"], [["Ｐ9", "1"]])
    res = load_directory(d)
    out = tmp_path / "out"
    (out / "quarantine").mkdir(parents=True)
    (out / "quarantine" / "persons.csv").write_text("stale\n")
    paths = write_quarantine(res, out)
    assert set(paths) == {"renumberings", "phones"}
    assert not (out / "quarantine" / "persons.csv").exists()  # stale file from an earlier run removed
    ren = pd.read_csv(paths["renumberings"], dtype=str, keep_default_na=False)
    # the input's own `reason` column is kept, renamed, beside the quarantine reason
    assert list(ren.columns) == ["old_id_number", "new_id_number", "reason_input", "row", "column", "reason"]
    assert ren["row"].tolist() == ["1", "2"]
    assert ren["reason_input"].tolist() == ["other", "other"]
    assert ren["reason"].tolist()[0] == "neither old_id_number nor new_id_number is a known identity"
    assert ren["reason"].tolist()[1] == "new_id_number is the same as old_id_number"
    ph = pd.read_csv(paths["phones"], dtype=str, keep_default_na=False)
    assert ph["person_id"].tolist() == ["Ｐ9"]  # raw value as read
    # a clean load leaves no quarantine files behind
    clean = load_directory(base(tmp_path / "clean"))
    assert write_quarantine(clean, out) == {}
    assert list((out / "quarantine").iterdir()) == []


# -- graph building ---------------------------------------------------------------------------------------
def test_payments_are_aggregated_onto_paid_to(tmp_path: Path) -> None:
    d = base(tmp_path)
    write_csv(
        d,
        "accounts",
        ["account_no", "person_id", "bank", "opened_date", "role"],
        [["AC1", "P1", "ICBC", "2010-01-01", ""], ["AC2", "P2", "CCB", "", "AGENT"]],
    )
    write_csv(
        d,
        "benefits",
        ["benefit_id", "id_number", "scheme", "start_date", "account_no"],
        [
            ["B1", A18, "pension_employee", "2010-01-01", "AC1"],
            ["B2", B18, "pension_resident", "", "AC2"],
            ["B3", C18, "survivor", "", ""],
        ],
    )
    write_csv(
        d,
        "payments",
        ["payment_id", "benefit_id", "month", "amount", "account_no"],
        [
            ["PM3", "B1", "2024-03", "100", ""],
            ["PM1", "B1", "2024-01", "100.1", ""],
            ["PM2", "B1", "2024-02", "100.2", "AC1"],
            ["PM4", "B1", "2024-02", "5", ""],  # a second payment in February
            ["PM5", "B1", "2024-04", "100", "AC9"],  # paid elsewhere: AC9 not in accounts
            ["PM6", "B3", "2024-01", "10", ""],  # no account on payment or benefit
        ],
    )
    res = load_directory(d)
    check_invariant(res)
    assert res.quarantine["payments"]["payment_id"].tolist() == ["PM6"]
    assert "no account" in res.quarantine["payments"]["reason"].tolist()[0]
    paid = res.frames.rels("PAID_TO")
    assert list(zip(paid["src"], paid["dst"], strict=True)) == [("B1", "AC1"), ("B1", "AC9"), ("B2", "AC2")]
    b1 = paid.iloc[0]
    assert b1["months"] == ["2024-01", "2024-02", "2024-02", "2024-03"]
    assert b1["amounts"] == [100.1, 100.2, 5.0, 100.0]
    assert b1["payment_ids"] == ["PM1", "PM2", "PM4", "PM3"]
    assert b1["n_months"] == 3
    assert b1["total"] == pytest.approx(305.3)
    assert (b1["first_month"], b1["last_month"]) == ("2024-01", "2024-03")
    other = paid.iloc[1]
    assert other["months"] == ["2024-04"] and other["n_months"] == 1
    declared = paid.iloc[2]  # benefit's own account, no payments
    assert declared["months"] == [] and declared["n_months"] == 0 and declared["total"] == 0.0
    assert pd.isna(declared["first_month"])
    accounts = res.frames.nodes("Account").set_index("account_no")
    assert list(accounts.index) == ["AC1", "AC2", "AC9"]
    assert pd.isna(accounts.loc["AC9", "person_id"])  # evidence-only account
    assert accounts.loc["AC1", "role"] == "holder"  # default
    assert accounts.loc["AC2", "role"] == "agent"
    holds = res.frames.rels("HOLDS")
    assert holds[["src", "dst", "role"]].values.tolist() == [["P1", "AC1", "holder"], ["P2", "AC2", "agent"]]
    assert holds["opened_date"].tolist()[0] == pd.Timestamp("2010-01-01")
    rec = res.frames.rels("RECEIVES")
    assert rec[["src", "dst"]].values.tolist() == sorted([[A18, "B1"], [B18, "B2"], [C18, "B3"]])


def test_deaths_across_two_id_numbers_of_one_person(tmp_path: Path) -> None:
    d = base(tmp_path)
    write_csv(
        d,
        "identities",
        IDENT_HEADER,
        [[A18, "P1", "", ""], [A15, "P1", "", ""], [B18, "P2", "", ""], [C18, "P3", "", ""]],
    )
    write_csv(
        d,
        "deaths",
        ["id_number", "death_date", "source"],
        [
            [A18, "2021-06-01", "hospital"],
            [A15, "2020-05-01", "police"],  # earlier, under the old number
            [A18, "2022-01-01", "civil_affairs"],
            [D18, "2020-01-01", "police"],  # unknown identity
        ],
    )
    res = load_directory(d)
    check_invariant(res)
    assert res.quarantine["deaths"]["reason"].tolist() == [
        "unknown id_number: no such identity in identities"
    ]
    persons = res.frames.nodes("Person").set_index("person_id")
    assert persons.loc["P1", "death_date"] == pd.Timestamp("2020-05-01")
    assert persons.loc["P1", "death_source"] == "police"
    assert pd.isna(persons.loc["P2", "death_date"])
    ident = res.frames.nodes("Identity").set_index("id_number")
    for number in (A18, A15):
        assert ident.loc[number, "death_date"] == pd.Timestamp("2020-05-01")
        assert ident.loc[number, "death_source"] == "police"
    assert pd.isna(ident.loc[B18, "death_date"])


def test_renumbering_with_one_unknown_side_infers_the_identity(tmp_path: Path) -> None:
    d = base(tmp_path)
    e15 = "440103600505004"  # D18's 15-digit form, listed nowhere
    write_csv(d, "identities", IDENT_HEADER, [[A18, "P1", "", ""], [B18, "P2", "", ""], [C18, "P3", "", ""]])
    chain_mid = id18("31010119551111013")
    chain_old = id18("31010119551111023")
    write_csv(
        d,
        "renumberings",
        ["old_id_number", "new_id_number", "changed_date", "reason", "region_code"],
        [
            [A15, A18, "1999-10-01", "upgrade15", "110105"],  # old side unknown
            [B18, e15, "2001-01-01", "other", ""],  # new side unknown
            [chain_old, chain_mid, "1990-01-01", "other", ""],  # neither known... until the next row
            [chain_mid, C18, "1995-01-01", "birth_date_fix", ""],
            ["999", "888", "", "", ""],  # neither known
            ["110105491331002", A18, "", "", ""],  # unknown side malformed (month 13)
        ],
    )
    write_csv(d, "deaths", ["id_number", "death_date"], [[A15, "2020-05-01"]])  # names an inferred number
    res = load_directory(d)
    check_invariant(res)
    q = res.quarantine["renumberings"]
    assert q["row"].tolist() == [5, 6]
    assert q["column"].tolist() == ["old_id_number", "old_id_number"]
    assert "malformed" in q["reason"].tolist()[1]
    ident = res.frames.nodes("Identity").set_index("id_number")
    assert bool(ident.loc[A15, "inferred"]) is True
    assert ident.loc[A15, "person_id"] == "P1"
    assert ident.loc[A15, "id_type"] == "ID15"
    assert ident.loc[A15, "id_birth_date"] == pd.Timestamp("1949-12-31")
    assert ident.loc[e15, "person_id"] == "P2"
    assert ident.loc[chain_mid, "person_id"] == "P3" and ident.loc[chain_old, "person_id"] == "P3"
    assert bool(ident.loc[chain_old, "checksum_ok"]) is True
    assert bool(ident.loc[A18, "inferred"]) is False
    assert ident.loc[A15, "death_date"] == pd.Timestamp("2020-05-01")
    assert ident.loc[A18, "death_date"] == pd.Timestamp("2020-05-01")
    ren = res.frames.rels("RENUMBERED_TO")
    assert len(ren) == 4
    first = ren[ren["src"] == A15].iloc[0]
    assert first["dst"] == A18 and first["reason"] == "upgrade15" and first["region_code"] == "110105"
    assert first["changed_date"] == pd.Timestamp("1999-10-01")
    has = res.frames.rels("HAS_IDENTITY")
    assert has[(has["src"] == "P1") & (has["dst"] == A15)]["dst"].tolist() == [A15]


def test_providers_claims_and_missing_reference_tables(tmp_path: Path) -> None:
    d = base(tmp_path)
    write_csv(
        d,
        "claims",
        [
            "claim_id",
            "id_number",
            "hospital_id",
            "doctor_id",
            "admit_date",
            "amount",
            "fund_paid",
            "diagnosis_code",
        ],
        [
            ["C1", A18, "H1", "D1", "2024-01-05", "1200.5", "900", "N18.5"],
            ["C2", A18, "H1", "", "2024-02-05", "10", "", ""],
            ["C3", B18, "H2", "D2", "", "10", "", ""],  # admit_date required
        ],
    )
    # no hospitals/doctors tables: references cannot be checked; key-only nodes are created
    res = load_directory(d)
    check_invariant(res)
    assert res.quarantine["claims"]["column"].tolist() == ["admit_date"]
    assert res.frames.nodes("Hospital")["hospital_id"].tolist() == ["H1"]
    assert res.frames.nodes("Doctor")["doctor_id"].tolist() == ["D1"]
    t = res.frames.rels("TREATED_AT")
    assert t["claim_id"].tolist() == ["C1", "C2"]
    assert texts(t["doctor_id"]) == ["D1", None]
    assert t["amount"].tolist() == [1200.5, 10.0]
    assert t["fund_paid"].tolist()[0] == 900.0 and pd.isna(t["fund_paid"].tolist()[1])
    # with the tables present, unknown hospitals and doctors are quarantined
    write_csv(d, "hospitals", ["hospital_id", "name", "address"], [["H1", "市一院", "北京市 朝阳区１号"]])
    write_csv(
        d, "doctors", ["doctor_id", "hospital_id", "name"], [["D1", "H1", "医生甲"], ["D2", "H9", "医生乙"]]
    )
    res2 = load_directory(d)
    check_invariant(res2)
    assert res2.quarantine["doctors"]["reason"].tolist() == [
        "unknown hospital_id: no such hospital in hospitals"
    ]
    assert res2.frames.nodes("Hospital")["address_key"].tolist() == ["北京市朝阳区1号"]
    assert res2.frames.rels("WORKS_AT")[["src", "dst"]].values.tolist() == [["D1", "H1"]]
    write_csv(
        d,
        "claims",
        ["claim_id", "id_number", "hospital_id", "doctor_id", "admit_date", "amount"],
        [["C1", A18, "H1", "D1", "2024-01-05", "1"], ["C2", A18, "H1", "D2", "2024-01-05", "1"]],
    )
    res3 = load_directory(d)
    assert res3.quarantine["claims"]["reason"].tolist() == ["unknown doctor_id: no such doctor in doctors"]


def test_activities_have_stable_ids(tmp_path: Path) -> None:
    d = base(tmp_path)
    rows = [
        [A18, "2024-01-01", "medical", "visit"],
        [A18, "2024-01-01", "medical", "visit"],  # same again: distinct activity
        [B18, "2024-02-01", "BANK", ""],
        [C18, "2024-03-01", "transit", "ride"],
    ]
    write_csv(d, "activities", ["id_number", "date", "source", "kind"], rows)
    first = load_directory(d).frames
    ids = first.nodes("Activity")["activity_id"].tolist()
    assert len(set(ids)) == 4 and all(len(i) == 16 for i in ids)
    acts = first.nodes("Activity").set_index("activity_id")
    assert sorted(acts["source"]) == ["bank", "medical", "medical", "transit"]
    # the documented id: hash of the normalised row; the repeat of an identical row adds "|1"
    base_text = f"{A18}|2024-01-01|medical|visit"
    expected = hex64(hash64(pa.array([base_text, base_text + "|1", f"{B18}|2024-02-01|bank|"]))).to_pylist()
    assert set(expected) <= set(ids)
    assert first.rels("HAS_ACTIVITY")["dst"].tolist() != []
    # same rows in another order (identical rows are interchangeable): the same ids
    write_csv(d, "activities", ["id_number", "date", "source", "kind"], rows[::-1])
    again = load_directory(d).frames
    assert sorted(again.nodes("Activity")["activity_id"]) == sorted(ids)
    pd.testing.assert_frame_equal(first.nodes("Activity"), again.nodes("Activity"))


def full_dataset(d: Path) -> Path:
    """One file per contract table, with some bad rows in most of them."""
    base(d)
    write_csv(
        d,
        "identities",
        IDENT_HEADER,
        [[A18, "P1", "", "2000-01-01"], [B18, "P2", "", ""], [C18, "P3", "", ""], ["bad", "P3", "ID18", ""]],
    )
    write_csv(d, "renumberings", ["old_id_number", "new_id_number", "reason"], [[A15, A18, "upgrade15"]])
    write_csv(d, "accounts", ["account_no", "person_id"], [["AC1", "P1"], ["AC1", "P2"]])
    write_csv(d, "phones", ["person_id", "phone", "since"], [["P1", "138", "2020-01-01"], ["P2", "138", ""]])
    write_csv(d, "addresses", ["person_id", "address"], [["P1", "甲 路"], ["P2", "甲路"], ["P9", "乙"]])
    write_csv(
        d,
        "employers",
        ["employer_id", "name", "address", "founded_date"],
        [["E1", "某公司", "丙 路", "2019-01-01"]],
    )
    write_csv(
        d,
        "employments",
        ["id_number", "employer_id", "start_date"],
        [[A18, "E1", "2019-02-01"], [A18, "E2", ""]],
    )
    write_csv(
        d,
        "benefits",
        ["benefit_id", "id_number", "scheme", "account_no"],
        [["B1", A18, "pension_employee", "AC1"]],
    )
    write_csv(
        d,
        "payments",
        ["payment_id", "benefit_id", "month", "amount"],
        [["M1", "B1", "2024-01", "10"], ["M2", "B1", "2024-02", "10"], ["M2", "B1", "2024-03", "10"]],
    )
    write_csv(d, "hospitals", ["hospital_id", "name"], [["H1", "医院"]])
    write_csv(d, "doctors", ["doctor_id", "hospital_id"], [["D1", "H1"]])
    write_csv(
        d,
        "claims",
        ["claim_id", "id_number", "hospital_id", "doctor_id", "admit_date", "amount"],
        [["C1", A18, "H1", "D1", "2024-01-01", "5"], ["C2", "nobody", "H1", "", "2024-01-01", "5"]],
    )
    write_csv(
        d, "deaths", ["id_number", "death_date", "source"], [[A18, "2024-02-15", "police"], [A18, "", ""]]
    )
    write_csv(
        d,
        "activities",
        ["id_number", "date", "source"],
        [[B18, "2024-01-01", "bank"], [B18, "2024-01-01", "x"]],
    )
    return d


def test_all_tables_counts_meta_progress_and_schema(tmp_path: Path) -> None:
    d = full_dataset(tmp_path)
    messages: list[str] = []
    res = load_directory(d, progress=messages.append)
    check_invariant(res)
    assert set(res.reports) == set(TABLE_ORDER)
    assert res.frames.loaded_tables == frozenset(TABLE_ORDER)
    assert res.frames.meta["loaded_tables"] == ",".join(TABLE_ORDER)
    for name, rep in res.reports.items():
        assert rep.file == f"{name}.csv"
        assert res.frames.meta[f"rows.{name}"] == str(rep.loaded)
        assert rep.rows_in == len(pd.read_csv(d / f"{name}.csv", dtype=str)), name
    # bad identity, duplicate account, unknown person, unknown employer, duplicate payment,
    # unknown identity in claims, empty death date, unknown activity source
    assert sum(r.quarantined for r in res.reports.values()) == 8
    assert "persons: 3 rows" in messages
    assert any("quarantined" in m for m in messages)
    # every frame has exactly the schema columns and dtypes, and deterministic order
    for label, node in NODES.items():
        f = res.frames.node_frames[label]
        assert list(f.columns) == list(node.columns), label
        pd.testing.assert_frame_equal(f, conform(f, "node", label))
        assert f[node.key].is_unique, label
        assert f[node.key].tolist() == sorted(f[node.key]), label
    for rel_type, rel in RELS.items():
        f = res.frames.rel_frames[rel_type]
        assert list(f.columns) == list(rel.columns), rel_type
        pd.testing.assert_frame_equal(f, conform(f, "rel", rel_type))
        pairs = list(zip(f["src"], f["dst"], strict=True))
        assert pairs == sorted(pairs), rel_type
        assert f["src"].notna().all() and f["dst"].notna().all(), rel_type
    # the graph's endpoints exist as nodes
    keys = {label: set(res.frames.node_frames[label][n.key]) for label, n in NODES.items()}
    for rel_type, rel in RELS.items():
        f = res.frames.rel_frames[rel_type]
        assert set(f["src"]) <= keys[rel.src], rel_type
        assert set(f["dst"]) <= keys[rel.dst], rel_type
    assert res.frames.nodes("Employer").set_index("employer_id").loc["E1", "address_key"] == "丙路"


def test_reload_is_idempotent(tmp_path: Path) -> None:
    d = full_dataset(tmp_path)
    first = load_directory(d)
    second = load_directory(d)
    assert first.frames.meta == second.frames.meta
    assert first.encodings == second.encodings
    for label in NODES:
        pd.testing.assert_frame_equal(first.frames.node_frames[label], second.frames.node_frames[label])
    for rel_type in RELS:
        pd.testing.assert_frame_equal(first.frames.rel_frames[rel_type], second.frames.rel_frames[rel_type])
    for name in first.quarantine:
        pd.testing.assert_frame_equal(first.quarantine[name], second.quarantine[name])
    assert {k: vars(v) for k, v in first.reports.items()} == {k: vars(v) for k, v in second.reports.items()}


def test_only_required_tables_gives_empty_frames_for_the_rest(tmp_path: Path) -> None:
    res = load_directory(base(tmp_path))
    check_invariant(res)
    assert set(res.frames.node_frames) == set(NODES)
    assert set(res.frames.rel_frames) == set(RELS)
    assert res.frames.nodes("Account").empty and res.frames.rels("PAID_TO").empty
    assert list(res.frames.rels("PAID_TO").columns) == list(RELS["PAID_TO"].columns)
    assert res.frames.nodes("Person")["person_id"].tolist() == ["P1", "P2", "P3"]
    assert np.array_equal(
        res.frames.rels("HAS_IDENTITY")["src"].to_numpy(), np.array(["P1", "P2", "P3"], dtype=object)
    )


def test_file_without_header_row_does_not_leak_values(tmp_path: Path) -> None:
    d = base(tmp_path)
    (d / "phones.csv").write_text(f"P1,{A18},13800138000\nP2,{B18},13800138000\n")
    with pytest.raises(InputError) as ei:
        load_directory(d)
    msg = str(ei.value)
    assert ei.value.column == "person_id"
    assert "header" in msg
    for value in (A18, "13800138000", "P1"):
        assert value not in msg
    (d / "phones.csv").write_text("person_id,phone,张三,张三\nP1,1,,\n")
    with pytest.raises(InputError) as ei2:
        load_directory(d)
    assert ei2.value.column == "column 4"
    assert "张三" not in str(ei2.value)


def test_header_only_and_fully_quarantined_tables(tmp_path: Path) -> None:
    from ringwatch.contract import TABLES

    d = base(tmp_path / "empty")
    for name in TABLE_ORDER:
        if name not in ("persons", "identities"):
            (d / f"{name}.csv").write_text(",".join(TABLES[name].column_names) + "\n")
    res = load_directory(d)
    check_invariant(res)
    assert res.frames.loaded_tables == frozenset(TABLE_ORDER)
    for name in TABLE_ORDER:
        if name not in ("persons", "identities"):
            assert res.reports[name].rows_in == 0
    for label in NODES:
        assert list(res.frames.node_frames[label].columns) == list(NODES[label].columns)
    # every value "x": the rows of tables with references, dates or months all break a rule
    d2 = full_dataset(tmp_path / "bad")
    for name in TABLE_ORDER:
        if name not in ("persons", "identities"):
            cols = TABLES[name].column_names
            (d2 / f"{name}.csv").write_text(",".join(cols) + "\n" + ",".join("x" for _ in cols) + "\n")
    res2 = load_directory(d2)
    check_invariant(res2)
    for name in TABLE_ORDER:
        if name not in ("persons", "identities", "employers", "hospitals", "doctors"):
            assert res2.reports[name].loaded == 0, name
    assert res2.frames.rels("PAID_TO").empty
    assert res2.frames.nodes("Activity").empty


def test_crlf_line_endings(tmp_path: Path) -> None:
    d = tmp_path
    (d / "persons.csv").write_bytes("person_id,name\r\nP1,张三\r\nP2,李四\r\n\r\n".encode())
    (d / "identities.csv").write_bytes(f"id_number,person_id\r\n{A18},P1\r\n{B18},P2\r\n".encode())
    res = load_directory(d)
    check_invariant(res)
    assert not res.quarantine
    assert res.frames.nodes("Person")["name"].tolist() == ["张三", "李四"]
    assert res.frames.nodes("Identity")["person_id"].tolist() == ["P1", "P2"]
