"""Planted cases and decoys for every contract detector (``docs/CASES.md``).

Planted persons are ordinary persons to every background generator that their flags allow
(phones, accounts, addresses, claims, activities …); what makes them a case or a decoy is
added here explicitly, and each case/decoy is recorded with its key members for the truth
file. Sizes and dates vary from case to case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import background as bg
from . import vocab
from .people import add_persons, distinct_surnames, new_households, pick_given, pick_regions, pick_surnames
from .world import (
    BG_ACTIVITIES,
    BG_BENEFIT,
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    FEMALE,
    ID15,
    ID18,
    MALE,
    NAME_LOCKED,
    PLANTED,
    PLANTED_FLAGS,
    R_BIRTH_FIX,
    R_DUPLICATE_FIX,
    R_OTHER,
    R_SEX_CHANGE,
    R_UPGRADE15,
    RESIDENCE,
    ROLE_CHILD,
    ROLE_GRANDMA,
    ROLE_GRANDPA,
    ROLE_HEAD,
    ROLE_SINGLE,
    ROLE_WIFE,
    S_PENSION_EMP,
    S_PENSION_RES,
    S_SURVIVOR,
    S_UNEMPLOYMENT,
    S_WORK_INJURY,
    Day,
    IntArray,
    World,
    add_years,
    days,
    month_first,
    month_last,
    month_ord,
)

D = np.datetime64


def split(n: int, weights: Sequence[float]) -> list[int]:
    """Split ``n`` into parts proportional to ``weights``, each at least 1 when ``n`` allows."""
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    base = np.ones(len(w), dtype=np.int64) if n >= len(w) else np.zeros(len(w), dtype=np.int64)
    rest = n - int(base.sum())
    raw = w * rest
    parts = base + np.floor(raw).astype(np.int64)
    left = n - int(parts.sum())
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    parts[order[:left]] += 1
    return [int(x) for x in parts]


def cases_per_detector(n_total: int) -> int:
    """Cases (and decoys) per detector: one per 4,000 persons, at least 5."""
    return max(5, round(n_total / 4000))


class Planter:
    """Builds all planted cases and decoys into a :class:`World`."""

    def __init__(self, w: World, n_total: int) -> None:
        self.w = w
        self.rng = w.child_rng("plant")
        self.n = cases_per_detector(n_total)
        self.ref = w.ref
        self.E = w.end_month
        self.S = w.start_month
        self.n_bg_hospitals = len(w.hospitals)

    # -- small helpers -------------------------------------------------------------------------
    def u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def i(self, lo: int, hi_incl: int) -> int:
        return int(self.rng.integers(lo, hi_incl + 1))

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def ago_m(self, m: float) -> Day:
        return self.ref - np.timedelta64(round(m * DAYS_PER_MONTH), "D")

    def ago_y(self, y: float) -> Day:
        return self.ref - np.timedelta64(round(y * DAYS_PER_YEAR), "D")

    def between(self, lo: Day, hi: Day) -> Day:
        span = int((hi - lo).astype(np.int64))
        return lo + np.timedelta64(int(self.rng.integers(0, max(span, 0) + 1)), "D")

    def m_first(self, o: int) -> Day:
        return month_first(o)[()]

    def m_last(self, o: int) -> Day:
        return month_last(o)[()]

    def region(self) -> int:
        return int(pick_regions(self.rng, 1)[0])

    def other_region(self, r: int) -> int:
        while True:
            x = self.region()
            if x != r:
                return x

    def sex(self, p_female: float = 0.5) -> int:
        return FEMALE if self.chance(p_female) else MALE

    def person(
        self,
        *,
        sex: int,
        birth: Day,
        region: int,
        household: int | None = None,
        role: int = ROLE_SINGLE,
        flags: int = PLANTED_FLAGS,
        surname: int | None = None,
        given: int | None = None,
        id_region: int | None = None,
    ) -> int:
        """One planted person (own household unless given) with a primary 18-digit identity."""
        w = self.w
        if household is None:
            household = int(new_households(w, np.array([region]))[0])
        h = add_persons(
            w,
            self.rng,
            sex=np.array([sex]),
            birth=np.array([birth], dtype="M8[D]"),
            region=np.array([region]),
            household=np.array([household]),
            role=role,
            flags=flags,
            surname=None if surname is None else np.array([surname]),
            given=None if given is None else np.array([given]),
            id_region=None if id_region is None else np.array([id_region]),
        )
        return int(h[0])

    def ident(self, p: int) -> int:
        return int(self.w.persons["identity"][p])

    def hh(self, p: int) -> int:
        return int(self.w.persons["household"][p])

    def extra_id(self, p: int, *, kind: int, region: int, birth: Day, sex: int, issued: Day,
                 twin: int = -1) -> int:  # fmt: skip
        return self.w.identities.add1(
            person=p, kind=kind, region=region, birth=birth, sex=sex, issued=issued, twin=twin
        )

    def account(self, p: int, opened: Day) -> int:
        """A new holder account for ``p`` (their own account if they had none)."""
        acc = int(bg.new_accounts(self.w, self.rng, np.array([p]), np.array([opened], dtype="M8[D]"))[0])
        if self.w.persons["account"][p] < 0:
            self.w.persons["account"][p] = acc
        return acc

    def phone(self, users: Sequence[int], lo: Day, hi: Day) -> int:
        """A new phone listed for all ``users``."""
        ph = int(bg.new_phones(self.w, self.rng, 1)[0])
        for u in users:
            self.w.phones.add1(person=u, phone=ph, since=self.between(lo, hi))
        return ph

    def pension_start(self, p: int, scheme: int) -> Day:
        per = self.w.persons
        s = bg.pension_start(
            self.rng, per["birth"][p : p + 1], per["sex"][p : p + 1], np.array([scheme]), self.ref
        )
        return np.datetime64(s[0], "D")

    def benefit(
        self,
        identity: int,
        scheme: int,
        region: int,
        start: Day,
        account: int,
        *,
        end: Day | None = None,
        pay_to: int | None = None,
    ) -> int:
        """A benefit paid monthly from its start month to ``pay_to`` (default the end month)."""
        if start > self.ref:
            raise RuntimeError("planted benefit starts after the reference date")
        h = bg.add_benefits(
            self.w,
            identity=np.array([identity]),
            scheme=scheme,
            region=np.array([region]),
            start=np.array([start], dtype="M8[D]"),
            end=None if end is None else np.array([end], dtype="M8[D]"),
            account=account,
            pay_to=None if pay_to is None else np.array([pay_to]),
            rng=self.rng,
        )
        return int(h[0])

    def pensioner(
        self,
        *,
        age: tuple[float, float],
        sex: int | None = None,
        region: int | None = None,
        scheme: int | None = None,
        flags: int = PLANTED_FLAGS,
        household: int | None = None,
        role: int = ROLE_SINGLE,
        surname: int | None = None,
        cutoff: Day | None = None,
        whole_window: bool = False,
    ) -> tuple[int, int]:
        """A person drawing a pension (open, paid every month); returns (person, benefit).

        ``whole_window``: the pension is paid in every month of the payment window.
        """
        sex = self.sex() if sex is None else sex
        region = self.region() if region is None else region
        if scheme is None:
            scheme = S_PENSION_EMP if self.chance(0.6) else S_PENSION_RES
        lo = max(age[0], 60.5 if scheme == S_PENSION_RES or sex == MALE else 50.5)
        birth = self.ago_y(self.u(lo, max(lo + 0.5, age[1])))
        p = self.person(
            sex=sex, birth=birth, region=region, household=household, role=role, flags=flags, surname=surname
        )
        if cutoff is not None:
            self.w.persons["cutoff"][p] = cutoff
        start = self.pension_start(p, scheme)
        if whole_window and start > self.m_first(self.S):  # resident pensions began in 2011-12
            scheme = S_PENSION_EMP
            start = self.pension_start(p, scheme)
        last = cutoff if cutoff is not None else self.ref
        acc = self.account(p, self.between(min(start, last) - np.timedelta64(3650, "D"), min(start, last)))
        b = self.benefit(self.ident(p), scheme, region, start, acc)
        return p, b

    def die(self, p: int, date: Day, identity: int | None = None, source: int | None = None) -> None:
        """Record a death (and keep every later record away from the person)."""
        per = self.w.persons
        per["death"][p] = date
        per["cutoff"][p] = min(per["cutoff"][p], date)
        src = int(self.rng.choice(6, p=[0.35, 0.2, 0.2, 0.2, 0.01, 0.04])) if source is None else source
        self.w.deaths.add1(identity=self.ident(p) if identity is None else identity, date=date, source=src)

    def legacy15(self, p: int) -> int:
        """A 15-digit number for ``p`` (same digits as the primary) and its ``upgrade15`` row."""
        per = self.w.persons
        primary = self.ident(p)
        ids = self.w.identities
        birth = per["birth"][p]
        lo = max(np.datetime64(add_years(np.array([birth]), 16)[0], "D"), D("1985-01-01"))
        issued = self.between(lo, max(lo, D("1999-06-30")))
        old = self.extra_id(
            p,
            kind=ID15,
            region=int(ids["region"][primary]),
            birth=birth,
            sex=int(per["sex"][p]),
            issued=issued,
            twin=primary,
        )
        changed = self.between(max(issued + np.timedelta64(30, "D"), D("1999-10-01")), D("2008-12-31"))
        self.w.renumberings.add1(
            old=old, new=primary, date=changed, reason=R_UPGRADE15, region=int(ids["region"][primary])
        )
        ids["issued"][primary] = self.between(changed, max(changed, per["cutoff"][p]))
        return old

    # -- deceased_payment ------------------------------------------------------------------------
    def deceased_payment(self) -> None:
        n_after, n_old = split(self.n, (0.6, 0.4))
        n_lag, n_last = split(self.n, (0.6, 0.4))
        for k in range(n_after + n_old):
            old_number = k >= n_after
            d_off = self.i(4, self.w.months + 24)
            death = min(self.between(self.m_first(self.E - d_off), self.m_last(self.E - d_off)), self.ref)
            age_at_death = self.u(65, 95)
            sex = self.sex()
            region = self.region()
            birth = death - np.timedelta64(round(age_at_death * DAYS_PER_YEAR), "D")
            scheme = S_PENSION_EMP if self.chance(0.6) else S_PENSION_RES
            p = self.person(sex=sex, birth=birth, region=region, role=ROLE_HEAD)
            self.w.persons["cutoff"][p] = death
            start = self.pension_start(p, scheme)
            if self.chance(0.3):  # a child's account receives the pension
                child = self.person(
                    sex=self.sex(), birth=birth + np.timedelta64(round(self.u(24, 36) * DAYS_PER_YEAR), "D"),
                    region=region, household=self.hh(p), role=ROLE_CHILD, surname=int(self.w.persons["surname"][p]),
                )  # fmt: skip
                acc = self.account(child, self.between(self.ago_y(15), self.ago_y(1)))
            else:
                acc = self.account(p, self.between(start - np.timedelta64(3650, "D"), min(start, death)))
            b = self.benefit(self.ident(p), scheme, region, start, acc)
            ids = [self.ident(p)]
            if old_number:
                old = self.legacy15(p)
                ids.append(old)
                self.die(p, death, identity=old, source=int(self.rng.choice([0, 1])))
            else:
                self.die(p, death)
                if self.chance(0.3):
                    self.w.deaths.add1(
                        identity=self.ident(p), date=death + np.timedelta64(self.i(1, 7), "D"), source=3
                    )
            dm = int(month_ord(np.array([death]))[0])
            paid_after = self.E - max(self.S, dm + 2) + 1
            self.w.add_truth(
                "deceased_payment", "case", "death_under_old_number" if old_number else "after_death",
                facts={"death_month": str(np.datetime64(dm, "M")), "months_paid_after_death": int(paid_after)},
                identity=ids, benefit=[b],
            )  # fmt: skip
        for _ in range(n_lag):
            dm = self.i(self.S, self.E)
            death = min(self.between(self.m_first(dm), self.m_last(dm)), self.ref)
            birth = death - np.timedelta64(round(self.u(66, 95) * DAYS_PER_YEAR), "D")
            scheme = S_PENSION_EMP if self.chance(0.6) else S_PENSION_RES
            region = self.region()
            p = self.person(sex=self.sex(), birth=birth, region=region)
            self.w.persons["cutoff"][p] = death
            start = self.pension_start(p, scheme)
            acc = self.account(p, self.between(start - np.timedelta64(3650, "D"), min(start, death)))
            last = min(dm + (1 if self.chance(0.4) else 0), self.E)
            b = self.benefit(self.ident(p), scheme, region, start, acc, end=self.m_last(last), pay_to=last)
            ids = [self.ident(p)]
            if self.chance(0.3):
                old = self.legacy15(p)
                ids.append(old)
                self.die(p, death, identity=old)
            else:
                self.die(p, death)
            self.w.add_truth("deceased_payment", "decoy", "normal_lag", identity=ids, benefit=[b])
        for _ in range(n_last):
            e = self.i(self.S, self.E - 3)
            death = self.between(self.m_first(e + 1), self.m_last(min(e + 3, self.E)))
            death = min(death, self.ref)
            region = self.region()
            kind = self.rng.choice(3, p=[0.4, 0.4, 0.2])
            if kind == 1:
                scheme = S_PENSION_EMP if self.chance(0.5) else S_PENSION_RES
                age = self.u(66, 90)
            else:
                scheme = S_UNEMPLOYMENT if kind == 0 else S_WORK_INJURY
                age = self.u(40, 57) if kind == 0 else self.u(30, 57)
            sex = self.sex()
            birth = death - np.timedelta64(round(age * DAYS_PER_YEAR), "D")
            p = self.person(sex=sex, birth=birth, region=region)
            self.w.persons["cutoff"][p] = death
            if kind == 1:
                start = self.pension_start(p, scheme)
            elif kind == 0:
                start = self.m_first(e - self.i(2, 11))
            else:
                start = self.m_first(e - self.i(12, 96))
            acc = self.account(p, self.between(start - np.timedelta64(3650, "D"), start))
            b = self.benefit(self.ident(p), scheme, region, start, acc, end=self.m_last(e), pay_to=e)
            self.die(p, death)
            self.w.add_truth(
                "deceased_payment", "decoy", "death_after_last_payment", identity=[self.ident(p)], benefit=[b]
            )

    # -- survival_risk ------------------------------------------------------------------------
    def survival_risk(self) -> None:
        n_rc, n_med, n_dead = split(self.n, (1, 1, 1))
        for _ in range(self.n):
            cutoff = self.ago_m(self.u(25, 72))
            no_acts = self.chance(0.3)
            flags = PLANTED_FLAGS & ~BG_ACTIVITIES if no_acts else PLANTED_FLAGS
            p, b = self.pensioner(age=(66, 92), flags=flags, cutoff=cutoff, whole_window=True)
            self.w.add_truth(
                "survival_risk", "case", "no_trace", facts={"last_trace_not_after": str(cutoff), "activities": not no_acts},
                identity=[self.ident(p)], benefit=[b],
            )  # fmt: skip
        for _ in range(n_rc):
            cutoff = self.ago_m(self.u(30, 48))
            p, b = self.pensioner(age=(66, 90), cutoff=cutoff, whole_window=True)
            admit = self.ago_m(self.u(3, 9))
            reg_arr = np.array([int(self.w.persons["region"][p])])
            hosp = bg.choose_hospitals(self.w, self.rng, reg_arr)
            age = np.array([(admit - self.w.persons["birth"][p]).astype(np.int64) / DAYS_PER_YEAR])
            bg.add_claims(
                self.w, self.rng, np.array([self.ident(p)]), hosp, bg.random_doctor(self.w, self.rng, hosp),
                np.array([admit]), bg.diagnosis_for_age(self.rng, age),
            )  # fmt: skip
            self.w.add_truth("survival_risk", "decoy", "recent_claim", identity=[self.ident(p)], benefit=[b])
        for _ in range(n_med):
            cutoff = self.ago_m(self.u(13, 22))
            p, b = self.pensioner(age=(66, 90), cutoff=cutoff, whole_window=True)
            self.w.activities.add1(
                identity=self.ident(p), date=cutoff, source=7, kind=len(vocab.ACTIVITY_KINDS) - 2
            )
            self.w.add_truth("survival_risk", "decoy", "medium", identity=[self.ident(p)], benefit=[b])
        for _ in range(n_dead):
            cutoff = self.ago_m(self.u(25, 60))
            death = self.ago_m(self.u(1, 10))
            sex = self.sex()
            region = self.region()
            scheme = S_PENSION_EMP if self.chance(0.5) else S_PENSION_RES
            birth = self.ago_y(self.u(70, 95))
            p = self.person(sex=sex, birth=birth, region=region)
            self.w.persons["cutoff"][p] = cutoff
            start = self.pension_start(p, scheme)
            acc = self.account(p, self.between(start - np.timedelta64(3650, "D"), min(start, cutoff)))
            dm = int(month_ord(np.array([death]))[0])
            last = min(dm + (1 if self.chance(0.4) else 0), self.E)
            b = self.benefit(self.ident(p), scheme, region, start, acc, pay_to=last)
            self.die(p, death)
            self.w.add_truth("survival_risk", "decoy", "dead", identity=[self.ident(p)], benefit=[b])

    # -- shared_account --------------------------------------------------------------------------
    def shared_account(self) -> None:
        for _ in range(self.n):
            k = self.i(4, 8)
            region = self.region()
            organiser_is_member = self.chance(0.5)
            sur = distinct_surnames(self.rng, k + 1)
            members: list[int] = []
            benefits: list[tuple[int, int]] = []
            for j in range(k):
                r = region if self.chance(0.8) else self.region()
                p, b = self.pensioner(age=(60, 88), region=r, surname=int(sur[j]))
                members.append(p)
                benefits.append((p, b))
            if organiser_is_member:
                holder = members[0]
            else:
                holder = self.person(
                    sex=self.sex(0.4), birth=self.ago_y(self.u(35, 60)), region=region, surname=int(sur[k])
                )
            n_acc = 1 if self.chance(0.6) else 2
            shared = [self.account(holder, self.between(self.ago_y(6), self.ago_y(1))) for _ in range(n_acc)]
            for j, (_, b) in enumerate(benefits):
                self.w.benefits["account"][b] = shared[j % n_acc]
            everyone = members + ([] if organiser_is_member else [holder])
            self.phone(everyone, self.ago_y(5), self.ago_m(1))
            self.w.add_truth(
                "shared_account", "case", "pension_collector",
                facts={"persons": len(everyone), "accounts": n_acc, "organiser_is_member": organiser_is_member},
                person=everyone, account=shared,
            )  # fmt: skip
        for _ in range(self.n):
            self._family_decoy()

    def _family_decoy(self) -> None:
        w = self.w
        region = self.region()
        hh = int(new_households(w, np.array([region]))[0])
        sur = int(pick_surnames(self.rng, 1)[0])
        gf_age = self.u(63, 85)
        gf, b1 = self.pensioner(
            age=(gf_age, gf_age), sex=MALE, region=region, household=hh, role=ROLE_GRANDPA, surname=sur
        )
        gm_age = max(55.0, gf_age - self.rng.normal(2.5, 2.0))
        gm, b2 = self.pensioner(
            age=(gm_age, gm_age), sex=FEMALE, region=region, household=hh, role=ROLE_GRANDMA
        )
        w.persons["spouse"][gf] = gm
        w.persons["spouse"][gm] = gf
        elders = [gf, gm]
        pens = [b1, b2]
        if gf_age < 78 and self.chance(0.3):
            ggm, b3 = self.pensioner(age=(gf_age + 20, min(99.0, gf_age + 24)), sex=FEMALE, region=region, household=hh,
                                     role=ROLE_GRANDMA)  # fmt: skip
            elders.append(ggm)
            pens.append(b3)
        son_age = gf_age - self.u(24, 34)
        son = self.person(
            sex=MALE, birth=self.ago_y(son_age), region=region, household=hh, role=ROLE_HEAD, surname=sur
        )
        dil = self.person(
            sex=FEMALE, birth=self.ago_y(max(22.0, son_age - self.rng.normal(2, 2))), region=region, household=hh,
            role=ROLE_WIFE,
        )  # fmt: skip
        w.persons["spouse"][son] = dil
        w.persons["spouse"][dil] = son
        family = [*elders, son, dil]
        for _ in range(self.i(0, 2)):
            kid_age = self.u(0, max(0.5, son_age - 24))
            family.append(self.person(sex=self.sex(), birth=self.ago_y(kid_age), region=region, household=hh,
                                      role=ROLE_CHILD, surname=sur))  # fmt: skip
        acc = self.account(son, self.between(self.ago_y(15), self.ago_y(2)))
        for b in pens:
            w.benefits["account"][b] = acc
        self.phone([*elders, son], self.ago_y(8), self.ago_m(2))
        self.w.add_truth(
            "shared_account", "decoy", "family", facts={"persons": len(family)}, person=family, account=[acc]
        )

    # -- identity_chain -------------------------------------------------------------------------
    def identity_chain(self) -> None:
        n_moved, n_both, n_long, n_cycle = split(self.n, (0.3, 0.25, 0.25, 0.2))
        for _ in range(n_moved):
            self._birth_date_moved()
        for _ in range(n_both):
            self._both_drawing()
        for _ in range(n_long):
            self._long_chain()
        for _ in range(n_cycle):
            self._cycle()
        for _ in range(max(3, self.n - (self.n + 1) // 2)):
            self._late_fix()

    def _birth_date_moved(self) -> None:
        sex = self.sex()
        scheme = S_PENSION_EMP if sex == FEMALE or self.chance(0.6) else S_PENSION_RES
        page = 60 if sex == MALE else 50
        if sex == MALE and scheme == S_PENSION_RES:
            page = 60
        start = self.m_first(self.E - self.i(1, 48))
        b1 = start - np.timedelta64(round(page * DAYS_PER_YEAR + self.u(0, 80)), "D")
        shift = self.u(2.0, 6.0)
        b0 = b1 + np.timedelta64(round(shift * DAYS_PER_YEAR), "D")
        changed = start - np.timedelta64(round(self.u(2, 35) * DAYS_PER_MONTH), "D")
        region = self.region()
        p = self.person(sex=sex, birth=b1, region=region)
        ids = self.w.identities
        primary = self.ident(p)
        ids["issued"][primary] = changed
        old_region = int(ids["region"][primary]) if self.chance(0.8) else self.region()
        lo = max(b0 + np.timedelta64(round(16 * DAYS_PER_YEAR), "D"), self.ago_y(25))
        old = self.extra_id(p, kind=ID18, region=old_region, birth=b0, sex=sex,
                            issued=self.between(lo, changed - np.timedelta64(365, "D")))  # fmt: skip
        reason = R_BIRTH_FIX if self.chance(0.75) else R_OTHER
        self.w.renumberings.add1(old=old, new=primary, date=changed, reason=reason, region=region)
        acc = self.account(p, self.between(changed - np.timedelta64(3650, "D"), start))
        self.benefit(primary, scheme, region, start, acc)
        self.w.add_truth(
            "identity_chain", "case", "birth_date_moved",
            facts={"years_moved_earlier": round(shift, 1),
                   "months_before_pension": round(float((start - changed).astype(np.int64)) / DAYS_PER_MONTH, 1)},
            identity=[old, primary], person=[p],
        )  # fmt: skip

    def _both_drawing(self) -> None:
        sex = self.sex()
        region = self.region()
        old_region = self.other_region(region)
        age = self.u(62, 85)
        p = self.person(sex=sex, birth=self.ago_y(age), region=region)
        primary = self.ident(p)
        ids = self.w.identities
        if self.chance(0.6):
            old = self.legacy15(p)
            mode = "upgrade15"
        else:
            birth = self.w.persons["birth"][p]
            old = self.extra_id(p, kind=ID18, region=old_region, birth=birth, sex=sex,
                                issued=self.between(D("1990-01-01"), D("2005-12-31")))  # fmt: skip
            changed = self.between(D("2006-01-01"), min(D("2018-12-31"), self.ago_y(1)))
            self.w.renumberings.add1(
                old=old, new=primary, date=changed, reason=R_DUPLICATE_FIX, region=region
            )
            ids["issued"][primary] = changed
            mode = "duplicate_fix"
        old_scheme = S_PENSION_RES if self.chance(0.6) else S_PENSION_EMP
        s_old = self.pension_start(p, old_scheme)
        acc_old = self.account(p, self.between(s_old - np.timedelta64(3650, "D"), s_old))
        b_old = self.benefit(old, old_scheme, old_region, s_old, acc_old)
        s_new = max(self.m_first(self.E - self.i(3, 36)), s_old + np.timedelta64(400, "D"))
        s_new = self.m_first(int(month_ord(np.array([s_new]))[0]))
        acc_new = self.account(p, self.between(s_new - np.timedelta64(700, "D"), s_new))
        b_new = self.benefit(primary, S_PENSION_EMP, region, s_new, acc_new)
        overlap = self.E - max(self.S, int(month_ord(np.array([s_new]))[0])) + 1
        self.w.add_truth("identity_chain", "case", "both_drawing", facts={"old_number": mode, "overlap_months": overlap},
                         identity=[old, primary], person=[p])  # fmt: skip
        self.w.add_truth(
            "duplicate_benefit", "case", "renumbered_both_drawing", facts={"overlap_months": overlap},
            person=[p], identity=[old, primary], benefit=[b_old, b_new],
        )  # fmt: skip

    def _long_chain(self) -> None:
        n_ids = 3 if self.chance(0.8) else 4
        sex0 = self.sex()
        age = self.u(45, 85)
        birth0 = self.ago_y(age)
        region0 = self.region()
        start15 = birth0 <= D("1983-06-30") and self.chance(0.5)
        n_steps = n_ids - 1
        # renumbering dates, increasing
        first = max(np.datetime64(add_years(np.array([birth0]), 16)[0], "D"), D("2000-01-01"))
        if start15:
            first = max(first, D("2009-01-01"))
        dates = sorted(self.between(first, self.ago_m(3)) for _ in range(n_steps))
        reasons: list[int] = []
        births = [birth0]
        sexes = [sex0]
        regions = [region0]
        for s in range(n_steps):
            if s == 0 and start15:
                reasons.append(R_UPGRADE15)
                births.append(births[-1])
                sexes.append(sexes[-1])
                regions.append(regions[-1])
                continue
            r = int(
                self.rng.choice(
                    [R_DUPLICATE_FIX, R_OTHER, R_BIRTH_FIX, R_SEX_CHANGE], p=[0.4, 0.35, 0.15, 0.1]
                )
            )
            reasons.append(r)
            births.append(
                births[-1] + np.timedelta64(self.i(30, 400), "D") if r == R_BIRTH_FIX else births[-1]
            )
            sexes.append(1 - sexes[-1] if r == R_SEX_CHANGE else sexes[-1])
            regions.append(regions[-1] if self.chance(0.5) else self.region())
        if start15:
            dates[0] = self.between(D("1999-10-01"), D("2008-12-31"))
        p = self.person(sex=sexes[-1], birth=births[-1], region=regions[-1], id_region=regions[-1])
        primary = self.ident(p)
        chain: list[int] = []
        lo16 = max(np.datetime64(add_years(np.array([birth0]), 16)[0], "D"), D("1986-01-01"))
        for j in range(n_ids - 1):
            issued = dates[j - 1] if j > 0 else self.between(lo16, D("1999-06-30") if start15 else dates[0])
            if j == 0 and start15:
                chain.append(self.extra_id(p, kind=ID15, region=regions[0], birth=births[0], sex=sexes[0], issued=issued,
                                           twin=-2))  # fmt: skip
            else:
                chain.append(
                    self.extra_id(
                        p, kind=ID18, region=regions[j], birth=births[j], sex=sexes[j], issued=issued
                    )
                )
        chain.append(primary)
        if start15:
            self.w.identities["twin"][chain[0]] = chain[1]
        self.w.identities["issued"][primary] = dates[-1]
        for j in range(n_steps):
            self.w.renumberings.add1(
                old=chain[j], new=chain[j + 1], date=dates[j], reason=reasons[j], region=regions[j + 1]
            )
        self._maybe_pension(p, regions[-1])
        self.w.add_truth("identity_chain", "case", "long_chain", facts={"numbers": n_ids},
                         identity=chain, person=[p])  # fmt: skip

    def _maybe_pension(self, p: int, region: int, share: float = 0.7) -> int | None:
        per = self.w.persons
        age = float((self.ref - per["birth"][p]).astype(np.int64)) / DAYS_PER_YEAR
        sex = int(per["sex"][p])
        scheme = S_PENSION_EMP if (sex == FEMALE and age < 60) or self.chance(0.6) else S_PENSION_RES
        if age < (60 if sex == MALE or scheme == S_PENSION_RES else 50) + 0.5 or not self.chance(share):
            return None
        start = self.pension_start(p, scheme)
        if start > self.ref:
            return None
        acc = self.account(p, self.between(start - np.timedelta64(3650, "D"), start))
        return self.benefit(self.ident(p), scheme, region, start, acc)

    def _cycle(self) -> None:
        sex = self.sex()
        region = self.region()
        p = self.person(sex=sex, birth=self.ago_y(self.u(40, 85)), region=region)
        a = self.ident(p)
        birth = self.w.persons["birth"][p]
        d1 = self.between(D("2003-01-01"), self.ago_y(3))
        d2 = min(d1 + np.timedelta64(round(self.u(0.5, 3.0) * DAYS_PER_YEAR), "D"), self.ago_m(1))
        b_region = region if self.chance(0.5) else self.region()
        b = self.extra_id(p, kind=ID18, region=b_region, birth=birth, sex=sex, issued=d1)
        self.w.identities["issued"][a] = d2
        r1 = R_DUPLICATE_FIX if self.chance(0.5) else R_OTHER
        self.w.renumberings.add1(old=a, new=b, date=d1, reason=r1, region=b_region)
        self.w.renumberings.add1(old=b, new=a, date=d2, reason=R_OTHER, region=region)
        self._maybe_pension(p, region)
        self.w.add_truth("identity_chain", "case", "cycle", identity=[a, b], person=[p])

    def _late_fix(self) -> None:
        sex = self.sex()
        region = self.region()
        if self.chance(0.5):  # moved later
            age = self.u(30, 75)
            b1 = self.ago_y(age)
            b0 = b1 - np.timedelta64(round(self.u(1, 5) * DAYS_PER_YEAR), "D")
            variant = "moved_later"
        else:  # moved earlier, but long before retirement
            age = self.u(28, 45) if sex == MALE else self.u(28, 38)
            b1 = self.ago_y(age)
            b0 = b1 + np.timedelta64(round(self.u(2, 5) * DAYS_PER_YEAR), "D")
            variant = "long_before_retirement"
        lo = max(b0 + np.timedelta64(round(16 * DAYS_PER_YEAR), "D"), D("2005-01-01"))
        changed = self.between(lo, max(lo, self.ago_m(6)))
        p = self.person(sex=sex, birth=b1, region=region)
        primary = self.ident(p)
        ids = self.w.identities
        ids["issued"][primary] = changed
        lo_iss = b0 + np.timedelta64(round(16 * DAYS_PER_YEAR), "D")
        if lo_iss >= changed:
            lo_iss = b0 + np.timedelta64(30, "D")
        old = self.extra_id(p, kind=ID18, region=int(ids["region"][primary]), birth=b0, sex=sex,
                            issued=self.between(lo_iss, changed - np.timedelta64(30, "D")))  # fmt: skip
        self.w.renumberings.add1(old=old, new=primary, date=changed, reason=R_BIRTH_FIX, region=region)
        self._maybe_pension(p, region, share=0.8)
        self.w.add_truth(
            "identity_chain",
            "decoy",
            "late_fix",
            facts={"kind": variant},
            identity=[old, primary],
            person=[p],
        )

    # -- duplicate_benefit ---------------------------------------------------------------------
    def duplicate_benefit(self) -> None:
        n_reg, n_two = split(self.n, (0.5, 0.5))
        for _ in range(n_reg):
            region = self.region()
            p, b1 = self.pensioner(age=(62, 85), region=region, scheme=S_PENSION_EMP)
            r2 = self.other_region(region)
            s2 = self.m_first(self.E - self.i(3, 36))
            acc2 = self.account(p, self.between(s2 - np.timedelta64(400, "D"), s2))
            scheme2 = S_PENSION_RES if self.chance(0.6) else S_PENSION_EMP
            b2 = self.benefit(self.ident(p), scheme2, r2, s2, acc2)
            self.w.add_truth("duplicate_benefit", "case", "two_regions", person=[p], identity=[self.ident(p)],
                             benefit=[b1, b2])  # fmt: skip
        for _ in range(n_two):
            self._two_identities()
        n_ns, n_seq, n_kind = split(self.n, (0.34, 0.33, 0.33))
        for _ in range(n_ns):
            self._namesakes()
        for _ in range(n_seq):
            region = self.region()
            age = self.u(63, 75)
            p = self.person(sex=self.sex(), birth=self.ago_y(age), region=region)
            s1 = self.pension_start(p, S_PENSION_RES)
            e = self.i(self.S + 1, self.E - 2)
            acc = self.account(p, self.between(s1 - np.timedelta64(3650, "D"), s1))
            b1 = self.benefit(self.ident(p), S_PENSION_RES, region, s1, acc, end=self.m_last(e), pay_to=e)
            b2 = self.benefit(self.ident(p), S_PENSION_EMP, region, self.m_first(e + 1), acc)
            self.w.add_truth("duplicate_benefit", "decoy", "sequential", person=[p], identity=[self.ident(p)],
                             benefit=[b1, b2])  # fmt: skip
        for _ in range(n_kind):
            region = self.region()
            sex = FEMALE if self.chance(0.7) else MALE
            p, b1 = self.pensioner(
                age=(60, 85), sex=sex, region=region, role=ROLE_WIFE if sex == FEMALE else ROLE_HEAD
            )
            death = self.ago_m(self.u(self.w.months + 2, 120))
            age_sp = float((death - self.w.persons["birth"][p]).astype(np.int64)) / DAYS_PER_YEAR + self.u(
                -2, 6
            )
            spouse = self.person(
                sex=1 - sex, birth=death - np.timedelta64(round(age_sp * DAYS_PER_YEAR), "D"), region=region,
                household=self.hh(p), role=ROLE_HEAD if sex == FEMALE else ROLE_WIFE,
            )  # fmt: skip
            self.w.persons["spouse"][p] = spouse
            self.w.persons["spouse"][spouse] = p
            self.w.persons["cutoff"][spouse] = death
            self.die(spouse, death)
            s2 = self.m_first(int(month_ord(np.array([death]))[0]) + 1)
            b2 = self.benefit(self.ident(p), S_SURVIVOR, region, s2, int(self.w.benefits["account"][b1]))
            self.w.add_truth("duplicate_benefit", "decoy", "different_kind", person=[p], identity=[self.ident(p)],
                             benefit=[b1, b2])  # fmt: skip

    def _two_identities(self) -> None:
        sex = self.sex()
        ra = self.region()
        rb = self.other_region(ra)
        age = self.u(62, 85)
        birth = self.ago_y(age)
        sur = int(pick_surnames(self.rng, 1)[0])
        given = int(pick_given(self.rng, np.array([sex]), np.array([birth], dtype="M8[D]"))[0])
        p1 = self.person(
            sex=sex,
            birth=birth,
            region=ra,
            surname=sur,
            given=given,
            id_region=ra,
            flags=PLANTED_FLAGS | NAME_LOCKED,
        )
        p2 = self.person(
            sex=sex,
            birth=birth,
            region=rb,
            surname=sur,
            given=given,
            id_region=rb,
            flags=PLANTED_FLAGS | NAME_LOCKED,
        )
        scheme1 = S_PENSION_EMP if sex == FEMALE or self.chance(0.6) else S_PENSION_RES
        s1 = self.pension_start(p1, scheme1)
        b1 = self.benefit(
            self.ident(p1),
            scheme1,
            ra,
            s1,
            self.account(p1, self.between(s1 - np.timedelta64(3650, "D"), s1)),
        )
        s2 = self.m_first(self.E - self.i(3, 36))
        b2 = self.benefit(
            self.ident(p2),
            S_PENSION_RES,
            rb,
            s2,
            self.account(p2, self.between(s2 - np.timedelta64(700, "D"), s2)),
        )
        mode = self.rng.choice(3, p=[0.5, 0.3, 0.2])  # phone, address, both
        if mode in (0, 2):
            self.phone([p1, p2], self.ago_y(6), self.ago_m(2))
        if mode in (1, 2):
            addr = int(self.w.households["address"][self.hh(p1)])
            self.w.addresses.add1(
                person=p2, address=addr, type=RESIDENCE, since=self.between(self.ago_y(6), self.ago_m(2))
            )
        self.w.add_truth(
            "duplicate_benefit", "case", "two_identities", facts={"shared": ["phone", "address", "both"][int(mode)]},
            person=[p1, p2], identity=[self.ident(p1), self.ident(p2)], benefit=[b1, b2],
        )  # fmt: skip

    def _namesakes(self) -> None:
        k = self.i(2, 3)
        sex = self.sex()
        sur = int(self.rng.integers(0, 6))  # among the commonest surnames
        era = "old" if self.chance(0.6) else "mid"
        pool = vocab.GIVEN_POOLS[(era, "M" if sex == MALE else "F")]
        given = int(pool[int(self.rng.integers(0, 4))])  # among the era's commonest names
        lo_age = 66.0 if era == "old" else 60.5 if sex == MALE else 50.5
        hi_age = 90.0 if era == "old" else 66.0
        ages = np.sort(self.rng.uniform(lo_age, hi_age, k))
        ages = ages + np.arange(k) * 1.2  # at least a year apart
        persons: list[int] = []
        bens: list[int] = []
        for a in ages:
            region = self.region()
            scheme = S_PENSION_EMP if a < 61 or self.chance(0.6) else S_PENSION_RES
            p = self.person(
                sex=sex, birth=self.ago_y(float(a)), region=region, surname=sur, given=given,
                flags=PLANTED_FLAGS | NAME_LOCKED,
            )  # fmt: skip
            s = self.pension_start(p, scheme)
            b = self.benefit(
                self.ident(p),
                scheme,
                region,
                s,
                self.account(p, self.between(s - np.timedelta64(3650, "D"), s)),
            )
            persons.append(p)
            bens.append(b)
        self.w.add_truth("duplicate_benefit", "decoy", "namesakes", person=persons,
                         identity=[self.ident(p) for p in persons], benefit=bens)  # fmt: skip

    # -- shell_employer ----------------------------------------------------------------------------
    def _employer(self, region: int, founded: Day, rep: int, shell: bool, address_key: int = -1) -> int:
        e = self.w.employers
        h = e.add1(
            region=region, founded=founded, legal_rep=self.ident(rep), brand=int(self.rng.integers(len(vocab.BRANDS))),
            industry=int(
                vocab.SHELL_INDUSTRIES[int(self.rng.integers(len(vocab.SHELL_INDUSTRIES)))]
                if shell
                else self.rng.integers(len(vocab.INDUSTRIES))
            ),
            form=int(self.rng.integers(len(vocab.COMPANY_FORMS))), shell=shell,
        )  # fmt: skip
        e["address_key"][h] = h if address_key < 0 else address_key
        return h

    def _job(self, p: int, e: int, start: Day, end: Day | None, base: float, back: int) -> None:
        self.w.employments.add1(identity=self.ident(p), employer=e, start=start,
                                end=np.datetime64("NaT") if end is None else end, base=base, back_paid=back)  # fmt: skip

    def shell_employer(self) -> None:
        n = self.n
        groups = [2] * (n // 2)
        if n % 2:
            groups[-1] = 3
        for g in groups:
            region = self.region()
            rep = self.person(sex=self.sex(0.3), birth=self.ago_y(self.u(32, 58)), region=region)
            addr_key = -1
            for j in range(g):
                founded = self.ago_m(self.u(4, 30))
                e = self._employer(
                    region, founded, rep, True, addr_key if (j > 0 and self.chance(0.5)) else -1
                )
                if j == 0:
                    addr_key = e
                enrolled: list[int] = []
                for _ in range(self.i(8, 20)):
                    sex = self.sex(0.55)
                    enrol = min(
                        founded + np.timedelta64(round(self.u(0, 8) * DAYS_PER_MONTH), "D"), self.ago_m(0.5)
                    )
                    age_at = self.u(50, 60) if self.chance(0.8) else self.u(42, 49.9)
                    birth = enrol - np.timedelta64(round(age_at * DAYS_PER_YEAR), "D")
                    r = region if self.chance(0.7) else self.region()
                    p = self.person(sex=sex, birth=birth, region=r)
                    end = None
                    if self.chance(0.65):
                        end_d = enrol + np.timedelta64(round(self.u(1, 6) * DAYS_PER_MONTH), "D")
                        end = end_d if end_d < self.ref else None
                    base = round(self.u(2800, 4300) / 10) * 10
                    self._job(p, e, enrol, end, base, self.i(36, 180))
                    age_now = float((self.ref - birth).astype(np.int64)) / DAYS_PER_YEAR
                    if age_now >= (60 if sex == MALE else 50) + 0.3 and self.chance(0.4):
                        s = max(self.pension_start(p, S_PENSION_EMP), enrol + np.timedelta64(31, "D"))
                        s = self.m_first(int(month_ord(np.array([s]))[0]) + 1)
                        if s <= self.ref:
                            acc = self.account(p, self.between(self.ago_y(10), s))
                            self.benefit(self.ident(p), S_PENSION_EMP, r, s, acc)
                    enrolled.append(p)
                self.w.add_truth(
                    "shell_employer", "case", "shell",
                    facts={"enrolled": len(enrolled), "founded": str(founded), "shells_sharing_legal_rep": g},
                    employer=[e], identity=[self.ident(p) for p in enrolled],
                )  # fmt: skip
        n_old, n_catch = split(self.n, (0.5, 0.5))
        for _ in range(n_old):
            region = self.region()
            rep = self.person(sex=self.sex(0.3), birth=self.ago_y(self.u(40, 65)), region=region)
            founded = self.ago_y(self.u(10, 30))
            e = self._employer(region, founded, rep, False)
            workers: list[int] = []
            for _ in range(self.i(30, 70)):
                sex = self.sex(0.4)
                if self.chance(0.75):
                    age = self.u(45, 59.5) if sex == MALE else self.u(45, 54.5)
                else:
                    age = self.u(25, 44)
                birth = self.ago_y(age)
                p = self.person(sex=sex, birth=birth, region=region)
                lo = max(founded, birth + np.timedelta64(round(18 * DAYS_PER_YEAR), "D"), self.ago_y(25))
                start = self.between(lo, max(lo, self.ago_y(3)))
                end = self.between(self.ago_y(2), self.ago_m(1)) if self.chance(0.1) else None
                back = self.i(1, 6) if self.chance(0.1) else 0
                self._job(p, e, start, end, round(self.u(4000, 9000) / 10) * 10, back)
                workers.append(p)
            self.w.add_truth("shell_employer", "decoy", "old_workforce", employer=[e],
                             identity=[self.ident(p) for p in workers])  # fmt: skip
        for _ in range(n_catch):
            region = self.region()
            rep = self.person(sex=self.sex(0.3), birth=self.ago_y(self.u(35, 60)), region=region)
            founded = self.ago_y(self.u(5, 20))
            e = self._employer(region, founded, rep, False)
            n_w = self.i(20, 50)
            n_back = self.i(2, 5)
            workers = []
            for j in range(n_w):
                sex = self.sex(0.45)
                catch = j < n_back
                age = self.u(30, 55) if catch else (self.u(22, 40) if self.chance(0.85) else self.u(41, 55))
                if sex == FEMALE:
                    age = min(age, 49.5)
                birth = self.ago_y(age)
                p = self.person(sex=sex, birth=birth, region=region)
                lo = max(founded, birth + np.timedelta64(round(18 * DAYS_PER_YEAR), "D"), self.ago_y(8))
                start = self.between(lo, max(lo, self.ago_m(2)))
                back = self.i(12, 48) if catch else 0
                self._job(p, e, start, None, round(self.u(4500, 12000) / 10) * 10, back)
                workers.append(p)
            self.w.add_truth("shell_employer", "decoy", "catch_up", facts={"back_paid_workers": n_back}, employer=[e],
                             identity=[self.ident(p) for p in workers])  # fmt: skip

    # -- provider_ring -----------------------------------------------------------------------------
    def provider_ring(self, n_decoys: int) -> None:
        w = self.w
        for _ in range(self.n):
            region = self.region()
            n_h = 2 if self.chance(0.6) else 3
            levels = np.where(self.rng.random(n_h) < 0.7, 0, 1)
            hosp = bg.add_hospitals(w, self.rng, levels, np.full(n_h, region))
            n_d = self.i(max(3, n_h), 6)
            docs_by_h: list[list[int]] = []
            chosen: list[int] = []
            for h in hosp:
                d0, nd = int(w.hospitals["doctor0"][h]), int(w.hospitals["ndoc"][h])
                doc_first = d0 + int(self.rng.integers(nd))
                docs_by_h.append([doc_first])
                chosen.append(doc_first)
            while len(chosen) < n_d:
                hi = int(self.rng.integers(n_h))
                d0, nd = int(w.hospitals["doctor0"][hosp[hi]]), int(w.hospitals["ndoc"][hosp[hi]])
                d = d0 + int(self.rng.integers(nd))
                if d not in chosen:
                    chosen.append(d)
                    docs_by_h[hi].append(d)
            codes = self.rng.choice(len(vocab.RING_CODES), size=self.i(2, 3), replace=False)
            diag_codes = np.array([vocab.DIAGNOSIS_INDEX[vocab.RING_CODES[c]] for c in codes])
            n_p = self.i(20, 40)
            patients = [
                self.person(
                    sex=self.sex(),
                    birth=self.ago_y(self.u(45, 85)),
                    region=region,
                    flags=PLANTED_FLAGS | BG_BENEFIT,
                )
                for _ in range(n_p)
            ]
            n_w = self.i(4, 8)
            slots = np.sort(self.rng.choice(21, size=n_w, replace=False))
            waves = [self.ref - np.timedelta64(20 + int(s) * 25 + self.i(0, 5), "D") for s in slots]
            join_p = self.u(0.5, 0.8)
            take = self.rng.random((n_p, n_w)) < join_p
            for pi in range(n_p):
                while take[pi].sum() < 3:
                    take[pi, int(self.rng.integers(n_w))] = True
            pi_idx, wi_idx = np.nonzero(take)
            m = len(pi_idx)
            admit = np.array(waves, dtype="M8[D]")[wi_idx] + days(self.rng.integers(0, 5, m))
            hsel = (pi_idx + wi_idx) % n_h
            doctor = np.array([docs_by_h[h][int(self.rng.integers(len(docs_by_h[h])))] for h in hsel])
            ident = np.array([self.ident(patients[x]) for x in pi_idx])
            bg.add_claims(
                w, self.rng, ident, hosp[hsel], doctor, admit, diag_codes[self.rng.integers(0, len(diag_codes), m)],
                amount=self.rng.uniform(8000, 22000, m), stay=self.rng.integers(6, 15, m),
            )  # fmt: skip
            self.w.add_truth(
                "provider_ring", "case", "ring", facts={"hospitals": n_h, "doctors": n_d, "patients": n_p, "claims": m,
                                                       "waves": n_w},
                hospital=hosp, doctor=chosen, identity=[self.ident(p) for p in patients],
            )  # fmt: skip
        for _ in range(n_decoys):
            hosp = self._hospital_pair()
            region = int(w.hospitals["region"][hosp[0]])
            n_p = self.i(8, 20)
            used: set[int] = set()
            idents: list[int] = []
            for _ in range(n_p):
                p = self.person(
                    sex=self.sex(),
                    birth=self.ago_y(self.u(40, 80)),
                    region=region,
                    flags=PLANTED_FLAGS | BG_BENEFIT,
                )
                idents.append(self.ident(p))
                interval = self.u(10, 30)
                first = self.ago_m(self.u(12, 18))
                k = int((self.ref - first).astype(np.int64) // interval)
                when = first + days(np.arange(k) * interval + self.rng.integers(0, 3, k))
                when = when[when <= self.ref - np.timedelta64(1, "D")]
                home = int(self.rng.integers(2))
                hsel = np.where(self.rng.random(len(when)) < 0.7, home, 1 - home)
                hh = hosp[hsel]
                doc = bg.random_doctor(w, self.rng, hh)
                used.update(int(x) for x in doc)
                diag = np.full(len(when), vocab.DIAGNOSIS_INDEX["Z49.1" if self.chance(0.7) else "N18.5"])
                bg.add_claims(w, self.rng, np.full(len(when), self.ident(p)), hh, doc, when, diag,
                              amount=self.rng.uniform(400, 900, len(when)), stay=np.zeros(len(when)))  # fmt: skip
            self.w.add_truth(
                "provider_ring", "decoy", "chronic_pair", hospital=hosp, doctor=sorted(used), identity=idents
            )

    def _hospital_pair(self) -> IntArray:
        """Two ordinary (二级/三级) hospitals of one region; a new 二级 one beside an old one if need be."""
        h = self.w.hospitals
        n_bg = self.n_bg_hospitals
        ok = np.flatnonzero((h["level"][:n_bg] >= 1) & ~h["large"][:n_bg])
        regions, counts = np.unique(h["region"][ok], return_counts=True)
        multi = regions[counts >= 2]
        if len(multi):
            r = int(multi[int(self.rng.integers(len(multi)))])
            cand = ok[h["region"][ok] == r]
            return np.sort(self.rng.choice(cand, size=2, replace=False))
        first = int(ok[int(self.rng.integers(len(ok)))]) if len(ok) else int(self.rng.integers(n_bg))
        region = int(h["region"][first])
        new = bg.add_hospitals(self.w, self.rng, np.array([1]), np.array([region]))
        return np.array([first, int(new[0])])

    def plant_all(self) -> int:
        """Plant everything; returns the number of planted persons."""
        before = len(self.w.persons)
        self.deceased_payment()
        self.survival_risk()
        self.shared_account()
        self.identity_chain()
        self.duplicate_benefit()
        self.shell_employer()
        n_large = max(1, int(self.w.hospitals["large"].sum()))
        self.provider_ring(max(4, self.n - n_large))
        return len(self.w.persons) - before


def background_decoys(w: World, inst: Any, n_total: int) -> None:
    """Truth entries for decoys that are part of the background population.

    Nursing homes, collective hukou addresses and welfare institutions with agent accounts
    (``shared_account``), large tertiary hospitals (``provider_ring``) and a sample of the
    ordinary 15→18 upgrades (``identity_chain``).
    """
    rng = w.child_rng("background_decoys")
    for _, res in inst.nursing:
        w.add_truth("shared_account", "decoy", "nursing_home", facts={"persons": len(res)}, person=res)
    for _, res in inst.collective:
        w.add_truth("shared_account", "decoy", "collective_hukou", facts={"persons": len(res)}, person=res)
    for _, res, holder, acc in inst.welfare:
        w.add_truth(
            "shared_account", "decoy", "agent_account", facts={"pensions": len(res)},
            person=np.concatenate([res, [holder]]), account=[acc],
        )  # fmt: skip
    h = w.hospitals
    for x in np.flatnonzero(h["large"]):
        d0, nd = int(h["doctor0"][x]), int(h["ndoc"][x])
        w.add_truth("provider_ring", "decoy", "big_hospital", hospital=[x], doctor=np.arange(d0, d0 + nd))
    ren = w.renumberings
    up = np.flatnonzero(ren["reason"] == R_UPGRADE15)
    person = w.identities["person"][ren["old"][up]]
    up = up[(w.persons["flags"][person] & PLANTED) == 0]
    k = min(len(up), (cases_per_detector(n_total) + 1) // 2)
    for x in np.sort(rng.choice(up, size=k, replace=False)):
        old, new = int(ren["old"][x]), int(ren["new"][x])
        w.add_truth(
            "identity_chain",
            "decoy",
            "upgrade15",
            identity=[old, new],
            person=[int(w.identities["person"][old])],
        )
