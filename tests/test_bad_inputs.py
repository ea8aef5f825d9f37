"""The bad-input corpus (``tests/data/bad``) through the real command line.

Every case runs ``ringwatch load`` (``ringwatch run`` for the case whose alerts matter) as a
subprocess, so the exit code and what the user sees on
stderr are the real ones. For each case: exit code 2 with a message naming the file (and
nothing written), or exit 0 with every bad row quarantined with a reason; in both, no stack
trace. For every load that goes on, each table's rows are counted independently of the
loader (Python's ``csv`` module) and must equal the rows loaded (the store's ``rows.<table>``)
plus the rows in ``quarantine/<table>.csv``: no row is lost.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cli_helpers
import pyarrow.parquet as pq
import pytest

from ringwatch.alerts_io import FORMULA_PREFIXES
from ringwatch.contract import TABLE_ORDER
from ringwatch.graph import open_store

CORPUS = Path(__file__).parent / "data" / "bad"
BASE = CORPUS / "_base"
ONE_MB = 1 << 20
csv.field_size_limit(1 << 24)  # the 1 MB cells


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return cli_helpers.run_cli(*args, timeout=timeout)


@dataclass(frozen=True)
class Case:
    """What a case must do.

    ``exit_code`` 2: ``message`` parts appear in stderr. ``exit_code`` 0: ``quarantined`` is
    ``{table: {reason part: rows}}`` (tables not named must quarantine nothing).
    """

    exit_code: int
    message: tuple[str, ...] = ()
    quarantined: dict[str, dict[str, int]] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    command: str = "load"


LONG = "too long (more than"
CTRL = "contains a line break or another control character"
NOT_DATE = "is not a real date"

CASES: dict[str, Case] = {
    # -- the load stops: exit 2, the message names the file and what was expected -------------
    "truncated_row": Case(2, ("persons.csv", "row 6", "4 fields but the header has 5")),
    "truncated_in_quote": Case(2, ("persons.csv", "row 6", "ends inside a quoted value")),
    "truncated_utf8_char": Case(2, ("persons.csv", "UTF-8", "middle of a character", "truncated")),
    "truncated_parquet": Case(2, ("payments.parquet", "Parquet")),
    "mixed_utf8_gbk": Case(2, ("persons.csv", "mixes encodings", "line 2 is UTF-8", "line 7", "GB18030")),
    "bom_then_gbk": Case(2, ("persons.csv", "byte-order mark", "not valid UTF-8", "line 2")),
    "undecodable_bytes": Case(2, ("addresses.csv", "utf-8", "line 4", "gb18030")),
    "utf16_file": Case(2, ("persons.csv", "UTF-16")),
    "xlsx_renamed_csv": Case(2, ("identities.csv", "xlsx", "CSV")),
    "semicolon_delimiter": Case(2, ("persons.csv", "semicolons", "comma-separated")),
    "tab_delimiter": Case(2, ("accounts.csv", "tabs", "comma-separated")),
    "fullwidth_comma_delimiter": Case(2, ("phones.csv", "full-width commas", "comma-separated")),
    "extra_unquoted_comma": Case(2, ("persons.csv", "row 6", "6 fields but the header has 5")),
    "missing_required_column": Case(2, ("identities.csv", "person_id", "missing")),
    "duplicate_header_column": Case(2, ("phones.csv", "more than once")),
    "no_header_row": Case(2, ("persons.csv", "header row")),
    "empty_file": Case(2, ("persons.csv", "empty")),
    "only_required_table_missing": Case(2, ("identities", "missing")),
    # forcing an encoding that does not fit names the line
    "mixed_utf8_gbk --encoding utf-8": Case(
        2, ("persons.csv", "as utf-8", "line 7"), args=("--encoding", "utf-8")
    ),
    "utf8_bom --encoding klingon": Case(2, ("unknown encoding", "klingon"), args=("--encoding", "klingon")),
    # -- the load goes on: bad rows quarantined with a reason ----------------------------------
    "duplicate_keys": Case(
        0,
        quarantined={
            t: {"duplicate key": 1} for t in ("persons", "identities", "accounts", "payments", "phones")
        },
    ),
    "id_numbers": Case(
        0,
        quarantined={
            "identities": {
                "birth date encoded in it does not exist": 2,
                "length does not fit its type": 2,
                "characters other than digits": 1,
            }
        },
    ),
    "bad_dates": Case(
        0,
        quarantined={
            "persons": {f"birth_date {NOT_DATE}": 5},
            "claims": {f"admit_date {NOT_DATE}": 1},
            "deaths": {f"death_date {NOT_DATE}": 1},
        },
    ),
    "bad_months": Case(0, quarantined={"payments": {"month is not a month": 4}}),
    "bad_amounts": Case(
        0,
        quarantined={
            "payments": {"amount is not a number": 6, "amount is negative": 2},
            "claims": {"amount is negative": 1},
            "employments": {"back_paid_months is not a whole number": 1, "back_paid_months is negative": 1},
        },
    ),
    "control_chars_in_ids": Case(
        0, quarantined={"persons": {f"person_id {CTRL}": 3}, "phones": {f"phone {CTRL}": 1}}
    ),
    "references_and_required": Case(
        0,
        quarantined={
            "accounts": {"unknown person_id": 1, "account_no is empty": 1, "person_id is empty": 1},
            "payments": {"unknown benefit_id": 1, "month is empty": 1, "amount is empty": 1},
            "claims": {"unknown hospital_id": 1, "unknown doctor_id": 1},
        },
    ),
    "enums": Case(
        0,
        quarantined={
            "persons": {"sex has an unknown value": 1},
            "benefits": {"scheme has an unknown value": 1},
            "deaths": {"source has an unknown value": 1},
            "activities": {"source has an unknown value": 1, "source is empty but required": 1},
        },
    ),
    "blank_lines": Case(0, quarantined={"persons": {"empty row": 2}}),
    "all_rows_bad": Case(0, quarantined={"payments": {"amount is negative": 5}}),
    "huge_cell": Case(0, quarantined={"persons": {f"name is {LONG} 4,096": 1}}),
    "huge_extra_cell": Case(0, quarantined={"persons": {f"remark is {LONG} 65,536": 1}}),
    # -- must load exactly ------------------------------------------------------------------------
    "gbk_files": Case(0),
    "gb18030_four_byte": Case(0),
    "utf8_bom": Case(0),
    "crlf_line_endings": Case(0),
    "embedded_newlines_quotes": Case(0),
    "fullwidth_and_padding": Case(0),
    "header_only_and_repeats": Case(0),
    "formula_header": Case(0, quarantined={"persons": {f"birth_date {NOT_DATE}": 1}}),
    "hostile_strings": Case(
        0,
        quarantined={"addresses": {f"since {NOT_DATE}": 1}, "payments": {"month is not a month": 1}},
        command="run",
    ),
}


def base_pii() -> set[str]:
    """Names, ID numbers, phones and account numbers of the base data (never in a message)."""
    out: set[str] = set()
    for table, column in (
        ("persons", "name"),
        ("identities", "id_number"),
        ("phones", "phone"),
        ("accounts", "account_no"),
    ):
        with (BASE / f"{table}.csv").open(encoding="utf-8", newline="") as fh:
            out |= {r[column] for r in csv.DictReader(fh) if r[column]}
    return out


BASE_PII = base_pii()


def materialise(case: str, dest: Path) -> Path:
    """Copy ``_base`` to ``dest``, then apply the case's files (or build a runtime case)."""
    name = case.split(" ")[0]
    shutil.copytree(BASE, dest)
    if name == "huge_cell":
        with (dest / "persons.csv").open("a", encoding="utf-8") as fh:
            fh.write("P006," + "长" * (ONE_MB // 3) + "名,M,1960-01-01,110101\n")
        return dest
    if name == "huge_extra_cell":
        lines = (dest / "persons.csv").read_text(encoding="utf-8").splitlines()
        out = [lines[0] + ",remark"] + [f"{line},备注" for line in lines[1:]]
        out.append("P006,孙八,M,1960-01-01,110101," + "x" * ONE_MB)
        (dest / "persons.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
        return dest
    for f in sorted((CORPUS / name).iterdir()):
        if f.name == "_remove":
            for gone in f.read_text(encoding="utf-8").split():
                (dest / gone).unlink()
        else:
            shutil.copyfile(f, dest / f.name)
    return dest


@dataclass
class Outcome:
    data: Path
    out: Path
    proc: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case run once through the command line (two at a time).

    ``load`` writes the store to ``OUT/ringwatch.lbug`` and quarantine files to ``OUT``, where
    ``run`` puts them too.
    """
    root = tmp_path_factory.mktemp("bad")

    def one(item: tuple[int, str]) -> tuple[str, Outcome]:
        i, case = item
        spec = CASES[case]
        data = materialise(case, root / f"data{i}")
        out = root / f"out{i}"
        if spec.command == "run":
            proc = run_cli("run", str(data), "--out", str(out), *spec.args)
        else:
            store = str(out / "ringwatch.lbug")
            proc = run_cli("load", str(data), "--store", store, "--out", str(out), *spec.args)
        return case, Outcome(data, out, proc)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, enumerate(CASES)))


# -- independent counting ----------------------------------------------------------------------------
def decode_for_count(data: bytes) -> str:
    """Decode a corpus file the simple way (BOM, UTF-8, else GB18030) for counting records."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def count_records(path: Path) -> int:
    """Data records of an input file, counted without the loader (trailing blank rows are not rows)."""
    if path.suffix == ".parquet":
        return int(pq.read_metadata(path).num_rows)
    rows = list(csv.reader(io.StringIO(decode_for_count(path.read_bytes()), newline="")))[1:]
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    return len(rows)


def quarantine_rows(out: Path, table: str) -> list[dict[str, str]]:
    path = out / "quarantine" / f"{table}.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def input_tables(data: Path) -> dict[str, Path]:
    found = {}
    for t in TABLE_ORDER:
        for suffix in (".csv", ".parquet"):
            if (data / f"{t}{suffix}").exists():
                found[t] = data / f"{t}{suffix}"
    return found


def store_meta(out: Path) -> dict[str, str]:
    with open_store(out / "ringwatch.lbug", read_only=True) as st:
        return st.get_meta()


# -- the tests -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_case_exit_code_message_and_no_traceback(case: str, outcomes: dict[str, Outcome]) -> None:
    spec, got = CASES[case], outcomes[case]
    text = got.proc.stdout + got.proc.stderr
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]
    assert got.proc.returncode == spec.exit_code, text[-2000:]
    assert not [v for v in BASE_PII if v in text], "a message quotes a name, ID number, phone or account"
    if spec.exit_code == 2:
        flat = " ".join(got.proc.stderr.split())  # rich may wrap long messages
        for part in spec.message:
            assert part in flat, (part, flat)
        # nothing written: no store, no alerts, no quarantine
        assert not (got.out / "ringwatch.lbug").exists()
        assert not (got.out / "alerts.jsonl").exists()
        assert not (got.out / "quarantine").exists()


@pytest.mark.parametrize("case", [c for c, s in CASES.items() if s.exit_code == 0])
def test_rows_in_equal_loaded_plus_quarantined(case: str, outcomes: dict[str, Outcome]) -> None:
    spec, got = CASES[case], outcomes[case]
    assert got.proc.returncode == 0, got.proc.stderr[-2000:]
    meta = store_meta(got.out)
    for table, path in input_tables(got.data).items():
        records = count_records(path)
        loaded = int(meta[f"rows.{table}"])
        q = quarantine_rows(got.out, table)
        assert records == loaded + len(q), (table, records, loaded, len(q))
        assert all(r["reason"] and r["row"] for r in q), table
        reasons = Counter(r["reason"] for r in q)
        expected = spec.quarantined.get(table, {})
        for part, n in expected.items():
            assert sum(v for k, v in reasons.items() if part in k) == n, (table, part, reasons)
        assert sum(reasons.values()) == sum(expected.values()), (table, reasons)
    # a quarantine file exists exactly for the tables with quarantined rows
    qdir = got.out / "quarantine"
    present = {p.stem for p in qdir.glob("*.csv")} if qdir.exists() else set()
    assert present == set(spec.quarantined)


def test_encodings_and_odd_text_load_exactly(outcomes: dict[str, Outcome]) -> None:
    def persons(case: str) -> dict[str, dict[str, object]]:
        with open_store(outcomes[case].out / "ringwatch.lbug", read_only=True) as st:
            df = st.nodes("Person")
        return {str(r["person_id"]): r for r in df.to_dict("records")}

    gbk = persons("gbk_files")
    assert gbk["P006"]["name"] == "欧阳娜" and gbk["P006"]["sex"] == "F" and gbk["P001"]["name"] == "张三"
    with open_store(outcomes["gbk_files"].out / "ringwatch.lbug", read_only=True) as st:
        assert "广州市越秀区中山路4号" in set(st.nodes("Address")["address_key"])
        assert "北京协和医院" in set(st.nodes("Hospital")["name"])
    four = persons("gb18030_four_byte")
    assert four["P006"]["name"] == "龑䶮" and four["P007"]["name"] == "𠀀𪚥"
    assert persons("utf8_bom")["P002"]["name"] == "李四"
    odd = persons("embedded_newlines_quotes")
    assert odd["P006"]["name"] == '孙"八"'
    assert odd["P007"]["name"] == "周\n九"
    assert odd["P008"]["name"] == 'He said "hi",\r\nthen left'
    with open_store(outcomes["embedded_newlines_quotes"].out / "ringwatch.lbug", read_only=True) as st:
        keys = set(st.nodes("Address")["address_key"])
    assert {'北京市"东城区"和平路1号', "上海市黄浦区,南京路3号"} <= keys
    # a NUL inside a name is text, kept; inside an id it is quarantined (see CASES)
    assert persons("control_chars_in_ids")["P009"]["name"] == "郑\x00十一"
    # full-width digits, padding and a lower-case x are normalised, so the rows still match
    wide = persons("fullwidth_and_padding")
    assert (
        wide["P006"]["name"] == "孙八"
        and wide["P006"]["sex"] == "M"
        and wide["P006"]["region_code"] == "110101"
    )
    with open_store(outcomes["fullwidth_and_padding"].out / "ringwatch.lbug", read_only=True) as st:
        ids = st.nodes("Identity")
        phones = set(st.nodes("Phone")["phone"])
    p006 = ids[ids["person_id"] == "P006"]["id_number"].tolist()
    assert len(p006) == 1 and p006[0].isascii() and p006[0].endswith("X")
    assert "13800000006" in phones


def test_wrong_check_digit_is_kept_and_flagged(outcomes: dict[str, Outcome]) -> None:
    with open_store(outcomes["id_numbers"].out / "ringwatch.lbug", read_only=True) as st:
        ids = st.nodes("Identity")
    p006 = ids[ids["person_id"] == "P006"]
    assert len(p006) == 1 and not bool(p006["checksum_ok"].iloc[0])
    assert bool(ids[ids["person_id"] == "P001"]["checksum_ok"].iloc[0])


def test_formula_cells_are_neutralised_in_alerts_csv_and_quarantine(outcomes: dict[str, Outcome]) -> None:
    got = outcomes["hostile_strings"]
    # the hostile ids reach the alert as they are in JSONL ...
    alerts = [json.loads(x) for x in (got.out / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    deceased = [a for a in alerts if a["detector"] == "deceased_payment"]
    hostile = [a for a in deceased if "=cmd|' /C calc'!A0" in a["members"].get("account", [])]
    assert len(hostile) == 1
    assert hostile[0]["members"]["person"] == ["P1'}) MATCH (n) DETACH DELETE n //"]
    assert hostile[0]["members"]["benefit"] == ["B1\\' OR 1=1 RETURN 1 //"]
    # ... and no CSV cell a spreadsheet reads can start a formula
    files = [got.out / "alerts.csv", *sorted((got.out / "quarantine").glob("*.csv"))]
    cells = 0
    for path in files:
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    cells += 1
                    assert not cell.startswith(FORMULA_PREFIXES) or cell.startswith("'"), (path.name, cell)
    assert cells >= 50
    addresses = quarantine_rows(got.out, "addresses")
    assert [r["address"] for r in addresses] == ["'=1+1 北京市"]
    payments = quarantine_rows(got.out, "payments")
    assert [(r["payment_id"], r["amount"]) for r in payments] == [("'=PMH-bad", "'+1+1")]
    # a formula as a column name is neutralised too
    with (outcomes["formula_header"].out / "quarantine" / "persons.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert '\'=HYPERLINK("http://evil.example","x")' in header
    assert quarantine_rows(outcomes["formula_header"].out, "persons")[0]["person_id"] == "P006"
    # plain negative numbers are not formulas and stay readable
    neg = quarantine_rows(outcomes["all_rows_bad"].out, "payments")
    assert [r["amount"] for r in neg] == ["-1", "-2", "-3", "-4", "-5"]


def test_hostile_strings_stay_plain_data(outcomes: dict[str, Outcome]) -> None:
    got = outcomes["hostile_strings"]
    with open_store(got.out / "ringwatch.lbug", read_only=True) as st:
        people = st.nodes("Person").set_index("person_id")["name"].to_dict()
        counts = st.counts()
        accounts = st.nodes("Account").set_index("account_no")["bank"].to_dict()
    assert people["P1'}) MATCH (n) DETACH DELETE n //"] == "'; MATCH (n) DETACH DELETE n; //"
    assert people["P009"].startswith('"}) CALL apoc.periodic.iterate(')
    assert people["P010"] == "`Person` {name: $x}) SET n.admin = true //"
    assert people["P007"] == "+1+1" and people["P011"] == "-2+3"
    assert accounts["=cmd|' /C calc'!A0"] == '=HYPERLINK("http://evil.example","click")'
    assert counts["Person"] == 11 and counts["Identity"] == 12  # 11 listed + one inferred old number


def graph_snapshot(store: Path) -> tuple[dict[str, int], dict[str, str], list[list[object]]]:
    with open_store(store, read_only=True) as st:
        return st.counts(), st.get_meta(), st.nodes("Person").astype(str).values.tolist()


def test_a_bad_run_leaves_the_previous_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_cli("run", str(materialise("utf8_bom", tmp_path / "good")), "--out", str(out))
    assert first.returncode == 0, first.stderr[-2000:]
    store = out / "ringwatch.lbug"
    files = {
        p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.suffix not in (".lock", ".lbug")
    }
    graph = graph_snapshot(store)
    bad = run_cli("run", str(materialise("truncated_in_quote", tmp_path / "bad")), "--out", str(out))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert {
        p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.suffix not in (".lock", ".lbug")
    } == files
    assert graph_snapshot(store) == graph
    # `load` into the existing store refuses the same way and changes nothing in the graph
    load = run_cli("load", str(tmp_path / "bad"), "--store", str(store))
    assert load.returncode == 2 and "Traceback" not in load.stderr
    assert graph_snapshot(store) == graph
    assert not (out / "quarantine").exists()


def test_corpus_figures(outcomes: dict[str, Outcome]) -> None:
    """The totals reported in docs/RELIABILITY.md: every record read is loaded or quarantined."""
    rows_in = loaded = quarantined = 0
    for case, spec in CASES.items():
        if spec.exit_code != 0:
            continue
        got = outcomes[case]
        meta = store_meta(got.out)
        for table, path in input_tables(got.data).items():
            rows_in += count_records(path)
            loaded += int(meta[f"rows.{table}"])
            quarantined += len(quarantine_rows(got.out, table))
    assert rows_in - loaded - quarantined == 0
    assert len(CASES) >= 40 and quarantined >= 50


def test_markup_characters_in_a_path_are_printed_as_text(tmp_path: Path) -> None:
    missing = tmp_path / "exports[/]2024"
    res = run_cli("load", str(missing), "--store", str(tmp_path / "s.lbug"))
    assert "Traceback" not in res.stderr
    assert res.returncode == 2 and "exports[/]2024" in res.stderr
