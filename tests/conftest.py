"""Shared pytest configuration: real-server tests run only when their server is configured."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("NEO4J_URI"):
        return
    skip = pytest.mark.skip(reason="NEO4J_URI is not set: no Neo4j server to test against")
    for item in items:
        if "neo4j" in item.keywords:
            item.add_marker(skip)
