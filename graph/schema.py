"""Backend-neutral property-graph schema: node labels, relationship types, property types.

Both stores create their schema from this module, loaders produce one DataFrame per entry
of :data:`NODES` and :data:`RELS` with exactly these columns, and projections return the
same columns. Types: ``STRING``, ``DATE`` (``datetime64`` / ``date`` in frames), ``DOUBLE``,
``INT64``, ``BOOL``, ``STRING[]``, ``DOUBLE[]``.

Relationship frames carry the endpoint keys in the columns ``src`` and ``dst``
(the key values of the FROM and TO nodes), then the relationship's own properties.
Unknown extra input columns are kept, as a JSON object string, in the ``extra`` property.
"""

from __future__ import annotations

from dataclasses import dataclass

PropType = str  # "STRING" | "DATE" | "DOUBLE" | "INT64" | "BOOL" | "STRING[]" | "DOUBLE[]"


@dataclass(frozen=True)
class NodeType:
    label: str
    key: str
    props: tuple[tuple[str, PropType], ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(p for p, _ in self.props)

    def prop_type(self, name: str) -> PropType:
        return dict(self.props)[name]


@dataclass(frozen=True)
class RelType:
    type: str
    src: str  # label of FROM node
    dst: str  # label of TO node
    props: tuple[tuple[str, PropType], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return ("src", "dst", *(p for p, _ in self.props))

    def prop_type(self, name: str) -> PropType:
        return dict(self.props)[name]


S, D, F, N, B = "STRING", "DATE", "DOUBLE", "INT64", "BOOL"

NODES: dict[str, NodeType] = {
    n.label: n
    for n in (
        NodeType(
            "Person",
            "person_id",
            (
                ("person_id", S),
                ("name", S),
                ("sex", S),
                ("birth_date", D),
                ("region_code", S),
                ("death_date", D),  # earliest death under any of the person's ID numbers (§4)
                ("death_source", S),
                ("extra", S),
            ),
        ),
        NodeType(
            "Identity",
            "id_number",
            (
                ("id_number", S),
                ("person_id", S),
                ("id_type", S),
                ("issued_date", D),
                ("checksum_ok", B),  # False: 18-digit number with a wrong check digit (kept as evidence)
                ("id_birth_date", D),  # birth date encoded in the number, when it parses
                ("id_sex", S),  # sex encoded in the number (M/F), when it parses
                ("id_region", S),  # 6-digit area code encoded in the number
                ("inferred", B),  # True: created from a renumbering, not listed in identities
                ("death_date", D),
                ("death_source", S),
                ("extra", S),
            ),
        ),
        NodeType(
            "Account",
            "account_no",
            (("account_no", S), ("person_id", S), ("bank", S), ("opened_date", D), ("role", S), ("extra", S)),
        ),
        NodeType("Phone", "phone", (("phone", S),)),
        NodeType("Address", "address_key", (("address_key", S), ("address", S))),
        NodeType(
            "Employer",
            "employer_id",
            (
                ("employer_id", S),
                ("name", S),
                ("region_code", S),
                ("address", S),
                ("address_key", S),
                ("legal_rep_id_number", S),
                ("founded_date", D),
                ("extra", S),
            ),
        ),
        NodeType(
            "Benefit",
            "benefit_id",
            (
                ("benefit_id", S),
                ("id_number", S),
                ("scheme", S),
                ("region_code", S),
                ("start_date", D),
                ("end_date", D),
                ("account_no", S),
                ("extra", S),
            ),
        ),
        NodeType(
            "Hospital",
            "hospital_id",
            (
                ("hospital_id", S),
                ("name", S),
                ("level", S),
                ("region_code", S),
                ("address", S),
                ("address_key", S),
                ("extra", S),
            ),
        ),
        NodeType("Doctor", "doctor_id", (("doctor_id", S), ("hospital_id", S), ("name", S), ("extra", S))),
        # one node per activities row: life traces (§4) for survival grading
        NodeType(
            "Activity",
            "activity_id",
            (("activity_id", S), ("id_number", S), ("date", D), ("source", S), ("kind", S), ("extra", S)),
        ),
    )
}

RELS: dict[str, RelType] = {
    r.type: r
    for r in (
        RelType("HAS_IDENTITY", "Person", "Identity"),
        RelType(
            "RENUMBERED_TO",
            "Identity",
            "Identity",
            (("changed_date", D), ("reason", S), ("region_code", S), ("extra", S)),
        ),
        RelType("HOLDS", "Person", "Account", (("role", S), ("opened_date", D))),
        RelType("USES_PHONE", "Person", "Phone", (("since", D), ("extra", S))),
        RelType("LIVES_AT", "Person", "Address", (("address_type", S), ("since", D), ("extra", S))),
        RelType(
            "EMPLOYED_BY",
            "Identity",
            "Employer",
            (
                ("start_date", D),
                ("end_date", D),
                ("contribution_base", F),
                ("back_paid_months", N),
                ("extra", S),
            ),
        ),
        RelType("RECEIVES", "Identity", "Benefit"),
        # payments aggregated per (benefit, account): parallel lists sorted by month
        RelType(
            "PAID_TO",
            "Benefit",
            "Account",
            (
                ("months", "STRING[]"),
                ("amounts", "DOUBLE[]"),
                ("payment_ids", "STRING[]"),
                ("n_months", N),
                ("total", F),
                ("first_month", S),
                ("last_month", S),
            ),
        ),
        RelType("WORKS_AT", "Doctor", "Hospital"),
        # one edge per claim
        RelType(
            "TREATED_AT",
            "Identity",
            "Hospital",
            (
                ("claim_id", S),
                ("doctor_id", S),
                ("admit_date", D),
                ("discharge_date", D),
                ("diagnosis_code", S),
                ("amount", F),
                ("fund_paid", F),
                ("extra", S),
            ),
        ),
        RelType("HAS_ACTIVITY", "Identity", "Activity"),
    )
}

#: alert write-back: (Alert)-[:FLAGS]->(member node); see GraphStore.write_alerts
ALERT_NODE = NodeType(
    "Alert",
    "alert_id",
    (
        ("alert_id", S),
        ("detector", S),
        ("score", F),
        ("level", S),
        ("amount_at_risk", F),
        ("explanation", S),
        ("evidence_cypher", S),
        ("first_seen", S),
        ("run_id", S),
        ("members", S),  # JSON
        ("details", S),  # JSON
    ),
)

#: contract member type -> node label flagged by an alert
MEMBER_LABELS: dict[str, str] = {
    "person": "Person",
    "identity": "Identity",
    "account": "Account",
    "phone": "Phone",
    "address": "Address",
    "employer": "Employer",
    "hospital": "Hospital",
    "doctor": "Doctor",
    "benefit": "Benefit",
}

#: key-value metadata kept in the store (loaded tables, row counts, reference date, runs)
META_NODE = NodeType("Meta", "key", (("key", S), ("value", S)))
