"""Typed alerts, the detector registry and the context detectors run in.

A detector is a pure function ``(view: GraphView, ctx: DetectContext) -> list[Alert]``
registered under its contract name with :func:`register`. It never talks to a database:
``view`` is either a live store or a :class:`~ringwatch.graph.base.GraphFrames` bundle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ringwatch import semantics
from ringwatch.contract import DETECTORS, MEMBER_TYPES
from ringwatch.graph.base import GraphView

Level = Literal["red", "orange", "yellow"]


def level_for(score: float) -> Level:
    """Contract §3: red ≥ 80, orange ≥ 50, else yellow."""
    if score >= 80:
        return "red"
    if score >= 50:
        return "orange"
    return "yellow"


def make_alert_id(detector: str, key_members: Mapping[str, Sequence[str]]) -> str:
    """Stable alert id: detector name + hash of its sorted key members.

    The same finding on the same data gets the same id on every run and every store.
    """
    canon = json.dumps(
        {k: sorted(set(map(str, v))) for k, v in sorted(key_members.items()) if v},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(f"{detector}|{canon}".encode()).hexdigest()[:16]
    return f"{detector}-{digest}"


class Alert(BaseModel):
    """One finding (contract §3). ``first_seen`` is filled by the writer from run history."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: str
    detector: str
    score: float = Field(ge=0, le=100)
    level: Level
    members: dict[str, list[str]]
    amount_at_risk: float = Field(ge=0)
    explanation: str
    evidence_cypher: str
    first_seen: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("detector")
    @classmethod
    def _known_detector(cls, v: str) -> str:
        if v not in DETECTORS:
            raise ValueError(f"unknown detector {v!r}")
        return v

    @field_validator("members")
    @classmethod
    def _sorted_members(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        bad = set(v) - set(MEMBER_TYPES)
        if bad:
            raise ValueError(f"unknown member types {sorted(bad)}")
        return {k: sorted(set(v[k])) for k in MEMBER_TYPES if v.get(k)}

    @classmethod
    def build(
        cls,
        detector: str,
        *,
        key_members: Mapping[str, Sequence[str]],
        members: Mapping[str, Sequence[str]],
        score: float,
        amount_at_risk: float,
        explanation: str,
        evidence_cypher: str,
        details: Mapping[str, Any] | None = None,
    ) -> Alert:
        """Make an alert with a stable id (from ``key_members``) and the level from ``score``."""
        score = round(float(min(100.0, max(0.0, score))), 2)
        return cls(
            alert_id=make_alert_id(detector, key_members),
            detector=detector,
            score=score,
            level=level_for(score),
            members={k: [str(x) for x in v] for k, v in members.items()},
            amount_at_risk=round(float(amount_at_risk), 2),
            explanation=explanation,
            evidence_cypher=evidence_cypher,
            details=dict(details or {}),
        )

    def contract_dict(self) -> dict[str, Any]:
        """The alert as one ``alerts.jsonl`` object (contract field order)."""
        d = self.model_dump()
        if not d["details"]:
            d.pop("details")
        return d


@dataclass
class DetectContext:
    """What every detector shares for one run: the view, the reference date, parameters.

    Derived facts (§4) are computed once per run and cached here, so detectors that need
    the same definition get the same answer.
    """

    view: GraphView
    ref_date: date
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    pension_ages: Mapping[str, int] = field(default_factory=dict)

    def p(self, detector: str, name: str, default: Any) -> Any:
        """Parameter ``name`` of ``detector`` from config, else ``default``."""
        return self.params.get(detector, {}).get(name, default)

    @cached_property
    def identity_person(self) -> pd.DataFrame:
        return self.view.nodes("Identity", ["id_number", "person_id"])

    @cached_property
    def deaths(self) -> pd.DataFrame:
        return semantics.person_deaths(self.view)

    @cached_property
    def last_traces(self) -> pd.DataFrame:
        return semantics.last_life_trace(self.view, self.ref_date)

    @cached_property
    def benefit_months(self) -> pd.DataFrame:
        return semantics.benefit_months(self.view)


DetectFn = Callable[[GraphView, DetectContext], list[Alert]]


@dataclass(frozen=True)
class DetectorSpec:
    """A registered detector.

    Attributes
    ----------
    name
        Contract detector name.
    fn
        The pure detection function.
    requires
        Contract tables that must have been loaded; otherwise the detector is skipped
        with a message (contract §1).
    version
        Bumped when the logic changes (recorded in run history).
    """

    name: str
    fn: DetectFn
    requires: tuple[str, ...]
    version: str


REGISTRY: dict[str, DetectorSpec] = {}


def register(name: str, *, requires: Sequence[str], version: str = "1") -> Callable[[DetectFn], DetectFn]:
    """Register a detector under its contract name."""
    if name not in DETECTORS:
        raise ValueError(f"{name!r} is not a contract detector name")

    def deco(fn: DetectFn) -> DetectFn:
        REGISTRY[name] = DetectorSpec(name=name, fn=fn, requires=tuple(requires), version=version)
        return fn

    return deco


def sort_alerts(alerts: Sequence[Alert]) -> list[Alert]:
    """Contract order: descending score, then alert_id for a total, deterministic order."""
    return sorted(alerts, key=lambda a: (-a.score, a.alert_id))
