"""Detectors, one module each, registered under their contract names.

``REGISTRY`` maps each contract detector name to its :class:`DetectorSpec`.
"""

from __future__ import annotations

import importlib

from ringwatch.contract import DETECTORS

from .base import REGISTRY, Alert, DetectContext, DetectorSpec, register, sort_alerts

for _name in DETECTORS:
    importlib.import_module(f"{__name__}.{_name}")

__all__ = ["REGISTRY", "Alert", "DetectContext", "DetectorSpec", "register", "sort_alerts"]
