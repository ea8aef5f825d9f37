"""Synthetic 社保 data with planted fraud cases and hard decoys (``ringwatch generate``).

``generate`` writes the 15 contract tables and a truth file (outside the data directory)
listing every planted case and decoy with its key members; ``quality.score`` matches a run's
alerts against that truth (``docs/CASES.md``).
"""

from __future__ import annotations

from .generator import GenerateError, GenerateSummary, default_truth_path, generate

__all__ = ["GenerateError", "GenerateSummary", "default_truth_path", "generate"]
