"""``provider_ring``: collusive groups of hospitals/doctors and the patients they cycle (串通住院).

Every claim is a ``TREATED_AT`` edge identity → hospital carrying the doctor, admit date,
diagnosis and amounts. The detector works on *repeat patients* (at least ``min_admissions``
claims) and the providers they use — hospitals and, through ``TREATED_AT.doctor_id``,
doctors.

Candidate rings come from two independent generators:

1. **Leiden communities** (``leidenalg``, seeded) on the provider co-patient projection
   ``P = Bᵀ·diag(w)·B`` of the patient × provider incidence ``B``, each patient weighted
   ``1/(k−1)`` for ``k`` distinct providers (Newman's collaboration weight, so that one
   patient with many providers does not glue everything together). A community's hospitals
   are one candidate.
2. **FRAUDAR-style greedy peeling** (Hooi et al. 2016) of ``B`` with camouflage-resistant
   column weights ``1/log(degree + 5)``: nodes whose weighted degree is within ``(1+ε)`` of the
   average are peeled in batches (Bahmani et al.'s parallel variant of the greedy, vectorised
   with scipy.sparse), the densest snapshot ``f(S)/|S|`` is kept, split into connected
   components, removed, and peeling repeats for up to ``fraudar_blocks`` blocks.

Each candidate's hospitals are then refined to rings (:func:`evaluate`): the patients with
at least ``min_admissions`` claims there; of their claims, those carrying the ring signature
(three of: admission burst, inflated amount, core doctor, core diagnosis code —
:func:`ring_signature`); split into rings by the hospital co-patient graph (two rings in one
community stay apart, :func:`split_rings`); each ring scored on

- **amount**: median ratio of the ring's claim amounts to their hospital's baseline (the
  median of the hospital's other claims; with too few, of other claims at hospitals of the
  same ``level``);
- **doctors**: few doctors handle the ring's claims (effective number ``1/Σp²``);
- **diagnoses**: share of the ring's claims in its top three diagnosis codes;
- **time**: admissions of different ring patients fall within ``window_days`` of each
  other far more often than if spread over the data period (coordinated admission waves);
- **cross**: share of ring patients admitted at two or more ring hospitals;
- **repeats**: admissions per patient.

A big hospital (many patients, diverse diagnoses, ordinary amounts and repeat rates) and
chronic patients of two nearby hospitals (regular visits spread over the period, many
doctors, ordinary amounts) carry no ring signature and score low on amount, doctors and
time; they are not alerted.

One alert per ring: members hospital, doctor, identity (patients), key members the same.
``amount_at_risk`` = ``fund_paid`` of the ring's claims (``amount`` where ``fund_paid`` is empty).

Parameters (``[detectors.provider_ring]``)
-----------------------------------------
min_admissions : int, default 3
    Claims a patient needs at the ring's hospitals.
min_patients : int, default 5
min_hospitals : int, default 2
seed : int, default 42
    Seed for Leiden.
resolution : float, default 1.0
    Leiden resolution (RB configuration model; 1.0 is modularity).
leiden_iterations : int, default 4
min_tie : float, default 1.0
    Projection ties lighter than this are dropped before Leiden (a patient with ``k``
    providers adds ``1/(k−1)`` to each pair of them, so a tie of 1.0 needs several patients).
fraudar_blocks : int, default 6
fraudar_eps : float, default 0.05
min_share : float, default 0.05
    A hospital belongs to the ring when it carries at least this share of the ring's claims
    (and at least two of them).
amount_flag : float, default 1.5
    A claim's amount is inflated at this multiple of its hospital's baseline.
core_min_claims : int, default 5
core_purity : float, default 0.5
core_enrichment : float, default 2.0
    A doctor or diagnosis code is part of a ring's signature with at least ``core_min_claims``
    marked claims making up at least ``core_purity`` of its claims, or marked at least
    ``core_enrichment`` times as often as its hospital's claims (see :func:`ring_signature`).
window_days : int, default 7
amount_ratio_full : float, default 2.0
    Amount ratio to the baseline at which the amount part is full (1.0 gives nothing).
min_score : float, default 60
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import igraph as ig
import leidenalg
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ringwatch.graph.base import GraphView

from ._common import Params, clip01, iso_day, tail4
from .base import Alert, DetectContext, register
from .evidence import lit_list

NAME = "provider_ring"

WEIGHTS = {"amount": 0.30, "time": 0.20, "diagnosis": 0.15, "doctors": 0.15, "cross": 0.10, "repeats": 0.10}


@dataclass(frozen=True)
class _Params(Params):
    detector: ClassVar[str] = NAME
    min_admissions: int = 3
    min_patients: int = 5
    min_hospitals: int = 2
    seed: int = 42
    resolution: float = 1.0
    leiden_iterations: int = 4
    min_tie: float = 1.0
    fraudar_blocks: int = 6
    fraudar_eps: float = 0.05
    min_share: float = 0.05
    amount_flag: float = 1.5
    core_min_claims: float = 5.0
    core_purity: float = 0.5
    core_enrichment: float = 2.0
    window_days: int = 7
    amount_ratio_full: float = 2.0
    min_score: float = 60.0


# -- claims ------------------------------------------------------------------------------------
def claims_frame(view: GraphView) -> pd.DataFrame:
    """All claims with integer day numbers, sorted by claim id.

    Returns
    -------
    DataFrame
        ``claim_id``, ``id_number``, ``hospital_id``, ``doctor_id``, ``day`` (days since
        1970-01-01), ``admit_date``, ``diagnosis_code``, ``amount``, ``paid`` (fund_paid, else
        amount).
    """
    t = view.rels(
        "TREATED_AT",
        ["src", "dst", "claim_id", "doctor_id", "admit_date", "diagnosis_code", "amount", "fund_paid"],
    )
    t = t.dropna(subset=["src", "dst", "admit_date"])
    admit = pd.to_datetime(t["admit_date"])
    amount = pd.to_numeric(t["amount"], errors="coerce").astype(float)
    fund = pd.to_numeric(t["fund_paid"], errors="coerce").astype(float)
    out = pd.DataFrame(
        {
            "claim_id": t["claim_id"].astype(object).to_numpy(),
            "id_number": t["src"].astype(str).to_numpy(),
            "hospital_id": t["dst"].astype(str).to_numpy(),
            "doctor_id": t["doctor_id"].astype(object).where(t["doctor_id"].notna(), None).to_numpy(),
            "day": ((admit - pd.Timestamp("1970-01-01")).dt.days).to_numpy(dtype=np.int64),
            "admit_date": admit.to_numpy(),
            "diagnosis_code": t["diagnosis_code"]
            .astype(object)
            .where(t["diagnosis_code"].notna(), None)
            .to_numpy(),
            "amount": amount.fillna(0.0).to_numpy(),
            "paid": fund.fillna(amount).fillna(0.0).to_numpy(),
        }
    )
    out = out.sort_values("claim_id", kind="mergesort", na_position="last")
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class ClaimIndex:
    """Claims as integer-coded arrays (row-aligned with ``claims``), indexed by hospital and level.

    ``doc`` codes a missing doctor as a per-hospital pseudo-doctor; ``diag`` is -1 when missing.
    """

    claims: pd.DataFrame
    pat: np.ndarray
    pat_names: np.ndarray
    hosp: np.ndarray
    hosp_names: np.ndarray
    doc: np.ndarray
    doc_names: np.ndarray
    diag: np.ndarray
    diag_names: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    by_hospital: dict[str, np.ndarray]
    by_level: dict[str, np.ndarray]
    level_of: dict[str, str]
    span_days: float
    overall_median: float


def _best_disjoint(rings: Sequence[Ring], max_jaccard: float) -> list[Ring]:
    """Rings in the given order, skipping any whose patients overlap a kept ring's by ``max_jaccard`` or more.

    Only kept rings that share a patient can overlap, so each ring is compared with those
    alone (found through a patient -> kept rings index), not with every kept ring.
    """
    chosen: list[Ring] = []
    patients_of: list[set[str]] = []
    rings_of_patient: dict[str, list[int]] = {}
    for r in rings:
        ps = set(r.patients)
        near = {i for p in ps for i in rings_of_patient.get(p, ())}
        if any(len(ps & patients_of[i]) / len(ps | patients_of[i]) >= max_jaccard for i in sorted(near)):
            continue
        for p in ps:
            rings_of_patient.setdefault(p, []).append(len(chosen))
        chosen.append(r)
        patients_of.append(ps)
    return chosen


def index_claims(claims: pd.DataFrame, hospitals: pd.DataFrame) -> ClaimIndex:
    """Integer-code the claims and index them by hospital and by hospital ``level``."""
    lv = (
        hospitals.dropna(subset=["hospital_id"])
        .drop_duplicates("hospital_id")
        .set_index("hospital_id")["level"]
    )
    level_of = {str(h): ("" if pd.isna(v) else str(v)) for h, v in lv.items()}
    levels = claims["hospital_id"].map(level_of).fillna("").to_numpy(dtype=object)
    pat, pat_names = pd.factorize(claims["id_number"], sort=True)
    hosp, hosp_names = pd.factorize(claims["hospital_id"], sort=True)
    doc, doc_names = pd.factorize(claims["doctor_id"], sort=True)  # missing -> -1
    doc = np.where(doc < 0, len(doc_names) + hosp, doc)
    diag, diag_names = pd.factorize(claims["diagnosis_code"], sort=True)
    # claim positions per hospital, ascending: one stable sort instead of a scan per hospital
    order = np.argsort(hosp, kind="stable")
    bounds = np.searchsorted(hosp[order], np.arange(len(hosp_names) + 1))
    by_h = {str(hosp_names[k]): order[bounds[k] : bounds[k + 1]] for k in range(len(hosp_names))}
    by_l = {str(k): np.asarray(ix) for k, ix in pd.Series(levels).groupby(levels, sort=True).indices.items()}
    span = float(claims["day"].max() - claims["day"].min() + 1) if len(claims) else 1.0
    return ClaimIndex(
        claims=claims,
        pat=pat.astype(np.int64),
        pat_names=np.asarray(pat_names, dtype=object),
        hosp=hosp.astype(np.int64),
        hosp_names=np.asarray(hosp_names, dtype=object),
        doc=doc.astype(np.int64),
        doc_names=np.asarray(doc_names, dtype=object),
        diag=diag.astype(np.int64),
        diag_names=np.asarray(diag_names, dtype=object),
        day=claims["day"].to_numpy(dtype=np.int64),
        amount=claims["amount"].to_numpy(dtype=np.float64),
        by_hospital=by_h,
        by_level=by_l,
        level_of=level_of,
        span_days=span,
        overall_median=float(claims["amount"].median()) if len(claims) else 1.0,
    )


def baseline_amounts(
    index: ClaimIndex, hospitals: Sequence[str], exclude: np.ndarray, min_claims: int = 10
) -> dict[str, float]:
    """Hospital-level baseline per hospital, leaving out the candidate's own claims.

    The median claim amount of the hospital's *other* claims; with fewer than ``min_claims``
    of them, the median of other claims at hospitals of the same level; then of all claims.
    """
    amount = index.amount
    out: dict[str, float] = {}
    excluded = np.zeros(len(amount), dtype=bool)
    excluded[exclude] = True
    overall = index.overall_median if index.overall_median > 0 else 1.0
    empty = np.zeros(0, dtype=np.int64)
    for h in hospitals:
        rows = index.by_hospital.get(h, empty)
        rows = rows[~excluded[rows]]
        if len(rows) < min_claims:
            rows = index.by_level.get(index.level_of.get(h, ""), empty)
            rows = rows[~excluded[rows]]
        value = float(np.median(amount[rows])) if len(rows) >= min_claims else overall
        out[h] = value if value > 0 else overall
    return out


@dataclass(frozen=True)
class Incidence:
    """Binary patient × provider incidence of repeat patients.

    ``providers`` are ``"H:<hospital_id>"`` and ``"D:<doctor_id>"`` labels, sorted.
    """

    patients: np.ndarray
    providers: np.ndarray
    matrix: sp.csr_matrix


def incidence(claims: pd.DataFrame, min_admissions: int) -> Incidence:
    """Patient × provider incidence over patients with at least ``min_admissions`` claims."""
    n_claims = claims.groupby("id_number", sort=False)["claim_id"].transform("size")
    rc = claims[n_claims >= min_admissions]
    hp = pd.DataFrame({"p": rc["id_number"], "v": "H:" + rc["hospital_id"]})
    dc = rc[rc["doctor_id"].notna()]
    dp = pd.DataFrame({"p": dc["id_number"], "v": "D:" + dc["doctor_id"].astype(str)})
    pairs = pd.concat([hp, dp], ignore_index=True).drop_duplicates()
    p_codes, patients = pd.factorize(pairs["p"], sort=True)
    v_codes, providers = pd.factorize(pairs["v"], sort=True)
    m = sp.csr_matrix(
        (np.ones(len(pairs), dtype=np.float64), (p_codes, v_codes)), shape=(len(patients), len(providers))
    )
    return Incidence(np.asarray(patients, dtype=object), np.asarray(providers, dtype=object), m)


def provider_projection(inc: Incidence, min_weight: float = 0.0) -> sp.csr_matrix:
    """Provider co-patient projection ``Bᵀ·diag(1/(k−1))·B`` with a zero diagonal.

    Patients with a single provider contribute nothing. Ties lighter than ``min_weight``
    (a few patients who happen to share two providers) are dropped.
    """
    k = np.asarray(inc.matrix.sum(axis=1)).ravel()
    w = np.where(k > 1, 1.0 / np.maximum(k - 1.0, 1.0), 0.0)
    proj = (inc.matrix.T @ sp.diags(w) @ inc.matrix).tocsr()
    proj.setdiag(0.0)
    if min_weight > 0:
        proj.data[proj.data < min_weight] = 0.0
    proj.eliminate_zeros()
    return proj


def projection_graph(proj: sp.csr_matrix) -> ig.Graph:
    """Undirected weighted igraph of a symmetric projection (upper triangle, sorted edges)."""
    upper = sp.triu(proj, k=1).tocoo()
    order = np.lexsort((upper.col, upper.row))
    g = ig.Graph(
        n=proj.shape[0], edges=list(zip(upper.row[order].tolist(), upper.col[order].tolist(), strict=True))
    )
    g.es["weight"] = upper.data[order].astype(float).tolist()
    return g


def leiden_membership(g: ig.Graph, seed: int, resolution: float = 1.0, n_iterations: int = 4) -> np.ndarray:
    """Seeded Leiden partition (RB configuration model, ``resolution`` 1.0 = modularity).

    ``n_iterations`` passes of the optimiser (negative: until it stops improving).
    """
    if g.vcount() == 0:
        return np.zeros(0, dtype=np.int64)
    part = leidenalg.find_partition(
        g,
        leidenalg.RBConfigurationVertexPartition,
        weights="weight",
        resolution_parameter=resolution,
        seed=seed,
        n_iterations=n_iterations,
    )
    return np.asarray(part.membership, dtype=np.int64)


# -- FRAUDAR peeling ------------------------------------------------------------------------------
def fraudar_weights(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Camouflage-resistant column weighting ``1/log(column degree + 5)`` (FRAUDAR)."""
    deg = np.asarray(matrix.sum(axis=0)).ravel()
    return (matrix @ sp.diags(1.0 / np.log(deg + 5.0))).tocsr()


def fraudar_peel(w: sp.csr_matrix, eps: float = 0.05) -> tuple[np.ndarray, np.ndarray, float]:
    """Densest block of a weighted bipartite matrix under FRAUDAR's ``f(S)/|S|``.

    Greedy peeling in batches: each round removes every row and column whose weighted
    degree within the remaining block is at most ``(1+eps)`` times the average, and the
    snapshot with the highest density is returned.

    Returns
    -------
    tuple
        ``(row_mask, col_mask, density)`` of the best snapshot.
    """
    nr, nc = w.shape
    wt = w.T.tocsr()
    ar = np.ones(nr, dtype=bool)
    ac = np.ones(nc, dtype=bool)
    best = (ar.copy(), ac.copy(), 0.0)
    while ar.any() or ac.any():
        row_pri = np.where(ar, w @ ac.astype(np.float64), 0.0)
        col_pri = np.where(ac, wt @ ar.astype(np.float64), 0.0)
        f = float(row_pri.sum())
        n = int(ar.sum() + ac.sum())
        density = f / n if n else 0.0
        if density > best[2] + 1e-12:
            best = (ar.copy(), ac.copy(), density)
        if f <= 0:
            break
        thr = (1.0 + eps) * 2.0 * f / n
        drop_r = ar & (row_pri <= thr)
        drop_c = ac & (col_pri <= thr)
        if not drop_r.any() and not drop_c.any():  # numerically impossible; guard anyway
            break
        ar &= ~drop_r
        ac &= ~drop_c
    return best


def block_components(
    w: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Connected components of the bipartite block ``w[rows][:, cols]``, as index arrays.

    Components are returned in order of their smallest row index; isolated nodes are dropped.
    """
    ri = np.flatnonzero(rows)
    ci = np.flatnonzero(cols)
    sub = w[ri][:, ci]
    nr, nc = sub.shape
    adj = (
        sp.bmat([[None, sub], [sub.T, None]], format="csr")
        if nr and nc
        else sp.csr_matrix((nr + nc, nr + nc))
    )
    _, labels = connected_components(adj, directed=False)
    deg = np.asarray(abs(adj).sum(axis=1)).ravel()
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for lab in pd.unique(labels[:nr][deg[:nr] > 0]):
        r = ri[(labels[:nr] == lab) & (deg[:nr] > 0)]
        c = ci[labels[nr:] == lab]
        out.append((r, c))
    return out


def fraudar_blocks(
    inc: Incidence, n_blocks: int, eps: float, min_rows: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to ``n_blocks`` dense blocks (split into components), each removed before the next."""
    w = fraudar_weights(inc.matrix)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    alive = np.ones(w.shape[0], dtype=bool)
    for _ in range(n_blocks):
        cur = (sp.diags(alive.astype(np.float64)) @ w).tocsr()
        cur.eliminate_zeros()
        if cur.nnz == 0:
            break
        rows, cols, _density = fraudar_peel(cur, eps)
        if rows.sum() < min_rows:
            break
        out.extend(block_components(cur, rows, cols))
        alive &= ~rows
    return out


# -- ring evaluation --------------------------------------------------------------------------------
def coadmission_ratio(days: np.ndarray, patients: np.ndarray, window: int, span_days: float) -> float:
    """Observed over expected pairs of *different* patients admitted within ``window`` days.

    The expectation spreads the same admissions uniformly over ``span_days`` (the data period),
    so admission waves give a ratio far above 1 and steady visits a ratio near 1.
    """
    n = len(days)
    if n < 2 or span_days <= 0:
        return 1.0
    d = np.sort(days)
    total = int((np.searchsorted(d, d + window, "right") - np.searchsorted(d, d - window, "left") - 1).sum())
    codes, pat = pd.factorize(pd.Series(patients), sort=False)
    stride = int(d.max() - d.min()) + 2 * window + 2
    key = np.sort(codes.astype(np.int64) * stride + (days - d.min()))
    same = int(
        (np.searchsorted(key, key + window, "right") - np.searchsorted(key, key - window, "left") - 1).sum()
    )
    observed = total - same
    counts = np.bincount(codes)
    pairs = float(n) * n - float((counts.astype(float) ** 2).sum())
    s = max(float(span_days), 1.0)
    p = min(1.0, (2 * window + 1) / s - (window * window + window) / (s * s))
    expected = pairs * max(p, 1e-9)
    if expected <= 0:
        return 1.0
    return observed / expected


@dataclass
class Ring:
    """A refined candidate ring and its features."""

    hospitals: list[str]
    doctors: list[str]
    patients: list[str]
    rows: np.ndarray
    features: dict[str, float]
    parts: dict[str, float]
    score: float
    source: str


def top_counts(values: pd.Series) -> pd.Series:
    """Counts of the non-null values, by descending count then ascending value (deterministic)."""
    v = values.dropna().astype(str).to_numpy(dtype=str)
    if len(v) == 0:
        return pd.Series([], dtype=np.int64)
    uniq, counts = np.unique(v, return_counts=True)
    order = np.lexsort((uniq, -counts))
    return pd.Series(counts[order], index=uniq[order].astype(object))


def burst_counts(days: np.ndarray, patients: np.ndarray, groups: np.ndarray, window: int) -> np.ndarray:
    """Per claim: claims of *other* patients in the same group (hospital) within ``window`` days.

    ``patients`` and ``groups`` are integer codes.
    """
    n = len(days)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    days = np.asarray(days, dtype=np.int64)
    d0 = int(days.min())
    stride = int(days.max()) - d0 + 2 * window + 2
    _, g = np.unique(np.asarray(groups, dtype=np.int64), return_inverse=True)
    _, gp = np.unique(
        g.astype(np.int64) * (int(np.max(patients)) + 1) + np.asarray(patients), return_inverse=True
    )

    def within(codes: np.ndarray) -> np.ndarray:
        key = codes.astype(np.int64) * stride + (days - d0)
        order = np.argsort(key, kind="stable")
        k = key[order]
        out = np.empty(n, dtype=np.int64)
        out[order] = np.searchsorted(k, k + window, "right") - np.searchsorted(k, k - window, "left") - 1
        return out

    return within(g) - within(gp)


def core_mask(
    keys: np.ndarray,
    hosp: np.ndarray,
    weights: np.ndarray,
    min_claims: float,
    purity: float,
    enrichment: float,
) -> np.ndarray:
    """Per row: is its key (a doctor, or a per-hospital code) marked far more than usual?

    A key (integer code, -1 = none) is core with at least ``min_claims`` marked claims that
    are either at least ``purity`` of its claims, or at least ``enrichment`` times the marked
    rate of its hospital.
    """
    out = np.zeros(len(keys), dtype=bool)
    valid = keys >= 0
    if not valid.any():
        return out
    _, h = np.unique(hosp, return_inverse=True)
    h_rate = (np.bincount(h, weights=weights) / np.bincount(h))[h]
    _, k = np.unique(keys[valid], return_inverse=True)
    m = np.bincount(k, weights=weights[valid])
    n = np.bincount(k).astype(np.float64)
    hr = np.bincount(k, weights=h_rate[valid]) / n
    rate = m / n
    ok = (m >= min_claims) & ((rate >= purity) | (rate >= enrichment * hr))
    out[valid] = ok[k]
    return out


def ring_signature(
    rows: np.ndarray, baseline: np.ndarray, index: ClaimIndex, ctx: DetectContext
) -> np.ndarray:
    """Which of the repeaters' claims (``rows`` of the index) carry the ring signature.

    Two marks are read off each claim: an *admission burst* (claims of other patients at the
    same hospital within ``window_days``, at least twice that hospital's steady rate over the
    data period) and an *inflated amount* (``amount_flag`` times its hospital's ``baseline``,
    given per row). A doctor or diagnosis code is *core* when at least ``core_min_claims`` of
    its claims are marked and they are at least ``core_purity`` of its claims or
    ``core_enrichment`` times its hospital's marked rate (codes are judged per hospital: ring
    codes are common codes elsewhere). A claim is ring-like with three of the four marks
    (burst, amount, core doctor, core code); the core is then re-learned from the ring-like
    claims of patients keeping at least ``min_admissions`` of them. Purity and enrichment,
    not shares of the whole group, make this independent of how big the candidate is or how
    many rings it holds.

    Returns
    -------
    numpy.ndarray
        Boolean mask over ``rows``.
    """
    prm = _Params.from_ctx(ctx)
    n = len(rows)
    if n == 0:
        return np.zeros(0, dtype=bool)
    pat = index.pat[rows]
    hosp = index.hosp[rows]
    doc = index.doc[rows]
    diag = index.diag[rows]
    code = np.where(diag >= 0, hosp * (int(index.diag.max()) + 1) + diag, -1)
    amount_hi = index.amount[rows] >= prm.amount_flag * baseline
    others = burst_counts(index.day[rows], pat, hosp, prm.window_days)
    _, h = np.unique(hosp, return_inverse=True)
    per_h = np.bincount(h)[h].astype(np.float64)
    expected = np.maximum(per_h - 1.0, 0.0) * min(1.0, (2 * prm.window_days + 1) / max(index.span_days, 1.0))
    burst = others >= np.maximum(3.0, 2.0 * expected)
    _, p = np.unique(pat, return_inverse=True)
    weights = (burst | amount_hi).astype(np.float64)
    keep = np.zeros(n, dtype=bool)
    for _ in range(2):
        in_doc = core_mask(doc, hosp, weights, prm.core_min_claims, prm.core_purity, prm.core_enrichment)
        in_code = core_mask(code, hosp, weights, prm.core_min_claims, prm.core_purity, prm.core_enrichment)
        like = (in_doc.astype(int) + in_code.astype(int) + burst.astype(int) + amount_hi.astype(int)) >= 3
        keep = like & (np.bincount(p, weights=like.astype(np.float64))[p] >= prm.min_admissions)
        if not keep.any():
            break
        weights = keep.astype(np.float64)
    return keep


def split_rings(
    pat: np.ndarray, hosp: np.ndarray, min_shared: int = 2, min_shared_share: float = 0.2
) -> list[np.ndarray]:
    """Positions (into ``pat``/``hosp``, one per claim) per ring: components of the hospital
    co-patient graph.

    Two hospitals are linked when at least ``min_shared`` patients, and at least
    ``min_shared_share`` of the smaller hospital's patients, have claims at both (so one
    patient with a stray claim elsewhere does not glue two rings together). Each patient
    belongs to the component holding most of their claims (ties: the lower component), and
    only their claims there are kept.
    """
    if len(pat) == 0:
        return []
    _, pcode = np.unique(pat, return_inverse=True)
    _, hcode = np.unique(hosp, return_inverse=True)
    n_p, n_h = int(pcode.max()) + 1, int(hcode.max()) + 1
    counts = sp.csr_matrix((np.ones(len(pat)), (pcode, hcode)), shape=(n_p, n_h))
    b = (counts > 0).astype(np.float64)
    co = (b.T @ b).tocoo()
    size = np.asarray(b.sum(axis=0)).ravel()
    smaller = np.minimum(size[co.row], size[co.col])
    ok = (co.row != co.col) & (co.data >= min_shared) & (co.data >= min_shared_share * smaller)
    link = sp.csr_matrix((np.ones(int(ok.sum())), (co.row[ok], co.col[ok])), shape=(n_h, n_h))
    _, hlabel = connected_components(link, directed=False)
    n_c = int(hlabel.max()) + 1
    per_comp = (counts @ sp.csr_matrix((np.ones(n_h), (np.arange(n_h), hlabel)), shape=(n_h, n_c))).toarray()
    home = per_comp.argmax(axis=1)
    row_comp = hlabel[hcode]
    keep = row_comp == home[pcode]
    out = []
    for c in range(n_c):
        rows = np.flatnonzero(keep & (row_comp == c))
        if len(rows):
            out.append(rows)
    return out


def score_ring(rows: np.ndarray, index: ClaimIndex, ctx: DetectContext, source: str) -> Ring | None:
    """Features and score of one ring's claims (``rows`` of the index); None if too small."""
    prm = _Params.from_ctx(ctx)

    hc, hcount = np.unique(index.hosp[rows], return_counts=True)
    rows = rows[np.isin(index.hosp[rows], hc[hcount >= max(2.0, prm.min_share * len(rows))])]
    _, p, pcount = np.unique(index.pat[rows], return_inverse=True, return_counts=True)
    rows = np.sort(rows[pcount[p] >= prm.min_admissions])
    if len(rows) == 0:
        return None
    pat, hosp, doc, diag = index.pat[rows], index.hosp[rows], index.doc[rows], index.diag[rows]
    patients = sorted(str(x) for x in index.pat_names[np.unique(pat)])
    hospitals = sorted(str(x) for x in index.hosp_names[np.unique(hosp)])
    if len(patients) < prm.min_patients or len(hospitals) < prm.min_hospitals:
        return None
    real = doc < len(index.doc_names)
    dc, dcount = np.unique(doc[real], return_counts=True)
    doctors = sorted(str(x) for x in index.doc_names[dc[dcount >= 2]])
    _, p, adm = np.unique(pat, return_inverse=True, return_counts=True)
    stride = int(hosp.max()) + 1
    n_hosp_per_patient = np.bincount(np.unique(p * stride + hosp) // stride)
    cross = float((n_hosp_per_patient >= 2).mean())
    base = baseline_amounts(index, hospitals, rows)
    base_row = np.array([base[str(x)] for x in index.hosp_names[hosp]], dtype=np.float64)
    ratio = float(np.median(index.amount[rows] / base_row))
    _, gcount = np.unique(diag[diag >= 0], return_counts=True)
    diag_top3 = float(np.sort(gcount)[::-1][:3].sum() / len(rows)) if len(gcount) else 0.0
    share = dcount.astype(float) / max(1.0, float(dcount.sum()))
    n_eff_doc = float(1.0 / (share**2).sum()) if len(share) else float("nan")
    coad = coadmission_ratio(index.day[rows], pat, prm.window_days, index.span_days)
    median_adm = float(np.median(adm))
    features = {
        "n_patients": float(len(patients)),
        "n_hospitals": float(len(hospitals)),
        "n_doctors": float(len(doctors)),
        "n_claims": float(len(rows)),
        "median_admissions": median_adm,
        "cross_share": cross,
        "amount_ratio": ratio,
        "diag_top3_share": diag_top3,
        "effective_doctors": n_eff_doc,
        "coadmission_ratio": coad,
    }
    parts = {
        "amount": clip01((ratio - 1.0) / max(1e-9, prm.amount_ratio_full - 1.0)),
        "time": clip01((math.log2(max(coad, 1e-9)) - 1.0) / 2.0),
        "diagnosis": clip01((diag_top3 - 0.5) / 0.4),
        "doctors": 0.5 if math.isnan(n_eff_doc) else clip01((12.0 - n_eff_doc) / 6.0),
        "cross": clip01(cross / 0.5),
        "repeats": clip01((median_adm - 2.0) / 2.0),
    }
    score = 100.0 * sum(WEIGHTS[k] * parts[k] for k in WEIGHTS)
    return Ring(hospitals, doctors, patients, rows, features, parts, score, source)


def evaluate(hospital_ids: Sequence[str], index: ClaimIndex, ctx: DetectContext, source: str) -> list[Ring]:
    """Rings among the claims at ``hospital_ids``: signature claims, split into rings, scored.

    Patients with at least ``min_admissions`` claims at these hospitals are the repeaters;
    :func:`ring_signature` keeps their ring-like claims, :func:`split_rings` separates rings,
    and each is scored (:func:`score_ring`).
    """
    prm = _Params.from_ctx(ctx)
    idx = [index.by_hospital[h] for h in sorted(set(hospital_ids)) if h in index.by_hospital]
    if len(idx) < prm.min_hospitals:
        return []
    rows = np.sort(np.concatenate(idx))
    _, p, cnt = np.unique(index.pat[rows], return_inverse=True, return_counts=True)
    rows = rows[cnt[p] >= prm.min_admissions]
    if len(np.unique(index.pat[rows])) < prm.min_patients:
        return []
    hcodes = np.unique(index.hosp[rows])
    base = baseline_amounts(index, [str(x) for x in index.hosp_names[hcodes]], rows)
    base_by_code = np.zeros(len(index.hosp_names))
    for hc in hcodes:
        base_by_code[hc] = base[str(index.hosp_names[hc])]
    rows = rows[ring_signature(rows, base_by_code[index.hosp[rows]], index, ctx)]
    if len(np.unique(index.pat[rows])) < prm.min_patients:
        return []
    rings = []
    for part in split_rings(index.pat[rows], index.hosp[rows]):
        ring = score_ring(rows[part], index, ctx, source)
        if ring is not None:
            rings.append(ring)
    return rings


def evidence_cypher(hospitals: list[str], doctors: list[str], patients: list[str]) -> str:
    """Read-only evidence query: the ring's patients, their claims at the ring hospitals, doctors."""
    return (
        "MATCH (i:Identity)-[t:TREATED_AT]->(h:Hospital) "
        f"WHERE i.id_number IN {lit_list(patients)} AND h.hospital_id IN {lit_list(hospitals)} "
        "OPTIONAL MATCH (d:Doctor)-[w:WORKS_AT]->(h) "
        f"WHERE d.doctor_id IN {lit_list(doctors)} "
        "RETURN i, t, h, d, w"
    )


def _explain(
    ring: Ring, window: int, first: str | None, last: str | None, top: list[str], paid: float
) -> str:
    f = ring.features
    return (
        f"{len(ring.hospitals)}家医院（编号尾号{'、'.join(tail4(h) for h in ring.hospitals)}）"
        f"的{len(ring.doctors)}名医生，在{first}至{last}期间为同一批{len(ring.patients)}名参保人"
        f"反复办理住院{int(f['n_claims'])}次（人均{f['median_admissions']:.0f}次，"
        f"{f['cross_share'] * 100:.0f}%的人在两家及以上医院之间轮转住院）；"
        f"入院时间集中（不同病人{window}天内先后入院的频率是均匀分布下的{f['coadmission_ratio']:.1f}倍），"
        f"{f['diag_top3_share'] * 100:.0f}%的住院集中在{'、'.join(top) or '少数'}等诊断，"
        f"单次费用中位数是同级医院的{f['amount_ratio']:.1f}倍，医保基金支付合计{paid:,.2f}元。"
        "疑似医患串通、挂床或虚假住院骗取医保基金。"
    )


@register(NAME, requires=("identities", "hospitals", "claims"), version="1")
def detect(view: GraphView, ctx: DetectContext) -> list[Alert]:
    """Rings of hospitals, doctors and patients with coordinated repeated admissions.

    Parameters
    ----------
    view
        Graph frames or a live store.
    ctx
        Run context (parameters).

    Returns
    -------
    list of Alert
        One alert per ring scoring at least ``min_score``.
    """
    prm = _Params.from_ctx(ctx)

    claims = claims_frame(view)
    if claims.empty:
        return []
    index = index_claims(claims, view.nodes("Hospital", ["hospital_id", "level"]))

    inc = incidence(claims, prm.min_admissions)
    if inc.matrix.nnz == 0:
        return []
    is_h = np.array([p.startswith("H:") for p in inc.providers], dtype=bool)
    hosp_of_provider = np.array([p[2:] for p in inc.providers], dtype=object)

    candidates: list[tuple[str, tuple[str, ...]]] = []
    # 1. Leiden communities on the provider co-patient projection
    proj = provider_projection(inc, prm.min_tie)
    membership = leiden_membership(projection_graph(proj), prm.seed, prm.resolution, prm.leiden_iterations)
    hosp_comm = pd.Series(membership[is_h], index=hosp_of_provider[is_h])
    comm = claims["hospital_id"].map(hosp_comm)
    pc = claims.assign(comm=comm).dropna(subset=["comm"])
    n_pc = pc.groupby(["comm", "id_number"], sort=True)["claim_id"].transform("size")
    pc = pc[n_pc >= prm.min_admissions]
    stats = pc.groupby("comm", sort=True).agg(n_pat=("id_number", "nunique"), n_h=("hospital_id", "nunique"))
    keep = stats[(stats["n_pat"] >= prm.min_patients) & (stats["n_h"] >= prm.min_hospitals)].index
    for c in keep:
        candidates.append(("leiden", tuple(sorted(hosp_comm.index[hosp_comm.to_numpy() == c]))))
    # 2. FRAUDAR dense blocks of the patient x provider incidence
    doctor_hosp = claims.dropna(subset=["doctor_id"]).drop_duplicates(["doctor_id", "hospital_id"])
    pat_code = {str(x): k for k, x in enumerate(index.pat_names)}
    for rows, cols in fraudar_blocks(inc, prm.fraudar_blocks, prm.fraudar_eps, prm.min_patients):
        labels = inc.providers[cols]
        block_h = {str(x)[2:] for x in labels if str(x).startswith("H:")}
        docs = {str(x)[2:] for x in labels if str(x).startswith("D:")}
        block_h |= set(doctor_hosp.loc[doctor_hosp["doctor_id"].isin(docs), "hospital_id"])
        # hospitals where the block's patients actually have claims
        pcodes = np.array([pat_code[str(x)] for x in inc.patients[rows]], dtype=np.int64)
        block_h &= {str(x) for x in index.hosp_names[np.unique(index.hosp[np.isin(index.pat, pcodes)])]}
        if len(block_h) >= prm.min_hospitals:
            candidates.append(("fraudar", tuple(sorted(block_h))))

    seen: set[tuple[str, ...]] = set()
    rings: list[Ring] = []
    for source, hs in candidates:
        if hs in seen:
            continue
        seen.add(hs)
        rings.extend(r for r in evaluate(hs, index, ctx, source) if r.score >= prm.min_score)
    # one alert per ring: overlapping candidates keep the best-scoring version
    rings.sort(key=lambda r: (-r.score, r.hospitals, r.patients))
    chosen = _best_disjoint(rings, 0.3)

    alerts: list[Alert] = []
    for r in chosen:
        rc = index.claims.iloc[r.rows]
        paid = float(rc["paid"].sum())
        first, last = iso_day(rc["admit_date"].min()), iso_day(rc["admit_date"].max())
        top = list(top_counts(rc["diagnosis_code"]).index[:3])
        members = {"hospital": r.hospitals, "doctor": r.doctors, "identity": r.patients}
        details = {
            **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.features.items()},
            "score_parts": {k: round(v, 3) for k, v in r.parts.items()},
            "first_admit": first,
            "last_admit": last,
            "top_diagnoses": top,
            "claim_ids": sorted(str(x) for x in rc["claim_id"].dropna()),
            "found_by": r.source,
        }
        alerts.append(
            Alert.build(
                NAME,
                key_members=members,
                members=members,
                score=r.score,
                amount_at_risk=paid,
                explanation=_explain(r, prm.window_days, first, last, top, paid),
                evidence_cypher=evidence_cypher(r.hospitals, r.doctors, r.patients),
                details=details,
            )
        )
    return alerts
