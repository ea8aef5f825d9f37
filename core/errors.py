"""One exception root for ringwatch.

Every error ringwatch raises on purpose derives from :class:`RingwatchError`; the CLI maps
:class:`InputError` to exit code 2 and every other error to exit code 1 (contract §2).
Messages never contain raw ID numbers, names or phones.
"""

from __future__ import annotations


class RingwatchError(Exception):
    """Root of all ringwatch errors."""

    exit_code: int = 1


class InputError(RingwatchError):
    """Bad input that stops a load: unreadable file, missing required column, bad option.

    Parameters
    ----------
    message
        What was expected, in plain words.
    file, row, column
        Where the problem is (``row`` is the 1-based data row, header excluded), when known.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.message = message
        where = []
        if file is not None:
            where.append(f"file {file}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class ConfigError(InputError):
    """Invalid configuration file or option value (exit code 2)."""


class StoreError(RingwatchError):
    """The graph store failed (connection, schema, query)."""


class ReadOnlyViolation(StoreError):
    """A query sent to a read-only path tried to write or call an admin procedure."""


class LockError(RingwatchError):
    """Another ringwatch run holds the lock on this store or output directory."""


class DetectorError(RingwatchError):
    """A detector failed on the data it was given."""
