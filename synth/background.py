"""Background generators: the ordinary life of every person, vectorised.

Each generator touches only persons whose flag allows it (see :mod:`.world`), and never
produces a record dated after the person's ``cutoff`` (the death date for the dead, an old
date for planted "no life trace" cases, the reference date for everyone else). Background
data contain no accidental cases: one pension per person at most, payments stop in the
death month or the next, every living benefit recipient has a life trace within 24 months,
phones/accounts/addresses are shared only inside a household or an institution, no
renumbering other than ``upgrade15``, back-paid contributions of at most 6 months.
"""

from __future__ import annotations

import numpy as np

from . import vocab
from .people import pick_given, pick_regions, pick_surnames
from .world import (
    ADDR_COLLECTIVE,
    ADDR_HOME,
    BG_ACCOUNT,
    BG_ACTIVITIES,
    BG_BENEFIT,
    BG_CLAIMS,
    BG_DEATH,
    BG_EMPLOY,
    BG_LEGACY,
    BG_PHONE,
    BG_RESIDENCE,
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    FEMALE,
    FORCE_PENSION,
    HOLDER,
    HUKOU,
    ID15,
    MAILING,
    MALE,
    NAME_LOCKED,
    NAT,
    PLANTED,
    R_UPGRADE15,
    RESIDENCE,
    ROLE_HEAD,
    ROLE_RESIDENT,
    S_PENSION_EMP,
    S_PENSION_RES,
    S_SURVIVOR,
    S_UNEMPLOYMENT,
    S_WORK_INJURY,
    IntArray,
    World,
    add_years,
    age_years,
    days,
    from_ymd,
    month_last,
    month_ord,
    months_back,
    skewed_dates,
    uniform_dates,
    years_back,
    ymd,
)

_BANK_P = np.array([b[2] for b in vocab.BANKS], dtype=np.float64)
_BANK_P /= _BANK_P.sum()
_ACT_P = np.array([s[1] for s in vocab.ACTIVITY_SOURCES], dtype=np.float64)
_ACT_P /= _ACT_P.sum()
_ACT_KIND0 = np.cumsum([0] + [len(s[2]) for s in vocab.ACTIVITY_SOURCES])[:-1]
_ACT_NKIND = np.array([len(s[2]) for s in vocab.ACTIVITY_SOURCES])
_DEATH_SOURCES_P = np.array([0.35, 0.2, 0.2, 0.2, 0.01, 0.04])
_DEATH_SOURCES_P /= _DEATH_SOURCES_P.sum()
D_1995 = np.datetime64("1995-01-01")
D_2000 = np.datetime64("2000-01-01")


def _has(flags: np.ndarray, bit: int) -> np.ndarray:
    return (flags & bit) != 0


def pension_start(
    rng: np.random.Generator, birth: np.ndarray, sex: np.ndarray, scheme: np.ndarray, ref: np.datetime64
) -> np.ndarray:
    """Pension start dates by the usual rules.

    Employee pension: men at 60, women at 50 (workers) or 55 (cadres, only if already 55);
    resident pension at 60 but not before the scheme (2011–2012). A few months' processing.
    """
    n = len(birth)
    age = age_years(birth, ref)
    woman_age = np.where((age >= 55) & (rng.random(n) < 0.4), 55, 50)
    years = np.where(scheme == S_PENSION_EMP, np.where(sex == MALE, 60, woman_age), 60)
    start = add_years(birth, years)
    resident_floor = np.datetime64("2011-07-01") + days(rng.uniform(0, 540, n))
    start = np.where(scheme == S_PENSION_RES, np.maximum(start, resident_floor), start)
    start = start + days(rng.uniform(0, 3 * DAYS_PER_MONTH, n))
    return np.asarray(from_ymd(*ymd(start)[:2], 1), dtype="M8[D]")  # pensions start on the 1st


def pension_amount(rng: np.random.Generator, scheme: np.ndarray) -> np.ndarray:
    """Monthly amounts: employee ~3,300 yuan, resident ~250 yuan (rounded to cents)."""
    n = len(scheme)
    emp = np.clip(rng.lognormal(np.log(3300), 0.35, n), 1500, 12000)
    res = np.clip(120 + rng.lognormal(np.log(130), 0.5, n), 140, 900)
    other = {
        S_UNEMPLOYMENT: np.clip(rng.normal(1900, 300, n), 1300, 2600),
        S_WORK_INJURY: np.clip(rng.lognormal(np.log(3200), 0.3, n), 1800, 7000),
        S_SURVIVOR: np.clip(rng.normal(1100, 300, n), 500, 2000),
    }
    out = np.where(scheme == S_PENSION_EMP, emp, res)
    for s, v in other.items():
        out = np.where(scheme == s, v, out)
    return np.round(out, 2)


def add_benefits(
    w: World,
    *,
    identity: IntArray,
    scheme: IntArray | int,
    region: IntArray,
    start: np.ndarray,
    end: np.ndarray | None = None,
    account: IntArray | int = -1,
    amount: np.ndarray | None = None,
    pay_to: IntArray | None = None,
    rng: np.random.Generator | None = None,
) -> IntArray:
    """Add benefits paid monthly from the start month to ``pay_to`` (default: end month / open).

    ``account = -1`` means "the recipient's own account", filled in by :func:`accounts`.
    """
    identity = np.asarray(identity, dtype=np.int64)
    n = len(identity)
    scheme_a = np.broadcast_to(np.asarray(scheme, dtype=np.int64), (n,))
    start = np.asarray(start, dtype="M8[D]")
    end_a = np.full(n, NAT) if end is None else np.asarray(end, dtype="M8[D]")
    if amount is None:
        amount = pension_amount(rng or w.rng, scheme_a)
    if pay_to is None:
        pay_to = np.where(np.isnat(end_a), w.end_month, month_ord(end_a))
    return w.benefits.add(
        n,
        identity=identity,
        scheme=scheme_a,
        region=region,
        start=start,
        end=end_a,
        account=account,
        amount=amount,
        pay_from=month_ord(start),
        pay_to=pay_to,
    )


# -- deaths ----------------------------------------------------------------------------------
def deaths(w: World) -> None:
    """About 1 % of background persons died in the last three years (mostly the old)."""
    rng = w.child_rng("deaths")
    p = w.persons
    cand = np.flatnonzero(_has(p["flags"], BG_DEATH))
    age = age_years(p["birth"][cand], w.ref)
    q = np.select(
        [age < 40, age < 60, age < 70, age < 80, age < 90], [0.0004, 0.002, 0.009, 0.025, 0.07], 0.17
    )
    dead = cand[rng.random(len(cand)) < q * 1.7]
    date = uniform_dates(
        rng, np.maximum(p["birth"][dead] + days(1), months_back(w.ref, 36)), np.full(len(dead), w.ref)
    )
    p["death"][dead] = date
    p["cutoff"][dead] = date


def death_rows(w: World) -> None:
    """Deaths table rows for background deaths (a second, later record for 30 %)."""
    rng = w.child_rng("death_rows")
    p = w.persons
    dead = np.flatnonzero(~np.isnat(p["death"]) & _has(p["flags"], BG_DEATH))
    ident = p["identity"][dead].copy()
    # a death recorded under the legacy 15-digit number for some upgraded persons
    legacy = np.full(len(p), -1, dtype=np.int64)
    ids = w.identities
    is15 = np.flatnonzero(ids["kind"] == ID15)
    legacy[ids["person"][is15]] = is15
    old = legacy[dead]
    use_old = (old >= 0) & (rng.random(len(dead)) < 0.15)
    ident[use_old] = old[use_old]
    src = rng.choice(len(_DEATH_SOURCES_P), size=len(dead), p=_DEATH_SOURCES_P)
    w.deaths.add(len(dead), identity=ident, date=p["death"][dead], source=src)
    two = (rng.random(len(dead)) < 0.3) & (p["death"][dead] < w.ref - days(10))
    later = p["death"][dead][two] + days(rng.integers(1, 11, int(two.sum())))
    w.deaths.add(
        int(two.sum()),
        identity=p["identity"][dead][two],
        date=later,
        source=rng.choice([2, 3], int(two.sum())),
    )


# -- benefits -----------------------------------------------------------------------------
def benefits(w: World) -> None:
    """Pensions (~20–25 % of persons), unemployment, work injury and survivor benefits."""
    rng = w.child_rng("benefits")
    p = w.persons
    cand = np.flatnonzero(_has(p["flags"], BG_BENEFIT))
    birth, sex, death = p["birth"][cand], p["sex"][cand], p["death"][cand]
    at = np.where(np.isnat(death), w.ref, death)
    age = age_years(birth, at)
    force = _has(p["flags"][cand], FORCE_PENSION)
    u = rng.random(len(cand))
    old = age >= 60
    women50 = (sex == FEMALE) & (age >= 50) & ~old
    pens = (old & (u < 0.85)) | (women50 & (u < 0.35)) | force
    scheme = np.where(old & (rng.random(len(cand)) >= 0.55) & ~women50, S_PENSION_RES, S_PENSION_EMP)
    start = pension_start(rng, birth, sex, scheme, w.ref)
    pens &= start <= np.minimum(at, w.ref)
    idx = cand[pens]
    _open_or_ended(w, rng, idx, scheme[pens], start[pens])

    # unemployment and work injury for working-age non-pensioners
    work = ~pens & (age >= 20) & (((sex == MALE) & (age < 58)) | ((sex == FEMALE) & (age < 53)))
    un = work & (rng.random(len(cand)) < 0.006)
    s_un = months_back(w.ref, rng.uniform(0, 30, int(un.sum())))
    s_un = from_ymd(*ymd(s_un)[:2], 1)
    ok = s_un < at[un]
    dur = rng.integers(3, 25, int(un.sum()))
    end_un = month_last(month_ord(s_un) + dur - 1)
    end_un = np.where(np.isnat(death[un]), end_un, np.minimum(end_un, death[un]))
    idx_un = cand[un][ok]
    add_benefits(
        w, identity=p["identity"][idx_un], scheme=S_UNEMPLOYMENT, region=p["region"][idx_un], start=s_un[ok],
        end=end_un[ok], rng=rng,
    )  # fmt: skip
    wi = work & ~un & (age >= 25) & (rng.random(len(cand)) < 0.002)
    s_wi = from_ymd(*ymd(years_back(w.ref, rng.uniform(1, 15, int(wi.sum()))))[:2], 1)
    ok = s_wi < at[wi]
    end_wi = np.where(np.isnat(death[wi]), NAT, death[wi])[ok]
    idx_wi = cand[wi][ok]
    _open_or_ended(w, rng, idx_wi, np.full(len(idx_wi), S_WORK_INJURY), s_wi[ok], end_hint=end_wi)

    # survivor benefits for the living spouse of a dead person
    dead = cand[~np.isnat(death)]
    spouse = p["spouse"][dead]
    ok = (spouse >= 0) & (age_years(p["birth"][dead], p["death"][dead]) >= 40)
    dead, spouse = dead[ok], spouse[ok]
    ok = np.isnat(p["death"][spouse]) & _has(p["flags"][spouse], BG_BENEFIT) & (rng.random(len(spouse)) < 0.3)
    dead, spouse = dead[ok], spouse[ok]
    s_sv = month_last(month_ord(p["death"][dead])) + days(1)
    ok = s_sv <= w.ref
    add_benefits(
        w, identity=p["identity"][spouse[ok]], scheme=S_SURVIVOR, region=p["region"][spouse[ok]], start=s_sv[ok],
        rng=rng,
    )  # fmt: skip


def _open_or_ended(
    w: World,
    rng: np.random.Generator,
    idx: IntArray,
    scheme: np.ndarray,
    start: np.ndarray,
    end_hint: np.ndarray | None = None,
) -> None:
    """Benefits that stay open for the living and stop after death with the normal lag.

    The last payment of a dead person is in the death month (60 %) or the month after (40 %),
    never after the reference month; the benefit ends on that month's last day.
    """
    p = w.persons
    death = p["death"][idx]
    dead = ~np.isnat(death)
    last = month_ord(death) + (rng.random(len(idx)) < 0.4)
    last = np.minimum(last, w.end_month)
    end = np.where(dead, month_last(last), NAT)
    pay_to = np.where(dead, last, w.end_month)
    add_benefits(
        w, identity=p["identity"][idx], scheme=scheme, region=p["region"][idx], start=start, end=end, pay_to=pay_to,
        rng=rng,
    )  # fmt: skip


def open_benefit_persons(w: World) -> np.ndarray:
    """Boolean mask over persons: alive and holding a benefit still open at the reference date."""
    b = w.benefits
    open_ = (b["start"] <= w.ref) & (np.isnat(b["end"]) | (b["end"] >= w.ref))
    person = w.identities["person"][b["identity"][open_]]
    mask = np.zeros(len(w.persons), dtype=bool)
    mask[person] = True
    return mask & np.isnat(w.persons["death"])


def medium_traces(w: World) -> None:
    """3 % of living background benefit recipients were last seen 13–22 months ago (grade medium)."""
    rng = w.child_rng("medium")
    p = w.persons
    cand = np.flatnonzero(
        open_benefit_persons(w)
        & ~_has(p["flags"], PLANTED)
        & (p["cutoff"] == w.ref)
        & (p["role"] != ROLE_RESIDENT)
    )
    pick = cand[rng.random(len(cand)) < 0.03]
    p["cutoff"][pick] = months_back(w.ref, rng.uniform(13, 22, len(pick)))


# -- identities --------------------------------------------------------------------------------
def legacy_numbers(w: World) -> None:
    """~5 % of persons old enough for a 1990s card also have a 15-digit number (``upgrade15``)."""
    rng = w.child_rng("legacy")
    p = w.persons
    adult_by_1999 = add_years(p["birth"], 16) <= np.datetime64("1999-06-30")
    cand = np.flatnonzero(_has(p["flags"], BG_LEGACY) & adult_by_1999)
    pick = cand[rng.random(len(cand)) < 0.05]
    primary = p["identity"][pick]
    ids = w.identities
    lo = np.maximum(add_years(p["birth"][pick], 16), np.datetime64("1985-01-01"))
    issued = uniform_dates(rng, lo, np.full(len(pick), np.datetime64("1999-06-30")))
    old = ids.add(
        len(pick), person=pick, kind=ID15, region=ids["region"][primary], birth=ids["birth"][primary],
        sex=ids["sex"][primary], issued=issued, twin=primary,
    )  # fmt: skip
    changed = uniform_dates(
        rng,
        np.maximum(issued + days(30), np.datetime64("1999-10-01")),
        np.full(len(pick), np.datetime64("2008-12-31")),
    )
    changed = np.minimum(changed, p["cutoff"][pick])
    w.renumberings.add(
        len(pick), old=old, new=primary, date=changed, reason=R_UPGRADE15, region=ids["region"][primary]
    )
    # the 18-digit card was issued at the upgrade or renewed since
    ids["issued"][primary] = uniform_dates(rng, changed, np.maximum(changed, p["cutoff"][pick]))


def identity_dates(w: World) -> None:
    """Issue dates of primary ID cards (birth registration for children, last renewal for adults)."""
    rng = w.child_rng("identity_dates")
    ids = w.identities
    todo = np.flatnonzero(np.isnat(ids["issued"]))
    person = ids["person"][todo]
    birth = ids["birth"][todo]
    cutoff = w.persons["cutoff"][person]
    adult_at = add_years(birth, 16)
    child = adult_at > cutoff
    kid_date = birth + days(rng.uniform(0, 90, len(todo)))
    lo = np.maximum(adult_at, years_back(w.ref, 20))
    adult_date = uniform_dates(rng, lo, cutoff)
    ids["issued"][todo] = np.minimum(np.where(child, kid_date, adult_date), np.maximum(cutoff, birth))


# -- addresses, phones, accounts --------------------------------------------------------------
def addresses(w: World) -> None:
    """Hukou address for everyone (their household's), some residence and mailing addresses."""
    rng = w.child_rng("addresses")
    p = w.persons
    n = len(p)
    hh = p["household"]
    birth, cutoff = p["birth"], p["cutoff"]
    child = add_years(birth, 18) > cutoff
    since = skewed_dates(rng, np.maximum(birth, years_back(w.ref, 40)), cutoff)
    since = np.where(child, np.minimum(birth + days(rng.uniform(0, 60, n)), cutoff), since)
    w.addresses.add(n, person=np.arange(n), address=w.households["address"][hh], type=HUKOU, since=since)
    # residence: a quarter of ordinary households live elsewhere, half of collective-hukou members
    hh_kind = w.address_ents["kind"][w.households["address"]]
    hh_res = rng.random(len(w.households)) < 0.25
    allowed = _has(p["flags"], BG_RESIDENCE) & ~child
    is_home = hh_kind[hh] == ADDR_HOME
    fam = np.flatnonzero(allowed & is_home & hh_res[hh])
    res_hh = np.unique(hh[fam])
    addr_of_hh = np.full(len(w.households), -1, dtype=np.int64)
    addr_of_hh[res_hh] = w.address_ents.add(
        len(res_hh), kind=ADDR_HOME, region=w.households["region"][res_hh]
    )
    s = uniform_dates(rng, np.full(len(fam), years_back(w.ref, 10)), cutoff[fam])
    w.addresses.add(len(fam), person=fam, address=addr_of_hh[hh[fam]], type=RESIDENCE, since=s)
    inst_res = np.flatnonzero(allowed & ~is_home & (p["role"] == ROLE_RESIDENT) & (rng.random(n) < 0.5))
    inst_res = inst_res[w.address_ents["kind"][w.households["address"][hh[inst_res]]] == ADDR_COLLECTIVE]
    a = w.address_ents.add(len(inst_res), kind=ADDR_HOME, region=p["region"][inst_res])
    s = uniform_dates(rng, np.full(len(inst_res), years_back(w.ref, 10)), cutoff[inst_res])
    w.addresses.add(len(inst_res), person=inst_res, address=a, type=RESIDENCE, since=s)
    mail = np.flatnonzero(allowed & (rng.random(n) < 0.03))
    a = w.address_ents.add(len(mail), kind=ADDR_HOME, region=p["region"][mail])
    s = uniform_dates(rng, np.full(len(mail), years_back(w.ref, 8)), cutoff[mail])
    w.addresses.add(len(mail), person=mail, address=a, type=MAILING, since=s)


def new_phones(w: World, rng: np.random.Generator, n: int) -> IntArray:
    """``n`` new (unique) phone numbers."""
    return w.phone_ents.add(n, prefix=rng.integers(len(vocab.PHONE_PREFIXES), size=n))


def phones(w: World) -> None:
    """Own mobiles (92 %, 65 % over 80); inside a household others may list the head's phone."""
    rng = w.child_rng("phones")
    p = w.persons
    n = len(p)
    birth, cutoff = p["birth"], p["cutoff"]
    age = age_years(birth, cutoff)
    ok = _has(p["flags"], BG_PHONE) & (age >= 12)
    own = np.flatnonzero(ok & (rng.random(n) < np.where(age >= 80, 0.65, 0.92)))
    ph = new_phones(w, rng, len(own))
    lo = np.maximum(add_years(birth[own], 12), D_2000)
    since = uniform_dates(rng, lo, cutoff[own])
    w.phones.add(len(own), person=own, phone=ph, since=since)
    # household phone: the head's mobile listed for other members
    head_phone = np.full(len(w.households), -1, dtype=np.int64)
    heads = p["role"][own] == ROLE_HEAD
    head_phone[p["household"][own[heads]]] = ph[heads]
    share = rng.random(len(w.households)) < 0.4
    hh = p["household"]
    others = np.flatnonzero(
        _has(p["flags"], BG_PHONE)
        & (p["role"] != ROLE_HEAD)
        & (head_phone[hh] >= 0)
        & share[hh]
        & (rng.random(n) < 0.7)
    )
    since = uniform_dates(rng, np.maximum(birth[others], years_back(w.ref, 10)), cutoff[others])
    w.phones.add(len(others), person=others, phone=head_phone[hh[others]], since=since)


def new_accounts(
    w: World, rng: np.random.Generator, person: IntArray, opened: np.ndarray, role: int = HOLDER
) -> IntArray:
    """New bank accounts (random bank) for persons."""
    person = np.asarray(person, dtype=np.int64)
    bank = rng.choice(len(vocab.BANKS), size=len(person), p=_BANK_P)
    return w.accounts.add(len(person), person=person, bank=bank, opened=opened, role=role)


def accounts(w: World) -> None:
    """Bank accounts: 85 % of adults, everyone who receives a benefit; a second one for 20 %.

    Then fills each benefit's ``account``: the recipient's own account, the institution's
    agent account for welfare residents, and for 15 % of couples who both draw a pension,
    the wife's pension goes to the husband's account.
    """
    rng = w.child_rng("accounts")
    p = w.persons
    n = len(p)
    b = w.benefits
    need = np.zeros(n, dtype=bool)
    todo = np.flatnonzero(b["account"] < 0)
    need[w.identities["person"][b["identity"][todo]]] = True
    need &= p["pay_account"] < 0
    birth, cutoff = p["birth"], p["cutoff"]
    adult = add_years(birth, 16) <= cutoff
    has = _has(p["flags"], BG_ACCOUNT) & ((adult & (rng.random(n) < 0.85)) | need)
    has &= p["account"] < 0
    who = np.flatnonzero(has)
    lo = np.maximum(np.minimum(add_years(birth[who], 16), cutoff[who]), D_1995)
    opened = np.minimum(skewed_dates(rng, lo, cutoff[who]), cutoff[who])
    acc = new_accounts(w, rng, who, opened)
    p["account"][who] = acc
    second = who[adult[who] & (rng.random(len(who)) < 0.2)]
    lo = np.maximum(np.minimum(add_years(birth[second], 16), cutoff[second]), D_1995)
    new_accounts(w, rng, second, np.minimum(uniform_dates(rng, lo, cutoff[second]), cutoff[second]))

    person = w.identities["person"][b["identity"][todo]]
    target = np.where(p["pay_account"][person] >= 0, p["pay_account"][person], p["account"][person])
    # couples: the wife's pension into the husband's account
    pension = b["scheme"][todo] <= S_PENSION_RES
    pens_person = np.zeros(n, dtype=bool)
    pens_person[person[pension]] = True
    husband = p["spouse"][person]
    couple = (
        pension
        & (p["sex"][person] == FEMALE)
        & (husband >= 0)
        & (p["pay_account"][person] < 0)
        & (rng.random(len(todo)) < 0.15)
    )
    hb = np.where(couple, husband, 0)
    couple &= pens_person[hb] & (p["account"][hb] >= 0) & np.isnat(p["death"][hb])
    target = np.where(couple, p["account"][hb], target)
    b["account"][todo] = target


# -- employers and employments -------------------------------------------------------------
def credit_parts(rng: np.random.Generator, n: int) -> tuple[IntArray, IntArray, IntArray]:
    """Random brand, industry and company-form indices for employer names."""
    return (
        rng.integers(len(vocab.BRANDS), size=n),
        rng.integers(len(vocab.INDUSTRIES), size=n),
        rng.integers(len(vocab.COMPANY_FORMS), size=n),
    )


def employers(w: World, n_total: int) -> None:
    """A few hundred legitimate employers (distinct legal representatives from the population)."""
    rng = w.child_rng("employers")
    p = w.persons
    n = max(40, n_total // 400)
    region = pick_regions(rng, n)
    founded = years_back(w.ref, 1 + 34 * rng.beta(1.2, 1.8, n))
    age = age_years(p["birth"], w.ref)
    ok = (
        np.isnat(p["death"])
        & _has(p["flags"], BG_EMPLOY)
        & (age >= 30)
        & (age <= 65)
        & (p["role"] != ROLE_RESIDENT)
        & (w.address_ents["kind"][w.households["address"][p["household"]]] == ADDR_HOME)
    )
    cand = np.flatnonzero(ok)
    reps = rng.choice(cand, size=min(n, len(cand)), replace=False)
    n = len(reps)
    brand, industry, form = credit_parts(rng, n)
    h = w.employers.add(
        n, region=region[:n], founded=founded[:n], legal_rep=p["identity"][reps], brand=brand, industry=industry,
        form=form, shell=False,
    )  # fmt: skip
    w.employers["address_key"][h] = h
    w.bg_employers = h
    w.employer_weight = np.clip(rng.pareto(1.2, n) + 1, 1, 200)


def employments(w: World) -> None:
    """Current jobs (55 % of working-age adults), earlier jobs, and past jobs of employee pensioners."""
    rng = w.child_rng("employments")
    p = w.persons
    e = w.employers
    handles = w.bg_employers
    n_bg = len(handles)
    region_e = e["region"][handles]
    founded = e["founded"]
    weight = w.employer_weight
    n_reg = len(vocab.REGIONS)
    cums = []
    lists = []
    for r in range(n_reg):
        idx = np.flatnonzero(region_e == r)
        if not len(idx):
            idx = np.arange(n_bg)
        lists.append(idx)
        cums.append(np.cumsum(weight[idx]))

    def choose(region: np.ndarray) -> np.ndarray:
        out = np.empty(len(region), dtype=np.int64)
        for r in range(n_reg):
            m = region == r
            k = int(m.sum())
            if k:
                c = cums[r]
                out[m] = lists[r][np.searchsorted(c, rng.random(k) * c[-1], side="right").clip(0, len(c) - 1)]
        return handles[out]

    flags = p["flags"]
    birth, sex, cutoff, death = p["birth"], p["sex"], p["cutoff"], p["death"]
    age = age_years(birth, cutoff)
    working = (
        _has(flags, BG_EMPLOY) & (age >= 18) & (((sex == MALE) & (age < 60)) | ((sex == FEMALE) & (age < 55)))
    )
    working &= p["role"] != ROLE_RESIDENT
    # pensioners are excluded from current jobs
    pensioner = np.zeros(len(p), dtype=bool)
    b = w.benefits
    pens = b["scheme"] <= S_PENSION_RES
    pensioner[w.identities["person"][b["identity"][pens]]] = True
    who = np.flatnonzero(working & ~pensioner & (rng.random(len(p)) < 0.55))
    emp = choose(p["region"][who])
    lo = np.maximum.reduce(
        [add_years(birth[who], 18), founded[emp], years_back(w.ref, 25) + np.zeros(len(who), "m8[D]")]
    )
    start = uniform_dates(rng, lo, np.minimum(cutoff[who], w.ref - days(20)))
    ok = start >= lo
    who, emp, start = who[ok], emp[ok], start[ok]
    end = np.where(np.isnat(death[who]), NAT, death[who])
    _add_jobs(w, rng, who, emp, start, end)
    # an earlier job for a quarter of them
    prev = rng.random(len(who)) < 0.25
    w2 = who[prev]
    e2 = choose(p["region"][w2])
    end2 = start[prev] - days(rng.uniform(0, 180, len(w2)))
    lo2 = np.maximum(add_years(birth[w2], 18), founded[e2])
    start2 = uniform_dates(rng, lo2, end2 - days(365))
    ok = (start2 >= lo2) & (start2 < end2 - days(300))
    _add_jobs(w, rng, w2[ok], e2[ok], start2[ok], end2[ok])
    # employee pensioners' last job, ending at retirement
    pe = b["scheme"] == S_PENSION_EMP
    rp = w.identities["person"][b["identity"][pe]]
    rstart = b["start"][pe]
    keep = _has(flags[rp], BG_EMPLOY) & (rng.random(len(rp)) < 0.6)
    rp, rstart = rp[keep], rstart[keep]
    e3 = choose(p["region"][rp])
    end3 = rstart - days(rng.uniform(1, 60, len(rp)))
    start3 = end3 - days(rng.uniform(5, 30, len(rp)) * DAYS_PER_YEAR)
    start3 = np.maximum(start3, founded[e3])
    ok = (start3 < end3 - days(365)) & (start3 >= add_years(birth[rp], 18))
    _add_jobs(w, rng, rp[ok], e3[ok], start3[ok], end3[ok])


def _add_jobs(
    w: World,
    rng: np.random.Generator,
    person: IntArray,
    employer: IntArray,
    start: np.ndarray,
    end: np.ndarray,
) -> None:
    n = len(person)
    base = np.round(np.clip(rng.lognormal(np.log(6500), 0.45, n), 3500, 35000) / 10) * 10
    back = np.where(rng.random(n) < 0.015, rng.integers(1, 7, n), 0)
    w.employments.add(
        n,
        identity=w.persons["identity"][person],
        employer=employer,
        start=start,
        end=end,
        base=base,
        back_paid=back,
    )


# -- hospitals, claims -------------------------------------------------------------------------
_NDOC = ((3, 9), (12, 31), (40, 101))


def add_hospitals(
    w: World, rng: np.random.Generator, level: IntArray, region: IntArray, large: np.ndarray | None = None
) -> IntArray:
    """Hospitals with their doctors (doctors of one hospital have consecutive handles)."""
    level = np.asarray(level, dtype=np.int64)
    n = len(level)
    large_a = np.zeros(n, dtype=bool) if large is None else np.asarray(large, dtype=bool)
    lo = np.array([_NDOC[lv][0] for lv in level])
    hi = np.array([_NDOC[lv][1] for lv in level])
    ndoc = np.where(large_a, rng.integers(150, 301, n), rng.integers(lo, hi))
    h = w.hospitals.add(
        n, level=level, region=region, name=rng.integers(0, 1 << 14, n), large=large_a, ndoc=ndoc
    )
    first = len(w.doctors)
    hosp = np.repeat(h, ndoc)
    n_doc = len(hosp)
    doc_birth = np.asarray(years_back(w.ref, rng.uniform(27, 62, n_doc)), dtype="M8[D]")
    doc_sex = (rng.random(n_doc) < 0.5).astype(np.int64)
    w.doctors.add(
        n_doc, hospital=hosp, surname=pick_surnames(rng, n_doc), given=pick_given(rng, doc_sex, doc_birth)
    )
    w.hospitals["doctor0"][h] = first + np.concatenate([[0], np.cumsum(ndoc)[:-1]])
    return h


def hospitals(w: World, n_total: int) -> None:
    """Background hospitals: every region has some; a few large tertiary ones (decoys)."""
    rng = w.child_rng("hospitals")
    n = max(len(vocab.REGIONS) + 1, n_total // 1000)
    n_reg = len(vocab.REGIONS)
    region = np.concatenate([np.arange(min(n, n_reg)), pick_regions(rng, max(0, n - n_reg))])
    level = rng.choice(3, size=n, p=[0.6, 0.32, 0.08])
    n_large = max(1, n // 200)
    tertiary = np.flatnonzero(level == 2)
    if len(tertiary) < n_large:
        extra = rng.choice(np.flatnonzero(level != 2), n_large - len(tertiary), replace=False)
        level[extra] = 2
        tertiary = np.flatnonzero(level == 2)
    large = np.zeros(n, dtype=bool)
    large[rng.choice(tertiary, n_large, replace=False)] = True
    add_hospitals(w, rng, level, region, large)


def _hospital_weight(w: World) -> np.ndarray:
    h = w.hospitals
    return np.where(h["large"], 30.0, np.array([1.0, 3.0, 6.0])[h["level"]])


def choose_hospitals(w: World, rng: np.random.Generator, region: np.ndarray) -> IntArray:
    """A hospital per row in the row's region (weighted by size); anywhere if the region has none."""
    h = w.hospitals
    weight = _hospital_weight(w)
    out = np.empty(len(region), dtype=np.int64)
    all_idx = np.arange(len(h))
    for r in np.unique(region):
        m = region == r
        idx = np.flatnonzero(h["region"] == r)
        if not len(idx):
            idx = all_idx
        c = np.cumsum(weight[idx])
        out[m] = idx[np.searchsorted(c, rng.random(int(m.sum())) * c[-1], side="right").clip(0, len(c) - 1)]
    return out


def random_doctor(w: World, rng: np.random.Generator, hospital: IntArray) -> IntArray:
    """A random doctor of each hospital."""
    h = w.hospitals
    return h["doctor0"][hospital] + np.floor(rng.random(len(hospital)) * h["ndoc"][hospital]).astype(np.int64)


def diagnosis_for_age(rng: np.random.Generator, age: np.ndarray) -> IntArray:
    """An ordinary diagnosis by age group (no dialysis)."""
    out = np.empty(len(age), dtype=np.int64)
    groups = (age < 40, (age >= 40) & (age < 65), age >= 65)
    for gi, m in enumerate(groups):
        wts = np.array([(d.young, d.middle, d.old)[gi] for d in vocab.DIAGNOSES])
        wts[vocab.DIAGNOSIS_INDEX["Z49.1"]] = 0.0
        out[m] = rng.choice(len(wts), size=int(m.sum()), p=wts / wts.sum())
    return out


def add_claims(
    w: World,
    rng: np.random.Generator,
    identity: IntArray,
    hospital: IntArray,
    doctor: IntArray,
    admit: np.ndarray,
    diag: IntArray,
    amount: np.ndarray | None = None,
    stay: np.ndarray | None = None,
) -> None:
    """Claims; ordinary amounts and stays by hospital level and diagnosis unless given."""
    n = len(identity)
    cost = np.array([d.cost for d in vocab.DIAGNOSES])[diag]
    level = w.hospitals["level"][hospital]
    if amount is None:
        amount = np.array(vocab.LEVEL_COST)[level] * cost * rng.lognormal(0, 0.5, n)
    amount = np.round(np.maximum(amount, 30.0), 2)
    if stay is None:
        stay = np.where(cost < 0.5, rng.integers(0, 3, n), np.ceil(cost * rng.uniform(2, 7, n)))
    fund = np.round(amount * rng.uniform(0.55, 0.85, n), 2)
    discharge = admit + days(stay)
    discharge = np.where(discharge > w.ref, np.datetime64("NaT"), discharge)  # still in hospital
    w.claims.add(
        n, identity=identity, hospital=hospital, doctor=doctor, admit=admit, discharge=discharge, diag=diag,
        amount=amount, fund=fund,
    )  # fmt: skip


def claims(w: World) -> None:
    """Ordinary claims over the last 24 months, more for the old; never after the cutoff."""
    rng = w.child_rng("claims")
    p = w.persons
    who = np.flatnonzero(_has(p["flags"], BG_CLAIMS))
    age = age_years(p["birth"][who], w.ref)
    rate = np.select([age < 15, age < 45, age < 60, age < 75], [0.15, 0.15, 0.3, 0.6], 0.9) * 2
    k = rng.poisson(rate)
    person = np.repeat(who, k)
    lo = np.maximum(months_back(w.ref, 24), p["birth"][person])
    hi = p["cutoff"][person]
    ok = hi >= lo
    person, lo, hi = person[ok], lo[ok], hi[ok]
    admit = uniform_dates(rng, lo, hi)
    hosp = choose_hospitals(w, rng, p["region"][person])
    doc = random_doctor(w, rng, hosp)
    diag = diagnosis_for_age(rng, age_years(p["birth"][person], admit))
    add_claims(w, rng, p["identity"][person], hosp, doc, admit, diag)


# -- activities -------------------------------------------------------------------------------
def add_activities(w: World, rng: np.random.Generator, identity: IntArray, date: np.ndarray) -> None:
    """Life-trace activities with random source and kind."""
    n = len(identity)
    src = rng.choice(len(_ACT_P), size=n, p=_ACT_P)
    kind = _ACT_KIND0[src] + np.floor(rng.random(n) * _ACT_NKIND[src]).astype(np.int64)
    w.activities.add(n, identity=identity, date=date, source=src, kind=kind)


def activities(w: World) -> None:
    """Activities in the 24 months before each person's cutoff.

    Every living recipient of an open benefit gets one within the last 11 months (or, for the
    few whose cutoff lies 12–24 months back, one on the cutoff date: grade medium).
    """
    rng = w.child_rng("activities")
    p = w.persons
    who = np.flatnonzero(_has(p["flags"], BG_ACTIVITIES))
    age = age_years(p["birth"][who], w.ref)
    rate = np.select([age < 16, age < 60], [0.6, 1.6], 1.4)
    k = rng.poisson(rate)
    person = np.repeat(who, k)
    hi = p["cutoff"][person]
    lo = np.maximum(hi - days(24 * DAYS_PER_MONTH), p["birth"][person] + days(6 * DAYS_PER_YEAR))
    ok = hi >= lo
    person = person[ok]
    add_activities(w, rng, p["identity"][person], uniform_dates(rng, lo[ok], hi[ok]))
    # guaranteed recent trace for living benefit recipients
    rec = np.flatnonzero(open_benefit_persons(w) & _has(p["flags"], BG_ACTIVITIES))
    cutoff = p["cutoff"][rec]
    strong = cutoff >= w.ref
    medium = ~strong & (cutoff > months_back(w.ref, 23.5))
    date = np.where(strong, uniform_dates(rng, np.full(len(rec), months_back(w.ref, 11)), cutoff), cutoff)
    keep = strong | medium
    add_activities(w, rng, p["identity"][rec[keep]], date[keep])


def region_array(n: int, region: int) -> IntArray:
    """A constant region array."""
    return np.full(n, region, dtype=np.int64)


def unique_name_birth(w: World) -> None:
    """New given names until no two persons share name and birth date, except planted pairs.

    Same name plus same birth date is what marks one person behind two records
    (``duplicate_benefit``/``two_identities``); only those planted pairs keep it. Names
    planted on purpose (flag ``NAME_LOCKED``) never change.
    """
    rng = w.child_rng("names")
    p = w.persons
    n = len(p)
    locked = _has(p["flags"], NAME_LOCKED)
    for _ in range(20):
        bday = p["birth"].astype(np.int64) + (1 << 17)
        key = (p["surname"].astype(np.int64) << 42) | (p["given"].astype(np.int64) << 18) | bday
        _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
        dup = counts[inv] > 1
        has_locked = np.bincount(inv, weights=locked, minlength=len(counts))[inv] > 0
        order = np.lexsort((np.arange(n), ~locked, inv))
        first = np.zeros(n, dtype=bool)
        inv_sorted = inv[order]
        first[order[np.r_[True, inv_sorted[1:] != inv_sorted[:-1]]]] = True
        redraw = np.flatnonzero(dup & ~locked & (has_locked | ~first))
        if not len(redraw):
            return
        p["given"][redraw] = pick_given(rng, p["sex"][redraw], p["birth"][redraw])
    raise RuntimeError("could not make names unique")  # pragma: no cover


def clamp_to_cutoff(w: World) -> None:
    """No dated person record after the person's cutoff (death date for the dead).

    Rows made before deaths were drawn (institution residences and phones, agent accounts)
    are moved back to the cutoff.
    """
    cutoff = w.persons["cutoff"]
    for table, col in ((w.phones, "since"), (w.addresses, "since"), (w.accounts, "opened")):
        dates = table[col]
        limit = cutoff[table["person"]]
        late = dates > limit
        dates[late] = limit[late]
