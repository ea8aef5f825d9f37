"""Persons, households and institutions of the background population.

Families share a hukou address (one household = one hukou address); the father's surname
goes to his children, spouses keep their own. Institutions are households too: nursing homes
(养老院, residents with their own pensions), collective hukou addresses (集体户, hundreds of
unrelated people) and welfare institutions whose residents' pensions go to an ``agent``
account of the institution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import vocab
from .world import (
    ADDR_COLLECTIVE,
    ADDR_HOME,
    ADDR_NURSING,
    ADDR_WELFARE,
    AGENT,
    BACKGROUND_FLAGS,
    DAYS_PER_YEAR,
    FEMALE,
    FORCE_PENSION,
    ID18,
    MALE,
    RESIDENCE,
    ROLE_CHILD,
    ROLE_GRANDMA,
    ROLE_GRANDPA,
    ROLE_HEAD,
    ROLE_RESIDENT,
    ROLE_SINGLE,
    ROLE_WIFE,
    IntArray,
    World,
    days,
    uniform_dates,
    years_back,
)

_SURNAME_P = np.array([w for _, w in vocab.SURNAMES], dtype=np.float64)
_SURNAME_P /= _SURNAME_P.sum()
_REGION_P = np.array([r.weight for r in vocab.REGIONS], dtype=np.float64)
_REGION_P /= _REGION_P.sum()


def _zipf(n: int, s: float = 1.0) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


_GIVEN_P = {k: _zipf(len(v)) for k, v in vocab.GIVEN_POOLS.items()}


def pick_surnames(rng: np.random.Generator, n: int) -> IntArray:
    """Surname indices weighted like the real distribution."""
    return rng.choice(len(vocab.SURNAMES), size=n, p=_SURNAME_P).astype(np.int64)


def distinct_surnames(rng: np.random.Generator, n: int) -> IntArray:
    """``n`` different surnames (weighted, without replacement)."""
    return rng.choice(len(vocab.SURNAMES), size=n, replace=False, p=_SURNAME_P).astype(np.int64)


def pick_regions(rng: np.random.Generator, n: int) -> IntArray:
    """Region indices weighted by population."""
    return rng.choice(len(vocab.REGIONS), size=n, p=_REGION_P).astype(np.int64)


def era_of(birth: np.ndarray) -> np.ndarray:
    """Era index (0 old … 3 kid) of birth dates, for given-name fashion."""
    year = np.asarray(birth, dtype="M8[D]").astype("M8[Y]").astype(np.int64) + 1970
    return np.searchsorted(np.array(vocab.ERA_STARTS), year, side="right")


def pick_given(rng: np.random.Generator, sex: np.ndarray, birth: np.ndarray) -> IntArray:
    """Given-name codes that fit each person's sex and generation.

    A share of names comes whole from the generation's pool of popular names (秀英, 建国,
    子轩 …), the rest is composed of one or two characters.
    """
    sex = np.asarray(sex)
    n = len(sex)
    era = era_of(birth)
    out = np.zeros(n, dtype=np.int64)
    whole = rng.random(n) < np.asarray(vocab.ERA_WHOLE_SHARE)[era]
    single = rng.random(n) < np.asarray(vocab.ERA_SINGLE_SHARE)[era]
    for sv, s in ((MALE, "M"), (FEMALE, "F")):
        first, second = (np.array(x, dtype=np.int64) for x in vocab.COMPOSE_CHARS[s])
        m = ~whole & (sex == sv)
        k = int(m.sum())
        c1 = first[rng.integers(0, len(first), k)]
        c2 = second[rng.integers(0, len(second), k)]
        out[m] = np.where(single[m], c2 * 4096 + vocab.NO_CHAR, c1 * 4096 + c2)
        for ei, e in enumerate(vocab.ERAS):
            mask = whole & (era == ei) & (sex == sv)
            k = int(mask.sum())
            if k:
                pool = np.array(vocab.GIVEN_POOLS[(e, s)], dtype=np.int64)
                out[mask] = pool[rng.choice(len(pool), size=k, p=_GIVEN_P[(e, s)])]
    return out


def new_households(w: World, region: IntArray, kind: int = ADDR_HOME, name: IntArray | int = -1) -> IntArray:
    """New households, each with its own (unique) hukou address."""
    region = np.asarray(region, dtype=np.int64)
    addr = w.address_ents.add(len(region), kind=kind, region=region, name=name)
    return w.households.add(len(region), region=region, address=addr)


def new_address(w: World, region: IntArray, kind: int = ADDR_HOME, name: IntArray | int = -1) -> IntArray:
    """New address entities (unique text) not tied to a household (residence, mailing …)."""
    region = np.asarray(region, dtype=np.int64)
    return w.address_ents.add(len(region), kind=kind, region=region, name=name)


def add_persons(
    w: World,
    rng: np.random.Generator,
    *,
    sex: IntArray,
    birth: np.ndarray,
    region: IntArray,
    household: IntArray,
    role: IntArray | int,
    flags: IntArray | int,
    surname: IntArray | None = None,
    given: IntArray | None = None,
    id_region: IntArray | None = None,
) -> IntArray:
    """Add persons with their primary 18-digit identity; returns person handles.

    ``surname``/``given`` default to random choices; ``id_region`` (the area code in the ID
    number) defaults to the person's region for 90 % and another region for 10 % (born
    elsewhere).
    """
    sex = np.asarray(sex, dtype=np.int64)
    n = len(sex)
    birth = np.asarray(birth, dtype="M8[D]")
    region = np.asarray(region, dtype=np.int64)
    if surname is None:
        surname = pick_surnames(rng, n)
    if given is None:
        given = pick_given(rng, sex, birth)
    if id_region is None:
        id_region = np.where(rng.random(n) < 0.9, region, pick_regions(rng, n))
    h = w.persons.add(
        n,
        sex=sex,
        birth=birth,
        surname=surname,
        given=given,
        region=region,
        household=household,
        role=role,
        cutoff=w.ref,
        flags=flags,
        id_region=id_region,
    )
    ids = w.identities.add(n, person=h, kind=ID18, region=id_region, birth=birth, sex=sex)
    w.persons["identity"][h] = ids
    return h


@dataclass
class Institutions:
    """Background institutions (for the truth file's decoys)."""

    nursing: list[tuple[int, IntArray]] = field(default_factory=list)  # (address, residents)
    collective: list[tuple[int, IntArray]] = field(default_factory=list)
    welfare: list[tuple[int, IntArray, int, int]] = field(default_factory=list)  # (+ holder, agent account)


# household templates: (name, probability)
_TEMPLATES = (
    ("single_young", 0.08),
    ("single_mid", 0.05),
    ("single_old", 0.09),
    ("couple_old", 0.17),
    ("couple_mid", 0.08),
    ("nuclear", 0.38),
    ("three_gen", 0.15),
)


class _Members:
    """Columns of persons being assembled before they are added to the world."""

    def __init__(self) -> None:
        self.hh: list[IntArray] = []
        self.role: list[IntArray] = []
        self.sex: list[IntArray] = []
        self.age: list[np.ndarray] = []
        self.surname: list[IntArray] = []

    def emit(
        self,
        hh: IntArray,
        role: int,
        sex: IntArray | int,
        age: np.ndarray,
        surname: IntArray,
    ) -> None:
        n = len(hh)
        self.hh.append(hh)
        self.role.append(np.full(n, role))
        self.sex.append(np.broadcast_to(np.asarray(sex), (n,)).astype(np.int64))
        self.age.append(np.asarray(age, dtype=np.float64))
        self.surname.append(surname)


def _family_households(w: World, rng: np.random.Generator, n_persons: int) -> None:
    """Ordinary households (singles, couples, nuclear and three-generation families)."""
    names = [t for t, _ in _TEMPLATES]
    probs = np.array([p for _, p in _TEMPLATES])
    n_hh = int(n_persons / 2.4) + 16
    types = rng.choice(len(names), size=n_hh, p=probs / probs.sum())
    m = _Members()
    m_spouse_pairs: list[tuple[IntArray, IntArray]] = []  # (husband slot ids, wife slot ids) per batch
    hh_region = pick_regions(rng, n_hh)
    hh_surname = pick_surnames(rng, n_hh)
    hh_all = np.arange(n_hh)

    def slot() -> int:
        return sum(len(x) for x in m.hh)

    def spouse_age(husband: np.ndarray, lo: float) -> np.ndarray:
        return np.maximum(husband - rng.normal(2.5, 2.5, len(husband)), lo)

    for ti, name in enumerate(names):
        hh = hh_all[types == ti]
        k = len(hh)
        if not k:
            continue
        sur = hh_surname[hh]
        if name.startswith("single"):
            if name == "single_young":
                age = rng.uniform(18, 40, k)
                sex = (rng.random(k) < 0.5).astype(np.int64)
            elif name == "single_mid":
                age = rng.uniform(40, 60, k)
                sex = (rng.random(k) < 0.5).astype(np.int64)
            else:
                age = 60 + 36 * rng.beta(1.3, 2.5, k)
                sex = (rng.random(k) < 0.65).astype(np.int64)
            m.emit(hh, ROLE_SINGLE, sex, age, sur)
            continue
        if name in ("couple_old", "couple_mid"):
            husband = 55 + 38 * rng.beta(1.5, 2.2, k) if name == "couple_old" else rng.uniform(40, 65, k)
            s0 = slot()
            m.emit(hh, ROLE_HEAD, MALE, husband, sur)
            s1 = slot()
            m.emit(
                hh,
                ROLE_WIFE,
                FEMALE,
                spouse_age(husband, 45 if name == "couple_old" else 36),
                pick_surnames(rng, k),
            )
            m_spouse_pairs.append((np.arange(s0, s0 + k), np.arange(s1, s1 + k)))
            continue
        # families with children
        father = rng.uniform(25, 58, k) if name == "nuclear" else rng.uniform(28, 55, k)
        mother = np.maximum(spouse_age(father, 21), 21)
        s0 = slot()
        m.emit(hh, ROLE_HEAD, MALE, father, sur)
        s1 = slot()
        m.emit(hh, ROLE_WIFE, FEMALE, mother, pick_surnames(rng, k))
        m_spouse_pairs.append((np.arange(s0, s0 + k), np.arange(s1, s1 + k)))
        n_kids = 1 + rng.binomial(2 if name == "nuclear" else 1, 0.3 if name == "nuclear" else 0.4, k)
        child = rng.uniform(0, 1, k) * np.minimum(28.0, mother - 20.0)
        for j in range(3):
            ok = (n_kids > j) & (child >= 0)
            if ok.any():
                kid_sur = np.where(
                    rng.random(int(ok.sum())) < 0.95, sur[ok], pick_surnames(rng, int(ok.sum()))
                )
                sex = (rng.random(int(ok.sum())) < 0.48).astype(np.int64)
                m.emit(hh[ok], ROLE_CHILD, sex, child[ok], kid_sur)
            child = child - rng.uniform(1.5, 7.0, k)
        if name == "three_gen":
            gpa = father + rng.uniform(22, 34, k)
            has_gpa = (rng.random(k) < 0.7) & (gpa < 97)
            gma = np.maximum(gpa - rng.normal(2.5, 2.5, k), father + 20)
            has_gma = (rng.random(k) < 0.85) | ~has_gpa
            both = has_gpa & has_gma
            s_gpa = slot()
            m.emit(hh[has_gpa], ROLE_GRANDPA, MALE, gpa[has_gpa], sur[has_gpa])
            s_gma = slot()
            m.emit(hh[has_gma], ROLE_GRANDMA, FEMALE, gma[has_gma], pick_surnames(rng, int(has_gma.sum())))
            # pair grandparents living together
            gpa_slots = np.full(k, -1)
            gpa_slots[has_gpa] = np.arange(s_gpa, s_gpa + int(has_gpa.sum()))
            gma_slots = np.full(k, -1)
            gma_slots[has_gma] = np.arange(s_gma, s_gma + int(has_gma.sum()))
            m_spouse_pairs.append((gpa_slots[both], gma_slots[both]))

    hh_ids = np.concatenate(m.hh)
    sex = np.concatenate(m.sex)
    age = np.concatenate(m.age)
    role = np.concatenate(m.role)
    sur = np.concatenate(m.surname)
    # keep whole households until n_persons is reached (households in random order)
    order = rng.permutation(n_hh)
    rank = np.empty(n_hh, dtype=np.int64)
    rank[order] = np.arange(n_hh)
    by = np.lexsort((np.arange(len(hh_ids)), rank[hh_ids]))
    if len(by) < n_persons:  # pragma: no cover - the template mix makes ~2.8 persons per household
        raise RuntimeError("household templates produced too few persons")
    keep = by[:n_persons]
    # renumber the kept households compactly and create them
    kept_hh, inv = np.unique(hh_ids[keep], return_inverse=True)
    hh_handles = new_households(w, hh_region[kept_hh])
    birth = np.asarray(years_back(w.ref, age[keep] + rng.random(len(keep)) * 0.999), dtype="M8[D]")
    handles = add_persons(
        w,
        rng,
        sex=sex[keep],
        birth=birth,
        region=hh_region[hh_ids[keep]],
        household=hh_handles[inv],
        role=role[keep],
        flags=BACKGROUND_FLAGS,
        surname=sur[keep],
    )
    # spouses
    slot_to_handle = np.full(len(hh_ids), -1, dtype=np.int64)
    slot_to_handle[keep] = handles
    spouse = w.persons["spouse"]
    for a, b in m_spouse_pairs:
        if not len(a):
            continue
        ha, hb = slot_to_handle[a], slot_to_handle[b]
        ok = (ha >= 0) & (hb >= 0)
        spouse[ha[ok]] = hb[ok]
        spouse[hb[ok]] = ha[ok]


def _institution(
    w: World,
    rng: np.random.Generator,
    kind: int,
    size: int,
    age_lo: float,
    age_hi: float,
    male_share: float,
    hukou_share: float,
) -> tuple[int, IntArray, int]:
    """One institution with ``size`` residents; returns (address, residents, region)."""
    region = int(pick_regions(rng, 1)[0])
    names = {
        ADDR_NURSING: vocab.NURSING_HOMES,
        ADDR_COLLECTIVE: vocab.COLLECTIVES,
        ADDR_WELFARE: vocab.WELFARE_INSTITUTIONS,
    }[kind]
    inst_hh = int(new_households(w, np.array([region]), kind=kind, name=int(rng.integers(len(names))))[0])
    inst_addr = int(w.households["address"][inst_hh])
    if kind == ADDR_COLLECTIVE:
        age = np.where(rng.random(size) < 0.9, 18 + 27 * rng.beta(1.5, 2.5, size), rng.uniform(60, 80, size))
    else:
        age = age_lo + (age_hi - age_lo) * rng.beta(2.0, 2.0, size)
    sex = (rng.random(size) >= male_share).astype(np.int64)
    at_inst = rng.random(size) < hukou_share
    own_hh = new_households(w, np.full(int((~at_inst).sum()), region))
    hh = np.full(size, inst_hh, dtype=np.int64)
    hh[~at_inst] = own_hh
    birth = np.asarray(years_back(w.ref, age + rng.random(size)), dtype="M8[D]")
    flags = BACKGROUND_FLAGS | (FORCE_PENSION if kind == ADDR_WELFARE else 0)
    residents = add_persons(
        w,
        rng,
        sex=sex,
        birth=birth,
        region=np.full(size, region),
        household=hh,
        role=np.where(at_inst, ROLE_RESIDENT, ROLE_SINGLE),
        flags=flags,
    )
    # the institution is also where the others live (residence)
    since = uniform_dates(
        rng, np.maximum(birth + days(18 * DAYS_PER_YEAR), w.ref - days(8 * DAYS_PER_YEAR)), w.ref
    )
    others = residents[~at_inst]
    w.addresses.add(len(others), person=others, address=inst_addr, type=RESIDENCE, since=since[~at_inst])
    return inst_addr, residents, region


def build_population(w: World, n_persons: int, n_total: int) -> Institutions:
    """Background persons: institutions first, then families until ``n_persons`` in all.

    Parameters
    ----------
    n_persons
        Background persons to create.
    n_total
        Total persons of the run (institution counts scale with it).
    """
    rng = w.child_rng("population")
    inst = Institutions()
    cap = max(30, n_total // 25)
    made = 0
    for _ in range(max(1, round(n_total / 30000))):
        size = min(int(rng.integers(150, 301)), cap)
        addr, res, _ = _institution(w, rng, ADDR_NURSING, size, 68, 98, 0.4, 0.3)
        inst.nursing.append((addr, res))
        made += size
    for _ in range(max(1, round(n_total / 30000))):
        size = min(int(rng.integers(200, 501)), cap)
        addr, res, _ = _institution(w, rng, ADDR_COLLECTIVE, size, 18, 45, 0.55, 1.0)
        inst.collective.append((addr, res))
        made += size
    for _ in range(max(2, round(n_total / 25000))):
        size = min(int(rng.integers(20, 61)), cap)
        addr, res, region = _institution(w, rng, ADDR_WELFARE, size, 65, 95, 0.5, 0.6)
        # the institution's staff member holds its agent account
        hh = new_households(w, np.array([region]))
        birth = np.asarray(years_back(w.ref, rng.uniform(35, 58, 1)), dtype="M8[D]")
        holder = add_persons(
            w, rng, sex=np.array([int(rng.random() < 0.5)]), birth=birth, region=np.array([region]), household=hh,
            role=ROLE_SINGLE, flags=BACKGROUND_FLAGS,
        )  # fmt: skip
        h = int(holder[0])
        opened = uniform_dates(
            rng, np.array([w.ref - days(15 * DAYS_PER_YEAR)]), np.array([w.ref - days(400)])
        )
        bank = vocab.AGENT_BANKS[int(rng.integers(len(vocab.AGENT_BANKS)))]
        acc = w.accounts.add1(person=h, bank=bank, opened=opened[0], role=AGENT)
        w.persons["pay_account"][res] = acc
        inst.welfare.append((addr, res, h, acc))
        made += size + 1
    # institution phones (a share of residents give the front desk's number)
    for res in [r for _, r in inst.nursing] + [r for _, r, _, _ in inst.welfare]:
        ph = w.phone_ents.add1(prefix=int(rng.integers(len(vocab.PHONE_PREFIXES))))
        users = res[rng.random(len(res)) < 0.35]
        since = uniform_dates(
            rng, np.full(len(users), w.ref - days(6 * DAYS_PER_YEAR)), np.full(len(users), w.ref)
        )
        w.phones.add(len(users), person=users, phone=ph, since=since)
    _family_households(w, rng, max(0, n_persons - made))
    return inst
