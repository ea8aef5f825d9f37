"""Split a generated data set into a base extract and a nightly increment (test and benchmark support).

``split_dataset(src, base, inc, full)`` writes three directories of contract CSV files:

* ``base``: what the agency exported first;
* ``inc``: tonight's new and changed rows -- new persons with all their rows, new accounts,
  phones, addresses, claims and activities of existing people, new employers with their
  employments, new benefits of existing identities with their payments, the latest payment
  month of every benefit, deaths of existing persons, and changed rows (a benefit or an
  employment that now has an ``end_date``: ``base`` holds the earlier version without it);
* ``full``: what a full reload after tonight sees: the ``base`` rows that no ``inc`` row
  replaces (same contract key, or the same merge key for tables without a key), then the
  ``inc`` rows.

Loading ``base`` then ``inc`` (upsert) must give the same graph as loading ``full``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ringwatch.contract import TABLE_ORDER
from ringwatch.semantics import address_keys


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


def _write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _occurrence_key(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    """Row content plus how many identical rows came before it in the file."""
    base = frame[cols].agg("\x00".join, axis=1) if len(frame) else pd.Series([], dtype=str)
    return base + "\x00" + base.groupby(base).cumcount().astype(str)


#: what makes an ``inc`` row replace a ``base`` row, per table (the loader's merge keys)
MERGE_KEY: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "persons": lambda f: f["person_id"],
    "identities": lambda f: f["id_number"],
    "renumberings": lambda f: f["old_id_number"] + "\x00" + f["new_id_number"],
    "accounts": lambda f: f["account_no"],
    "phones": lambda f: f["person_id"] + "\x00" + f["phone"],
    "addresses": lambda f: (
        f["person_id"] + "\x00" + address_keys(f["address"]).astype(str) + "\x00" + f["address_type"]
    ),
    "employers": lambda f: f["employer_id"],
    "employments": lambda f: f["id_number"] + "\x00" + f["employer_id"] + "\x00" + f["start_date"],
    "benefits": lambda f: f["benefit_id"],
    "payments": lambda f: f["payment_id"],
    "hospitals": lambda f: f["hospital_id"],
    "doctors": lambda f: f["doctor_id"],
    "claims": lambda f: f["claim_id"],
    "deaths": lambda f: f["id_number"] + "\x00" + f["death_date"] + "\x00" + f["source"],
    "activities": lambda f: _occurrence_key(f, ["id_number", "date", "source", "kind"]),
}


def split_dataset(
    src: Path, base: Path, inc: Path, full: Path | None = None, *, fraction: float = 0.05, seed: int = 1
) -> dict[str, tuple[int, int]]:
    """Write ``base``, ``inc`` (and ``full``) from the CSV data set in ``src``.

    ``fraction`` of the persons are new tonight, and about ``fraction`` of the other rows of
    each growing table arrive tonight. Returns ``{table: (base rows, inc rows)}``.
    """
    rng = np.random.default_rng(seed)
    t = {name: _read(src / f"{name}.csv") for name in TABLE_ORDER if (src / f"{name}.csv").is_file()}

    def pick(n: int, share: float) -> np.ndarray:
        return rng.random(n) < share

    persons = t["persons"]
    new_people = set(persons.loc[pick(len(persons), fraction), "person_id"])
    ids = t["identities"]
    new_ids = set(ids.loc[ids["person_id"].isin(new_people), "id_number"])
    listed = set(ids["id_number"])
    to_inc: dict[str, np.ndarray] = {}
    base_version: dict[str, pd.DataFrame] = {}  # earlier versions of changed rows

    to_inc["persons"] = persons["person_id"].isin(new_people).to_numpy()
    to_inc["identities"] = ids["id_number"].isin(new_ids).to_numpy()
    if "renumberings" in t:
        ren = t["renumberings"]
        inc_ids = set(new_ids)
        moved = np.zeros(len(ren), dtype=bool)
        while True:  # rows chained to a new identity through unlisted numbers move with it
            now = (ren["old_id_number"].isin(inc_ids) | ren["new_id_number"].isin(inc_ids)).to_numpy()
            if (now == moved).all():
                break
            moved = now
            inc_ids |= set(ren.loc[moved, "old_id_number"]) | set(ren.loc[moved, "new_id_number"])
        both_listed = (ren["old_id_number"].isin(listed) & ren["new_id_number"].isin(listed)).to_numpy()
        to_inc["renumberings"] = moved | (both_listed & pick(len(ren), fraction))
    for name in ("accounts", "phones", "addresses"):
        if name in t:
            f = t[name]
            to_inc[name] = f["person_id"].isin(new_people).to_numpy() | pick(len(f), fraction)
    new_employers: set[str] = set()
    if "employers" in t:
        emp = t["employers"]
        to_inc["employers"] = pick(len(emp), fraction)
        new_employers = set(emp.loc[to_inc["employers"], "employer_id"])
    if "employments" in t:
        f = t["employments"]
        new = f["id_number"].isin(new_ids).to_numpy() | f["employer_id"].isin(new_employers).to_numpy()
        changed = ~new & (f["end_date"] != "").to_numpy() & pick(len(f), min(1.0, 5 * fraction))
        to_inc["employments"] = new | changed | pick(len(f), fraction)
        base_version["employments"] = f[changed].assign(end_date="")
    new_benefits: set[str] = set()
    if "benefits" in t:
        f = t["benefits"]
        new = f["id_number"].isin(new_ids).to_numpy() | pick(len(f), fraction)
        changed = ~new & (f["end_date"] != "").to_numpy() & pick(len(f), min(1.0, 5 * fraction))
        to_inc["benefits"] = new | changed
        base_version["benefits"] = f[changed].assign(end_date="")
        new_benefits = set(f.loc[new, "benefit_id"])
    if "payments" in t:
        f = t["payments"]
        last = f["month"].max()
        to_inc["payments"] = (f["benefit_id"].isin(new_benefits) | (f["month"] == last)).to_numpy()
    for name, col in (("claims", "id_number"), ("activities", "id_number")):
        if name in t:
            f = t[name]
            to_inc[name] = f[col].isin(new_ids).to_numpy() | pick(len(f), fraction)
    if "deaths" in t:
        f = t["deaths"]
        to_inc["deaths"] = f["id_number"].isin(new_ids).to_numpy() | pick(len(f), 0.3)

    counts: dict[str, tuple[int, int]] = {}
    for d in (base, inc, *([full] if full is not None else [])):
        d.mkdir(parents=True, exist_ok=True)
    for name, frame in t.items():
        mask = to_inc.get(name, np.zeros(len(frame), dtype=bool))
        b = frame[~mask]
        if name in base_version and len(base_version[name]):
            b = pd.concat([b, base_version[name]]).sort_index(kind="stable")
        i = frame[mask]
        if len(i) or name not in ("persons", "identities"):
            _write(i, inc / f"{name}.csv")
        _write(b, base / f"{name}.csv")
        if full is not None:
            key = MERGE_KEY[name]
            b_keys = key(b) if len(b) else pd.Series([], dtype=str)
            i_keys = set(key(i)) if len(i) else set()
            kept = b[~b_keys.isin(i_keys).to_numpy()] if len(b) else b
            _write(pd.concat([kept, i], ignore_index=True), full / f"{name}.csv")
        counts[name] = (len(b), len(i))
    return counts
