"""Rebuild the bad-input corpus in this directory (``python tests/data/bad/make_corpus.py``).

The committed files are the output of this script; README.md describes every case. Case
directories are deleted and written again (README.md and this script are kept).
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ringwatch.loaders.idnumber import check_char

ROOT = Path(__file__).resolve().parent
for old in ROOT.iterdir():
    if old.is_dir():
        shutil.rmtree(old)


def id18(region: str, birth: str, seq: str) -> str:
    body = f"{region}{birth}{seq}"
    return body + check_char(body)


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write(
    case: str,
    name: str,
    header: list[str] | None,
    rows: list[list[str]] | None,
    encoding: str = "utf-8",
    raw: bytes | None = None,
) -> None:
    d = ROOT / case
    d.mkdir(parents=True, exist_ok=True)
    if raw is None:
        assert header is not None and rows is not None
        raw = csv_text(header, rows).encode(encoding)
    data = raw
    (d / name).write_bytes(data)


# ---------------- base: a small valid data set touching all 15 tables -------------------
PERSONS_H = ["person_id", "name", "sex", "birth_date", "region_code"]
PERSONS = [
    ["P001", "张三", "M", "1950-03-04", "110101"],
    ["P002", "李四", "F", "1962-07-15", "110102"],
    ["P003", "王五", "M", "1948-11-30", "310101"],
    ["P004", "赵六", "F", "1955-01-20", "440103"],
    ["P005", "钱七", "M", "1970-05-05", "110105"],
]
I1 = id18("110101", "19500304", "001")
I2 = id18("110102", "19620715", "002")
I3 = id18("310101", "19481130", "003")
I4 = id18("440103", "19550120", "004")
I5 = id18("110105", "19700505", "005")
OLD3 = "310101481130003"  # I3's legacy 15-digit number
IDENT_H = ["id_number", "person_id", "id_type", "issued_date"]
IDENTS = [
    [I1, "P001", "ID18", "2005-06-01"],
    [I2, "P002", "", "2006-01-01"],
    [I3, "P003", "ID18", ""],
    [I4, "P004", "", ""],
    [I5, "P005", "ID18", "2010-10-10"],
]
REN_H = ["old_id_number", "new_id_number", "changed_date", "reason", "region_code"]
RENS = [[OLD3, I3, "1999-10-01", "upgrade15", "310101"]]
ACC_H = ["account_no", "person_id", "bank", "opened_date", "role"]
ACCS = [
    ["6222000000000001", "P001", "工商银行", "2000-01-01", "holder"],
    ["6222000000000002", "P002", "建设银行", "2001-02-02", ""],
    ["6222000000000003", "P003", "农业银行", "2002-03-03", "holder"],
    ["6222000000000004", "P004", "中国银行", "2003-04-04", "holder"],
    ["6222000000000005", "P005", "交通银行", "2004-05-05", "agent"],
]
PH_H = ["person_id", "phone", "since"]
PHONES = [
    ["P001", "13800000001", "2015-01-01"],
    ["P002", "13800000002", ""],
    ["P003", "13800000003", "2016-06-06"],
    ["P004", "13800000004", ""],
    ["P005", "13800000005", "2018-08-08"],
]
ADDR_H = ["person_id", "address", "address_type", "since"]
ADDRS = [
    ["P001", "北京市东城区和平路1号", "hukou", "1990-01-01"],
    ["P002", "北京市西城区长安街2号", "residence", ""],
    ["P003", "上海市黄浦区南京路3号", "hukou", ""],
    ["P004", "广州市越秀区中山路4号", "mailing", ""],
    ["P005", "北京市朝阳区建国路5号", "residence", "2011-11-11"],
]
EMP_H = ["employer_id", "name", "region_code", "address", "legal_rep_id_number", "founded_date"]
EMPS = [["91110101MA00000001", "北京某某科技有限公司", "110101", "北京市东城区科技路8号", I5, "2012-12-12"]]
EMPL_H = ["id_number", "employer_id", "start_date", "end_date", "contribution_base", "back_paid_months"]
EMPLS = [
    [I5, "91110101MA00000001", "2013-01-01", "", "6000", "0"],
    [I2, "91110101MA00000001", "2014-01-01", "2020-12-31", "5000.50", "3"],
]
BEN_H = ["benefit_id", "id_number", "scheme", "region_code", "start_date", "end_date", "account_no"]
BENS = [
    ["B001", I1, "pension_employee", "110101", "2010-04-01", "", "6222000000000001"],
    ["B003", I3, "pension_employee", "310101", "2008-12-01", "", "6222000000000003"],
    ["B004", I4, "pension_resident", "440103", "2010-02-01", "", "6222000000000004"],
]
PAY_H = ["payment_id", "benefit_id", "month", "amount", "account_no"]
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]
PAYS = []
for b, amt in (("B001", "3000.00"), ("B003", "3500.50"), ("B004", "200")):
    for m in MONTHS:
        PAYS.append([f"PM{b}{m.replace('-', '')}", b, m, amt, ""])
HOS_H = ["hospital_id", "name", "level", "region_code", "address"]
HOSS = [
    ["H001", "北京协和医院", "三级甲等", "110101", "北京市东城区帅府园1号"],
    ["H002", "上海瑞金医院", "三级甲等", "310101", "上海市瑞金二路197号"],
]
DOC_H = ["doctor_id", "hospital_id", "name"]
DOCS = [["D001", "H001", "孙医生"], ["D002", "H002", "周医生"]]
CLM_H = [
    "claim_id",
    "id_number",
    "hospital_id",
    "doctor_id",
    "admit_date",
    "discharge_date",
    "diagnosis_code",
    "amount",
    "fund_paid",
]
CLMS = [
    ["C001", I2, "H001", "D001", "2024-03-01", "2024-03-10", "I10", "12000.00", "9000.00"],
    ["C002", I4, "H002", "D002", "2024-05-05", "2024-05-09", "E11.9", "8000", ""],
]
DEA_H = ["id_number", "death_date", "source"]
DEAS = [[I3, "2024-02-10", "cremation"]]
ACT_H = ["id_number", "date", "source", "kind"]
ACTS = [
    [I1, "2024-11-01", "medical", "门诊"],
    [I4, "2022-01-01", "transit", "公交"],
    [I5, "2024-06-06", "bank", "取款"],
]

BASE = {
    "persons": (PERSONS_H, PERSONS),
    "identities": (IDENT_H, IDENTS),
    "renumberings": (REN_H, RENS),
    "accounts": (ACC_H, ACCS),
    "phones": (PH_H, PHONES),
    "addresses": (ADDR_H, ADDRS),
    "employers": (EMP_H, EMPS),
    "employments": (EMPL_H, EMPLS),
    "benefits": (BEN_H, BENS),
    "payments": (PAY_H, PAYS),
    "hospitals": (HOS_H, HOSS),
    "doctors": (DOC_H, DOCS),
    "claims": (CLM_H, CLMS),
    "deaths": (DEA_H, DEAS),
    "activities": (ACT_H, ACTS),
}
for name, (h, rows) in BASE.items():
    write("_base", f"{name}.csv", h, rows)


def base_plus(case: str, table: str, extra_rows: list[list[str]], encoding: str = "utf-8") -> None:
    h, rows = BASE[table]
    write(case, f"{table}.csv", h, rows + extra_rows, encoding=encoding)


P_TEXT = csv_text(PERSONS_H, PERSONS)

# ---------------- file-level problems (exit 2, nothing written) -------------------------
write("truncated_row", "persons.csv", None, None, raw=(P_TEXT + "P006,孙八,M,19").encode())
write(
    "truncated_in_quote",
    "persons.csv",
    None,
    None,
    raw=(P_TEXT + 'P006,"孙八,M,1960-01-01,110101\nP007,周九,F,1961-01-01,110101\n').encode(),
)
write(
    "truncated_utf8_char",
    "persons.csv",
    None,
    None,
    raw=(P_TEXT + "P006,孙八,M,1960-01-01,110101\nP007,周").encode()[:-1],
)
mixed = P_TEXT.encode("utf-8") + csv_text(
    PERSONS_H, [["P006", "孙八", "M", "1960-01-01", "110101"], ["P007", "周九", "F", "1961-01-01", "110101"]]
).split("\n", 1)[1].encode("gbk")
write("mixed_utf8_gbk", "persons.csv", None, None, raw=mixed)
write("semicolon_delimiter", "persons.csv", None, None, raw=P_TEXT.replace(",", ";").encode())
write("tab_delimiter", "accounts.csv", None, None, raw=csv_text(ACC_H, ACCS).replace(",", "\t").encode())
write(
    "fullwidth_comma_delimiter",
    "phones.csv",
    None,
    None,
    raw=csv_text(PH_H, PHONES).replace(",", "，").encode("gbk"),
)
write("utf16_file", "persons.csv", None, None, raw=P_TEXT.encode("utf-16"))
zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w") as z:
    z.writestr(zipfile.ZipInfo("[Content_Types].xml", (2024, 1, 1, 0, 0, 0)), "<Types/>")
    z.writestr(zipfile.ZipInfo("xl/workbook.xml", (2024, 1, 1, 0, 0, 0)), "<workbook/>")
write("xlsx_renamed_csv", "identities.csv", None, None, raw=zbuf.getvalue())
write(
    "extra_unquoted_comma",
    "persons.csv",
    None,
    None,
    raw=(P_TEXT + "P006,孙,八,M,1960-01-01,110101\n").encode(),
)
write("missing_required_column", "identities.csv", ["id_number", "id_type"], [[r[0], r[2]] for r in IDENTS])
write("empty_file", "persons.csv", None, None, raw=b"")
write(
    "undecodable_bytes",
    "addresses.csv",
    None,
    None,
    raw=csv_text(ADDR_H, ADDRS[:2]).encode() + b"P003,\xff\xfe\xff,hukou,\n",
)
write("bom_then_gbk", "persons.csv", None, None, raw=b"\xef\xbb\xbf" + P_TEXT.encode("gbk"))
write("no_header_row", "persons.csv", None, None, raw=P_TEXT.split("\n", 1)[1].encode())
write(
    "duplicate_header_column",
    "phones.csv",
    None,
    None,
    raw=("person_id,phone,PHONE\n" + "P001,13800000001,1\n").encode(),
)
write("only_required_table_missing", "_remove", None, None, raw=b"identities.csv\n")
# a Parquet file cut in half (the payments.csv of the base is removed by the test)
pbuf = io.BytesIO()
pq.write_table(pa.table({h: [r[i] for r in PAYS] for i, h in enumerate(PAY_H)}), pbuf)
whole = pbuf.getvalue()
write("truncated_parquet", "payments.parquet", None, None, raw=whole[: len(whole) // 2])
write("truncated_parquet", "_remove", None, None, raw=b"payments.csv\n")

# ---------------- row-level problems (quarantined with a reason, or loaded as data) ------
base_plus("duplicate_keys", "persons", [["P002", "李四重复", "F", "1962-07-15", "110102"]])
write("duplicate_keys", "identities.csv", IDENT_H, IDENTS + [[I2, "P001", "", ""]])
base_plus("duplicate_keys", "accounts", [["6222000000000003", "P004", "中国银行", "2003-04-04", "holder"]])
base_plus("duplicate_keys", "payments", [PAYS[0][:3] + ["1.00", ""]])
base_plus("duplicate_keys", "phones", [["P001", "13800000001", "2020-01-01"]])
bad_check = I5[:17] + ("0" if I5[17] != "0" else "1")
write(
    "id_numbers",
    "persons.csv",
    PERSONS_H,
    PERSONS
    + [
        ["P006", "孙八", "M", "1960-01-01", "110101"],
        ["P007", "周九", "F", "1961-01-01", "110101"],
        ["P008", "吴十", "M", "1962-01-01", "110101"],
        ["P009", "郑十一", "F", "1963-01-01", "110101"],
        ["P010", "王十二", "M", "1964-01-01", "110101"],
        ["P011", "冯十三", "F", "1965-01-01", "110101"],
    ],
)
write(
    "id_numbers",
    "identities.csv",
    IDENT_H,
    IDENTS
    + [
        [I5[:17] + ("0" if I5[17] != "0" else "1"), "P006", "ID18", ""],  # wrong check digit: kept, flagged
        [id18("110101", "19990230", "007")[:17] + "0", "P007", "", ""],  # 30 February
        ["11010119601301008" + "1", "P008", "", ""],  # month 13
        [I1[:17], "P009", "", ""],  # 17 characters
        ["11010119630101A10X", "P010", "", ""],  # a letter inside
        [I2 + "9", "P011", "ID18", ""],  # 19 characters
        ["11010164013100", "P011", "ID15", ""],  # 14 characters for ID15
    ],
)
base_plus(
    "bad_dates",
    "persons",
    [
        ["P006", "孙八", "M", "2023-02-30", "110101"],
        ["P007", "周九", "F", "2023-13-01", "110101"],
        ["P008", "吴十", "M", "23-1-1", "110101"],
        ["P009", "郑十一", "F", "2023/01/01", "110101"],
        ["P010", "王十二", "M", "1900-02-29", "110101"],
        ["P011", "冯十三", "F", "2024-02-29", "110101"],
    ],
)
base_plus("bad_dates", "claims", [["C003", I1, "H001", "D001", "2023-02-30", "", "J18", "100", ""]])
base_plus("bad_dates", "deaths", [[I4, "2024-04-31", "police"]])
base_plus(
    "bad_months",
    "payments",
    [
        ["PMX1", "B001", "2024-13", "1", ""],
        ["PMX2", "B001", "2024-1", "1", ""],
        ["PMX3", "B001", "2024-00", "1", ""],
        ["PMX4", "B001", "2024-02-01", "1", ""],
    ],
)
base_plus(
    "bad_amounts",
    "payments",
    [
        ["PMY1", "B001", "2024-12", "-100", ""],
        ["PMY2", "B001", "2024-12", "abc", ""],
        ["PMY3", "B001", "2024-12", "1,000", ""],
        ["PMY4", "B001", "2024-12", "¥100", ""],
        ["PMY5", "B001", "2024-12", "NaN", ""],
        ["PMY6", "B001", "2024-12", "inf", ""],
        ["PMY7", "B001", "2024-12", "-0.01", ""],
        ["PMY8", "B001", "2024-12", "1e400", ""],
    ],
)
base_plus("bad_amounts", "claims", [["C003", I1, "H001", "D001", "2024-07-01", "", "J18", "-5", "x"]])
base_plus(
    "bad_amounts",
    "employments",
    [
        [I1, "91110101MA00000001", "2015-01-01", "", "5000", "2.5"],
        [I4, "91110101MA00000001", "2015-01-01", "", "5000", "-3"],
    ],
)
base_plus(
    "embedded_newlines_quotes",
    "persons",
    [
        ["P006", '孙"八"', "M", "1960-01-01", "110101"],
        ["P007", "周\n九", "F", "1961-01-01", "110101"],
        ["P008", 'He said "hi",\r\nthen left', "M", "1962-01-01", "110101"],
    ],
)
base_plus(
    "embedded_newlines_quotes",
    "addresses",
    [
        ["P006", '北京市"东城区"\n和平路1号', "hukou", ""],
        ["P007", "上海市\r\n黄浦区, 南京路3号", "residence", ""],
    ],
)
base_plus(
    "control_chars_in_ids",
    "persons",
    [
        ["P0\n06", "孙八", "M", "1960-01-01", "110101"],
        ["P0\t07", "周九", "F", "1961-01-01", "110101"],
        ["P0\x0008", "吴十", "M", "1962-01-01", "110101"],
        ["P009", "郑\x00十一", "F", "1963-01-01", "110101"],
    ],
)
base_plus("control_chars_in_ids", "phones", [["P001", "1380000\n0009", ""]])
base_plus(
    "references_and_required",
    "accounts",
    [
        ["6222000000000099", "P999", "工商银行", "", "holder"],
        ["", "P001", "工商银行", "", "holder"],
        ["6222000000000098", "", "", "", ""],
    ],
)
base_plus(
    "references_and_required",
    "payments",
    [
        ["PMZ1", "B999", "2024-12", "1", ""],
        ["PMZ2", "B001", "", "1", ""],
        ["PMZ3", "B001", "2024-12", "", ""],
    ],
)
base_plus(
    "references_and_required",
    "claims",
    [
        ["C009", I1, "H009", "", "2024-01-01", "", "", "1", ""],
        ["C010", I1, "H001", "D009", "2024-01-01", "", "", "1", ""],
    ],
)
base_plus(
    "enums",
    "persons",
    [["P006", "孙八", "X", "1960-01-01", "110101"], ["P007", "周九", "女", "1961-01-01", "110101"]],
)
base_plus("enums", "benefits", [["B009", I2, "pension", "110102", "2020-01-01", "", ""]])
base_plus("enums", "deaths", [[I4, "2024-05-01", "rumour"]])
base_plus("enums", "activities", [[I2, "2024-01-01", "", "x"], [I2, "2024-01-02", "facebook", "x"]])
write(
    "blank_lines",
    "persons.csv",
    None,
    None,
    raw=(P_TEXT + "\nP006,孙八,M,1960-01-01,110101\n,,,,\nP007,周九,F,1961-01-01,110101\n\n\n").encode(),
)
write(
    "all_rows_bad", "payments.csv", PAY_H, [[f"PMW{i}", "B001", "2024-12", f"-{i + 1}", ""] for i in range(5)]
)
# encodings that must load correctly
write(
    "gbk_files",
    "persons.csv",
    PERSONS_H,
    PERSONS + [["P006", "欧阳娜", "女", "1960-01-01", "110101"]],
    encoding="gbk",
)
write("gbk_files", "addresses.csv", ADDR_H, ADDRS, encoding="gbk")
write("gbk_files", "hospitals.csv", HOS_H, HOSS, encoding="gbk")
write(
    "gb18030_four_byte",
    "persons.csv",
    PERSONS_H,
    PERSONS + [["P006", "龑䶮", "M", "1960-01-01", "110101"], ["P007", "𠀀𪚥", "F", "1961-01-01", "110101"]],
    encoding="gb18030",
)
write("utf8_bom", "persons.csv", None, None, raw=b"\xef\xbb\xbf" + csv_text(PERSONS_H, PERSONS).encode())
write(
    "crlf_line_endings", "accounts.csv", None, None, raw=csv_text(ACC_H, ACCS).replace("\n", "\r\n").encode()
)

# hostile strings: formula prefixes and Cypher injection, as names, addresses and ids
HOST_P = "P1'}) MATCH (n) DETACH DELETE n //"
HOST_A = "=cmd|' /C calc'!A0"
HOST_B = "B1\\' OR 1=1 RETURN 1 //"
write(
    "hostile_strings",
    "persons.csv",
    PERSONS_H,
    PERSONS
    + [
        [HOST_P, "'; MATCH (n) DETACH DELETE n; //", "M", "1952-08-08", "110101"],
        ["P007", "+1+1", "F", "1961-01-01", "110101"],
        ["P008", "@SUM(1+1)*cmd|' /C calc'!A0", "M", "1962-01-01", "110101"],
        [
            "P009",
            '"}) CALL apoc.periodic.iterate("MATCH (n) RETURN n","DETACH DELETE n",{}) //',
            "F",
            "1963-01-01",
            "110101",
        ],
        ["P010", "`Person` {name: $x}) SET n.admin = true //", "M", "1964-01-01", "110101"],
        ["P011", "-2+3", "F", "1965-01-01", "110101"],
    ],
)
IH = id18("110101", "19520808", "011")
write(
    "hostile_strings",
    "identities.csv",
    IDENT_H,
    IDENTS
    + [
        [IH, HOST_P, "ID18", ""],
        [id18("110101", "19610101", "002"), "P007", "", ""],
        [id18("110101", "19620101", "013"), "P008", "", ""],
        [id18("110101", "19630101", "004"), "P009", "", ""],
        [id18("110101", "19640101", "015"), "P010", "", ""],
        [id18("110101", "19650101", "006"), "P011", "", ""],
    ],
)
base_plus(
    "hostile_strings",
    "accounts",
    [[HOST_A, HOST_P, '=HYPERLINK("http://evil.example","click")', "2001-01-01", "holder"]],
)
base_plus(
    "hostile_strings",
    "addresses",
    [
        [HOST_P, "'); DROP TABLE Person; //", "hukou", ""],
        ["P007", "@北京市 DETACH DELETE n", "residence", ""],
        ["P008", "=1+1 北京市", "residence", "2024-02-30"],
    ],
)
base_plus(
    "hostile_strings", "benefits", [[HOST_B, IH, "pension_employee", "110101", "2012-09-01", "", HOST_A]]
)
base_plus(
    "hostile_strings",
    "payments",
    [[f"PMH{m.replace('-', '')}", HOST_B, m, "2800.00", ""] for m in MONTHS]
    + [["=PMH-bad", HOST_B, "2024-13", "+1+1", ""]],
)
base_plus("hostile_strings", "deaths", [[IH, "2023-12-01", "civil_affairs"]])

# full-width ids, padding and a lower-case x: normalised (NFKC, trim, upper-case X) and loaded
IX = id18("110101", "19600101", "006")
k = 0
while not IX.endswith("X"):
    k += 1
    IX = id18("110101", "19600101", f"{6 + 2 * k:03d}")
FW = str.maketrans("0123456789P", "０１２３４５６７８９Ｐ")
base_plus("fullwidth_and_padding", "persons", [[" Ｐ００６ ", " 孙八 ", " m ", "1960-01-01", "１１０１０１"]])
base_plus("fullwidth_and_padding", "identities", [[IX[:17].translate(FW) + "x", "P006", "", ""]])
base_plus("fullwidth_and_padding", "phones", [["P006", " １３８０００００００６ ", ""]])
# a header-only table and a keyless table with a repeated row
write("header_only_and_repeats", "payments.csv", PAY_H, [])
base_plus("header_only_and_repeats", "addresses", [ADDRS[0], ADDRS[0]])
# a formula as an extra column's header name, in a table with a quarantined row
FORMULA_H = '=HYPERLINK("http://evil.example","x")'
write(
    "formula_header",
    "persons.csv",
    PERSONS_H + [FORMULA_H],
    [r + ["备注"] for r in PERSONS] + [["P006", "孙八", "M", "1960-02-30", "110101", "@SUM(1)"]],
)
