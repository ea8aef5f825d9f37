"""neo4j-admin export: files are parsed back with neo4j-admin's CSV rules and compared."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_store_suite import ODD_NAME, sample_frames

from ringwatch.errors import StoreError
from ringwatch.graph import GraphFrames, canonical_order, conform, open_store
from ringwatch.graph.export import export_neo4j_admin
from ringwatch.graph.schema import NODES, RELS


def parse_csv(text: str) -> list[list[str | None]]:
    """neo4j-admin CSV: ``,`` delimiter, ``"`` quotes (doubled inside), unquoted empty = missing."""
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            j, buf = i + 1, []
            while True:
                k = text.index('"', j)
                buf.append(text[j:k])
                if k + 1 < n and text[k + 1] == '"':
                    buf.append('"')
                    j = k + 2
                    continue
                break
            row.append("".join(buf))
            i = k + 1
        else:
            m = re.compile(r"[^,\n]*").match(text, i)
            assert m is not None
            row.append(m.group(0) or None)
            i = m.end()
        if i >= n or text[i] == "\n":
            rows.append(row)
            row = []
        i += 1
    return rows


SUFFIX_TYPES = {
    "": "STRING",
    "date": "DATE",
    "double": "DOUBLE",
    "long": "INT64",
    "boolean": "BOOL",
    "string[]": "STRING[]",
    "double[]": "DOUBLE[]",
}


def read_pair(out: Path, stem: str) -> pd.DataFrame:
    header = parse_csv((out / f"{stem}_header.csv").read_text(encoding="utf-8"))[0]
    rows = parse_csv((out / f"{stem}.csv").read_text(encoding="utf-8"))
    assert all(len(r) == len(header) for r in rows)
    data: dict[str, list[Any]] = {}
    for i, h in enumerate(header):
        assert h is not None
        values: list[Any] = [r[i] for r in rows]
        if h.startswith((":START_ID", ":END_ID")):
            data["src" if h.startswith(":START_ID") else "dst"] = values
            continue
        if h in (":LABEL", ":TYPE"):
            data[h] = values
            continue
        name, _, suffix = h.partition(":")
        typ = "STRING" if suffix.startswith("ID(") else SUFFIX_TYPES[suffix]
        if typ == "STRING[]":
            values = [None if v is None else (v.split(";") if v else []) for v in values]
        elif typ == "DOUBLE[]":
            values = [None if v is None else ([float(x) for x in v.split(";")] if v else []) for v in values]
        elif typ == "BOOL":
            values = [None if v is None else {"true": True, "false": False}[v] for v in values]
        data[name] = values
    return pd.DataFrame(data)


def test_frames_round_trip_through_the_export(tmp_path: Path) -> None:
    frames = sample_frames()
    result = export_neo4j_admin(frames, tmp_path / "exp")
    out = tmp_path / "exp"
    assert result.nodes == {k: len(v) for k, v in frames.node_frames.items()} | {"Meta": 3}
    assert result.relationships == {k: len(v) for k, v in frames.rel_frames.items()}
    header = (out / "Person_header.csv").read_text(encoding="utf-8").strip()
    assert header.startswith("person_id:ID(Person),name,sex,birth_date:date,") and header.endswith(",:LABEL")
    assert (out / "PAID_TO_header.csv").read_text().strip() == (
        ":START_ID(Benefit),:END_ID(Account),months:string[],amounts:double[],payment_ids:string[],"
        "n_months:long,total:double,first_month,last_month,:TYPE"
    )
    assert "checksum_ok:boolean" in (out / "Identity_header.csv").read_text()
    for label in NODES:
        got = read_pair(out, label)
        assert set(got[":LABEL"]) == {label}
        got = conform(got.drop(columns=[":LABEL"]), "node", label)
        pd.testing.assert_frame_equal(
            canonical_order(got, "node", label),
            canonical_order(frames.nodes(label), "node", label),
            obj=label,
        )
    for rel in RELS:
        got = read_pair(out, rel)
        assert set(got[":TYPE"]) == {rel}
        got = conform(got.drop(columns=[":TYPE"]), "rel", rel)
        pd.testing.assert_frame_equal(
            canonical_order(got, "rel", rel), canonical_order(frames.rels(rel), "rel", rel), obj=rel
        )
    people = read_pair(out, "Person")
    assert ODD_NAME in people["name"].tolist() and people["name"].isna().sum() == 1
    # every relationship endpoint is an id in the right id space
    for rel, rt in RELS.items():
        df = read_pair(out, rel)
        assert set(df["src"]) <= set(read_pair(out, rt.src)[NODES[rt.src].key])
        assert set(df["dst"]) <= set(read_pair(out, rt.dst)[NODES[rt.dst].key])
    meta = read_pair(out, "Meta")
    assert dict(zip(meta["key"], meta["value"], strict=True))["reference_date"] == "2024-03-31"


def test_import_script_names_every_file(tmp_path: Path) -> None:
    result = export_neo4j_admin(sample_frames(), tmp_path)
    script = (tmp_path / "import.sh").read_text(encoding="utf-8")
    assert "neo4j-admin database import full" in script and '"${1:-neo4j}"' in script
    assert "--array-delimiter=';'" in script and "--multiline-fields=true" in script
    for label in NODES:
        assert f"--nodes={label}_header.csv,{label}.csv" in script
        assert f"--nodes={label}_header.csv,{label}.csv" in result.command
    for rel in RELS:
        assert f"--relationships={rel}_header.csv,{rel}.csv" in script
    assert result.command.startswith("neo4j-admin database import full neo4j --overwrite-destination=true")
    assert "nodes" in str(result)


def test_store_export_includes_alerts_flags_and_meta(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.lbug") as st:
        st.bulk_load(sample_frames())
        st.write_alerts(
            [
                {
                    "alert_id": "A-1",
                    "detector": "shared_account",
                    "score": 91.5,
                    "level": "red",
                    "members": {"person": ["P1", "P2"], "account": ["6222000011112222"]},
                    "amount_at_risk": 10.0,
                    "explanation": "两人共用账户\n第二行",
                    "evidence_cypher": "MATCH (p:Person) WHERE p.person_id IN ['P1','P2'] RETURN p",
                    "first_seen": "2024-03-31",
                }
            ],
            run_id="r1",
        )
    with open_store(tmp_path / "s.lbug", read_only=True) as ro:
        result = export_neo4j_admin(ro, tmp_path / "exp")
    out = tmp_path / "exp"
    assert result.nodes["Alert"] == 1 and result.relationships == {
        **{k: v for k, v in result.relationships.items() if not k.startswith("FLAGS")},
        "FLAGS_Person": 2,
        "FLAGS_Account": 1,
    }
    alert = read_pair(out, "Alert")
    assert alert.loc[0, "explanation"] == "两人共用账户\n第二行" and alert.loc[0, "score"] == "91.5"
    flags = read_pair(out, "FLAGS_Person")
    assert flags["src"].tolist() == ["A-1", "A-1"] and set(flags[":TYPE"]) == {"FLAGS"}
    assert (out / "FLAGS_Person_header.csv").read_text().strip() == ":START_ID(Alert),:END_ID(Person),:TYPE"
    assert "reference_date" in read_pair(out, "Meta")["key"].tolist()


def test_array_delimiter_inside_a_value_is_refused(tmp_path: Path) -> None:
    bad = GraphFrames.from_records(
        {"Benefit": [{"benefit_id": "B1"}], "Account": [{"account_no": "A1"}]},
        {"PAID_TO": [{"src": "B1", "dst": "A1", "payment_ids": ["x;y"]}]},
    )
    with pytest.raises(StoreError, match="delimiter"):
        export_neo4j_admin(bad, tmp_path)
