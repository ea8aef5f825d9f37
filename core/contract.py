"""The data contract (``shared/DATA_CONTRACT.md`` v1.1) as code: tables, columns, enums, names.

Every name here is exact and fixed; other systems depend on it. Loaders, the synthetic
generator, detectors and writers all read their names from this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["str", "id_number", "date", "month", "money", "int", "enum", "address", "phone"]


@dataclass(frozen=True)
class Column:
    """One contract column.

    Attributes
    ----------
    name
        Exact column name.
    kind
        How the loader parses and validates it.
    required
        ``True`` for the contract's ``*`` columns: the header must have it and a row
        with an empty value is quarantined.
    choices
        Allowed values for ``kind == "enum"``.
    """

    name: str
    kind: ColumnKind = "str"
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """One contract table: its columns, key and required flag."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    required_table: bool = False
    #: columns that must name a known person / identity / other key (checked by loaders)
    references: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


C = Column

SEX = ("M", "F")
ID_TYPES = ("ID18", "ID15", "PASSPORT", "OTHER")
RENUMBER_REASONS = ("upgrade15", "birth_date_fix", "sex_change", "duplicate_fix", "other")
ACCOUNT_ROLES = ("holder", "agent")
ADDRESS_TYPES = ("hukou", "residence", "mailing")
SCHEMES = ("pension_employee", "pension_resident", "unemployment", "work_injury", "survivor", "other")
PENSION_SCHEMES = ("pension_employee", "pension_resident")
DEATH_SOURCES = ("civil_affairs", "police", "hospital", "cremation", "court", "other")
ACTIVITY_SOURCES = ("medical", "transit", "bank", "police", "court", "prison", "civil_affairs", "other")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "persons",
            (
                C("person_id", required=True),
                C("name"),
                C("sex", "enum", choices=SEX),
                C("birth_date", "date"),
                C("region_code"),
            ),
            key=("person_id",),
            required_table=True,
        ),
        Table(
            "identities",
            (
                C("id_number", "id_number", required=True),
                C("person_id", required=True),
                C("id_type", "enum", choices=ID_TYPES),
                C("issued_date", "date"),
            ),
            key=("id_number",),
            required_table=True,
            references={"person_id": "persons"},
        ),
        Table(
            "renumberings",
            (
                C("old_id_number", "id_number", required=True),
                C("new_id_number", "id_number", required=True),
                C("changed_date", "date"),
                C("reason", "enum", choices=RENUMBER_REASONS),
                C("region_code"),
            ),
        ),
        Table(
            "accounts",
            (
                C("account_no", required=True),
                C("person_id", required=True),
                C("bank"),
                C("opened_date", "date"),
                C("role", "enum", choices=ACCOUNT_ROLES),
            ),
            key=("account_no",),
            references={"person_id": "persons"},
        ),
        Table(
            "phones",
            (C("person_id", required=True), C("phone", "phone", required=True), C("since", "date")),
            key=("person_id", "phone"),
            references={"person_id": "persons"},
        ),
        Table(
            "addresses",
            (
                C("person_id", required=True),
                C("address", "address", required=True),
                C("address_type", "enum", choices=ADDRESS_TYPES),
                C("since", "date"),
            ),
            references={"person_id": "persons"},
        ),
        Table(
            "employers",
            (
                C("employer_id", required=True),
                C("name"),
                C("region_code"),
                C("address", "address"),
                C("legal_rep_id_number", "id_number"),
                C("founded_date", "date"),
            ),
            key=("employer_id",),
        ),
        Table(
            "employments",
            (
                C("id_number", "id_number", required=True),
                C("employer_id", required=True),
                C("start_date", "date"),
                C("end_date", "date"),
                C("contribution_base", "money"),
                C("back_paid_months", "int"),
            ),
            references={"id_number": "identities", "employer_id": "employers"},
        ),
        Table(
            "benefits",
            (
                C("benefit_id", required=True),
                C("id_number", "id_number", required=True),
                C("scheme", "enum", choices=SCHEMES),
                C("region_code"),
                C("start_date", "date"),
                C("end_date", "date"),
                C("account_no"),
            ),
            key=("benefit_id",),
            references={"id_number": "identities"},
        ),
        Table(
            "payments",
            (
                C("payment_id", required=True),
                C("benefit_id", required=True),
                C("month", "month", required=True),
                C("amount", "money", required=True),
                C("account_no"),
            ),
            key=("payment_id",),
            references={"benefit_id": "benefits"},
        ),
        Table(
            "hospitals",
            (
                C("hospital_id", required=True),
                C("name"),
                C("level"),
                C("region_code"),
                C("address", "address"),
            ),
            key=("hospital_id",),
        ),
        Table(
            "doctors",
            (C("doctor_id", required=True), C("hospital_id", required=True), C("name")),
            key=("doctor_id",),
            references={"hospital_id": "hospitals"},
        ),
        Table(
            "claims",
            (
                C("claim_id", required=True),
                C("id_number", "id_number", required=True),
                C("hospital_id", required=True),
                C("doctor_id"),
                C("admit_date", "date", required=True),
                C("discharge_date", "date"),
                C("diagnosis_code"),
                C("amount", "money", required=True),
                C("fund_paid", "money"),
            ),
            key=("claim_id",),
            references={"id_number": "identities", "hospital_id": "hospitals", "doctor_id": "doctors"},
        ),
        Table(
            "deaths",
            (
                C("id_number", "id_number", required=True),
                C("death_date", "date", required=True),
                C("source", "enum", choices=DEATH_SOURCES),
            ),
            references={"id_number": "identities"},
        ),
        Table(
            "activities",
            (
                C("id_number", "id_number", required=True),
                C("date", "date", required=True),
                C("source", "enum", required=True, choices=ACTIVITY_SOURCES),
                C("kind"),
            ),
            references={"id_number": "identities"},
        ),
    )
}

#: load order: a table's references always come earlier
TABLE_ORDER: tuple[str, ...] = (
    "persons",
    "identities",
    "renumberings",
    "accounts",
    "phones",
    "addresses",
    "employers",
    "employments",
    "benefits",
    "payments",
    "hospitals",
    "doctors",
    "claims",
    "deaths",
    "activities",
)

DETECTORS: tuple[str, ...] = (
    "shared_account",
    "identity_chain",
    "provider_ring",
    "deceased_payment",
    "duplicate_benefit",
    "shell_employer",
    "survival_risk",
)

#: keys allowed in ``Alert.members`` (contract §3)
MEMBER_TYPES: tuple[str, ...] = (
    "person",
    "identity",
    "account",
    "phone",
    "address",
    "employer",
    "hospital",
    "doctor",
    "benefit",
)

#: fields of alerts.jsonl / alerts.csv, in this order (contract §3)
ALERT_FIELDS: tuple[str, ...] = (
    "alert_id",
    "detector",
    "score",
    "level",
    "members",
    "amount_at_risk",
    "explanation",
    "evidence_cypher",
    "first_seen",
    "details",
)

DEFAULT_PENSION_AGE = {"M": 60, "F": 50}
