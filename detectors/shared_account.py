"""Detector ``shared_account``: unrelated people tied together by shared accounts, phones, addresses.

The typical case is a pension collector (代领/冒领团伙): several unrelated pensioners whose
pensions are all paid into one or two bank accounts held by one of them or by an organiser,
often with one contact phone for all of them.

Method
------
1. A typed bipartite graph person–identifier: bank accounts (held, via ``HOLDS``, or receiving
   the person's benefits, via ``PAID_TO`` or ``Benefit.account_no``), phones and addresses.
2. Hubs never link anyone: ``agent`` accounts, accounts reached by more than ``account_hub``
   people, phones of more than ``phone_hub`` people, addresses of more than ``address_hub``
   people and institution / collective addresses (养老院, 福利院, 集体户 …, by keyword).
   Addresses of at most ``address_strong_max`` people are strong; larger ones are only shown.
3. Two people are linked when they share at least ``min_shared`` strong identifiers, one of
   them an account or a phone, and are not one family. A family is the people registered at
   one hukou address (a household: spouses keep their own surnames in China, so a shared
   surname is no test on its own, and people sharing surname and hukou are always one family);
   hub and institution hukou addresses (集体户) make no family. An account into which the
   benefits of people from at least ``min_foreign_pensions`` families other than the
   holder's are paid (a collector account) links all of them to its holder.
4. Rings are the connected components of that person graph; a component larger than
   ``max_ring_persons`` is split with seeded Leiden (igraph/leidenalg) until every part fits.
   A ring is alerted when it has at least ``min_ring_persons`` people from at least
   ``min_ring_families`` families, ``min_beneficiaries`` of whom draw benefits.

Members: all ring persons (holder and organiser included), the accounts, phones and addresses
shared by at least two of them. ``amount_at_risk``: everything paid (``PAID_TO`` totals) into
the shared accounts for ring members outside the account holder's family.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, ClassVar

import igraph
import leidenalg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ringwatch.graph.base import GraphView

from . import _identity as idt
from ._common import Params, month_span, tail
from .base import Alert, DetectContext, register
from .evidence import contact_matches, lit_list, query_text

DET = "shared_account"

#: addresses of institutions and collective households never link people
INSTITUTION_PATTERN = (
    r"集体户|集体宿舍|养老|敬老院|福利院|护理院|养护院|护养院|老年公寓|颐养|康养|社会福利|福利中心|"
    r"疗养院|托养|供养|光荣院|救助站|监狱|看守所"
)

T_ACC, T_PHONE, T_ADDR = 0, 1, 2


@dataclass(frozen=True)
class _Params(Params):
    detector: ClassVar[str] = DET
    address_hub: int = 30
    phone_hub: int = 20
    account_hub: int = 30
    address_strong_max: int = 8
    min_shared: int = 2
    min_foreign_pensions: int = 3
    min_ring_persons: int = 3
    min_ring_families: int = 3
    min_beneficiaries: int = 2
    max_ring_persons: int = 50
    seed: int = 42


@dataclass
class _Bipartite:
    """Person–identifier edges with integer codes (persons numbered in sorted id order)."""

    pids: np.ndarray  # person index -> person_id (sorted)
    p: np.ndarray  # edge person index
    i: np.ndarray  # edge identifier code; edges unique, sorted by (i, p)
    keys: np.ndarray  # identifier code -> key (account_no / phone / address_key)
    types: np.ndarray  # identifier code -> T_ACC / T_PHONE / T_ADDR
    deg: np.ndarray  # identifier code -> number of persons
    holder: np.ndarray  # identifier code -> holder person index (accounts; -1 otherwise)
    agent: np.ndarray  # identifier code -> agent account
    institution: np.ndarray  # identifier code -> institution / collective address
    paid: pd.DataFrame  # benefit_id, p, i (account code), total, first_month, last_month
    surname: np.ndarray  # person index -> surname code (-1 unknown)
    hukou: np.ndarray  # person index -> identifier code of the hukou address (-1 unknown)
    has_benefit: np.ndarray  # person index -> draws any benefit


@dataclass
class _PersonGraph:
    """The linked-person graph before ring splitting."""

    bp: _Bipartite
    fam: np.ndarray  # person -> family code (-1 unknown)
    unit: np.ndarray  # person -> family unit (own unit when no family known)
    idf: np.ndarray  # identifier -> rarity weight
    a: np.ndarray  # edge endpoints (person indexes), a < b
    b: np.ndarray
    w: np.ndarray  # edge weights
    foreign_units: dict[int, int]  # account code -> foreign families paid in


@register(DET, requires=("persons", "identities", "accounts"), version="1")
def detect(view: GraphView, ctx: DetectContext) -> list[Alert]:
    """Find rings of unrelated people linked by shared bank accounts, phones and addresses.

    Parameters
    ----------
    view
        Graph frames or a live store.
    ctx
        Run context. Parameters (``ctx.p("shared_account", name, default)``):

        - ``address_hub`` (30): addresses of more people never link anyone.
        - ``phone_hub`` (20): phones of more people never link anyone.
        - ``account_hub`` (30): accounts held by / paying more people never link anyone.
        - ``address_strong_max`` (8): addresses of at most this many people count as strong.
        - ``min_shared`` (2): strong identifiers two people must share to be linked.
        - ``min_foreign_pensions`` (3): families other than the holder's whose benefits are
          paid into one account to make it a collector account.
        - ``min_ring_persons`` (3), ``min_ring_families`` (3), ``min_beneficiaries`` (2):
          smallest ring that is alerted (people, distinct families, people drawing benefits).
        - ``max_ring_persons`` (50): larger components are split by seeded Leiden.
        - ``seed`` (42): Leiden seed.

    Returns
    -------
    list of Alert
        One alert per ring, members ``person``, ``account``, ``phone``, ``address``.
    """
    prm = _Params.from_ctx(ctx)
    pg = _person_graph(view, prm)
    if pg is None or len(pg.a) == 0:
        return []
    bp = pg.bp
    n = len(bp.pids)
    comp = idt.components(n, pg.a, pg.b)
    rings = _rings(comp, pg.a, pg.b, pg.w, prm)
    keep = [
        (m, split)
        for m, split in rings
        if len(np.unique(pg.unit[m])) >= prm.min_ring_families
        and int(bp.has_benefit[m].sum()) >= prm.min_beneficiaries
    ]
    if not keep:
        return []
    comp_sizes = np.bincount(comp)

    # identifiers shared by ≥ 2 people of a ring (hubs, agents and institutions never shown)
    shown = ~(bp.agent | bp.institution) & (bp.deg >= 2) & (bp.deg <= _hub_caps(bp, prm))
    ring_of = np.full(n, -1, dtype=np.int64)
    for r, (members, _) in enumerate(keep):
        ring_of[members] = r
    sel = (ring_of[bp.p] >= 0) & shown[bp.i]
    rk = ring_of[bp.p[sel]] * len(bp.keys) + bp.i[sel]
    uk, cnt = np.unique(rk, return_counts=True)  # ring members only: small
    uk = uk[cnt >= 2]
    shared_by_ring: dict[int, list[int]] = defaultdict(list)
    for r, i in zip((uk // len(bp.keys)).tolist(), (uk % len(bp.keys)).tolist(), strict=True):
        shared_by_ring[r].append(i)
    shared_accs = np.asarray(sorted({i for v in shared_by_ring.values() for i in v if bp.types[i] == T_ACC}))
    paid = bp.paid[np.isin(bp.paid["i"].to_numpy(), shared_accs)]
    paid_by_acc: dict[int, list[tuple[int, float, Any, Any]]] = defaultdict(list)
    for i, p, t, f, la in zip(
        paid["i"].tolist(),
        paid["p"].tolist(),
        paid["total"].tolist(),
        paid["first_month"].tolist(),
        paid["last_month"].tolist(),
        strict=True,
    ):
        paid_by_acc[i].append((p, t, f, la))

    alerts: list[Alert] = []
    for r, (members, split) in enumerate(keep):
        alerts.append(
            _ring_alert(
                pg,
                members,
                shared_by_ring.get(r, []),
                paid_by_acc,
                comp_size=int(comp_sizes[comp[members[0]]]),
                split=split,
            )
        )
    return alerts


# -- building blocks ------------------------------------------------------------------------
def _person_graph(view: GraphView, prm: _Params) -> _PersonGraph | None:
    """Bipartite graph, family units and the linked-person edges (pairs + collector stars)."""
    bp = _bipartite(view)
    n = len(bp.pids)
    if n == 0 or len(bp.p) == 0:
        return None
    hk = np.maximum(bp.hukou, 0)
    household = (bp.hukou >= 0) & ~bp.institution[hk] & (bp.deg[hk] <= prm.address_hub)
    fam = np.where(household, bp.hukou, -1)
    unit = np.where(fam >= 0, fam, -1 - np.arange(n, dtype=np.int64))
    strong = _strong_mask(bp, prm)
    idf = _idf(bp, n)
    pa, pb, pw = _linked_pairs(bp, strong, idf, fam, prm)
    sa, sb, foreign_units = _collector_stars(bp, unit, prm)
    return _PersonGraph(
        bp=bp,
        fam=fam,
        unit=unit,
        idf=idf,
        a=np.concatenate([pa, sa]).astype(np.int64),
        b=np.concatenate([pb, sb]).astype(np.int64),
        w=np.concatenate([pw, np.ones(len(sa))]),
        foreign_units=foreign_units,
    )


def _bipartite(view: GraphView) -> _Bipartite:
    persons = view.nodes("Person", ["person_id", "name"])
    accounts = view.nodes("Account", ["account_no", "person_id", "role"])
    holds = view.rels("HOLDS", ["src", "dst", "role"])
    bens = idt.person_benefits(view)
    paid = view.rels("PAID_TO", ["src", "dst", "total", "first_month", "last_month"])
    phones = view.rels("USES_PHONE", ["src", "dst"])
    lives = view.rels("LIVES_AT", ["src", "dst", "address_type"])
    addr_nodes = view.nodes("Address", ["address_key", "address"])

    # person codes in sorted id order
    (pc_person, pc_acc, pc_hold, pc_ben, pc_phone, pc_lives), pids = idt.factorize(
        [
            idt.obj(persons["person_id"]),
            idt.obj(accounts["person_id"]),
            idt.obj(holds["src"]),
            idt.obj(bens["person_id"]),
            idt.obj(phones["src"]),
            idt.obj(lives["src"]),
        ],
        sort=True,
    )
    n = len(pids)
    # identifier codes (first-appearance order: used for equality only)
    (ac_acc, ac_hold, ac_paid, ac_ben), acc_keys = idt.factorize(
        [
            idt.obj(accounts["account_no"]),
            idt.obj(holds["dst"]),
            idt.obj(paid["dst"]),
            idt.obj(bens["account_no"]),
        ]
    )
    (ph_codes,), ph_keys = idt.factorize([idt.obj(phones["dst"])])
    (ad_lives, ad_nodes), ad_keys = idt.factorize([idt.obj(lives["dst"]), idt.obj(addr_nodes["address_key"])])
    off_ph = len(acc_keys)
    off_ad = off_ph + len(ph_keys)
    keys = np.concatenate([acc_keys, ph_keys, ad_keys]).astype(object)
    types = np.concatenate(
        [
            np.full(len(acc_keys), T_ACC, dtype=np.int8),
            np.full(len(ph_keys), T_PHONE, dtype=np.int8),
            np.full(len(ad_keys), T_ADDR, dtype=np.int8),
        ]
    )

    # benefits → payments into accounts (PAID_TO), else the benefit's declared account
    ben_ids = idt.obj(bens["benefit_id"])
    pos = idt.lookup(ben_ids, idt.obj(paid["src"]))
    ok = pos >= 0
    paid_p = pc_ben[pos[ok]]
    paid_i = ac_paid[ok]
    paid_pairs = pos[ok].astype(np.int64) * (len(acc_keys) + 1) + paid_i
    decl = (ac_ben >= 0) & ~np.isin(np.arange(len(ben_ids)) * (len(acc_keys) + 1) + ac_ben, paid_pairs)
    paid_df = idt.frame(
        {
            "benefit_id": np.concatenate([ben_ids[pos[ok]], ben_ids[decl]]),
            "p": np.concatenate([paid_p, pc_ben[decl]]),
            "i": np.concatenate([paid_i, ac_ben[decl]]),
            "total": np.concatenate(
                [
                    pd.to_numeric(paid["total"], errors="coerce").fillna(0.0).to_numpy(float)[ok],
                    np.zeros(int(decl.sum())),
                ]
            ),
            "first_month": np.concatenate([idt.obj(paid["first_month"])[ok], np.full(int(decl.sum()), None)]),
            "last_month": np.concatenate([idt.obj(paid["last_month"])[ok], np.full(int(decl.sum()), None)]),
        }
    )
    paid_df = paid_df[(paid_df["p"] >= 0) & (paid_df["i"] >= 0)].reset_index(drop=True)

    # all person–identifier edges, unique, sorted by (identifier, person)
    ep = np.concatenate([pc_acc, pc_hold, paid_df["p"].to_numpy(), pc_phone, pc_lives])
    ei = np.concatenate(
        [
            ac_acc,
            ac_hold,
            paid_df["i"].to_numpy(),
            np.where(ph_codes >= 0, ph_codes + off_ph, -1),
            np.where(ad_lives >= 0, ad_lives + off_ad, -1),
        ]
    )
    good = (ep >= 0) & (ei >= 0)
    ek = idt.unique_ints(ei[good].astype(np.int64) * n + ep[good])
    e_i = ek // n
    e_p = ek % n
    deg = np.bincount(e_i, minlength=len(keys))

    # holder of each account: the Account node's person, else the smallest holder in HOLDS
    holder = np.full(len(keys), n, dtype=np.int64)
    hh = (ac_hold >= 0) & (pc_hold >= 0)
    np.minimum.at(holder, ac_hold[hh], pc_hold[hh])
    ha = (ac_acc >= 0) & (pc_acc >= 0)
    holder[ac_acc[ha]] = pc_acc[ha]
    holder[holder == n] = -1

    agent = np.zeros(len(keys), dtype=bool)
    agent[ac_acc[(ac_acc >= 0) & (idt.obj(accounts["role"]) == "agent")]] = True
    agent[ac_hold[(ac_hold >= 0) & (idt.obj(holds["role"]) == "agent")]] = True

    institution = np.zeros(len(keys), dtype=bool)
    text = np.full(len(ad_keys), "", dtype=object)
    has_text = (ad_nodes >= 0) & ~pd.isna(idt.obj(addr_nodes["address"]))
    text[ad_nodes[has_text]] = idt.obj(addr_nodes["address"])[has_text]
    both = pa.array(
        [f"{k}|{t}" for k, t in zip(ad_keys.tolist(), text.tolist(), strict=True)], type=pa.string()
    )
    inst = np.asarray(
        pc.match_substring_regex(both, INSTITUTION_PATTERN).to_numpy(zero_copy_only=False), bool
    )
    institution[off_ad + np.flatnonzero(inst)] = True

    # surname and hukou (smallest hukou address; else smallest address of any type) per person
    surname = np.full(n, -1, dtype=np.int64)
    (sc,), _ = idt.factorize([idt.surnames(idt.obj(persons["name"]))])
    okp = pc_person >= 0
    surname[pc_person[okp]] = sc[okp]
    hukou = _hukou_codes(n, pc_lives, ad_lives, ad_keys, idt.obj(lives["address_type"]))
    hukou = np.where(hukou >= 0, hukou + off_ad, -1)

    has_benefit = np.zeros(n, dtype=bool)
    has_benefit[pc_ben[pc_ben >= 0]] = True
    return _Bipartite(
        pids, e_p, e_i, keys, types, deg, holder, agent, institution, paid_df, surname, hukou, has_benefit
    )


def _hukou_codes(
    n: int, persons: np.ndarray, addrs: np.ndarray, addr_keys: np.ndarray, addr_type: np.ndarray
) -> np.ndarray:
    """Hukou address code per person: the smallest hukou address key, else the smallest of any type."""
    out = np.full(n, -1, dtype=np.int64)
    ok = (persons >= 0) & (addrs >= 0)
    is_hukou = addr_type == "hukou"
    for rows in (ok & ~is_hukou, ok & is_hukou):  # hukou rows last: they win
        p = persons[rows]
        a = addrs[rows]
        if len(p) == 0:
            continue
        multi = np.bincount(p, minlength=n)[p] > 1
        out[p[~multi]] = a[~multi]
        if multi.any():
            pm, am = p[multi], a[multi]
            order = idt.string_order(addr_keys[am])[::-1]  # largest first, so the smallest is written last
            out[pm[order]] = am[order]
    return out


def _hub_caps(bp: _Bipartite, prm: _Params) -> np.ndarray:
    return np.select(
        [bp.types == T_ACC, bp.types == T_PHONE],
        [prm.account_hub, prm.phone_hub],
        default=prm.address_hub,
    )


def _strong_mask(bp: _Bipartite, prm: _Params) -> np.ndarray:
    """Identifiers that may link two people (non-hub, non-agent, non-institution)."""
    cap = np.select(
        [bp.types == T_ACC, bp.types == T_PHONE],
        [prm.account_hub, prm.phone_hub],
        default=min(prm.address_strong_max, prm.address_hub),
    )
    return (bp.deg >= 2) & (bp.deg <= cap) & ~bp.agent & ~bp.institution


def _idf(bp: _Bipartite, n: int) -> np.ndarray:
    """Rarity weight of each identifier in (0, 1]: ``log(n/deg) / log(n)`` (halved for addresses)."""
    deg = np.maximum(bp.deg, 1).astype(float)
    denom = math.log(max(n, 2))
    w = np.log(np.maximum(n / deg, 1.0)) / denom
    w = np.clip(w, 0.05, 1.0)
    return np.where(bp.types == T_ADDR, 0.5 * w, w)


def _linked_pairs(
    bp: _Bipartite, strong: np.ndarray, idf: np.ndarray, fam: np.ndarray, prm: _Params
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Person pairs sharing ≥ ``min_shared`` strong identifiers (≥ 1 account/phone), not family."""
    sel = strong[bp.i]
    ps = bp.p[sel]
    ids = bp.i[sel]  # sorted by (identifier, person)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    pa_l: list[np.ndarray] = []
    pb_l: list[np.ndarray] = []
    pi_l: list[np.ndarray] = []
    k = 1
    while k < len(ps):
        same = ids[:-k] == ids[k:]
        if not same.any():
            break
        pa_l.append(ps[:-k][same])
        pb_l.append(ps[k:][same])
        pi_l.append(ids[:-k][same])
        k += 1
    if not pa_l:
        return empty
    n = len(bp.pids)
    pa_ = np.concatenate(pa_l)
    pb_ = np.concatenate(pb_l)
    ii = np.concatenate(pi_l)
    uk, inv = np.unique(pa_ * n + pb_, return_inverse=True)
    n_strong = np.bincount(inv, minlength=len(uk))
    n_ap = np.bincount(inv, weights=(bp.types[ii] != T_ADDR).astype(float), minlength=len(uk))
    weight = np.bincount(inv, weights=idf[ii], minlength=len(uk))
    a = uk // n
    b = uk % n
    family = (fam[a] >= 0) & (fam[a] == fam[b])
    keep = (n_strong >= prm.min_shared) & (n_ap >= 1) & ~family
    return a[keep], b[keep], weight[keep]


def _collector_stars(
    bp: _Bipartite, unit: np.ndarray, prm: _Params
) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """Accounts receiving benefits of ≥ ``min_foreign_pensions`` families other than the holder's.

    Returns star edges (holder – each beneficiary) and, for every account, the number of
    such foreign families.
    """
    paid = bp.paid[["p", "i"]].drop_duplicates()
    p = paid["p"].to_numpy(dtype=np.int64)
    i = paid["i"].to_numpy(dtype=np.int64)
    cap_ok = (~bp.agent) & (bp.deg <= prm.account_hub)
    keep = cap_ok[i]
    p, i = p[keep], i[keep]
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    if len(p) == 0:
        return *empty, {}
    h = bp.holder[i]
    hunit = np.where(h >= 0, unit[np.maximum(h, 0)], np.iinfo(np.int64).min)
    foreign = (p != h) & (unit[p] != hunit)
    f = pd.DataFrame({"i": i[foreign], "u": unit[p[foreign]]}).drop_duplicates()
    counts = f.groupby("i")["u"].size()
    foreign_units = {idt.key_int(k): int(v) for k, v in counts.items()}
    coll = counts[counts >= prm.min_foreign_pensions].index.to_numpy()
    if len(coll) == 0:
        return *empty, foreign_units
    sel = np.isin(i, coll)
    sp, si = p[sel], i[sel]
    order = np.lexsort((sp, si))
    sp, si = sp[order], si[order]
    first = np.minimum.reduceat(sp, np.flatnonzero(np.r_[True, si[1:] != si[:-1]]))
    first_of = dict(zip(np.unique(si).tolist(), first.tolist(), strict=True))
    centre = bp.holder[si]
    centre = np.where(centre >= 0, centre, np.asarray([first_of[x] for x in si.tolist()], dtype=np.int64))
    keep2 = sp != centre
    a = np.minimum(centre[keep2], sp[keep2]).astype(np.int64)
    b = np.maximum(centre[keep2], sp[keep2]).astype(np.int64)
    return a, b, foreign_units


def _rings(
    comp: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray, prm: _Params
) -> list[tuple[np.ndarray, bool]]:
    """Candidate rings: components with ≥ ``min_ring_persons``; big ones split by Leiden.

    Returns (sorted member person indexes, was split) per ring, in a deterministic order.
    """
    sizes = np.bincount(comp)
    big = np.flatnonzero(sizes >= prm.min_ring_persons)
    if len(big) == 0:
        return []
    order = np.argsort(comp, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    out: list[tuple[np.ndarray, bool]] = []
    oversize = set(big[sizes[big] > prm.max_ring_persons].tolist())
    edges_by_comp: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    if oversize:
        ec = comp[a]
        sel = np.isin(ec, list(oversize))
        for c in sorted(oversize):
            s = sel & (ec == c)
            edges_by_comp[c] = (a[s], b[s], w[s])
    for c in big.tolist():
        members = np.sort(order[starts[c] : starts[c + 1]])
        if c not in oversize:
            out.append((members, False))
            continue
        ea, eb, ew = edges_by_comp[c]
        for part in _split(members, ea, eb, ew, prm.max_ring_persons, prm.seed):
            if len(part) >= prm.min_ring_persons:
                out.append((part, True))
    return out


def _split(
    members: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray, max_size: int, seed: int, depth: int = 0
) -> list[np.ndarray]:
    """Split a component with seeded Leiden (higher resolution each round) until parts fit."""
    local = np.full(int(members.max()) + 1, -1, dtype=np.int64)
    local[members] = np.arange(len(members))
    la = local[np.minimum(a, len(local) - 1)]
    lb = local[np.minimum(b, len(local) - 1)]
    keep = (a < len(local)) & (b < len(local)) & (la >= 0) & (lb >= 0)
    pair = (
        pd.DataFrame({"a": la[keep], "b": lb[keep], "w": w[keep]}).groupby(["a", "b"], sort=True)["w"].sum()
    )
    ea = pair.index.get_level_values(0).to_numpy().tolist()
    eb = pair.index.get_level_values(1).to_numpy().tolist()
    g = igraph.Graph(n=len(members), edges=list(zip(ea, eb, strict=True)))
    g.es["weight"] = pair.to_numpy(dtype=float).tolist()
    part = leidenalg.find_partition(
        g,
        leidenalg.RBConfigurationVertexPartition,
        weights="weight",
        resolution_parameter=float(2**depth),
        seed=seed,
        n_iterations=-1,
    )
    groups = [np.sort(members[np.asarray(c, dtype=np.int64)]) for c in part if len(c)]
    out: list[np.ndarray] = []
    for grp in groups:
        if len(grp) <= max_size:
            out.append(grp)
        elif depth >= 6 or (len(groups) == 1 and depth >= 3):
            out.extend(grp[k : k + max_size] for k in range(0, len(grp), max_size))
        else:
            out.extend(_split(grp, a, b, w, max_size, seed, depth + 1))
    return sorted(out, key=lambda x: int(x[0]))


# -- one alert ----------------------------------------------------------------------------------
def _ring_alert(
    pg: _PersonGraph,
    members: np.ndarray,
    shared: list[int],
    paid_by_acc: dict[int, list[tuple[int, float, Any, Any]]],
    *,
    comp_size: int,
    split: bool,
) -> Alert:
    bp = pg.bp
    shared = sorted(shared, key=lambda i: (int(bp.types[i]), str(bp.keys[i])))
    accs = [i for i in shared if bp.types[i] == T_ACC]
    phones = [i for i in shared if bp.types[i] == T_PHONE]
    addrs = [i for i in shared if bp.types[i] == T_ADDR]
    member_set = set(members.tolist())
    person_ids = [str(bp.pids[p]) for p in members]

    # money into shared accounts for people other than the holder
    amount = 0.0
    months: list[str] = []
    paid_to_other: set[int] = set()
    acc_facts: list[dict[str, Any]] = []
    for i in accs:
        h = int(bp.holder[i])
        h_unit = int(pg.unit[h]) if h >= 0 else None
        # benefits of ring members outside the holder's family (a spouse's pension is not in doubt)
        other = [
            x
            for x in paid_by_acc.get(i, [])
            if x[0] != h and x[0] in member_set and int(pg.unit[x[0]]) != h_unit
        ]
        total_i = float(sum(x[1] for x in other))
        n_ben = len({x[0] for x in other})
        paid_to_other.update(x[0] for x in other)
        months += [m for x in other for m in (x[2], x[3]) if isinstance(m, str) and m]
        amount += total_i
        acc_facts.append(
            {
                "account_no": str(bp.keys[i]),
                "holder_person_id": str(bp.pids[h]) if h >= 0 else None,
                "holder_in_ring": h in member_set,
                "beneficiaries_other_than_holder": n_ben,
                "foreign_families_paid_in": pg.foreign_units.get(i, 0),
                "paid_in_for_others": round(total_i, 2),
                "persons_linked": int(bp.deg[i]),
            }
        )
    max_foreign = max((pg.foreign_units.get(i, 0) for i in accs), default=0)
    n_units = len(np.unique(pg.unit[members]))
    sn = bp.surname[members]
    hk = bp.hukou[members]
    n_surnames = len(np.unique(sn[sn >= 0]))
    n_hukou = len(np.unique(hk[hk >= 0]))
    n_ben = int(bp.has_benefit[members].sum())
    mean_idf = float(np.mean(pg.idf[shared])) if shared else 0.0
    phone_max = max((int(bp.deg[i]) for i in phones), default=0)

    score = 25.0
    score += 12.0 * min(max_foreign, 5)
    score += 8.0 if phone_max >= 3 else (4.0 if phones else 0.0)
    score += 3.0 * min(len(accs), 2)
    score += min(10.0, 3.0 * max(0, n_units - 2))
    score += 10.0 * mean_idf
    if amount > 0:
        score += min(5.0, math.log10(1.0 + amount / 1000.0) * 2.5)
    score = min(score, 100.0)

    parts: list[str] = []
    if accs:
        parts.append("银行账户" + "、".join(tail(bp.keys[i]) for i in accs))
    if phones:
        parts.append("手机号" + "、".join(tail(bp.keys[i]) for i in phones))
    if addrs:
        parts.append(f"{len(addrs)}个地址")
    text = (
        f"{len(members)}名人员分属{n_units}个不同家庭（{n_surnames}个姓氏、{n_hukou}个户籍地址），"
        f"却共用{'，'.join(parts) or '多项联系信息'}。"
    )
    if paid_to_other:
        span = month_span(months)
        text += (
            f"其中{len(paid_to_other)}人的待遇打入他人持有的账户"
            f"{'、'.join(tail(bp.keys[i]) for i in accs)}，"
            f"{span + '期间' if span else ''}累计{idt.fmt_yuan(amount)}。"
            "多名非亲属人员的养老金等待遇集中发放到同一账户并共用联系电话，疑似有人集中代领、冒领待遇。"
        )
    else:
        text += "非亲属人员之间共用多项账户、电话或地址，关系异常，需核实是否存在代办、冒领。"
    if split:
        text += f"（该团伙从{comp_size}人的关联网络中按社区划分得出。）"

    members_out: dict[str, list[str]] = {
        "person": person_ids,
        "account": [str(bp.keys[i]) for i in accs],
        "phone": [str(bp.keys[i]) for i in phones],
        "address": [str(bp.keys[i]) for i in addrs],
    }
    details: dict[str, Any] = {
        "n_persons": len(members),
        "n_families": n_units,
        "n_surnames": n_surnames,
        "n_hukou_addresses": n_hukou,
        "n_beneficiaries": n_ben,
        "n_paid_to_others_account": len(paid_to_other),
        "max_foreign_families_per_account": max_foreign,
        "shared_accounts": acc_facts,
        "shared_phones": len(phones),
        "shared_addresses": len(addrs),
        "mean_rarity": round(mean_idf, 4),
        "component_size": comp_size,
        "split_by_leiden": split,
    }
    return Alert.build(
        DET,
        key_members={"person": person_ids, "account": members_out["account"]},
        members=members_out,
        score=score,
        amount_at_risk=amount,
        explanation=text,
        evidence_cypher=evidence_query(members_out),
        details=details,
    )


def evidence_query(members: dict[str, list[str]]) -> str:
    """Read-only Cypher returning the ring: persons, their shared accounts/phones/addresses, benefits paid in."""
    q = [f"MATCH (p:Person) WHERE p.person_id IN {lit_list(members['person'])}"]
    ret = ["p"]
    if members.get("account"):
        accs = lit_list(members["account"])
        q.append(f"OPTIONAL MATCH (p)-[h:HOLDS]->(a:Account) WHERE a.account_no IN {accs}")
        q.append(
            "OPTIONAL MATCH (p)-[hi:HAS_IDENTITY]->(i:Identity)-[rc:RECEIVES]->(b:Benefit)"
            f"-[pt:PAID_TO]->(a2:Account) WHERE a2.account_no IN {accs}"
        )
        ret += ["h", "a", "hi", "i", "rc", "b", "pt", "a2"]
    contacts, contact_vars = contact_matches(members)
    return query_text([*q, *contacts], [*ret, *contact_vars])
