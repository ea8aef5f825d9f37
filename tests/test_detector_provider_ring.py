"""provider_ring on a small hand-built claims graph: one planted ring, a big hospital and a
chronic pair (decoys), background patients; plus community and peeling cross-checks."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import community as community_louvain
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from detector_helpers import REF, context, contract_dicts, detect_alerts, evidence_literals, member_ids

from ringwatch.detectors.base import REGISTRY
from ringwatch.detectors.provider_ring import (
    block_components,
    burst_counts,
    claims_frame,
    coadmission_ratio,
    evaluate,
    fraudar_peel,
    fraudar_weights,
    incidence,
    index_claims,
    leiden_membership,
    projection_graph,
    provider_projection,
    split_rings,
)
from ringwatch.graph.base import GraphFrames

START = date(2024, 11, 1)
DAYS = 730  # two years of claims, to 2026-10-31

RING_H = ["H-RING-01", "H-RING-02", "H-RING-03"]
RING_D = ["D-R1-A", "D-R1-B", "D-R2-A", "D-R2-B", "D-R3-A"]
CHRONIC_H = ["H-CHRON-1", "H-CHRON-2"]
BIG_H = "H-BIG-0001"


class World:
    def __init__(self, seed: int = 5) -> None:
        self.rng = random.Random(seed)
        self.hospitals: list[dict[str, Any]] = []
        self.doctors: list[dict[str, Any]] = []
        self.claims: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self.ring_patients: list[str] = []
        self.chronic_patients: list[str] = []

    def hospital(self, hid: str, level: str, n_doctors: int) -> list[str]:
        self.hospitals.append({"hospital_id": hid, "level": level})
        docs = [f"D-{hid}-{k:02d}" for k in range(n_doctors)]
        self.doctors += [{"doctor_id": d, "hospital_id": hid} for d in docs]
        return docs

    def patient(self) -> str:
        idn = f"3301011960{len(self.ids):06d}{len(self.ids) % 10}X"[-18:]
        self.ids.append(idn)
        return idn

    def claim(self, idn: str, hid: str, doc: str | None, day: int, diag: str, amount: float) -> None:
        self.claims.append(
            {
                "src": idn,
                "dst": hid,
                "claim_id": f"C{len(self.claims):06d}",
                "doctor_id": doc,
                "admit_date": (START + timedelta(days=day)).isoformat(),
                "diagnosis_code": diag,
                "amount": round(amount, 2),
                "fund_paid": round(amount * 0.7, 2),
            }
        )

    def frames(self, shuffle_seed: int | None = None) -> GraphFrames:
        hs, ds, cs = list(self.hospitals), list(self.doctors), list(self.claims)
        ident = [{"id_number": i, "person_id": f"P-{i}"} for i in self.ids]
        if shuffle_seed is not None:
            r = random.Random(shuffle_seed)
            for v in (hs, ds, cs, ident):
                r.shuffle(v)
        return GraphFrames.from_records(
            nodes={
                "Hospital": hs,
                "Doctor": ds,
                "Identity": ident,
                "Person": [{"person_id": x["person_id"]} for x in ident],
            },
            rels={
                "TREATED_AT": cs,
                "WORKS_AT": [{"src": d["doctor_id"], "dst": d["hospital_id"]} for d in ds],
            },
        )


DIAGS = [f"{c}{n:02d}.{k}" for c in "ABCDEIJKMN" for n in (10, 20, 30) for k in (0, 1)]


def world(seed: int = 5) -> World:
    w = World(seed)
    rng = w.rng
    # the ring: 3 small hospitals, 5 doctors, 24 patients, 4 admissions each in admission waves
    for h in RING_H:
        bg_docs = w.hospital(h, "一级", 3)
        for _ in range(25):  # ordinary local patients of the small hospital
            p = w.patient()
            for _ in range(rng.choice([1, 1, 2])):
                w.claim(
                    p, h, rng.choice(bg_docs), rng.randrange(DAYS), rng.choice(DIAGS), rng.gauss(3000, 600)
                )
    ring_doc_h = dict(
        zip(RING_D, ["H-RING-01", "H-RING-01", "H-RING-02", "H-RING-02", "H-RING-03"], strict=True)
    )
    w.doctors += [{"doctor_id": d, "hospital_id": h} for d, h in ring_doc_h.items()]
    waves = [100, 250, 400, 560, 690]
    for _ in range(24):
        p = w.patient()
        w.ring_patients.append(p)
        for wave in rng.sample(waves, 4):
            d = rng.choice(RING_D)
            w.claim(
                p,
                ring_doc_h[d],
                d,
                wave + rng.randrange(5),
                rng.choice(["K29.7", "J18.9"]),
                rng.gauss(9500, 900),
            )
    # big hospital decoy: many ordinary patients, diverse diagnoses, normal amounts and repeats
    big_docs = w.hospital(BIG_H, "三级", 25)
    for _ in range(500):
        p = w.patient()
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
            w.claim(
                p, BIG_H, rng.choice(big_docs), rng.randrange(DAYS), rng.choice(DIAGS), rng.gauss(6000, 1500)
            )
    # chronic pair decoy: dialysis every 4 weeks alternating between two nearby hospitals
    chronic_docs = {h: w.hospital(h, "二级", 8) for h in CHRONIC_H}
    for _ in range(15):
        p = w.patient()
        w.chronic_patients.append(p)
        offset = rng.randrange(28)
        for k in range(DAYS // 28):
            h = CHRONIC_H[k % 2]
            w.claim(p, h, rng.choice(chronic_docs[h]), offset + 28 * k, "N18.5", rng.gauss(4200, 300))
    # other small hospitals and their ordinary patients (some visit two of them)
    others = [f"H-OTHER-{k}" for k in range(4)]
    other_docs = {h: w.hospital(h, "二级", 4) for h in others}
    for _ in range(150):
        p = w.patient()
        for _ in range(rng.choice([1, 1, 2, 3])):
            h = rng.choice(others)
            w.claim(
                p, h, rng.choice(other_docs[h]), rng.randrange(DAYS), rng.choice(DIAGS), rng.gauss(4300, 900)
            )
    return w


def run(gf: GraphFrames, **params: Any) -> list[dict[str, Any]]:
    return contract_dicts(detect_alerts("provider_ring", gf, REF, **params))


@pytest.fixture(scope="module")
def w() -> World:
    return world()


@pytest.fixture(scope="module")
def alerts(w: World) -> list[dict[str, Any]]:
    return run(w.frames())


def test_registered() -> None:
    assert {"claims", "hospitals"} <= set(REGISTRY["provider_ring"].requires)


def test_ring_found_decoys_not(w: World, alerts: list[dict[str, Any]]) -> None:
    assert len(alerts) == 1
    a = alerts[0]
    assert a["members"]["hospital"] == sorted(RING_H)
    assert a["members"]["doctor"] == sorted(RING_D)
    assert a["members"]["identity"] == sorted(w.ring_patients)
    flagged = {h for x in alerts for h in x["members"]["hospital"]}
    assert BIG_H not in flagged and not flagged & set(CHRONIC_H)


def test_ring_amount_details_and_explanation(w: World, alerts: list[dict[str, Any]]) -> None:
    a = alerts[0]
    ring = [c for c in w.claims if c["src"] in set(w.ring_patients)]
    assert a["amount_at_risk"] == pytest.approx(sum(c["fund_paid"] for c in ring), abs=0.05)
    d = a["details"]
    assert d["n_patients"] == 24 and d["median_admissions"] == 4
    assert set(d["top_diagnoses"][:2]) == {"K29.7", "J18.9"}
    assert d["amount_ratio"] > 2.5
    assert d["coadmission_ratio"] > 4
    assert a["score"] >= 80 and a["level"] == "red"
    assert "住院" in a["explanation"]
    for p in w.ring_patients:
        assert p not in a["explanation"]


def test_decoys_score_low_when_evaluated_directly(w: World) -> None:
    """The chronic pair and the big hospital are not rings, even evaluated as candidates."""
    gf = w.frames()
    ctx = context(gf, "provider_ring", REF)
    index = index_claims(claims_frame(gf), gf.nodes("Hospital", ["hospital_id", "level"]))
    assert all(r.score < 50 for r in evaluate(CHRONIC_H, index, ctx, "test"))
    (ring,) = evaluate(RING_H, index, ctx, "test")
    assert ring.score >= 80
    assert ring.features["amount_ratio"] > 2.5  # the ring's own claims are left out of the baseline
    assert ring.patients == sorted(w.ring_patients)
    assert all(r.score < 50 for r in evaluate([BIG_H, "H-OTHER-0"], index, ctx, "test"))
    # the ring found inside a candidate that also holds the chronic pair and the big hospital
    mixed = evaluate([*RING_H, *CHRONIC_H, BIG_H], index, ctx, "test")
    assert [r.patients for r in mixed if r.score >= 60] == [sorted(w.ring_patients)]


def test_deterministic_under_shuffled_input(w: World, alerts: list[dict[str, Any]]) -> None:
    for seed in (1, 2):
        assert run(w.frames(shuffle_seed=seed)) == alerts


def test_evidence_cypher_read_only_with_member_literals(alerts: list[dict[str, Any]]) -> None:
    for a in alerts:
        assert evidence_literals(a["evidence_cypher"]) == member_ids(a["members"])


def test_leiden_modularity_not_worse_than_louvain(w: World) -> None:
    claims = claims_frame(w.frames())
    inc = incidence(claims, 3)
    proj = provider_projection(inc)
    g = projection_graph(proj)
    membership = leiden_membership(g, seed=42)
    q_leiden = g.modularity(membership.tolist(), weights="weight")
    nxg = nx.Graph()
    nxg.add_nodes_from(range(g.vcount()))
    nxg.add_weighted_edges_from((e.source, e.target, e["weight"]) for e in g.es)
    part = community_louvain.best_partition(nxg, weight="weight", random_state=42)
    q_louvain = community_louvain.modularity(part, nxg, weight="weight")
    assert q_leiden >= q_louvain - 0.05
    assert q_leiden == pytest.approx(nx.community.modularity(nxg, _groups(membership), weight="weight"))
    # the ring's hospitals end up together
    pos = {p: k for k, p in enumerate(inc.providers)}
    assert len({membership[pos["H:" + h]] for h in RING_H}) == 1


def _groups(membership: np.ndarray) -> list[set[int]]:
    out: dict[int, set[int]] = {}
    for node, c in enumerate(membership.tolist()):
        out.setdefault(c, set()).add(node)
    return list(out.values())


def test_leiden_is_seeded(w: World) -> None:
    g = projection_graph(provider_projection(incidence(claims_frame(w.frames()), 3)))
    assert leiden_membership(g, seed=7).tolist() == leiden_membership(g, seed=7).tolist()


def test_block_components_match_networkx() -> None:
    rng = np.random.default_rng(3)
    m = sp.random(40, 25, density=0.04, random_state=rng, format="csr")
    m.data[:] = 1.0
    rows = np.ones(40, dtype=bool)
    cols = np.ones(25, dtype=bool)
    rows[::7] = False
    comps = block_components(m, rows, cols)
    g = nx.Graph()
    coo = m.tocoo()
    for r, c in zip(coo.row, coo.col, strict=True):
        if rows[r]:
            g.add_edge(("r", int(r)), ("c", int(c)))
    expected = sorted(sorted(x[1] for x in comp if x[0] == "r") for comp in nx.connected_components(g))
    assert sorted(sorted(r.tolist()) for r, _ in comps) == expected
    for r, c in comps:  # every column of a component touches one of its rows
        assert np.all(np.asarray(m[r][:, c].sum(axis=0)).ravel() > 0)


def test_fraudar_recovers_planted_block_despite_camouflage() -> None:
    rng = np.random.default_rng(11)
    n_rows, n_cols = 400, 120
    dense = (rng.random((n_rows, n_cols)) < 0.01).astype(float)
    block_r, block_c = np.arange(20), np.arange(6)
    dense[np.ix_(block_r, block_c)] = (rng.random((20, 6)) < 0.9).astype(float)
    # popular columns used by honest rows, and camouflage: the block's rows also hit them
    popular = np.arange(100, 120)
    dense[:, popular] = np.maximum(dense[:, popular], (rng.random((n_rows, 20)) < 0.05).astype(float))
    dense[np.ix_(block_r, popular)] = np.maximum(
        dense[np.ix_(block_r, popular)], (rng.random((20, 20)) < 0.3).astype(float)
    )
    w = fraudar_weights(sp.csr_matrix(dense))
    rows, cols, density = fraudar_peel(w, eps=0.05)
    got_r = set(np.flatnonzero(rows).tolist())
    got_c = set(np.flatnonzero(cols).tolist())
    assert len(got_r & set(block_r.tolist())) >= 18
    assert set(block_c.tolist()) <= got_c
    assert len(got_r) <= 30
    planted = float(w[block_r][:, block_c].sum()) / (len(block_r) + len(block_c))
    assert density >= planted * 0.95


def test_coadmission_ratio_waves_vs_steady() -> None:
    rng = np.random.default_rng(0)
    steady_days = np.concatenate([np.arange(k, 730, 28) for k in range(20)])
    steady_pat = np.concatenate([np.full(len(np.arange(k, 730, 28)), k) for k in range(20)])
    assert coadmission_ratio(steady_days, steady_pat, 7, 730) < 1.5
    wave_days = np.concatenate([w + rng.integers(0, 5, 20) for w in (100, 300, 500)])
    wave_pat = np.tile(np.arange(20), 3)
    assert coadmission_ratio(wave_days, wave_pat, 7, 730) > 10


def test_burst_counts_match_brute_force() -> None:
    rng = np.random.default_rng(4)
    n = 300
    days = rng.integers(0, 200, n)
    patients = rng.integers(0, 40, n)
    groups = rng.integers(0, 3, n)
    got = burst_counts(days, patients, groups, 5)
    for i in range(n):
        expected = sum(
            1
            for j in range(n)
            if j != i
            and groups[j] == groups[i]
            and patients[j] != patients[i]
            and abs(days[j] - days[i]) <= 5
        )
        assert got[i] == expected


def test_split_rings_ignores_a_single_stray_patient() -> None:
    # ring A: patients 0-9 at hospitals 0/1; ring B: patients 10-19 at hospitals 2/3;
    # patient 3 also has one claim at hospital 2
    pat, hosp = [], []
    for p in range(20):
        hs = (0, 1) if p < 10 else (2, 3)
        for k in range(4):
            pat.append(p)
            hosp.append(hs[k % 2])
    pat.append(3)
    hosp.append(2)
    parts = split_rings(np.array(pat), np.array(hosp))
    groups = sorted(sorted({pat[i] for i in part}) for part in parts)
    assert groups == [list(range(10)), list(range(10, 20))]
    stray = len(pat) - 1
    assert all(stray not in part for part in parts)


def test_two_rings_in_one_candidate_give_two_alerts() -> None:
    w = world(seed=9)
    rng = random.Random(3)
    second_h = ["H-RING2-1", "H-RING2-2"]
    for h in second_h:
        bg_docs = w.hospital(h, "一级", 3)
        for _ in range(25):  # ordinary local patients, as at any small hospital
            p = w.patient()
            w.claim(p, h, rng.choice(bg_docs), rng.randrange(DAYS), rng.choice(DIAGS), rng.gauss(3000, 600))
    docs = {"D-S1": second_h[0], "D-S2": second_h[1], "D-S3": second_h[1]}
    w.doctors += [{"doctor_id": d, "hospital_id": h} for d, h in docs.items()]
    second: list[str] = []
    for _ in range(15):
        p = w.patient()
        second.append(p)
        for wave in rng.sample([150, 320, 480, 610], 3):
            d = rng.choice(sorted(docs))
            w.claim(p, docs[d], d, wave + rng.randrange(4), "I63.9", rng.gauss(11000, 800))
    # one patient of the first ring also shows up once at the second ring's hospital
    w.claim(w.ring_patients[0], second_h[0], "D-S1", 481, "K29.7", 9800.0)
    gf = w.frames()
    ctx = context(gf, "provider_ring", REF)
    index = index_claims(claims_frame(gf), gf.nodes("Hospital", ["hospital_id", "level"]))
    rings = evaluate([*RING_H, *second_h], index, ctx, "test")
    assert sorted(r.patients for r in rings) == sorted([sorted(w.ring_patients), sorted(second)])
    alerts = run(gf)
    assert sorted(a["members"]["identity"] for a in alerts) == sorted(
        [sorted(w.ring_patients), sorted(second)]
    )
