"""Relationship rows must name loaded (or, on upsert, stored) nodes; shared check of both stores."""

from pathlib import Path

import pytest

from ringwatch.errors import StoreError
from ringwatch.graph import open_store
from ringwatch.graph.base import GraphFrames


def test_dangling_endpoint_refused_and_stored_endpoint_accepted(tmp_path: Path) -> None:
    base = GraphFrames.from_records(
        nodes={"Person": [{"person_id": "P1"}], "Account": [{"account_no": "A1"}]},
        rels={"HOLDS": [{"src": "P1", "dst": "A1"}]},
    )
    dangling = GraphFrames.from_records(
        nodes={"Account": [{"account_no": "A2"}]}, rels={"HOLDS": [{"src": "P9", "dst": "A2"}]}
    )
    stored = GraphFrames.from_records(
        nodes={"Account": [{"account_no": "A2"}]}, rels={"HOLDS": [{"src": "P1", "dst": "A2"}]}
    )
    with open_store(tmp_path / "s.lbug") as st:
        st.create_schema()
        st.bulk_load(base)
        with pytest.raises(StoreError, match="HOLDS: 1 src key"):
            st.bulk_load(dangling, mode="upsert")
        with pytest.raises(StoreError, match="name no Person node"):
            st.bulk_load(stored, mode="replace")  # replace: the store's own nodes do not count
        st.bulk_load(stored, mode="upsert")
        assert sorted(st.rels("HOLDS")["dst"]) == ["A1", "A2"]
