"""Export a graph for ``neo4j-admin database import full`` (header CSV + data CSV per type).

Every node label gets ``<Label>_header.csv`` (``key:ID(<Label>)``, typed property columns,
``:LABEL``) and ``<Label>.csv``; every relationship type gets ``<TYPE>_header.csv``
(``:START_ID(<From>)``, ``:END_ID(<To>)``, typed properties, ``:TYPE``) and ``<TYPE>.csv``.
Each label is its own id space, so keys only need to be unique within a label. Alert
write-back edges go to one file pair per member label (``FLAGS_<Label>``), since each pair
ends in a different id space. ``import.sh`` holds the exact command line.

Format: comma-delimited, strings always double-quoted (a quote doubled), an empty unquoted
field is a missing property, arrays joined with ``;`` (``--array-delimiter=';'``), dates
``YYYY-MM-DD``, booleans ``true``/``false``; ``--multiline-fields=true`` because free text
may contain line breaks.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ringwatch.contract import TABLE_ORDER
from ringwatch.errors import StoreError

from .base import GraphFrames, GraphStore, GraphView
from .frames import FLAGS
from .schema import ALERT_NODE, MEMBER_LABELS, META_NODE, NODES, RELS, NodeType, PropType

ARRAY_DELIMITER = ";"

_SUFFIX: dict[str, str] = {
    "STRING": "",
    "DATE": ":date",
    "DOUBLE": ":double",
    "INT64": ":long",
    "BOOL": ":boolean",
    "STRING[]": ":string[]",
    "DOUBLE[]": ":double[]",
}


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_neo4j_admin` wrote.

    Attributes
    ----------
    out_dir
        The export directory.
    nodes, relationships
        Rows written per file stem (label, relationship type, ``FLAGS_<Label>``).
    command
        The ``neo4j-admin`` command line (also in ``import.sh``), run from ``out_dir``.
    """

    out_dir: Path
    nodes: dict[str, int] = field(default_factory=dict)
    relationships: dict[str, int] = field(default_factory=dict)
    command: str = ""

    def __str__(self) -> str:
        return (
            f"{sum(self.nodes.values()):,} nodes in {len(self.nodes)} labels, "
            f"{sum(self.relationships.values()):,} relationships in {len(self.relationships)} files; "
            f"import with {self.out_dir / 'import.sh'}"
        )


def _quote(values: pd.Series) -> pd.Series:
    """Double-quoted strings (quotes doubled); missing values as empty unquoted fields."""
    present = values.notna()
    out = pd.Series("", index=values.index, dtype=object)
    if present.any():
        text = values[present].astype(str)
        out[present] = '"' + text.str.replace('"', '""', regex=False) + '"'
    return out


def _array(values: pd.Series, element: str, what: str) -> pd.Series:
    def one(v: Any) -> str | None:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return None
        items = [repr(float(x)) if element == "DOUBLE" else str(x) for x in v]
        if any(ARRAY_DELIMITER in x for x in items):
            raise StoreError(f"{what}: an array element contains the array delimiter {ARRAY_DELIMITER!r}")
        return ARRAY_DELIMITER.join(items)

    return _quote(pd.Series([one(v) for v in values], index=values.index, dtype=object))


def _format(values: pd.Series, prop_type: PropType, what: str) -> pd.Series:
    """One column as CSV field text for ``neo4j-admin``."""
    values = values.reset_index(drop=True)
    if prop_type == "STRING":
        return _quote(values.astype(object).where(values.notna(), None))
    if prop_type == "DATE":
        stamps = pd.to_datetime(values, errors="coerce")
        return stamps.dt.strftime("%Y-%m-%d").astype(object).where(stamps.notna(), "")
    if prop_type == "DOUBLE":
        nums = pd.to_numeric(values, errors="coerce").astype("float64")
        return pd.Series([repr(float(x)) if x == x else "" for x in nums], dtype=object)
    if prop_type == "INT64":
        ints = pd.to_numeric(values, errors="coerce").astype("Int64")
        return ints.astype(object).map(lambda x: "" if x is pd.NA else str(int(x)))
    if prop_type == "BOOL":
        bools = values.astype("boolean")
        return bools.astype(object).map(lambda x: "" if x is pd.NA else ("true" if x else "false"))
    if prop_type in ("STRING[]", "DOUBLE[]"):
        return _array(values, prop_type[:-2], what)
    raise StoreError(f"unknown property type {prop_type}")


def _write_pair(
    out_dir: Path, stem: str, header: Sequence[str], columns: Sequence[pd.Series], n: int
) -> list[str]:
    (out_dir / f"{stem}_header.csv").write_text(",".join(header) + "\n", encoding="utf-8")
    with (out_dir / f"{stem}.csv").open("w", encoding="utf-8", newline="") as fh:
        if n:
            line = columns[0].astype(object)
            for col in columns[1:]:
                line = line + "," + col.astype(object)
            fh.write("\n".join(line.tolist()))
            fh.write("\n")
    return [f"{stem}_header.csv", f"{stem}.csv"]


def _node_pair(out_dir: Path, nt: NodeType, df: pd.DataFrame) -> list[str]:
    header, cols = [], []
    for col, typ in nt.props:
        if col == nt.key:
            header.append(f"{col}:ID({nt.label})")
        else:
            header.append(f"{col}{_SUFFIX[typ]}")
        cols.append(_format(df[col], typ, f"{nt.label}.{col}"))
    header.append(":LABEL")
    cols.append(pd.Series([nt.label] * len(df), dtype=object))
    return _write_pair(out_dir, nt.label, header, cols, len(df))


def _rel_pair(
    out_dir: Path,
    stem: str,
    rel: str,
    src: str,
    dst: str,
    props: Sequence[tuple[str, PropType]],
    df: pd.DataFrame,
) -> list[str]:
    header = [f":START_ID({src})", f":END_ID({dst})", *(f"{c}{_SUFFIX[t]}" for c, t in props), ":TYPE"]
    cols = [_format(df["src"], "STRING", stem), _format(df["dst"], "STRING", stem)]
    cols += [_format(df[c], t, f"{stem}.{c}") for c, t in props]
    cols.append(pd.Series([rel] * len(df), dtype=object))
    return _write_pair(out_dir, stem, header, cols, len(df))


def export_neo4j_admin(
    source: GraphFrames | GraphStore | GraphView, out_dir: str | Path, *, database: str = "neo4j"
) -> ExportResult:
    """Write a ``neo4j-admin database import full`` input set and ``import.sh``.

    Parameters
    ----------
    source
        A frame bundle or an open store (a store also exports its alerts, ``FLAGS`` edges
        and metadata).
    out_dir
        Directory to write (created; files of the same names are overwritten).
    database
        Target database name in the command line (``import.sh`` takes it as ``$1`` too).

    Returns
    -------
    ExportResult
        Row counts per file and the command line.

    Raises
    ------
    StoreError
        When an array element contains the array delimiter ``;`` (it could not be read back),
        or ``database`` is not a valid Neo4j database name.
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9.\-]{2,62}", database):
        raise StoreError(f"not a Neo4j database name: {database!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    node_files: list[list[str]] = []
    rel_files: list[list[str]] = []
    nodes: dict[str, int] = {}
    rels: dict[str, int] = {}
    for label, nt in NODES.items():
        df = source.nodes(label)
        if len(df):
            node_files.append(_node_pair(out, nt, df))
            nodes[label] = len(df)
    for rel, rt in RELS.items():
        df = source.rels(rel)
        if len(df):
            rel_files.append(_rel_pair(out, rel, rel, rt.src, rt.dst, rt.props, df))
            rels[rel] = len(df)
    if isinstance(source, GraphFrames):
        meta = dict(source.meta)
        meta.setdefault("loaded_tables", ",".join(t for t in TABLE_ORDER if t in source.loaded_tables))
    elif isinstance(source, GraphStore):
        meta = source.get_meta()
        alerts = source.nodes(ALERT_NODE.label)
        if len(alerts):
            node_files.append(_node_pair(out, ALERT_NODE, alerts))
            nodes[ALERT_NODE.label] = len(alerts)
            flags = getattr(source, "flags", None)
            if callable(flags):
                fl = flags()
                for label in MEMBER_LABELS.values():
                    part = fl[fl["label"] == label]
                    if len(part):
                        stem = f"{FLAGS}_{label}"
                        rel_files.append(_rel_pair(out, stem, FLAGS, ALERT_NODE.label, label, (), part))
                        rels[stem] = len(part)
    else:
        meta = {}
    if meta:
        mdf = pd.DataFrame({"key": list(meta), "value": list(meta.values())}, dtype=object)
        node_files.append(_node_pair(out, META_NODE, mdf))
        nodes[META_NODE.label] = len(mdf)

    options = [
        "--overwrite-destination=true",
        f"--array-delimiter={shlex.quote(ARRAY_DELIMITER)}",
        "--multiline-fields=true",
        *(f"--nodes={','.join(files)}" for files in node_files),
        *(f"--relationships={','.join(files)}" for files in rel_files),
    ]
    base = "neo4j-admin database import full"
    command = " ".join([base, shlex.quote(database), *options])
    script = (
        "#!/bin/sh\n"
        "# Import this ringwatch export into an empty Neo4j 5 database (stop it first):\n"
        "#   sh import.sh [database]\n"
        "# neo4j-admin reads the files relative to this directory; --overwrite-destination replaces\n"
        "# the database. Uniqueness constraints are not part of the import: the first ringwatch\n"
        "# load into the database (ringwatch load --store neo4j://...) creates them.\n"
        "set -e\n"
        'cd "$(dirname "$0")"\n' + " \\\n  ".join([f'{base} "${{1:-{database}}}"', *options]) + "\n"
    )
    (out / "import.sh").write_text(script, encoding="utf-8")
    (out / "import.sh").chmod(0o755)
    return ExportResult(out, nodes, rels, command)
