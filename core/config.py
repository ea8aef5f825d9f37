"""Run configuration: ``ringwatch.toml`` (optional) with documented defaults.

Example ``ringwatch.toml``::

    [pension_age]          # statutory pension age (contract §4), by sex
    M = 60
    F = 50

    [detectors.shared_account]   # per-detector thresholds (see each detector's docstring)
    hub_address_cap = 30

    [detectors]
    enabled = ["deceased_payment", "survival_risk"]   # default: all seven

Secrets never live here: Neo4j credentials come only from ``NEO4J_USER`` / ``NEO4J_PASSWORD``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .contract import DEFAULT_PENSION_AGE, DETECTORS
from .errors import ConfigError


class Settings(BaseModel):
    """Validated configuration for one run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pension_age: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_PENSION_AGE))
    enabled: tuple[str, ...] = DETECTORS
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("enabled")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in v if d not in DETECTORS]
        if bad:
            raise ValueError(f"unknown detector names {bad}; known: {list(DETECTORS)}")
        return tuple(d for d in DETECTORS if d in v)

    @field_validator("params")
    @classmethod
    def _known_params(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        bad = [d for d in v if d not in DETECTORS]
        if bad:
            raise ValueError(f"parameters for unknown detectors {bad}")
        return v

    def fingerprint(self) -> str:
        """Short hash of the effective settings (recorded with each run)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def load_settings(path: Path | None) -> Settings:
    """Read ``ringwatch.toml``; ``None`` or a missing default file gives the defaults.

    Raises
    ------
    ConfigError
        The file is not valid TOML or names unknown detectors/keys (exit code 2).
    """
    if path is None:
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError("config file not found", file=str(path)) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML: {e}", file=str(path)) from e
    det = dict(raw.get("detectors", {}))
    enabled = det.pop("enabled", list(DETECTORS))
    data: dict[str, Any] = {"enabled": tuple(enabled), "params": det}
    if "pension_age" in raw:
        data["pension_age"] = {**DEFAULT_PENSION_AGE, **raw["pension_age"]}
    extra = set(raw) - {"detectors", "pension_age", "dashboard"}
    if extra:
        raise ConfigError(f"unknown sections {sorted(extra)}", file=str(path))
    try:
        return Settings(**data)
    except ValidationError as e:
        raise ConfigError(str(e).splitlines()[0] + ": " + str(e.errors()[0]["msg"]), file=str(path)) from e
